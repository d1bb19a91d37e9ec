"""Issue 12's result objects: frozen, JSON-serialisable, exported once in __all__."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import reinfuse.stats as rs

HW = {"a": [2.9, 3.0, 2.5, 2.6], "b": [3.8, 2.7, 4.0], "c": [2.8, 3.4, 3.7, 2.2]}
TIME = [15, 30, 30, 45, 60, 90, 90, 120, 150, 200]
CODE = [1, 1, 3, 2, 0, 1, 0, 3, 1, 0]
GROUP = ["x", "y"] * 5

RESULTS: list[Any] = [
    rs.kaplan_meier_by_group(TIME, [min(c, 1) for c in CODE], GROUP, at_risk_times=[0, 50]),
    rs.logrank_test_groups(TIME, [min(c, 1) for c in CODE], GROUP),
    rs.cumulative_incidence(TIME, CODE, causes={1: "relapse", 2: "death", 3: "transplant"},
                            event_of_interest=1, groups=GROUP, times=[100, 500]),
    rs.landmark(TIME, CODE, at=28),
    rs.kruskal_wallis(HW),
    rs.kruskal_wallis(HW, method="monte-carlo", draws=500),
    rs.dunn_test(HW),
    rs.jonckheere_terpstra(HW),
    rs.cliffs_delta([1, 2, 3], [2, 4]),
    rs.rank_biserial([1, 2, 3], [2, 4]),
    rs.cramers_v([[3, 4], [5, 1]], bias_correction=True),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: type(r).__name__)
def test_to_dict_is_plain_json_and_frozen(result: Any) -> None:
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert json.loads(text)
    assert "method" in result.to_dict() and result.method
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)


def test_new_names_are_public() -> None:
    for name in ["kaplan_meier_by_group", "logrank_test_groups", "cox_regression",
                 "cumulative_incidence", "landmark", "kruskal_wallis", "dunn_test",
                 "jonckheere_terpstra", "cliffs_delta", "rank_biserial", "cramers_v",
                 "indicator_columns"]:
        assert name in rs.__all__ and callable(getattr(rs, name))
