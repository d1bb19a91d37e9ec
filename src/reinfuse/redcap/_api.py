"""Pull a project's records and data dictionary through the REDCap API (optional).

Needs PyCap (``pip install reinfuse[redcap]``); everything else in :mod:`reinfuse.redcap`
works offline on exported files, with no token.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from reinfuse.errors import CohortReadError, UsageError
from reinfuse.redcap._dictionary import read_dictionary
from reinfuse.redcap._import import RedcapExport, read_export
from reinfuse.redcap._mapping import RedcapMapping


def pycap_available() -> bool:
    """Whether PyCap (the ``redcap`` package) can be imported."""
    try:
        import redcap  # noqa: F401
    except ImportError:
        return False
    return True


def pull_export(url: str, token: str, mapping: str | Path | RedcapMapping | None = None,
                **request_kwargs: Any) -> RedcapExport:
    """Export the records (raw, flat CSV) and the data dictionary of a project via PyCap,
    and read them as :func:`reinfuse.redcap.read_export` reads files.

    Parameters
    ----------
    url
        The REDCap API address, e.g. ``https://redcap.example.org/api/``.
    token
        The project's API token. Keep it out of scripts and command lines (read it from an
        environment variable); it is never stored or written anywhere by reinfuse.
    mapping
        For a centre's own project, as in :func:`reinfuse.redcap.read_export`.
    request_kwargs
        Passed to PyCap's ``Project`` (e.g. ``timeout``).

    Raises
    ------
    UsageError
        PyCap is not installed.
    CohortReadError
        The API refused the request or could not be reached.
    """
    try:
        from redcap import Project, RedcapError
    except ImportError as exc:
        raise UsageError("pulling from the REDCap API needs PyCap: pip install "
                         "'reinfuse[redcap]'. Or export the records and the data "
                         "dictionary from REDCap and use `reinfuse redcap import`.") from exc
    try:
        project = Project(url, token, **request_kwargs)
        metadata = project.export_metadata(format_type="csv")
        records = project.export_records(format_type="csv", raw_or_label="raw")
    except (RedcapError, ValueError, AssertionError) as exc:
        raise CohortReadError(f"REDCap API at {url}: the export failed ({exc}).") from exc
    with tempfile.TemporaryDirectory(prefix="reinfuse-redcap-") as folder:
        dictionary_file = Path(folder) / "redcap_api_dictionary.csv"
        export_file = Path(folder) / "redcap_api_records.csv"
        dictionary_file.write_text(str(metadata), encoding="utf-8")
        export_file.write_text(str(records), encoding="utf-8")
        return read_export(export_file, read_dictionary(dictionary_file), mapping)
