"""The cohort format: tables, columns, types, units and vocabularies."""

from reinfuse.schema._model import CohortFormat, Column, Table, normalise_code
from reinfuse.schema.cohort_v1 import COHORT_V1, INFUSIONS, PATIENTS, REINFUSION_ONLY

__all__ = [
    "COHORT_V1",
    "INFUSIONS",
    "PATIENTS",
    "REINFUSION_ONLY",
    "CohortFormat",
    "Column",
    "Table",
    "normalise_code",
]
