"""Machinery shared by the clinical criteria: input coercion, missing values, outputs.

Every criterion takes equal-length one-dimensional inputs (pandas Series, numpy arrays,
lists, pandas extension arrays) or single values, which apply to every row. Internally:

- numbers become ``float64`` arrays with ``NaN`` for missing;
- yes/no inputs become ``int8`` arrays: 1 yes, 0 no, -1 missing;
- vocabulary inputs (``"fluids"``, ``"CRi"`` ...) become ``int8`` codes into the allowed
  labels, -1 for missing; unknown labels raise :class:`CriteriaError` listing the allowed ones.

Outputs follow the inputs: a pandas Series (with the inputs' index) when any input is a
Series; otherwise a pandas array (``Categorical`` for classes, ``BooleanArray`` for yes/no,
``IntegerArray`` of dtype ``Int8`` for grades), because numpy has no missing value for
integers or booleans; and a plain scalar (``str``/``bool``/``None``) when every input is a
scalar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from reinfuse.errors import CriteriaError as _CriteriaError
from reinfuse.vocabulary import NO_WORDS, YES_WORDS, normalise_label

__all__ = [
    "BoolOutput",
    "CriteriaError",
    "GradeResult",
    "LabelOutput",
    "max_grade_per_infusion",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
Int8Array: TypeAlias = npt.NDArray[np.int8]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

#: What a classifying criterion returns (see the module docstring).
LabelOutput: TypeAlias = "pd.Series | pd.Categorical | str | None"
#: What a yes/no criterion returns (see the module docstring).
BoolOutput: TypeAlias = "pd.Series | pd.arrays.BooleanArray | bool | None"

YES: int = 1
NO: int = 0
NA: int = -1

#: Relative tolerance of threshold comparisons, so that a value computed as, e.g.,
#: ``0.001 + 0.009`` (0.009999999999999998 in binary floating point) still counts as
#: 0.01 %. Far below any clinical precision.
RTOL = 1e-9


CriteriaError = _CriteriaError  # defined with the rest of the hierarchy in reinfuse.errors


# --------------------------------------------------------------------------------------
# layout: length, index, scalar-ness
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Common length and index of a criterion's inputs."""

    n: int
    index: pd.Index | None
    scalar: bool


def _is_array(x: object) -> bool:
    return pd.api.types.is_list_like(x) and not isinstance(x, (dict, set, frozenset))


def layout(inputs: Mapping[str, object]) -> Layout:
    """Check that array inputs have one dimension and equal lengths; find the index.

    ``None`` and scalars broadcast. Several Series must share the same index (we match
    rows by position, so differing indexes would silently pair the wrong rows).
    """
    n: int | None = None
    first = ""
    index: pd.Index | None = None
    index_of = ""
    for name, x in inputs.items():
        if x is None or not _is_array(x):
            continue
        if isinstance(x, pd.DataFrame):
            raise CriteriaError(
                f"{name} is a DataFrame; pass one column (a Series), e.g. frame['{name}']."
            )
        ndim = getattr(x, "ndim", 1)
        if ndim != 1:
            raise CriteriaError(
                f"{name} has {ndim} dimensions; give a one-dimensional array or Series."
            )
        length = len(x)  # type: ignore[arg-type]
        if n is None:
            n, first = length, name
        elif length != n:
            raise CriteriaError(
                f"{name} has {length} values but {first} has {n}; give inputs of equal "
                "length (or a single value that applies to every row)."
            )
        if isinstance(x, pd.Series):
            if index is None:
                index, index_of = x.index, name
            elif not index.equals(x.index):
                raise CriteriaError(
                    f"{name} and {index_of} are Series with different indexes; rows are "
                    "matched by position, so align them first (e.g. reindex, or "
                    "reset_index(drop=True) on both)."
                )
    if n is None:
        return Layout(1, None, True)
    return Layout(n, index, False)


def _examples(values: Iterable[object], limit: int = 5) -> str:
    seen: list[str] = []
    for v in values:
        # Plain Python for the message: -3.0, not np.float64(-3.0).
        r = repr(v.item() if isinstance(v, np.generic) else v)
        if r not in seen:
            seen.append(r)
        if len(seen) >= limit:
            break
    return ", ".join(seen)


def _to_1d(x: object) -> np.ndarray[Any, Any]:
    """A one-dimensional numpy array (a scalar becomes one element; see :func:`_fit`)."""
    if not _is_array(x):
        if isinstance(x, np.ndarray):  # 0-d array
            x = x.item()
        out = np.empty(1, dtype=object)
        out[0] = x
        return out
    if isinstance(x, (pd.Series, pd.Index)):
        return np.asarray(x.array) if isinstance(x.dtype, np.dtype) else x.to_numpy()
    return np.asarray(x)


def _fit(out: np.ndarray[Any, Any], lay: Layout) -> np.ndarray[Any, Any]:
    """Repeat a converted scalar to ``lay.n`` rows (a fresh, writable array)."""
    if out.shape == (lay.n,):
        return out
    return np.full(lay.n, out[0], dtype=out.dtype)


def _extension_values(x: object) -> Any:
    """The pandas extension array behind ``x``, or ``None`` for numpy-backed data."""
    if isinstance(x, (pd.Series, pd.Index)):
        return None if isinstance(x.dtype, np.dtype) else x.array
    if isinstance(x, pd.api.extensions.ExtensionArray):
        return x
    return None


# --------------------------------------------------------------------------------------
# converters
# --------------------------------------------------------------------------------------


def as_float(
    x: object,
    name: str,
    lay: Layout,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    hint: str = "",
) -> FloatArray:
    """Numbers as float64 with NaN for missing; range and integrality checked."""
    if x is None:
        return np.full(lay.n, np.nan)
    ext = _extension_values(x)
    if ext is None and not _is_array(x):
        out = np.full(lay.n, _scalar_float(x, name))
    elif ext is not None and pd.api.types.is_numeric_dtype(ext.dtype):
        out = np.asarray(ext.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)
    else:
        arr = _to_1d(x) if ext is None else np.asarray(ext, dtype=object)
        if arr.dtype.kind in "fiub":
            out = arr.astype(np.float64, copy=False)
        else:
            obj = pd.Series(arr.astype(object, copy=False), copy=False)
            blank = obj.map(lambda v: isinstance(v, str) and not v.strip())
            num = pd.to_numeric(obj.mask(blank), errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            bad = np.isnan(num) & ~(pd.isna(obj).to_numpy() | blank.to_numpy())
            if bad.any():
                raise CriteriaError(
                    f"{name} must be numeric (missing as empty/NaN/None); got "
                    f"{_examples(obj[bad])} in {int(bad.sum())} row(s)."
                )
            out = np.asarray(num, dtype=np.float64)
    return check_range(_fit(out, lay), name, low=low, high=high, integer=integer, hint=hint)


def _scalar_float(x: object, name: str) -> float:
    if isinstance(x, np.ndarray):
        x = x.item()
    if x is None or x is pd.NA or (isinstance(x, str) and not x.strip()):
        return float("nan")
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CriteriaError(
            f"{name} must be numeric (missing as empty/NaN/None); got {x!r}."
        ) from None


def check_range(
    values: FloatArray,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    hint: str = "",
) -> FloatArray:
    """Raise :class:`CriteriaError` for values outside [low, high] or non-integral ones."""
    bad = np.isinf(values)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    if integer:
        bad |= np.isfinite(values) & (values != np.round(values))
    if bad.any():
        allowed = []
        if integer:
            allowed.append("whole numbers")
        if low is not None and high is not None:
            allowed.append(f"from {low:g} to {high:g}")
        elif low is not None:
            allowed.append(f">= {low:g}")
        elif high is not None:
            allowed.append(f"<= {high:g}")
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"{name} must be {' '.join(allowed) or 'finite'} (missing as NaN); got "
            f"{_examples(values[rows])} at position(s) {_examples(rows.tolist())}"
            f"{' of ' + str(rows.size) if rows.size > 5 else ''}.{' ' + hint if hint else ''}"
        )
    return values


_TRUE = YES_WORDS
_FALSE = NO_WORDS


def _bool_code(v: object) -> int | None:
    """1/0/-1 for one value, or ``None`` if it is not a yes/no value."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return NA
    if isinstance(v, (bool, np.bool_)):
        return YES if v else NO
    if isinstance(v, (int, float, np.integer, np.floating)):
        return YES if v == 1 else NO if v == 0 else None
    if isinstance(v, str):
        s = v.strip().lower()
        if not s:
            return NA
        return YES if s in _TRUE else NO if s in _FALSE else None
    return None


def as_tristate(x: object, name: str, lay: Layout) -> Int8Array:
    """Yes/no values as int8: 1 yes, 0 no, -1 missing.

    Accepts booleans, 0/1, nullable booleans and the strings yes/no, true/false, y/n,
    checked/unchecked (any case); empty strings, None and NaN are missing.
    """
    if x is None:
        return np.full(lay.n, NA, dtype=np.int8)
    if not _is_array(x):
        code = _bool_code(x.item() if isinstance(x, np.ndarray) else x)
        if code is None:
            raise CriteriaError(
                f"{name} must be yes/no (True/False, 1/0, 'yes'/'no'; missing as "
                f"empty/None); got {x!r}."
            )
        return np.full(lay.n, code, dtype=np.int8)
    ext = _extension_values(x)
    arr = _to_1d(x) if ext is None else None
    if arr is not None and arr.dtype.kind == "b":
        return _fit(arr.astype(np.int8), lay)
    if arr is not None and arr.dtype.kind in "iuf":
        vals = arr.astype(np.float64, copy=False)
        out = np.where(vals == 1, YES, np.where(vals == 0, NO, NA)).astype(np.int8)
        bad = ~np.isnan(vals) & (out == NA)
        if bad.any():
            raise CriteriaError(
                f"{name} must be yes/no (True/False or 1/0; missing as NaN); got "
                f"{_examples(vals[bad])} in {int(bad.sum())} row(s)."
            )
        return _fit(out, lay)
    codes, uniques = pd.factorize(ext if ext is not None else arr, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=np.int8)
    table[-1] = NA
    bad_values = []
    for i, u in enumerate(uniques):
        c = _bool_code(u)
        if c is None:
            bad_values.append(u)
            c = NA
        table[i] = c
    if bad_values:
        raise CriteriaError(
            f"{name} must be yes/no (True/False, 1/0, 'yes'/'no'; missing as empty/None); "
            f"got {_examples(bad_values)}."
        )
    return _fit(table[codes], lay)


def as_codes(
    x: object,
    name: str,
    lay: Layout,
    allowed: Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
    missing_labels: Iterable[str] = (),
) -> Int8Array:
    """Vocabulary values as int8 codes into ``allowed`` (-1 missing).

    Matching ignores case, surrounding blanks, and treats spaces and hyphens as
    underscores. ``aliases`` maps other (normalised) spellings to an allowed label;
    ``missing_labels`` are spellings that mean "missing" (e.g. ``"NE"``).
    """
    keys = {normalise_label(a): i for i, a in enumerate(allowed)}
    for alias, target in (aliases or {}).items():
        keys[normalise_label(alias)] = keys[normalise_label(target)]
    na_keys = {normalise_label(m) for m in missing_labels} | {""}
    if x is None:
        return np.full(lay.n, NA, dtype=np.int8)
    ext = _extension_values(x)
    if ext is None and not _is_array(x):
        codes, uniques = np.zeros(1, dtype=np.intp), [x.item() if isinstance(x, np.ndarray) else x]
    else:
        data = ext if ext is not None else _to_1d(x)
        codes, uniques = pd.factorize(data, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=np.int8)
    table[-1] = NA
    bad_values = []
    for i, u in enumerate(uniques):
        key = normalise_label(u)
        if key in keys:
            table[i] = keys[key]
        elif key in na_keys or pd.isna(u):
            table[i] = NA
        else:
            bad_values.append(u)
    if bad_values:
        extra = f" ({', '.join(sorted(missing_labels))} = missing)" if missing_labels else ""
        raise CriteriaError(
            f"{name} has value(s) {_examples(bad_values)} that are not allowed; allowed: "
            f"{', '.join(repr(a) for a in allowed)}{extra} (case-insensitive; "
            "missing as empty/None/NaN)."
        )
    return _fit(table[codes], lay)


# --------------------------------------------------------------------------------------
# comparisons that absorb floating-point noise at thresholds (NaN -> False)
# --------------------------------------------------------------------------------------


def ge(x: FloatArray, t: float) -> BoolArray:
    """``x >= t`` (NaN -> False), tolerant to rounding just below ``t``."""
    return np.asarray(x >= t - abs(t) * RTOL)


def gt(x: FloatArray, t: float) -> BoolArray:
    """``x > t`` (NaN -> False), not fooled by rounding just above ``t``."""
    return np.asarray(x > t + abs(t) * RTOL)


def lt(x: FloatArray, t: float) -> BoolArray:
    """``x < t`` (NaN -> False): the exact complement of :func:`ge` on known values."""
    return np.asarray(x < t - abs(t) * RTOL)


def le(x: FloatArray, t: float) -> BoolArray:
    """``x <= t`` (NaN -> False): the exact complement of :func:`gt` on known values."""
    return np.asarray(x <= t + abs(t) * RTOL)


# --------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------


def labels_out(
    codes: npt.NDArray[np.integer[Any]],
    categories: Sequence[str],
    lay: Layout,
    *,
    name: str,
    ordered: bool = True,
) -> LabelOutput:
    """Codes (-1 missing) as a categorical Series / Categorical / scalar."""
    if lay.scalar:
        return None if codes[0] < 0 else str(categories[int(codes[0])])
    cat = pd.Categorical.from_codes(codes, categories=list(categories), ordered=ordered)
    if lay.index is not None:
        return pd.Series(cat, index=lay.index, name=name)
    return cat


def bool_out(tri: Int8Array, lay: Layout, *, name: str) -> BoolOutput:
    """A tri-state array (1/0/-1) as a nullable boolean Series / array / scalar."""
    arr = pd.arrays.BooleanArray(tri == YES, tri == NA)
    if lay.scalar:
        return None if tri[0] == NA else bool(tri[0] == YES)
    if lay.index is not None:
        return pd.Series(arr, index=lay.index, name=name)
    return arr


def kleene_not(tri: Int8Array) -> Int8Array:
    """Three-valued NOT."""
    return np.where(tri == NA, NA, 1 - tri).astype(np.int8)


# --------------------------------------------------------------------------------------
# grades
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GradeResult:
    """Grades of a toxicity scale, one per observation, with the rule that set each.

    Attributes
    ----------
    grade
        Nullable ``Int8`` grades (0 = no syndrome). Missing (``<NA>``) where missing inputs
        could change the grade. A Series indexed like the inputs when any input was a
        Series, else a pandas ``IntegerArray``.
    rule
        Categorical strings naming the rule that set each grade (``"grade 3: ..."``), or
        why the observation is not graded (``"not gradable: ... missing"``).
    scale
        The grading system, with its citation.
    """

    grade: pd.Series | pd.arrays.IntegerArray
    rule: pd.Series | pd.Categorical
    scale: str

    def __len__(self) -> int:
        return len(self.grade)

    def to_frame(self) -> pd.DataFrame:
        """The grades and rules as a two-column frame (``grade``, ``rule``)."""
        index = self.grade.index if isinstance(self.grade, pd.Series) else None
        return pd.DataFrame(
            {"grade": pd.array(self.grade, dtype="Int8"), "rule": pd.Categorical(self.rule)},
            index=index,
        )

    def item(self) -> tuple[int | None, str]:
        """The single ``(grade, rule)`` of a one-observation result (scalar inputs)."""
        if len(self) != 1:
            raise CriteriaError(
                f"item() needs a result of one observation; this one has {len(self)}. "
                "Use .grade and .rule (or .to_frame()) for several."
            )
        g = pd.array(self.grade, dtype="Int8")[0]
        return (None if pd.isna(g) else int(g)), str(pd.Categorical(self.rule)[0])


def grade_result(
    grade: Int8Array,
    known: BoolArray,
    rule_index: npt.NDArray[np.integer[Any]],
    rules: Sequence[str],
    lay: Layout,
    scale: str,
) -> GradeResult:
    """Assemble a :class:`GradeResult` from numpy parts (no copies of the big arrays)."""
    values = np.where(known, grade, 0).astype(np.int8)
    g = pd.arrays.IntegerArray(values, ~known)
    r = pd.Categorical.from_codes(rule_index, categories=list(rules))
    if lay.index is not None:
        return GradeResult(
            pd.Series(g, index=lay.index, name="grade"),
            pd.Series(r, index=lay.index, name="rule"),
            scale,
        )
    return GradeResult(g, r, scale)


def rule_codes(
    conditions: Sequence[BoolArray],
    codes: Sequence[int | npt.NDArray[np.integer[Any]]],
    default: int,
) -> npt.NDArray[np.int16]:
    """First matching condition's code (like ``numpy.select``), as int16.

    A code may be an array (one code per row), taken where its condition holds.
    """
    out = np.full(conditions[0].shape, default, dtype=np.int16)
    for cond, code in zip(reversed(conditions), reversed(codes), strict=True):
        out[cond] = code[cond] if isinstance(code, np.ndarray) else code
    return out


def max_grade_per_infusion(
    frame: pd.DataFrame,
    *,
    grade: str = "grade",
    by: Sequence[str] = ("patient_id", "infusion"),
    skipna: bool = False,
) -> pd.Series:
    """Maximum grade of each infusion from one row per observation (e.g. per day).

    Parameters
    ----------
    frame
        One row per graded observation, with the key columns ``by`` and a ``grade`` column
        (e.g. ``crs_grade(...).to_frame()`` joined to the keys).
    grade
        Name of the grade column (integers 0-5, missing allowed).
    by
        Key columns identifying an infusion. Default ``("patient_id", "infusion")``.
    skipna
        ``False`` (default): an infusion with any ungraded observation gets a missing
        maximum, unless a known grade is already 5 (nothing can exceed it), because the
        ungraded observation might have been the worst. ``True``: ignore ungraded
        observations (an infusion with none graded stays missing).

    Returns
    -------
    pandas.Series
        Nullable ``Int8`` maxima named ``max_grade``, indexed by the ``by`` keys (sorted).

    Notes
    -----
    ASTCT consensus (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638): a
    patient's CRS (or ICANS) grade for an infusion is the maximum grade over the episode(s).
    Infusions without any observation rows are absent from the result: absence of rows is
    not evidence of grade 0.

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"patient_id": [1, 1, 1, 2, 2], "infusion": [1, 1, 2, 1, 1],
    ...                     "grade": [1, 3, 0, 2, None]})
    >>> max_grade_per_infusion(obs).tolist()
    [3, 0, <NA>]
    >>> max_grade_per_infusion(obs, skipna=True).tolist()
    [3, 0, 2]
    """
    keys = list(by)
    missing_cols = [c for c in [*keys, grade] if c not in frame.columns]
    if missing_cols:
        raise CriteriaError(
            f"max_grade_per_infusion: column(s) {missing_cols} not in the frame (columns: "
            f"{list(frame.columns)}); pass grade=... and by=... naming your columns."
        )
    key_na = frame[keys].isna().any(axis=1)
    if key_na.any():
        rows = frame.index[key_na.to_numpy()].tolist()
        raise CriteriaError(
            f"max_grade_per_infusion: key column(s) {keys} missing in row(s) "
            f"{_examples(rows)}; every observation must name its patient and infusion."
        )
    lay = Layout(len(frame), None, False)
    g = as_float(frame[grade], grade, lay, low=0, high=5, integer=True)
    work = pd.DataFrame({"g": g, "na": np.isnan(g)}, index=frame.index)
    for k in keys:
        work[k] = frame[k].to_numpy()
    grouped = work.groupby(keys, sort=True, observed=True, dropna=False)
    best = grouped["g"].max()
    if not skipna:
        any_na = grouped["na"].any()
        best = best.mask(any_na & (best != 5))
    out = pd.Series(pd.array(best.to_numpy(), dtype="Int8"), index=best.index, name="max_grade")
    return out
