"""The variable registry (reinfuse.variables): derive's columns, endpoints, docs, plan names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reinfuse import variables
from reinfuse.cohort import Cohort
from reinfuse.derive import _time_to_event, derive
from reinfuse.errors import InternalError
from reinfuse.io.write import write_cohort
from reinfuse.options import DeriveOptions
from reinfuse.report._text import definition_clauses
from reinfuse.synth import synth_cohort
from reinfuse.validate import load_cohort
from reinfuse.variables import (
    DERIVED,
    ENDPOINT_DATES,
    ENDPOINTS,
    RECONCILED,
    frame_names,
    frame_problems,
    registry,
    variables_markdown,
)

DOCS = Path(__file__).parents[1] / "docs" / "derived-variables.md"


@pytest.fixture(scope="module")
def demo_cohort() -> Cohort:
    from reinfuse.demo import demo_path

    return load_cohort(demo_path())


def test_demo_frame_is_exactly_the_registry(demo_cohort: Cohort) -> None:
    # The demo has every optional column and all four raw sheets: the frame holds every
    # declared column, nothing else, each of its declared dtype family. Only the antigen
    # pairs are absent: they come from FCS files the demo does not ship (their frame is
    # checked in tests/flow/test_measure.py).
    frame = derive(demo_cohort)
    assert frame_problems(frame) == []
    antigen = {f"{c}_derived{s}" for c in variables.RECONCILED["antigen_samples"]
               for s in ("", "_from")}
    assert sorted(frame.columns) == sorted(set(frame_names()) - antigen)
    derived = [c for c in frame.columns if variables.variable(c).origin == "derived"]
    assert derived == [v.name for v in DERIVED]  # declared in derive's order


def test_synthetic_frame_matches_the_registry(tmp_path: Path) -> None:
    # A synthetic cohort read back through validation: no raw sheets (so no
    # reconciliation pairs), no hsct_date / neurotox_scale columns.
    path = write_cohort(synth_cohort(40, seed=3), tmp_path / "synth", overwrite=False)
    frame = derive(load_cohort(path))
    assert frame_problems(frame) == []
    expected = {v.name for v in registry() if v.always}
    optional = set(frame.columns) - expected
    assert optional <= {c.name for c in registry() if c.origin == "input"}
    assert not any(c.endswith(("_derived", "_derived_from")) for c in frame.columns)


def test_derive_refuses_a_frame_the_registry_does_not_declare(
        demo_cohort: Cohort, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tuple(dataclasses.replace(v, dtype="float") if v.name == "n_infusions" else v
                  for v in DERIVED if v.name != "seed_reason")
    monkeypatch.setattr(variables, "DERIVED", wrong)
    with pytest.raises(InternalError) as caught:
        derive(demo_cohort)
    message = str(caught.value)
    assert "'n_infusions' is Int64 (integer), declared float" in message
    assert "column 'seed_reason' is not declared" in message  # all problems at once


def test_declarations_are_consistent() -> None:
    names = [v.name for v in registry()]
    assert len(names) == len(set(names))
    options = {f.name for f in dataclasses.fields(DeriveOptions)}
    known = set(names) | set(RECONCILED)
    for item in registry():
        assert set(item.options) <= options, item.name
        assert set(item.depends_on) <= known, item.name
    assert variables._unlisted_options() == []  # every option has a place in the docs
    dates = {d.name for d in ENDPOINT_DATES}
    for endpoint in ENDPOINTS.values():
        for source in endpoint.events + endpoint.censors:
            assert source.date in dates
            assert source.option is None or source.option in options


def test_docs_page_is_generated_from_the_registry() -> None:
    assert DOCS.read_text(encoding="utf-8") == variables_markdown(), (
        "docs/derived-variables.md is out of date: run "
        "`python -m reinfuse.variables > docs/derived-variables.md`")


def _day(days: float) -> pd.Timestamp:
    return pd.NaT if np.isnan(days) else pd.Timestamp("2020-01-01") + pd.Timedelta(days=days)


# Vignettes worked by hand from the definitions (clinical-definitions "Response": duration
# of remission from first CR to relapse, censored at last follow-up; EFS with no CR an
# event at day 0, then relapse or death; OS to death from any cause). Every infusion is on
# day 0 and every response on day 30. Columns: CR, relapse, death, last contact (alive),
# HSCT, next infusion; then the expected (remission days, event), (EFS days, event),
# (OS days, event) with the default options (censored at HSCT and at the next infusion).
N = np.nan
VIGNETTES = {
    # relapse before last contact: an event 70 days after the CR, 100 after the infusion
    "relapse": (True, 100, N, 200, N, N, (70, True), (100, True), (200, False)),
    # relapse after the next infusion: censored there; OS is not censored at it
    "next infusion first": (True, 180, N, 400, N, 150, (120, False), (150, False),
                            (400, False)),
    # relapse on the day of the transplant: the event wins the tie
    "tie with HSCT": (True, 90, N, 300, 90, N, (60, True), (90, True), (300, False)),
    # nothing dated after the infusion: unknown, never censored at day 0
    "no dates": (True, N, N, N, N, N, (N, None), (N, None), (N, None)),
    # no CR: outside the remission population, an EFS event at day 0
    "no CR": (False, N, 50, N, N, N, (N, None), (0, True), (50, True)),
    # death in CR: censors remission, an event of EFS and OS
    "death in CR": (True, N, 60, N, 200, N, (30, False), (60, True), (60, True)),
    # unknown response: neither failure nor CR, followed to last contact
    "response unknown": (None, N, N, 100, N, N, (N, None), (100, False), (100, False)),
}


def _vignette_frame() -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    rows = list(VIGNETTES.values())
    cr = pd.Series([r[0] for r in rows], dtype="boolean")
    frame = pd.DataFrame({"date": [_day(0)] * len(rows),
                          "response_date": [_day(30)] * len(rows),
                          "complete_response": cr, "not_in_cr": ~cr})
    dates = {"infusion": frame["date"], "response": frame["response_date"]}
    for i, name in enumerate(("relapse", "death", "last_contact", "hsct", "next_infusion")):
        dates[name] = pd.Series([_day(r[i + 1]) for r in rows], dtype="datetime64[ns]")
    return frame, dates


@pytest.mark.parametrize(("endpoint", "at"), [("remission", 6), ("efs", 7), ("os", 8)])
def test_endpoints_on_hand_worked_vignettes(endpoint: str, at: int) -> None:
    frame, dates = _vignette_frame()
    declared = ENDPOINTS[endpoint]
    _time_to_event(frame, declared, dates, DeriveOptions())
    for i, (name, row) in enumerate(VIGNETTES.items()):
        days, event = row[at]
        got_days, got_event = frame[declared.time].iloc[i], frame[declared.event].iloc[i]
        assert (np.isnan(got_days) if np.isnan(days) else got_days == days), name
        assert (pd.isna(got_event) if event is None else got_event == event), name


def test_options_switch_the_censoring_and_the_sentence_together() -> None:
    frame, dates = _vignette_frame()
    off = DeriveOptions(censor_at_next_infusion=False, censor_at_hsct=False)
    _time_to_event(frame, ENDPOINTS["remission"], dates, off)
    # By hand: without censoring at the next infusion the relapse on day 180 counts
    # (150 days after the CR on day 30).
    assert frame["remission_days"].iloc[1] == 150
    assert bool(frame["remission_event"].iloc[1])
    assert ENDPOINTS["remission"].sentence(off) == (
        "duration of remission from the first documented CR to relapse, censored at death "
        "or last follow-up, whichever came first")
    for hsct in (True, False):
        for nxt in (True, False):
            options = DeriveOptions(censor_at_hsct=hsct, censor_at_next_infusion=nxt)
            for name in ("remission", "efs"):
                text = ENDPOINTS[name].sentence(options)
                assert ("HSCT" in text) is hsct
                assert ("next infusion" in text) is nxt


def test_methods_definitions_follow_the_declared_topics() -> None:
    options = DeriveOptions(censor_at_next_infusion=False)
    clauses = definition_clauses(options, {"remission_days", "remission_event"})
    assert ENDPOINTS["remission"].sentence(options) in clauses
    assert not any("event-free" in c or "CRS" in c for c in clauses)
    assert any(c.startswith("CRS graded") for c in definition_clauses(options, {"crs_any"}))
    assert definition_clauses(options, {"patient_id", "sex"}) == []


def test_plan_check_takes_the_registry_names() -> None:
    # A reconciliation column (only present with raw sheets) is a valid plan variable; a
    # misspelt derived one is refused with the closest declared name.
    from reinfuse.analyze import plan_problems
    from reinfuse.plan import default_plan_text, parse_plan

    text = default_plan_text().replace('variable = "age_years"', 'variable = "crs_grade_derived"',
                                       1).replace('variable = "ld_pair"', 'variable = "ld_pairs"')
    problems = plan_problems(parse_plan(text), frame_names())
    assert len(problems) == 1
    assert "unknown variable 'ld_pairs' (did you mean 'ld_pair'?)" in problems[0]
