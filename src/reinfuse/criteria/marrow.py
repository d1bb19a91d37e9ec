"""Bone marrow status in B-ALL: morphology (M1/M2/M3) and flow-cytometry MRD.

Inputs are percentages (``4.2`` means 4.2 %), as Series, arrays, lists or scalars; missing
values are NaN/None. See :mod:`reinfuse.criteria` for the input and output conventions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    BoolOutput,
    CriteriaError,
    FloatArray,
    Int8Array,
    LabelOutput,
    as_float,
    bool_out,
    ge,
    gt,
    labels_out,
    layout,
    lt,
)

__all__ = [
    "MARROW_CLASSES",
    "MORPHOLOGY_CLASSES",
    "marrow_class",
    "morphology_class",
    "mrd_negative",
]

MORPHOLOGY_CLASSES = ("M1", "M2", "M3")
MARROW_CLASSES = ("MRD-negative CR", "M1", "M2", "M3")

_M1_BELOW = 5.0
_M3_ABOVE = 25.0


def _check_threshold(value: float, name: str) -> None:
    if not (np.isfinite(value) and 0 < value <= 100):
        raise CriteriaError(f"{name} must be a percentage in (0, 100]; got {value!r}.")


def _morphology_codes(blasts: FloatArray) -> Int8Array:
    return np.select(
        [lt(blasts, _M1_BELOW), gt(blasts, _M3_ABOVE), ge(blasts, _M1_BELOW)],
        [0, 2, 1],
        default=NA,
    ).astype(np.int8)


def morphology_class(blasts_pct: object) -> LabelOutput:
    """Marrow class by morphology: ``"M1"``, ``"M2"`` or ``"M3"``.

    Parameters
    ----------
    blasts_pct
        Marrow blasts by morphology, percent of nucleated cells (0-100); NaN/None missing.

    Returns
    -------
    Ordered categorical (``M1 < M2 < M3``) Series / ``Categorical`` / ``str``; missing
    where the blast percentage is missing.

    Notes
    -----
    Standard B-ALL marrow classification, as defined in the seed study (Table 2 legend):
    M1 < 5 % blasts; M2 5 %-25 % (both ends inclusive: 5 % is M2, 25 % is M2);
    M3 > 25 %. Comparisons absorb floating-point rounding (relative 1e-9), so a value
    computed as exactly 5 % is M2.

    Examples
    --------
    >>> morphology_class([4.99, 5, 25, 25.01, None]).tolist()
    ['M1', 'M2', 'M2', 'M3', nan]
    >>> morphology_class(30.0)
    'M3'
    """
    lay = layout({"blasts_pct": blasts_pct})
    blasts = as_float(blasts_pct, "blasts_pct", lay, low=0, high=100)
    return labels_out(
        _morphology_codes(blasts), MORPHOLOGY_CLASSES, lay, name="morphology_class"
    )


def _mrd_tristate(mrd: FloatArray, threshold: float) -> Int8Array:
    return np.where(np.isnan(mrd), NA, np.where(lt(mrd, threshold), YES, NO)).astype(np.int8)


def mrd_negative(mrd_pct: object, threshold: float = 0.01) -> BoolOutput:
    """Whether flow-cytometry MRD is negative (below ``threshold`` percent).

    Parameters
    ----------
    mrd_pct
        Leukemic blasts by flow cytometry, percent of mononuclear cells (0-100). Enter an
        undetectable result as 0, not as missing.
    threshold
        MRD is negative strictly below this percentage. Default 0.01 % (1 x 10^-4), the
        conventional B-ALL flow MRD cut-off used by the seed study.

    Returns
    -------
    Nullable boolean Series / ``BooleanArray`` / ``bool``; missing where MRD is missing.

    Notes
    -----
    MRD-negative: < 0.01 % (1 x 10^-4) ALL blasts among mononuclear cells by flow cytometry
    (seed study, Table 2 legend; clinical-definitions "Bone marrow, CNS and MRD status").
    0.01 % itself is MRD-positive. The seed laboratory's limit of detection is 0.002 %:
    values between 0.002 % and 0.01 % are detectable yet MRD-negative by this definition.

    Examples
    --------
    >>> mrd_negative([0.0099, 0.01, 0.0, None]).tolist()
    [True, False, True, <NA>]
    """
    _check_threshold(threshold, "threshold")
    lay = layout({"mrd_pct": mrd_pct})
    mrd = as_float(mrd_pct, "mrd_pct", lay, low=0, high=100)
    return bool_out(_mrd_tristate(mrd, threshold), lay, name="mrd_negative")


def marrow_class(
    blasts_pct: object,
    mrd_pct: object,
    *,
    mrd_negative_below: float = 0.01,
    unknown_mrd: Literal["missing", "M1"] = "missing",
) -> LabelOutput:
    """Marrow status as tabulated by the seed study: MRD-negative CR, M1, M2 or M3.

    Parameters
    ----------
    blasts_pct
        Marrow blasts by morphology, percent (0-100).
    mrd_pct
        Flow-cytometry MRD, percent of mononuclear cells (0-100); undetectable = 0.
    mrd_negative_below
        MRD threshold in percent; M1 marrow with MRD strictly below it is
        ``"MRD-negative CR"``. Default 0.01 %.
    unknown_mrd
        Class of an M1 marrow whose MRD is missing. ``"missing"`` (default): unknown,
        because it may be an MRD-negative CR. ``"M1"``: count it as M1 (for cohorts where
        MRD was not measured and the MRD-negative category is not used).

    Returns
    -------
    Ordered categorical (``MRD-negative CR < M1 < M2 < M3``) Series / ``Categorical`` /
    ``str``. ``"M1"`` means M1 morphology that is not MRD-negative.

    Notes
    -----
    Seed study Table 2: "MRD-negative CR, < 0.01 % (1 x 10^-4) ALL blasts/MNC by flow
    cytometry; M1 < 5 % blasts; M2 5 %-25 %; M3 > 25 %"; clinical-definitions: "MRD-negative
    CR = M1 marrow with MRD < 0.01 %". The category is a *marrow* status: blood counts and
    extramedullary disease, which a full CR also requires, are not looked at here.
    M2/M3 marrows are classified by morphology even when MRD is missing (or, oddly,
    negative). Missing blasts give a missing class even with negative MRD, because the
    definition requires M1 morphology.

    Examples
    --------
    >>> marrow_class([3, 3, 3, 10, 30], [0.005, 0.01, None, None, 50]).tolist()
    ['MRD-negative CR', 'M1', nan, 'M2', 'M3']
    >>> marrow_class(3, None, unknown_mrd="M1")
    'M1'
    """
    _check_threshold(mrd_negative_below, "mrd_negative_below")
    if unknown_mrd not in ("missing", "M1"):
        raise CriteriaError(f"unknown_mrd must be 'missing' or 'M1'; got {unknown_mrd!r}.")
    lay = layout({"blasts_pct": blasts_pct, "mrd_pct": mrd_pct})
    blasts = as_float(blasts_pct, "blasts_pct", lay, low=0, high=100)
    mrd = as_float(mrd_pct, "mrd_pct", lay, low=0, high=100)
    morph = _morphology_codes(blasts)  # 0 M1, 1 M2, 2 M3, -1 missing
    neg = _mrd_tristate(mrd, mrd_negative_below)
    m1_unknown_mrd = 1 if unknown_mrd == "M1" else NA
    codes = np.select(
        [morph == NA, morph >= 1, neg == YES, neg == NO],
        [NA, morph + 1, 0, 1],
        default=m1_unknown_mrd,
    ).astype(np.int8)
    return labels_out(codes, MARROW_CLASSES, lay, name="marrow_class")
