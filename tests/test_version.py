"""The version the package reports is the one it is installed as."""

import tomllib
from pathlib import Path

import reinfuse
from reinfuse._version import __version__


def test_version_matches_pyproject() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                              .read_text(encoding="utf-8"))
    assert __version__ == pyproject["project"]["version"]
    assert reinfuse.__version__ == __version__
