"""The pipeline's stage contracts (issue 9): numbers-only Results printed at render time,
figures drawn from the analysis's estimates, tidy tables, and the public API.

Reference values are the seed study's published figures (shared reference
``cart2-reinfusion-study.txt``) and the journal styles' rules in docs/styles.md.
"""

from __future__ import annotations

import pandas as pd
import pytest

import reinfuse
from reinfuse import pipeline
from reinfuse.demo import demo_analysis, demo_plan
from reinfuse.figures import make_figure
from reinfuse.report._format import format_results
from reinfuse.style import get_style

NUMBERS = ["estimate", "numerator", "denominator", "n", "n_missing", "ci_low", "ci_high"]


@pytest.fixture(scope="module")
def results() -> reinfuse.Results:
    return pipeline.analyze(demo_analysis(), demo_plan())


def test_the_style_prints_numbers_it_does_not_compute_them(results: reinfuse.Results) -> None:
    # The analysis has no printed text; each style prints the same numbers.
    assert all(t == "" for t in results.to_frame()["text"])
    seed = format_results(results, get_style("seed"))
    jama = format_results(results, get_style("jama"))
    pd.testing.assert_frame_equal(seed.to_frame()[NUMBERS], jama.to_frame()[NUMBERS])
    assert seed.comparisons[0].pvalue == jama.comparisons[0].pvalue
    # Table 1 of the paper: "Age at CART1 ... 18.5 (7–30)", a median (range); JAMA prints
    # stat = "median" rows as median (IQR) (docs/styles.md), and says so in the label.
    age = next(r for r in seed.table("table1").rows if r.label.startswith("Age at CART1"))
    assert age.label == "Age at CART1, median (range), years"
    assert age.cells[0] is not None and age.cells[0].text == "18.5 (7–30)"
    age_jama = next(r for r in jama.table("table1").rows if r.label.startswith("Age at CART1"))
    assert age_jama.label == "Age at CART1, median (IQR), years"
    assert age_jama.cells[0] is not None and age_jama.cells[0].stat == "median_iqr"


def test_table_to_frame_is_tidy(results: reinfuse.Results) -> None:
    frame = format_results(results, get_style("seed")).table("table1").to_frame()
    assert list(frame.columns) == ["table", "row", "column", "stat", "estimate", "numerator",
                                   "denominator", "n", "n_missing", "ci_low", "ci_high", "p",
                                   "ci_method", "text"]
    male = frame.loc[frame["row"] == "Sex, n (%) / Male"].iloc[0]
    # Table 1 of the paper: male 16 (88.9) of 18.
    assert (male["numerator"], male["denominator"], male["n_missing"]) == (16, 18, 0)
    assert male["estimate"] == pytest.approx(16 / 18) and male["text"] == "16 (88.9)"
    assert frame["table"].eq("table1").all() and frame["p"].isna().all()


def test_kaplan_meier_figure_draws_the_analysis_estimates(
        results: reinfuse.Results, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    km = importlib.import_module("reinfuse.stats")  # the fits call its kaplan_meier

    spec = next(f for f in demo_plan().figures if f.kind == "kaplan_meier")
    estimates = results.figure_estimates[spec.id]

    def no_estimation(*args: object, **kwargs: object) -> None:  # pragma: no cover
        raise AssertionError("the figure estimated again")

    monkeypatch.setattr(km, "kaplan_meier", no_estimation)
    population = demo_analysis().frame
    figure = make_figure(population[population["n_infusions"] >= 2], spec,
                         demo_plan().infusion_labels, estimates)
    drawn = figure.data["curves"]
    assert [c["n"] for c in drawn] == [fit.n for _, _, fit in estimates.curves]
    assert [c["median"] for c in drawn] == [fit.median for _, _, fit in estimates.curves]


def test_public_api_names_the_stages_and_types() -> None:
    for name in ("read", "validate", "derive", "analyze", "render", "Study", "Results",
                 "TableResult", "AnalysisFrame", "Cohort", "RawCohort", "ValidationReport"):
        assert name in reinfuse.__all__
        assert getattr(reinfuse, name) is not None
    assert reinfuse.derive is pipeline.derive and reinfuse.render is pipeline.render
    with pytest.raises(AttributeError):
        _ = reinfuse.not_a_name  # type: ignore[attr-defined]


def test_import_reinfuse_stays_light() -> None:
    """``import reinfuse`` loads neither SciPy's statistics nor matplotlib nor the flow
    package: they load when a statistic, a figure or an FCS file needs them (a fresh
    interpreter, so that other tests' imports do not count)."""
    import subprocess
    import sys

    code = ("import sys, reinfuse; print(sorted(m for m in ('scipy.stats', 'matplotlib', "
            "'reinfuse.stats', 'reinfuse.flow', 'lifelines') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
