"""One vocabulary (issue 9): every reader takes the words of reinfuse.vocabulary, no other.

The expected values are written by hand from the decisions in the module docstring of
``reinfuse.vocabulary`` (yes/no words: the union of the three former lists, blank unknown;
response codes: seed study Table 2 and docs clinical-definitions "Response"; blood RBC in
x 10^12/L, adult reference 4-6), not taken from the code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reinfuse import vocabulary as voc
from reinfuse._match import matches
from reinfuse.criteria import RESPONSE_CODES as CRITERIA_RESPONSES
from reinfuse.criteria import cns_status, crs_grade
from reinfuse.criteria._common import as_tristate, layout
from reinfuse.criteria.assessments import pre_infusion_status
from reinfuse.errors import CriteriaError
from reinfuse.figures.response_by_infusion import RESPONSES as GRID_RESPONSES
from reinfuse.figures.swimmer_course import RESPONSES as COURSE_RESPONSES
from reinfuse.schema import COHORT_V1
from reinfuse.validate._coerce import coerce_column

# word -> meaning, by hand: True yes, False no, None unknown (blank)
WORDS = {
    "yes": True, "Y": True, "TRUE": True, "t": True, "1": True, "1.0": True,
    "Checked": True,
    "No": False, "n": False, "false": False, "F": False, "0": False, "0.0": False,
    "unchecked": False,
    "": None, "   ": None,
}
NOT_YES_NO = ["none", "absent", "maybe", "2"]


def test_yes_no_words_are_the_documented_union() -> None:
    assert {"yes", "y", "true", "t", "1", "1.0", "checked"} == voc.YES_WORDS
    assert {"no", "n", "false", "f", "0", "0.0", "unchecked"} == voc.NO_WORDS
    assert not voc.YES_WORDS & voc.NO_WORDS


def test_sheet_reader_criteria_and_plan_read_the_same_words() -> None:
    words = list(WORDS)
    expected = [WORDS[w] for w in words]
    # the sheet reader (validate)
    column = COHORT_V1.table("infusions").column("interim_therapy")
    typed, findings = coerce_column(pd.Series(words, dtype=object), column, "infusions")
    assert findings == []
    assert [None if pd.isna(v) else bool(v) for v in typed] == expected
    # the criteria engine
    codes = as_tristate(words, "flag", layout({"flag": words}))
    assert [None if c == -1 else bool(c) for c in codes] == expected
    # plan matching: where = { x = ["yes"] } selects exactly the yes-words
    flags = pd.Series(expected, dtype="boolean")
    assert matches(flags, ["Checked"]).tolist() == [e is True for e in expected]
    assert matches(flags, ["unchecked"]).tolist() == [e is False for e in expected]


@pytest.mark.parametrize("word", NOT_YES_NO)
def test_other_words_are_refused_not_read_as_no(word: str) -> None:
    column = COHORT_V1.table("infusions").column("interim_therapy")
    typed, findings = coerce_column(pd.Series([word], dtype=object), column, "infusions")
    assert pd.isna(typed[0]) and len(findings) == 1 and findings[0].severity == "error"
    with pytest.raises(CriteriaError, match="yes/no"):
        as_tristate([word], "flag", layout({"flag": [word]}))
    assert voc.yes_no(word) is None


def test_therapy_column_reads_yes_no_words_like_the_grading() -> None:
    # yes = given for CRS (fever no longer required), no = none; same on both sides
    column = COHORT_V1.table("crs_observations").column("anticytokine_or_antipyretic")
    typed, _ = coerce_column(pd.Series(["Checked", "f", "none", "premed"]), column, "crs")
    assert typed.tolist() == ["for_crs", "no", "no", "premedication"]
    # no fever, normotensive, room air: CRS grade 0 once therapy is known not given, and
    # grade 0 also when given for CRS (Lee 2019: no fever, hypotension or hypoxia)
    graded = crs_grade([37.0, 37.0], ["Checked", "unchecked"], ["none", "none"], [0, 0],
                       [False, False], ["room_air", "room_air"], [None, None],
                       [False, False], [False, False])
    assert list(graded.grade) == [0, 0]


def test_response_codes_are_defined_once() -> None:
    seed_table_2 = ("CR", "CRi", "PR", "SD", "PD", "NE")
    assert seed_table_2 == voc.RESPONSE_CODES
    assert COHORT_V1.table("infusions").column("best_response").codes == seed_table_2
    for other in (CRITERIA_RESPONSES, GRID_RESPONSES, COURSE_RESPONSES):
        assert other is voc.RESPONSE_CODES


def test_labels_fold_alike_in_sheet_and_criteria() -> None:
    assert voc.normalise_label("  Low-flow   Nasal-Cannula ") == "low_flow_nasal_cannula"
    column = COHORT_V1.table("crs_observations").column("oxygen")
    typed, _ = coerce_column(pd.Series(["Low-Flow Nasal Cannula"]), column, "crs")
    assert typed.tolist() == ["low_flow_nasal_cannula"]
    # the criteria engine takes the same spelling (grade 2: low-flow cannula, Lee 2019)
    graded = crs_grade([39.0], ["no"], ["none"], [0], [False], ["Low-Flow Nasal Cannula"],
                       [2.0], [False], [False])
    assert list(graded.grade) == [2]


def test_disease_assessment_ranges_match_between_sheet_and_criteria() -> None:
    table = COHORT_V1.table("disease_assessments")
    for name, (low, high, _) in voc.DISEASE_ASSESSMENT_RANGES.items():
        assert (table.column(name).minimum, table.column(name).maximum) == (low, high), name
    # 4.2e6 is a normal RBC per microlitre = 4.2 x 10^12/L: refused by both, with the unit
    column = table.column("blood_rbc")
    _, findings = coerce_column(pd.Series(["4.2e6", "4.2"]), column, "disease_assessments")
    assert [(f.value, f.rule, f.expected) for f in findings] == [
        ("4.2e6", "out-of-range", "a number from 0.1 to 10")]
    assert "x10^12/L" in findings[0].fix
    frame = pd.DataFrame({"patient_id": ["P1"], "infusion": [1], "day": [-3.0],
                          "marrow_blasts_pct": [50.0], "blood_rbc": [4.2e6]})
    with pytest.raises(CriteriaError, match="blood_rbc"):
        pre_infusion_status(frame)


def test_blank_is_unknown_for_cns_flags() -> None:
    # CSF WBC 10/uL with the cytospin blank: CNS1 (no blasts) or CNS3 (blasts, WBC >= 5)
    # are both possible, so the status is unknown, never CNS1 (a blank is not "no")
    out = cns_status(np.array([10.0, 10.0]), ["", "no"], [False, False])
    assert pd.isna(out[0]) and out[1] == "CNS1"
