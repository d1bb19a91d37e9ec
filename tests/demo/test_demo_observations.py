"""The demo cohort's raw observation sheets agree with its recorded summaries (issue 4).

The reference values are the recorded ``infusions`` values of the demo cohort, which the
contract tests (``test_contract_*.py``) tie to the seed study's published figures. Each
test below derives a summary from the raw sheets with the criteria engine (the functions
``reinfuse.reconcile`` uses) and asserts it equals the recorded value for every infusion;
``test_*_by_hand`` tests derive the same grades with plain pandas straight from the ASTCT
consensus definitions (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638), as a check
independent of the engine.

The last tests change a few raw observations on purpose and assert the exact validation
warnings: the expected derived values are worked out by hand from the same definitions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# `import reinfuse.reconcile` on its own is a circular import (reconcile -> validate._coerce
# -> validate -> reconcile); importing reinfuse.validate first loads both.
import reinfuse.validate
from reinfuse.criteria.assessments import (
    best_response,
    pre_infusion_status,
    relapse_after_response,
)
from reinfuse.demo import demo_path
from reinfuse.demo.build import demo_tables
from reinfuse.io.read import read_raw
from reinfuse.io.write import write_cohort
from reinfuse.kinetics import expansion_metrics
from reinfuse.validate import validate

grade_crs_observations = reinfuse.reconcile.grade_crs_observations
grade_icans_observations = reinfuse.reconcile.grade_icans_observations

KEY = ["patient_id", "infusion"]
TABLES = demo_tables()
RAW_SHEETS = ("crs_observations", "icans_observations", "car_counts", "disease_assessments")
RECORDED = TABLES["infusions"].set_index(KEY)
ASSESSMENTS = TABLES["disease_assessments"]
PRE = pre_infusion_status(ASSESSMENTS)
BEST = best_response(ASSESSMENTS, pre_status=PRE)
RELAPSE = relapse_after_response(ASSESSMENTS, BEST)


def _by_infusion(values: pd.Series) -> pd.Series:
    """A derived per-infusion series on the recorded table's index (every infusion)."""
    keys = pd.MultiIndex.from_arrays(
        [values.index.get_level_values(0).astype(str),
         values.index.get_level_values(1).astype(int)], names=KEY)
    return pd.Series(values.to_numpy(), index=keys).reindex(
        pd.MultiIndex.from_arrays([RECORDED.index.get_level_values(0).astype(str),
                                   RECORDED.index.get_level_values(1).astype(int)], names=KEY))


def _mismatches(derived: pd.Series, recorded: pd.Series) -> list[tuple[object, ...]]:
    recorded = pd.Series(recorded.to_numpy(), index=derived.index)
    both_missing = derived.isna() & recorded.isna()
    equal = (derived.astype(object) == recorded.astype(object)).fillna(False)
    bad = ~(equal | both_missing)
    return [(k, derived[k], recorded[k]) for k in derived.index[bad.to_numpy(dtype=bool)]]


# === the sheets ============================================================================

def test_demo_tables_have_the_four_raw_sheets_in_format_order() -> None:
    assert list(TABLES) == ["patients", "infusions", *RAW_SHEETS]


@pytest.mark.parametrize("sheet", RAW_SHEETS)
def test_every_infusion_has_observations(sheet: str) -> None:
    # "Deterministic raw observations for all 18 patients x 2 infusions, in the four sheets".
    keys = set(TABLES[sheet][KEY].itertuples(index=False, name=None))
    assert keys == set(RECORDED.index)


@pytest.mark.parametrize("sheet", ["crs_observations", "icans_observations"])
def test_crs_and_icans_are_daily_from_day_0_to_14(sheet: str) -> None:
    days = TABLES[sheet].groupby(KEY)["day"].apply(list)
    assert all(d == [float(x) for x in range(15)] for d in days)


def test_the_build_is_deterministic() -> None:
    again = demo_tables()
    for sheet in RAW_SHEETS:
        pd.testing.assert_frame_equal(again[sheet], TABLES[sheet])


def test_anticytokine_or_antipyretic_is_given_from_some_day_onward() -> None:
    # The column means "given for CRS at or before this time" (yes = for_crs): once yes,
    # it stays yes.
    given = TABLES["crs_observations"]["anticytokine_or_antipyretic"].astype(bool)
    flag = given.groupby([TABLES["crs_observations"][k] for k in KEY])
    assert flag.apply(lambda s: s.is_monotonic_increasing).all()
    # ... and never before CRS began (the first day >= 38.0 C): none is a premedication,
    # which would not waive the fever requirement (ASTCT, Lee et al. 2019).
    crs = TABLES["crs_observations"]
    first_given = crs[given].groupby(KEY)["day"].min()
    first_fever = crs[crs["temperature_c"] >= 38.0].groupby(KEY)["day"].min()
    assert (first_given >= first_fever.reindex(first_given.index)).all()


def test_no_crs_means_no_fever() -> None:
    crs = TABLES["crs_observations"]
    grade0 = RECORDED.index[RECORDED["crs_grade"] == 0]
    rows = crs.set_index(KEY).loc[list(grade0)]
    assert (rows["temperature_c"] < 38.0).all()
    assert not rows["anticytokine_or_antipyretic"].any()
    assert (rows["hypotension"] == "none").all() and (rows["oxygen"] == "room_air").all()


def test_icans_scale_follows_age() -> None:
    # ASTCT consensus: ICE from age 12, CAPD below 12 (age at the infusion).
    icans = TABLES["icans_observations"].merge(TABLES["infusions"][[*KEY, "age_years"]], on=KEY)
    child = icans["age_years"] < 12
    assert icans.loc[child, "capd_score"].notna().all()
    assert icans.loc[child, "ice_score"].isna().all()
    assert icans.loc[~child, "ice_score"].notna().all()
    assert icans.loc[~child, "capd_score"].isna().all()
    assert set(icans.loc[child, "patient_id"]) == {"P04", "P12", "P16"}


# === grades: engine ========================================================================

def test_crs_grade_from_the_observations_equals_the_recorded_grade() -> None:
    graded = grade_crs_observations(TABLES["crs_observations"])
    assert graded["grade"].notna().all()  # every observation is gradable
    worst = _by_infusion(graded.groupby(KEY)["grade"].max().astype(int))
    assert _mismatches(worst, RECORDED["crs_grade"].astype(int)) == []


def test_neurotoxicity_grade_from_the_observations_equals_the_recorded_grade() -> None:
    graded = grade_icans_observations(TABLES["icans_observations"], TABLES["infusions"])
    assert graded["grade"].notna().all()
    worst = _by_infusion(graded.groupby(KEY)["grade"].max().astype(int))
    assert _mismatches(worst, RECORDED["neurotox_grade"].astype(int)) == []


@pytest.mark.parametrize(("patient", "infusion", "grade", "rule"), [
    # Grade 4 by two vasopressors (norepinephrine + epinephrine), and by BiPAP.
    ("P04", 1, 4, "grade 4: multiple vasopressors (excluding vasopressin)"),
    ("P09", 1, 4, "grade 4: positive pressure (CPAP, BiPAP or mechanical ventilation)"),
    # Grade 3 by one vasopressor; by high-flow oxygen; vasopressin does not make it "multiple".
    ("P01", 1, 3, "grade 3: one vasopressor"),
    ("P11", 1, 3, "grade 3: high-flow nasal cannula (> 6 L/min)"),
    ("P13", 1, 3, "grade 3: one vasopressor plus vasopressin (vasopressin does not count "
                  "toward multiple)"),
    # Grade 2 by fluids, and by low-flow oxygen.
    ("P05", 1, 2, "grade 2: hypotension not requiring vasopressors"),
    ("P06", 1, 2, "grade 2: low-flow nasal cannula (<= 6 L/min)"),
    ("P03", 1, 1, "grade 1: fever >= 38.0 C without hypotension or hypoxia"),
])
def test_crs_courses_reach_their_grade_by_varied_routes(patient: str, infusion: int,
                                                         grade: int, rule: str) -> None:
    graded = grade_crs_observations(TABLES["crs_observations"])
    rows = graded[(graded["patient_id"] == patient) & (graded["infusion"] == infusion)]
    worst = rows[rows["grade"] == rows["grade"].max()]
    assert int(worst["grade"].iloc[0]) == grade
    assert worst["rule"].iloc[0] == rule


# === grades: by hand from the definitions =================================================

_OXYGEN_GRADE = {"room_air": 0, "blow_by": 2, "low_flow_nasal_cannula": 2,
                 "high_flow_nasal_cannula": 3, "facemask": 3, "non_rebreather": 3,
                 "venturi": 3, "cpap": 4, "bipap": 4, "mechanical_ventilation": 4}


def test_crs_grade_by_hand() -> None:
    # ASTCT: CRS needs fever >= 38.0 C (not required once antipyretics or anti-cytokine
    # therapy were given); grade = worst of fever (1), fluids (2), one vasopressor with or
    # without vasopressin (3), two or more vasopressors excluding vasopressin (4), and oxygen
    # (low flow <= 6 L/min 2; high flow > 6 L/min, facemask 3; positive pressure 4).
    crs = TABLES["crs_observations"]
    pressors = crs["vasopressors"].astype(int)
    hypotension = np.select(
        [pressors >= 2, (pressors == 1) | crs["vasopressin"].astype(bool),
         crs["hypotension"] == "fluids"], [4, 3, 2], 0)
    oxygen = crs["oxygen"].map(_OXYGEN_GRADE).to_numpy()
    high_rate = (crs["oxygen"] == "low_flow_nasal_cannula") & (crs["oxygen_l_min"] > 6)
    oxygen = np.where(high_rate.to_numpy(dtype=bool), 3, oxygen)
    fever = (crs["temperature_c"] >= 38.0).to_numpy()
    crs_present = fever | crs["anticytokine_or_antipyretic"].astype(bool).to_numpy()
    grade = np.where(crs_present, np.maximum.reduce([fever.astype(int), hypotension, oxygen]),
                     0)
    worst = _by_infusion(pd.Series(grade).groupby([crs[k] for k in KEY]).max())
    assert _mismatches(worst, RECORDED["crs_grade"].astype(int)) == []


def test_icans_grade_by_hand() -> None:
    # ASTCT ICANS (every other domain normal in the demo): ICE 10 = 0, 7-9 = 1, 3-6 = 2;
    # CAPD 0 = 0 below age 12; awakens spontaneously = 1.
    icans = TABLES["icans_observations"]
    assert (icans["capd_score"].dropna() == 0).all()  # the children had no ICANS
    ice = icans["ice_score"].astype("float64")
    score = np.select([ice <= 6, ice <= 9], [2, 1], 0)  # NaN (children): 0
    drowsy = (icans["consciousness"] == "awakens_spontaneously").astype(int).to_numpy()
    grade = np.maximum(score, drowsy)
    worst = _by_infusion(pd.Series(grade).groupby([icans[k] for k in KEY]).max())
    assert _mismatches(worst, RECORDED["neurotox_grade"].astype(int)) == []


# === expansion ==============================================================================

def test_peak_expansion_from_the_blood_counts_equals_the_recorded_peak() -> None:
    metrics = expansion_metrics(TABLES["car_counts"])  # blood, cells/uL, days 0-28
    assert _mismatches(_by_infusion(metrics["cmax"]), RECORDED["peak_car_per_ul"]) == []


def test_blood_curve_is_sampled_on_the_usual_days() -> None:
    counts = TABLES["car_counts"]
    blood = counts[(counts["compartment"] == "blood") & counts["day"].between(0, 28)]
    days = blood.groupby(KEY)["day"].apply(lambda s: sorted(s.astype(int)))
    target = RECORDED["target"]
    for key, observed in days.items():
        early = 3 if target[key] == "CD19" else 4
        assert observed == [0, early, 7, 10, 14, 21, 28], key


def test_the_six_blood_undetectable_cart2_are_zero_throughout() -> None:
    # Demo: P01 P02 P06 P07 P08 P18 have no blood CAR T cells after CART2.
    counts = TABLES["car_counts"]
    blood = counts[(counts["compartment"] == "blood") & (counts["infusion"] == 2)
                   & (counts["day"] >= 0)]
    zero = blood.groupby("patient_id")["value"].max() == 0
    assert sorted(zero.index[zero]) == ["P01", "P02", "P06", "P07", "P08", "P18"]


def test_csf_car_counts_match_csf_car_detected() -> None:
    counts = TABLES["car_counts"]
    csf = counts[counts["compartment"] == "csf"].groupby(KEY)["value"].max() > 0
    lp = RECORDED["csf_lp_done"].astype(bool)
    assert set(csf.index) == set(RECORDED.index[lp])  # a CSF sample exactly when an LP
    recorded = RECORDED.loc[csf.index, "csf_car_detected"].astype(bool)
    assert (csf.to_numpy() == recorded.to_numpy()).all()


def test_car_at_relapse_matches_the_samples_on_the_relapse_day() -> None:
    counts = TABLES["car_counts"]
    relapsed = RECORDED[RECORDED["relapse_date"].notna()]
    for key, row in relapsed.iterrows():
        day = (row["relapse_date"] - row["date"]).days
        samples = counts[(counts["patient_id"] == key[0]) & (counts["infusion"] == key[1])
                         & (counts["day"] == day)]
        assert set(samples["compartment"]) == {"blood", "marrow"}, key
        assert (samples["value"] > 0).all() == bool(row["car_at_relapse"]), key
        assert (samples["value"] > 0).any() == bool(row["car_at_relapse"]), key
    marrow = counts[(counts["compartment"] == "marrow") & (counts["value"] > 0)]
    assert (marrow["value"] > 1.0).all()  # above the seed marrow LOD (0.1 % CD19, 1 % CD22)


def test_residual_car_before_cart2_matches_the_pre_lymphodepletion_sample() -> None:
    counts = TABLES["car_counts"]
    pre = counts[(counts["infusion"] == 2) & (counts["day"] < 0)]
    assert (pre["compartment"] == "blood").all() and len(pre) == 18
    detected = pre.set_index("patient_id")["value"] > 0
    residual = RECORDED.xs(2, level="infusion")["residual_car"].astype(bool)
    assert (detected.sort_index() == residual.sort_index()).all()


# === disease assessments ==================================================================

@pytest.mark.parametrize("column", [
    "pre_marrow_blasts_pct", "pre_marrow_mrd_pct", "pre_csf_wbc_per_ul", "pre_csf_rbc_per_ul",
    "pre_csf_blasts", "pre_csf_flow_positive", "pre_cns_clinical_signs", "pre_emd",
])
def test_pre_infusion_status_equals_the_recorded_status(column: str) -> None:
    # pre_infusion_status: the latest value of each domain within 30 days before infusion.
    assert _mismatches(_by_infusion(PRE[column]), RECORDED[column]) == []


def test_pre_infusion_cns_status_gives_table_2() -> None:
    # Table 2, pre-CART2: CNS1 14, CNS1 with flow+ disease 3, CNS3 1.
    status = _by_infusion(PRE["cns_status"].astype(str)).xs(2, level="infusion")
    assert status.value_counts().to_dict() == {"CNS1": 14, "CNS1 flow+": 3, "CNS3": 1}


def test_best_response_equals_the_recorded_response() -> None:
    derived = _by_infusion(BEST["best_response"].astype(str))
    assert _mismatches(derived, RECORDED["best_response"].astype(str)) == []


def test_mrd_at_best_response_equals_the_recorded_mrd() -> None:
    derived = _by_infusion(BEST["best_response_mrd_pct"])
    assert _mismatches(derived, RECORDED["best_response_mrd_pct"]) == []


def test_response_date_equals_the_recorded_date() -> None:
    days = _by_infusion(BEST["response_day"])
    derived = pd.Series(RECORDED["date"].to_numpy(), index=days.index) + pd.to_timedelta(
        days, unit="D")
    assert _mismatches(derived, RECORDED["response_date"]) == []


def test_relapse_date_and_sites_equal_the_recorded_relapse() -> None:
    days = _by_infusion(RELAPSE["relapse_day"])
    derived = pd.Series(RECORDED["date"].to_numpy(), index=days.index) + pd.to_timedelta(
        days, unit="D")
    assert _mismatches(derived, RECORDED["relapse_date"]) == []
    sites = _by_infusion(RELAPSE["relapse_sites"].astype(object))
    assert _mismatches(sites, RECORDED["relapse_sites"].astype(object)) == []


@pytest.mark.parametrize(("patient", "infusion", "rule"), [
    # P02 CART2: 96 % blasts cannot rise by 25 %; PD is a new extramedullary site.
    ("P02", 2, "PD: new extramedullary disease (a site free of disease before the infusion)"),
    ("P07", 2, "PD: marrow blasts increased by >= 25 % over the pre-infusion value"),
    ("P09", 1, "PR: marrow blasts reduced by >= 50 % from the pre-infusion value, to <= 25 %, "
               "no new extramedullary disease"),
    # P15 CART2: M1 marrow, but EMD persists: not a CR.
    ("P15", 2, "SD: neither CR/CRi, PR nor PD"),
])
def test_response_rules_that_decide(patient: str, infusion: int, rule: str) -> None:
    assert BEST.loc[(patient, infusion), "rule"] == rule


# === validation: no findings, the report's inputs unchanged ===============================

def _validate(tables: dict[str, pd.DataFrame], folder: Path, prefer: str | None = None):  # type: ignore[no-untyped-def]
    write_cohort(tables, folder, overwrite=True)
    return validate(read_raw(folder), prefer=prefer)  # type: ignore[arg-type]


def test_shipped_cohort_has_no_findings() -> None:
    # `reinfuse validate` on the shipped workbook: no finding at all, in particular no
    # derived-differs-from-recorded warning (the test_contract_cohort test reads the CSV too).
    report = validate(read_raw(demo_path("xlsx")))
    assert [(f.rule, f.message) for f in report.findings] == []


@pytest.mark.parametrize("prefer", ["recorded", "derived"])
def test_reconciled_infusions_equal_the_recorded_ones(tmp_path: Path, prefer: str) -> None:
    # The study report reads the reconciled infusions. Whichever value is preferred, they
    # are identical with and without the raw sheets: the report is unchanged. The derived
    # values reported beside them (<column>_derived) equal the recorded ones everywhere.
    full = _validate(TABLES, tmp_path / "full", prefer)
    summary = _validate({k: TABLES[k] for k in ("patients", "infusions")}, tmp_path / "summary",
                        prefer)
    assert full.findings == () and summary.findings == ()
    columns = list(summary.cohort.infusions.columns)
    pd.testing.assert_frame_equal(full.reconciled.infusions[columns], summary.cohort.infusions)
    derived = [c for c in full.reconciled.infusions.columns if c.endswith("_derived")]
    assert {"crs_grade_derived", "neurotox_grade_derived", "peak_car_per_ul_derived",
            "best_response_derived", "response_date_derived"} <= set(derived)
    for column in derived:
        recorded = full.reconciled.infusions[column.removesuffix("_derived")]
        got = full.reconciled.infusions[column]
        known = got.notna().to_numpy(dtype=bool)
        assert known.any(), column
        if column in ("peak_car_per_ul_derived", "best_response_mrd_pct_derived") or \
                column.startswith(("pre_marrow", "pre_csf_wbc", "pre_csf_rbc")):
            assert np.allclose(got[known].astype(float), recorded[known].astype(float)), column
        else:
            assert (got[known].astype(str) == recorded[known].astype(str)).all(), column


# === deliberate disagreements =============================================================

def _row(frame: pd.DataFrame, patient: str, infusion: int, day: float | None = None,
         compartment: str | None = None) -> int:
    """Index of the one matching row; its spreadsheet row is this + 2 (header = row 1)."""
    mask = (frame["patient_id"] == patient) & (frame["infusion"] == infusion)
    if day is not None:
        mask &= frame["day"] == day
    if compartment is not None:
        mask &= frame["compartment"] == compartment
    (index,) = frame.index[mask.to_numpy(dtype=bool)]
    return int(index)


def _changed() -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The demo with five raw observations changed, and the spreadsheet rows that decide."""
    tables = {name: frame.copy() for name, frame in TABLES.items()}
    rows: dict[str, int] = {}
    # P01 CART1, recorded CRS grade 3: a second vasopressor on day 4 (norepinephrine +
    # epinephrine). ASTCT: multiple vasopressors (excluding vasopressin) = grade 4.
    crs = tables["crs_observations"]
    i = _row(crs, "P01", 1, 4.0)
    assert (crs.at[i, "hypotension"], crs.at[i, "vasopressors"]) == ("vasopressors", 1)
    crs.at[i, "vasopressors"] = 2
    rows["crs"] = i + 2
    # P09 CART2, recorded neurotoxicity grade 1: ICE 9 -> 5 on day 6. ICE 3-6 = ICANS 2.
    icans = tables["icans_observations"]
    i = _row(icans, "P09", 2, 6.0)
    assert icans.at[i, "ice_score"] == 9
    icans.at[i, "ice_score"] = 5
    rows["icans"] = i + 2
    # P12 CART2, recorded CR: platelets 60 x 10^9/L at the day-28 marrow. CR needs count
    # recovery (ANC >= 1.0, platelets >= 100); without it, CRi.
    assessments = tables["disease_assessments"]
    i = _row(assessments, "P12", 2, 28.0)
    assert assessments.at[i, "platelets"] >= 100
    assessments.at[i, "platelets"] = 60.0
    rows["response"] = i + 2
    # P10 CART2, recorded peak 6.68 cells/uL on day 14: 9.9 cells/uL on day 10 makes the
    # highest value of days 0-28 (Cmax) 9.9, on day 10.
    counts = tables["car_counts"]
    i = _row(counts, "P10", 2, 10.0, "blood")
    assert counts.at[i, "value"] < 6.68
    counts.at[i, "value"] = 9.9
    rows["peak"] = i + 2
    # P16 CART2, recorded relapse on day 320: 8 % blasts in the day-90 remission marrow.
    # Relapse after CR = marrow blasts > 5 %: the relapse is on day 90.
    i = _row(assessments, "P16", 2, 90.0)
    assert assessments.at[i, "marrow_blasts_pct"] < 5
    assessments.at[i, "marrow_blasts_pct"] = 8.0
    assessments.at[i, "mrd_pct"] = 7.0
    rows["relapse"] = i + 2
    return tables, rows


def _infusion_row(patient: str, infusion: int) -> int:
    return _row(TABLES["infusions"], patient, infusion) + 2


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tables, rows = _changed()
    folder = tmp_path_factory.mktemp("changed")
    derived = _validate(tables, folder / "derived", prefer="derived")
    recorded = _validate(tables, folder / "recorded")  # the default: recorded values stand
    return derived, recorded, rows


def _expected(rows: dict[str, int]) -> list[tuple[str, int, str, str, str, str]]:
    """(sheet, row, column, recorded, derived, the deciding observation in the message)."""
    return [
        ("infusions", _infusion_row("P01", 1), "crs_grade", "3", "4",
         f"(day 4: grade 4: multiple vasopressors (excluding vasopressin); crs_observations "
         f"row {rows['crs']})"),
        ("infusions", _infusion_row("P09", 2), "neurotox_grade", "1", "2",
         f"(day 6: grade 2: ICE score 3-6 (age >= 12); icans_observations row "
         f"{rows['icans']})"),
        ("infusions", _infusion_row("P10", 2), "peak_car_per_ul", "6.68", "9.9",
         f"(peak of 7 blood counts on days 0-28, on day 10; car_counts row {rows['peak']})"),
        ("infusions", _infusion_row("P12", 2), "best_response", "CR", "CRi",
         "(assessment on day 28: CRi: marrow blasts < 5 %, no extramedullary disease or "
         "circulating blasts, without count recovery (ANC < 1 or platelets < 100); "
         f"disease_assessments row {rows['response']})"),
        ("infusions", _infusion_row("P16", 2), "relapse_date", "2019-10-27", "2019-03-11",
         f"(first assessment with relapse after CR: day 90; disease_assessments row "
         f"{rows['relapse']})"),
    ]


def test_disagreements_give_exactly_these_warnings(changed) -> None:  # type: ignore[no-untyped-def]
    derived, _, rows = changed
    assert derived.ok and derived.errors == []
    warnings = [f for f in derived.findings if f.rule == "derived-differs-from-recorded"]
    assert len(warnings) == len(derived.findings)  # nothing else
    got = sorted((f.sheet, f.row, f.column, f.value, f.expected) for f in warnings)
    expected = _expected(rows)
    assert got == sorted(e[:5] for e in expected)
    by_column = {f.column: f for f in warnings}
    for sheet, row, column, value, derived_value, because in expected:
        finding = by_column[column]
        assert finding.severity == "warning"
        assert "recorded" in finding.message and because in finding.message, finding.message
        assert finding.message.endswith("the derived value is used."), finding.message
        assert (sheet, row, value, derived_value) == (
            finding.sheet, finding.row, finding.value, finding.expected)


def test_prefer_derived_uses_the_derived_values(changed) -> None:  # type: ignore[no-untyped-def]
    # Every change makes the derived value higher (CRS 4, ICANS 2, peak 9.9), a response
    # seen at the recorded response date (CRi, day 28), or an earlier relapse: applied.
    infusions = changed[0].reconciled.infusions.set_index(KEY)
    assert infusions.at[("P01", 1), "crs_grade"] == 4
    assert infusions.at[("P09", 2), "neurotox_grade"] == 2
    assert infusions.at[("P10", 2), "peak_car_per_ul"] == pytest.approx(9.9)
    assert infusions.at[("P12", 2), "best_response"] == "CRi"
    # P16 CART2 was given on 2018-12-11; + 90 days = 2019-03-11.
    assert infusions.at[("P16", 2), "relapse_date"] == pd.Timestamp("2019-03-11")
    # Validation lists the disagreements but keeps the recorded values (the derive stage
    # reconciles; issue 9): P01's recorded CRS grade is 3 in the demo's infusions sheet.
    assert changed[0].cohort.infusions.set_index(KEY).at[("P01", 1), "crs_grade"] == 3
    assert "crs_grade_derived" not in changed[0].cohort.infusions


def test_recorded_values_are_kept_by_default(changed) -> None:  # type: ignore[no-untyped-def]
    recorded = changed[1]
    warnings = [f for f in recorded.findings if f.rule == "derived-differs-from-recorded"]
    assert len(warnings) == 5
    assert all(f.message.endswith("the recorded value is used.") for f in warnings)
    infusions = recorded.reconciled.infusions.set_index(KEY)
    assert infusions.at[("P01", 1), "crs_grade"] == 3
    assert infusions.at[("P09", 2), "neurotox_grade"] == 1
    assert infusions.at[("P10", 2), "peak_car_per_ul"] == pytest.approx(6.68)
    assert infusions.at[("P12", 2), "best_response"] == "CR"
    assert infusions.at[("P16", 2), "relapse_date"] == pd.Timestamp("2019-10-27")
    # the derived values are beside them
    assert infusions.at[("P01", 1), "crs_grade_derived"] == 4
    assert infusions.at[("P12", 2), "best_response_derived"] == "CRi"
    # and everything else is the recorded infusions sheet
    columns = list(TABLES["infusions"].columns)
    pd.testing.assert_frame_equal(recorded.reconciled.infusions[columns], TABLES["infusions"],
                                  check_dtype=False)
