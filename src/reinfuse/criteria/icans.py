"""Immune effector cell-associated neurotoxicity syndrome (ICANS): ASTCT consensus grade.

One row per observation; the grade of an infusion is the maximum over its observations
(:func:`reinfuse.criteria.max_grade_per_infusion`). Missing inputs are handled as in
:mod:`reinfuse.criteria.crs`: graded when every possible value of the missing inputs gives
the same grade, otherwise left ungraded with a rule naming the missing input.
See :mod:`reinfuse.criteria` for the input and output conventions.
"""

from __future__ import annotations

import numpy as np

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    BoolArray,
    CriteriaError,
    FloatArray,
    GradeResult,
    Int8Array,
    as_codes,
    as_float,
    as_tristate,
    ge,
    grade_result,
    layout,
    lt,
    rule_codes,
)
from reinfuse.vocabulary import (
    ASSESSMENT_TOOLS,
    CEREBRAL_EDEMA,
    CONSCIOUSNESS_LEVELS,
    SEIZURE_TYPES,
)

__all__ = [
    "ASSESSMENT_TOOLS",
    "CEREBRAL_EDEMA",
    "CONSCIOUSNESS_LEVELS",
    "SEIZURE_TYPES",
    "icans_grade",
    "icans_rules",
]

SCALE = (
    "ASTCT consensus ICANS grade (Lee et al., Biol Blood Marrow Transplant "
    "2019;25:625-638)"
)

_TOOL_ALIASES = {"ice_score": "ice", "cornell": "capd", "capd_score": "capd"}


def icans_rules(capd_age_below: float = 12) -> tuple[str, ...]:
    """Every rule string :func:`icans_grade` can report, in code order."""
    a = f"{capd_age_below:g}"
    return (
        "not gradable: missing input",  # 0: fallback, never expected
        "not ICANS: findings attributed to another cause",
        "grade 5: death due to ICANS",
        "grade 0: no ICANS findings",
        "grade 0: no ICANS findings that count (the patient was sedated: what sedation "
        "explains is not counted)",
        # encephalopathy score, the tool chosen by age
        f"grade 1: ICE score 7-9 (age >= {a})",
        f"grade 2: ICE score 3-6 (age >= {a})",
        f"grade 3: ICE score 1-2 (age >= {a})",
        f"grade 3: ICE score 0 with the patient arousable (age >= {a})",
        f"grade 1: CAPD score 1-8 (age < {a})",
        f"grade 3: CAPD score >= 9 (age < {a})",
        # ... the tool named by the observation (or the only score recorded, age missing)
        "grade 1: ICE score 7-9 (ICE used)",
        "grade 2: ICE score 3-6 (ICE used)",
        "grade 3: ICE score 1-2 (ICE used)",
        "grade 3: ICE score 0 with the patient arousable (ICE used)",
        "grade 1: CAPD score 1-8 (CAPD used)",
        "grade 3: CAPD score >= 9 (CAPD used)",
        "grade 3: ICE score 0 while sedated (counted because sedation_excludes_scores is "
        "false)",
        # consciousness
        "grade 1: depressed consciousness, awakens spontaneously",
        "grade 2: depressed consciousness, awakens to voice",
        "grade 3: depressed consciousness, awakens only to tactile stimulus",
        "grade 4: unarousable or needs vigorous/repetitive tactile stimuli (stupor or coma)",
        # seizure
        "grade 3: clinical seizure that resolved rapidly",
        "grade 3: non-convulsive seizure on EEG that resolved with intervention",
        "grade 4: prolonged (> 5 min) life-threatening seizure",
        "grade 4: repetitive seizures without return to baseline",
        # motor, edema, ICP
        "grade 4: deep focal motor weakness (hemiparesis, paraparesis)",
        "grade 3: focal/local cerebral edema on neuroimaging",
        "grade 4: diffuse cerebral edema on neuroimaging",
        "grade 4: signs of raised intracranial pressure",
        # not gradable
        "not gradable: other_cause missing",
        "not gradable: death_from_icans missing",
        f"not gradable: ICE score missing (age >= {a})",
        f"not gradable: CAPD score missing (age < {a})",
        "not gradable: ICE score missing (ICE recorded as the tool)",
        "not gradable: CAPD score missing (CAPD recorded as the tool)",
        "not gradable: ICE/CAPD score missing and age missing",
        "not gradable: age missing and ICE and CAPD scores disagree",
        "not gradable: level of consciousness missing",
        "not gradable: sedation status missing",
        "not gradable: seizure missing",
        "not gradable: motor_weakness missing",
        "not gradable: cerebral_edema missing",
        "not gradable: raised_icp_signs missing",
    )


(R_FALLBACK, R_OTHER, R_DEATH, R_NONE, R_NONE_SEDATED, R_ICE_7_9, R_ICE_3_6, R_ICE_1_2,
 R_ICE_0, R_CAPD_1_8, R_CAPD_9, T_ICE_7_9, T_ICE_3_6, T_ICE_1_2, T_ICE_0, T_CAPD_1_8,
 T_CAPD_9, R_ICE_0_SEDATED, R_AWAKE_SPONT, R_AWAKE_VOICE, R_AWAKE_TOUCH, R_UNAROUSABLE,
 R_SEIZ_RAPID, R_SEIZ_EEG, R_SEIZ_PROLONGED, R_SEIZ_REPETITIVE, R_MOTOR, R_EDEMA_FOCAL,
 R_EDEMA_DIFFUSE, R_ICP, U_OTHER, U_DEATH, U_ICE, U_CAPD, U_ICE_TOOL, U_CAPD_TOOL,
 U_SCORE_NO_AGE, U_SCORE_DISAGREE, U_CONSCIOUSNESS, U_SEDATION, U_SEIZURE, U_MOTOR, U_EDEMA,
 U_ICP) = range(44)

#: Score rule chosen by age -> the same rule when the tool was named (or the only score).
_NAMED_TOOL_RULE = np.arange(44, dtype=np.int8)
_NAMED_TOOL_RULE[[R_ICE_7_9, R_ICE_3_6, R_ICE_1_2, R_ICE_0, R_CAPD_1_8, R_CAPD_9]] = [
    T_ICE_7_9, T_ICE_3_6, T_ICE_1_2, T_ICE_0, T_CAPD_1_8, T_CAPD_9]


class _Domain:
    """Interval [lo, hi] of one domain's grade, the rule for a decided grade, and the
    rule explaining why it is undecided."""

    def __init__(self, lo: Int8Array, hi: Int8Array, rule: Int8Array,
                 unknown_rule: int | Int8Array) -> None:
        self.lo, self.hi, self.rule, self.unknown_rule = lo, hi, rule, unknown_rule


def _ice(ice: FloatArray) -> tuple[Int8Array, Int8Array, Int8Array]:
    conditions = [ice == 10, ice >= 7, ice >= 3, ice >= 1, ice == 0]
    lo = np.select(conditions, [0, 1, 2, 3, 3], default=0).astype(np.int8)
    hi = np.select(conditions, [0, 1, 2, 3, 3], default=3).astype(np.int8)
    rule = np.select(conditions, [R_NONE, R_ICE_7_9, R_ICE_3_6, R_ICE_1_2, R_ICE_0],
                     default=R_FALLBACK).astype(np.int8)
    return lo, hi, rule


def _capd(capd: FloatArray) -> tuple[Int8Array, Int8Array, Int8Array]:
    conditions = [capd == 0, (capd >= 1) & (capd <= 8), capd >= 9]
    lo = np.select(conditions, [0, 1, 3], default=0).astype(np.int8)
    hi = np.select(conditions, [0, 1, 3], default=3).astype(np.int8)
    rule = np.select(conditions, [R_NONE, R_CAPD_1_8, R_CAPD_9],
                     default=R_FALLBACK).astype(np.int8)
    return lo, hi, rule


def _level(codes: Int8Array, grades: tuple[int, ...], rules: tuple[int, ...],
           unknown_rule: int) -> _Domain:
    """A domain read from vocabulary codes (code i -> grades[i]); missing is [0, 4]."""
    g = np.asarray(grades, dtype=np.int8)
    r = np.asarray(rules, dtype=np.int8)
    known = codes != NA
    safe = np.where(known, codes, 0)
    lo = np.where(known, g[safe], 0).astype(np.int8)
    hi = np.where(known, g[safe], 4).astype(np.int8)
    return _Domain(lo, hi, np.where(known, r[safe], R_FALLBACK).astype(np.int8), unknown_rule)


def _flag(tri: Int8Array, grade: int, rule: int, unknown_rule: int) -> _Domain:
    lo = np.where(tri == YES, grade, 0).astype(np.int8)
    hi = np.where(tri == NO, 0, grade).astype(np.int8)
    return _Domain(lo, hi, np.full(tri.shape, rule, dtype=np.int8), unknown_rule)


def _excluded_by(sedated: Int8Array, d: _Domain, unknown_rule: int | Int8Array) -> _Domain:
    """Domain ignored under sedation; unknown sedation widens it to [0, hi]."""
    lo = np.where(sedated == NO, d.lo, 0).astype(np.int8)
    hi = np.where(sedated == YES, 0, d.hi).astype(np.int8)
    why = np.where((sedated == NA) & (d.lo == d.hi), unknown_rule, d.unknown_rule)
    return _Domain(lo, hi, d.rule, why.astype(np.int8))


def icans_grade(
    ice_score: object,
    capd_score: object,
    age_years: object,
    consciousness: object,
    sedated: object = False,
    seizure: object = "none",
    motor_weakness: object = False,
    cerebral_edema: object = "none",
    raised_icp_signs: object = False,
    other_cause: object = False,
    death_from_icans: object = False,
    assessment_tool: object = None,
    *,
    capd_age_below: float = 12,
    sedation_excludes_scores: bool = True,
) -> GradeResult:
    """ASTCT consensus ICANS grade (0-5) of each observation, with the rule that set it.

    Parameters
    ----------
    ice_score
        Immune effector Cell-associated Encephalopathy score, 0-10 (whole numbers); used
        where ``assessment_tool`` is ``"ice"``, or, where no tool is named, from age
        ``capd_age_below`` on. ``None`` if never recorded.
    capd_score
        Cornell Assessment of Pediatric Delirium score, 0-32; used where
        ``assessment_tool`` is ``"capd"``, or, where no tool is named, below age
        ``capd_age_below``. ``None`` if never recorded.
    age_years
        Age at the observation, years: chooses ICE or CAPD where ``assessment_tool`` is
        missing. Where age is missing too, the one score recorded is used (both recorded:
        graded only if they agree). ``None``: no ages given.
    consciousness
        Depressed level of consciousness: ``"alert"``, ``"awakens_spontaneously"``,
        ``"awakens_to_voice"``, ``"awakens_to_touch"`` or ``"unarousable"`` (unarousable
        or needing vigorous/repetitive tactile stimuli; stupor; coma).
    sedated
        Sedating medication explains the depressed consciousness (yes/no; e.g. propofol,
        RASS -4 or -5): the consciousness domain is then not counted, nor (with
        ``sedation_excludes_scores``) the ICE/CAPD score. A patient recorded ``"alert"``
        was assessable whatever this says. Missing: either, so the observation is graded
        only where it cannot matter. Default ``False``.
    seizure
        ``"none"`` (default), ``"rapidly_resolving"`` (any clinical seizure that resolves
        rapidly), ``"eeg_nonconvulsive_resolved"`` (non-convulsive seizures on EEG that
        resolve with intervention), ``"prolonged"`` (life-threatening, > 5 min) or
        ``"repetitive"`` (repetitive seizures without return to baseline).
    motor_weakness
        Deep focal motor weakness such as hemiparesis or paraparesis (yes/no). Tremor and
        myoclonus do not count (graded by CTCAE). Default ``False``.
    cerebral_edema
        Neuroimaging: ``"none"`` (default), ``"focal"`` (focal/local edema) or ``"diffuse"``.
        Intracranial hemorrhage is excluded from ICANS and is not an input.
    raised_icp_signs
        Decerebrate or decorticate posturing, cranial nerve VI palsy, papilledema or
        Cushing's triad (yes/no). Default ``False``.
    other_cause
        The findings are attributed to another cause: not ICANS, grade 0. Default ``False``.
    death_from_icans
        Death due to ICANS with no other principal cause: grade 5. Default ``False``.
    assessment_tool
        The encephalopathy tool used at this assessment: ``"ice"`` or ``"capd"``. The
        consensus uses the CAPD for children under 12 *and* for older patients who cannot
        do the ICE (e.g. developmental delay), so a named tool wins over age. ``None``
        (default) or missing: age decides.
    capd_age_below
        Where no tool is named, CAPD replaces ICE for ages strictly below this (years).
        Default 12 ("< 12 years", the ASTCT consensus table). Sources disagree: some
        protocols use CAPD for "12 years and under"; for that reading with ages in
        (possibly fractional) years, pass ``capd_age_below=13``.
    sedation_excludes_scores
        Whether an ICE/CAPD score taken while sedation depressed the patient's
        consciousness is excluded, like the consciousness domain. Default ``True``: the
        consensus counts only findings not attributable to sedating medication, and an ICE
        or CAPD taken under deep sedation (RASS -4/-5, propofol) measures the drug, not
        the syndrome. ``False`` counts such scores (the rule then says so, never
        "arousable").

    Returns
    -------
    GradeResult
        ``grade`` (nullable ``Int8``), ``rule`` (categorical strings, see
        :func:`icans_rules`) and ``scale``. Series indexed like the inputs when any input
        is a Series.

    Notes
    -----
    ASTCT consensus (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638), grade =
    most severe domain not attributable to another cause:

    - ICE score (age >= 12): 7-9 grade 1; 3-6 grade 2; 0-2 grade 3; ICE 0 because the
      patient is unarousable is grade 4 (through the consciousness domain). ICE 0 in an
      arousable patient (e.g. global aphasia) is grade 3. ICE 10 is normal;
    - CAPD (children < 12, and older patients who cannot do the ICE, e.g. developmental
      delay: the consensus's pediatric grading table): 1-8 grade 1 (2 when awakening only
      to voice, through the consciousness domain); >= 9 grade 3; unable to perform CAPD
      because unarousable is grade 4 (consciousness domain). CAPD 0 is normal;
    - consciousness: awakens spontaneously 1; to voice 2; only to tactile stimulus 3;
      unarousable, stupor or coma 4; depressed consciousness due to sedating medication
      is not counted, and neither (by default) is an ICE/CAPD score taken under it;
    - seizure: rapidly resolving clinical seizure, or non-convulsive EEG seizure resolving
      with intervention, 3; prolonged (> 5 min) or repetitive without return to baseline 4;
    - deep focal motor weakness 4; focal/local edema 3; diffuse edema or signs of raised
      intracranial pressure 4; death due to ICANS 5.

    When two domains give the same grade, the rule names the first in the order above.
    A missing ICE/CAPD score can hide up to grade 3 and a missing domain up to grade 4, so
    the observation is graded only if another domain already reaches that grade.

    Examples
    --------
    >>> r = icans_grade(ice_score=[0, 0, 8, None, None],
    ...                 capd_score=[None, None, None, 10, 4],
    ...                 age_years=[30, 30, 12, 11, 11],
    ...                 consciousness=["alert", "unarousable", "alert",
    ...                                "alert", "awakens_to_voice"])
    >>> r.grade.tolist()
    [3, 4, 1, 3, 2]
    >>> print(r.rule[0])
    grade 3: ICE score 0 with the patient arousable (age >= 12)
    >>> icans_grade(9, None, 40, "unarousable", sedated=True).item()[0]  # all from sedation
    0
    >>> icans_grade(None, 6, 15, "alert", assessment_tool="capd").item()
    (1, 'grade 1: CAPD score 1-8 (CAPD used)')
    """
    if not (np.isfinite(capd_age_below) and 0 < capd_age_below <= 30):
        raise CriteriaError(
            f"capd_age_below must be an age in years (e.g. 12); got {capd_age_below!r}."
        )
    lay = layout({
        "ice_score": ice_score,
        "capd_score": capd_score,
        "age_years": age_years,
        "consciousness": consciousness,
        "sedated": sedated,
        "seizure": seizure,
        "motor_weakness": motor_weakness,
        "cerebral_edema": cerebral_edema,
        "raised_icp_signs": raised_icp_signs,
        "other_cause": other_cause,
        "death_from_icans": death_from_icans,
        "assessment_tool": assessment_tool,
    })
    ice = as_float(ice_score, "ice_score", lay, low=0, high=10, integer=True)
    capd = as_float(capd_score, "capd_score", lay, low=0, high=32, integer=True)
    age = as_float(age_years, "age_years", lay, low=0, high=130)
    cons = as_codes(consciousness, "consciousness", lay, CONSCIOUSNESS_LEVELS,
                    aliases={"awake": "alert"})
    sed = as_tristate(sedated, "sedated", lay)
    seiz = as_codes(seizure, "seizure", lay, SEIZURE_TYPES)
    motor = as_tristate(motor_weakness, "motor_weakness", lay)
    edema = as_codes(cerebral_edema, "cerebral_edema", lay, CEREBRAL_EDEMA)
    icp = as_tristate(raised_icp_signs, "raised_icp_signs", lay)
    other = as_tristate(other_cause, "other_cause", lay)
    death = as_tristate(death_from_icans, "death_from_icans", lay)
    tool = as_codes(assessment_tool, "assessment_tool", lay, ASSESSMENT_TOOLS,
                    aliases=_TOOL_ALIASES)
    bad = (other == YES) & (death == YES)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"other_cause and death_from_icans are both true in {rows.size} row(s), first "
            f"at position {rows[0]}; grade 5 requires no other principal cause."
        )

    # --- encephalopathy score: the tool named, else ICE from capd_age_below on, CAPD below
    i_lo, i_hi, i_rule = _ice(ice)
    c_lo, c_hi, c_rule = _capd(capd)
    unnamed = tool == NA
    use_capd = unnamed & lt(age, capd_age_below)
    use_ice = unnamed & ge(age, capd_age_below)
    no_age = unnamed & np.isnan(age)
    has_ice, has_capd = ~np.isnan(ice), ~np.isnan(capd)
    named_ice = tool == 0
    named_capd = tool == 1
    by_ice = named_ice | use_ice | (no_age & has_ice & ~has_capd)
    by_capd = named_capd | use_capd | (no_age & has_capd & ~has_ice)
    both = no_age & has_ice & has_capd
    s_lo = np.select([by_ice, by_capd, both], [i_lo, c_lo, np.minimum(i_lo, c_lo)], default=0)
    s_hi = np.select([by_ice, by_capd, both], [i_hi, c_hi, np.maximum(i_hi, c_hi)], default=3)
    s_rule = np.where(by_capd, c_rule, i_rule).astype(np.int8)
    # the rule says why this tool: age, or the tool named (or the only score recorded)
    s_rule = np.where(use_ice | use_capd, s_rule, _NAMED_TOOL_RULE[s_rule]).astype(np.int8)
    s_why = np.select([named_ice, named_capd, use_ice, use_capd, both],
                      [U_ICE_TOOL, U_CAPD_TOOL, U_ICE, U_CAPD, U_SCORE_DISAGREE],
                      default=U_SCORE_NO_AGE).astype(np.int8)
    score = _Domain(s_lo.astype(np.int8), s_hi.astype(np.int8), s_rule, s_why)
    # Sedation depressing consciousness (three-valued AND): a patient recorded alert was
    # assessable whatever the sedation; an unknown level of consciousness leaves it open.
    depressed = np.where(cons == NA, NA, np.where(cons == 0, NO, YES))
    under_sedation = np.where((depressed == NO) | (sed == NO), NO,
                              np.where((depressed == YES) & (sed == YES), YES, NA)
                              ).astype(np.int8)
    if sedation_excludes_scores:
        score = _excluded_by(under_sedation, score,
                             np.where(sed == NA, U_SEDATION, U_CONSCIOUSNESS).astype(np.int8))
    else:  # counted, but an ICE 0 under sedation is not "arousable"
        score.rule = np.where((under_sedation == YES) & by_ice & (ice == 0), R_ICE_0_SEDATED,
                              score.rule).astype(np.int8)

    consciousness_d = _excluded_by(
        sed,
        _level(cons, (0, 1, 2, 3, 4),
               (R_FALLBACK, R_AWAKE_SPONT, R_AWAKE_VOICE, R_AWAKE_TOUCH, R_UNAROUSABLE),
               U_CONSCIOUSNESS),
        U_SEDATION,
    )
    domains = [
        score,
        consciousness_d,
        _level(seiz, (0, 3, 3, 4, 4),
               (R_FALLBACK, R_SEIZ_RAPID, R_SEIZ_EEG, R_SEIZ_PROLONGED, R_SEIZ_REPETITIVE),
               U_SEIZURE),
        _flag(motor, 4, R_MOTOR, U_MOTOR),
        _level(edema, (0, 3, 4), (R_FALLBACK, R_EDEMA_FOCAL, R_EDEMA_DIFFUSE), U_EDEMA),
        _flag(icp, 4, R_ICP, U_ICP),
    ]
    worst_lo = np.maximum.reduce([d.lo for d in domains])
    worst_hi = np.maximum.reduce([d.hi for d in domains])

    lo = np.where(other == YES, 0, np.where(death == YES, 5,
                                            np.where(other == NO, worst_lo, 0))).astype(np.int8)
    hi = np.where(other == YES, 0, np.where(death != NO, 5, worst_hi)).astype(np.int8)
    known = lo == hi
    unknown = ~known

    conditions: list[BoolArray] = [
        other == YES,
        death == YES,
        unknown & (other == NA),
        unknown & (death == NA),
    ]
    codes: list[int | Int8Array] = [R_OTHER, R_DEATH, U_OTHER, U_DEATH]
    for d in domains:  # the first undecided domain that could raise the grade
        conditions.append(unknown & (d.lo != d.hi) & (d.hi > lo))
        codes.append(np.broadcast_to(np.asarray(d.unknown_rule, dtype=np.int8), lo.shape))
    conditions += [unknown, (lo == 0) & (under_sedation == YES), lo == 0]
    codes += [R_FALLBACK, R_NONE_SEDATED, R_NONE]
    for d in domains:  # the first domain reaching the grade
        conditions.append(d.lo == lo)
        codes.append(d.rule)
    rules = rule_codes(conditions, codes, default=R_FALLBACK)
    return grade_result(lo, known, rules, icans_rules(capd_age_below), lay, SCALE)
