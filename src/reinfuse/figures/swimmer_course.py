"""Swimmer plot in general form: the whole course of every patient, one lane each.

One lane per patient of the frame, from the patient's first infusion to the end of
follow-up, in days from the first infusion (``origin="first"``) or from a reinfusion
(``origin="reinfusion"``; earlier events then fall on negative days), never calendar dates.
The lane's fill shows the disease status over time: active disease (open bar), in
remission (black), relapsed (hatched grey), and, where the record cannot tell, status
unknown (dotted light grey). Markers show each infusion (a circle with its number, named in
the legend), CRS of a severe grade after an infusion (a star above the lane), relapse
(shape = relapse phenotype, text = CNS / extramedullary site code), transplant, death
(cross); an arrow ends the lane of a patient alive at last follow-up. Lanes can be sorted
and grouped by a column (``stratify``), and at most ``max_lanes`` are drawn.

This is the kind of display R's swimplot and ggswim packages draw; the code and its
encodings are this package's own, in the greyscale style of
:mod:`reinfuse.figures.swimmer` (the CR-only swimmer of the seed study's Figure 1F).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from reinfuse.analyses import DAYS_PER_MONTH
from reinfuse.errors import PlanError
from reinfuse.figures._common import (
    DOUBLE_COLUMN,
    FONT_SIZE,
    check_choice,
    check_count,
    check_infusion,
    empty_figure,
    label,
    new_figure,
    plain,
    require_columns,
    thousands,
)
from reinfuse.figures.swimmer import SITE_CODES
from reinfuse.vocabulary import RESPONSE_CODES

CourseOrigin = Literal["first", "reinfusion"]
CourseSort = Literal["followup", "patient_id", "response", "remission"]
ORIGINS = ("first", "reinfusion")
SORTS = ("followup", "patient_id", "response", "remission")
TimeUnit = Literal["days", "months"]
TIME_UNITS = ("days", "months")
#: Tick steps, in months, for a "months" axis (the smallest giving at most 8 ticks).
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 36, 60, 120)

#: Disease status of a lane segment -> (fill grey, hatch, legend text), in legend order.
STATUSES: dict[str, tuple[str, str, str]] = {
    "active disease": ("white", "", "Active disease"),
    "in remission": ("black", "", "In remission (CR)"),
    "relapsed": ("0.72", "////", "Relapsed"),
    "unknown": ("0.9", "....", "Status unknown (NE / not recorded)"),
}

#: Relapse marker per relapse phenotype (derive's ``relapse_phenotype``): the shapes of
#: :mod:`reinfuse.figures.swimmer`, with legend texts short enough for three columns.
PHENOTYPE_MARKERS: dict[str, tuple[str, str]] = {
    "antigen escape, CAR persistent": ("v", "Relapse, antigen escape (CAR persistent)"),
    "CAR loss, antigen preserved": ("D", "Relapse, CAR loss (antigen preserved)"),
    "other": ("s", "Relapse, other / not classifiable"),
}

#: Response codes from best to worst, the order of ``sort="response"`` (others after
#: them, alphabetically, then missing).
RESPONSES = RESPONSE_CODES

#: Group of the patients whose ``stratify`` value is missing.
UNKNOWN_GROUP = "unknown"

#: Lane geometry (inches): one lane, everything else (axis, legend), the line of the note
#: of a capped figure, and a journal page. Lanes get thinner rather than the page taller.
LANE_HEIGHT = 0.24
FRAME_HEIGHT = 2.0
NOTE_HEIGHT = 0.15
MAX_HEIGHT = 9.0

#: Offset (in lanes) of the markers drawn above a lane: severe CRS, undated transplant.
ABOVE = 0.4

_COLUMNS = ("patient_id", "infusion", "date", "best_response", "complete_response",
            "response_date", "relapse_date", "relapse_phenotype", "relapse_site_group",
            "crs_grade", "hsct_after", "followup_days", "death_event")
_DATES = ("date", "response_date", "relapse_date", "hsct_date")
_EVENT_KEYS = ("kind", "day", "infusion", "detail", "site_code", "date_known")


def swimmer_course(frame: pd.DataFrame, labels: Mapping[int, str], *,
                   origin: CourseOrigin = "first", infusion: int = 2,
                   sort: CourseSort = "followup", stratify: str | None = None,
                   max_lanes: int = 40, severe_crs: int = 3, time_unit: TimeUnit = "days"
                   ) -> tuple[Figure, dict[str, Any]]:
    """Swimmer plot of each patient's course over all their infusions.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion), usually the reinfused patients.
    labels
        Infusion display names (``{1: "CART1", 2: "CART2"}``).
    origin
        Day 0 of every lane: ``first`` (the patient's first infusion, the default) or
        ``reinfusion`` (infusion number ``infusion``; patients without it get no lane).
    infusion
        The reinfusion (2 by default): day 0 when ``origin="reinfusion"``, the infusion
        whose best response and remission ``sort`` uses, and whose row gives the
        ``stratify`` value.
    sort
        Lane order from the top: ``followup`` (longest follow-up from day 0 first, the
        default), ``patient_id``, ``response`` (best response to ``infusion``, CR first,
        missing last) or ``remission`` (longest time in remission from ``infusion`` on).
        Ties go by longest follow-up, then patient_id.
    stratify
        Optional column to group lanes by (e.g. ``target`` or ``indication``): groups in
        sorted order of their value, each under a bold label with a line above it;
        missing values form the group "unknown", last. A patient's value is the one at
        ``infusion``, or for a patient without that infusion the first recorded one.
    max_lanes
        The most lanes drawn (40 by default). With more eligible patients the first
        ``max_lanes`` in ``sort`` order are drawn (then grouped) and a note above the plot
        says so ("Showing 40 of 312 patients, longest follow-up first").
    severe_crs
        CRS grade from which a star marks the infusion (3 by default: grade >= 3).
    time_unit
        Unit of the time axis: ``days`` (the default) or ``months`` (ticks every 1, 2, 3,
        6, 12... months, a month being 365.25 / 12 days). Only the axis changes: every
        time in ``data`` stays in days, reinfuse's internal unit.

    Returns
    -------
    figure, data
        ``data["lanes"]`` lists the lanes drawn from top to bottom, each with
        ``patient_id``, ``lane`` (0 at the top), ``group``, ``start_day`` (first infusion),
        ``end_day``, ``alive`` and ``arrow`` (the same: alive at last follow-up),
        ``death_day``, ``best_response`` and ``remission_days`` (at and from ``infusion``),
        ``segments`` (``start``, ``end``, ``status``), ``infusions`` (``infusion``,
        ``label``, ``day``) and ``events`` (``kind`` = severe_crs / relapse / transplant /
        death, ``day``, ``infusion`` it follows, ``detail``, ``site_code`` of a relapse,
        ``date_known``). ``eligible`` counts the patients with a lane, ``shown`` those
        drawn, ``n_patients`` those in the frame, ``skipped`` the patients and rows left
        out for missing dates, ``groups`` the eligible and shown patients per group,
        ``event_counts`` the events of all eligible patients, ``legend`` the legend
        entries, ``transplant_date_unknown`` the transplants placed at the lane end, and
        the parameters are repeated at the top level.

    Raises
    ------
    PlanError
        A parameter value not allowed, or a column missing from the frame.

    Notes
    -----
    The segments follow each infusion row's dates. From an infusion to the next infusion
    (or, after the last one, to the end of follow-up): active disease until the CR
    (``response_date`` of a row with ``complete_response``), in remission from the CR to
    relapse (``relapse_date``), relapsed after it; the whole interval is active disease
    when the infusion brought no CR, and status unknown when ``complete_response`` is
    missing (response not recorded, or not evaluable) or a CR has no date. An infusion
    given while the patient was still in remission (a CR with no relapse before it, e.g.
    to prevent relapse) keeps the lane in remission from the infusion when a CR follows
    it, as the status of a swimmer lane changes only with a new assessment (the
    convention of ggswim's disease-assessment lanes). ``remission_days`` (what
    ``sort="remission"`` orders by) adds up the in-remission segments from ``infusion``
    on, a CR carried through a later infusion included. A relapse recorded after a
    response short of CR is marked, but its interval stays active disease.

    The end of a lane is the end of follow-up of the analysis frame (``followup_days``
    and ``death_event`` from :func:`reinfuse.derive.follow_up`, the one definition: the
    patient's death, else the latest last contact), or a later event date when one
    is recorded (an inconsistency validation reports). Patients without a dated origin
    infusion or any end-of-follow-up date get no lane; infusion rows without a date are
    left out (their response, relapse, CRS and transplant with them); both are counted in
    ``data["skipped"]``. A transplant is placed at ``hsct_date`` (an optional column);
    when only ``hsct_after`` says it happened, its marker stands above the end of the
    lane and ``data["transplant_date_unknown"]`` says so.
    """
    check_choice("origin", origin, ORIGINS)
    check_infusion("infusion", infusion)
    check_choice("sort", sort, SORTS)
    check_choice("time_unit", time_unit, TIME_UNITS)
    check_count("max_lanes", max_lanes)
    if isinstance(severe_crs, bool) or not isinstance(severe_crs, int) \
            or not 1 <= severe_crs <= 5:
        raise PlanError(f"parameter 'severe_crs' is {severe_crs!r}; it must be a CRS grade "
                        "from 1 to 5 (ASTCT), e.g. 3 to mark grade >= 3.")
    if stratify is not None and not isinstance(stratify, str):
        raise PlanError(f"parameter 'stratify' is {stratify!r}; it must be the name of a "
                        "column of the analysis frame (e.g. 'target' or 'indication').")
    require_columns(frame, _COLUMNS)
    if stratify is not None:
        require_columns(frame, [stratify])
    name = label(labels, infusion)
    origin_name = name if origin == "reinfusion" else "first infusion"

    lanes, segments, events, infusions, skipped = course(
        frame, labels, origin=origin, infusion=infusion, severe_crs=severe_crs)
    lanes["group"] = _groups(frame, lanes.index, stratify, infusion)
    lanes = _sorted(lanes, sort)
    eligible = len(lanes)
    shown = lanes.iloc[:max_lanes]
    order: list[str | None] = [*_group_order(lanes["group"])] if stratify else [None]
    if stratify:
        shown = shown.sort_values("group", key=lambda g: g.map(order.index), kind="stable")
    shown = shown.assign(lane=np.arange(len(shown)))

    words = {"followup": "longest follow-up first", "patient_id": "in order of patient ID",
             "response": f"by best response to {name}",
             "remission": f"longest remission from {name} first"}
    note = (f"Showing {thousands(len(shown))} of {thousands(eligible)} patients, "
            f"{words[sort]}" if eligible > len(shown) else None)
    unknown_hsct = events.loc[events["kind"].eq("transplant") & ~events["date_known"]]
    data: dict[str, Any] = {
        "origin": origin, "infusion": infusion, "sort": sort, "stratify": stratify,
        "max_lanes": max_lanes, "severe_crs": severe_crs, "time_unit": time_unit,
        "n_patients": int(frame["patient_id"].nunique()), "eligible": eligible,
        "shown": len(shown), "note": note, "skipped": skipped,
        "day_zero": f"date of the patient's {origin_name}",
        "x_label": f"{time_unit.capitalize()} since {origin_name}",
        "groups": [{"group": group,
                    "eligible": int(lanes["group"].eq(group).sum()) if stratify else eligible,
                    "shown": int(shown["group"].eq(group).sum()) if stratify else len(shown)}
                   for group in order],
        "event_counts": {kind: int(events["kind"].eq(kind).sum())
                         for kind in ("severe_crs", "relapse", "transplant", "death")},
        "n_alive": int(lanes["alive"].sum()),
        "transplant_date_unknown": {
            "n": len(unknown_hsct),
            "patients": sorted(unknown_hsct["patient_id"].unique().tolist()),
            "note": ("hsct_after says a transplant followed the infusion but hsct_date is "
                     "missing: the marker stands above the end of the lane, not at the day "
                     "of the transplant."),
        },
        "site_codes": dict(SITE_CODES),
        "lanes": _lane_records(shown, segments, events, infusions),
        "legend": [],
    }
    if shown.empty:
        reason = (f"No patient has a dated {origin_name} and a dated end of follow-up."
                  if len(frame) else "The population has no patients.")
        return empty_figure(reason, width=DOUBLE_COLUMN), data
    figure, legend = _draw(shown, segments, events, infusions, labels,
                           stratify=stratify, note=note, origin=origin,
                           x_label=data["x_label"], severe_crs=severe_crs,
                           time_unit=time_unit,
                           eligible=lanes["group"].value_counts().to_dict())
    data["legend"] = legend
    return figure, data


def course(frame: pd.DataFrame, labels: Mapping[int, str], *,
           origin: CourseOrigin = "first", infusion: int = 2, severe_crs: int = 3
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Lanes, status segments, events and infusion days of every patient with a lane.

    The vectorised preparation of :func:`swimmer_course` (see its Notes for the rules).
    Days count from each patient's origin date.

    Returns
    -------
    lanes, segments, events, infusions, skipped
        ``lanes``: one row per patient (index ``patient_id``) with ``start_day``,
        ``end_day``, ``death_day``, ``alive``, ``best_response`` and ``remission_days``
        (at and from ``infusion``). ``segments``: ``patient_id``, ``infusion``, ``start``,
        ``end``, ``status``. ``events``: ``patient_id`` and the keys of a lane's events.
        ``infusions``: ``patient_id``, ``infusion``, ``label``, ``day``. ``skipped``: the
        patients and rows left out, by reason.
    """
    columns = [c for c in (*_COLUMNS, "hsct_date") if c in frame.columns]
    rows = frame.loc[frame["patient_id"].notna(), columns].copy()
    if "hsct_date" not in rows.columns:
        rows["hsct_date"] = pd.NaT
    for column in _DATES:
        rows[column] = pd.to_datetime(rows[column])
    rows["infusion"] = pd.to_numeric(rows["infusion"]).astype("Int64")
    rows = rows.sort_values(["patient_id", "infusion"], kind="stable").reset_index(drop=True)
    patients = pd.Index(rows["patient_id"].unique(), name="patient_id")

    # Day 0 and the end of follow-up, per patient.
    if origin == "first":
        at_origin = rows["infusion"].eq(rows.groupby("patient_id")["infusion"].transform("min"))
    else:
        at_origin = rows["infusion"].eq(infusion)
    origin_date = (rows.loc[at_origin].drop_duplicates("patient_id")
                   .set_index("patient_id")["date"].reindex(patients))
    has_origin = pd.Series(patients.isin(rows.loc[at_origin, "patient_id"]), index=patients)
    # derive's end of follow-up (the same date on every row of a patient) and death
    end_date = rows["date"] + pd.to_timedelta(rows["followup_days"].astype("float"), unit="D")
    died = rows["death_event"].astype("boolean").fillna(False).astype(bool)
    last = pd.DataFrame({"end": end_date, "death_date": end_date.where(died)}).groupby(
        rows["patient_id"]).max()
    followup_end = last["end"].reindex(patients)
    keep = origin_date.notna() & followup_end.notna()
    skipped = {
        f"without_infusion_{infusion}": int((~has_origin).sum()) if origin != "first" else 0,
        "missing_origin_date": int((has_origin & origin_date.isna()).sum()),
        "missing_end_of_followup": int((origin_date.notna() & followup_end.isna()).sum()),
    }
    if origin == "first":
        del skipped[f"without_infusion_{infusion}"]
    rows = rows.loc[rows["patient_id"].isin(patients[keep])]
    skipped["missing_infusion_date"] = int(rows["date"].isna().sum())
    rows = rows.loc[rows["date"].notna()].reset_index(drop=True)
    zero = rows["patient_id"].map(origin_date)

    def days(dates: pd.Series) -> pd.Series:
        return (dates - zero).dt.days.astype("float")

    patient = rows["patient_id"]
    complete = rows["complete_response"].astype("boolean")
    cr_dated = complete.eq(True).fillna(False) & rows["response_date"].notna()
    no_cr = complete.eq(False).fillna(False)
    unknown = ~cr_dated & ~no_cr
    skipped["missing_response_date"] = int((complete.eq(True).fillna(False)
                                           & rows["response_date"].isna()).sum())

    start = days(rows["date"])
    response = days(rows["response_date"]).where(cr_dated)
    relapse = days(rows["relapse_date"])
    hsct = days(rows["hsct_date"])
    latest = pd.concat([days(rows["response_date"]).where(cr_dated), relapse, hsct, start,
                        days(rows["patient_id"].map(followup_end))], axis=1).max(axis=1)
    end_day = latest.groupby(patient).transform("max")
    stop = start.groupby(patient).shift(-1).fillna(end_day)
    stop = stop.where(stop >= start, start)
    cr = response.clip(lower=start, upper=stop)
    relapse_in = relapse.where(cr_dated).clip(lower=cr, upper=stop)
    ends_in_remission = cr_dated & (relapse_in.isna() | relapse_in.ge(stop))
    carried = (ends_in_remission.groupby(patient).shift(1).fillna(False).astype(bool)
               & cr_dated)
    cr = cr.where(~carried, start)
    remission_end = relapse_in.fillna(stop)

    pieces = [
        (cr_dated, start, cr, "active disease"),
        (no_cr, start, stop, "active disease"),
        (cr_dated, cr, remission_end, "in remission"),
        (cr_dated & relapse_in.notna(), relapse_in, stop, "relapsed"),
        (unknown, start, stop, "unknown"),
    ]
    segments = pd.concat(
        [pd.DataFrame({"patient_id": patient, "infusion": rows["infusion"], "start": a,
                       "end": b, "status": status})[mask & (b > a)]
         for mask, a, b, status in pieces])
    segments = segments.sort_values(["patient_id", "start", "infusion"],
                                    kind="stable").reset_index(drop=True)

    crs = rows["crs_grade"].astype("Float64")
    severe = crs.ge(severe_crs).fillna(False).astype(bool)
    relapsed = rows["relapse_date"].notna()
    phenotype = rows["relapse_phenotype"].astype("string").fillna("other")
    site = rows["relapse_site_group"].astype("string")
    dated_hsct = rows["hsct_date"].notna()
    undated_hsct = rows["hsct_after"].astype("boolean").eq(True).fillna(False) & ~dated_hsct
    # One label per infusion number, not per row (a registry has a million rows).
    numbers = rows["infusion"].dropna().unique()
    labelled = rows["infusion"].map({k: label(labels, int(k)) for k in numbers}).astype("string")
    death_day = days(patient.map(last["death_date"]))
    first_row = ~patient.duplicated()
    no_text = pd.Series(pd.NA, index=rows.index, dtype="string")
    no_infusion = pd.Series(pd.NA, index=rows.index, dtype="Int64")

    def event(kind: str, mask: pd.Series, day: pd.Series,
              detail: Callable[[np.ndarray], pd.Series] | pd.Series = no_text,
              code: pd.Series = no_text, known: bool = True,
              after: pd.Series = rows["infusion"]) -> pd.DataFrame:
        """The rows of ``mask`` as events; a ``detail`` given as a function of the rows
        kept is only spelled out for them."""
        keep = mask.to_numpy(bool)
        text = detail(keep) if callable(detail) else detail[keep]
        return pd.DataFrame({"patient_id": patient[keep], "kind": kind,
                             "day": day[keep].astype(float),
                             "infusion": after[keep].astype("Int64"),
                             "detail": text.astype("string"),
                             "site_code": code[keep].astype("string"), "date_known": known},
                            index=rows.index[keep])

    events = pd.concat([
        event("severe_crs", severe, start, lambda keep: "grade " + crs[keep].astype(
            "Int64").astype("string") + " after " + labelled[keep]),
        event("relapse", relapsed, relapse, phenotype, site.map(SITE_CODES)),
        event("transplant", dated_hsct, hsct, lambda keep: "after " + labelled[keep]),
        event("transplant", undated_hsct, end_day,
              lambda keep: "after " + labelled[keep] + ", date not recorded", known=False),
        event("death", first_row & death_day.notna(), death_day, after=no_infusion),
    ])
    events = events.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    infusions = pd.DataFrame({"patient_id": patient, "infusion": rows["infusion"],
                              "label": labelled, "day": start})

    lanes = pd.DataFrame({"patient_id": patient, "start_day": start, "end_day": end_day,
                          "death_day": death_day}).groupby("patient_id").min()
    lanes = lanes.reindex(patients[keep])
    lanes["alive"] = lanes["death_day"].isna()
    at = rows.loc[rows["infusion"].eq(infusion)].drop_duplicates("patient_id")
    lanes["best_response"] = (at.set_index("patient_id")["best_response"]
                              .astype("string").reindex(lanes.index))
    later = segments.loc[segments["infusion"].ge(infusion)
                         & segments["status"].eq("in remission")]
    lanes["remission_days"] = ((later["end"] - later["start"]).groupby(later["patient_id"])
                               .sum().reindex(lanes.index).fillna(0.0))
    return lanes, segments, events, infusions, skipped


def _groups(frame: pd.DataFrame, patients: pd.Index, stratify: str | None,
            infusion: int) -> pd.Series:
    """The ``stratify`` value per patient, as text: at ``infusion``, else the first one."""
    if stratify is None:
        return pd.Series("", index=patients, dtype=object)
    columns = list(dict.fromkeys(["patient_id", "infusion", stratify]))
    rows = frame.loc[frame["patient_id"].isin(patients), columns]
    rows = rows.assign(_later=~rows["infusion"].eq(infusion).fillna(False))
    rows = rows.sort_values(["_later", "infusion"], kind="stable")
    values = rows.groupby("patient_id")[stratify].first().reindex(patients).astype(object)
    return values.map(lambda v: UNKNOWN_GROUP if pd.isna(v) else str(plain(v))).astype(object)


def _group_order(groups: pd.Series) -> list[str]:
    """Groups in sorted order (numbers as numbers), "unknown" last."""
    known = [g for g in groups.unique() if g != UNKNOWN_GROUP]
    numeric = pd.to_numeric(pd.Series(known, dtype=object), errors="coerce")
    if known and numeric.notna().all():
        known = [g for _, g in sorted(zip(numeric, known, strict=True))]
    else:
        known = sorted(known)
    return [*known, *([UNKNOWN_GROUP] if (groups == UNKNOWN_GROUP).any() else [])]


def _sorted(lanes: pd.DataFrame, sort: CourseSort) -> pd.DataFrame:
    lanes = lanes.reset_index()
    if sort == "patient_id":
        return lanes.sort_values("patient_id", kind="stable").reset_index(drop=True)
    ranks = {code: i for i, code in enumerate(RESPONSES)}
    others = sorted(set(lanes["best_response"].dropna()) - set(RESPONSES))
    ranks.update({code: len(RESPONSES) + i for i, code in enumerate(others)})
    lanes["_response"] = (lanes["best_response"].map(ranks).astype("Float64")
                          .fillna(len(ranks)))
    lanes["_remission"] = -lanes["remission_days"]
    lanes["_followup"] = -lanes["end_day"]
    keys = {"followup": ["_followup"], "response": ["_response", "_followup"],
            "remission": ["_remission", "_followup"]}[sort]
    lanes = lanes.sort_values([*keys, "patient_id"], kind="stable")
    return lanes.drop(columns=["_response", "_remission", "_followup"]).reset_index(drop=True)


def _lane_records(shown: pd.DataFrame, segments: pd.DataFrame, events: pd.DataFrame,
                  infusions: pd.DataFrame) -> list[dict[str, Any]]:
    def by_patient(table: pd.DataFrame, keys: list[str]) -> dict[Any, list[dict[str, Any]]]:
        # One conversion for the shown lanes' rows, then split by patient (row order
        # kept): a pandas conversion per patient cost more than the figure's drawing.
        table = table.loc[table["patient_id"].isin(shown["patient_id"])]
        records = plain(table[keys].astype(object).where(table[keys].notna(), None)
                        .to_dict("records"))
        grouped: dict[Any, list[dict[str, Any]]] = {}
        for pid, record in zip(table["patient_id"].tolist(), records, strict=True):
            grouped.setdefault(pid, []).append(record)
        return grouped

    parts = (by_patient(segments, ["start", "end", "status"]),
             by_patient(infusions, ["infusion", "label", "day"]),
             by_patient(events, list(_EVENT_KEYS)))
    keep = ["patient_id", "lane", "group", "start_day", "end_day", "alive", "death_day",
            "best_response", "remission_days"]
    records = []
    for lane in plain(shown[keep].astype(object).where(shown[keep].notna(), None)
                      .to_dict("records")):
        pid = lane["patient_id"]
        lane["group"] = lane["group"] or None
        lane["arrow"] = lane["alive"]
        lane["segments"], lane["infusions"], lane["events"] = (p.get(pid, []) for p in parts)
        records.append(lane)
    return records


def _marker(**kwargs: Any) -> dict[str, Any]:
    return {"linestyle": "none", "markeredgecolor": "black", "markeredgewidth": 0.6,
            **kwargs}


def _draw(shown: pd.DataFrame, segments: pd.DataFrame, events: pd.DataFrame,
          infusions: pd.DataFrame, labels: Mapping[int, str], *, stratify: str | None,
          note: str | None, origin: str, x_label: str,
          severe_crs: int, eligible: Mapping[str, int], time_unit: TimeUnit = "days"
          ) -> tuple[Figure, list[str]]:
    # Lane positions, top to bottom; with groups, one empty slot holds each group's label.
    groups = shown["group"].to_numpy(object)
    if stratify:
        header = np.r_[True, groups[1:] != groups[:-1]]
        y_of = dict(zip(shown["patient_id"], np.arange(len(shown)) + np.cumsum(header),
                        strict=True))
    else:
        header = np.zeros(len(shown), dtype=bool)
        y_of = dict(zip(shown["patient_id"], np.arange(len(shown)), strict=True))
    n_slots = len(shown) + int(header.sum())
    extra = NOTE_HEIGHT if note else 0.0
    figure = new_figure(DOUBLE_COLUMN,
                        min(LANE_HEIGHT * n_slots + FRAME_HEIGHT, MAX_HEIGHT - extra) + extra)
    ax = figure.add_subplot()
    if note:
        ax.set_title(note, loc="left", fontsize=FONT_SIZE, fontweight="bold", pad=6)

    def located(table: pd.DataFrame) -> pd.DataFrame:
        table = table.loc[table["patient_id"].isin(y_of)]
        return table.assign(y=table["patient_id"].map(y_of).astype(float))

    segs, evs, infs = located(segments), located(events), located(infusions)
    start = shown["start_day"].to_numpy(float)
    end = shown["end_day"].to_numpy(float)
    low, high = float(start.min()), float(end.max())
    span = max(high - low, 1.0)
    handles: list[Any] = []
    legend: list[str] = []

    def add(handle: Any, text: str) -> None:
        handles.append(handle)
        legend.append(text)

    for status, (fill, hatch, text) in STATUSES.items():
        part = segs.loc[segs["status"].eq(status)]
        if part.empty:
            continue
        ax.barh(part["y"], part["end"] - part["start"], left=part["start"], height=0.56,
                color=fill, hatch=hatch, edgecolor="black", linewidth=0.5, zorder=1)
        add(Patch(facecolor=fill, hatch=hatch, edgecolor="black", linewidth=0.5), text)
    if origin == "reinfusion":
        ax.axvline(0, color="0.45", linestyle=(0, (1, 1.5)), linewidth=0.6, zorder=0)

    for number in sorted(infs["infusion"].dropna().unique()):
        part = infs.loc[infs["infusion"].eq(number)]
        ring = _marker(marker="o", markersize=7, markerfacecolor="white", zorder=3)
        digit: dict[str, Any] = {"marker": f"${int(number)}$", "markersize": 3.8,
                                 "linestyle": "none", "color": "black",
                                 "markeredgewidth": 0.3, "zorder": 3.1}
        ax.plot(part["day"], part["y"], **ring)
        ax.plot(part["day"], part["y"], **digit)
        add((Line2D([], [], **ring), Line2D([], [], **digit)), label(labels, int(number)))
    crs = evs.loc[evs["kind"].eq("severe_crs")]
    if not crs.empty:
        star = _marker(marker="*", markersize=5.5, markerfacecolor="black",
                       markeredgewidth=0.3, zorder=4)
        ax.plot(crs["day"], crs["y"] - ABOVE, **star)
        add(Line2D([], [], **star), f"CRS grade ≥ {severe_crs} (above infusion)")
    relapses = evs.loc[evs["kind"].eq("relapse")]
    for key, (shape, text) in PHENOTYPE_MARKERS.items():
        part = relapses.loc[relapses["detail"].eq(key)]
        if not part.empty:
            style = _marker(marker=shape, markersize=5, markerfacecolor="white", zorder=4)
            ax.plot(part["day"], part["y"], **style)
            add(Line2D([], [], **style), text)
    coded = relapses.loc[relapses["site_code"].fillna("").ne("")]
    for xi, yi, code in zip(coded["day"], coded["y"], coded["site_code"], strict=True):
        ax.text(xi - 0.01 * span, yi, code, ha="right", va="center", zorder=5,
                fontsize=FONT_SIZE, fontweight="bold",
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"})
    transplant = evs.loc[evs["kind"].eq("transplant")]
    dated = transplant.loc[transplant["date_known"]]
    if not dated.empty:
        style = _marker(marker="P", markersize=5.5, markerfacecolor="white", zorder=4)
        ax.plot(dated["day"], dated["y"], **style)
        add(Line2D([], [], **style), "Transplant (HSCT)")
    undated = transplant.loc[~transplant["date_known"]]
    if not undated.empty:
        style = _marker(marker="P", markersize=5.5, markerfacecolor="0.6", zorder=4)
        ax.plot(undated["day"], undated["y"] - ABOVE, **style)
        add(Line2D([], [], **style), "HSCT, date unknown (above lane end)")
    deaths = evs.loc[evs["kind"].eq("death")]
    if not deaths.empty:
        cross: dict[str, Any] = {"marker": "X", "markersize": 6, "markerfacecolor": "black",
                 "markeredgecolor": "white", "markeredgewidth": 0.4, "linestyle": "none",
                 "zorder": 4}
        ax.plot(deaths["day"], deaths["y"], **cross)
        add(Line2D([], [], **cross), "Death")
    alive = shown["alive"].to_numpy(bool)
    ys = shown["patient_id"].map(y_of).to_numpy(float)
    for xi, yi in zip(end[alive], ys[alive], strict=True):
        ax.annotate("", xy=(xi + 0.035 * span, yi), xytext=(xi, yi),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.8,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 6})
    if alive.any():
        add(Line2D([], [], marker=r"$\rightarrow$", markersize=9, color="black",
                   linestyle="none"), "Alive at last follow-up")

    if stratify:
        left = transforms.blended_transform_factory(ax.transAxes, ax.transData)
        counts = shown["group"].value_counts()
        for i in np.flatnonzero(header):
            group = str(groups[i])
            top = ys[i] - 1
            n = (f"n = {counts[group]}" if counts[group] == eligible[group]
                 else f"{counts[group]} of {eligible[group]} shown")
            heading = f"{stratify}: {group}".replace("_", " ")  # codes read as words
            ax.text(0.0, top, f"{heading} ({n})", transform=left,
                    ha="left", va="center", fontsize=FONT_SIZE + 0.5, fontweight="bold")
            if i > 0:
                ax.axhline(top - 0.55, color="0.4", linewidth=0.6, zorder=0,
                           gid="group-separator")
    _axes(ax, shown["patient_id"], ys, n_slots, low, high, span, x_label)
    if time_unit == "months":
        month_axis(ax, low, high)
    present = set(coded["site_code"])
    notes = [f"{code} {group}" for group, code in SITE_CODES.items() if code in present]
    figure.legend(handles=handles, labels=legend, loc="outside lower left", ncols=3,
                  handlelength=1.8, columnspacing=1.2, fontsize=FONT_SIZE,
                  title_fontsize=FONT_SIZE, alignment="left",
                  title=("Relapse site: " + "; ".join(notes)) if notes else None)
    return figure, legend


def month_axis(ax: Axes, low: float, high: float) -> None:
    """Label an axis that is in days in months since day 0 (ticks at whole steps).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> month_axis(ax, -40.0, 400.0)  # -1.3 to 13.1 months: every 2 months
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['0', '2', '4', '6', '8', '10', '12']
    >>> plt.close(fig)
    """
    months = (high - low) / DAYS_PER_MONTH
    step = next((s for s in _MONTH_STEPS if months / s <= 8), _MONTH_STEPS[-1])
    first = np.floor(low / DAYS_PER_MONTH / step) * step
    ticks = np.arange(first, high / DAYS_PER_MONTH + step, step)
    ticks = ticks[(ticks * DAYS_PER_MONTH >= low - 1e-9) & (ticks * DAYS_PER_MONTH <= high
                                                             + 1e-9)]
    ax.set_xticks(ticks * DAYS_PER_MONTH, [f"{t:g}" for t in ticks])


def _axes(ax: Axes, patient_ids: pd.Series, ys: np.ndarray, n_slots: int, low: float,
          high: float, span: float, x_label: str) -> None:
    ax.set_yticks(ys, [str(p) for p in patient_ids])
    ax.set_ylim(n_slots - 0.5, -0.5 - ABOVE)
    ax.set_xlim(low - 0.03 * span, high + 0.08 * span)
    ax.set_xlabel(x_label)
    ax.set_ylabel("Patient")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
