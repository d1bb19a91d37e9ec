"""Clinical criteria: pure, vectorised functions, one module per published standard.

==================  ==========================================================
module              standard
==================  ==========================================================
``marrow``          B-ALL marrow morphology (M1/M2/M3) and flow MRD
``cns``             CSF status (CNS1/2/3, Steinherz-Bleyer), COG subclasses
``response``        B-ALL response (CR, CRi, PR, SD, PD) as in CAR T trials
``lymphodepletion`` seed-study lymphodepletion regimens
``crs``             ASTCT consensus CRS grade (Lee et al. 2019)
``icans``           ASTCT consensus ICANS grade (Lee et al. 2019)
``eligibility``     seed-study reinfusion (CART2) eligibility
==================  ==========================================================

Conventions shared by every function:

- Inputs are equal-length one-dimensional Series, numpy arrays, lists or pandas arrays;
  single values apply to every row. Several Series must share their index (rows are
  matched by position). Missing values are ``None``, ``NaN``, ``pd.NA`` or empty strings,
  except that ``None`` *as a whole argument* of an optional input (e.g. ``clinical_signs``,
  ``csf_rbc_per_ul``, ``target_antigen_positive``) means "not given" and selects the
  documented behaviour; pass ``float("nan")`` for one missing value there.
- A frame whose columns are named like the parameters can be passed whole:
  ``crs_grade(**daily[["temperature_c", ..., "oxygen"]])``.
- Labels are matched ignoring case, surrounding blanks, and spaces versus hyphens versus
  underscores (``"High-flow nasal cannula"`` = ``"high_flow_nasal_cannula"``); an unknown
  label raises :class:`CriteriaError` listing the allowed ones.
- A missing input gives a missing output unless the rule decides without it (e.g. M3
  marrow needs no MRD). The graders (:func:`crs_grade`, :func:`icans_grade`) are exact
  about this: an observation is graded when all values the missing inputs could take give
  the same grade.
- Outputs: a Series with the inputs' index when any input is a Series; otherwise a pandas
  array (``Categorical`` for classes, nullable ``BooleanArray`` for yes/no, nullable
  ``Int8`` for grades), since numpy has no missing integer or boolean; a plain ``str`` /
  ``bool`` / ``None`` when every input is a single value. The graders return a
  :class:`GradeResult` (``grade``, ``rule``, ``scale``; ``.item()`` for one observation).
- Every ambiguity of a standard is a keyword parameter whose default is documented, and
  each docstring cites its source in its Notes section. Threshold comparisons absorb
  floating-point rounding (relative 1e-9).
"""

from __future__ import annotations

from reinfuse.criteria._common import RTOL, CriteriaError, GradeResult, max_grade_per_infusion
from reinfuse.criteria.assessments import (
    ASSESSMENT_COLUMNS,
    best_response,
    pre_infusion_status,
    relapse_after_response,
)
from reinfuse.criteria.cns import CNS_STATUSES, CNS_SUBCLASSES, cns_status, cns_subclass
from reinfuse.criteria.crs import HYPOTENSION_LEVELS, OXYGEN_SUPPORT, crs_grade, crs_rules
from reinfuse.criteria.eligibility import (
    ELIGIBILITY_REASONS,
    MODIFIABLE_FACTORS,
    reinfusion_eligibility,
)
from reinfuse.criteria.icans import (
    CEREBRAL_EDEMA,
    CONSCIOUSNESS_LEVELS,
    SEIZURE_TYPES,
    icans_grade,
    icans_rules,
)
from reinfuse.criteria.lymphodepletion import (
    REGIMEN_PAIRS,
    REGIMENS,
    classify_regimen,
    is_intensified,
    regimen_pair,
)
from reinfuse.criteria.marrow import (
    MARROW_CLASSES,
    MORPHOLOGY_CLASSES,
    marrow_class,
    morphology_class,
    mrd_negative,
)
from reinfuse.criteria.response import (
    RESPONSE_CODES,
    complete_response,
    mrd_negative_cr,
    not_in_cr,
    objective_response,
)

__all__ = [
    "ASSESSMENT_COLUMNS",
    "CEREBRAL_EDEMA",
    "CNS_STATUSES",
    "CNS_SUBCLASSES",
    "CONSCIOUSNESS_LEVELS",
    "ELIGIBILITY_REASONS",
    "HYPOTENSION_LEVELS",
    "MARROW_CLASSES",
    "MODIFIABLE_FACTORS",
    "MORPHOLOGY_CLASSES",
    "OXYGEN_SUPPORT",
    "REGIMENS",
    "REGIMEN_PAIRS",
    "RESPONSE_CODES",
    "RTOL",
    "SEIZURE_TYPES",
    "CriteriaError",
    "GradeResult",
    "best_response",
    "classify_regimen",
    "cns_status",
    "cns_subclass",
    "complete_response",
    "crs_grade",
    "crs_rules",
    "icans_grade",
    "icans_rules",
    "is_intensified",
    "marrow_class",
    "max_grade_per_infusion",
    "morphology_class",
    "mrd_negative",
    "mrd_negative_cr",
    "not_in_cr",
    "objective_response",
    "pre_infusion_status",
    "regimen_pair",
    "reinfusion_eligibility",
    "relapse_after_response",
]
