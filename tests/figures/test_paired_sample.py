"""Paired figures above ``max_pairs`` (issue 9): a seeded sample drawn, summaries of all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection

from reinfuse.errors import PlanError
from reinfuse.figures import make_figure
from reinfuse.plan import FigureSpec

LABELS = {1: "CART1", 2: "CART2"}


def pairs_frame(n: int) -> pd.DataFrame:
    """``n`` patients with two infusions; values 1..n before infusion 1, 10x before 2."""
    ids = [f"P{i:04d}" for i in range(n)]
    first = np.arange(1, n + 1, dtype=float)
    return pd.DataFrame({
        "patient_id": ids * 2, "infusion": [1] * n + [2] * n,
        "target": pd.Series(["CD19"] * (2 * n), dtype="string"),
        "abc_cd19_pre": np.concatenate([first, 10 * first]),
        "abc_cd22_pre": np.nan,
        "peak_car_per_ul": np.concatenate([first, 10 * first]),
        "objective_response": pd.Series([True] * (2 * n), dtype="boolean"),
        "ld_class": pd.Series(["standard"] * (2 * n), dtype="string"),
    })


def figure(kind: str, n: int, **params: object):  # type: ignore[no-untyped-def]
    params = {"variable": "abc_cd19_pre", **params} if kind == "paired_values" else params
    spec = FigureSpec(id="f", kind=kind, title="t", caption="Caption.", params=params)
    return make_figure(pairs_frame(n), spec, LABELS)


@pytest.mark.parametrize("kind", ["paired_values", "paired_expansion"])
def test_above_max_pairs_a_sample_is_drawn_and_the_caption_says_so(kind: str) -> None:
    result = figure(kind, 41, max_pairs=10)
    lines = [c for ax in result.figure.axes for c in ax.collections
             if isinstance(c, LineCollection) and len(c.get_segments()) == 10]
    assert lines, "one line per sampled pair: 10 of the 41"
    assert result.data["sample"]["shown"] == 10
    assert result.data["n_pairs"] == 41  # the counts stay those of all pairs
    assert "a random sample of 10 of the 41 pairs (seed 2026)" in result.caption
    assert result.caption.startswith("Caption.")


def test_sample_medians_are_of_all_pairs() -> None:
    # Values 1..41 before infusion 1: the median of all 41 is 21 (by hand), whatever the
    # sample; 10x before infusion 2: 210.
    result = figure("paired_values", 41, max_pairs=10)
    texts = [t.get_text() for ax in result.figure.axes for t in ax.texts]
    assert "21" in texts and "210" in texts


def test_at_or_below_max_pairs_every_pair_is_drawn_and_caption_unchanged() -> None:
    result = figure("paired_values", 10, max_pairs=10)
    assert "sample" not in result.data
    assert result.caption == "Caption."


def test_max_pairs_must_be_a_count() -> None:
    with pytest.raises(PlanError, match="max_pairs"):
        figure("paired_values", 5, max_pairs=0)
