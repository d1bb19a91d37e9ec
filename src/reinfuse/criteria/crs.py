"""Cytokine release syndrome (CRS): ASTCT consensus grade of each observation.

One row per observation (typically one per day, the worst values of that day). The grade
of an infusion is the maximum over its observations: :func:`max_grade_per_infusion`.
See :mod:`reinfuse.criteria` for the input and output conventions.

Missing inputs are handled exactly: an observation is graded when every value the
missing inputs could take gives the same grade (e.g. the temperature does not matter once
anti-cytokine therapy was given and the patient needs two vasopressors), and is otherwise
left ungraded with a rule saying which input is missing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    CriteriaError,
    FloatArray,
    GradeResult,
    Int8Array,
    Layout,
    _is_array,
    as_codes,
    as_float,
    as_tristate,
    ge,
    grade_result,
    gt,
    layout,
    le,
    max_grade_per_infusion,
    rule_codes,
)
from reinfuse.vocabulary import (
    ANTICYTOKINE_OR_ANTIPYRETIC,
    ANTICYTOKINE_SYNONYMS,
    HYPOTENSION_LEVELS,
    OXYGEN_SUPPORT,
)

__all__ = [
    "ANTICYTOKINE_OR_ANTIPYRETIC",
    "HYPOTENSION_LEVELS",
    "OXYGEN_SUPPORT",
    "crs_grade",
    "crs_rules",
    "max_grade_per_infusion",
]

SCALE = "ASTCT consensus CRS grade (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638)"

H_NONE, H_FLUIDS, H_VASO = range(3)
T_NO, T_FOR_CRS, T_PREMEDICATION = range(3)
#: Yes/no spellings of the therapy column (see :data:`ANTICYTOKINE_SYNONYMS`).
_THERAPY_ALIASES = ANTICYTOKINE_SYNONYMS

(O_AIR, O_BLOWBY, O_LFNC, O_HFNC, O_NC, O_MASK, O_NRB, O_VENTURI, O_CPAP, O_BIPAP,
 O_MV) = range(11)
_OXYGEN_ALIASES = {
    "ra": "room_air",
    "none": "room_air",
    "lfnc": "low_flow_nasal_cannula",
    "hfnc": "high_flow_nasal_cannula",
    "face_mask": "facemask",
    "simple_face_mask": "facemask",
    "nrb": "non_rebreather",
    "non_rebreather_mask": "non_rebreather",
    "venturi_mask": "venturi",
    "intubated": "mechanical_ventilation",
    "intubation": "mechanical_ventilation",
}


def crs_rules(fever_c: float = 38.0, low_flow_max_l_min: float = 6.0) -> tuple[str, ...]:
    """Every rule string :func:`crs_grade` can report, in code order (for tables/docs)."""
    f, q = f"{fever_c:.1f}", f"{low_flow_max_l_min:g}"
    return (
        "not gradable: missing input",  # 0: fallback, never expected
        "not CRS: signs attributed to another cause",
        "grade 5: death due to CRS",
        f"not CRS: no fever >= {f} C and no anti-cytokine or antipyretic therapy given",
        f"not CRS: no fever >= {f} C (premedication given before CRS began does not waive "
        "the fever requirement)",
        "grade 0: no fever, hypotension or hypoxia",
        f"grade 1: fever >= {f} C without hypotension or hypoxia",
        "grade 2: hypotension not requiring vasopressors",
        "grade 3: one vasopressor",
        "grade 3: vasopressin alone (vasopressin counts as a vasopressor for grade 3)",
        "grade 3: one vasopressor plus vasopressin (vasopressin does not count toward "
        "multiple)",
        "grade 4: multiple vasopressors (excluding vasopressin)",
        "grade 2: blow-by oxygen",
        f"grade 2: low-flow nasal cannula (<= {q} L/min)",
        f"grade 2: nasal cannula labelled high-flow at <= {q} L/min (graded by flow rate)",
        f"grade 3: high-flow nasal cannula (> {q} L/min)",
        f"grade 3: nasal cannula at > {q} L/min counts as high-flow (labelled low-flow)",
        "grade 3: facemask, non-rebreather or Venturi mask",
        "grade 4: positive pressure (CPAP, BiPAP or mechanical ventilation)",
        "not gradable: other_cause missing",
        "not gradable: death_from_crs missing",
        "not gradable: temperature missing",
        "not gradable: anti-cytokine/antipyretic status missing (no fever)",
        "not gradable: hypotension missing",
        "not gradable: number of vasopressors missing",
        "not gradable: oxygen support missing",
        "not gradable: nasal cannula flow rate missing",
    )


(R_FALLBACK, R_OTHER, R_DEATH, R_NO_FEVER, R_NO_FEVER_PREMED, R_NONE, R_FEVER, R_FLUIDS, R_ONE_VASO,
 R_VASOPRESSIN_ALONE, R_ONE_PLUS_VASOPRESSIN, R_MULTI, R_BLOWBY, R_LFNC, R_HFNC_LOW_RATE,
 R_HFNC, R_LFNC_HIGH_RATE, R_MASK, R_PPV, U_OTHER, U_DEATH, U_TEMP, U_ANTI, U_HYPOTENSION,
 U_VASO_COUNT, U_OXYGEN, U_RATE) = range(27)


def _hypotension(
    hypotension: Int8Array, n_vaso: FloatArray, vasopressin: Int8Array
) -> tuple[Int8Array, Int8Array, Int8Array]:
    """Interval [lo, hi] of the hypotension grade and the rule for a decided grade."""
    known_n = ~np.isnan(n_vaso)
    multi = known_n & (n_vaso >= 2)
    one = known_n & (n_vaso == 1)
    zero = known_n & (n_vaso == 0)
    # Inconsistent records are refused rather than guessed at.
    pressor_recorded = (known_n & (n_vaso > 0)) | (vasopressin == YES)
    bad = ((hypotension == H_NONE) | (hypotension == H_FLUIDS)) & pressor_recorded
    if bad.any():
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"hypotension is 'none' or 'fluids' but a vasopressor (or vasopressin) is "
            f"recorded in {rows.size} row(s), first at position {rows[0]}; set hypotension "
            "to 'vasopressors', or the vasopressor count to 0 and vasopressin to False."
        )
    bad = (hypotension == H_VASO) & zero & (vasopressin == NO)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"hypotension is 'vasopressors' but no vasopressor and no vasopressin are "
            f"recorded in {rows.size} row(s), first at position {rows[0]}; give the number "
            "of vasopressors (excluding vasopressin), or set vasopressin to True."
        )
    # with vasopressors (stated, or implied by a recorded pressor when the level is missing)
    on_pressors = (hypotension == H_VASO) | ((hypotension == NA) & pressor_recorded)
    lo = np.select(
        [hypotension == H_FLUIDS, on_pressors & multi, on_pressors], [2, 4, 3], default=0
    )
    hi = np.select(
        [
            hypotension == H_NONE,
            hypotension == H_FLUIDS,
            on_pressors & (one | zero),
            (hypotension == NA) & zero & (vasopressin == NO),
            (hypotension == NA) & zero & (vasopressin == NA),
        ],
        [0, 2, 3, 2, 3],
        default=4,
    ).astype(np.int8)
    lo = lo.astype(np.int8)
    rule = np.select(
        [
            hypotension == H_FLUIDS,
            multi,
            one & (vasopressin == YES),
            one,
            zero,
        ],
        [R_FLUIDS, R_MULTI, R_ONE_PLUS_VASOPRESSIN, R_ONE_VASO, R_VASOPRESSIN_ALONE],
        default=R_FALLBACK,
    ).astype(np.int8)
    return lo, hi, rule


def _hypoxia(
    oxygen: Int8Array, rate: FloatArray, low_flow_max: float, hfnc_at_low_rate: str
) -> tuple[Int8Array, Int8Array, Int8Array]:
    """Interval [lo, hi] of the hypoxia grade and the rule for a decided grade.

    A nasal cannula or blow-by at a recorded 0 L/min delivers no oxygen: no hypoxia grade.
    """
    high_rate = gt(rate, low_flow_max)
    low_rate = le(rate, low_flow_max)
    hfnc_low_is_2 = hfnc_at_low_rate == "rate"
    no_flow = (rate == 0) & ((oxygen == O_BLOWBY) | (oxygen == O_LFNC) | (oxygen == O_HFNC)
                             | (oxygen == O_NC))
    conditions = [
        (oxygen == O_AIR) | no_flow,
        oxygen == O_BLOWBY,
        (oxygen == O_LFNC) & high_rate,
        oxygen == O_LFNC,
        (oxygen == O_HFNC) & low_rate & hfnc_low_is_2,
        oxygen == O_HFNC,
        (oxygen == O_NC) & high_rate,
        (oxygen == O_NC) & low_rate,
        oxygen == O_NC,  # rate missing
        (oxygen == O_MASK) | (oxygen == O_NRB) | (oxygen == O_VENTURI),
        (oxygen == O_CPAP) | (oxygen == O_BIPAP) | (oxygen == O_MV),
    ]
    lo = np.select(conditions, [0, 2, 3, 2, 2, 3, 3, 2, 2, 3, 4], default=0).astype(np.int8)
    hi = np.select(conditions, [0, 2, 3, 2, 2, 3, 3, 2, 3, 3, 4], default=4).astype(np.int8)
    rule = np.select(
        conditions,
        [R_FALLBACK, R_BLOWBY, R_LFNC_HIGH_RATE, R_LFNC, R_HFNC_LOW_RATE, R_HFNC, R_HFNC,
         R_LFNC, U_RATE, R_MASK, R_PPV],
        default=U_OXYGEN,
    ).astype(np.int8)
    return lo, hi, rule


def _therapy(x: object, lay: Layout) -> Int8Array:
    """Codes into :data:`ANTICYTOKINE_OR_ANTIPYRETIC`; yes/no columns take the fast path."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and _is_array(x) and (
            pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)):
        tri = as_tristate(x, "anticytokine_or_antipyretic", lay)
        return np.where(tri == YES, T_FOR_CRS, np.where(tri == NO, T_NO, NA)).astype(np.int8)
    return as_codes(x, "anticytokine_or_antipyretic", lay, ANTICYTOKINE_OR_ANTIPYRETIC,
                    aliases=_THERAPY_ALIASES)


def crs_grade(
    temperature_c: object,
    anticytokine_or_antipyretic: object,
    hypotension: object,
    vasopressors: object,
    vasopressin: object,
    oxygen: object,
    oxygen_l_min: object = None,
    other_cause: object = False,
    death_from_crs: object = False,
    *,
    fever_c: float = 38.0,
    low_flow_max_l_min: float = 6.0,
    hfnc_at_low_rate: Literal["rate", "label"] = "rate",
) -> GradeResult:
    """ASTCT consensus CRS grade (0-5) of each observation, with the rule that set it.

    Parameters
    ----------
    temperature_c
        Highest temperature of the observation, degrees Celsius (20-45; a value above 45
        raises, as it is probably Fahrenheit).
    anticytokine_or_antipyretic
        Anti-cytokine therapy (tocilizumab, corticosteroids) or antipyretics given at or
        before this observation: ``"for_crs"`` (given as treatment after CRS began; yes/no
        values read yes as ``"for_crs"``), ``"premedication"`` (given only before CRS
        began, e.g. paracetamol or hydrocortisone with the infusion on day 0) or ``"no"``.
        Only therapy given for CRS waives the fever requirement.
    hypotension
        ``"none"``, ``"fluids"`` (hypotension not requiring vasopressors) or
        ``"vasopressors"``. Missing is inferred from the vasopressor columns when they
        decide (a recorded vasopressor means hypotension requiring vasopressors).
    vasopressors
        Number of vasopressors *excluding vasopressin* (0, 1, 2...). It splits grade 3 from
        grade 4 under ``"vasopressors"``; with ``"none"``/``"fluids"`` it must be 0 or
        missing.
    vasopressin
        Vasopressin given for hypotension (yes/no).
    oxygen
        Highest oxygen support: ``"room_air"``, ``"blow_by"``, ``"low_flow_nasal_cannula"``,
        ``"high_flow_nasal_cannula"``, ``"nasal_cannula"`` (flow rate decides), ``"facemask"``,
        ``"non_rebreather"``, ``"venturi"``, ``"cpap"``, ``"bipap"``,
        ``"mechanical_ventilation"`` (case-insensitive; common abbreviations such as
        ``"HFNC"``, ``"NRB"`` accepted).
    oxygen_l_min
        Oxygen flow rate in L/min; read for nasal cannula and blow-by only. ``None``: not
        recorded (the cannula label decides). 0 L/min on a cannula or blow-by is no oxygen.
    other_cause
        The fever, hypotension and hypoxia of the observation are attributed to another
        cause (e.g. sepsis): not CRS, grade 0. Default ``False``.
    death_from_crs
        Death due to CRS with no other principal cause: grade 5. Default ``False``.
    fever_c
        Fever threshold, degrees Celsius, inclusive. Default 38.0 (37.9 is no fever).
    low_flow_max_l_min
        Highest nasal-cannula flow that is low-flow, inclusive. Default 6 L/min: 6 is
        low-flow (grade 2), anything above (e.g. 7) is high-flow (grade 3), whatever the
        label says.
    hfnc_at_low_rate
        Grade of oxygen *labelled* high-flow nasal cannula at a recorded rate <=
        ``low_flow_max_l_min``. ``"rate"`` (default): the consensus defines high flow by the
        rate, so it is low-flow, grade 2. ``"label"``: keep grade 3 (pediatric high-flow
        systems run at low absolute rates scaled to weight).

    Returns
    -------
    GradeResult
        ``grade`` (nullable ``Int8``; missing where missing inputs could change it) and
        ``rule`` (categorical strings, see :func:`crs_rules`), plus ``scale``. Series with
        the inputs' index when any input is a Series.

    Raises
    ------
    CriteriaError
        Unknown labels, out-of-range values, or contradictory records: hypotension
        ``none``/``fluids`` with a vasopressor recorded, ``vasopressors`` with none
        recorded, oxygen ``room_air`` with a positive flow, or both ``other_cause`` and
        ``death_from_crs``.

    Notes
    -----
    ASTCT consensus grading (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638):

    - grade 1: fever >= 38.0 C; grade 2: fever with hypotension not requiring vasopressors
      and/or hypoxia requiring low-flow nasal cannula (<= 6 L/min) or blow-by; grade 3:
      one vasopressor with or without vasopressin and/or high-flow nasal cannula
      (> 6 L/min), facemask, non-rebreather or Venturi mask; grade 4: multiple vasopressors
      (excluding vasopressin) and/or positive pressure (CPAP, BiPAP, intubation and
      mechanical ventilation); grade 5: death due to CRS with no other principal cause;
    - the grade is set by the more severe of hypotension and hypoxia; when both give the
      same grade the rule names hypotension;
    - vasopressin counts as a vasopressor for grade 3 but not toward "multiple";
    - without fever (and without prior antipyretic or anti-cytokine therapy) it is not CRS:
      grade 0. After such therapy fever is not required and the grade follows hypotension
      and hypoxia (no fever, hypotension or hypoxia then gives grade 0). The consensus
      waives fever "once antipyretics or anti-cytokine therapy are given" as treatment of
      CRS, whose onset requires fever: premedication before CRS began (day 0 paracetamol or
      hydrocortisone) does not waive it (``"premedication"``);
    - hypoxia is graded by the oxygen support it requires: a nasal cannula or blow-by at a
      recorded 0 L/min delivers no oxygen and counts as room air;
    - signs attributable to another cause are not CRS; organ toxicities do not change the
      grade (they are graded by CTCAE separately, and are not inputs). ``other_cause``
      removes the whole observation; to discount a single sign (e.g. hypoxia from a
      pneumonia during CRS), pass that sign as absent.

    Thresholds absorb floating-point rounding (relative 1e-9). The computation is
    vectorised (numpy): about a second for 10 million observations.

    Examples
    --------
    >>> r = crs_grade(temperature_c=[38.0, 37.9, 37.0, 39.0],
    ...               anticytokine_or_antipyretic=[False, False, True, False],
    ...               hypotension=["none", "none", "vasopressors", "none"],
    ...               vasopressors=[0, 0, 1, 0], vasopressin=[False, False, True, False],
    ...               oxygen=["room_air", "room_air", "low_flow_nasal_cannula",
    ...                       "low_flow_nasal_cannula"],
    ...               oxygen_l_min=[None, None, 2, 7])
    >>> r.grade.tolist()
    [1, 0, 3, 3]
    >>> print(r.rule[2])
    grade 3: one vasopressor plus vasopressin (vasopressin does not count toward multiple)
    >>> print(r.rule[3])
    grade 3: nasal cannula at > 6 L/min counts as high-flow (labelled low-flow)
    >>> crs_grade(39.2, False, "fluids", 0, False, "room_air").item()
    (2, 'grade 2: hypotension not requiring vasopressors')
    """
    if not (np.isfinite(fever_c) and 35 <= fever_c <= 42):
        raise CriteriaError(f"fever_c must be in degrees Celsius (35-42); got {fever_c!r}.")
    if not (np.isfinite(low_flow_max_l_min) and low_flow_max_l_min > 0):
        raise CriteriaError(
            f"low_flow_max_l_min must be a positive flow in L/min; got {low_flow_max_l_min!r}."
        )
    if hfnc_at_low_rate not in ("rate", "label"):
        raise CriteriaError(
            f"hfnc_at_low_rate must be 'rate' or 'label'; got {hfnc_at_low_rate!r}."
        )
    lay = layout({
        "temperature_c": temperature_c,
        "anticytokine_or_antipyretic": anticytokine_or_antipyretic,
        "hypotension": hypotension,
        "vasopressors": vasopressors,
        "vasopressin": vasopressin,
        "oxygen": oxygen,
        "oxygen_l_min": oxygen_l_min,
        "other_cause": other_cause,
        "death_from_crs": death_from_crs,
    })
    temp = as_float(temperature_c, "temperature_c", lay, low=20, high=45,
                    hint="Give temperatures in degrees Celsius (F -> C: (F - 32) * 5 / 9).")
    therapy = _therapy(anticytokine_or_antipyretic, lay)
    # Only therapy given for CRS waives the fever requirement (premedication counts as no).
    anti = np.where(therapy == T_FOR_CRS, YES, np.where(therapy == NA, NA, NO)).astype(np.int8)
    hyp = as_codes(hypotension, "hypotension", lay, HYPOTENSION_LEVELS,
                   aliases={"fluid": "fluids", "vasopressor": "vasopressors"})
    n_vaso = as_float(vasopressors, "vasopressors", lay, low=0, high=20, integer=True)
    vp = as_tristate(vasopressin, "vasopressin", lay)
    oxy = as_codes(oxygen, "oxygen", lay, OXYGEN_SUPPORT, aliases=_OXYGEN_ALIASES)
    rate = as_float(oxygen_l_min, "oxygen_l_min", lay, low=0, high=100)
    other = as_tristate(other_cause, "other_cause", lay)
    death = as_tristate(death_from_crs, "death_from_crs", lay)

    bad = (oxy == O_AIR) & (rate > 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"oxygen is 'room_air' but oxygen_l_min > 0 in {rows.size} row(s), first at "
            f"position {rows[0]} ({rate[rows[0]]:g} L/min); record the device used."
        )
    bad = (other == YES) & (death == YES)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"other_cause and death_from_crs are both true in {rows.size} row(s), first at "
            f"position {rows[0]}; grade 5 requires no other principal cause: set one False."
        )

    h_lo, h_hi, h_rule = _hypotension(hyp, n_vaso, vp)
    x_lo, x_hi, x_rule = _hypoxia(oxy, rate, low_flow_max_l_min, hfnc_at_low_rate)
    organ_lo = np.maximum(h_lo, x_lo)
    organ_hi = np.maximum(h_hi, x_hi)

    fever_known = ~np.isnan(temp)
    fever = fever_known & ge(temp, fever_c)
    no_fever = fever_known & ~fever
    # grade if it is CRS: the more severe of fever (1), hypotension and hypoxia
    base_lo = np.maximum(organ_lo, fever.astype(np.int8))
    base_hi = np.maximum(organ_hi, (~no_fever).astype(np.int8))
    # CRS requires fever, unless anti-cytokine therapy or antipyretics were given
    is_crs = fever | (anti == YES)
    not_crs = no_fever & (anti == NO)
    crs_lo = np.where(is_crs, base_lo, 0)
    crs_hi = np.where(not_crs, 0, base_hi)

    lo = np.where(other == YES, 0, np.where(death == YES, 5,
                                            np.where(other == NO, crs_lo, 0))).astype(np.int8)
    hi = np.where(other == YES, 0, np.where(death != NO, 5, crs_hi)).astype(np.int8)
    known = lo == hi
    unknown = ~known

    codes = rule_codes(
        [
            other == YES,
            death == YES,
            unknown & (other == NA),
            unknown & (death == NA),
            unknown & np.isnan(temp) & ~((anti == YES) & (organ_lo >= 1)),
            unknown & (anti == NA) & ~fever,
            unknown & (h_lo != h_hi) & (h_hi > lo),
            unknown & (x_lo != x_hi) & (x_hi > lo),
            unknown,
            (lo == 0) & not_crs & (therapy == T_PREMEDICATION),
            (lo == 0) & not_crs,
            lo == 0,
            (lo == h_lo) & (lo >= 2),
            (lo == x_lo) & (lo >= 2),
        ],
        [
            R_OTHER,
            R_DEATH,
            U_OTHER,
            U_DEATH,
            U_TEMP,
            U_ANTI,
            np.where(hyp == NA, U_HYPOTENSION, U_VASO_COUNT),
            x_rule,
            R_FALLBACK,
            R_NO_FEVER_PREMED,
            R_NO_FEVER,
            R_NONE,
            h_rule,
            x_rule,
        ],
        default=R_FEVER,
    )
    return grade_result(lo, known, codes, crs_rules(fever_c, low_flow_max_l_min), lay, SCALE)
