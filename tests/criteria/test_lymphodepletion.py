"""Lymphodepletion regimens: truth tables.

Regimens from the seed study (Methods, Table 2 legend): standard fludarabine 75 +
cyclophosphamide 900 mg/m2; intensified fludarabine 120 + cyclophosphamide 1200 mg/m2;
FLAG fludarabine 125 + cytarabine 10000 mg/m2 (+ filgrastim).
"""

from __future__ import annotations

from typing import Any

import pytest

from reinfuse.criteria import CriteriaError, classify_regimen, is_intensified, regimen_pair

NAN = float("nan")


@pytest.mark.parametrize(
    ("flu", "cy", "ara", "kwargs", "expected"),
    [
        pytest.param(75, 900, 0, {}, "standard", id="seed: standard 75 + 900"),
        pytest.param(120, 1200, 0, {}, "intensified", id="seed: intensified 120 + 1200"),
        pytest.param(125, 0, 10000, {}, "flag", id="seed: FLAG 125 + ara-C 10000"),
        pytest.param(75, 900, 2000, {}, "flag", id="any cytarabine makes it FLAG"),
        pytest.param(0, 0, 0, {}, "none", id="no lymphodepletion"),
        pytest.param(75, 1200, 0, {}, "other", id="standard flu with intensified cy"),
        pytest.param(120, 900, 0, {}, "other", id="intensified flu with standard cy"),
        pytest.param(0, 900, 0, {}, "other", id="cyclophosphamide alone"),
        pytest.param(67.5, 810, 0, {}, "standard", id="10% tolerance, lower edge inclusive"),
        pytest.param(82.5, 990, 0, {}, "standard", id="10% tolerance, upper edge inclusive"),
        pytest.param(67.4, 900, 0, {}, "other", id="just outside 10% tolerance"),
        pytest.param(108, 1320, 0, {}, "intensified", id="intensified within 10%"),
        pytest.param(56.25, 900, 0, {}, "other", id="25% renal fludarabine reduction"),
        pytest.param(60, 900, 0, {"tolerance": 0.2}, "standard",
                     id="tolerance parameter 20%: 20% reduction is standard"),
        pytest.param(75, 900, NAN, {}, None, id="cytarabine missing: could be FLAG"),
        pytest.param(NAN, 900, 0, {}, None, id="fludarabine missing: could be standard"),
        pytest.param(0, NAN, 0, {}, None, id="could be none or other"),
        pytest.param(200, NAN, 0, {}, "other", id="flu 200 fits no regimen: decides"),
        pytest.param(NAN, 500, 0, {}, "other", id="cy 500 fits no regimen: decides"),
        pytest.param(NAN, NAN, 2000, {}, "flag", id="cytarabine decides FLAG alone"),
    ],
)
def test_classify_regimen(flu: float, cy: float, ara: float, kwargs: dict[str, Any],
                          expected: str | None) -> None:
    assert classify_regimen(flu, cy, ara, **kwargs) == expected


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        pytest.param("standard", "standard", "standard->standard", id="seed Table 2 row 1"),
        pytest.param("standard", "intensified", "standard->intensified",
                     id="seed Table 2 row 2"),
        pytest.param("intensified", "standard", "intensified->standard",
                     id="seed Table 2 row 3"),
        pytest.param("intensified", "intensified", "intensified->intensified",
                     id="intensified at both (possible, not in the seed table)"),
        pytest.param("flag", "standard", "any with FLAG", id="seed: FLAG pre-CART1"),
        pytest.param("standard", "flag", "any with FLAG", id="seed: FLAG pre-CART2"),
        pytest.param("flag", None, "any with FLAG", id="FLAG decides with the other missing"),
        pytest.param(None, "standard", None, id="missing regimen -> missing"),
        pytest.param("none", "standard", "other", id="no LD before one infusion"),
        pytest.param("other", "intensified", "other", id="non-protocol regimen"),
        pytest.param("Standard", "INTENSIFIED", "standard->intensified",
                     id="labels are case-insensitive"),
    ],
)
def test_regimen_pair(previous: Any, current: Any, expected: str | None) -> None:
    assert regimen_pair(previous, current) == expected


@pytest.mark.parametrize(
    ("regimen", "expected"),
    [
        pytest.param("intensified", True, id="seed: intensified LD"),
        pytest.param("standard", False, id="standard is not intensified"),
        pytest.param("flag", False, id="FLAG is not intensified LD"),
        pytest.param("none", False, id="no LD"),
        pytest.param("other", False, id="other regimen"),
        pytest.param(None, None, id="missing -> missing"),
    ],
)
def test_is_intensified(regimen: Any, expected: bool | None) -> None:
    assert is_intensified(regimen) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: classify_regimen(75, 900, 0, tolerance=0.3), "tolerance",
                     id="tolerance that would let windows overlap"),
        pytest.param(lambda: classify_regimen(-75, 900, 0), ">= 0", id="negative dose"),
        pytest.param(lambda: regimen_pair("standard", "Flu/Cy"), "allowed",
                     id="unknown regimen label"),
    ],
)
def test_lymphodepletion_refuses(call: Any, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        call()
