"""The words reinfuse reads and writes, defined once: codes, yes/no spellings, label folding.

Every layer (the cohort format in :mod:`reinfuse.schema`, the grading rules in
:mod:`reinfuse.criteria`, cell coercion in :mod:`reinfuse.validate`, plan matching in
``reinfuse._match``, the figures) takes its vocabulary from here, so a code accepted by the
sheet is always a code the rules grade and the figures draw. This module is a leaf: it
imports nothing from reinfuse.

Yes/no words
------------
:data:`YES_WORDS` and :data:`NO_WORDS` are the union of the three lists that existed before
(cell coercion, plan matching, the criteria engine), chosen deliberately:

- ``yes/no``, ``y/n``, ``true/false``, ``t/f``, ``1/0`` and ``1.0/0.0`` (a number cell read
  back as text) were in all three;
- ``checked/unchecked`` were only in the criteria engine. They are what REDCap writes for a
  checkbox when data are exported as labels, and the criteria already read them, so the
  sheet reader now accepts them too rather than rejecting a cell the grading would accept.

A blank (empty text, ``None``, ``NaN``, ``pd.NA``) is in neither set: a blank is unknown,
never "no". Words such as ``none``, ``absent`` or ``negative`` are deliberately *not*
no-words: whether "none" means "no" depends on the column (``hypotension = none`` is a
code), so columns that accept them say so through their own synonyms.

Examples
--------
>>> yes_no(" Yes "), yes_no("unchecked"), yes_no(""), yes_no("maybe")
(True, False, None, None)
>>> normalise_label(" Low-flow  nasal cannula ")
'low_flow_nasal_cannula'
"""

from __future__ import annotations

import re
from typing import Final

import pandas as pd

__all__ = [
    "ANTICYTOKINE_OR_ANTIPYRETIC",
    "ANTICYTOKINE_SYNONYMS",
    "ASSESSMENT_TOOLS",
    "CEREBRAL_EDEMA",
    "CONSCIOUSNESS_LEVELS",
    "DISEASE_ASSESSMENT_RANGES",
    "HYPOTENSION_LEVELS",
    "NO_WORDS",
    "OXYGEN_SUPPORT",
    "RESPONSE_CODES",
    "RESPONSE_SYNONYMS",
    "SEIZURE_TYPES",
    "YES_WORDS",
    "normalise_label",
    "normalise_labels",
    "yes_no",
]

# --------------------------------------------------------------------------------------
# yes/no
# --------------------------------------------------------------------------------------

#: Text read as yes (compared after stripping and lower-casing).
YES_WORDS: Final = frozenset({"yes", "y", "true", "t", "1", "1.0", "checked"})
#: Text read as no (compared after stripping and lower-casing). A blank is not here.
NO_WORDS: Final = frozenset({"no", "n", "false", "f", "0", "0.0", "unchecked"})


def yes_no(text: object) -> bool | None:
    """``True`` for a yes-word, ``False`` for a no-word, ``None`` otherwise (blank included).

    Parameters
    ----------
    text
        A cell or plan value; it is read as ``str(text).strip().lower()``.

    Returns
    -------
    bool or None
        ``None`` both for a blank and for a word that is not yes/no: the caller decides
        whether the latter is an error.

    Examples
    --------
    >>> yes_no("TRUE"), yes_no(0), yes_no(None)
    (True, False, None)
    """
    if text is None:
        return None
    word = str(text).strip().lower()
    return True if word in YES_WORDS else False if word in NO_WORDS else None


# --------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_label(value: object) -> str:
    """Fold a code or label for matching: trimmed, lower case, runs of spaces/hyphens as ``_``.

    This is the one folding used by the sheet reader (codes and their synonyms), the
    criteria engine (labels of code columns and options) and the kinetics options.

    Parameters
    ----------
    value
        A label; non-strings are read as ``str(value)``.

    Returns
    -------
    str
        The folded label (``""`` for a blank).

    Examples
    --------
    >>> normalise_label(" Non-Hispanic "), normalise_label("CR i"), normalise_label("-")
    ('non_hispanic', 'cr_i', '_')
    """
    return _SEPARATORS.sub("_", str(value).strip().lower())


def normalise_labels(text: pd.Series) -> pd.Series:
    """:func:`normalise_label` of each value of a text Series, vectorised (missing stays).

    Examples
    --------
    >>> normalise_labels(pd.Series([" Room Air", "low-flow nc", None])).tolist()
    ['room_air', 'low_flow_nc', None]
    """
    return text.str.strip().str.lower().str.replace(_SEPARATORS.pattern, "_", regex=True)


# --------------------------------------------------------------------------------------
# response
# --------------------------------------------------------------------------------------

#: Response codes in rank order, best first (seed study Table 2; clinical-definitions.md
#: "Response"): complete remission, CR with incomplete count recovery, partial remission,
#: stable disease, progressive disease, not evaluable.
RESPONSE_CODES: Final = ("CR", "CRi", "PR", "SD", "PD", "NE")
#: Other spellings of the response codes (keys folded by :func:`normalise_label`).
RESPONSE_SYNONYMS: Final = {
    "complete_remission": "CR",
    "complete_response": "CR",
    "cri": "CRi",
    "cr_i": "CRi",
    "partial_remission": "PR",
    "partial_response": "PR",
    "stable_disease": "SD",
    "progressive_disease": "PD",
    "progression": "PD",
    "not_evaluable": "NE",
    # Coordinators' timeline states (said in best_response's meaning, so in the docs):
    # "CR/CRi" = marrow remission with count recovery not stated -> CRi, the conservative
    # reading reinfuse.criteria.assessments takes when counts are missing (CR requires
    # count recovery: ANC >= 1.0 x 10^9/L and platelets >= 100 x 10^9/L).
    "cr/cri": "CRi",
    "cr_cri": "CRi",
    "cr_or_cri": "CRi",
    # "RD" = resistant (refractory) disease: persistent leukemia without CR, CRi or PR,
    # which the seed study counts as stable disease; progression is recorded as PD.
    "rd": "SD",
    "resistant_disease": "SD",
    "refractory_disease": "SD",
}

# --------------------------------------------------------------------------------------
# CRS and ICANS observations (ASTCT consensus, Lee et al., BBMT 2019;25:625-638)
# --------------------------------------------------------------------------------------

#: Hypotension and its treatment, mildest first.
HYPOTENSION_LEVELS: Final = ("none", "fluids", "vasopressors")
#: Antipyretic or anti-cytokine therapy at or before an observation: ``"no"``, ``"for_crs"``
#: (given as treatment after CRS began: fever is no longer required) or ``"premedication"``
#: (given only before CRS began, e.g. paracetamol with the infusion: fever still required).
ANTICYTOKINE_OR_ANTIPYRETIC: Final = ("no", "for_crs", "premedication")
#: Other spellings of the therapy column. A yes-word means given for CRS (its meaning before
#: ``premedication`` existed, so older sheets keep their meaning); a no-word means none.
ANTICYTOKINE_SYNONYMS: Final = {
    **dict.fromkeys(sorted(YES_WORDS), "for_crs"),
    "given_for_crs": "for_crs",
    "treatment": "for_crs",
    **dict.fromkeys(sorted(NO_WORDS - {"no"}), "no"),
    "none": "no",
    **dict.fromkeys(("premed", "premedication_only", "prophylaxis"), "premedication"),
}
#: Oxygen support, in the order of the criteria engine's codes.
OXYGEN_SUPPORT: Final = (
    "room_air",
    "blow_by",
    "low_flow_nasal_cannula",
    "high_flow_nasal_cannula",
    "nasal_cannula",
    "facemask",
    "non_rebreather",
    "venturi",
    "cpap",
    "bipap",
    "mechanical_ventilation",
)
#: Level of consciousness, most awake first.
CONSCIOUSNESS_LEVELS: Final = (
    "alert",
    "awakens_spontaneously",
    "awakens_to_voice",
    "awakens_to_touch",
    "unarousable",
)
#: Seizure types, mildest first.
SEIZURE_TYPES: Final = ("none", "rapidly_resolving", "eeg_nonconvulsive_resolved",
                        "prolonged", "repetitive")
#: Cerebral edema on imaging.
CEREBRAL_EDEMA: Final = ("none", "focal", "diffuse")
#: Encephalopathy tool used at an assessment: the ICE score or the Cornell Assessment of
#: Pediatric Delirium.
ASSESSMENT_TOOLS: Final = ("ice", "capd")

# --------------------------------------------------------------------------------------
# disease assessments
# --------------------------------------------------------------------------------------

#: Allowed range of each numeric ``disease_assessments`` column: (lowest, highest or None,
#: hint shown with an out-of-range value). The sheet reader (schema minimum/maximum) and the
#: criteria engine (``criteria.assessments``) both use these, so a value the sheet accepts
#: is always one the rules accept. The two lists differed only for ``blood_rbc`` (sheet
#: >= 0, criteria 0.1-10); the criteria's range is kept: a blood RBC is recorded in
#: x 10^12/L, where a living patient's value lies far inside 0.1-10 (adult reference
#: 4-6 x 10^12/L), while 4.2e6 is the same count per microlitre, a unit mix-up the
#: Steinherz/Bleyer ratio of ``criteria.cns`` would otherwise turn into a wrong CNS status.
DISEASE_ASSESSMENT_RANGES: Final[dict[str, tuple[float, float | None, str]]] = {
    "marrow_blasts_pct": (0.0, 100.0, "Marrow blasts are a percentage."),
    "mrd_pct": (0.0, 100.0, "MRD is a percentage of mononuclear cells."),
    "csf_wbc_per_ul": (0.0, None, ""),
    "csf_rbc_per_ul": (0.0, None, ""),
    "blood_wbc": (0.0, None, "Blood WBC is in x 10^9/L."),
    "blood_rbc": (0.1, 10.0, "Blood RBC is in x 10^12/L (e.g. 4.2), not per microlitre."),
    "anc": (0.0, None, "ANC is in x 10^9/L (e.g. 1.2), not per microlitre."),
    "platelets": (0.0, None, "Platelets are in x 10^9/L (e.g. 150)."),
}
