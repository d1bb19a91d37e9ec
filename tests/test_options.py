"""The centre's definitions (``[plan.derive]``): parsed with every problem at once."""

from __future__ import annotations

import pytest

from reinfuse.errors import PlanError
from reinfuse.options import DeriveOptions
from reinfuse.plan import default_plan_text, parse_plan


def _plan(derive: str) -> str:
    text = default_plan_text()
    return text.replace("[abbreviations]", "[plan.derive]\n" + derive + "\n\n[abbreviations]", 1)


def test_plan_sets_window_and_prefer() -> None:
    assert parse_plan(_plan("")).derive_options().prefer == "recorded"  # the default
    plan = parse_plan(_plan('observation_window_days = [0, 28]\nprefer = "derived"'))
    options = plan.derive_options()
    assert options.observation_window_days == (0, 28)
    assert options.prefer == "derived"
    # The command line's --prefer wins over the plan's.
    assert plan.derive_options(prefer="recorded").prefer == "recorded"
    assert options.to_dict()["observation_window_days"] == [0, 28]


def test_every_problem_listed_at_once() -> None:
    plan = parse_plan(_plan('censor_at_hst = false\nprefer = "newest"\n'
                            'mrd_negative_below = "0.01"\nobservation_window_days = [30]'))
    with pytest.raises(PlanError) as info:
        plan.derive_options()
    message = str(info.value)
    assert "unknown option 'censor_at_hst' (did you mean 'censor_at_hsct'?)" in message
    assert "'prefer' is 'newest'; allowed: recorded, derived" in message
    assert "'mrd_negative_below' must be a number, got '0.01'" in message
    assert "'observation_window_days' must be a list of 2 values" in message


@pytest.mark.parametrize(("window", "ok"), [((0, 30), True), ((3, 3), True), ((5, 2), False),
                                            ((-1, 30), False)])
def test_window_must_be_ordered_days(window: tuple[float, float], ok: bool) -> None:
    if ok:
        assert DeriveOptions(observation_window_days=window).observation_window_days == window
    else:
        with pytest.raises(PlanError, match="0 <= first <= last"):
            DeriveOptions(observation_window_days=window)


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(PlanError, match="'dose_tolerance' must be a number, got True"):
        DeriveOptions.from_mapping({"dose_tolerance": True})


def test_every_option_documented_and_the_docs_table_current() -> None:
    # docs/analysis-plan.md carries the table generated from DeriveOptions' docstring, so a
    # new option cannot go undocumented (regenerate with `python -m reinfuse.options`).
    import dataclasses
    from pathlib import Path

    from reinfuse.options import _attribute_docs, options_markdown

    described = _attribute_docs()
    assert {f.name for f in dataclasses.fields(DeriveOptions)} == set(described)
    assert all(described.values())
    docs = (Path(__file__).parents[1] / "docs" / "analysis-plan.md").read_text(encoding="utf-8")
    assert options_markdown() in docs
