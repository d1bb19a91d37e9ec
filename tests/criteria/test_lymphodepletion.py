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
        pytest.param(75, 900, 2000, {}, "other",
                     id="issue 8: cytarabine without FLAG fludarabine is not FLAG"),
        pytest.param(125, 0, 2000, {}, "flag",
                     id="FLAG fludarabine 125 with reduced cytarabine is FLAG"),
        pytest.param(75, 0, 10000, {}, "other",
                     id="FLAG cytarabine with fludarabine 75 (not 25 x 5) is other"),
        pytest.param(125, 900, 10000, {}, "other",
                     id="FLAG doses plus cyclophosphamide is other"),
        pytest.param(125, NAN, 10000, {}, None,
                     id="FLAG doses, cyclophosphamide unknown: FLAG or other"),
        pytest.param(NAN, 0, 10000, {}, None,
                     id="cytarabine, fludarabine unknown: FLAG or other"),
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
        pytest.param(NAN, NAN, 2000, {}, None,
                     id="issue 8: cytarabine alone no longer decides FLAG"),
        # The centre's definitions: tisagenlecleucel label LD = fludarabine 30 mg/m2 x 4
        # (120) + cyclophosphamide 500 mg/m2 x 2 (1000) (Kymriah prescribing information).
        pytest.param(120, 1000, 0, {}, "other",
                     id="tisagenlecleucel label LD under the seed definitions: other"),
        pytest.param(120, 1000, 0, {"standard_totals": (120, 1000)}, "standard",
                     id="standard_totals=(120, 1000): tisagenlecleucel LD is standard"),
        pytest.param(75, 900, 0, {"standard_totals": (120, 1000)}, "other",
                     id="standard_totals=(120, 1000): the seed's 75 + 900 is other"),
        pytest.param(120, 1090, 0, {"standard_totals": (120, 1000)}, "standard",
                     id="overlapping windows: cy 1090 is 9.0% from 1000, 9.2% from 1200"),
        pytest.param(120, 1095, 0, {"standard_totals": (120, 1000)}, "intensified",
                     id="overlapping windows: cy 1095 is 9.5% from 1000, 8.75% from 1200"),
        pytest.param(96, 1000, 0, {"standard_totals": (80, 1000),
                                   "intensified_totals": (120, 1000), "tolerance": 0.2},
                     None, id="overlapping windows, exact tie (20% from both) -> missing"),
        pytest.param(150, 0, 0, {"standard_totals": (150, 0)}, "standard",
                     id="a standard without cyclophosphamide (total 0)"),
        pytest.param(150, 0, 10000, {"flag_fludarabine": 150}, "flag",
                     id="flag_fludarabine=150 (30 x 5)"),
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
                     id="tolerance above 20%"),
        pytest.param(lambda: classify_regimen(75, 900, 0, standard_totals=(120, 1200)),
                     "the same", id="standard and intensified defined alike"),
        pytest.param(lambda: classify_regimen(75, 900, 0, standard_totals=(75,)),
                     "two course totals", id="standard_totals not a pair"),
        pytest.param(lambda: classify_regimen(75, 900, 0, flag_fludarabine=0),
                     "flag_fludarabine", id="FLAG fludarabine total 0"),
        pytest.param(lambda: classify_regimen(-75, 900, 0), ">= 0", id="negative dose"),
        pytest.param(lambda: regimen_pair("standard", "Flu/Cy"), "allowed",
                     id="unknown regimen label"),
    ],
)
def test_lymphodepletion_refuses(call: Any, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        call()
