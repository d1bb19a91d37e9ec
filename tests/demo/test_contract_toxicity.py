"""The demo cohort contract: toxicity (CRS and neurotoxicity).

Each test computes a published figure of the seed study from ``demo_tables()`` with pandas /
scipy and cites what it checks; the shared data, helpers and conventions are in
``tests/demo/_contract.py`` (split from the former test_demo_contract.py by paper section).
"""

from __future__ import annotations

import pytest
from tests.demo._contract import C1, C2, INFUSIONS, pct

# === Toxicity ============================================================================

@pytest.mark.parametrize(("infusion", "label", "mask", "count", "percent"), [
    # "Fifteen (83.3%) patients had CRS with CART1, with 5 (27.8%) experiencing severe
    # (>=grade 3) CRS"; "The majority (n=14, 77.8%) did not develop CRS with CART2";
    # "Maximum CRS grade 1 was observed in four patients (22.2%)".
    (1, "any CRS", lambda g: g >= 1, 15, 83.3),
    (1, "CRS >= 3", lambda g: g >= 3, 5, 27.8),
    (2, "no CRS", lambda g: g == 0, 14, 77.8),
    (2, "max grade 1", lambda g: g == 1, 4, 22.2),
])
def test_crs(infusion: int, label: str, mask: object, count: int, percent: float) -> None:
    grades = (C1 if infusion == 1 else C2)["crs_grade"]
    n = int(mask(grades).sum())  # type: ignore[operator]
    assert (n, pct(n)) == (count, percent), label
    if infusion == 2:
        assert grades.max() == 1


def test_neurotoxicity() -> None:
    # "Four of 18 (22.2%) had neurotoxicity following CART1, while 2 (11.1%) had
    # neurotoxicity with CART2 ... all of which were mild (grade 1 or grade 2) ... Of four
    # patients with CART1-associated neurotoxicity, only one subsequently experienced
    # neurotoxicity with CART2."
    n1 = C1["neurotox_grade"] >= 1
    n2 = C2["neurotox_grade"] >= 1
    assert (int(n1.sum()), pct(int(n1.sum()))) == (4, 22.2)
    assert (int(n2.sum()), pct(int(n2.sum()))) == (2, 11.1)
    assert INFUSIONS["neurotox_grade"].max() <= 2
    assert int((n1 & n2).sum()) == 1
