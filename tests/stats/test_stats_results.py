"""Result objects: frozen, JSON-serialisable, public API as documented."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import reinfuse.stats as rs

RESULTS: list[Any] = [
    rs.wilcoxon_signed_rank([12, 14, 45, 35, 22, 24, 29, 11], [11, 15, 36, 23, 37, 16, 19, 7]),
    rs.wilcoxon_signed_rank([1.0, 2.0, 3.0]),
    rs.mann_whitney_u([0, 0, 1.2, 5.4], [0, 0.5, 0, 0, 2]),
    rs.fisher_exact([[3, 1], [1, 3]], conditional_odds_ratio=True),
    rs.fisher_exact([[0, 4], [3, 0]]),
    rs.fisher_exact([[3, 2, 1], [1, 4, 7]]),
    rs.chi_square([[3, 1], [1, 3]]),
    rs.mcnemar([[5, 1], [6, 6]]),
    rs.median_range([1, 2, None]),
    rs.median_iqr([1, 2, 3, 4]),
    rs.proportion(7, 18),
    rs.median_ci(range(20)),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: type(r).__name__)
def test_to_dict_is_plain_json(result: Any) -> None:
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)  # strict JSON: no NaN / Infinity
    assert json.loads(text) == data

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (int, float, str, bool)

    assert plain(data)
    assert data["method"] and isinstance(data["method"], str)
    assert data["n"] == result.n


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: type(r).__name__)
def test_results_are_frozen(result: Any) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.method = "changed"


def test_tests_have_statistic_and_pvalue() -> None:
    for result in RESULTS[:8]:
        assert isinstance(result.statistic, float)
        assert 0.0 <= result.pvalue <= 1.0


def test_infinite_odds_ratio_becomes_none_in_json() -> None:
    r = rs.fisher_exact([[4, 0], [0, 3]])
    assert r.odds_ratio == float("inf")
    assert r.to_dict()["odds_ratio"] is None


def test_public_api() -> None:
    for name in rs.__all__:
        assert hasattr(rs, name), name
    functions = {
        "wilcoxon_signed_rank",
        "mann_whitney_u",
        "fisher_exact",
        "chi_square",
        "mcnemar",
        "median_range",
        "median_iqr",
        "proportion",
        "median_ci",
    }
    assert functions <= set(rs.__all__)
