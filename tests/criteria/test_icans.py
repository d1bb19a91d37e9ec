"""ASTCT ICANS grading: truth table of vignettes, refusals, and an independent reference.

Expected grades are derived by hand from the ASTCT consensus (Lee et al., Biol Blood
Marrow Transplant 2019;25:625-638) as summarised in clinical-definitions.md; see
tests/reference/criteria_vignettes.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from reinfuse.criteria import CriteriaError, icans_grade

BASE: dict[str, Any] = {
    "ice_score": 10,
    "capd_score": None,
    "age_years": 30,
    "consciousness": "alert",
    "sedated": False,
    "seizure": "none",
    "motor_weakness": False,
    "cerebral_edema": "none",
    "raised_icp_signs": False,
    "other_cause": False,
    "death_from_icans": False,
}
CHILD = {"ice_score": None, "age_years": 11}

RULE = {
    "none": "grade 0: no ICANS findings",
    "none sedated": "grade 0: no ICANS findings that count (the patient was sedated: what "
    "sedation explains is not counted)",
    "other": "not ICANS: findings attributed to another cause",
    "death": "grade 5: death due to ICANS",
    "ice 7-9": "grade 1: ICE score 7-9 (age >= 12)",
    "ice 3-6": "grade 2: ICE score 3-6 (age >= 12)",
    "ice 1-2": "grade 3: ICE score 1-2 (age >= 12)",
    "ice 0": "grade 3: ICE score 0 with the patient arousable (age >= 12)",
    "capd 1-8": "grade 1: CAPD score 1-8 (age < 12)",
    "capd 9": "grade 3: CAPD score >= 9 (age < 12)",
    "ice 7-9 used": "grade 1: ICE score 7-9 (ICE used)",
    "ice 0 used": "grade 3: ICE score 0 with the patient arousable (ICE used)",
    "ice 0 sedated": "grade 3: ICE score 0 while sedated (counted because "
    "sedation_excludes_scores is false)",
    "capd 1-8 used": "grade 1: CAPD score 1-8 (CAPD used)",
    "capd 9 used": "grade 3: CAPD score >= 9 (CAPD used)",
    "spontaneous": "grade 1: depressed consciousness, awakens spontaneously",
    "voice": "grade 2: depressed consciousness, awakens to voice",
    "touch": "grade 3: depressed consciousness, awakens only to tactile stimulus",
    "unarousable": "grade 4: unarousable or needs vigorous/repetitive tactile stimuli "
    "(stupor or coma)",
    "seizure rapid": "grade 3: clinical seizure that resolved rapidly",
    "seizure eeg": "grade 3: non-convulsive seizure on EEG that resolved with intervention",
    "seizure prolonged": "grade 4: prolonged (> 5 min) life-threatening seizure",
    "seizure repetitive": "grade 4: repetitive seizures without return to baseline",
    "motor": "grade 4: deep focal motor weakness (hemiparesis, paraparesis)",
    "focal edema": "grade 3: focal/local cerebral edema on neuroimaging",
    "diffuse edema": "grade 4: diffuse cerebral edema on neuroimaging",
    "icp": "grade 4: signs of raised intracranial pressure",
    "?other": "not gradable: other_cause missing",
    "?death": "not gradable: death_from_icans missing",
    "?ice": "not gradable: ICE score missing (age >= 12)",
    "?capd": "not gradable: CAPD score missing (age < 12)",
    "?ice tool": "not gradable: ICE score missing (ICE recorded as the tool)",
    "?capd tool": "not gradable: CAPD score missing (CAPD recorded as the tool)",
    "?score": "not gradable: ICE/CAPD score missing and age missing",
    "?disagree": "not gradable: age missing and ICE and CAPD scores disagree",
    "?consciousness": "not gradable: level of consciousness missing",
    "?sedation": "not gradable: sedation status missing",
    "?seizure": "not gradable: seizure missing",
    "?motor": "not gradable: motor_weakness missing",
    "?edema": "not gradable: cerebral_edema missing",
    "?icp": "not gradable: raised_icp_signs missing",
}


def v(rule_id: str, grade: int | None, rule: str, kw: dict[str, Any] | None = None,
      **changes: Any) -> Any:
    """One vignette: BASE with ``changes`` -> (grade, rule key or the rule itself)."""
    return pytest.param({**BASE, **changes}, kw or {}, grade, RULE.get(rule, rule),
                        id=rule_id)


VIGNETTES = [
    # ICE score (age >= 12)
    v("ASTCT: ICE 10 is normal", 0, "none"),
    v("ASTCT: ICE 9 -> grade 1", 1, "ice 7-9", ice_score=9),
    v("ASTCT: ICE 7 -> grade 1", 1, "ice 7-9", ice_score=7),
    v("ASTCT: ICE 6 -> grade 2", 2, "ice 3-6", ice_score=6),
    v("ASTCT: ICE 3 -> grade 2", 2, "ice 3-6", ice_score=3),
    v("ASTCT: ICE 2 -> grade 3", 3, "ice 1-2", ice_score=2),
    v("ASTCT: ICE 0 with the patient awake (global aphasia) -> grade 3", 3, "ice 0",
      ice_score=0),
    v("ASTCT: ICE 0 because unarousable -> grade 4", 4, "unarousable", ice_score=0,
      consciousness="unarousable"),
    v("ASTCT: unarousable, ICE not possible -> grade 4", 4, "unarousable", ice_score=None,
      consciousness="unarousable"),
    # consciousness and sedation
    v("ASTCT: awakens spontaneously -> grade 1", 1, "spontaneous",
      consciousness="awakens_spontaneously"),
    v("ASTCT: awakens to voice -> grade 2", 2, "voice", consciousness="awakens_to_voice"),
    v("ASTCT: awakens only to touch -> grade 3", 3, "touch",
      consciousness="awakens_to_touch"),
    v("ASTCT: ICE 2 and awakens to touch: tie at 3, rule names ICE", 3, "ice 1-2",
      ice_score=2, consciousness="awakens_to_touch"),
    # ASTCT: depressed consciousness due to sedating medication does not count; an ICE or
    # CAPD taken under it (propofol, RASS -4/-5) is not assessable (default: excluded).
    v("ASTCT: sedated (propofol), unarousable, ICE 8 -> both excluded -> 0", 0,
      "none sedated", ice_score=8, consciousness="unarousable", sedated=True),
    v("ASTCT: sedated, RASS -5, ICE 0 -> not 'arousable' grade 3: excluded -> 0", 0,
      "none sedated", ice_score=0, consciousness="unarousable", sedated=True),
    v("ASTCT: sedated, awakens to touch, ICE 10 -> 0", 0, "none sedated",
      consciousness="awakens_to_touch", sedated=True),
    v("ASTCT: sedated, ICE 2, but a focal edema on imaging -> 3", 3, "focal edema",
      ice_score=2, consciousness="awakens_to_touch", sedated=True, cerebral_edema="focal"),
    v("sedated, consciousness missing, ICE 4: alert (ICE counts) or not -> not gradable",
      None, "?consciousness", ice_score=4, consciousness=None, sedated=True),
    v("sedated, consciousness missing, ICE 10 -> 0 either way", 0, "none", ice_score=10,
      consciousness=None, sedated=True),
    v("sedation recorded but the patient alert: assessable, ICE 2 -> 3", 3, "ice 1-2",
      ice_score=2, sedated=True),
    v("sedation unknown with depressed consciousness -> not gradable", None, "?sedation",
      consciousness="awakens_to_voice", sedated=None),
    v("sedation unknown, depressed consciousness and ICE 5 -> not gradable", None,
      "?sedation", ice_score=5, consciousness="awakens_spontaneously", sedated=None),
    v("sedation unknown but alert -> does not matter", 0, "none", sedated=None),
    v("sedation unknown but alert: ICE 5 counts -> 2", 2, "ice 3-6", ice_score=5,
      sedated=None),
    v("parameter sedation_excludes_scores=False: sedated ICE 2 counts -> 3", 3, "ice 1-2",
      {"sedation_excludes_scores": False}, ice_score=2, consciousness="awakens_to_voice",
      sedated=True),
    v("sedation_excludes_scores=False: sedated unarousable ICE 0 -> 3, never 'arousable'",
      3, "ice 0 sedated", {"sedation_excludes_scores": False}, ice_score=0,
      consciousness="unarousable", sedated=True),
    # CAPD (age < 12) and the age cut-off
    v("ASTCT: CAPD 0 at age 11 is normal", 0, "none", **CHILD, capd_score=0),
    v("ASTCT: CAPD 5, alert, age 11 -> grade 1", 1, "capd 1-8", **CHILD, capd_score=5),
    v("ASTCT: CAPD 8 awakening spontaneously -> grade 1", 1, "capd 1-8", **CHILD,
      capd_score=8, consciousness="awakens_spontaneously"),
    v("ASTCT: CAPD < 9 awakening to voice -> grade 2", 2, "voice", **CHILD, capd_score=5,
      consciousness="awakens_to_voice"),
    v("ASTCT: CAPD 9 -> grade 3", 3, "capd 9", **CHILD, capd_score=9),
    v("ASTCT: CAPD 20 -> grade 3", 3, "capd 9", **CHILD, capd_score=20),
    v("ASTCT: unable to perform CAPD (unarousable) -> grade 4", 4, "unarousable", **CHILD,
      consciousness="unarousable"),
    v("CAPD used below 12: age 11 uses CAPD, ignores ICE", 3, "capd 9", age_years=11,
      ice_score=8, capd_score=12),
    v("CAPD used below 12: age 11.9 still child", 3, "capd 9", age_years=11.9,
      ice_score=8, capd_score=12),
    v("ICE used from 12 (default '< 12'): age 12 uses ICE, ignores CAPD", 1, "ice 7-9",
      age_years=12, ice_score=8, capd_score=12),
    v("'12 and under' reading (capd_age_below=13): age 12 uses CAPD", 3,
      "grade 3: CAPD score >= 9 (age < 13)", {"capd_age_below": 13}, age_years=12,
      ice_score=8, capd_score=12),
    v("age 12 with only CAPD recorded: ICE missing -> not gradable", None, "?ice",
      age_years=12, ice_score=None, capd_score=12),
    v("age 11 with only ICE recorded: CAPD missing -> not gradable", None, "?capd",
      age_years=11, ice_score=8),
    v("age missing, only ICE recorded -> ICE used", 1, "ice 7-9 used", age_years=None,
      ice_score=8),
    v("age missing, only CAPD recorded -> CAPD used", 3, "capd 9 used", age_years=None,
      ice_score=None, capd_score=10),
    v("age missing, ICE and CAPD agree -> graded", 1, "ice 7-9 used", age_years=None,
      ice_score=8, capd_score=4),
    # ASTCT pediatric table: CAPD for children < 12 and for older patients who cannot do
    # the ICE (developmental delay); the tool named on the observation wins over age.
    v("ASTCT: age 15 with developmental delay, CAPD named, CAPD 6 -> 1", 1, "capd 1-8 used",
      age_years=15, ice_score=None, capd_score=6, assessment_tool="capd"),
    v("ASTCT: age 15, CAPD named, CAPD 10 -> 3 (ICE 10 ignored)", 3, "capd 9 used",
      age_years=15, ice_score=10, capd_score=10, assessment_tool="CAPD"),
    v("CAPD named but its score missing -> not gradable", None, "?capd tool",
      age_years=15, ice_score=8, assessment_tool="capd"),
    v("ICE named at age 11 (able to do it): ICE 8 -> 1", 1, "ice 7-9 used", age_years=11,
      ice_score=8, capd_score=None, assessment_tool="ice"),
    v("ICE named, ICE 0, alert -> 3 (arousable)", 3, "ice 0 used", ice_score=0,
      assessment_tool="ice"),
    v("ICE named but its score missing -> not gradable", None, "?ice tool", ice_score=None,
      capd_score=3, assessment_tool="ice"),
    v("tool missing: age decides (15, CAPD only) -> ICE missing", None, "?ice",
      age_years=15, ice_score=None, capd_score=6, assessment_tool=None),
    v("age missing, ICE and CAPD disagree -> not gradable", None, "?disagree",
      age_years=None, ice_score=8, capd_score=12),
    v("age and both scores missing -> not gradable", None, "?score", age_years=None,
      ice_score=None),
    # seizures, motor, raised ICP / edema
    v("ASTCT: rapidly resolving clinical seizure -> grade 3", 3, "seizure rapid",
      seizure="rapidly_resolving"),
    v("ASTCT: non-convulsive EEG seizure resolved with intervention -> grade 3", 3,
      "seizure eeg", seizure="eeg_nonconvulsive_resolved"),
    v("ASTCT: prolonged seizure > 5 min -> grade 4", 4, "seizure prolonged",
      seizure="prolonged"),
    v("ASTCT: repetitive seizures without return to baseline -> grade 4", 4,
      "seizure repetitive", seizure="repetitive"),
    v("ASTCT: deep focal motor weakness -> grade 4", 4, "motor", motor_weakness=True),
    v("ASTCT: focal/local edema -> grade 3", 3, "focal edema", cerebral_edema="focal"),
    v("ASTCT: diffuse edema -> grade 4", 4, "diffuse edema", cerebral_edema="diffuse"),
    v("ASTCT: papilledema / CN VI palsy / posturing / Cushing's triad -> grade 4", 4, "icp",
      raised_icp_signs=True),
    v("ASTCT: most severe domain: ICE 5 with focal edema -> 3", 3, "focal edema",
      ice_score=5, cerebral_edema="focal"),
    # attribution and death
    v("ASTCT: findings attributed to another cause -> not ICANS", 0, "other", ice_score=2,
      other_cause=True),
    v("ASTCT: death due to ICANS -> grade 5", 5, "death", death_from_icans=True),
    # missing values
    v("ICE missing (adult, alert) -> not gradable", None, "?ice", ice_score=None),
    v("consciousness missing -> not gradable", None, "?consciousness", consciousness=None),
    v("consciousness missing but prolonged seizure -> 4", 4, "seizure prolonged",
      consciousness=None, seizure="prolonged"),
    v("seizure missing -> not gradable", None, "?seizure", seizure=None),
    v("motor_weakness missing -> not gradable", None, "?motor", motor_weakness=None),
    v("cerebral_edema missing -> not gradable", None, "?edema", cerebral_edema=None),
    v("raised_icp_signs missing -> not gradable", None, "?icp", raised_icp_signs=None),
    v("other_cause missing -> not gradable", None, "?other", other_cause=None, ice_score=5),
    v("death_from_icans missing -> not gradable", None, "?death", death_from_icans=None),
]


@pytest.mark.parametrize(("inputs", "kwargs", "grade", "rule"), VIGNETTES)
def test_icans_grade(inputs: dict[str, Any], kwargs: dict[str, Any], grade: int | None,
                     rule: str) -> None:
    assert icans_grade(**inputs, **kwargs).item() == (grade, rule)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"ice_score": 11}, "from 0 to 10", id="ICE above 10"),
        pytest.param({"ice_score": 7.5}, "whole numbers", id="fractional ICE"),
        pytest.param({"capd_score": 33}, "from 0 to 32", id="CAPD above 32"),
        pytest.param({"consciousness": "drowsy"}, "allowed", id="unknown consciousness"),
        pytest.param({"seizure": "yes"}, "allowed", id="unknown seizure label"),
        pytest.param({"other_cause": True, "death_from_icans": True}, "both true",
                     id="other cause and death from ICANS"),
    ],
)
def test_icans_grade_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        icans_grade(**{**BASE, **changes})


# ---------------------------------------------------------------------------------------
# independent reference (see conftest.possible_outcomes)
# ---------------------------------------------------------------------------------------


def reference_icans(ice_score: Any, capd_score: Any, age_years: Any, consciousness: str,
                    sedated: bool, seizure: str, motor_weakness: bool, cerebral_edema: str,
                    raised_icp_signs: bool, other_cause: bool,
                    death_from_icans: bool, assessment_tool: Any = None) -> int | frozenset[int]:
    """ASTCT ICANS grade of one observation, straight from the consensus table."""
    if other_cause and death_from_icans:
        raise ValueError("contradiction")
    if other_cause:
        return 0
    if death_from_icans:
        return 5

    def ice_grade(s: int) -> int:
        return 0 if s == 10 else 1 if s >= 7 else 2 if s >= 3 else 3

    def capd_grade(s: int) -> int:
        return 0 if s == 0 else 1 if s <= 8 else 3

    known = {"ice": ice_score is not None and not np.isnan(ice_score),
             "capd": capd_score is not None and not np.isnan(capd_score)}
    if assessment_tool is not None:  # the tool named wins (ASTCT pediatric table)
        tools = [assessment_tool]
    elif age_years is None or np.isnan(age_years):
        # the tool recorded is the one used; with both, either could apply
        tools = [t for t in ("ice", "capd") if known[t]] or ["ice", "capd"]
    else:
        tools = ["capd" if age_years < 12 else "ice"]
    scores: set[int] = set()
    # under sedation that depressed consciousness, neither the level of consciousness nor
    # the ICE/CAPD score counts (an alert patient was assessable)
    if sedated and consciousness != "alert":
        tools = []
        scores = {0}
    for tool in tools:
        if known[tool]:
            value = ice_score if tool == "ice" else capd_score
            scores.add(ice_grade(int(value)) if tool == "ice" else capd_grade(int(value)))
        else:  # not recorded: any score of that tool
            scores |= ({ice_grade(s) for s in range(11)} if tool == "ice"
                       else {capd_grade(s) for s in range(33)})
    level = 0 if sedated else ["alert", "awakens_spontaneously", "awakens_to_voice",
                               "awakens_to_touch", "unarousable"].index(consciousness)
    others = max(
        level,
        {"none": 0, "rapidly_resolving": 3, "eeg_nonconvulsive_resolved": 3,
         "prolonged": 4, "repetitive": 4}[seizure],
        4 if motor_weakness else 0,
        {"none": 0, "focal": 3, "diffuse": 4}[cerebral_edema],
        4 if raised_icp_signs else 0,
    )
    return frozenset(max(s, others) for s in scores)


CANDIDATES: dict[str, list[Any]] = {
    "consciousness": ["alert", "awakens_spontaneously", "awakens_to_voice",
                      "awakens_to_touch", "unarousable"],
    "sedated": [False, True],
    "seizure": ["none", "rapidly_resolving", "eeg_nonconvulsive_resolved", "prolonged",
                "repetitive"],
    "motor_weakness": [False, True],
    "cerebral_edema": ["none", "focal", "diffuse"],
    "raised_icp_signs": [False, True],
    "other_cause": [False, True],
    "death_from_icans": [False, True],
}


def test_icans_grade_matches_independent_reference(outcomes: Any,
                                                       random_frame: Any) -> None:
    frame = random_frame("icans", 3000, 7)
    got = icans_grade(**{c: frame[c] for c in frame.columns})
    expected = [outcomes(reference_icans, row, CANDIDATES)
                for row in frame.to_dict(orient="records")]
    actual = [None if pd.isna(g) else int(g) for g in got.grade]
    mismatches = [(i, e, a) for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                  if e != a]
    assert not mismatches, mismatches[:5]
    assert set(got.rule[got.grade.isna()]) <= {r for k, r in RULE.items() if k[0] == "?"}
