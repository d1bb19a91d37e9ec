"""Response categories: truth tables.

Definitions from clinical-definitions.md ("Response") and the seed study's Methods
(objective marrow response = CR with or without MRD, or PR).
"""

from __future__ import annotations

from typing import Any

import pytest

from reinfuse.criteria import (
    CriteriaError,
    complete_response,
    mrd_negative_cr,
    not_in_cr,
    objective_response,
)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param("CR", True, id="seed: CR is an objective response"),
        pytest.param("CRi", True, id="seed: CRi (marrow CR) is an objective response"),
        pytest.param("PR", True, id="seed: marrow PR counts as objective response"),
        pytest.param("SD", False, id="SD is not a response"),
        pytest.param("PD", False, id="PD is not a response"),
        pytest.param("NE", None, id="NE is not evaluable -> missing"),
        pytest.param(None, None, id="missing -> missing"),
        pytest.param(" cr ", True, id="codes are case/blank-insensitive"),
    ],
)
def test_objective_response(response: Any, expected: bool | None) -> None:
    assert objective_response(response) == expected


@pytest.mark.parametrize(
    ("response", "include_cri", "expected"),
    [
        pytest.param("CR", True, True, id="CR is CR"),
        pytest.param("CRi", True, True, id="default: CRi counts as (morphologic) CR"),
        pytest.param("CRi", False, False, id="include_cri=False: CRi is not CR"),
        pytest.param("PR", True, False, id="PR is not CR"),
        pytest.param("SD", True, False, id="SD is not CR"),
        pytest.param("PD", True, False, id="PD is not CR"),
        pytest.param("NE", True, None, id="NE -> missing"),
    ],
)
def test_complete_response(response: str, include_cri: bool, expected: bool | None) -> None:
    assert complete_response(response, include_cri=include_cri) == expected


@pytest.mark.parametrize(
    ("response", "include_cri", "expected"),
    [
        pytest.param("CR", True, False, id="CR is in CR"),
        pytest.param("CRi", True, False, id="default: CRi is in CR"),
        pytest.param("CRi", False, True, id="include_cri=False: CRi is not in CR"),
        pytest.param("PR", True, True, id="PR is not in CR"),
        pytest.param("SD", True, True, id="SD is not in CR"),
        pytest.param("PD", True, True, id="PD is not in CR"),
        pytest.param(None, True, None, id="missing -> missing"),
    ],
)
def test_not_in_cr(response: Any, include_cri: bool, expected: bool | None) -> None:
    assert not_in_cr(response, include_cri=include_cri) == expected


@pytest.mark.parametrize(
    ("response", "mrd", "kwargs", "expected"),
    [
        pytest.param("CR", 0.0099, {}, True, id="seed: CR with MRD < 0.01% is MRD-neg CR"),
        pytest.param("CR", 0.01, {}, False, id="CR with MRD 0.01% is MRD-positive"),
        pytest.param("CR", None, {}, None, id="CR with MRD missing -> missing"),
        pytest.param("CRi", 0.001, {}, True, id="CRi with negative MRD (CRi counts)"),
        pytest.param("CRi", 0.001, {"include_cri": False}, False,
                     id="include_cri=False: CRi is never MRD-negative CR"),
        pytest.param("PR", None, {}, False, id="PR: not a CR, MRD irrelevant"),
        pytest.param("SD", 0.0, {}, False, id="SD with undetectable MRD is still not CR"),
        pytest.param("NE", 0.0, {}, None, id="NE -> missing"),
        pytest.param("CR", 0.005, {"threshold": 0.001}, False,
                     id="threshold parameter 10^-5"),
    ],
)
def test_mrd_negative_cr(response: str, mrd: Any, kwargs: dict[str, Any],
                         expected: bool | None) -> None:
    assert mrd_negative_cr(response, mrd, **kwargs) == expected


def test_response_refuses_unknown_codes() -> None:
    with pytest.raises(CriteriaError, match="'CR', 'CRi', 'PR', 'SD', 'PD'"):
        objective_response(["CR", "MRD-neg"])
