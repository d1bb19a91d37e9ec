"""Marrow morphology and MRD: truth tables.

Boundaries from the seed study's Table 2 legend and clinical-definitions.md ("Bone marrow,
CNS and MRD status"): M1 < 5 %, M2 5-25 % inclusive, M3 > 25 %; MRD-negative < 0.01 %.
"""

from __future__ import annotations

from typing import Any

import pytest

from reinfuse.criteria import CriteriaError, marrow_class, morphology_class, mrd_negative


@pytest.mark.parametrize(
    ("blasts", "expected"),
    [
        pytest.param(0, "M1", id="M1: no blasts"),
        pytest.param(4.99, "M1", id="M1: 4.99% is < 5%"),
        pytest.param(5, "M2", id="M2: 5% is M2 (5-25% inclusive)"),
        pytest.param(5 - 1e-12, "M2", id="M2: rounding noise just below 5% counts as 5%"),
        pytest.param(7 / 140 * 100, "M2", id="M2: 7 of 140 cells = 5%"),
        pytest.param(25, "M2", id="M2: 25% is M2 (inclusive)"),
        pytest.param(25.01, "M3", id="M3: 25.01% is > 25%"),
        pytest.param(25.1, "M3", id="M3: 25.1% is > 25%"),
        pytest.param(100, "M3", id="M3: 100%"),
        pytest.param(None, None, id="missing blasts -> missing"),
        pytest.param(float("nan"), None, id="NaN blasts -> missing"),
    ],
)
def test_morphology_class(blasts: Any, expected: str | None) -> None:
    assert morphology_class(blasts) == expected


@pytest.mark.parametrize(
    ("mrd", "kwargs", "expected"),
    [
        pytest.param(0.0099, {}, True, id="MRD-negative: 0.0099% < 0.01%"),
        pytest.param(0.01, {}, False, id="MRD-positive: 0.01% is not < 0.01%"),
        pytest.param(0.001 + 0.009, {}, False,
                     id="0.001 + 0.009 (= 0.009999999999999998 in floating point) is 0.01%"),
        pytest.param(0.002, {}, True, id="at the seed lab's detection limit: negative"),
        pytest.param(0, {}, True, id="undetectable (0) is negative"),
        pytest.param(3.5, {}, False, id="overt disease is positive"),
        pytest.param(None, {}, None, id="missing MRD -> missing"),
        pytest.param(0.005, {"threshold": 0.001}, False,
                     id="threshold parameter 10^-5: 0.005% is positive"),
    ],
)
def test_mrd_negative(mrd: Any, kwargs: dict[str, Any], expected: bool | None) -> None:
    assert mrd_negative(mrd, **kwargs) == expected


@pytest.mark.parametrize(
    ("blasts", "mrd", "kwargs", "expected"),
    [
        pytest.param(3, 0.005, {}, "MRD-negative CR", id="M1 with MRD < 0.01%"),
        pytest.param(4.99, 0.0099, {}, "MRD-negative CR", id="boundaries: 4.99% and 0.0099%"),
        pytest.param(0, 0, {}, "MRD-negative CR", id="no blasts, undetectable MRD"),
        pytest.param(4.99, 0.01, {}, "M1", id="M1 with MRD 0.01% is MRD-positive M1"),
        pytest.param(2, 1.2, {}, "M1", id="M1 with flow MRD 1.2%"),
        pytest.param(3, None, {}, None, id="M1 with MRD missing: could be MRD-neg -> missing"),
        pytest.param(3, None, {"unknown_mrd": "M1"}, "M1",
                     id="parameter unknown_mrd='M1' for cohorts without MRD"),
        pytest.param(5, 0.001, {}, "M2",
                     id="5% blasts is M2 even with negative flow (requires M1 morphology)"),
        pytest.param(25, None, {}, "M2", id="M2 needs no MRD"),
        pytest.param(25.01, None, {}, "M3", id="M3 needs no MRD"),
        pytest.param(None, 0.001, {}, None, id="MRD-negative but morphology missing"),
        pytest.param(3, 0.005, {"mrd_negative_below": 0.001}, "M1",
                     id="threshold parameter: 0.005% is not < 0.001%"),
    ],
)
def test_marrow_class(blasts: Any, mrd: Any, kwargs: dict[str, Any],
                      expected: str | None) -> None:
    assert marrow_class(blasts, mrd, **kwargs) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: morphology_class(101), "from 0 to 100", id="blasts > 100%"),
        pytest.param(lambda: morphology_class(-1), "from 0 to 100", id="negative blasts"),
        pytest.param(lambda: morphology_class("five"), "numeric", id="text blasts"),
        pytest.param(lambda: mrd_negative(0.001, threshold=0), "percentage",
                     id="zero threshold"),
        pytest.param(lambda: marrow_class(3, 0.001, unknown_mrd="M2"), "unknown_mrd",
                     id="bad unknown_mrd"),
    ],
)
def test_marrow_refuses(call: Any, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        call()
