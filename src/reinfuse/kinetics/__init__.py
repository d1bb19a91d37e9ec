"""CAR T-cell kinetics from the ``car_counts`` sheet: expansion and persistence.

``car_counts`` has one row per measurement: ``patient_id``, ``infusion`` (1, 2, ...),
``day`` (days from *that* infusion; negative for a pre-infusion baseline, may be
fractional), ``compartment`` (``blood`` / ``marrow`` / ``csf``), ``value`` (>= 0) and
``unit`` (``cells_per_ul`` / ``percent_of_t_cells`` / ``percent_of_cells``).

- :func:`expansion_metrics`: peak (Cmax), day of peak (Tmax), area under the curve
  (linear-up/log-down or linear trapezoid), last detectable day and value (Tlast, Clast)
  and "no expansion", per (patient_id, infusion), in one compartment and unit over a
  window of days.
- :func:`last_detection_day`: last day CAR T cells were detected after each infusion in
  any compartment, for swimmer plots.

Both work on whole tables at once (sorting and array arithmetic; no loop over patients
or rows), one output row per (patient_id, infusion).

Detection: a value is *detected* when it is strictly above the limit of detection (LOD),
``value > lod``, with the relative tolerance of 1e-9 used by every threshold in
:mod:`reinfuse.criteria` (a value equal to the LOD up to binary rounding is not above it).
The LOD is a number, or a mapping from the product's target (``infusions.target``) to a
number; without an LOD (``lod=None``) any value above 0 is detected.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from reinfuse.criteria import RTOL
from reinfuse.errors import CriteriaError
from reinfuse.vocabulary import normalise_label

__all__ = [
    "AUC_METHODS",
    "COMPARTMENTS",
    "SEED_STUDY_MARROW_LOD",
    "UNITS",
    "expansion_metrics",
    "last_detection_day",
]

Compartment = Literal["blood", "marrow", "csf"]
Unit = Literal["cells_per_ul", "percent_of_t_cells", "percent_of_cells"]
AucMethod = Literal["linear-up/log-down", "linear"]
Duplicates = Literal["error", "mean"]
#: A limit of detection: none (any value above 0 is detected), one number, or one number
#: per product target (keys matched to ``infusions.target`` ignoring case and blanks).
Lod: TypeAlias = "float | Mapping[str, float] | None"
#: :func:`last_detection_day` also takes one :data:`Lod` per compartment.
CompartmentLod: TypeAlias = "float | Mapping[str, float] | Mapping[str, Lod] | None"

COMPARTMENTS: tuple[str, ...] = ("blood", "marrow", "csf")
UNITS: tuple[str, ...] = ("cells_per_ul", "percent_of_t_cells", "percent_of_cells")
AUC_METHODS: tuple[str, ...] = ("linear-up/log-down", "linear")

#: Lower limit of detection of CAR+ T cells in bone marrow by flow cytometry in the seed
#: study (Methods, "Disease assessments"): 0.1 % for the CD19 CAR, 1 % for the CD22 CAR.
#: The paper does not name the denominator of the percentage.
SEED_STUDY_MARROW_LOD: Mapping[str, float] = {"CD19": 0.1, "CD22": 1.0}

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Int8Array: TypeAlias = npt.NDArray[np.int8]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
ObjectArray: TypeAlias = npt.NDArray[np.object_]

_REQUIRED = ("patient_id", "infusion", "day", "compartment", "value", "unit")
_INDEX_NAMES = ["patient_id", "infusion"]


# --------------------------------------------------------------------------------------
# checking the options
# --------------------------------------------------------------------------------------


def _norm(label: object) -> str:
    return normalise_label(label)


def _option(value: object, allowed: tuple[str, ...], name: str) -> int:
    """Position of an option label in ``allowed`` (matched like every reinfuse label)."""
    keys = [_norm(a) for a in allowed]
    if isinstance(value, str) and _norm(value) in keys:
        return keys.index(_norm(value))
    raise CriteriaError(
        f"{name} must be one of {', '.join(allowed)}; got {value!r}."
    )


def _window(window: tuple[float, float]) -> tuple[float, float]:
    try:
        if len(window) != 2:
            raise ValueError
        start, end = float(window[0]), float(window[1])
    except (TypeError, ValueError):
        raise CriteriaError(
            f"window must be two numbers of days (start, end), e.g. (0, 28); got {window!r}."
        ) from None
    if math.isnan(start) or math.isnan(end) or start > end:
        raise CriteriaError(
            f"window must be (start, end) with start <= end, in days from the infusion; "
            f"got {window!r}."
        )
    return start, end


def _lod_number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CriteriaError(
            f"{where} must be a number >= 0 (in the unit of the values), a mapping of "
            f"target to number, or None; got {value!r}."
        )
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise CriteriaError(f"{where} must be a finite number >= 0; got {value!r}.")
    return number


def _target_lods(spec: Mapping[Any, Any], where: str) -> dict[str, float]:
    """A target -> LOD mapping, keys normalised (case, blanks)."""
    lods: dict[str, float] = {}
    for key, value in spec.items():
        if not isinstance(key, str):
            raise CriteriaError(
                f"{where} keys must be product targets such as 'CD19' or 'CD22'; got {key!r}."
            )
        lods[key.strip().casefold()] = _lod_number(value, f"{where}[{key!r}]")
    return lods


# --------------------------------------------------------------------------------------
# reading the table
# --------------------------------------------------------------------------------------


def _numbers(column: pd.Series, name: str, table: str = "car_counts") -> FloatArray:
    """A column as float64 with NaN for missing; refuses text that is not a number."""
    if pd.api.types.is_bool_dtype(column.dtype):
        raise CriteriaError(f"{table}.{name} must hold numbers; got booleans.")
    if pd.api.types.is_numeric_dtype(column.dtype):
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
    converted = pd.to_numeric(column, errors="coerce")
    blank = column.isna() | column.astype("string").str.strip().eq("").fillna(True)
    bad = converted.isna() & ~blank
    if bad.any():
        first = column[bad].iloc[0]
        raise CriteriaError(
            f"{table}.{name} must hold numbers; got {first!r} "
            f"({int(bad.sum())} such row(s)). Correct or blank them."
        )
    return np.asarray(converted.to_numpy(dtype=np.float64, na_value=np.nan))


def _label_codes(column: pd.Series, allowed: tuple[str, ...], name: str) -> Int8Array:
    """Codes into ``allowed`` (-1 missing); the loop runs over distinct labels only."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    keys = [_norm(a) for a in allowed]
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int8)  # last slot: missing (-1)
    for i, label in enumerate(uniques):
        key = _norm(label)
        if key == "":
            continue
        if key not in keys:
            raise CriteriaError(
                f"car_counts.{name} has {label!r}; allowed: {', '.join(allowed)}. "
                "Correct the label."
            )
        lookup[i] = keys.index(key)
    return lookup[np.where(codes < 0, len(uniques), codes)]


def _infusion_numbers(column: pd.Series, table: str) -> FloatArray:
    numbers = _numbers(column, "infusion", table)
    bad = np.isnan(numbers) | (numbers < 1) | (numbers != np.round(numbers))
    if bad.any():
        raise CriteriaError(
            f"{table}.infusion must be a whole number >= 1 (1 = first infusion); got "
            f"{column[bad].iloc[0]!r} ({int(bad.sum())} such row(s))."
        )
    return numbers


@dataclass(frozen=True)
class _Curves:
    """Selected measurements, sorted by (group, day), and the output rows.

    ``index`` lists every (patient_id, infusion) of ``car_counts`` and ``infusions``,
    sorted; ``group`` gives each selected measurement's position in it.
    """

    index: pd.MultiIndex
    targets: ObjectArray | None
    group: IntArray
    day: FloatArray
    value: FloatArray
    compartment: Int8Array
    unit: Int8Array

    @property
    def n_groups(self) -> int:
        return len(self.index)

    def starts(self) -> IntArray:
        """Position of the first measurement of each run of equal ``group``."""
        g = self.group
        return np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else g[:0]


def _prepare(
    car_counts: pd.DataFrame,
    infusions: pd.DataFrame | None,
    *,
    compartments: Collection[int],
    unit: int | None,
    window: tuple[float, float],
) -> _Curves:
    if not isinstance(car_counts, pd.DataFrame):
        raise CriteriaError(
            f"car_counts must be a pandas DataFrame; got {type(car_counts).__name__}."
        )
    missing = [c for c in _REQUIRED if c not in car_counts.columns]
    if missing:
        raise CriteriaError(
            f"car_counts lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(_REQUIRED)}."
        )
    if infusions is not None:
        lacking = [c for c in ("patient_id", "infusion") if c not in infusions.columns]
        if lacking:
            raise CriteriaError(
                f"infusions lacks column(s) {', '.join(lacking)}; it needs patient_id, "
                "infusion (and target for a limit of detection per target)."
            )

    patient = car_counts["patient_id"].to_numpy(dtype=object)
    if pd.isna(patient).any():
        raise CriteriaError(
            f"car_counts.patient_id is empty in {int(pd.isna(patient).sum())} row(s); "
            "every measurement needs its patient."
        )
    infusion = _infusion_numbers(car_counts["infusion"], "car_counts")
    day = _numbers(car_counts["day"], "day")
    value = _numbers(car_counts["value"], "value")
    compartment = _label_codes(car_counts["compartment"], COMPARTMENTS, "compartment")
    unit_code = _label_codes(car_counts["unit"], UNITS, "unit")

    if infusions is not None:
        inf_patient = infusions["patient_id"].to_numpy(dtype=object)
        if pd.isna(inf_patient).any():
            raise CriteriaError("infusions.patient_id is empty in some row(s).")
        inf_number = _infusion_numbers(infusions["infusion"], "infusions")
    else:
        inf_patient = np.empty(0, dtype=object)
        inf_number = np.empty(0, dtype=np.float64)

    # Output rows: every (patient_id, infusion) pair, sorted by patient then infusion.
    n = len(patient)
    p_codes, p_uniques = pd.factorize(np.concatenate([patient, inf_patient]))
    p_uniques = np.asarray(p_uniques, dtype=object)
    order = np.argsort(p_uniques.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    i_uniques, i_codes = np.unique(np.concatenate([infusion, inf_number]), return_inverse=True)
    keys = rank[p_codes] * max(len(i_uniques), 1) + i_codes.reshape(-1)
    u_keys, position = np.unique(keys, return_inverse=True)
    position = position.reshape(-1)
    width = max(len(i_uniques), 1)
    index = pd.MultiIndex.from_arrays(
        [p_uniques[order][u_keys // width], i_uniques[u_keys % width].astype(np.int64)],
        names=_INDEX_NAMES,
    )

    targets: ObjectArray | None = None
    if infusions is not None:
        inf_position = position[n:]
        repeats = np.bincount(inf_position, minlength=len(index)) > 1
        if repeats.any():
            raise CriteriaError(
                f"infusions lists {_label(index, int(np.argmax(repeats)))} more than once; "
                "keep one row per infusion."
            )
        if "target" in infusions.columns:
            targets = np.full(len(index), None, dtype=object)
            targets[inf_position] = infusions["target"].to_numpy(dtype=object)

    # The measurements to use: known value and day, compartment and unit, in the window.
    start, end = window
    keep = ~np.isnan(value) & ~np.isnan(day) & (day >= start) & (day <= end)
    keep &= np.isin(compartment, np.fromiter(compartments, dtype=np.int8))
    if unit is not None:
        keep &= unit_code == unit
    for codes, name in ((compartment, "compartment"), (unit_code, "unit")):
        unlabelled = ~np.isnan(value) & (codes < 0)
        if unlabelled.any():
            raise CriteriaError(
                f"car_counts.{name} is empty for {int(unlabelled.sum())} measurement(s), "
                f"e.g. {_label(index, position[np.argmax(unlabelled)])}; every value needs "
                f"its {name} (or blank the value)."
            )
    negative = keep & (value < 0)
    if negative.any():
        i = int(np.argmax(negative))
        raise CriteriaError(
            f"car_counts.value must be >= 0; got {value[i]!r} for "
            f"{_label(index, position[i])} on day {day[i]:g}."
        )
    rows = np.flatnonzero(keep)
    group = position[:n][rows]
    sort = np.lexsort((day[rows], group))
    rows = rows[sort]
    return _Curves(
        index=index,
        targets=targets,
        group=group[sort].astype(np.int64),
        day=day[rows],
        value=value[rows],
        compartment=compartment[rows],
        unit=unit_code[rows],
    )


def _label(index: pd.MultiIndex, group: int | np.integer) -> str:
    patient, infusion = index[int(group)]
    return f"patient {patient}, infusion {infusion}"


# --------------------------------------------------------------------------------------
# shared steps
# --------------------------------------------------------------------------------------


def _check_one_unit(
    index: pd.MultiIndex,
    group: IntArray,
    compartment: Int8Array,
    unit: Int8Array,
    starts: IntArray,
    hint: str,
) -> None:
    """Refuse a run (a curve: one group and compartment) measured in more than one unit.

    The arrays are sorted so that each run is contiguous; ``starts`` are its first rows.
    """
    if unit.size == 0:
        return
    low = np.minimum.reduceat(unit, starts)
    high = np.maximum.reduceat(unit, starts)
    mixed = np.flatnonzero(low != high)
    if mixed.size:
        begin = starts[mixed[0]]
        end = starts[mixed[0] + 1] if mixed[0] + 1 < starts.size else unit.size
        units = ", ".join(UNITS[u] for u in np.unique(unit[begin:end]))
        more = f" ({mixed.size - 1} more curve(s) too)" if mixed.size > 1 else ""
        raise CriteriaError(
            f"{_label(index, group[begin])}: {COMPARTMENTS[compartment[begin]]} values are "
            f"in several units ({units}){more}; a curve needs one unit. {hint}"
        )


def _lods(
    spec: Lod, curves: _Curves, needed: BoolArray, where: str
) -> FloatArray:
    """The LOD of each output row; refuses rows with measurements but no LOD."""
    if spec is None:
        return np.zeros(curves.n_groups)
    if not isinstance(spec, Mapping):
        return np.full(curves.n_groups, _lod_number(spec, where))
    table = _target_lods(spec, where)
    if curves.targets is None:
        raise CriteriaError(
            f"{where} is given per target ({', '.join(map(str, spec))}), so pass the "
            "infusions table (patient_id, infusion, target) too, or give one number."
        )
    codes, uniques = pd.factorize(curves.targets, use_na_sentinel=True)
    per_target = np.array(
        [table.get(str(t).strip().casefold(), np.nan) for t in uniques] + [np.nan]
    )
    lods = per_target[np.where(codes < 0, len(uniques), codes)]
    lacking = np.flatnonzero(needed & np.isnan(lods))
    if lacking.size:
        group = lacking[0]
        target = curves.targets[group]
        more = f" ({lacking.size - 1} more infusion(s) too)" if lacking.size > 1 else ""
        raise CriteriaError(
            f"{_label(curves.index, group)}: no limit of detection for target "
            f"{'(missing)' if target is None or pd.isna(target) else repr(target)} in "
            f"{where} (given for {', '.join(map(repr, spec))}){more}. Add that target to "
            "the mapping, fill infusions.target, or give one number."
        )
    return lods


def _above(value: FloatArray, lod: FloatArray) -> BoolArray:
    """``value > lod``, not fooled by rounding just above the LOD (as in criteria)."""
    return np.asarray(value > lod + np.abs(lod) * RTOL)


def _first_per_run(mask: BoolArray, run: IntArray) -> IntArray:
    """Positions of the first True of each run (``run`` sorted) that has one."""
    hits = np.flatnonzero(mask)
    return hits[np.r_[True, run[hits][1:] != run[hits][:-1]]] if hits.size else hits


def _last_per_run(mask: BoolArray, run: IntArray) -> IntArray:
    """Positions of the last True of each run (``run`` sorted) that has one."""
    hits = np.flatnonzero(mask)
    return hits[np.r_[run[hits][1:] != run[hits][:-1], True]] if hits.size else hits


def _trapezoids(day: FloatArray, value: FloatArray, log_down: bool) -> FloatArray:
    """Area of each segment between consecutive points (one fewer than the points)."""
    dt = np.diff(day)
    c1, c2 = value[:-1], value[1:]
    area = (c1 + c2) / 2.0 * dt
    if log_down:
        down = (c2 < c1) & (c2 > 0)
        d1, d2 = c1[down], c2[down]
        # (C1 - C2) dt / ln(C1 / C2), with ln(C1 / C2) = log1p((C1 - C2) / C2): accurate
        # when C2 is close to C1, where the two forms agree to rounding otherwise.
        area[down] = (d1 - d2) * dt[down] / np.log1p((d1 - d2) / d2)
    return np.asarray(area)


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------


def expansion_metrics(
    car_counts: pd.DataFrame,
    infusions: pd.DataFrame | None = None,
    *,
    compartment: Compartment = "blood",
    unit: Unit | None = "cells_per_ul",
    window: tuple[float, float] = (0.0, 28.0),
    lod: Lod = None,
    auc_method: AucMethod = "linear-up/log-down",
    duplicates: Duplicates = "error",
) -> pd.DataFrame:
    """Expansion of CAR T cells after each infusion: Cmax, Tmax, AUC, Tlast, Clast.

    Parameters
    ----------
    car_counts
        One row per measurement, columns ``patient_id``, ``infusion``, ``day``,
        ``compartment``, ``value``, ``unit`` (other columns are ignored). Rows with a
        missing ``value`` or ``day`` are dropped.
    infusions
        Optional table with ``patient_id``, ``infusion`` and ``target`` (``CD19``,
        ``CD22``, ``CD19/CD22``, ``other``). Needed when ``lod`` is given per target;
        its infusions also appear in the result when they have no measurement.
    compartment
        ``"blood"`` (default), ``"marrow"`` or ``"csf"``: the curve is built from this
        compartment's measurements only.
    unit
        Measurements in this unit make the curve; other units are ignored (a laboratory
        may report the same sample as cells/uL and as percent of T cells). Default
        ``"cells_per_ul"``. ``None``: take whatever unit each curve has, which must be a
        single one per (patient_id, infusion) within the window.
    window
        ``(start, end)`` in days from the infusion, both inclusive. Default ``(0, 28)``.
        Measurements before ``start`` (a pre-infusion baseline) or after ``end`` are
        ignored; a baseline on day 0 counts.
    lod
        Limit of detection, in the unit of the values. ``None`` (default): any value
        above 0 is detected. A number: the same for every infusion. A mapping from
        product target to number, e.g. :data:`SEED_STUDY_MARROW_LOD`
        (``{"CD19": 0.1, "CD22": 1.0}``, marrow percent): the limit of each infusion's
        product (needs ``infusions``; keys match ``infusions.target`` ignoring case).
    auc_method
        ``"linear-up/log-down"`` (default) or ``"linear"`` (linear trapezoid throughout).
    duplicates
        Two measurements of one curve on the same day: ``"error"`` (default) refuses
        them; ``"mean"`` averages them first.

    Returns
    -------
    pandas.DataFrame
        Indexed by (``patient_id``, ``infusion``), sorted, one row for every pair found
        in ``car_counts`` (any compartment) or ``infusions``; an infusion without a
        usable measurement has ``n_points`` 0 and missing metrics. Columns:

        - ``cmax``: highest value within the window.
        - ``tmax``: day of the first occurrence of ``cmax``; missing when ``cmax`` is 0
          (no peak).
        - ``auc``: area under the curve through the observed points within the window
          (value x days), by ``auc_method``; 0 for a single point.
        - ``auc_method``: the method used.
        - ``tlast``, ``clast``: last day with a value above the LOD, and that value;
          missing when no value is above it.
        - ``n_points``: measurements used (same-day repeats averaged count once).
        - ``expansion``: True when any value within the window is above the LOD, False
          when none is ("no expansion"), missing without measurements.
        - ``lod``: the limit of detection applied.
        - ``unit``: the unit of the curve; ``target``: the product's target (missing
          without ``infusions``).

    Raises
    ------
    reinfuse.errors.CriteriaError
        (a ``ReinfuseError`` and a ``ValueError``) for a missing column, an unknown
        compartment or unit label, a negative value, a curve in several units (with
        ``unit=None``), two values on one day (with ``duplicates="error"``), or an
        infusion whose target has no LOD in the mapping.

    Notes
    -----
    Definitions follow non-compartmental pharmacokinetic analysis as documented by the
    PKNCA R package (vignette "AUC integration methods"; ``pk.calc.cmax``,
    ``pk.calc.tmax``, ``pk.calc.tlast``, ``pk.calc.clast.obs``) and Certara Phoenix
    WinNonlin ("Partial area calculation"):

    - Linear trapezoid, segment from (t1, C1) to (t2, C2): (C1 + C2) / 2 x (t2 - t1).
    - Linear-up/log-down: the linear trapezoid when the value rises or stays level
      (C2 >= C1), the logarithmic trapezoid (C1 - C2) x (t2 - t1) / ln(C1 / C2) when it
      falls and both values are above 0; linear when either value is 0 (the logarithm
      is undefined). For an exponential decline the logarithmic segment is exact.
    - Tmax is the first time of the maximum (PKNCA's default ``first.tmax``), missing
      when every value is 0 (as ``pk.calc.tmax``). Tlast/Clast are the last time and
      value above the limit of detection (PKNCA: above the limit of quantification).

    The AUC joins the observed points in the window; it is neither interpolated nor
    extrapolated to the window's ends, so a curve first sampled on day 3 starts on day
    3. Values at or below the LOD enter the AUC as reported; record an undetectable
    sample as 0 to count it as no cells (then the segment after Tlast is linear down to
    0, as in PKNCA's AUCall).

    "Above the limit of detection" is strict: ``value > lod`` (a value equal to the LOD
    is not detected), with the 1e-9 relative rounding tolerance of
    :mod:`reinfuse.criteria`. Limits of detection of the seed study: CAR+ T cells in
    bone marrow by flow cytometry 0.1 % for the CD19 CAR and 1 % for the CD22 CAR
    (Methods, "Disease assessments"); the paper gives no blood limit, hence the default
    ``None`` (any value above 0). "No expansion" is ``expansion == False``.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({
    ...     "patient_id": "P1", "infusion": 1, "day": [-2, 0, 7, 14, 28],
    ...     "compartment": "blood", "value": [3.0, 0, 100, 50, 10], "unit": "cells_per_ul"})
    >>> m = expansion_metrics(counts)
    >>> columns = ["cmax", "tmax", "auc", "tlast", "n_points", "expansion"]
    >>> print(m[columns].round(2).reset_index().to_string(index=False))
    patient_id  infusion  cmax  tmax     auc  tlast  n_points  expansion
            P1         1 100.0   7.0 1202.89   28.0         4       True
    >>> float(expansion_metrics(counts, auc_method="linear").loc[("P1", 1), "auc"])
    1295.0

    A limit of detection per product target (marrow percent, seed study):

    >>> marrow = pd.DataFrame({
    ...     "patient_id": ["A", "B"], "infusion": 1, "day": 28, "compartment": "marrow",
    ...     "value": 0.8, "unit": "percent_of_cells"})
    >>> products = pd.DataFrame({"patient_id": ["A", "B"], "infusion": 1,
    ...                          "target": ["CD19", "CD22"]})
    >>> expansion_metrics(marrow, products, compartment="marrow", unit="percent_of_cells",
    ...                   lod=SEED_STUDY_MARROW_LOD)["expansion"].tolist()
    [True, False]
    """
    comp = _option(compartment, COMPARTMENTS, "compartment")
    unit_code = None if unit is None else _option(unit, UNITS, "unit")
    method = _option(auc_method, AUC_METHODS, "auc_method")
    _option(duplicates, ("error", "mean"), "duplicates")
    span = _window(window)
    curves = _prepare(car_counts, infusions, compartments=(comp,), unit=unit_code, window=span)
    starts = curves.starts()
    where = COMPARTMENTS[comp]
    if unit_code is None:
        _check_one_unit(curves.index, curves.group, curves.compartment, curves.unit, starts,
                        "Pass unit='cells_per_ul' (or another unit) to choose one.")
    g, day, value, unit_of = _one_value_per_day(curves, duplicates, where)

    n_groups = curves.n_groups
    first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else g[:0]
    group_of_run = g[first]
    run = np.cumsum(np.r_[True, g[1:] != g[:-1]]) - 1 if g.size else g[:0]
    n_points = np.zeros(n_groups, dtype=np.int64)
    n_points[group_of_run] = np.diff(np.r_[first, g.size])
    has = n_points > 0
    lods = _lods(lod, curves, has, "lod")

    cmax = np.full(n_groups, np.nan)
    tmax = np.full(n_groups, np.nan)
    auc = np.full(n_groups, np.nan)
    tlast = np.full(n_groups, np.nan)
    clast = np.full(n_groups, np.nan)
    if g.size:
        run_max = np.maximum.reduceat(value, first)
        cmax[group_of_run] = run_max
        peak = _first_per_run(value == run_max[run], run)
        tmax[g[peak]] = np.where(value[peak] > 0, day[peak], np.nan)
        area = _trapezoids(day, value, log_down=method == 0)
        inside = g[1:] == g[:-1]
        auc[group_of_run] = 0.0
        auc += np.bincount(g[:-1][inside], weights=area[inside], minlength=n_groups)
        detected = _above(value, lods[g])
        last = _last_per_run(detected, run)
        tlast[g[last]] = day[last]
        clast[g[last]] = value[last]
    else:
        detected = np.zeros(0, dtype=bool)

    expansion = pd.array(np.bincount(g[detected], minlength=n_groups) > 0, dtype="boolean")
    expansion[~has] = pd.NA
    if unit_code is not None:
        units = np.full(n_groups, UNITS[unit_code], dtype=object)
    else:
        units = np.full(n_groups, None, dtype=object)
        units[group_of_run] = np.asarray(UNITS, dtype=object)[unit_of[first]]
    targets = curves.targets if curves.targets is not None else np.full(n_groups, None)
    return pd.DataFrame(
        {
            "cmax": cmax,
            "tmax": tmax,
            "auc": auc,
            "auc_method": pd.array([AUC_METHODS[method]] * n_groups, dtype="string"),
            "tlast": tlast,
            "clast": clast,
            "n_points": n_points,
            "expansion": expansion,
            "lod": lods,
            "unit": pd.array(units, dtype="string"),
            "target": pd.array(targets, dtype="string"),
        },
        index=curves.index,
    )


def _one_value_per_day(
    curves: _Curves, duplicates: str, where: str
) -> tuple[IntArray, FloatArray, FloatArray, Int8Array]:
    """The curves' (group, day, value, unit), refusing or averaging same-day repeats."""
    g, day, value, unit = curves.group, curves.day, curves.value, curves.unit
    repeat = (g[1:] == g[:-1]) & (day[1:] == day[:-1])
    if not repeat.any():
        return g, day, value, unit
    if _norm(duplicates) == "error":
        i = int(np.argmax(repeat))
        same = value[(g == g[i]) & (day == day[i])]
        raise CriteriaError(
            f"{_label(curves.index, g[i])}: {same.size} {where} values on day {day[i]:g} "
            f"({', '.join(f'{v:g}' for v in same)}); keep one per day, or pass "
            "duplicates='mean' to average them."
        )
    new = np.r_[True, ~repeat]
    run = np.cumsum(new) - 1
    mean = np.bincount(run, weights=value) / np.bincount(run)
    return g[new], day[new], mean, unit[new]


_DETECTED_IN: tuple[str | None, ...] = tuple(
    "+".join(c for bit, c in enumerate(COMPARTMENTS) if mask >> bit & 1) or None
    for mask in range(2 ** len(COMPARTMENTS))
)


def last_detection_day(
    car_counts: pd.DataFrame,
    infusions: pd.DataFrame | None = None,
    *,
    lod: CompartmentLod = None,
    compartments: Collection[Compartment] | None = None,
    window: tuple[float, float] = (0.0, math.inf),
) -> pd.DataFrame:
    """Last day CAR T cells were detected after each infusion, in any compartment.

    Parameters
    ----------
    car_counts
        One row per measurement (see :func:`expansion_metrics`), any compartment and
        unit. Rows with a missing ``value`` or ``day`` are dropped.
    infusions
        Optional table with ``patient_id``, ``infusion`` and ``target``: needed when
        ``lod`` is given per target; its infusions also appear in the result when they
        have no measurement.
    lod
        Limit of detection. ``None`` (default): any value above 0 is detected. A number
        or a target mapping (as in :func:`expansion_metrics`) applies to every
        compartment. A mapping keyed by compartment gives each compartment its own
        (``None``, a number or a target mapping); compartments left out use ``None``.
        E.g. ``{"marrow": SEED_STUDY_MARROW_LOD}`` for the seed study. A compartment
        with a limit above 0 must be recorded in one unit per infusion.
    compartments
        Compartments to look in; default all (blood, marrow, CSF).
    window
        ``(start, end)`` days from the infusion, inclusive. Default ``(0, inf)``: any
        time after the infusion; measurements before it (residual CAR T cells from an
        earlier infusion) do not count.

    Returns
    -------
    pandas.DataFrame
        Indexed by (``patient_id``, ``infusion``), sorted, one row for every pair of
        ``car_counts`` or ``infusions``. Columns:

        - ``last_detection_day``: last day with a value above the LOD in any of the
          compartments; missing when never detected.
        - ``detected_in``: the compartment(s) detected on that day, joined with ``+``
          (``"blood+csf"``).
        - ``detected``: whether CAR T cells were ever detected in the window; missing
          without measurements.
        - ``last_assessment_day``: last day with any measurement (detected or not), the
          end of the observation for a swimmer plot.
        - ``n_points``: measurements used.

    Raises
    ------
    reinfuse.errors.CriteriaError
        For a missing column, an unknown label, a negative value, a target without a
        limit, or a compartment with a limit above 0 recorded in several units.

    Notes
    -----
    Detection is ``value > lod`` (strict, 1e-9 relative tolerance), the definition of
    :func:`expansion_metrics`. The seed study reports "timepoint of last CAR T-cell
    detection" in its swimmer plot (Figure 1 legend) and gives the bone marrow limits of
    detection by flow cytometry, 0.1 % for the CD19 CAR and 1 % for the CD22 CAR
    (Methods). ``day`` counts from each row's own infusion, so a cell count taken after
    a reinfusion belongs to the infusion it is recorded against.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({
    ...     "patient_id": "P1", "infusion": 1, "day": [-3, 14, 60, 90, 120],
    ...     "compartment": ["blood", "blood", "blood", "marrow", "blood"],
    ...     "value": [5.0, 40, 0.5, 0.4, 0], "unit": ["cells_per_ul"] * 3
    ...     + ["percent_of_cells", "cells_per_ul"]})
    >>> products = pd.DataFrame({"patient_id": ["P1"], "infusion": [1], "target": ["CD22"]})
    >>> r = last_detection_day(counts, products, lod={"marrow": SEED_STUDY_MARROW_LOD})
    >>> print(r.reset_index().to_string(index=False))
    patient_id  infusion  last_detection_day detected_in  detected  last_assessment_day  n_points
            P1         1                60.0       blood      True                120.0         4

    The day -3 value (before the infusion) does not count, nor does 0.4 % in marrow
    (below the 1 % CD22 limit); with a CD19 product it would (above 0.1 %):

    >>> products["target"] = "CD19"
    >>> last_detection_day(counts, products, lod={"marrow": SEED_STUDY_MARROW_LOD}
    ...                    )["detected_in"].tolist()
    ['marrow']
    """
    if compartments is None:
        chosen = list(range(len(COMPARTMENTS)))
    elif isinstance(compartments, str):
        chosen = [_option(compartments, COMPARTMENTS, "compartments")]
    else:
        chosen = sorted({_option(c, COMPARTMENTS, "compartments") for c in compartments})
    span = _window(window)
    per_compartment = _per_compartment_lod(lod)
    curves = _prepare(car_counts, infusions, compartments=chosen, unit=None, window=span)
    g, comp = curves.group, curves.compartment
    n_groups = curves.n_groups

    lod_table = np.zeros((n_groups, len(COMPARTMENTS)))
    for c in chosen:  # at most three compartments
        spec = per_compartment.get(COMPARTMENTS[c])
        needed = np.bincount(g[comp == c], minlength=n_groups) > 0
        where = "lod" if "*" in per_compartment else f"lod for {COMPARTMENTS[c]}"
        lod_table[:, c] = _lods(spec, curves, needed, where)
    row_lod = lod_table[g, comp] if g.size else np.zeros(0)

    limited = np.flatnonzero(row_lod > 0)
    if limited.size:
        # A limit above 0 holds for one unit: each limited curve (one infusion and
        # compartment) must be recorded in a single unit.
        key = g[limited] * len(COMPARTMENTS) + comp[limited]
        rows = limited[np.argsort(key, kind="stable")]
        key = np.sort(key, kind="stable")
        _check_one_unit(
            curves.index, g[rows], comp[rows], curves.unit[rows],
            np.flatnonzero(np.r_[True, key[1:] != key[:-1]]),
            "A limit of detection above 0 holds for one unit: keep one unit for that "
            "compartment in car_counts (or filter the table), or give it lod=None.")

    detected = _above(curves.value, row_lod)
    starts = curves.starts()
    n_points = np.zeros(n_groups, dtype=np.int64)
    last_assessment = np.full(n_groups, np.nan)
    last_day = np.full(n_groups, np.nan)
    detected_in = np.full(n_groups, None, dtype=object)
    if g.size:
        present = g[starts]
        ends = np.r_[starts[1:], g.size] - 1
        n_points[present] = ends - starts + 1
        last_assessment[present] = curves.day[ends]
        run = np.cumsum(np.r_[True, g[1:] != g[:-1]]) - 1
        last = _last_per_run(detected, run)
        last_day[g[last]] = curves.day[last]
        on_last = detected & (curves.day == last_day[g])
        pairs = np.unique(g[on_last] * len(COMPARTMENTS) + comp[on_last])
        bits = np.bincount(pairs // len(COMPARTMENTS),
                           weights=2.0 ** (pairs % len(COMPARTMENTS)), minlength=n_groups)
        detected_in = np.asarray(_DETECTED_IN, dtype=object)[bits.astype(np.int64)]
    ever = pd.array(~np.isnan(last_day), dtype="boolean")
    ever[n_points == 0] = pd.NA
    return pd.DataFrame(
        {
            "last_detection_day": last_day,
            "detected_in": pd.array(detected_in, dtype="string"),
            "detected": ever,
            "last_assessment_day": last_assessment,
            "n_points": n_points,
        },
        index=curves.index,
    )


def _per_compartment_lod(lod: CompartmentLod) -> dict[str, Lod]:
    """``{compartment: Lod}``; the key ``"*"`` marks one limit for every compartment."""
    if lod is None or not isinstance(lod, Mapping):
        same: dict[str, Lod] = dict.fromkeys(COMPARTMENTS, lod)
        return same | {"*": lod}
    keys = {k: _norm(k) if isinstance(k, str) else "" for k in lod}
    if lod and all(v in COMPARTMENTS for v in keys.values()):
        out: dict[str, Lod] = dict.fromkeys(COMPARTMENTS)
        for key, spec in lod.items():
            where = f"lod[{key!r}]"
            if isinstance(spec, Mapping):
                _target_lods(spec, where)
            elif spec is not None:
                _lod_number(spec, where)
            out[keys[key]] = cast(Lod, spec)
        return out
    if any(v in COMPARTMENTS for v in keys.values()):
        raise CriteriaError(
            f"lod mixes compartments and targets as keys ({', '.join(map(repr, lod))}); "
            "key it either by compartment (blood, marrow, csf) or by target."
        )
    by_target = cast(Lod, lod)
    return dict.fromkeys(COMPARTMENTS, by_target) | {"*": by_target}
