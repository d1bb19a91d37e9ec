"""Derive summary values from raw observation sheets and reconcile them with `infusions`.

Coordinators type summary values (``crs_grade = 3``) after reading a chart; raw sheets hold
the findings themselves. When both exist, reinfuse grades the findings with the published
criteria and reports every disagreement as a warning that shows both values and the
observation that decided (sheet, row, day, rule), so a registry can find its grading errors.
The chart is the fuller source, so the policy never loses what it says:

* **Recorded by default** (``prefer="recorded"``, :class:`reinfuse.options.DeriveOptions`):
  the recorded value is used; the derived one is kept beside it in the reconciled table as
  ``<column>_derived``, with ``<column>_derived_from`` naming the deciding observation, and
  in the warning (``derived-differs-from-recorded``), which reaches ``results.json``.
* **A blank recorded value is filled** by the derived one, with a warning
  (``derived-fills-blank``) that also says where the observations leave gaps.
* **``prefer="derived"``** (``--prefer derived``, or ``prefer = "derived"`` in the plan's
  ``[plan.derive]``) uses the derived value, except where it would replace a recorded value
  the observations do not cover: a *lower* CRS or ICANS grade or blood peak, a *different*
  best response, MRD at response or response date, or a *later* relapse date. Those are
  applied only when the observations cover the recorded value (a lower grade or peak then
  gets its own warning, ``derived-lower-applied``); otherwise the recorded value is kept
  with ``observations-incomplete`` and the reason. A higher derived grade or peak, or an
  earlier relapse, rests on an observation that shows it and needs no coverage.

Coverage (the reasons of ``observations-incomplete``):

* **CRS and ICANS grade**, over the observations counted for the infusion (inside
  ``observation_window_days``, before the next infusion): (1) every whole day from the
  window's first day to the last observed day has an observation (fractional days count
  for the day they fall in); (2) the last observation shows no syndrome (grade 0) or falls
  on the window's last day, else the course may have gone on unobserved; (3) blank finding
  cells, set to their worst value consistent with the row, do not reach the recorded grade
  (a blank is unknown, not absent; death counts only where the infusion records a death).
  An infusion with an observation that cannot be graded gets no derived grade at all
  (``observation-not-gradable``). The cohort format has no onset or peak day column, so
  the recorded peak day cannot be checked directly; (1) and (2) stand in for it.
* **Blood peak** (``peak_car_per_ul``): the blood counts of days 0-28 are at most
  :data:`EXPANSION_MAX_GAP_DAYS` (7) days apart, counting from day 0 and to day 28 (the
  format records no peak day either).
* **Response** (``best_response``, ``best_response_mrd_pct``, ``response_date``): an
  assessment on the recorded response date; **relapse date**: one on the recorded relapse
  date. Without a recorded date there is nothing to check and the derived value is used.

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
``antigen_samples``         ``abc_cd19_pre``, ``abc_cd22_pre``, ``antigen_after``
                            (measured from the FCS files by
                            :func:`reinfuse.flow.measure.measure_antigen`)
==========================  ====================================================

Antigen density needs no coverage: a computed ABC rests on the sample itself. A recorded
ABC and a computed one agree within ``antigen_agreement`` (10 % of the recorded value);
the antigen status after an infusion is that of the antigen its product targets, and for a
CD19/CD22 product the lower of the two (negative below dim below positive; unknown unless
both are measured or one is already negative).

Grades follow the ASTCT consensus (Lee et al., Biol Blood Marrow Transplant
2019;25:625-638) as implemented in :mod:`reinfuse.criteria`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reinfuse.cohort import SOURCE_ROW
from reinfuse.criteria import max_grade_per_infusion
from reinfuse.criteria.crs import crs_grade
from reinfuse.criteria.icans import icans_grade
from reinfuse.errors import CriteriaError
from reinfuse.findings import Finding, display
from reinfuse.options import DeriveOptions, Prefer

__all__ = ["Prefer", "Reconciliation", "grade_crs_observations", "grade_icans_observations",
           "reconcile"]
KEY = ["patient_id", "infusion"]
#: The table of antigen density measured from FCS files that reconciliation reads
#: (``reinfuse.flow.measure.MEASURED_TABLE``; one row per ``antigen_samples`` row).
ANTIGEN_MEASURED = "antigen_measurements"

#: ``needs_cover(recorded, derived)``: where a disagreement needs the observations to cover
#: the recorded value before the derived one may replace it.
Needs = Callable[[pd.Series, pd.Series], Any]


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

    The maximum (``derived``) is :func:`reinfuse.criteria.max_grade_per_infusion`'s, the one
    definition of the rule: an infusion with an ungraded observation gets no derived grade
    unless a known grade is already 5, since the ungraded one might have been the worst.
    """
    ordered = graded.assign(_g=graded["grade"].astype("float64").fillna(-1)).sort_values(
        [*KEY, "_g", "day"], ascending=[True, True, False, True], kind="stable")
    worst = ordered.groupby(KEY, sort=True).head(1).set_index(KEY)
    ungraded = graded["grade"].isna().groupby([graded[k] for k in KEY]).any()
    worst = worst.assign(_ungraded=ungraded.reindex(worst.index).fillna(False).to_numpy())
    maxima = max_grade_per_infusion(graded, by=KEY)
    worst["derived"] = maxima.reindex(worst.index).astype("Int64")
    return worst


def _reconcile_column(
    infusions: pd.DataFrame, derived: pd.DataFrame, recorded: str, *, sheet: str,
    what: str, prefer: Prefer, equal: Any = None, keep: pd.Series | None = None,
    coverage: pd.DataFrame | None = None, needs_cover: Needs | None = None,
    ordinal: bool = False,
) -> tuple[pd.DataFrame, list[Finding]]:
    """Keep (or replace) ``recorded`` beside ``derived['derived']``; warn where they differ.

    ``derived`` is indexed by (patient_id, infusion) with columns ``derived`` and
    ``because`` (the observation that decided, in words). The derived value and its reason
    are added as ``<recorded>_derived`` and ``<recorded>_derived_from`` whatever is used.

    The policy (module docstring): a blank recorded value is filled (``derived-fills-blank``);
    a disagreement keeps the recorded value unless ``prefer == "derived"``; where
    ``needs_cover(recorded, derived)`` is true (a lower grade, a response the assessments
    should have seen), the derived value replaces the recorded one only when ``coverage``
    (indexed like ``derived``; ``gap``: why the observations do not cover the recorded
    value, missing when they do; ``covers``: what they cover) has no gap, else the recorded
    value is kept (``observations-incomplete``). ``ordinal`` values replaced by a lower
    derived one say so (``derived-lower-applied``). Rows where ``keep`` is true keep their
    recorded value and are not compared (a different scale was recorded).
    """
    merged = infusions[[*KEY, recorded, SOURCE_ROW]].merge(
        derived[["derived", "because"]], left_on=KEY, right_index=True, how="left")
    if coverage is not None:
        merged = merged.merge(coverage[["gap", "covers"]], left_on=KEY, right_index=True,
                              how="left")
    else:
        merged = merged.assign(gap=pd.NA, covers=pd.NA)
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
    blank = have & rec.isna()
    needs = pd.Series(False, index=merged.index)
    if needs_cover is not None:
        needs = differs & pd.Series(np.asarray(needs_cover(rec, merged["derived"]),
                                               dtype=bool), index=merged.index)
    incomplete = needs & merged["gap"].notna()
    use_derived = differs & ~incomplete & (prefer == "derived")
    lower = use_derived & needs & ordinal
    findings = [_difference(row, recorded, sheet=sheet, what=what, prefer=prefer,
                            kind=kind)
                for kind, mask in (("blank", blank), ("incomplete", incomplete),
                                   ("lower", lower), ("differs", differs & ~incomplete
                                                      & ~lower))
                for _, row in merged[mask.to_numpy()].iterrows()]
    out = infusions.copy()
    fill = blank | use_derived
    if fill.any():
        values = merged["derived"].where(fill)
        column = out[recorded]
        out[recorded] = column.where(~fill, values.astype(column.dtype)
                                     if column.dtype != object else values)
    out[f"{recorded}_derived"] = merged["derived"]  # same index as infusions
    out[f"{recorded}_derived_from"] = merged["because"].astype("string")
    return out, findings


def _difference(row: pd.Series, recorded: str, *, sheet: str, what: str, prefer: Prefer,
                kind: str) -> Finding:
    """The warning for one infusion whose recorded and derived values differ (or fill)."""
    where = f"infusion {row['infusion']} of '{row['patient_id']}'"
    got = f"{sheet} give {display(row['derived'])} ({row['because']})"
    other = "derived" if prefer == "recorded" else "recorded"
    rule = {"blank": "derived-fills-blank", "incomplete": "observations-incomplete",
            "lower": "derived-lower-applied"}.get(kind, "derived-differs-from-recorded")
    fix = (f"Check the source: correct {recorded} or the {sheet} rows. Run with "
           f"--prefer {other} (or set prefer = \"{other}\" in the plan's [plan.derive]) "
           f"to use the {other} value instead.")
    if kind == "blank":
        note = "" if pd.isna(row["gap"]) else f" (note: {row['gap']})"
        message = (f"no {what} recorded for {where}; {got}{note}; the derived value "
                   "fills the blank.")
        fix = f"Check the derived value and type it into {recorded} if it is right."
    elif kind == "incomplete":
        message = (f"recorded {what} {display(row[recorded])} for {where}, but {got}; "
                   f"the {sheet} do not cover the recorded value: {row['gap']}; the recorded "
                   "value is used.")
        fix = (f"Complete the {sheet} rows of this infusion, or correct {recorded}. Until "
               "the observations cover it, the recorded value is used even with --prefer "
               "derived.")
    elif kind == "lower":
        message = (f"recorded {what} {display(row[recorded])} for {where}, but {got}; the "
                   f"derived value is LOWER than the recorded one and replaces it, because "
                   f"the {sheet} cover the infusion ({row['covers']}); the derived value is "
                   "used.")
    else:
        message = (f"recorded {what} {display(row[recorded])} for {where}, but {got}; the "
                   f"{prefer} value is used.")
    return Finding(
        severity="warning", sheet="infusions", row=int(row[SOURCE_ROW]), column=recorded,
        value=display(row[recorded]), expected=display(row["derived"]), message=message,
        fix=fix, rule=rule)


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
        Overrides ``options.prefer``: ``"recorded"`` (default): recorded values are kept
        and derived values only fill blanks; ``"derived"``: derived values replace the
        recorded ones, except a lower grade or peak, or a different response, that the
        observations do not cover (module docstring). Every disagreement is a warning
        either way.

    Returns
    -------
    Reconciliation
        ``infusions`` with the values used, and beside each summary column derived from a
        raw sheet ``<column>_derived`` (the derived value) and ``<column>_derived_from``
        (the observation that decided); the findings; the graded observation sheets.
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
        coverage = _grade_coverage(
            counted, worst, infusions, "crs_grade", window,
            at_worst=lambda rows: grade_crs_observations(_crs_at_worst(rows, infusions),
                                                         infusions, options),
            findings_columns=CRS_FINDINGS)
        infusions, found = _reconcile_column(
            infusions, _grade_summary(worst, "crs_observations"), "crs_grade",
            sheet="crs_observations", what="CRS grade", prefer=prefer, coverage=coverage,
            needs_cover=_lower, ordinal=True)
        findings += found

    icans = tables.get("icans_observations")
    if icans is not None and not icans.empty:
        graded["icans_observations"] = grade_icans_observations(icans, infusions, options)
        counted, found = _in_window(graded["icans_observations"], infusions,
                                    "icans_observations", window)
        findings += found
        worst = _worst(counted)
        findings += _ungradable(worst, infusions, "icans_observations", "ICANS grade")
        coverage = _grade_coverage(
            counted, worst, infusions, "neurotox_grade", window,
            at_worst=lambda rows: grade_icans_observations(_icans_at_worst(rows, infusions),
                                                           infusions, options),
            findings_columns=ICANS_FINDINGS)
        before = infusions["neurotox_grade"]
        infusions, found = _reconcile_column(
            infusions, _grade_summary(worst, "icans_observations"), "neurotox_grade",
            sheet="icans_observations", what="neurotoxicity grade (ICANS from the "
            "observations; the recorded grade may be CTCAE)", prefer=prefer,
            keep=infusions["neurotox_scale"].eq("ctcae")
            if "neurotox_scale" in infusions else None,
            coverage=coverage, needs_cover=_lower, ordinal=True)
        findings += found
        # A grade taken from the ICANS observations is on the ICANS scale, whatever the
        # row said: severe neurotoxicity is then judged by the ICANS threshold (derive).
        taken = infusions["neurotox_grade"].notna() & (
            before.isna() | infusions["neurotox_grade"].ne(before).fillna(False))
        if taken.any():
            scale = (infusions["neurotox_scale"].astype("object") if "neurotox_scale"
                     in infusions else pd.Series(None, index=infusions.index, dtype=object))
            infusions = infusions.assign(neurotox_scale=scale.mask(taken, "icans"))

    counts = tables.get("car_counts")
    if counts is not None and not counts.empty:
        infusions, found = _reconcile_expansion(infusions, counts, prefer)
        findings += found

    assessments = tables.get("disease_assessments")
    if assessments is not None and not assessments.empty:
        infusions, found = _reconcile_assessments(infusions, assessments, prefer, options)
        findings += found

    measured = tables.get(ANTIGEN_MEASURED)
    if measured is not None and not measured.empty:
        infusions, found = _reconcile_antigen(infusions, measured, prefer,
                                              options.antigen_agreement)
        findings += found
    return Reconciliation(infusions=infusions, findings=tuple(findings), graded=graded)


# === coverage: may a derived value replace the recorded one? ==============================

#: The finding columns of each observation sheet (a blank one may hide a higher grade).
CRS_FINDINGS = ("temperature_c", "anticytokine_or_antipyretic", "hypotension", "vasopressors",
                "vasopressin", "oxygen", "oxygen_l_min", "other_cause", "death_from_crs")
ICANS_FINDINGS = ("ice_score", "capd_score", "consciousness", "sedated", "seizure",
                  "motor_weakness", "cerebral_edema", "raised_icp_signs", "other_cause",
                  "death_from_icans")

#: Columns whose worst value, given the rest of the row, can be the harmless one (0 / no).
HARMLESS_WORST = ("vasopressors", "vasopressin", "other_cause", "sedated", "death_from_crs",
                  "death_from_icans")

#: Blood counts must be at most this many days apart over days 0-28 (and the first within
#: this many days of the infusion, the last within this many days of day 28) for a lower
#: derived peak to replace the recorded one. No standard defines this: it is reinfuse's
#: choice (weekly sampling over the window Cmax is taken from), stated in
#: docs/validation.md, so that a peak between two distant samples is not lost.
EXPANSION_MAX_GAP_DAYS = 7.0
EXPANSION_WINDOW = (0.0, 28.0)


def _lower(recorded: pd.Series, derived: pd.Series) -> np.ndarray:
    """True where the derived value is below the recorded one (missing: false)."""
    low = recorded.astype("float64").to_numpy() > derived.astype("float64").to_numpy()
    return np.asarray(low, dtype=bool)


def _days(values: pd.Series) -> str:
    """``3, 4, 7`` (at most eight days, then ``...``)."""
    shown = [display(float(v)) for v in values.head(8)]
    return ", ".join(shown) + (", ..." if len(values) > 8 else "")


def _empty_coverage() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[], []], names=KEY)
    return pd.DataFrame({"gap": pd.Series(dtype="string"),
                         "covers": pd.Series(dtype="string")}, index=index)


def _grade_coverage(counted: pd.DataFrame, worst: pd.DataFrame, infusions: pd.DataFrame,
                    recorded: str, window: tuple[float, float], *,
                    at_worst: Callable[[pd.DataFrame], pd.DataFrame],
                    findings_columns: tuple[str, ...]) -> pd.DataFrame:
    """Per infusion: why its counted observations do not cover a recorded grade (or '').

    Three reasons, joined with "; " (``gap``; missing when the observations cover it):

    1. a whole day of the window, from its first day to the last observed day, has no
       observation (the day the grade peaked may be the one not transcribed);
    2. the last observation still shows the syndrome (grade above 0, or ungraded) before
       the window's last day, so the course may have gone on unobserved;
    3. only for a recorded grade above the derived one: blank finding cells, filled with
       their worst values, reach the recorded grade (or cannot be graded), so the
       observations might have supported it; blank is unknown, not absent.

    ``covers`` says what the observations do cover, for the warning when a lower derived
    grade is applied.
    """
    if counted.empty:
        return _empty_coverage()
    low, high = window
    first = float(np.ceil(low))
    day = np.floor(counted["day"].astype("float64"))
    seen = counted[KEY].assign(_day=day).drop_duplicates()
    seen = seen[(seen["_day"] >= first).to_numpy()]
    last = counted.assign(_day=day).groupby(KEY)["_day"].max()
    lengths = pd.Series(np.maximum(last.to_numpy() - first + 1, 0), index=last.index)
    observed = seen.groupby(KEY).size().reindex(last.index, fill_value=0)
    short = lengths[(observed < lengths).to_numpy()].astype(int)  # infusions with a gap
    starts = np.repeat(np.cumsum(short.to_numpy()) - short.to_numpy(), short.to_numpy())
    wanted = pd.DataFrame({
        "patient_id": np.repeat(short.index.get_level_values(0).to_numpy(), short.to_numpy()),
        "infusion": np.repeat(short.index.get_level_values(1).to_numpy(), short.to_numpy()),
        "_day": first + (np.arange(int(short.sum())) - starts),
    }).astype({"patient_id": seen["patient_id"].dtype, "infusion": seen["infusion"].dtype})
    missing = wanted.merge(seen, on=[*KEY, "_day"], how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    unseen = missing.groupby(KEY)["_day"].agg(_days).reindex(last.index).astype("string")
    gaps = ("no observation on day(s) " + unseen).where(unseen.notna())

    ordered = counted.sort_values([*KEY, "day"], kind="stable")
    tail = ordered.groupby(KEY).tail(1).set_index(KEY).reindex(last.index)
    still = tail["grade"].astype("float64").fillna(1).gt(0) & tail["day"].lt(high)
    shown = tail[still.to_numpy()]
    open_text = ("the last observation (day " + shown["day"].map(display).astype("string")
                 + ") still shows grade " + shown["grade"].map(display).astype("string")
                 + ", so the course may have gone on after it")
    gaps = _join(gaps, open_text.reindex(last.index))

    reach = _blank_reach(counted, worst, infusions, recorded, at_worst, findings_columns)
    gaps = _join(gaps, reach.reindex(last.index))
    ends = np.where(still, "", np.where(tail["day"].ge(high), ", the end of the window",
                                        ", the last with grade 0"))
    covers = ("an observation on every day from day " + display(first) + " to day "
              + last.astype("int64").astype(str) + ends)
    return pd.DataFrame({"gap": gaps.astype("string"), "covers": covers.astype("string")},
                        index=last.index)


def _join(a: pd.Series, b: pd.Series) -> pd.Series:
    """Two reason columns joined with "; " where both are given."""
    a, b = a.astype("string"), b.astype("string")
    both = a.notna() & b.notna()
    return a.fillna(b).where(~both, a + "; " + b)


def _blank_reach(counted: pd.DataFrame, worst: pd.DataFrame, infusions: pd.DataFrame,
                 recorded: str, at_worst: Callable[[pd.DataFrame], pd.DataFrame],
                 columns: tuple[str, ...]) -> pd.Series:
    """Where a lower derived grade rests on blank cells that could reach the recorded one."""
    grades = infusions.set_index(KEY)[recorded].astype("float64")
    lower = grades.reindex(worst.index) > worst["derived"].astype("float64")
    keys = worst.index[lower.fillna(False).to_numpy(dtype=bool)]
    rows = counted[counted.set_index(KEY).index.isin(keys)]
    columns = tuple(c for c in columns if c in rows)
    cells = rows[list(columns)].isna()
    if {"ice_score", "capd_score"} <= set(columns):  # one score is enough (age decides)
        no_score = cells["ice_score"] & cells["capd_score"]
        cells = cells.assign(ice_score=no_score, capd_score=no_score)
    blanks = cells.groupby([rows[k] for k in KEY]).any()
    blanks = blanks[blanks.any(axis=1)]
    if blanks.empty:
        return pd.Series(dtype="string")
    keep = rows.set_index(KEY).index.isin(blanks.index)
    rows, cells = rows[keep], cells[keep]
    by = [rows[k] for k in KEY]
    try:
        graded = at_worst(rows)
        top = graded["grade"].astype("float64").fillna(5)
        # Name only the blanks whose worst value is not the harmless one (a blank flow on
        # room air, no death where none is recorded, no vasopressor with fluids only...).
        filled = graded.reindex(columns=list(columns))
        harmless = filled[[c for c in columns if c in HARMLESS_WORST]].isin([0, False])
        cells &= filled.notna() & ~harmless.reindex(columns=list(columns), fill_value=False)
        blanks = cells.groupby(by).any().reindex(blanks.index, fill_value=False)
    except CriteriaError:  # the worst values contradict a recorded one: cannot tell
        top = pd.Series(5.0, index=rows.index)
    top = top.groupby(by).max()
    reaches = top >= grades.reindex(top.index)
    names = blanks.dot(pd.Index([f"{c}, " for c in columns])).str.removesuffix(", ")
    text = ("blank (unknown) " + names.reindex(top.index) + " in some observations could "
            "reach grade " + top.map(display) + " at worst, so the observations may have "
            "supported the recorded grade")
    return text[reaches].astype("string")


def _died(rows: pd.DataFrame, infusions: pd.DataFrame) -> np.ndarray:
    """Per observation row: the infusion's row records a death."""
    if "death_date" not in infusions:
        return np.zeros(len(rows), dtype=bool)
    dead = infusions.set_index(KEY)["death_date"].notna()
    return np.asarray(dead.reindex(pd.MultiIndex.from_frame(rows[KEY])).fillna(False),
                      dtype=bool)


def _crs_at_worst(rows: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """The CRS observations with every blank finding at its worst value consistent with the
    row (fever; treated; on several vasopressors unless none is recorded; positive-pressure
    ventilation; death from CRS where the patient died and no other cause is recorded)."""
    out = rows.copy()
    vaso, vasopressin = out["vasopressors"], out["vasopressin"]
    none = (vaso.eq(0) & vasopressin.eq(False)).fillna(False).astype(bool)
    hypotension = out["hypotension"].mask(out["hypotension"].isna() & none, "fluids")
    hypotension = hypotension.fillna("vasopressors")
    benign = hypotension.isin(["none", "fluids"]).fillna(False).astype(bool)
    out["hypotension"] = hypotension
    out["vasopressors"] = vaso.mask(vaso.isna() & benign, 0).fillna(2)
    out["vasopressin"] = vasopressin.mask(vasopressin.isna() & benign, False).fillna(True)
    out["temperature_c"] = out["temperature_c"].fillna(40.0)
    out["anticytokine_or_antipyretic"] = out["anticytokine_or_antipyretic"].fillna(True)
    out["oxygen"] = out["oxygen"].fillna("mechanical_ventilation")
    on_air = out["oxygen"].eq("room_air").fillna(False).astype(bool)
    out["oxygen_l_min"] = out["oxygen_l_min"].mask(out["oxygen_l_min"].isna() & ~on_air,
                                                   60.0)
    return _death_at_worst(out, infusions, "death_from_crs")


def _icans_at_worst(rows: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """The ICANS observations with every blank finding at its worst value (ICE 0 or CAPD 32
    where no score is recorded, unarousable, not sedated, a prolonged seizure, motor
    weakness, diffuse oedema, raised intracranial pressure; death as for CRS)."""
    out = rows.copy()
    no_score = (out["ice_score"].isna() & out["capd_score"].isna()).astype(bool)
    out["ice_score"] = out["ice_score"].mask(no_score, 0)
    out["capd_score"] = out["capd_score"].mask(no_score, 32)
    for column, value in (("consciousness", "unarousable"), ("sedated", False),
                          ("seizure", "prolonged"), ("motor_weakness", True),
                          ("cerebral_edema", "diffuse"), ("raised_icp_signs", True)):
        out[column] = out[column].fillna(value)
    return _death_at_worst(out, infusions, "death_from_icans")


def _death_at_worst(out: pd.DataFrame, infusions: pd.DataFrame, death: str) -> pd.DataFrame:
    other = out["other_cause"].eq(True).fillna(False).astype(bool).to_numpy()
    blank = out[death].isna().to_numpy()
    out[death] = out[death].mask(pd.Series(blank & _died(out, infusions) & ~other,
                                           index=out.index), True).fillna(False)
    out["other_cause"] = out["other_cause"].fillna(False)
    return out


def _on_the_day(infusions: pd.DataFrame, assessments: pd.DataFrame, recorded: str,
                label: str) -> pd.DataFrame:
    """Per infusion with a recorded ``recorded`` date: an assessment on that day, or why not.

    The day is the date minus the infusion's date; an assessment counts when its (possibly
    fractional) day rounds down to it.
    """
    rows = infusions[[*KEY, "date", recorded]].dropna(subset=[recorded])
    if rows.empty:
        return _empty_coverage()
    rows = rows.assign(_day=(rows[recorded] - rows["date"]).dt.days.astype("float64"))
    days = assessments[KEY].assign(_day=np.floor(assessments["day"].astype("float64")))
    days = days.drop_duplicates()
    hit = rows.merge(days, on=[*KEY, "_day"], how="left", indicator=True)
    hit.index = pd.MultiIndex.from_frame(hit[KEY])
    missed = hit.index[(hit["_merge"] != "both").to_numpy()]
    after = days[(days["_day"] > 0).to_numpy()
                 & pd.MultiIndex.from_frame(days[KEY]).isin(missed)]
    after = after.sort_values([*KEY, "_day"])
    listed = after.groupby(KEY)["_day"].agg(_days).reindex(hit.index).astype("string")
    day = hit["_day"].map(display)
    gap = ("no assessment on the recorded " + label + " (day " + day + "); the assessments "
           "after the infusion are on day(s) " + listed.fillna("none"))
    covers = "an assessment on the recorded " + label + " (day " + day + ")"
    return pd.DataFrame({"gap": gap.where(hit["_merge"] != "both").astype("string"),
                         "covers": covers.astype("string")}, index=hit.index)


def _expansion_coverage(blood: pd.DataFrame) -> pd.DataFrame:
    """Per infusion: the widest gap between blood counts of days 0-28, if too wide."""
    low, high = EXPANSION_WINDOW
    inside = blood.loc[blood["day"].between(low, high), [*KEY, "day"]]
    keys = blood[KEY].drop_duplicates()
    points = pd.concat([inside, keys.assign(day=low), keys.assign(day=high)])
    points = points.sort_values([*KEY, "day"], kind="stable")
    points = points.assign(_from=points.groupby(KEY)["day"].shift())
    points = points.assign(_gap=points["day"] - points["_from"])
    widest = points.sort_values([*KEY, "_gap"], ascending=[True, True, False],
                                kind="stable").groupby(KEY).head(1).set_index(KEY)
    gap = ("no blood count from day " + widest["_from"].map(display) + " to day "
           + widest["day"].map(display) + " (samples at most "
           + display(EXPANSION_MAX_GAP_DAYS) + " days apart over days 0-28 catch the peak)")
    covers = (f"blood counts at most {display(EXPANSION_MAX_GAP_DAYS)} days apart over "
              "days 0-28")
    return pd.DataFrame({
        "gap": gap.where(widest["_gap"] > EXPANSION_MAX_GAP_DAYS).astype("string"),
        "covers": pd.Series(covers, index=widest.index, dtype="string")}, index=widest.index)


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
                   "0-28, on day " + metrics["tmax"].map(display)
                   + _row_of(blood, metrics["tmax"], "car_counts"),
    }, index=metrics.index)
    return _reconcile_column(infusions, derived, "peak_car_per_ul", sheet="car_counts",
                             what="peak CAR T cells/uL", prefer=prefer, equal=_close,
                             coverage=_expansion_coverage(blood), needs_cover=_lower_peak,
                             ordinal=True)


def _lower_peak(recorded: pd.Series, derived: pd.Series) -> np.ndarray:
    """A derived peak below the recorded one (beyond rounding)."""
    return _lower(recorded, derived) & ~_close(recorded, derived)


def _reconcile_assessments(infusions: pd.DataFrame, assessments: pd.DataFrame,
                           prefer: Prefer, options: DeriveOptions
                           ) -> tuple[pd.DataFrame, list[Finding]]:
    from reinfuse.criteria.assessments import (
        best_response,
        pre_infusion_status,
        relapse_after_response,
    )

    findings: list[Finding] = []
    sources: dict[str, pd.Series] = {}
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
            if day_column not in sources:  # several domains share a day column
                sources[day_column] = ("assessment on day " + pre[day_column].map(display)
                                       + _row_of(assessments, pre[day_column],
                                                 "disease_assessments"))
            because = sources[day_column]
        derived = pd.DataFrame({"derived": pre[recorded], "because": because},
                               index=pre.index).dropna(subset=["derived"])
        infusions, found = _reconcile_column(
            infusions, derived, recorded, sheet="disease_assessments", what=recorded,
            prefer=prefer, equal=_close if numeric else _same_text)
        findings += found

    best = best_response(assessments, pre_status=pre, **options.best_response_kwargs())
    dates = infusions.set_index(KEY)["date"]
    # A different response (or MRD, or date) replaces the recorded one only when an
    # assessment was taken on the recorded response date; a later relapse date only when
    # one was taken on the recorded relapse date.
    at_response = _on_the_day(infusions, assessments, "response_date", "response date")
    at_relapse = _on_the_day(infusions, assessments, "relapse_date", "relapse date")
    because = "assessment on day " + best["response_day"].map(display)
    if "rule" in best:
        because = because + ": " + best["rule"].astype(str)
    because = because + _row_of(assessments, best["response_day"], "disease_assessments")
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
            prefer=prefer, equal=equal, coverage=at_response, needs_cover=_always)
        findings += found

    relapse = relapse_after_response(assessments, best, **options.relapse_kwargs())
    if "relapse_day" in relapse:
        relapse_dates = dates.reindex(relapse.index) + pd.to_timedelta(
            relapse["relapse_day"].astype("float64"), unit="D").dt.floor("D")
        because = ("first assessment with relapse after CR: day "
                   + relapse["relapse_day"].map(display)
                   + _row_of(assessments, relapse["relapse_day"], "disease_assessments"))
        derived = pd.DataFrame({"derived": relapse_dates, "because": because},
                               index=relapse.index).dropna(subset=["derived"])
        infusions, found = _reconcile_column(
            infusions, derived, "relapse_date", sheet="disease_assessments",
            what="relapse date", prefer=prefer, equal=_same_text, coverage=at_relapse,
            needs_cover=_later)
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


def _row_of(frame: pd.DataFrame, days: pd.Series, sheet: str) -> pd.Series:
    """``; <sheet> row N``: the first row of ``frame`` on each infusion's day ('' if none).

    ``days`` is indexed by (patient_id, infusion); the result is indexed like it.
    """
    if SOURCE_ROW not in frame:
        return pd.Series("", index=days.index, dtype="string")
    want = pd.DataFrame({"day": days.astype("float64").to_numpy()},
                        index=days.index).reset_index()
    rows = frame[[*KEY, "day", SOURCE_ROW]].astype({"day": "float64"})
    rows = rows.drop_duplicates([*KEY, "day"])
    hit = want.merge(rows, on=[*KEY, "day"], how="left")
    text = "; " + sheet + " row " + hit[SOURCE_ROW].astype("Int64").astype("string")
    return pd.Series(text.fillna("").to_numpy(), index=days.index, dtype="string")


def _always(recorded: pd.Series, derived: pd.Series) -> np.ndarray:
    return np.ones(len(recorded), dtype=bool)


def _later(recorded: pd.Series, derived: pd.Series) -> np.ndarray:
    """A derived date after the recorded one (missing: false)."""
    later = pd.to_datetime(derived).to_numpy() > pd.to_datetime(recorded).to_numpy()
    return np.asarray(later, dtype=bool)


def _same_text(a: pd.Series, b: pd.Series) -> np.ndarray:
    same = a.astype("string").reset_index(drop=True) == b.astype("string").reset_index(drop=True)
    return same.fillna(False).to_numpy(dtype=bool)


# === antigen density measured from FCS files ===============================================

#: Antigen statuses from the lowest expression up (for a CD19/CD22 product's lower one).
_STATUS_ORDER = {"negative": 0, "dim": 1, "positive": 2}


def _sample_because(rows: pd.DataFrame) -> pd.Series:
    r2 = rows["bead_r2"].astype("float64").map(lambda v: f"{v:.3f}")
    flags = rows["flags"].fillna("").astype(str)
    text = ("QuantiBRITE ABC of " + rows["n_blasts"].astype("int64").astype(str)
            + " gated blasts (bead fit R2 " + r2 + "); antigen_samples row "
            + rows["row"].astype("int64").astype(str))
    return text + flags.map(lambda f: f"; flagged: {f}" if f else "")


def _antigen_after(infusions: pd.DataFrame, post: pd.DataFrame) -> pd.DataFrame:
    """Per infusion: the measured status of the antigen its product targets.

    A CD19/CD22 product takes the lower of the two statuses; it is unknown unless both
    are measured or the one measured is already negative (nothing is lower). No standard
    defines the antigen status after a dual-target product (clinical-definitions.md): the
    lower status is reinfuse's reading, so that loss or dimming of either target, which
    the seed study reports as the escape mechanism, is not hidden by the other
    (docs/antigen-density.md).
    """
    keys = infusions[[*KEY, "target"]].drop_duplicates(KEY).set_index(KEY)
    status, because, rank = {}, {}, {}
    for antigen in ("CD19", "CD22"):
        rows = post[post["antigen"] == antigen].drop_duplicates(KEY).set_index(KEY)
        status[antigen] = rows["antigen_status"].replace("", pd.NA).reindex(keys.index)
        because[antigen] = rows["_because"].reindex(keys.index)
        rank[antigen] = status[antigen].map(_STATUS_ORDER).astype("float64").to_numpy()
    r19, r22 = rank["CD19"], rank["CD22"]
    target = keys["target"].astype("string").fillna("").to_numpy()
    dual = target == "CD19/CD22"
    with np.errstate(invalid="ignore"):
        low19 = (r19 <= r22) | ((r19 == 0) & np.isnan(r22))
        low22 = (r22 < r19) | ((r22 == 0) & np.isnan(r19))
    use19 = (target == "CD19") | (dual & low19)
    use22 = (target == "CD22") | (dual & low22 & ~use19)
    derived = status["CD19"].where(use19, status["CD22"].where(use22))
    chosen = np.where(use19, "CD19", "CD22")
    prefix = np.where(dual, "the lower of CD19 and CD22: ", "")
    why = (pd.Series(prefix, index=keys.index) + "status of the "
           + pd.Series(chosen, index=keys.index) + " sample after the infusion, "
           + because["CD19"].where(use19, because["CD22"]).astype("string"))
    out = pd.DataFrame({"derived": derived.astype(object), "because": why})
    return out[derived.notna().to_numpy()]


def _reconcile_antigen(infusions: pd.DataFrame, measured: pd.DataFrame, prefer: Prefer,
                       agreement: float) -> tuple[pd.DataFrame, list[Finding]]:
    """``abc_cd19_pre``, ``abc_cd22_pre`` and ``antigen_after`` beside their measured values.

    ``measured`` has one row per sample (:func:`reinfuse.flow.batch.results_frame`);
    failed samples are left out (their values stay unknown).
    """
    ok = measured[measured["status"] == "ok"].copy()
    ok["_because"] = _sample_because(ok) if not ok.empty else pd.Series(dtype="string")
    findings: list[Finding] = []

    def close(a: pd.Series, b: pd.Series) -> np.ndarray:
        x = a.astype("float64").to_numpy()
        y = b.astype("float64").to_numpy()
        return np.abs(x - y) <= agreement * np.abs(x)

    for antigen in ("CD19", "CD22"):
        column = f"abc_{antigen.lower()}_pre"
        pre = ok[(ok["timepoint"] == "pre") & (ok["antigen"] == antigen)
                 & ok["abc"].notna()].drop_duplicates(KEY).set_index(KEY)
        derived = pd.DataFrame({"derived": pre["abc"].astype("float64").round(0),
                                "because": pre["_because"]}, index=pre.index)
        infusions, found = _reconcile_column(
            infusions, derived, column, sheet="antigen_samples",
            what=f"{antigen} ABC before the infusion", prefer=prefer, equal=close)
        findings += found
    post = ok[ok["timepoint"] == "post"]
    derived = (_antigen_after(infusions, post) if not post.empty and "target" in infusions
               else pd.DataFrame({"derived": pd.Series(dtype=object),
                                  "because": pd.Series(dtype=object)}))
    infusions, found = _reconcile_column(
        infusions, derived, "antigen_after", sheet="antigen_samples",
        what="antigen status after the infusion", prefer=prefer, equal=_same_text)
    return infusions, findings + found
