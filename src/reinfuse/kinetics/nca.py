"""Non-compartmental analysis (NCA) of CAR T-cell kinetics following PKNCA's rules.

:func:`nca` computes, for every (patient_id, infusion) of a ``car_counts`` table, the
parameters a pharmacometrician would take from the R package PKNCA for one interval:
Cmax, Tmax, Clast, Tlast, AUClast, AUCall, the AUC over the whole window, the terminal
slope lambda_z chosen by adjusted R^2 and the half-life. The rules, and where they come
from (PKNCA 0.12, "Options for Controlling PKNCA" vignette and the help of
``clean.conc.blq``, ``pk.calc.tmax``, ``pk.calc.auc``, ``pk.calc.half.life``), are in the
docstring of :func:`nca` and in docs/kinetics.md.

Everything runs on whole tables at once (sorting, cumulative sums and ``reduceat``; no
loop over patients), so 100,000 infusions take about a second
(``benchmarks/bench_kinetics.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reinfuse.errors import CriteriaError
from reinfuse.kinetics import (
    AUC_METHODS,
    COMPARTMENTS,
    UNITS,
    AucMethod,
    BoolArray,
    Compartment,
    Duplicates,
    FloatArray,
    IntArray,
    Lod,
    Unit,
    _above,
    _check_one_unit,
    _first_per_run,
    _last_per_run,
    _lods,
    _one_value_per_day,
    _option,
    _prepare,
    _trapezoids,
    _window,
)

__all__ = ["NCA_COLUMNS", "NcaResult", "nca"]

#: Columns of :attr:`NcaResult.table`, in order.
NCA_COLUMNS: tuple[str, ...] = (
    "cmax", "tmax", "tlast", "clast", "auclast", "aucall", "auc_window",
    "lambda_z", "half_life", "r_squared", "adj_r_squared", "lambda_z_n_points",
    "lambda_z_time_first", "n_points", "n_below_limit", "n_below_limit_dropped",
    "lod", "unit", "target",
)


@dataclass(frozen=True)
class NcaResult:
    """Non-compartmental parameters of every infusion, with the rules used.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (``patient_id``, ``infusion``), columns :data:`NCA_COLUMNS` (see
        :func:`nca`).
    method : str
        A sentence stating how the parameters were computed, for a Methods section.
    window : tuple of float
        The interval (start, end), days from each infusion.
    compartment, unit, auc_method : str
        The options used (``unit`` is None when each curve kept its own unit).
    min_hl_points : int
        Fewest points in the terminal-slope regression.
    adj_r_squared_factor : float
        Tolerance on the adjusted R^2 within which the fit with the most points wins.
    allow_tmax_in_half_life : bool
        Whether the point at Tmax may enter the terminal-slope regression.
    """

    table: pd.DataFrame
    method: str
    window: tuple[float, float]
    compartment: str
    unit: str | None
    auc_method: str
    min_hl_points: int
    adj_r_squared_factor: float
    allow_tmax_in_half_life: bool


def _runs(g: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(first position of each run of equal ``g``, last position, run number of each)."""
    if g.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    new = np.r_[True, g[1:] != g[:-1]]
    first = np.flatnonzero(new)
    last = np.r_[first[1:], g.size] - 1
    return first, last, np.cumsum(new) - 1


def _suffix_sums(x: FloatArray, last: IntArray, run: IntArray) -> FloatArray:
    """Sum of ``x`` from each position to the end of its run."""
    total = np.cumsum(x)
    return np.asarray(total[last][run] - total + x)


def _terminal_slope(
    g: IntArray,
    day: FloatArray,
    conc: FloatArray,
    n_groups: int,
    min_points: int,
    factor: float,
) -> dict[str, FloatArray]:
    """lambda_z of each curve from its last points (PKNCA ``pk.calc.half.life``).

    ``g, day, conc`` are the candidate points (after Tmax, above the limit), sorted by
    (group, day). For every curve every fit of its last n >= ``min_points`` points is
    made at once from suffix sums; the chosen fit has lambda_z > 0 and an adjusted R^2
    above (best adjusted R^2 of the curve - ``factor``), and among those the most points.
    """
    out = {name: np.full(n_groups, np.nan) for name in (
        "lambda_z", "r_squared", "adj_r_squared", "lambda_z_n_points",
        "lambda_z_time_first")}
    if g.size == 0:
        return out
    _, last, run = _runs(g)
    n = (last[run] - np.arange(g.size) + 1).astype(np.float64)
    # Centre each curve on its last point: the sums then stay small and exact enough.
    t = day - day[last][run]
    y = np.log(conc)
    y = y - y[last][run]
    s_t, s_y = _suffix_sums(t, last, run), _suffix_sums(y, last, run)
    s_tt = _suffix_sums(t * t, last, run)
    s_yy = _suffix_sums(y * y, last, run)
    s_ty = _suffix_sums(t * y, last, run)
    cand = np.flatnonzero(n >= min_points)
    if cand.size == 0:
        return out
    n, s_t, s_y, s_tt, s_yy, s_ty = (a[cand] for a in (n, s_t, s_y, s_tt, s_yy, s_ty))
    sxx = s_tt - s_t * s_t / n
    sxy = s_ty - s_t * s_y / n
    syy = s_yy - s_y * s_y / n
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        # R^2 = 1 - SSR / SST with SSR = Syy - Sxy^2 / Sxx; undefined (NaN) when every
        # log value is equal (SST = 0), as in PKNCA (0 / 0).
        r2 = 1.0 - (syy - sxy * slope) / syy
        r2 = np.where(syy > 0, np.minimum(r2, 1.0), np.nan)
    adj = 1.0 - (1.0 - r2) * (n - 1.0) / (n - 2.0)
    lam = -slope
    cg = g[cand]
    c_first, _, c_run = _runs(cg)
    best = np.fmax.reduceat(adj, c_first)  # NaN only when all of a curve's fits are NaN
    eligible = (lam > 0) & (adj > best[c_run] - factor)
    # n falls along a curve's candidates, so the first eligible one has the most points.
    pick = _first_per_run(eligible, c_run)
    rows = cg[pick]
    out["lambda_z"][rows] = lam[pick]
    out["r_squared"][rows] = r2[pick]
    out["adj_r_squared"][rows] = adj[pick]
    out["lambda_z_n_points"][rows] = n[pick]
    out["lambda_z_time_first"][rows] = day[cand[pick]]
    return out


def nca(
    car_counts: pd.DataFrame,
    infusions: pd.DataFrame | None = None,
    *,
    compartment: Compartment = "blood",
    unit: Unit | None = "cells_per_ul",
    window: tuple[float, float] = (0.0, 28.0),
    lod: Lod = None,
    auc_method: AucMethod = "linear-up/log-down",
    duplicates: Duplicates = "error",
    min_hl_points: int = 3,
    adj_r_squared_factor: float = 1e-4,
    allow_tmax_in_half_life: bool = False,
) -> NcaResult:
    """Non-compartmental analysis of each infusion's CAR T-cell curve (PKNCA's rules).

    Parameters
    ----------
    car_counts, infusions, compartment, unit, lod, duplicates
        As in :func:`reinfuse.kinetics.expansion_metrics`: one row per measurement
        (``patient_id``, ``infusion``, ``day``, ``compartment``, ``value``, ``unit``);
        the optional ``infusions`` table gives each product's ``target`` for a limit of
        detection per target. A value at or below ``lod`` (default None: a value of 0)
        is *below the limit*.
    window
        The interval ``(start, end)``, days from the infusion, both inclusive; default
        ``(0, 28)``. Only measurements inside it are used, as PKNCA does per interval.
    auc_method
        ``"linear-up/log-down"`` (PKNCA's default ``"lin up/log down"``) or
        ``"linear"``.
    min_hl_points
        Fewest points in the terminal-slope regression (PKNCA ``min.hl.points``, default
        3; at least 3, the fewest with an adjusted R^2).
    adj_r_squared_factor
        PKNCA ``adj.r.squared.factor`` (default 1e-4, must be > 0): fits whose adjusted
        R^2 is more than (best - factor) count as equally good, and the one with most
        points wins.
    allow_tmax_in_half_life
        PKNCA ``allow.tmax.in.half.life`` (default False: only points after Tmax).

    Returns
    -------
    NcaResult
        ``table`` indexed by (``patient_id``, ``infusion``), sorted, one row for every
        pair of ``car_counts`` or ``infusions``, columns:

        - ``cmax``, ``tmax``: highest value and the first day it occurs (Tmax missing
          when every value is below the limit).
        - ``tlast``, ``clast``: last day with a value above the limit, and that value.
        - ``auclast``: AUC from the first measurement to Tlast (value x days).
        - ``aucall``: AUClast plus the linear segment from Tlast down to 0 at the next
          measurement (below the limit), as PKNCA's AUCall.
        - ``auc_window``: the AUC over the whole window (AUC0-28 by default): AUClast
          when the curve is measured on the window's first day and either on its last
          day or below the limit at its last measurement; missing otherwise (see Notes).
        - ``lambda_z``, ``half_life`` (ln 2 / lambda_z), ``r_squared``,
          ``adj_r_squared``, ``lambda_z_n_points``, ``lambda_z_time_first``: the chosen
          terminal log-linear regression; missing when no fit qualifies.
        - ``n_points``: measurements used (after the below-limit rules);
          ``n_below_limit``: values at or below the limit in the window;
          ``n_below_limit_dropped``: those dropped by the "middle" rule.
        - ``lod``, ``unit``, ``target``: the limit applied, the unit, the product target.

        AUCs are missing with fewer than 2 usable measurements and 0 when every value is
        below the limit (PKNCA).

    Raises
    ------
    reinfuse.errors.CriteriaError
        For the input problems of :func:`~reinfuse.kinetics.expansion_metrics` and for
        an option outside its allowed values.

    Notes
    -----
    Rules, as documented by PKNCA (R package, version 0.12; the defaults of
    ``PKNCA.options``):

    - Below the limit (``conc.blq``: first ``"keep"``, middle ``"drop"``, last
      ``"keep"``): values below the limit up to the first value above it are kept as 0,
      those between the first and the last value above it are dropped, those from the
      last value above it on are kept as 0. A curve entirely below the limit keeps all
      its values as 0. PKNCA codes a value below the limit as 0; a measured value at or
      below ``lod`` is therefore counted as 0 here (the assay cannot tell it from 0).
    - Tmax: the first time of the maximum (``first.tmax = TRUE``).
    - AUC, linear-up/log-down: linear trapezoid when the value rises or stays level, the
      logarithmic trapezoid (C1 - C2) dt / ln(C1 / C2) when it falls to a value above 0,
      linear when it falls to 0 (``choose_interval_method``). AUClast stops at Tlast;
      AUCall adds the segment after Tlast, linear to 0.
    - Terminal slope (``pk.calc.half.life``): log(value) regressed on time over the last
      n points after Tmax that are above the limit, for every n >= ``min_hl_points``;
      among fits with lambda_z > 0 and adjusted R^2 > (best adjusted R^2 -
      ``adj_r_squared_factor``), the one with the most points. Adjusted R^2 =
      1 - (1 - R^2)(n - 1)/(n - 2).
    - AUC over the window: PKNCA refuses an interval that starts before the first
      measurement (missing here too) and takes the curve as 0 after Tlast. When sampling
      stops inside the window while cells are still detected, PKNCA would count 0 for
      the rest of the window; here the AUC over the window is missing instead, because
      an unknown is never counted as none. ``auclast`` gives PKNCA's value.

    Public check (the issue; the nlmixr2lib vignette "Tisagenlecleucel (Stein 2019)" run
    through PKNCA): the typical curve of Stein et al. 2019 on a 0.1-day grid over days
    0-28 gives AUClast 172,000, Cmax 24,000, Tmax 9.3 d and half-life 4.75 d.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({
    ...     "patient_id": "P1", "infusion": 1, "day": [0, 7, 14, 21, 28],
    ...     "compartment": "blood", "value": [0.0, 100, 50, 25, 12.5],
    ...     "unit": "cells_per_ul"})
    >>> t = nca(counts).table.reset_index()
    >>> columns = ["cmax", "tmax", "tlast", "auclast", "half_life", "lambda_z_n_points"]
    >>> print(t[columns].round(2).to_string(index=False))
     cmax  tmax  tlast  auclast  half_life  lambda_z_n_points
    100.0   7.0   28.0  1233.65        7.0                  3
    """
    comp = _option(compartment, COMPARTMENTS, "compartment")
    unit_code = None if unit is None else _option(unit, UNITS, "unit")
    method = _option(auc_method, AUC_METHODS, "auc_method")
    _option(duplicates, ("error", "mean"), "duplicates")
    if isinstance(min_hl_points, bool) or not isinstance(min_hl_points, (int, np.integer)) \
            or min_hl_points < 3:
        raise CriteriaError(
            f"min_hl_points must be a whole number >= 3; got {min_hl_points!r}.")
    factor = float(adj_r_squared_factor)
    if not (math.isfinite(factor) and factor > 0):
        raise CriteriaError(
            f"adj_r_squared_factor must be a number > 0 (fits within it of the best count "
            f"as equally good; PKNCA compares strictly, so 0 would reject every fit); got "
            f"{adj_r_squared_factor!r}.")
    if not isinstance(allow_tmax_in_half_life, (bool, np.bool_)):
        raise CriteriaError(
            f"allow_tmax_in_half_life must be True or False; got "
            f"{allow_tmax_in_half_life!r}.")
    span = _window(window)
    curves = _prepare(car_counts, infusions, compartments=(comp,), unit=unit_code,
                      window=span)
    if unit_code is None:
        _check_one_unit(curves.index, curves.group, curves.compartment, curves.unit,
                        curves.starts(), "Pass unit='cells_per_ul' (or another unit).")
    g, day, value, unit_of = _one_value_per_day(curves, duplicates, COMPARTMENTS[comp])
    n_groups = curves.n_groups
    has = np.bincount(g, minlength=n_groups) > 0
    lods = _lods(lod, curves, has, "lod")

    # Below-limit rules: first kept (as 0), middle dropped, last kept (as 0).
    above = _above(value, lods[g]) if g.size else np.zeros(0, dtype=bool)
    _, _, run = _runs(g)
    tfirst = np.full(n_groups, np.nan)
    tlast = np.full(n_groups, np.nan)
    clast = np.full(n_groups, np.nan)
    if g.size:
        hit = _first_per_run(above, run)
        tfirst[g[hit]] = day[hit]
        hit = _last_per_run(above, run)
        tlast[g[hit]] = day[hit]
        clast[g[hit]] = value[hit]
    below = ~above
    middle = below & (day > tfirst[g]) & (day < tlast[g])
    n_below = np.bincount(g[below], minlength=n_groups)
    n_dropped = np.bincount(g[middle], minlength=n_groups)
    keep = ~middle
    g, day = g[keep], day[keep]
    conc = np.where(above[keep], value[keep], 0.0)
    unit_of = unit_of[keep]
    first, last, run = _runs(g)
    n_points = np.bincount(g, minlength=n_groups)

    cmax = np.full(n_groups, np.nan)
    tmax = np.full(n_groups, np.nan)
    auclast = np.full(n_groups, np.nan)
    aucall = np.full(n_groups, np.nan)
    auc_window = np.full(n_groups, np.nan)
    after: BoolArray = np.zeros(g.size, dtype=bool)
    if g.size:
        peak_value = np.maximum.reduceat(conc, first)
        cmax[g[first]] = peak_value
        peak = _first_per_run(conc == peak_value[run], run)
        tmax[g[peak]] = np.where(conc[peak] > 0, day[peak], np.nan)
        area = _trapezoids(day, conc, log_down=method == 0)
        inside = g[1:] == g[:-1]
        to_tlast = inside & (day[1:] <= tlast[g[1:]])
        two = n_points >= 2
        auclast[two] = 0.0
        aucall[two] = 0.0
        auclast += np.bincount(g[1:][to_tlast], weights=area[to_tlast], minlength=n_groups)
        aucall += np.bincount(g[1:][inside], weights=area[inside], minlength=n_groups)
        # The window's AUC: measured from its start, and to its end or below the limit.
        start, end = span
        covered = np.zeros(n_groups, dtype=bool)
        covered[g[first]] = np.isclose(day[first], start, rtol=0, atol=1e-9) & (
            np.isclose(day[last], end, rtol=0, atol=1e-9) | (conc[last] == 0))
        auc_window = np.where(covered, auclast, np.nan)
        t_peak = tmax[g]
        after = (day >= t_peak) if allow_tmax_in_half_life else (day > t_peak)
    terminal = np.flatnonzero(after & (conc > 0))
    slope = _terminal_slope(g[terminal], day[terminal], conc[terminal], n_groups,
                            int(min_hl_points), factor)
    with np.errstate(divide="ignore"):
        half_life = math.log(2) / slope["lambda_z"]

    if unit_code is not None:
        units = np.full(n_groups, UNITS[unit_code], dtype=object)
    else:
        units = np.full(n_groups, None, dtype=object)
        if g.size:
            units[g[first]] = np.asarray(UNITS, dtype=object)[unit_of[first]]
    targets = curves.targets if curves.targets is not None else np.full(n_groups, None)
    table = pd.DataFrame(
        {
            "cmax": cmax, "tmax": tmax, "tlast": tlast, "clast": clast,
            "auclast": auclast, "aucall": aucall, "auc_window": auc_window,
            "lambda_z": slope["lambda_z"], "half_life": half_life,
            "r_squared": slope["r_squared"], "adj_r_squared": slope["adj_r_squared"],
            "lambda_z_n_points": pd.array(
                np.where(np.isnan(slope["lambda_z_n_points"]), 0,
                         slope["lambda_z_n_points"]).astype(np.int64), dtype="Int64"),
            "lambda_z_time_first": slope["lambda_z_time_first"],
            "n_points": n_points, "n_below_limit": n_below,
            "n_below_limit_dropped": n_dropped, "lod": lods,
            "unit": pd.array(units, dtype="string"),
            "target": pd.array(targets, dtype="string"),
        },
        index=curves.index,
    )
    table.loc[np.isnan(slope["lambda_z"]), "lambda_z_n_points"] = pd.NA
    return NcaResult(
        table=table,
        method=_method_sentence(COMPARTMENTS[comp], None if unit_code is None
                                else UNITS[unit_code], span, AUC_METHODS[method],
                                lod is not None, int(min_hl_points), factor,
                                bool(allow_tmax_in_half_life)),
        window=span,
        compartment=COMPARTMENTS[comp],
        unit=None if unit_code is None else UNITS[unit_code],
        auc_method=AUC_METHODS[method],
        min_hl_points=int(min_hl_points),
        adj_r_squared_factor=factor,
        allow_tmax_in_half_life=bool(allow_tmax_in_half_life),
    )


def _method_sentence(compartment: str, unit: str | None, window: tuple[float, float],
                     auc_method: str, has_lod: bool, min_points: int, factor: float,
                     allow_tmax: bool) -> str:
    limit = "the limit of detection" if has_lod else "0 (no limit of detection given)"
    unit_text = unit.replace("_", " ") if unit else "each curve's unit"
    start, end = window
    return (
        f"Non-compartmental analysis of {compartment} CAR T-cell levels ({unit_text}) "
        f"over days {start:g} to {end:g} after each infusion, following the rules of the "
        "R package PKNCA: values at or below "
        f"{limit} were kept as 0 before the first and after the last detectable value and "
        "dropped between them; Tmax is the first time of the maximum; AUCs by the "
        f"{auc_method} trapezoidal rule, AUClast to the last detectable value and AUCall "
        "adding the linear segment after it; the terminal rate constant (lambda_z) from "
        f"a log-linear regression on the last {min_points} or more detectable points "
        f"{'from' if allow_tmax else 'after'} Tmax, choosing among fits with lambda_z > 0 "
        f"and adjusted R^2 within {factor:g} of the best the one with most points; "
        "half-life = ln 2 / lambda_z."
    )
