"""The package version, in a leaf module so that any layer can read it.

The package root is the public API and imports every stage; a stage reading the version
from the root would import upwards (tests/test_layering.py). Keep equal to
``[project] version`` in pyproject.toml (checked by tests/test_version.py).
"""

__version__ = "0.1.0"
