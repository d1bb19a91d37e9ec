"""Disease assessments over time: pre-infusion status, best response and relapse (B-ALL).

These functions read the ``disease_assessments`` table of the cohort format: one row per
assessment, timed against an infusion, with the columns

==========================  ================================================================
column                      meaning
==========================  ================================================================
``patient_id``              patient (required)
``infusion``                the infusion the assessment is timed against (required)
``day``                     days from that infusion, negative before it (required; may be
                            fractional)
``marrow_blasts_pct``       marrow blasts by morphology, % (required column; values may be
                            missing)
``mrd_pct``                 marrow flow-cytometry MRD, % of mononuclear cells (0 =
                            undetectable)
``csf_wbc_per_ul``          CSF white cells per microlitre
``csf_rbc_per_ul``          CSF red cells per microlitre
``csf_blasts``              blasts on the CSF cytospin (yes/no)
``csf_flow_positive``       leukemia in the CSF by flow cytometry (yes/no)
``blood_wbc``               blood white cells, x 10^9/L
``blood_rbc``               blood red cells, x 10^12/L
``blood_blasts``            circulating blasts (yes/no)
``cns_clinical_signs``      clinical signs of CNS leukemia (yes/no)
``emd``                     non-CNS extramedullary disease (yes/no)
``anc``                     absolute neutrophil count, x 10^9/L
``platelets``               platelets, x 10^9/L
==========================  ================================================================

Any value may be missing (``pd.NA``, ``NaN``, ``None``); an optional column that is absent
counts as never recorded. Yes/no columns accept the inputs of :mod:`reinfuse.criteria`
(pandas ``boolean``, ``bool``, 0/1, yes/no strings).

Two rules apply throughout:

- Several rows of the same patient, infusion and day are one assessment: each column takes
  the last non-missing value of that day (in row order), so a marrow and a lumbar puncture
  entered on separate rows of the same day are read together.
- Results are indexed by ``(patient_id, infusion)``, sorted, one row per infusion that has
  at least one assessment row (an infusion without rows is absent: the absence of rows is
  not an assessment).

Everything is vectorised (one sort, then numpy cumulative operations): a million rows take
a few seconds. The thresholds are those of :mod:`reinfuse.criteria.marrow` (M1/M2/M3,
MRD), :mod:`reinfuse.criteria.cns` (CNS1/2/3, traumatic tap) and
:mod:`reinfuse.criteria.response` (response codes), which these functions call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from reinfuse.criteria._common import (
    NA,
    NO,
    RTOL,
    YES,
    BoolArray,
    CriteriaError,
    FloatArray,
    Int8Array,
    Layout,
    as_codes,
    as_float,
    as_tristate,
    ge,
    gt,
    kleene_not,
    lt,
)
from reinfuse.criteria.cns import CNS_STATUSES, cns_status
from reinfuse.criteria.marrow import marrow_class, morphology_class, mrd_negative
from reinfuse.criteria.response import mrd_negative_cr, response_codes
from reinfuse.vocabulary import DISEASE_ASSESSMENT_RANGES, RESPONSE_CODES

__all__ = [
    "ASSESSMENT_COLUMNS",
    "best_response",
    "pre_infusion_status",
    "relapse_after_response",
]

IntpArray: TypeAlias = npt.NDArray[np.intp]

KEYS = ("patient_id", "infusion")
_REQUIRED = (*KEYS, "day", "marrow_blasts_pct")
# numeric columns: (lowest, highest allowed, hint), shared with the cohort format
_NUMERIC = DISEASE_ASSESSMENT_RANGES
_FLAGS = ("csf_blasts", "csf_flow_positive", "blood_blasts", "cns_clinical_signs", "emd")

#: The columns of the ``disease_assessments`` table (the first four are required).
ASSESSMENT_COLUMNS: tuple[str, ...] = (
    *_REQUIRED,
    *(c for c in _NUMERIC if c != "marrow_blasts_pct"),
    *_FLAGS,
)

# response codes of criteria.response: 0 CR, 1 CRi, 2 PR, 3 SD, 4 PD (5 NE here)
_CR, _CRI, _PR, _SD, _PD, _NE = range(6)
# relapse: marrow blasts strictly above this percentage (clinical-definitions "Response":
# "Relapse: reappearance of blasts (marrow > 5% or extramedullary) after CR")
_RELAPSE_MARROW_ABOVE = 5.0
_PR_REDUCTION = 0.5  # PR: >= 50 % reduction of marrow blasts
_PD_INCREASE = 0.25  # PD: >= 25 % increase of marrow blasts
_PD_POINTS = 25.0  # PD with pd_increase="points": >= 25 percentage points


# --------------------------------------------------------------------------------------
# preparation: one row per (patient, infusion, day), sorted
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Days:
    """The assessments, one row per (patient, infusion, day), sorted by group and day."""

    index: pd.MultiIndex  # one entry per (patient_id, infusion), sorted; group = position
    gid: IntpArray  # group of each row
    day: FloatArray
    num: dict[str, FloatArray]
    flag: dict[str, Int8Array]

    @property
    def n_groups(self) -> int:
        return len(self.index)


def _examples(values: Sequence[object], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def _prepare(assessments: object) -> _Days:
    if not isinstance(assessments, pd.DataFrame):
        raise CriteriaError(
            "assessments must be a pandas DataFrame (the disease_assessments table); got "
            f"{type(assessments).__name__}."
        )
    absent = [c for c in _REQUIRED if c not in assessments.columns]
    if absent:
        raise CriteriaError(
            f"assessments lacks column(s) {absent}; required: {list(_REQUIRED)}, optional: "
            f"{[c for c in ASSESSMENT_COLUMNS if c not in _REQUIRED]}. Rename the columns "
            "to match (a column of missing values is fine)."
        )
    n = len(assessments)
    lay = Layout(n, None, False)
    keys = assessments[list(KEYS)]
    key_na = keys.isna().any(axis=1).to_numpy()
    if key_na.any():
        raise CriteriaError(
            f"patient_id or infusion is missing in row(s) "
            f"{_examples(assessments.index[key_na].tolist())}; every assessment must name "
            "its patient and the infusion it is timed against."
        )
    day = as_float(assessments["day"], "day", lay)
    if np.isnan(day).any():
        rows = assessments.index[np.isnan(day)].tolist()
        raise CriteriaError(
            f"day is missing in row(s) {_examples(rows)}; every assessment needs its day "
            "from the infusion (negative before it). Fill it in or drop the row."
        )
    try:
        grouped = keys.groupby(list(KEYS), sort=True, observed=True)
        gid_raw = grouped.ngroup().to_numpy(dtype=np.intp)
        index = grouped.size().index
    except TypeError as exc:
        raise CriteriaError(
            "patient_id and infusion must each hold values of one comparable type (e.g. "
            f"all strings, or all integers); sorting them failed: {exc}"
        ) from None
    if not isinstance(index, pd.MultiIndex):  # pragma: no cover - two keys give one
        index = pd.MultiIndex.from_arrays([index], names=list(KEYS))

    order = np.lexsort((day, gid_raw))  # stable: same-day rows keep their row order
    g, d = gid_raw[order], day[order]
    if n:
        starts = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (d[1:] != d[:-1])])
        ends = np.r_[starts[1:], n] - 1
    else:
        starts = ends = np.zeros(0, dtype=np.intp)
    positions = np.arange(n)

    def last_of_day(valid: BoolArray) -> IntpArray:
        """Position of the last valid row of each (group, day), -1 if none."""
        if not n:
            return np.zeros(0, dtype=np.intp)
        run = np.maximum.accumulate(np.where(valid, positions, -1))
        last = run[ends]
        return np.where(last >= starts, last, -1)

    num: dict[str, FloatArray] = {}
    for name, (low, high, hint) in _NUMERIC.items():
        if name not in assessments.columns:
            num[name] = np.full(starts.size, np.nan)
            continue
        v = as_float(assessments[name], name, lay, low=low, high=high, hint=hint)[order]
        i = last_of_day(~np.isnan(v))
        num[name] = np.where(i >= 0, v[i], np.nan)
    flag: dict[str, Int8Array] = {}
    for name in _FLAGS:
        if name not in assessments.columns:
            flag[name] = np.full(starts.size, NA, dtype=np.int8)
            continue
        t = as_tristate(assessments[name], name, lay)[order]
        i = last_of_day(t != NA)
        flag[name] = np.where(i >= 0, t[i], NA).astype(np.int8)
    return _Days(index=index, gid=g[starts], day=d[starts], num=num, flag=flag)


# --------------------------------------------------------------------------------------
# small vectorised helpers
# --------------------------------------------------------------------------------------


def _last_per_group(gid: IntpArray, mask: BoolArray, n_groups: int) -> IntpArray:
    """Row of the last masked row of each group (rows sorted by group), -1 if none."""
    out = np.full(n_groups, -1, dtype=np.intp)
    pos = np.flatnonzero(mask)
    if pos.size:
        g = gid[pos]
        last = np.r_[g[1:] != g[:-1], True]
        out[g[last]] = pos[last]
    return out


def _first_per_group(gid: IntpArray, mask: BoolArray, n_groups: int) -> IntpArray:
    """Row of the first masked row of each group (rows sorted by group), -1 if none."""
    out = np.full(n_groups, -1, dtype=np.intp)
    pos = np.flatnonzero(mask)
    if pos.size:
        g = gid[pos]
        first = np.r_[True, g[1:] != g[:-1]]
        out[g[first]] = pos[first]
    return out


def _take(values: npt.NDArray[Any], rows: IntpArray, missing: Any) -> npt.NDArray[Any]:
    """``values[rows]`` with ``missing`` where ``rows`` is -1."""
    if not values.size:
        return np.full(rows.shape, missing, dtype=values.dtype)
    return np.where(rows >= 0, values[rows], missing).astype(values.dtype, copy=False)


def _carry(t: _Days, valid: BoolArray, lowest_day: float, lookback: float) -> IntpArray:
    """For each row, the latest valid row of the same group with ``lowest_day <= day``,
    at most ``lookback`` days before it (itself included); -1 if none."""
    n = t.day.size
    if not n:
        return np.zeros(0, dtype=np.intp)
    source = np.where(valid & (t.day >= lowest_day), np.arange(n), -1)
    run = np.maximum.accumulate(source)
    ok = run >= 0
    safe = np.where(ok, run, 0)
    ok &= (t.gid[safe] == t.gid) & (t.day - t.day[safe] <= lookback)
    return np.where(ok, run, -1)


def _tri(known: BoolArray, value: BoolArray) -> Int8Array:
    return np.where(known, np.where(value, YES, NO), NA).astype(np.int8)


def _and(*terms: Int8Array) -> Int8Array:
    """Three-valued AND (Kleene): NO if any NO, else NA if any NA, else YES."""
    no = np.zeros(terms[0].shape, dtype=bool)
    na = np.zeros(terms[0].shape, dtype=bool)
    for x in terms:
        no |= x == NO
        na |= x == NA
    return np.where(no, NO, np.where(na, NA, YES)).astype(np.int8)


def _or(*terms: Int8Array) -> Int8Array:
    """Three-valued OR (Kleene): YES if any YES, else NA if any NA, else NO."""
    yes = np.zeros(terms[0].shape, dtype=bool)
    na = np.zeros(terms[0].shape, dtype=bool)
    for x in terms:
        yes |= x == YES
        na |= x == NA
    return np.where(yes, YES, np.where(na, NA, NO)).astype(np.int8)


def _fill(x: Int8Array, value: int) -> Int8Array:
    return np.where(x == NA, value, x).astype(np.int8)


def _first_match(conditions: Sequence[Int8Array]) -> npt.NDArray[np.int8]:
    """Index of the first condition that holds, provided every earlier one is known not
    to hold; -1 where an earlier condition is unknown (or none holds)."""
    out = np.full(conditions[0].shape, -1, dtype=np.int8)
    still_open = np.ones(conditions[0].shape, dtype=bool)
    for k, cond in enumerate(conditions):
        out[still_open & (cond == YES)] = k
        still_open &= cond == NO
    return out


def _as_float_arg(tri: Int8Array) -> FloatArray:
    """Tri-state as 1.0 / 0.0 / NaN, the yes/no input the criteria functions accept."""
    return np.where(tri == NA, np.nan, tri.astype(np.float64))


def _bool_array(tri: Int8Array) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(tri == YES, tri == NA)


def _codes(labels: object) -> npt.NDArray[np.int8]:
    return np.asarray(pd.Categorical(labels).codes, dtype=np.int8)


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and bool(np.isfinite(value)))


def _check_number(value: float, name: str, *, low: float = 0.0) -> None:
    if not (_is_number(value) and value >= low):
        raise CriteriaError(f"{name} must be a finite number >= {low:g}; got {value!r}.")


def _check_choice(value: object, name: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise CriteriaError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}."
        )


# --------------------------------------------------------------------------------------
# pre-infusion status
# --------------------------------------------------------------------------------------

TraumaticTap: TypeAlias = Literal["when_available", "always", "never"]


def pre_infusion_status(
    assessments: pd.DataFrame,
    *,
    window_days: float = 30,
    mrd_negative_below: float = 0.01,
    cns_wbc_threshold: float = 5.0,
    mrd_from: Literal["latest", "same_marrow"] = "latest",
    unknown_mrd: Literal["missing", "M1"] = "missing",
    traumatic_tap: TraumaticTap = "when_available",
    unknown_flow: Literal["missing", "CNS1"] = "missing",
    unassessed_cns_signs: Literal["absent", "missing"] = "absent",
    unknown_circulating_blasts: Literal["missing", "apply"] = "missing",
    unrecorded_csf_rbc: Literal["clean", "missing"] = "clean",
) -> pd.DataFrame:
    """Disease status before each infusion: marrow, MRD, CNS and extramedullary disease.

    For each (patient, infusion), each domain takes its latest recorded value among the
    assessments with ``-window_days <= day <= 0``, separately: a marrow on day -10 and a
    lumbar puncture on day -3 both count.

    Parameters
    ----------
    assessments
        The ``disease_assessments`` table (see the module docstring).
    window_days
        How far back before the infusion an assessment still describes the disease at
        infusion, in days. Default 30. Day 0 (the infusion day) is included, as
        pre-infusion; :func:`best_response` starts at day 1.
    mrd_negative_below
        MRD threshold (percent) of the ``"MRD-negative CR"`` marrow class. Default 0.01 %.
    cns_wbc_threshold
        CSF WBC per microlitre from which a blast-positive CSF is CNS3. Default 5.
    mrd_from
        ``"latest"`` (default): the MRD is the latest MRD in the window, like every domain,
        even when it comes from another marrow than the morphology (the two days are
        reported). ``"same_marrow"``: only the MRD measured on the day of the morphology.
    unknown_mrd
        Marrow class of an M1 marrow without MRD, passed to
        :func:`~reinfuse.criteria.marrow.marrow_class`. Default ``"missing"``.
    traumatic_tap
        Steinherz-Bleyer rule of :func:`~reinfuse.criteria.cns.cns_status`, which applies
        only when the patient has circulating blasts (``blood_blasts`` of the
        lumbar-puncture day). ``"when_available"`` (default): applied when the CSF RBC, the
        blood WBC and RBC and the circulating blasts of the lumbar-puncture day are all
        recorded (circulating blasts need not be with
        ``unknown_circulating_blasts="apply"``); otherwise the CSF counts are taken as they
        are. ``"always"``: a blast-positive traumatic tap (WBC >= 5/uL, RBC >= 10/uL) with
        circulating blasts whose counts are incomplete, or negative by Steinherz-Bleyer
        with circulating blasts unrecorded, gets a missing status. ``"never"``: not
        applied.
    unknown_circulating_blasts, unrecorded_csf_rbc
        Passed to :func:`~reinfuse.criteria.cns.cns_status`: a traumatic tap negative by
        Steinherz-Bleyer without a recorded ``blood_blasts`` is missing (default) or CNS2
        (``"apply"``); a blast-positive CSF with WBC >= 5/uL and no RBC count is CNS3
        (``"clean"``, default) or missing.
    unknown_flow
        Status of a blast-negative CSF without flow cytometry (``cns_status``). Default
        ``"missing"`` (it could be "CNS1 flow+"); ``"CNS1"`` for cohorts without CSF flow.
    unassessed_cns_signs
        ``"absent"`` (default): no clinical-signs value in the window means no clinical
        signs of CNS leukemia (signs are usually recorded only when present).
        ``"missing"``: unknown, which leaves a non-CNS3 status missing.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(patient_id, infusion)``, with ``pre_marrow_blasts_pct`` and
        ``pre_marrow_day``; ``pre_marrow_mrd_pct`` and ``pre_mrd_day``; ``marrow_class``
        (MRD-negative CR / M1 / M2 / M3); the lumbar puncture ``pre_csf_wbc_per_ul``,
        ``pre_csf_rbc_per_ul``, ``pre_csf_blasts``, ``pre_csf_flow_positive``,
        ``pre_blood_wbc``, ``pre_blood_rbc`` (same day) and ``pre_csf_day``;
        ``pre_cns_clinical_signs`` and ``pre_cns_signs_day``; ``cns_status`` (CNS1 /
        CNS1 flow+ / CNS2 / CNS3); ``pre_emd`` and ``pre_emd_day``. Days are floats (NaN
        when the domain has no value in the window), yes/no columns nullable booleans.

    Notes
    -----
    The issue defining the engine asks for "the pre-infusion marrow, MRD and CNS status
    (latest assessment before the infusion within a window)". Domains: marrow = morphology
    (``marrow_blasts_pct``); MRD = ``mrd_pct``; CSF = the latest lumbar puncture with a
    cytospin result (``csf_blasts``), with that day's CSF counts, flow cytometry and blood
    counts; clinical signs = ``cns_clinical_signs``; EMD = ``emd``.

    Classes (clinical-definitions "Bone marrow, CNS and MRD status"; seed study Table 2
    legend): marrow M1 < 5 %, M2 5-25 %, M3 > 25 % blasts, "MRD-negative CR" = M1 with
    MRD < 0.01 % (:func:`~reinfuse.criteria.marrow.marrow_class`); CNS1 no blasts on
    cytospin, CNS2 WBC < 5/uL with blasts, CNS3 WBC >= 5/uL with blasts or clinical signs,
    with the Steinherz-Bleyer traumatic-tap rule (CNS3 only if CSF WBC/RBC > 2 x blood
    WBC/RBC) (:func:`~reinfuse.criteria.cns.cns_status`, blood counts in SI units).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"patient_id": "P1", "infusion": 1, "day": [-40, -10, -3],
    ...                   "marrow_blasts_pct": [90.0, 60.0, None],
    ...                   "mrd_pct": [None, 55.0, None],
    ...                   "csf_wbc_per_ul": [None, None, 1.0],
    ...                   "csf_blasts": [None, None, False],
    ...                   "csf_flow_positive": [None, None, False], "emd": False})
    >>> pre = pre_infusion_status(a)
    >>> print(pre.loc[("P1", 1), ["pre_marrow_blasts_pct", "pre_marrow_day", "marrow_class",
    ...                           "cns_status", "pre_csf_day"]].to_string())
    pre_marrow_blasts_pct    60.0
    pre_marrow_day          -10.0
    marrow_class               M3
    cns_status               CNS1
    pre_csf_day              -3.0
    """
    t = _prepare(assessments)
    return _pre_status(
        t,
        window_days=window_days,
        mrd_negative_below=mrd_negative_below,
        cns_wbc_threshold=cns_wbc_threshold,
        mrd_from=mrd_from,
        unknown_mrd=unknown_mrd,
        traumatic_tap=traumatic_tap,
        unknown_flow=unknown_flow,
        unassessed_cns_signs=unassessed_cns_signs,
        unknown_circulating_blasts=unknown_circulating_blasts,
        unrecorded_csf_rbc=unrecorded_csf_rbc,
    )


def _pre_status(
    t: _Days,
    *,
    window_days: float,
    mrd_negative_below: float,
    cns_wbc_threshold: float,
    mrd_from: str,
    unknown_mrd: Literal["missing", "M1"],
    traumatic_tap: str,
    unknown_flow: Literal["missing", "CNS1"],
    unassessed_cns_signs: str,
    unknown_circulating_blasts: Literal["missing", "apply"] = "missing",
    unrecorded_csf_rbc: Literal["clean", "missing"] = "clean",
) -> pd.DataFrame:
    _check_number(window_days, "window_days")
    _check_choice(mrd_from, "mrd_from", ("latest", "same_marrow"))
    _check_choice(traumatic_tap, "traumatic_tap", ("when_available", "always", "never"))
    _check_choice(unassessed_cns_signs, "unassessed_cns_signs", ("absent", "missing"))
    _check_choice(unknown_circulating_blasts, "unknown_circulating_blasts", ("missing", "apply"))
    _check_choice(unrecorded_csf_rbc, "unrecorded_csf_rbc", ("clean", "missing"))
    n_groups = t.n_groups
    window = (t.day >= -window_days) & (t.day <= 0)
    num, flag = t.num, t.flag

    def latest(valid: BoolArray) -> IntpArray:
        return _last_per_group(t.gid, window & valid, n_groups)

    marrow_i = latest(~np.isnan(num["marrow_blasts_pct"]))
    mrd_i = latest(~np.isnan(num["mrd_pct"])) if mrd_from == "latest" else marrow_i
    csf_i = latest(flag["csf_blasts"] != NA)
    signs_i = latest(flag["cns_clinical_signs"] != NA)
    emd_i = latest(flag["emd"] != NA)

    def day_of(rows: IntpArray) -> FloatArray:
        return _take(t.day, rows, np.nan)

    blasts = _take(num["marrow_blasts_pct"], marrow_i, np.nan)
    mrd = _take(num["mrd_pct"], mrd_i, np.nan)
    csf = {name: _take(num[name], csf_i, np.nan)
           for name in ("csf_wbc_per_ul", "csf_rbc_per_ul", "blood_wbc", "blood_rbc")}
    csf_blasts = _take(flag["csf_blasts"], csf_i, NA)
    csf_flow = _take(flag["csf_flow_positive"], csf_i, NA)
    circulating = _take(flag["blood_blasts"], csf_i, NA)
    signs = _take(flag["cns_clinical_signs"], signs_i, NA)
    emd = _take(flag["emd"], emd_i, NA)

    m_class = marrow_class(blasts, mrd, mrd_negative_below=mrd_negative_below,
                           unknown_mrd=unknown_mrd)
    signs_in = _fill(signs, NO) if unassessed_cns_signs == "absent" else signs
    common: dict[str, Any] = {"clinical_signs": _as_float_arg(signs_in),
                              "wbc_threshold": cns_wbc_threshold,
                              "unknown_flow": unknown_flow}
    cns_args = (csf["csf_wbc_per_ul"], _as_float_arg(csf_blasts), _as_float_arg(csf_flow))
    if traumatic_tap == "never":
        status = pd.Categorical(cns_status(*cns_args, traumatic_tap_rule=False, **common))
    else:
        with_tap = pd.Categorical(cns_status(
            *cns_args, csf_rbc_per_ul=csf["csf_rbc_per_ul"], blood_wbc=csf["blood_wbc"],
            blood_rbc=csf["blood_rbc"], circulating_blasts=_as_float_arg(circulating),
            blood_units="si", unknown_circulating_blasts=unknown_circulating_blasts,
            unrecorded_csf_rbc=unrecorded_csf_rbc, **common))
        if traumatic_tap == "always":
            status = with_tap
        else:
            without = pd.Categorical(cns_status(*cns_args, traumatic_tap_rule=False, **common))
            counts = ~(np.isnan(csf["csf_rbc_per_ul"]) | np.isnan(csf["blood_wbc"])
                       | np.isnan(csf["blood_rbc"]))
            if unknown_circulating_blasts == "missing":
                counts &= circulating != NA
            status = pd.Categorical.from_codes(
                np.where(counts, with_tap.codes, without.codes), dtype=with_tap.dtype)

    return pd.DataFrame(
        {
            "pre_marrow_blasts_pct": blasts,
            "pre_marrow_day": day_of(marrow_i),
            "pre_marrow_mrd_pct": mrd,
            "pre_mrd_day": day_of(mrd_i),
            "marrow_class": m_class,
            "pre_csf_wbc_per_ul": csf["csf_wbc_per_ul"],
            "pre_csf_rbc_per_ul": csf["csf_rbc_per_ul"],
            "pre_csf_blasts": _bool_array(csf_blasts),
            "pre_csf_flow_positive": _bool_array(csf_flow),
            "pre_blood_wbc": csf["blood_wbc"],
            "pre_blood_rbc": csf["blood_rbc"],
            "pre_blood_blasts": _bool_array(circulating),
            "pre_csf_day": day_of(csf_i),
            "pre_cns_clinical_signs": _bool_array(signs),
            "pre_cns_signs_day": day_of(signs_i),
            "cns_status": status,
            "pre_emd": _bool_array(emd),
            "pre_emd_day": day_of(emd_i),
        },
        index=t.index,
    )


# --------------------------------------------------------------------------------------
# best response
# --------------------------------------------------------------------------------------


def _baseline(
    t: _Days, pre_status: pd.DataFrame | None, mrd_negative_below: float
) -> tuple[FloatArray, Int8Array, Int8Array]:
    """Pre-infusion marrow blasts, EMD and CNS disease (tri-state) per group."""
    if pre_status is None:
        pre = _pre_status(
            t, window_days=30, mrd_negative_below=mrd_negative_below, cns_wbc_threshold=5.0,
            mrd_from="latest", unknown_mrd="missing", traumatic_tap="never",
            unknown_flow="CNS1", unassessed_cns_signs="absent")
    else:
        if not isinstance(pre_status, pd.DataFrame):
            raise CriteriaError(
                "pre_status must be a DataFrame indexed by (patient_id, infusion), e.g. the "
                f"result of pre_infusion_status(); got {type(pre_status).__name__}."
            )
        if "pre_marrow_blasts_pct" not in pre_status.columns:
            raise CriteriaError(
                "pre_status needs a pre_marrow_blasts_pct column (and optionally pre_emd, "
                "pre_csf_blasts, pre_cns_clinical_signs or cns_status); columns given: "
                f"{list(pre_status.columns)}."
            )
        if pre_status.index.nlevels != 2 or not pre_status.index.is_unique:
            raise CriteriaError(
                "pre_status must have a unique two-level index (patient_id, infusion), one "
                "row per infusion; use frame.set_index(['patient_id', 'infusion'])."
            )
        if len(t.index) and len(pre_status) and not t.index.isin(pre_status.index).any():
            raise CriteriaError(
                "pre_status shares no (patient_id, infusion) with the assessments (e.g. "
                f"{pre_status.index[0]!r} vs {t.index[0]!r}); check the id types (text "
                "versus numbers)."
            )
        pre = pre_status.reindex(t.index)
    lay = Layout(t.n_groups, None, False)
    blasts = as_float(pre["pre_marrow_blasts_pct"], "pre_marrow_blasts_pct", lay,
                      low=0, high=100)
    emd = (as_tristate(pre["pre_emd"], "pre_emd", lay) if "pre_emd" in pre.columns
           else np.full(lay.n, NA, dtype=np.int8))
    if "pre_csf_blasts" in pre.columns:
        # CNS disease = not CNS1: blasts on the cytospin (CNS2, CNS3) or clinical signs
        signs = (as_tristate(pre["pre_cns_clinical_signs"], "pre_cns_clinical_signs", lay)
                 if "pre_cns_clinical_signs" in pre.columns
                 else np.full(lay.n, NA, dtype=np.int8))
        cns = _or(as_tristate(pre["pre_csf_blasts"], "pre_csf_blasts", lay), _fill(signs, NO))
    elif "cns_status" in pre.columns:
        codes = as_codes(pre["cns_status"], "cns_status", lay, CNS_STATUSES)
        cns = np.where(codes == NA, NA, np.where(codes >= 2, YES, NO)).astype(np.int8)
    else:
        cns = np.full(lay.n, NA, dtype=np.int8)
    return blasts, emd, cns


def _new_site(post: Int8Array, pre: Int8Array, unknown_baseline: str) -> Int8Array:
    """Tri-state: disease at a site after the infusion that was absent before."""
    if_unknown = {"not_new": NO, "new": YES, "missing": NA}[unknown_baseline]
    pre_no = np.where(pre == NA, -2, pre)  # -2: baseline unknown
    return np.select(
        [post == NO, pre_no == YES, (post == YES) & (pre_no == NO),
         (post == YES) & (pre_no == -2)],
        [NO, NO, YES, if_unknown],
        default=NA,
    ).astype(np.int8)


def best_response(
    assessments: pd.DataFrame,
    *,
    pre_status: pd.DataFrame | None = None,
    window: tuple[float, float] = (1, 90),
    count_recovery_anc: float = 1.0,
    count_recovery_platelets: float = 100.0,
    mrd_negative_below: float = 0.01,
    missing_counts: Literal["CRi", "CR", "NE"] = "CRi",
    companion_days: float = 7,
    site_findings: Literal["until_reassessed", "recent"] = "until_reassessed",
    unassessed_sites: Literal["absent", "missing"] = "absent",
    unknown_baseline_sites: Literal["not_new", "new", "missing"] = "not_new",
    csf_flow_blocks_cr: bool = False,
    pd_increase: Literal["relative", "points"] = "relative",
    tie_break: Literal["earliest", "mrd_negative_first"] = "earliest",
    mrd_negative_cr_from: Literal["window", "best_assessment"] = "window",
    pr_count_recovery: bool = False,
) -> pd.DataFrame:
    """Best response to each infusion (CR, CRi, PR, SD, PD or NE) from the assessments.

    Each assessment in the window is classified, then the best class is kept (CR > CRi >
    PR > SD > PD), at its earliest day.

    Parameters
    ----------
    assessments
        The ``disease_assessments`` table (see the module docstring).
    pre_status
        Pre-infusion status per ``(patient_id, infusion)``, against which PR and PD are
        measured: a frame with ``pre_marrow_blasts_pct`` and optionally ``pre_emd`` and
        ``pre_csf_blasts`` / ``pre_cns_clinical_signs`` (or ``cns_status``), such as the
        result of :func:`pre_infusion_status` or the ``infusions`` sheet indexed by
        patient and infusion. Default ``None``: :func:`pre_infusion_status` of the same
        assessments with its default 30-day window.
    window
        First and last day after the infusion (inclusive) whose assessments count.
        Default ``(1, 90)``.
    count_recovery_anc, count_recovery_platelets
        Count recovery: ANC >= 1.0 x 10^9/L and platelets >= 100 x 10^9/L (defaults).
    mrd_negative_below
        MRD threshold (percent) for ``mrd_negative_cr`` and ``tie_break``. Default 0.01 %.
    missing_counts
        Class of an assessment meeting CR except that ANC or platelets are not recorded
        (and none recorded is below its threshold). ``"CRi"`` (default, conservative): CR
        requires documented count recovery. ``"CR"``: missing counts are taken as
        recovered. ``"NE"``: the assessment is not classified.
    companion_days
        Blood findings (ANC, platelets, circulating blasts) recorded on another day count
        for a marrow assessment if they are at most this many days older and after the
        infusion (from ``window[0]``). Default 7. The MRD always comes from the marrow's
        own day.
    site_findings
        Which finding of an extramedullary site (CSF cytospin and flow, CNS clinical
        signs, EMD) stands at an assessment. ``"until_reassessed"`` (default): the latest
        finding of that site at or before the assessment, before the infusion included:
        disease persists until a later finding shows it cleared (a CNS3 patient needs a
        clear lumbar puncture for CR), and a site found free stays free until found
        involved. ``"recent"``: only findings within ``companion_days`` before the
        assessment and after the infusion, like the blood findings.
    unassessed_sites
        A site (CSF, CNS clinical signs, EMD) without any finding standing at an
        assessment (see ``site_findings``): ``"absent"`` (default): free of disease, the
        reading of a response form on which only positive findings are recorded.
        ``"missing"``: unknown, so the assessment cannot be a CR/CRi (it is then not
        classified unless another rule decides). Circulating blasts are only looked at
        "if recorded" in either case.
    unknown_baseline_sites
        Disease at a site after the infusion whose pre-infusion status is unknown:
        ``"not_new"`` (default: PD needs evidence that the site was free before),
        ``"new"`` (PD), or ``"missing"`` (the assessment is not classified).
    csf_flow_blocks_cr
        Count flow-cytometry-only CSF disease ("CNS1 flow+") as extramedullary disease
        that prevents a CR. Default ``False``: CNS1 means no blasts on the cytospin.
    pd_increase
        How the >= 25 % increase in marrow blasts of PD is measured: ``"relative"``
        (default: blasts >= 1.25 x the pre-infusion percentage, e.g. 40 % -> 50 %) or
        ``"points"`` (blasts >= pre-infusion + 25 percentage points).
    tie_break
        Among the assessments with the best class: ``"earliest"`` (default) or
        ``"mrd_negative_first"`` (an MRD-negative CR/CRi first, then the earliest).
    mrd_negative_cr_from
        Which assessments decide ``mrd_negative_cr`` when the best response is CR/CRi.
        ``"window"`` (default): any remission (CR or CRi) assessment in the response window
        with MRD < ``mrd_negative_below``: an MRD-positive CR on day 28 followed by an
        MRD-negative one on day 56 is an MRD-negative CR (the MRD reported is then the
        negative one, its day ``mrd_negative_day``). ``"best_assessment"``: only the MRD
        of the assessment chosen as best (the earliest, unless ``tie_break`` says
        otherwise).
    pr_count_recovery
        Require count recovery (ANC >= ``count_recovery_anc`` and platelets >=
        ``count_recovery_platelets``) for PR as well, as NCCN-style response tables do.
        Default ``False``: PR is defined by marrow blasts alone, as in the seed study.
        Missing counts are read as ``missing_counts`` says (``"CRi"``: not recovered, so
        not PR; ``"CR"``: recovered; ``"NE"``: the assessment is not classified).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(patient_id, infusion)``: ``best_response`` (categorical: CR, CRi, PR,
        SD, PD, NE), ``response_day`` (day the best response was first documented),
        ``best_response_mrd_pct`` (MRD at that assessment, or at the MRD-negative
        remission assessment that decided, see ``mrd_negative_cr_from``),
        ``mrd_negative_cr`` (via :func:`~reinfuse.criteria.response.mrd_negative_cr`, CRi
        included), ``mrd_negative_day`` (first MRD-negative remission assessment in the
        window),
        ``first_cr_day`` (first CR), ``first_remission_day`` (first CR or CRi), and
        ``rule`` (the rule that decided).

    Notes
    -----
    Definitions (clinical-definitions "Response", B-ALL as used in CAR T trials):

    - CR: < 5 % marrow blasts (M1, :func:`~reinfuse.criteria.marrow.morphology_class`), no
      circulating blasts (when recorded), no extramedullary disease (CNS1: no blasts on
      the CSF cytospin and no clinical signs; no other EMD), with count recovery
      (ANC >= 1.0 x 10^9/L, platelets >= 100 x 10^9/L). CRi: CR without count recovery.
    - PR: >= 50 % reduction in marrow blasts from the pre-infusion value, with <= 25 %
      marrow blasts (not M3), and extramedullary disease not worse (no new site).
    - PD: >= 25 % increase in marrow blasts over the pre-infusion value (see
      ``pd_increase``), or new extramedullary disease (EMD, or CNS disease after a CNS1
      baseline). The 25 % increases in circulating blasts or extramedullary burden of the
      definition cannot be measured from yes/no findings and are not used.
    - SD: neither CR/CRi, PR nor PD.

    What an assessment is: each day after the infusion with findings (several rows of a
    day are one assessment). Its marrow and MRD are that day's; its extramedullary sites
    are the latest findings standing (``site_findings``); its blood findings are at most
    ``companion_days`` old. An assessment without a marrow can only be PD (new
    extramedullary disease).

    An assessment is checked against the rules in the order: new extramedullary disease
    (PD), CR, CRi, PR, marrow PD, SD. A rule left undecided by missing values leaves the
    assessment unclassified (it is skipped), so that a missing value never produces a
    class it could have contradicted: e.g. an M2 marrow without a pre-infusion value could
    be PR, SD or PD. NE: no assessment in the window, or none that could be classified.
    Best = the best class over the window (CR > CRi > PR > SD > PD), earliest day for ties
    (the cohort format's ``response_date``: "Date the best response was first
    documented").

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"patient_id": "P1", "infusion": 1, "day": [-7, 28, 60],
    ...                   "marrow_blasts_pct": [60.0, 20.0, 2.0],
    ...                   "mrd_pct": [None, 15.0, 0.0], "csf_blasts": False, "emd": False,
    ...                   "anc": [0.1, 0.4, 1.6], "platelets": [20.0, 40.0, 120.0]})
    >>> best = best_response(a)
    >>> print(best.loc[("P1", 1), ["best_response", "response_day", "best_response_mrd_pct",
    ...                            "first_remission_day"]].to_string())
    best_response              CR
    response_day             60.0
    best_response_mrd_pct     0.0
    first_remission_day      60.0

    Day 28 is PR (60 % -> 20 %: at least halved, <= 25 %); day 60 is CR (blasts < 5 %,
    ANC >= 1.0, platelets >= 100).
    """
    _check_choice(missing_counts, "missing_counts", ("CRi", "CR", "NE"))
    _check_choice(unassessed_sites, "unassessed_sites", ("absent", "missing"))
    _check_choice(site_findings, "site_findings", ("until_reassessed", "recent"))
    _check_choice(unknown_baseline_sites, "unknown_baseline_sites", ("not_new", "new", "missing"))
    _check_choice(pd_increase, "pd_increase", ("relative", "points"))
    _check_choice(tie_break, "tie_break", ("earliest", "mrd_negative_first"))
    _check_choice(mrd_negative_cr_from, "mrd_negative_cr_from", ("window", "best_assessment"))
    _check_number(count_recovery_anc, "count_recovery_anc")
    _check_number(count_recovery_platelets, "count_recovery_platelets")
    _check_number(companion_days, "companion_days")
    if not (isinstance(window, Sequence) and len(window) == 2
            and all(_is_number(w) for w in window)
            and window[0] <= window[1]):
        raise CriteriaError(
            f"window must be (first_day, last_day) with first_day <= last_day; got {window!r}."
        )
    w0, w1 = float(window[0]), float(window[1])

    t = _prepare(assessments)
    n_groups = t.n_groups
    pre_blasts_g, pre_emd_g, pre_cns_g = _baseline(t, pre_status, mrd_negative_below)
    pre_blasts = pre_blasts_g[t.gid]
    num, flag = t.num, t.flag

    def near(name: str, site: bool = False) -> Int8Array | FloatArray:
        """The latest finding at or before each row: for a site, any earlier one of the
        infusion (``site_findings='until_reassessed'``); otherwise at most
        ``companion_days`` old and after the infusion."""
        values = flag[name] if name in flag else num[name]
        valid = values != NA if name in flag else ~np.isnan(values)
        if site and site_findings == "until_reassessed":
            rows = _carry(t, valid, -np.inf, np.inf)
        else:
            rows = _carry(t, valid, w0, companion_days)
        return _take(values, rows, NA if name in flag else np.nan)

    csf_blasts = near("csf_blasts", site=True).astype(np.int8)
    signs = near("cns_clinical_signs", site=True).astype(np.int8)
    emd = near("emd", site=True).astype(np.int8)
    csf_flow = near("csf_flow_positive", site=True).astype(np.int8)
    circulating = _fill(near("blood_blasts").astype(np.int8), NO)  # "if recorded"
    anc, platelets = near("anc").astype(np.float64), near("platelets").astype(np.float64)
    if unassessed_sites == "absent":
        csf_blasts, signs, emd = _fill(csf_blasts, NO), _fill(signs, NO), _fill(emd, NO)
        csf_flow = _fill(csf_flow, NO)

    # CNS disease = not CNS1 (blasts on the cytospin: CNS2/CNS3; or clinical signs: CNS3)
    cns = _or(csf_blasts, signs)
    cns_blocking = _or(cns, csf_flow) if csf_flow_blocks_cr else cns
    new_site = _or(_new_site(emd, pre_emd_g[t.gid], unknown_baseline_sites),
                   _new_site(cns, pre_cns_g[t.gid], unknown_baseline_sites))
    free = _and(kleene_not(cns_blocking), kleene_not(emd), kleene_not(circulating))

    blasts = num["marrow_blasts_pct"]
    morph = _codes(morphology_class(blasts))  # 0 M1, 1 M2, 2 M3, -1 missing
    m1 = _tri(morph >= 0, morph == 0)
    recovered_known = _and(_tri(~np.isnan(anc), ge(anc, count_recovery_anc)),
                           _tri(~np.isnan(platelets), ge(platelets, count_recovery_platelets)))
    recovered = {"CRi": _fill(recovered_known, NO), "CR": _fill(recovered_known, YES),
                 "NE": recovered_known}[missing_counts]
    both = ~(np.isnan(blasts) | np.isnan(pre_blasts))
    with np.errstate(invalid="ignore"):
        half = pre_blasts * _PR_REDUCTION
        pr = _and(_tri(~np.isnan(pre_blasts), pre_blasts > 0),
                  _tri(both, blasts <= half + np.abs(half) * RTOL),
                  _tri(morph >= 0, morph <= 1))
        if pr_count_recovery:
            pr = _and(pr, recovered)
        bar = (pre_blasts * (1 + _PD_INCREASE) if pd_increase == "relative"
               else pre_blasts + _PD_POINTS)
        progression = _and(_tri(both, blasts > pre_blasts + np.abs(pre_blasts) * RTOL),
                           _tri(both, blasts >= bar - np.abs(bar) * RTOL))
    always = np.full(blasts.shape, YES, dtype=np.int8)
    rule_row = _first_match([
        new_site,                                # 0 PD: new extramedullary disease
        _and(m1, free, recovered),               # 1 CR
        _and(m1, free, kleene_not(recovered)),   # 2 CRi
        pr,                                      # 3 PR
        progression,                             # 4 PD: marrow
        always,                                  # 5 SD
    ])
    category = np.array([_PD, _CR, _CRI, _PR, _PD, _SD, -1], dtype=np.int8)[rule_row]
    in_window = (t.day >= w0) & (t.day <= w1)
    category = np.where(in_window, category, -1).astype(np.int8)

    # rule texts: PD (EMD), CR, CR (counts missing), CRi, CRi (counts missing), PR,
    # PD (marrow), SD, NE (no assessment), NE (unclassified)
    free_text = "marrow blasts < 5 %, no extramedullary disease or circulating blasts"
    increase = ("increased by >= 25 % over the pre-infusion value" if pd_increase == "relative"
                else "increased by >= 25 percentage points over the pre-infusion value")
    rules = [
        "PD: new extramedullary disease (a site free of disease before the infusion)",
        f"CR: {free_text}, count recovery (ANC >= {count_recovery_anc:g}, "
        f"platelets >= {count_recovery_platelets:g})",
        f"CR: {free_text}; counts not recorded, taken as recovered (missing_counts='CR')",
        f"CRi: {free_text}, without count recovery (ANC < {count_recovery_anc:g} or "
        f"platelets < {count_recovery_platelets:g})",
        f"CRi: {free_text}; count recovery not documented (missing_counts='CRi')",
        "PR: marrow blasts reduced by >= 50 % from the pre-infusion value, to <= 25 %, "
        "no new extramedullary disease" + (
            f", count recovery (ANC >= {count_recovery_anc:g}, platelets >= "
            f"{count_recovery_platelets:g}; pr_count_recovery=True)"
            if pr_count_recovery else ""),
        f"PD: marrow blasts {increase}",
        "SD: neither CR/CRi, PR nor PD",
        f"NE: no assessment in the response window (days {w0:g} to {w1:g})",
        "NE: no assessment in the window could be classified (missing values)",
    ]
    counts_missing = recovered_known == NA
    rule_index = np.array([0, 1, 3, 5, 6, 7, 0], dtype=np.int8)[rule_row]
    rule_index = np.where((rule_row == 1) & counts_missing, 2, rule_index)
    rule_index = np.where((rule_row == 2) & counts_missing, 4, rule_index)

    # best per group: lowest category, then (optionally) MRD-negative, then earliest
    mrd = num["mrd_pct"]
    classified = np.flatnonzero(category >= 0)
    if tie_break == "mrd_negative_first":
        negative = pd.array(mrd_negative(mrd, threshold=mrd_negative_below), dtype="boolean")
        is_negative = negative.to_numpy(dtype=bool, na_value=False)
        secondary = np.where((category >= 0) & (category <= _CRI) & is_negative, 0, 1)
    else:
        secondary = np.zeros(category.shape, dtype=np.int8)
    order = classified[np.lexsort((secondary[classified], category[classified],
                                   t.gid[classified]))]
    chosen = np.full(n_groups, -1, dtype=np.intp)
    if order.size:
        g = t.gid[order]
        first = np.r_[True, g[1:] != g[:-1]]
        chosen[g[first]] = order[first]

    has_row = np.bincount(t.gid[in_window], minlength=n_groups) > 0
    best = np.where(chosen >= 0, _take(category, chosen, -1), _NE).astype(np.int8)
    best_rule = np.where(chosen >= 0, _take(rule_index, chosen, -1),
                         np.where(has_row, 9, 8)).astype(np.int8)
    labels = pd.Categorical.from_codes(best, categories=list(RESPONSE_CODES))
    best_mrd = _take(mrd, chosen, np.nan)
    negative_cr = mrd_negative_cr(labels, best_mrd, mrd_negative_below)
    mrd_negative_day = np.where(pd.array(negative_cr, dtype="boolean").to_numpy(
        dtype=bool, na_value=False), _take(t.day, chosen, np.nan), np.nan)
    remission = (category == _CR) | (category == _CRI)
    if mrd_negative_cr_from == "window":
        # any MRD-negative remission assessment in the window; unknown while a remission
        # assessment without MRD could have been the negative one
        first_negative = _first_per_group(t.gid, remission & lt(mrd, mrd_negative_below),
                                          n_groups)
        unknown = np.bincount(t.gid[remission & np.isnan(mrd)], minlength=n_groups) > 0
        best_remission = (best == _CR) | (best == _CRI)
        tri = np.select(
            [~best_remission & (best != _NE), best == _NE, first_negative >= 0, unknown,
             ~np.isnan(best_mrd)],
            [NO, NA, YES, NA, NO], default=NA).astype(np.int8)
        negative_cr = _bool_array(tri)
        best_mrd = np.where(best_remission & (first_negative >= 0),
                            _take(mrd, first_negative, np.nan), best_mrd)
        mrd_negative_day = np.where(tri == YES, _take(t.day, first_negative, np.nan), np.nan)
        # say so when the MRD-negative assessment is not the one chosen as best
        later = (tri == YES) & (first_negative != chosen)
        best_rule = np.where(later, best_rule + len(rules), best_rule).astype(np.int8)
        rules = [*rules, *(f"{r}; MRD-negative (< {mrd_negative_below:g} %) at another "
                           "remission assessment in the window (mrd_negative_day)"
                           for r in rules)]
    first_cr = _first_per_group(t.gid, category == _CR, n_groups)
    first_remission = _first_per_group(t.gid, remission, n_groups)
    return pd.DataFrame(
        {
            "best_response": labels,
            "response_day": _take(t.day, chosen, np.nan),
            "best_response_mrd_pct": best_mrd,
            "mrd_negative_cr": negative_cr,
            "mrd_negative_day": mrd_negative_day,
            "first_cr_day": _take(t.day, first_cr, np.nan),
            "first_remission_day": _take(t.day, first_remission, np.nan),
            "rule": pd.Categorical.from_codes(best_rule, categories=rules),
        },
        index=t.index,
    )


# --------------------------------------------------------------------------------------
# relapse
# --------------------------------------------------------------------------------------

_SITES = ("marrow", "cns", "emd")


def relapse_after_response(
    assessments: pd.DataFrame,
    best: pd.DataFrame,
    *,
    include_cri: bool = True,
    relapse_marrow: Literal["above_5", "not_m1"] = "above_5",
    mrd_relapse: bool = False,
    mrd_negative_below: float = 0.01,
    sites_within_days: float = 0,
    until_day: float | None = None,
) -> pd.DataFrame:
    """Relapse after a complete remission: whether, when, and at which sites.

    Parameters
    ----------
    assessments
        The ``disease_assessments`` table (see the module docstring).
    best
        Best response per ``(patient_id, infusion)``: the result of :func:`best_response`
        (its ``first_remission_day`` / ``first_cr_day`` are used), or any frame so indexed
        with ``best_response`` and ``response_day`` (e.g. recorded values), in which case
        the remission starts at ``response_day`` when the best response is CR (or CRi).
    include_cri
        A CRi is a remission after which relapse is looked for (default ``True``, as in
        :func:`~reinfuse.criteria.response.complete_response`). ``False``: CR only.
    relapse_marrow
        Marrow relapse: ``"above_5"`` (default) marrow blasts > 5 %, the wording of the
        definition; ``"not_m1"``: blasts >= 5 % (M2 or M3: no longer the < 5 % of a CR).
        The two differ only for a marrow of exactly 5 % blasts after a remission (M2, yet
        not > 5 %): by default it is not a relapse, and the ``rule`` of an infusion with
        such a marrow and no relapse says so, so that the reader sees the boundary case.
    mrd_relapse
        Count MRD-only reappearance as (marrow) relapse: an MRD >= ``mrd_negative_below``
        after an MRD-negative assessment in remission, morphology still M1. Default
        ``False``: relapse is the reappearance of blasts by morphology or at an
        extramedullary site.
    mrd_negative_below
        MRD threshold (percent) for ``mrd_relapse``. Default 0.01 %.
    sites_within_days
        Sites of relapse: findings on the relapse day and up to this many days later
        (e.g. a lumbar puncture two days after the relapse marrow). Default 0 (that day).
    until_day
        Ignore assessments after this day (e.g. a transplant or the next infusion).
        Default ``None``: all.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``best``: ``remission_day`` (start of the remission: first CR/CRi),
        ``relapsed`` (nullable boolean; missing when there was no remission),
        ``relapse_day`` (first assessment after the remission with relapse, NaN if none),
        ``relapse_sites`` (``"marrow"``, ``"cns"``, ``"emd"`` joined by ``";"``, as the
        ``relapse_sites`` codes of the cohort format) and ``rule``.

    Notes
    -----
    clinical-definitions "Response": "Relapse: reappearance of blasts (marrow > 5 % or
    extramedullary) after CR"; "Duration of remission: from the date CR is first
    documented to relapse". Extramedullary: CNS (blasts on the CSF cytospin, i.e. CNS2 or
    CNS3 by :func:`~reinfuse.criteria.cns.cns_status`, or clinical signs of CNS leukemia)
    or other EMD. Flow-cytometry-only CSF findings and circulating blasts alone are not
    relapse sites of the definition and are not used. The assessments considered are those
    timed against the same infusion, after the remission day.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"patient_id": "P1", "infusion": 1, "day": [-7, 28, 150],
    ...                   "marrow_blasts_pct": [60.0, 1.0, 12.0], "csf_blasts": False,
    ...                   "emd": False, "anc": 1.5, "platelets": 150.0})
    >>> rel = relapse_after_response(a, best_response(a))
    >>> print(rel.loc[("P1", 1), ["remission_day", "relapsed", "relapse_day",
    ...                           "relapse_sites"]].to_string())
    remission_day      28.0
    relapsed           True
    relapse_day       150.0
    relapse_sites    marrow
    """
    _check_choice(relapse_marrow, "relapse_marrow", ("above_5", "not_m1"))
    _check_number(sites_within_days, "sites_within_days")
    if until_day is not None and not _is_number(until_day):
        raise CriteriaError(f"until_day must be a number of days or None; got {until_day!r}.")
    if not isinstance(best, pd.DataFrame) or best.index.nlevels != 2:
        raise CriteriaError(
            "best must be a DataFrame indexed by (patient_id, infusion), e.g. the result of "
            "best_response()."
        )
    if not best.index.is_unique:
        raise CriteriaError("best has duplicate (patient_id, infusion) rows; give one each.")
    t = _prepare(assessments)
    n_groups = t.n_groups
    lay = Layout(len(best), None, False)
    column = "first_remission_day" if include_cri else "first_cr_day"
    if column in best.columns:
        start = as_float(best[column], column, lay)
    elif {"best_response", "response_day"} <= set(best.columns):
        codes = response_codes(best["best_response"], lay)
        in_cr = (codes == _CR) | ((codes == _CRI) & bool(include_cri))
        start = np.where(in_cr, as_float(best["response_day"], "response_day", lay), np.nan)
    else:
        raise CriteriaError(
            f"best needs a {column} column (as from best_response()) or best_response and "
            f"response_day columns; columns given: {list(best.columns)}."
        )
    position = t.index.get_indexer(best.index)  # -1: no assessment rows
    start_g = np.full(n_groups, np.nan)
    known = position >= 0
    start_g[position[known]] = start[known]

    s = start_g[t.gid]
    with np.errstate(invalid="ignore"):
        after = t.day > s  # NaN start -> False
    if until_day is not None:
        after &= t.day <= until_day
    blasts, mrd = t.num["marrow_blasts_pct"], t.num["mrd_pct"]
    if relapse_marrow == "above_5":
        marrow = gt(blasts, _RELAPSE_MARROW_ABOVE)
    else:
        marrow = _codes(morphology_class(blasts)) >= 1
    cns = (t.flag["csf_blasts"] == YES) | (t.flag["cns_clinical_signs"] == YES)
    emd = t.flag["emd"] == YES
    molecular = np.zeros(t.day.shape, dtype=bool)
    if mrd_relapse:
        negative = lt(mrd, mrd_negative_below)
        positive = ge(mrd, mrd_negative_below)
        with np.errstate(invalid="ignore"):
            first_neg = _first_per_group(t.gid, negative & (t.day >= s), n_groups)
        neg_day = _take(t.day, first_neg, np.nan)[t.gid]
        with np.errstate(invalid="ignore"):
            molecular = positive & (t.day > neg_day)
    marrow_site = marrow | molecular
    event = after & (marrow_site | cns | emd)
    first = _first_per_group(t.gid, event, n_groups)
    relapse_day_g = _take(t.day, first, np.nan)

    # sites: findings from the relapse day to sites_within_days later
    r = relapse_day_g[t.gid]
    with np.errstate(invalid="ignore"):
        span = after & (t.day >= r) & (t.day <= r + sites_within_days)
    site_code = np.zeros(n_groups, dtype=np.intp)
    for bit, present in enumerate((marrow_site, cns, emd)):
        hit = np.bincount(t.gid[span & present], minlength=n_groups) > 0
        site_code |= hit.astype(np.intp) << bit
    site_names = [";".join(name for bit, name in enumerate(_SITES) if code >> bit & 1)
                  for code in range(8)]
    sites_g = np.array([None, *site_names[1:]], dtype=object)[site_code]

    # the finding that decided (on the relapse day itself)
    def on_first(x: BoolArray) -> BoolArray:
        return _take(x, first, False).astype(bool)

    base = "reappearance of blasts after CR" + ("/CRi" if include_cri else "")
    marrow_text = ("marrow blasts > 5 %" if relapse_marrow == "above_5"
                   else "marrow blasts >= 5 % (M2/M3)")
    rules = [
        "no remission (best response not CR" + ("/CRi" if include_cri else "") + ")",
        "in remission, no relapse documented",
        f"relapse: {marrow_text}, {base}",
        f"relapse: extramedullary (CNS or EMD), {base}",
        f"relapse: MRD >= {mrd_negative_below:g} % after MRD-negative remission "
        "(mrd_relapse=True)",
    ]
    rules.append("in remission, no relapse documented; a marrow with exactly 5 % blasts "
                 "(M2, but not > 5 %) is not a relapse (relapse_marrow='above_5')")
    boundary = after & ge(blasts, _RELAPSE_MARROW_ABOVE) & ~gt(blasts, _RELAPSE_MARROW_ABOVE)
    at_boundary = np.bincount(t.gid[boundary], minlength=n_groups) > 0
    in_remission = ~np.isnan(start_g)
    rule_g = np.select(
        [~in_remission, (first < 0) & at_boundary, first < 0, on_first(marrow),
         on_first(cns | emd)],
        [0, 5, 1, 2, 3],
        default=4,
    ).astype(np.int8)
    relapsed_g = np.where(in_remission, np.where(first >= 0, YES, NO), NA).astype(np.int8)

    # back to best's rows (infusions without assessment rows: remission, no relapse seen)
    take = np.where(known, position, 0)

    def out(values: npt.NDArray[Any], fallback: Any) -> npt.NDArray[Any]:
        if not n_groups:
            return np.full(len(best), fallback, dtype=values.dtype)
        return np.where(known, values[take], fallback).astype(values.dtype, copy=False)

    no_rows_rule = np.where(np.isnan(start), 0, 1)
    relapsed = np.where(known, out(relapsed_g, NA),
                        np.where(np.isnan(start), NA, NO)).astype(np.int8)
    return pd.DataFrame(
        {
            "remission_day": start,
            "relapsed": _bool_array(relapsed),
            "relapse_day": out(relapse_day_g, np.nan),
            "relapse_sites": pd.array(out(sites_g, None), dtype="string"),
            "rule": pd.Categorical.from_codes(
                np.where(known, out(rule_g, 0), no_rows_rule).astype(np.int8),
                categories=rules),
        },
        index=best.index,
    )
