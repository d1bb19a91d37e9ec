"""Derive summary values from raw observation sheets and reconcile them with `infusions`.

Coordinators type summary values (``crs_grade = 3``) after reading a chart; raw sheets hold
the findings themselves. When both exist, reinfuse grades the findings with the published
criteria, uses the derived value (or the recorded one with ``prefer="recorded"``), and
reports every disagreement as a warning that shows both values and the observation that
decided, so a registry can find its grading errors.

==========================  ====================================================
raw sheet                   summary columns of ``infusions`` it derives
==========================  ====================================================
``crs_observations``        ``crs_grade`` (ASTCT, maximum over the observations)
``icans_observations``      ``neurotox_grade`` (ICANS, maximum)
``car_counts``              ``peak_car_per_ul`` (blood Cmax, days 0-28)
``disease_assessments``     pre-infusion marrow, MRD, CSF, CNS signs and EMD,
                            ``best_response``,
                            ``best_response_mrd_pct``, ``response_date``,
                            ``relapse_date``
==========================  ====================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reinfuse.cohort import SOURCE_ROW
from reinfuse.criteria.crs import crs_grade
from reinfuse.criteria.icans import icans_grade
from reinfuse.findings import Finding, display
from reinfuse.options import DeriveOptions, Prefer

__all__ = ["Prefer", "Reconciliation", "grade_crs_observations", "grade_icans_observations",
           "reconcile"]
KEY = ["patient_id", "infusion"]


@dataclass(frozen=True)
class Reconciliation:
    """The reconciled infusions table, the warnings, and every graded observation."""

    infusions: pd.DataFrame
    findings: tuple[Finding, ...]
    graded: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def _survived(observations: pd.DataFrame, infusions: pd.DataFrame | None) -> np.ndarray:
    """Whether the patient is known to have lived past each observation's day.

    From ``infusions``: a ``death_date`` after that day, or no death recorded and a
    ``last_followup_date`` after it. Such an observation cannot be a death from the
    syndrome, so a blank ``death_from_*`` cell there is no; elsewhere it stays unknown.
    """
    survived = np.zeros(len(observations), dtype=bool)
    columns = {"date", "death_date", "last_followup_date"}
    if infusions is None or not columns <= set(infusions.columns):
        return survived
    by_patient = infusions.groupby("patient_id", sort=False).agg(
        _death=("death_date", "min"), _last=("last_followup_date", "max"))
    dates = infusions[[*KEY, "date"]].drop_duplicates(KEY)
    frame = observations[[*KEY, "day"]].merge(dates, on=KEY, how="left").merge(
        by_patient, left_on="patient_id", right_index=True, how="left")
    day = frame["date"] + pd.to_timedelta(np.floor(frame["day"].astype("float64")), unit="D")
    alive = (frame["_death"] > day) | (frame["_death"].isna() & (frame["_last"] > day))
    return alive.fillna(False).to_numpy(dtype=bool)


def _blank_is_unknown(observations: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no or code column as given, blanks left missing (unknown, never "no")."""
    if column in observations:
        return observations[column]
    return pd.Series(pd.NA, index=observations.index, dtype="object")


def grade_crs_observations(observations: pd.DataFrame, infusions: pd.DataFrame | None = None,
                           options: DeriveOptions | None = None) -> pd.DataFrame:
    """ASTCT grade and deciding rule of every row of a ``crs_observations`` table.

    A blank cell is unknown, never "no" (``other_cause``, ``death_from_crs``, the therapy,
    hypotension, oxygen...): a row is graded only where no value of its blanks could change
    the grade (:func:`reinfuse.criteria.crs.crs_grade`), else left ungraded with the rule
    naming the blank. The one exception rests on the ``infusions`` sheet: a blank
    ``death_from_crs`` on a day the patient is known to have survived is no.

    Parameters
    ----------
    observations
        The typed ``crs_observations`` table.
    infusions
        The ``infusions`` table (dates, ``death_date``, ``last_followup_date``); optional.
    options
        The centre's grading choices (``fever_c``, ``low_flow_max_l_min``,
        ``hfnc_at_low_rate``); default: :class:`reinfuse.options.DeriveOptions` defaults.
    """
    options = options or DeriveOptions()
    death = _blank_is_unknown(observations, "death_from_crs").astype("object")
    death = death.mask(death.isna() & _survived(observations, infusions), False)
    result = crs_grade(
        observations["temperature_c"], observations["anticytokine_or_antipyretic"],
        observations["hypotension"], observations["vasopressors"], observations["vasopressin"],
        observations["oxygen"], observations["oxygen_l_min"],
        _blank_is_unknown(observations, "other_cause"), death,
        fever_c=options.fever_c, low_flow_max_l_min=options.low_flow_max_l_min,
        hfnc_at_low_rate=options.hfnc_at_low_rate,
    )
    out = observations.copy()
    out["grade"] = pd.Series(result.grade, index=observations.index).astype("Int8")
    out["rule"] = pd.Series(result.rule, index=observations.index).astype("string")
    return out


def grade_icans_observations(observations: pd.DataFrame, infusions: pd.DataFrame,
                             options: DeriveOptions | None = None) -> pd.DataFrame:
    """ICANS grade and deciding rule of every row, with age at the infusion for CAPD.

    Blank cells are unknown, never "no" or "none" (``sedated``, ``seizure``,
    ``motor_weakness``, ``cerebral_edema``, ``raised_icp_signs``, ``other_cause``,
    ``death_from_icans``): a row is graded only where no value of its blanks could change
    the grade (:func:`reinfuse.criteria.icans.icans_grade`), else left ungraded with the
    rule naming the blank; a blank ``death_from_icans`` on a day the patient is known to
    have survived (``infusions``) is no. ``assessment_tool`` (ICE or CAPD), where given,
    chooses the score; otherwise age at the infusion does.

    Parameters
    ----------
    observations
        The typed ``icans_observations`` table.
    infusions
        The ``infusions`` table (``age_years``, dates, ``death_date``,
        ``last_followup_date``).
    options
        The centre's grading choices (``capd_age_below``, ``sedation_excludes_scores``);
        default: :class:`reinfuse.options.DeriveOptions` defaults.
    """
    options = options or DeriveOptions()
    ages = infusions[[*KEY, "age_years"]].drop_duplicates(KEY)
    frame = observations.merge(ages, on=KEY, how="left")
    frame.index = observations.index
    death = _blank_is_unknown(frame, "death_from_icans").astype("object")
    death = death.mask(death.isna() & _survived(observations, infusions), False)
    result = icans_grade(
        frame["ice_score"], frame["capd_score"], frame["age_years"], frame["consciousness"],
        _blank_is_unknown(frame, "sedated"), _blank_is_unknown(frame, "seizure"),
        _blank_is_unknown(frame, "motor_weakness"), _blank_is_unknown(frame, "cerebral_edema"),
        _blank_is_unknown(frame, "raised_icp_signs"), _blank_is_unknown(frame, "other_cause"),
        death, _blank_is_unknown(frame, "assessment_tool"),
        capd_age_below=options.capd_age_below,
        sedation_excludes_scores=options.sedation_excludes_scores,
    )
    out = observations.copy()
    out["grade"] = pd.Series(result.grade, index=observations.index).astype("Int8")
    out["rule"] = pd.Series(result.rule, index=observations.index).astype("string")
    return out


def _in_window(graded: pd.DataFrame, infusions: pd.DataFrame, sheet: str,
               window: tuple[float, float]) -> tuple[pd.DataFrame, list[Finding]]:
    """Keep observations within ``window`` (days after the infusion), before the next one.

    Observations outside are not counted; one warning per infusion says so.
    """
    dates = infusions.sort_values(KEY)[[*KEY, "date"]]
    same = dates["patient_id"].eq(dates["patient_id"].shift(-1))
    dates = dates.assign(_next=(dates["date"].shift(-1) - dates["date"]).dt.days.where(same))
    merged = graded.merge(dates[[*KEY, "_next"]], on=KEY, how="left")
    merged.index = graded.index
    low, high = window
    inside = (merged["day"] >= low) & (merged["day"] <= high)
    inside &= merged["_next"].isna() | (merged["day"] < merged["_next"])
    outside = graded[~inside.to_numpy()]
    findings = []
    for (patient, number), group in outside.groupby(KEY):
        days = ", ".join(display(d) for d in group["day"].head(5))
        findings.append(Finding(
            severity="warning", sheet=sheet, row=int(group[SOURCE_ROW].iloc[0]),
            column="day", value=display(group["day"].iloc[0]),
            expected=f"day {low:g} to {high:g}, before the next infusion",
            message=f"{len(group)} observation(s) of infusion {number} of '{patient}' (day "
                    f"{days}) fall outside days {low:g}-{high:g} after it or after the next "
                    "infusion; they do not count toward its grade.",
            fix="Check the day and the infusion number of these rows (a day counts from the "
                "infusion the row names).",
            rule="observation-outside-window"))
    return graded[inside.to_numpy()], findings


def _worst(graded: pd.DataFrame) -> pd.DataFrame:
    """Per infusion: the maximum grade and the observation that set it (first such row).

    An infusion with an ungraded observation gets no derived grade unless a known grade is
    already 5, since the ungraded one might have been the worst (criteria convention).
    """
    ordered = graded.assign(_g=graded["grade"].astype("float64").fillna(-1)).sort_values(
        [*KEY, "_g", "day"], ascending=[True, True, False, True], kind="stable")
    worst = ordered.groupby(KEY, sort=True).head(1).set_index(KEY)
    ungraded = graded["grade"].isna().groupby([graded[k] for k in KEY]).any()
    worst = worst.assign(_ungraded=ungraded.reindex(worst.index).fillna(False).to_numpy())
    blocked = worst["_ungraded"] & (worst["_g"] < 5)
    worst["derived"] = worst["grade"].astype("Int64").where(~blocked)
    return worst


def _reconcile_column(
    infusions: pd.DataFrame, derived: pd.DataFrame, recorded: str, *, sheet: str,
    what: str, prefer: Prefer, equal: Any = None, keep: pd.Series | None = None,
) -> tuple[pd.DataFrame, list[Finding]]:
    """Replace (or keep) ``recorded`` by ``derived['derived']``; warn where they differ.

    ``derived`` is indexed by (patient_id, infusion) with columns ``derived`` and
    ``because`` (the observation that decided, in words). Rows where ``keep`` is true keep
    their recorded value and are not compared (a different scale was recorded).
    """
    merged = infusions[[*KEY, recorded, SOURCE_ROW]].merge(
        derived[["derived", "because"]], left_on=KEY, right_index=True, how="left")
    merged.index = infusions.index
    have = merged["derived"].notna()
    if keep is not None:
        have &= ~(keep.fillna(False).astype(bool) & merged[recorded].notna())
    rec = merged[recorded]
    if equal is None:
        same = rec.astype("float64") == merged["derived"].astype("float64")
    else:
        same = equal(rec, merged["derived"])
    differs = have & rec.notna() & ~pd.Series(same, index=merged.index).fillna(False)
    findings = []
    for idx in merged.index[differs.to_numpy()]:
        row = merged.loc[idx]
        kept = "recorded" if prefer == "recorded" else "derived"
        findings.append(Finding(
            severity="warning", sheet="infusions", row=int(row[SOURCE_ROW]), column=recorded,
            value=display(row[recorded]), expected=display(row["derived"]),
            message=f"recorded {what} {display(row[recorded])} for infusion "
                    f"{row['infusion']} of '{row['patient_id']}', but {sheet} give "
                    f"{display(row['derived'])} ({row['because']}); the {kept} value is used.",
            fix=f"Check the source: correct {recorded} or the {sheet} rows. Run with "
                f"--prefer {'derived' if prefer == 'recorded' else 'recorded'} to use the "
                f"{'derived' if prefer == 'recorded' else 'recorded'} value instead.",
            rule="derived-differs-from-recorded"))
    out = infusions.copy()
    fill = have & (rec.isna() | (prefer == "derived"))
    if fill.any():
        values = merged["derived"].where(fill)
        column = out[recorded]
        out[recorded] = column.where(~fill, values.astype(column.dtype)
                                     if column.dtype != object else values)
    return out, findings


def _ungradable(worst: pd.DataFrame, infusions: pd.DataFrame, sheet: str, what: str
                ) -> list[Finding]:
    """Warn where an ungraded observation keeps the derived grade from being used."""
    blocked = worst[worst["derived"].isna() & worst["_ungraded"]]
    if blocked.empty:
        return []
    rows = infusions.set_index(KEY)[SOURCE_ROW]
    out = []
    for patient, number in blocked.index:
        out.append(Finding(
            severity="warning", sheet="infusions",
            row=int(rows.get((patient, number), 0)) or None, column=None, value=None,
            expected="every observation gradable",
            message=f"the {what} of infusion {number} of '{patient}' cannot be derived: an "
                    f"observation in {sheet} cannot be graded (it could have been the worst); "
                    "the recorded value is kept.",
            fix=f"Complete the {sheet} rows of this infusion (`reinfuse grade` lists the "
                "ungradable ones and why).",
            rule="observation-not-gradable"))
    return out


def _grade_summary(worst: pd.DataFrame, sheet: str) -> pd.DataFrame:
    rows = worst.get(SOURCE_ROW)
    because = ("day " + worst["day"].map(display) + ": " + worst["rule"].astype(str))
    if rows is not None:
        because = because + f"; {sheet} row " + rows.astype("Int64").astype(str)
    return pd.DataFrame({"derived": worst["derived"], "because": because}, index=worst.index)


def reconcile(tables: Mapping[str, pd.DataFrame], *, options: DeriveOptions | None = None,
              prefer: Prefer | None = None) -> Reconciliation:
    """Derive summaries from whichever raw sheets exist and reconcile them with `infusions`.

    Parameters
    ----------
    tables
        Typed tables of a validated cohort (``infusions`` and any raw sheets).
    options
        The centre's definitions (:class:`reinfuse.options.DeriveOptions`): which value is
        used where they disagree (``prefer``), the observation window, and the grading
        choices. Default: the documented defaults.
    prefer
        Overrides ``options.prefer``: ``"derived"``: values derived from the raw
        observations replace the recorded ones; ``"recorded"``: recorded values are kept
        and derived values only fill gaps. Every disagreement is a warning either way.
    """
    options = options or DeriveOptions()
    prefer = prefer or options.prefer
    window = options.observation_window_days
    infusions = tables["infusions"]
    findings: list[Finding] = []
    graded: dict[str, pd.DataFrame] = {}

    crs = tables.get("crs_observations")
    if crs is not None and not crs.empty:
        graded["crs_observations"] = grade_crs_observations(crs, infusions, options)
        counted, found = _in_window(graded["crs_observations"], infusions, "crs_observations",
                                    window)
        findings += found
        worst = _worst(counted)
        findings += _ungradable(worst, infusions, "crs_observations", "CRS grade")
        infusions, found = _reconcile_column(
            infusions, _grade_summary(worst, "crs_observations"), "crs_grade",
            sheet="crs_observations", what="CRS grade", prefer=prefer)
        findings += found

    icans = tables.get("icans_observations")
    if icans is not None and not icans.empty:
        graded["icans_observations"] = grade_icans_observations(icans, infusions, options)
        counted, found = _in_window(graded["icans_observations"], infusions,
                                    "icans_observations", window)
        findings += found
        worst = _worst(counted)
        findings += _ungradable(worst, infusions, "icans_observations", "ICANS grade")
        infusions, found = _reconcile_column(
            infusions, _grade_summary(worst, "icans_observations"), "neurotox_grade",
            sheet="icans_observations", what="neurotoxicity grade (ICANS from the "
            "observations; the recorded grade may be CTCAE)", prefer=prefer,
            keep=infusions["neurotox_scale"].eq("ctcae")
            if "neurotox_scale" in infusions else None)
        findings += found

    counts = tables.get("car_counts")
    if counts is not None and not counts.empty:
        infusions, found = _reconcile_expansion(infusions, counts, prefer)
        findings += found

    assessments = tables.get("disease_assessments")
    if assessments is not None and not assessments.empty:
        infusions, found = _reconcile_assessments(infusions, assessments, prefer, options)
        findings += found
    return Reconciliation(infusions=infusions, findings=tuple(findings), graded=graded)


def _close(a: pd.Series, b: pd.Series) -> np.ndarray:
    x, y = a.astype("float64").to_numpy(), b.astype("float64").to_numpy()
    return np.isclose(x, y, rtol=1e-3, atol=0.005)


def _reconcile_expansion(infusions: pd.DataFrame, counts: pd.DataFrame, prefer: Prefer
                         ) -> tuple[pd.DataFrame, list[Finding]]:
    from reinfuse.kinetics import expansion_metrics

    blood = counts[(counts["compartment"] == "blood") & (counts["unit"] == "cells_per_ul")]
    if blood.empty:
        return infusions, []
    metrics = expansion_metrics(blood, compartment="blood", unit="cells_per_ul")
    derived = pd.DataFrame({
        "derived": metrics["cmax"],
        "because": "peak of " + metrics["n_points"].astype(str) + " blood counts on days "
                   "0-28, on day " + metrics["tmax"].map(display),
    }, index=metrics.index)
    return _reconcile_column(infusions, derived, "peak_car_per_ul", sheet="car_counts",
                             what="peak CAR T cells/uL", prefer=prefer, equal=_close)


def _reconcile_assessments(infusions: pd.DataFrame, assessments: pd.DataFrame,
                           prefer: Prefer, options: DeriveOptions
                           ) -> tuple[pd.DataFrame, list[Finding]]:
    from reinfuse.criteria.assessments import (
        best_response,
        pre_infusion_status,
        relapse_after_response,
    )

    findings: list[Finding] = []
    pre = pre_infusion_status(assessments, **options.pre_status_kwargs())
    # Each pre-infusion domain comes from its own latest assessment in the window; the
    # message names the day it was taken.
    for recorded, day_column, numeric in (
        ("pre_marrow_blasts_pct", "pre_marrow_day", True),
        ("pre_marrow_mrd_pct", "pre_mrd_day", True),
        ("pre_csf_wbc_per_ul", "pre_csf_day", True),
        ("pre_csf_rbc_per_ul", "pre_csf_day", True),
        ("pre_csf_blasts", "pre_csf_day", False),
        ("pre_csf_flow_positive", "pre_csf_day", False),
        ("pre_cns_clinical_signs", "pre_cns_signs_day", False),
        ("pre_emd", "pre_emd_day", False),
    ):
        if recorded not in pre or recorded not in infusions:
            continue
        because = "assessment before the infusion"
        if day_column in pre:
            because = "assessment on day " + pre[day_column].map(display)
        derived = pd.DataFrame({"derived": pre[recorded], "because": because},
                               index=pre.index).dropna(subset=["derived"])
        infusions, found = _reconcile_column(
            infusions, derived, recorded, sheet="disease_assessments", what=recorded,
            prefer=prefer, equal=_close if numeric else _same_text)
        findings += found

    best = best_response(assessments, pre_status=pre, **options.best_response_kwargs())
    dates = infusions.set_index(KEY)["date"]
    because = "assessment on day " + best["response_day"].map(display)
    if "rule" in best:
        because = because + ": " + best["rule"].astype(str)
    for recorded, derived_values, equal in (
        ("best_response", best["best_response"], _same_text),
        ("best_response_mrd_pct", best["best_response_mrd_pct"], _close),
        ("response_date", dates.reindex(best.index) + pd.to_timedelta(
            best["response_day"].astype("float64"), unit="D").dt.floor("D"), _same_text),
    ):
        derived = pd.DataFrame({"derived": derived_values, "because": because},
                               index=best.index)
        if recorded == "best_response":
            findings += _inconclusive(infusions, best)
            derived = derived[derived["derived"] != "NE"]
        infusions, found = _reconcile_column(
            infusions, derived, recorded, sheet="disease_assessments", what=recorded,
            prefer=prefer, equal=equal)
        findings += found

    relapse = relapse_after_response(assessments, best, **options.relapse_kwargs())
    if "relapse_day" in relapse:
        relapse_dates = dates.reindex(relapse.index) + pd.to_timedelta(
            relapse["relapse_day"].astype("float64"), unit="D").dt.floor("D")
        derived = pd.DataFrame({"derived": relapse_dates,
                                "because": "first assessment with relapse after CR"},
                               index=relapse.index).dropna(subset=["derived"])
        infusions, found = _reconcile_column(
            infusions, derived, "relapse_date", sheet="disease_assessments",
            what="relapse date", prefer=prefer, equal=_same_text)
        findings += found
    return infusions, findings


def _inconclusive(infusions: pd.DataFrame, best: pd.DataFrame) -> list[Finding]:
    """Warn where assessments exist but cannot classify a recorded best response."""
    merged = infusions[[*KEY, "best_response", SOURCE_ROW]].merge(
        best[["best_response", "rule"]].add_prefix("derived_") if "rule" in best
        else best[["best_response"]].add_prefix("derived_"),
        left_on=KEY, right_index=True, how="inner")
    hits = merged[merged["derived_best_response"].eq("NE") & merged["best_response"].notna()]
    return [Finding(
        severity="warning", sheet="infusions", row=int(row[SOURCE_ROW]), column="best_response",
        value=display(row["best_response"]), expected="a response the assessments support",
        message=f"recorded best response {display(row['best_response'])} for infusion "
                f"{row['infusion']} of '{row['patient_id']}', but the disease_assessments "
                "cannot classify any response"
                + (f" ({row['derived_rule']})" if "derived_rule" in row and
                   pd.notna(row["derived_rule"]) else "") + "; the recorded value is kept.",
        fix="Check the assessments after this infusion (marrow blasts, counts, CSF, EMD) "
            "against the recorded response.",
        rule="assessment-not-conclusive") for _, row in hits.iterrows()]


def _same_text(a: pd.Series, b: pd.Series) -> np.ndarray:
    same = a.astype("string").reset_index(drop=True) == b.astype("string").reset_index(drop=True)
    return same.fillna(False).to_numpy(dtype=bool)
