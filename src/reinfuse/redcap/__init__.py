"""REDCap: our data dictionary, record exports read into the cohort format and written
from it, a mapping for a centre's own project, and an optional API pull (PyCap).

A read-stage package: it builds :class:`~reinfuse.io.read.RawCohort` sheets that
``reinfuse.validate`` checks like a workbook; it never imports derive, analyze or report.
See docs/redcap.md.
"""

from reinfuse.redcap._api import pull_export, pycap_available
from reinfuse.redcap._dictionary import (
    DICTIONARY_COLUMNS,
    DictField,
    Dictionary,
    dictionary_csv,
    dictionary_frame,
    field_names,
    our_dictionary,
    read_dictionary,
    repeating_forms,
)
from reinfuse.redcap._export import export_csv, export_frame, write_export
from reinfuse.redcap._import import RedcapExport, locate, read_export
from reinfuse.redcap._mapping import (
    RedcapMapping,
    StarterMapping,
    load_mapping,
    parse_mapping,
    starter_mapping,
)

__all__ = [
    "DICTIONARY_COLUMNS",
    "DictField",
    "Dictionary",
    "RedcapExport",
    "RedcapMapping",
    "StarterMapping",
    "dictionary_csv",
    "dictionary_frame",
    "export_csv",
    "export_frame",
    "field_names",
    "load_mapping",
    "locate",
    "our_dictionary",
    "parse_mapping",
    "pull_export",
    "pycap_available",
    "read_dictionary",
    "read_export",
    "repeating_forms",
    "starter_mapping",
    "write_export",
]
