"""Input and output conventions shared by every criterion (see reinfuse.criteria)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import reinfuse.criteria as rc
from reinfuse.errors import ReinfuseError


def test_public_api_is_listed_once() -> None:
    assert sorted(rc.__all__) == sorted(set(rc.__all__))
    for name in rc.__all__:
        assert getattr(rc, name) is not None
    assert issubclass(rc.CriteriaError, ReinfuseError)


def test_series_in_series_out_with_index_and_categories() -> None:
    blasts = pd.Series([3.0, 30.0, None], index=["a", "b", "c"])
    out = rc.marrow_class(blasts, 0.001)  # a scalar broadcasts to every row
    assert isinstance(out, pd.Series)
    assert out.index.equals(blasts.index)
    assert out.name == "marrow_class"
    assert list(out.cat.categories) == ["MRD-negative CR", "M1", "M2", "M3"]
    assert out.cat.ordered
    assert out.tolist()[:2] == ["MRD-negative CR", "M3"] and pd.isna(out["c"])


def test_arrays_in_pandas_arrays_out() -> None:
    labels = rc.morphology_class(np.array([1.0, 10.0]))
    assert isinstance(labels, pd.Categorical)
    flags = rc.mrd_negative([0.001, None])
    assert isinstance(flags, pd.arrays.BooleanArray)
    assert flags.tolist() == [True, pd.NA]
    result = rc.crs_grade([39.0], False, "fluids", 0, False, "room_air")
    assert isinstance(result.grade, pd.arrays.IntegerArray)
    assert str(result.grade.dtype) == "Int8"
    frame = result.to_frame()
    assert list(frame.columns) == ["grade", "rule"] and len(result) == 1


def test_series_in_grade_result_series_out() -> None:
    temp = pd.Series([39.0, 37.0], index=[10, 20])
    result = rc.crs_grade(temp, False, "none", 0, False, "room_air")
    assert result.grade.index.equals(temp.index) and result.rule.index.equals(temp.index)
    assert result.to_frame().index.equals(temp.index)
    assert "Lee et al." in result.scale
    with pytest.raises(rc.CriteriaError, match=r"item\(\) needs a result of one"):
        result.item()


def test_scalars_in_scalars_out() -> None:
    assert rc.marrow_class(10, None) == "M2"
    assert rc.mrd_negative(None) is None
    assert rc.objective_response("pr") is True
    assert rc.classify_regimen(75, 900, 0) == "standard"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(pd.array([True, False, None], dtype="boolean"), [True, False, None],
                     id="nullable boolean"),
        pytest.param(["yes", "No", ""], [True, False, None], id="yes/no strings, blank"),
        pytest.param(["Checked", "Unchecked", None], [True, False, None],
                     id="REDCap checkbox labels"),
        pytest.param([1, 0, np.nan], [True, False, None], id="0/1 with NaN"),
        pytest.param(np.array([True, False, True]), [True, False, True], id="numpy bool"),
    ],
)
def test_yes_no_inputs(values: Any, expected: list[Any]) -> None:
    # a blast-positive CSF with 10 WBC: CNS3 when the cytospin is positive, CNS1 otherwise
    out = rc.cns_status(10, values, False)
    mapping = {"CNS3": True, "CNS1": False}
    assert [None if pd.isna(v) else mapping[v] for v in out] == expected


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(pd.Series(["CR", "SD", None], dtype="category"), id="categorical"),
        pytest.param(pd.Series(["CR", "SD", None], dtype="string"), id="string dtype"),
        pytest.param(np.array(["CR", "SD", ""]), id="numpy unicode, blank = missing"),
    ],
)
def test_label_input_types(values: Any) -> None:
    assert [None if pd.isna(v) else v for v in rc.objective_response(values)] == [
        True, False, None]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(pd.array([3.0, None], dtype="Float64"), id="nullable float"),
        pytest.param(pd.Series([3, None], dtype="Int64"), id="nullable int"),
        pytest.param(["3", ""], id="numeric strings, blank = missing"),
    ],
)
def test_numeric_input_types(values: Any) -> None:
    assert [None if pd.isna(v) else v for v in rc.morphology_class(values)] == ["M1", None]


def test_empty_inputs() -> None:
    assert len(rc.marrow_class([], [])) == 0
    assert len(rc.crs_grade([], [], [], [], [], [])) == 0
    assert len(rc.reinfusion_eligibility([], [], [], [], [], [])) == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: rc.marrow_class([1, 2], [0.1]), "equal length",
                     id="unequal lengths"),
        pytest.param(lambda: rc.marrow_class(pd.Series([1, 2]), pd.Series([1, 2], index=[5, 6])),
                     "different indexes", id="misaligned Series"),
        pytest.param(lambda: rc.morphology_class(pd.DataFrame({"a": [1]})), "DataFrame",
                     id="a DataFrame instead of a column"),
        pytest.param(lambda: rc.morphology_class(np.zeros((2, 2))), "dimensions",
                     id="two-dimensional array"),
        pytest.param(lambda: rc.objective_response(["CR", "remission"]), "'remission'",
                     id="unknown label is quoted back"),
    ],
)
def test_shape_and_label_errors(call: Any, message: str) -> None:
    with pytest.raises(rc.CriteriaError, match=message):
        call()
