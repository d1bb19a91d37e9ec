"""ASTCT CRS grading: truth table of vignettes, refusals, and an independent reference.

Expected grades are derived by hand from the ASTCT consensus (Lee et al., Biol Blood
Marrow Transplant 2019;25:625-638) as summarised in clinical-definitions.md; see
tests/reference/criteria_vignettes.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from reinfuse.criteria import CriteriaError, crs_grade, max_grade_per_infusion

BASE: dict[str, Any] = {
    "temperature_c": 39.0,
    "anticytokine_or_antipyretic": False,
    "hypotension": "none",
    "vasopressors": 0,
    "vasopressin": False,
    "oxygen": "room_air",
    "oxygen_l_min": None,
    "other_cause": False,
    "death_from_crs": False,
}

RULE = {
    "other": "not CRS: signs attributed to another cause",
    "death": "grade 5: death due to CRS",
    "no fever": "not CRS: no fever >= 38.0 C and no anti-cytokine or antipyretic therapy given",
    "premedication": "not CRS: no fever >= 38.0 C (premedication given before CRS began does "
    "not waive the fever requirement)",
    "none": "grade 0: no fever, hypotension or hypoxia",
    "fever": "grade 1: fever >= 38.0 C without hypotension or hypoxia",
    "fluids": "grade 2: hypotension not requiring vasopressors",
    "one": "grade 3: one vasopressor",
    "vasopressin alone": "grade 3: vasopressin alone (vasopressin counts as a vasopressor for "
    "grade 3)",
    "one + vasopressin": "grade 3: one vasopressor plus vasopressin (vasopressin does not "
    "count toward multiple)",
    "multiple": "grade 4: multiple vasopressors (excluding vasopressin)",
    "blow-by": "grade 2: blow-by oxygen",
    "lfnc": "grade 2: low-flow nasal cannula (<= 6 L/min)",
    "hfnc low rate": "grade 2: nasal cannula labelled high-flow at <= 6 L/min (graded by flow "
    "rate)",
    "hfnc": "grade 3: high-flow nasal cannula (> 6 L/min)",
    "lfnc high rate": "grade 3: nasal cannula at > 6 L/min counts as high-flow (labelled "
    "low-flow)",
    "mask": "grade 3: facemask, non-rebreather or Venturi mask",
    "ppv": "grade 4: positive pressure (CPAP, BiPAP or mechanical ventilation)",
    "?other": "not gradable: other_cause missing",
    "?death": "not gradable: death_from_crs missing",
    "?temp": "not gradable: temperature missing",
    "?anti": "not gradable: anti-cytokine/antipyretic status missing (no fever)",
    "?hypotension": "not gradable: hypotension missing",
    "?count": "not gradable: number of vasopressors missing",
    "?oxygen": "not gradable: oxygen support missing",
    "?rate": "not gradable: nasal cannula flow rate missing",
}


def v(rule_id: str, grade: int | None, rule: str, kw: dict[str, Any] | None = None,
      **changes: Any) -> Any:
    """One vignette: BASE with ``changes`` -> (grade, rule key or the rule itself)."""
    return pytest.param({**BASE, **changes}, kw or {}, grade, RULE.get(rule, rule),
                        id=rule_id)


VIGNETTES = [
    # fever
    v("ASTCT: fever 38.0 C is fever -> grade 1", 1, "fever", temperature_c=38.0),
    v("ASTCT: 37.9 C is no fever -> not CRS", 0, "no fever", temperature_c=37.9),
    v("ASTCT: 38.0 C converted from 100.4 F -> grade 1", 1, "fever",
      temperature_c=(100.4 - 32) * 5 / 9),
    v("rounding noise just below 38.0 C still counts as 38.0 -> grade 1", 1, "fever",
      temperature_c=38.0 - 1e-12),
    v("ASTCT: hypotension without fever or therapy is not CRS", 0, "no fever",
      temperature_c=37.5, hypotension="vasopressors", vasopressors=2),
    v("ASTCT: hypoxia without fever or therapy is not CRS", 0, "no fever",
      temperature_c=36.8, oxygen="cpap"),
    v("ASTCT: no fever after tocilizumab, no hypotension/hypoxia -> grade 0", 0, "none",
      temperature_c=37.0, anticytokine_or_antipyretic=True),
    v("ASTCT: no fever after tocilizumab, fluids -> grade 2 (fever not required)", 2,
      "fluids", temperature_c=37.0, anticytokine_or_antipyretic=True, hypotension="fluids"),
    v("ASTCT: no fever after antipyretic, one vasopressor -> grade 3", 3, "one",
      temperature_c=36.5, anticytokine_or_antipyretic=True, hypotension="vasopressors",
      vasopressors=1),
    v("ASTCT: fever after tocilizumab still grade 1", 1, "fever",
      anticytokine_or_antipyretic=True),
    # ASTCT: "fever is no longer required ... once antipyretics or anti-cytokine therapy are
    # given" as treatment of CRS, whose onset requires fever; premedication before CRS
    # began (paracetamol or hydrocortisone with the infusion on day 0) does not waive it.
    v("ASTCT: day-0 paracetamol premedication, 37.2 C with fluids -> not CRS", 0,
      "premedication", temperature_c=37.2, anticytokine_or_antipyretic="premedication",
      hypotension="fluids"),
    v("ASTCT: premedication, 37.0 C on a non-rebreather -> not CRS", 0, "premedication",
      temperature_c=37.0, anticytokine_or_antipyretic="premedication",
      oxygen="non_rebreather"),
    v("ASTCT: tocilizumab given for CRS (for_crs), 37.0 C with fluids -> grade 2", 2,
      "fluids", temperature_c=37.0, anticytokine_or_antipyretic="for_crs",
      hypotension="fluids"),
    v("older sheets: 'yes' means given for CRS, 37.0 C with fluids -> grade 2", 2, "fluids",
      temperature_c=37.0, anticytokine_or_antipyretic="yes", hypotension="fluids"),
    v("premedication with fever 38.6 C -> grade 1 (fever present)", 1, "fever",
      temperature_c=38.6, anticytokine_or_antipyretic="Premedication"),
    v("premedication, temperature missing, fluids: 0 or 2 -> not gradable", None, "?temp",
      temperature_c=None, anticytokine_or_antipyretic="premedication", hypotension="fluids"),
    v("ASTCT: fever threshold is a parameter (38.3): 38.2 is no fever", 0,
      "not CRS: no fever >= 38.3 C and no anti-cytokine or antipyretic therapy given",
      {"fever_c": 38.3}, temperature_c=38.2),
    # hypotension
    v("ASTCT: hypotension needing fluids only -> grade 2", 2, "fluids", hypotension="fluids"),
    v("ASTCT: one vasopressor -> grade 3", 3, "one", hypotension="vasopressors",
      vasopressors=1),
    v("ASTCT: vasopressin alone counts as a vasopressor for grade 3", 3, "vasopressin alone",
      hypotension="vasopressors", vasopressin=True),
    v("ASTCT: vasopressin + 1 vasopressor = grade 3, not 4", 3, "one + vasopressin",
      hypotension="vasopressors", vasopressors=1, vasopressin=True),
    v("ASTCT: two vasopressors (excluding vasopressin) -> grade 4", 4, "multiple",
      hypotension="vasopressors", vasopressors=2),
    v("ASTCT: two vasopressors plus vasopressin -> grade 4", 4, "multiple",
      hypotension="vasopressors", vasopressors=2, vasopressin=True),
    # hypoxia
    v("ASTCT: blow-by oxygen = grade 2", 2, "blow-by", oxygen="blow_by"),
    v("ASTCT: low-flow nasal cannula 6 L/min is low-flow -> grade 2", 2, "lfnc",
      oxygen="low_flow_nasal_cannula", oxygen_l_min=6),
    v("ASTCT: nasal cannula 7 L/min labelled low-flow counts as high-flow -> grade 3", 3,
      "lfnc high rate", oxygen="low_flow_nasal_cannula", oxygen_l_min=7),
    v("ASTCT: > 6 L/min is high-flow: 6.5 L/min -> grade 3", 3, "lfnc high rate",
      oxygen="low_flow_nasal_cannula", oxygen_l_min=6.5),
    v("ASTCT: low-flow label without a rate -> grade 2", 2, "lfnc",
      oxygen="low_flow_nasal_cannula"),
    v("ASTCT: high-flow nasal cannula 7 L/min -> grade 3", 3, "hfnc",
      oxygen="high_flow_nasal_cannula", oxygen_l_min=7),
    v("ASTCT: high-flow label without a rate -> grade 3", 3, "hfnc",
      oxygen="high_flow_nasal_cannula"),
    v("ASTCT: high flow is defined by rate: HFNC label at 6 L/min -> grade 2", 2,
      "hfnc low rate", oxygen="high_flow_nasal_cannula", oxygen_l_min=6),
    v("parameter hfnc_at_low_rate='label': HFNC at 6 L/min stays grade 3", 3, "hfnc",
      {"hfnc_at_low_rate": "label"}, oxygen="high_flow_nasal_cannula", oxygen_l_min=6),
    v("ASTCT: unlabelled nasal cannula 6 L/min -> grade 2", 2, "lfnc",
      oxygen="nasal_cannula", oxygen_l_min=6),
    v("ASTCT: unlabelled nasal cannula 7 L/min -> grade 3", 3, "hfnc",
      oxygen="nasal_cannula", oxygen_l_min=7),
    v("ASTCT: unlabelled nasal cannula without rate: 2 or 3 -> not gradable", None, "?rate",
      oxygen="nasal_cannula"),
    v("parameter low_flow_max_l_min=4: 5 L/min is high-flow", 3,
      "grade 3: nasal cannula at > 4 L/min counts as high-flow (labelled low-flow)",
      {"low_flow_max_l_min": 4}, oxygen="low_flow_nasal_cannula", oxygen_l_min=5),
    # Hypoxia is graded by the oxygen support it requires (ASTCT): a cannula at 0 L/min
    # delivers none, so it is room air.
    v("nasal cannula at 0 L/min is not oxygen: fever only -> grade 1", 1, "fever",
      oxygen="nasal_cannula", oxygen_l_min=0),
    v("low-flow nasal cannula at 0 L/min is not oxygen -> grade 1", 1, "fever",
      oxygen="low_flow_nasal_cannula", oxygen_l_min=0),
    v("high-flow cannula at 0 L/min is not oxygen, even graded by label -> grade 1", 1,
      "fever", {"hfnc_at_low_rate": "label"}, oxygen="high_flow_nasal_cannula",
      oxygen_l_min=0),
    v("blow-by at 0 L/min is not oxygen -> grade 1", 1, "fever", oxygen="blow_by",
      oxygen_l_min=0),
    v("nasal cannula at 0 L/min with fluids -> grade 2 by hypotension", 2, "fluids",
      oxygen="nasal_cannula", oxygen_l_min=0, hypotension="fluids"),
    v("ASTCT: facemask -> grade 3", 3, "mask", oxygen="facemask"),
    v("ASTCT: non-rebreather -> grade 3", 3, "mask", oxygen="non_rebreather"),
    v("ASTCT: Venturi mask -> grade 3", 3, "mask", oxygen="venturi"),
    v("ASTCT: CPAP -> grade 4", 4, "ppv", oxygen="cpap"),
    v("ASTCT: BiPAP -> grade 4", 4, "ppv", oxygen="bipap"),
    v("ASTCT: intubation and mechanical ventilation -> grade 4", 4, "ppv",
      oxygen="mechanical_ventilation"),
    v("labels are case/spacing-insensitive: 'High-flow nasal cannula'", 3, "hfnc",
      oxygen="High-flow nasal cannula", oxygen_l_min=10),
    # the more severe of hypotension and hypoxia
    v("ASTCT: more severe of the two: fluids + HFNC 10 L/min -> grade 3 (hypoxia)", 3,
      "hfnc", hypotension="fluids", oxygen="high_flow_nasal_cannula", oxygen_l_min=10),
    v("ASTCT: more severe of the two: one vasopressor + CPAP -> grade 4 (hypoxia)", 4, "ppv",
      hypotension="vasopressors", vasopressors=1, oxygen="cpap"),
    v("ASTCT: more severe of the two: two vasopressors + low-flow -> grade 4", 4, "multiple",
      hypotension="vasopressors", vasopressors=2, oxygen="low_flow_nasal_cannula",
      oxygen_l_min=2),
    v("tie: one vasopressor + facemask -> grade 3, rule names hypotension", 3, "one",
      hypotension="vasopressors", vasopressors=1, oxygen="facemask"),
    # attribution and death
    v("ASTCT: signs attributable to another cause -> not CRS", 0, "other",
      hypotension="vasopressors", vasopressors=2, other_cause=True),
    v("ASTCT: death due to CRS -> grade 5", 5, "death", death_from_crs=True,
      hypotension="vasopressors", vasopressors=2),
    v("ASTCT: death due to CRS decides without temperature", 5, "death",
      death_from_crs=True, temperature_c=None),
    # missing values: decided where every possibility agrees, otherwise not gradable
    v("missing temperature, no therapy: 0 or 1 -> not gradable", None, "?temp",
      temperature_c=None),
    v("missing temperature after tocilizumab with two vasopressors -> 4", 4, "multiple",
      temperature_c=None, anticytokine_or_antipyretic=True, hypotension="vasopressors",
      vasopressors=2),
    v("missing temperature after tocilizumab, nothing else: 0 or 1 -> not gradable", None,
      "?temp", temperature_c=None, anticytokine_or_antipyretic=True),
    v("no fever, therapy unknown, fluids: 0 or 2 -> not gradable", None, "?anti",
      temperature_c=37.0, anticytokine_or_antipyretic=None, hypotension="fluids"),
    v("no fever, therapy unknown, nothing else -> 0 either way", 0, "none",
      temperature_c=37.0, anticytokine_or_antipyretic=None),
    v("fever present, therapy unknown -> does not matter", 1, "fever",
      anticytokine_or_antipyretic=None),
    v("hypotension missing but two vasopressors recorded -> grade 4", 4, "multiple",
      hypotension=None, vasopressors=2),
    v("hypotension missing, vasopressin alone recorded -> grade 3", 3, "vasopressin alone",
      hypotension=None, vasopressors=0, vasopressin=True),
    v("hypotension missing, no pressor: none or fluids -> not gradable", None,
      "?hypotension", hypotension=None),
    v("vasopressor count missing: 3 or 4 -> not gradable", None, "?count",
      hypotension="vasopressors", vasopressors=None),
    v("vasopressor count missing but CPAP -> grade 4", 4, "ppv",
      hypotension="vasopressors", vasopressors=None, oxygen="cpap"),
    v("count 0 with vasopressin unknown: only vasopressin is consistent -> grade 3", 3,
      "vasopressin alone", hypotension="vasopressors", vasopressors=0, vasopressin=None),
    v("oxygen missing -> not gradable", None, "?oxygen", oxygen=None),
    v("oxygen missing but two vasopressors -> grade 4", 4, "multiple", oxygen=None,
      hypotension="vasopressors", vasopressors=2),
    v("other_cause missing -> not gradable", None, "?other", other_cause=None),
    v("other_cause missing without fever or therapy -> 0 either way", 0, "no fever",
      other_cause=None, temperature_c=37.0),
    v("death_from_crs missing -> not gradable", None, "?death", death_from_crs=None),
]


@pytest.mark.parametrize(("inputs", "kwargs", "grade", "rule"), VIGNETTES)
def test_crs_grade(inputs: dict[str, Any], kwargs: dict[str, Any], grade: int | None,
                   rule: str) -> None:
    assert crs_grade(**inputs, **kwargs).item() == (grade, rule)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"hypotension": "fluids", "vasopressors": 1}, "vasopressor",
                     id="fluids but a vasopressor recorded"),
        pytest.param({"hypotension": "none", "vasopressin": True}, "vasopressin",
                     id="no hypotension but vasopressin recorded"),
        pytest.param({"hypotension": "vasopressors"}, "no vasopressor",
                     id="vasopressors but none recorded"),
        pytest.param({"oxygen_l_min": 2}, "room_air", id="room air with a flow rate"),
        pytest.param({"other_cause": True, "death_from_crs": True}, "both true",
                     id="other cause and death from CRS"),
        pytest.param({"temperature_c": 101.3}, "Celsius", id="Fahrenheit temperature"),
        pytest.param({"oxygen": "ecmo"}, "allowed", id="unknown oxygen label"),
        pytest.param({"vasopressors": 1.5, "hypotension": "vasopressors"}, "whole numbers",
                     id="fractional vasopressor count"),
        pytest.param({"anticytokine_or_antipyretic": "maybe"},
                     "allowed: 'no', 'for_crs', 'premedication'", id="bad therapy value"),
    ],
)
def test_crs_grade_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        crs_grade(**{**BASE, **changes})


# ---------------------------------------------------------------------------------------
# independent reference: a plain per-row implementation of the rulebook, with missing
# values judged by trying every value they could take (conftest.possible_outcomes)
# ---------------------------------------------------------------------------------------

OXYGEN_GRADE = {"room_air": 0, "blow_by": 2, "facemask": 3, "non_rebreather": 3,
                "venturi": 3, "cpap": 4, "bipap": 4, "mechanical_ventilation": 4}


def reference_crs(temperature_c: float, anticytokine_or_antipyretic: Any, hypotension: str,
                  vasopressors: int, vasopressin: bool, oxygen: str, oxygen_l_min: Any,
                  other_cause: bool, death_from_crs: bool) -> int | frozenset[int]:
    """ASTCT grade of one fully known observation, straight from the consensus table."""
    if hypotension in ("none", "fluids") and (vasopressors > 0 or vasopressin):
        raise ValueError("contradiction")
    if hypotension == "vasopressors" and vasopressors == 0 and not vasopressin:
        raise ValueError("contradiction")
    if other_cause and death_from_crs:
        raise ValueError("contradiction")
    if other_cause:
        return 0
    if death_from_crs:
        return 5
    fever = temperature_c >= 38.0
    # only therapy given for CRS (True) waives fever; premedication does not
    if not fever and anticytokine_or_antipyretic is not True:
        return 0
    if hypotension == "none":
        h = 0
    elif hypotension == "fluids":
        h = 2
    else:
        h = 4 if vasopressors >= 2 else 3
    rate_known = oxygen_l_min is not None and not np.isnan(oxygen_l_min)
    if oxygen in OXYGEN_GRADE:
        x = OXYGEN_GRADE[oxygen]
        if oxygen == "blow_by" and oxygen_l_min == 0:
            x = 0  # no flow, no oxygen
    elif not rate_known:  # a labelled cannula is taken at its label
        if oxygen == "nasal_cannula":  # unlabelled: low-flow (2) or high-flow (3)
            return frozenset({max(h, 2), max(h, 3)})
        x = {"low_flow_nasal_cannula": 2, "high_flow_nasal_cannula": 3}[oxygen]
    else:
        x = 0 if oxygen_l_min == 0 else 3 if oxygen_l_min > 6 else 2
    return max(h, x, 1 if fever else 0)


CANDIDATES: dict[str, list[Any]] = {
    "temperature_c": [37.0, 39.0],
    "anticytokine_or_antipyretic": [False, True, "premedication"],
    "hypotension": ["none", "fluids", "vasopressors"],
    "vasopressors": [0, 1, 2],
    "vasopressin": [False, True],
    "oxygen": [*OXYGEN_GRADE, "low_flow_nasal_cannula", "high_flow_nasal_cannula",
               "nasal_cannula"],
    "other_cause": [False, True],
    "death_from_crs": [False, True],
}


def test_crs_grade_matches_independent_reference(outcomes: Any,
                                                     random_frame: Any) -> None:
    frame = random_frame("crs", 3000, 20240601)
    got = crs_grade(**{c: frame[c] for c in frame.columns})
    assert list(got.grade.index) == list(frame.index)
    expected = [outcomes(reference_crs, row, CANDIDATES)
                for row in frame.to_dict(orient="records")]
    actual = [None if pd.isna(g) else int(g) for g in got.grade]
    mismatches = [(i, e, a) for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                  if e != a]
    assert not mismatches, mismatches[:5]
    # every ungraded observation says which input is missing
    assert set(got.rule[got.grade.isna()]) <= {r for k, r in RULE.items() if k[0] == "?"}


@pytest.mark.parametrize(
    ("grades", "by_patient", "skipna", "expected"),
    [
        pytest.param([0, 1, 3, 2], [1, 1, 1, 1], False, [3],
                     id="ASTCT: infusion grade = maximum daily grade"),
        pytest.param([1, None, 2], [1, 1, 1], False, [None],
                     id="an ungraded day could be worse -> missing"),
        pytest.param([5, None], [1, 1], False, [5], id="grade 5 cannot be exceeded"),
        pytest.param([1, None, 2], [1, 1, 1], True, [2], id="skipna ignores ungraded days"),
        pytest.param([None, None], [1, 1], True, [None], id="skipna with nothing graded"),
        pytest.param([0, 4, 1], [1, 2, 2], False, [0, 4], id="one maximum per infusion"),
    ],
)
def test_max_grade_per_infusion(grades: list[Any], by_patient: list[int], skipna: bool,
                                expected: list[Any]) -> None:
    frame = pd.DataFrame({"patient_id": by_patient, "infusion": 1,
                          "grade": pd.array(grades, dtype="Int8")})
    got = max_grade_per_infusion(frame, skipna=skipna)
    assert [None if pd.isna(g) else int(g) for g in got] == expected
    assert got.name == "max_grade"
    assert got.index.names == ["patient_id", "infusion"]


def test_max_grade_per_infusion_refuses_bad_frames() -> None:
    with pytest.raises(CriteriaError, match="not in the frame"):
        max_grade_per_infusion(pd.DataFrame({"grade": [1]}))
    with pytest.raises(CriteriaError, match="missing in row"):
        max_grade_per_infusion(pd.DataFrame({"patient_id": [None], "infusion": [1],
                                             "grade": [1]}))
    with pytest.raises(CriteriaError, match="whole numbers"):
        max_grade_per_infusion(pd.DataFrame({"patient_id": [1], "infusion": [1],
                                             "grade": [6]}))
