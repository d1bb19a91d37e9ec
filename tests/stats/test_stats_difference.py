"""Difference of two proportions (Newcombe): inputs checked like the other functions."""

from __future__ import annotations

import pytest

from reinfuse.errors import StatisticsError
from reinfuse.stats import proportion_difference


def test_newcombe_published_example() -> None:
    # Newcombe, Stat Med 1998;17:873-890, Table II, method 10: 56/70 vs 48/80 gives
    # 0.2000 (95% CI 0.0524 to 0.3339).
    r = proportion_difference(56, 70, 48, 80)
    assert (round(r.ci_low, 4), round(r.ci_high, 4)) == (0.0524, 0.3339)


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, "0.95", True])
def test_confidence_level_refused(level: object) -> None:
    with pytest.raises(StatisticsError, match="confidence_level must be a number strictly"):
        proportion_difference(5, 10, 3, 10, confidence_level=level)  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "message"), [
    ((2.5, 10, 3, 10), "k1 must be a whole number of subjects; got 2.5"),
    ((2, 10, True, 10), "k2 must be a whole number; got True"),
    ((2, "10", 3, 10), "n1 must be a whole number; got '10'"),
    ((-1, 10, 3, 10), "k1 must not be negative"),
    ((11, 10, 3, 10), "0 <= k <= n and n > 0"),
    ((0, 0, 3, 10), "0 <= k <= n and n > 0"),
])
def test_counts_refused(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(StatisticsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        proportion_difference(*args)  # type: ignore[arg-type]


def test_whole_floats_accepted() -> None:
    # 5.0 of 10.0 is the same count as 5 of 10 (pandas sums come back as floats).
    assert proportion_difference(5.0, 10.0, 3, 10).difference == pytest.approx(0.2)  # type: ignore[arg-type]
