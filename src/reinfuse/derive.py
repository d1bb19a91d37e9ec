"""Cohort -> analysis frame: one row per infusion with every derived variable.

Each derived column applies a clinical criterion from :mod:`reinfuse.criteria` (which cites
its standard) or a plain definition stated here. All work is vectorised over the whole
frame; there is no loop over patients or infusions. The columns are declared in
:mod:`reinfuse.variables` (``docs/derived-variables.md``) and checked against it at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from reinfuse.cohort import Cohort
from reinfuse.criteria.cns import cns_status
from reinfuse.criteria.eligibility import reinfusion_eligibility
from reinfuse.criteria.lymphodepletion import classify_regimen, regimen_pair
from reinfuse.criteria.marrow import marrow_class
from reinfuse.criteria.response import complete_response, mrd_negative_cr, objective_response
from reinfuse.errors import CohortValidationError, InternalError
from reinfuse.findings import Finding
from reinfuse.options import DeriveOptions
from reinfuse.reconcile import ANTIGEN_MEASURED
from reinfuse.validate import Reconciled, Reconciliation, reconcile_cohort
from reinfuse.variables import (
    ENDPOINT_DATES,
    ENDPOINTS,
    Endpoint,
    EventSource,
    frame_problems,
)

if TYPE_CHECKING:  # the flow package (SciPy's signal module) loads only when used
    from reinfuse.flow.measure import AntigenMeasurement

#: Marrow classes grouped as the seed study's Table 2 prints them.
MARROW_GROUPS = {"MRD-negative CR": "MRD-negative CR", "M1": "M1", "M2": "M2/M3",
                 "M3": "M2/M3"}


def _mask(*conditions: pd.Series) -> list[np.ndarray]:
    """Conditions as plain boolean arrays for ``np.select`` (missing counts as false)."""
    return [np.asarray(pd.Series(c).fillna(False), dtype=bool) for c in conditions]


def _choose(conditions: list[np.ndarray], labels: list[str | None], default: str
            ) -> np.ndarray:
    """``np.select`` over text labels (None = missing)."""
    choices: list[Any] = [np.full(len(conditions[0]), label, dtype=object) for label in labels]
    return np.select(conditions, choices, default=default)


def _previous(frame: pd.DataFrame, column: str) -> pd.Series:
    """Value of ``column`` at the patient's previous infusion (frame sorted by patient, number)."""
    same = frame["patient_id"].eq(frame["patient_id"].shift())
    return frame[column].shift().where(same)


def follow_up(frame: pd.DataFrame, options: DeriveOptions | None = None) -> pd.DataFrame:
    """First relapse and the time-to-event endpoints of each infusion: the one definition.

    The endpoints (duration of remission, event-free and overall survival) are computed as
    :data:`reinfuse.variables.ENDPOINTS` declares them (event and censoring sources, each
    switched by its option). ``derive`` and the figures (swimmer lanes, which read these
    columns from the analysis frame) take them from here, so a lane, a table and a
    Kaplan-Meier curve never disagree on when follow-up ended.

    Parameters
    ----------
    frame
        One row per infusion, sorted by ``patient_id`` and ``infusion``, with ``date``,
        ``death_date``, ``last_followup_date``, ``relapse_date``, ``response_date`` and
        ``complete_response`` (and ``hsct_date`` when transplants are dated).
    options
        ``censor_at_next_infusion`` and ``censor_at_hsct`` (default: the seed study's).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``frame``: ``first_relapse_date`` (the first relapse recorded on this
        or a later row of the patient: a relapse recorded with a later infusion still ends
        this remission) and each endpoint's time (days) and event column:
        ``remission_days``/``remission_event`` (complete responses only),
        ``efs_days``/``efs_event`` and ``followup_days``/``death_event``. Follow-up belongs
        to the patient: it ends at the earliest recorded death, else at the latest last
        contact on any of the patient's rows. No known date leaves time and event missing.

    See Also
    --------
    reinfuse.variables.ENDPOINTS : the declarations, which also write the methods sentence.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "patient_id": ["A", "A"], "infusion": [1, 2],
    ...     "date": pd.to_datetime(["2020-01-01", "2020-06-01"]),
    ...     "response_date": pd.to_datetime(["2020-02-01", "2020-07-01"]),
    ...     "complete_response": [True, True],
    ...     "relapse_date": pd.to_datetime([None, "2020-09-01"]),
    ...     "last_followup_date": pd.to_datetime(["2020-06-01", "2021-01-01"]),
    ...     "death_date": pd.to_datetime([None, None])})
    >>> follow_up(frame)["remission_days"].tolist()  # CR 1 censored at infusion 2
    [121.0, 62.0]
    """
    opts = options or DeriveOptions()
    work = frame.copy(deep=False)
    reverse = work.iloc[::-1]
    work["first_relapse_date"] = (reverse.groupby("patient_id")["relapse_date"].cummin()
                                  .groupby(reverse["patient_id"]).ffill().iloc[::-1])
    if "not_in_cr" not in work:
        work["not_in_cr"] = ~work["complete_response"].astype("boolean")
    dates = _endpoint_dates(work)
    if set(dates) != {d.name for d in ENDPOINT_DATES}:
        raise InternalError(f"derive computes the dates {sorted(dates)}, the registry "
                            f"declares {[d.name for d in ENDPOINT_DATES]}")
    columns = ["first_relapse_date"]
    for endpoint in ENDPOINTS.values():
        ended_by = _time_to_event(work, endpoint, dates, opts)
        columns += [endpoint.time, endpoint.event]
        if endpoint.name == "remission":  # the cause for competing-risks analyses
            work["remission_end"] = ended_by
            columns.append("remission_end")
    return work[columns]

def _reinfusion_strategy(frame: pd.DataFrame, opts: DeriveOptions) -> None:
    """On each reinfusion row: what was changed, and whether the seed criteria were met.

    The modifications are the ones the seed study names (Methods; Figure 1A): intensified
    lymphodepletion, a higher cell dose, lower disease burden before the reinfusion (flow
    MRD, else morphology, lower than before the previous infusion). Eligibility applies
    :func:`reinfuse.criteria.eligibility.reinfusion_eligibility` to the previous infusion's
    response, relapse and expansion, with a modification counted as possible when it was
    made (a retrospective reading: the plan could not have used what was not done).
    """
    later = frame["infusion"] >= 2
    not_later = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    # Nullable booleans throughout (Kleene logic): an unknown regimen, dose or burden stays
    # unknown rather than counting as "not changed".
    ld = frame["ld_class"].astype("string")
    intensified = ld.eq("intensified") & _previous(frame, "ld_class").astype("string").ne(
        "intensified")
    higher = frame["dose_change"].astype("string").eq("higher")
    lower = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    for column in ("pre_marrow_blasts_pct", "pre_marrow_mrd_pct"):  # MRD wins when both
        now, before = frame[column], _previous(frame, column)
        both = now.notna() & before.notna()
        lower = lower.mask(both, (now < before).astype("boolean"))
    mods = {"intensified LD": intensified, "higher dose": higher,
            "lower disease burden": lower}
    frame["mod_intensified_ld"] = intensified.where(later, not_later)
    frame["mod_higher_dose"] = higher.where(later, not_later)
    frame["mod_lower_burden"] = lower.where(later, not_later)
    changed = intensified | higher | lower
    frame["any_modification"] = changed.where(later, not_later)
    frame["no_modification"] = (~changed).where(later, not_later)
    # The names of the modifications made, "; "-joined ("none" when none was): one code
    # per row over the 2**3 combinations, not a join per row (a registry has millions).
    flags = np.column_stack([flag.fillna(False).to_numpy(dtype=bool) for flag in mods.values()])
    code = flags.astype(np.int64) @ (1 << np.arange(len(mods)))
    spelled = np.array(["; ".join(n for k, n in enumerate(mods) if c >> k & 1) or "none"
                        for c in range(1 << len(mods))], dtype=object)
    text = pd.Series(spelled[code], index=frame.index, dtype=object)
    # "none" only when every modification is known to be absent.
    text = text.where(~(changed.isna() & text.eq("none")), pd.NA)
    frame["modifications"] = text.where(later).astype("string")

    previous_response = _previous(frame, "best_response").mask(lambda r: r.eq("NE"))
    result = reinfusion_eligibility(
        previous_response.where(later),
        _previous(frame, "relapse_date").notna().where(later),
        _previous(frame, "expansion_detected").where(later),
        intensified.where(later), higher.where(later),
        (lower | frame["interim_therapy"].astype("boolean")).where(later),
    )
    frame["seed_eligible"] = result["eligible"].astype("boolean").where(later)
    frame["seed_indication"] = result["indication"].astype("string").where(later)
    frame["seed_reason"] = result["reason"].astype("string").where(later)


def _endpoint_dates(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The dates of :data:`reinfuse.variables.ENDPOINT_DATES`, one per infusion row.

    Follow-up belongs to the patient: death is the earliest ``death_date`` on any of the
    patient's rows, the last contact the latest ``last_followup_date`` (used only when no
    death is known: a death ends follow-up). A later infusion starts new treatment, and a
    relapse recorded on a later row still ends a remission begun at this one.
    """
    by_patient = frame.groupby("patient_id")
    death = by_patient["death_date"].transform("min")
    same_next = frame["patient_id"].eq(frame["patient_id"].shift(-1))
    missing = pd.Series(pd.NaT, index=frame.index, dtype=frame["date"].dtype)
    return {"infusion": frame["date"], "response": frame["response_date"],
            "relapse": frame["first_relapse_date"], "death": death,
            "last_contact": by_patient["last_followup_date"].transform("max").where(
                death.isna()),
            "hsct": frame.get("hsct_date", missing),
            "next_infusion": frame["date"].shift(-1).where(same_next)}


def _time_to_event(frame: pd.DataFrame, endpoint: Endpoint, dates: dict[str, pd.Series],
                   opts: DeriveOptions) -> pd.Series:
    """Write ``endpoint.time`` (days) and ``endpoint.event`` as the declaration says.

    Each row is followed from the start date to the earliest date among the event and
    censoring sources the options switch on; an event on the day of a censoring counts as
    the event. No known date leaves both missing (unknown, not censored at day 0).
    Returns the date source that ended each row's time (``relapse``, ``death``, ``hsct``,
    ``next_infusion``, ``last_contact``...; missing where the time is): the cause of a
    competing-risks analysis.
    """
    events, censors = endpoint.active(opts)

    def earliest(sources: tuple[EventSource, ...]) -> tuple[pd.Series, pd.Series]:
        out = pd.Series(pd.NaT, index=frame.index, dtype=frame["date"].dtype)
        which = pd.Series(pd.NA, index=frame.index, dtype="string")
        for source in sources:  # a few sources: pairwise minima, skipping unknown dates
            date = dates[source.date]
            if source.when:
                date = date.where(frame[source.when].eq(True).fillna(False))
            earlier = date.notna() & (out.isna() | (date < out))
            which = which.mask(earlier, source.date)
            out = out.where(~earlier, date)
        return out, which

    (event_at, event_by), (censor_at, censor_by) = earliest(events), earliest(censors)
    event = event_at.notna() & (censor_at.isna() | (event_at <= censor_at))
    stop = event_at.where(event, censor_at)
    keep = stop.notna()
    if endpoint.population is not None:
        keep &= frame[endpoint.population].eq(True).fillna(False).astype(bool)
    frame[endpoint.time] = (stop - dates[endpoint.start]).dt.days.astype("float64").where(keep)
    frame[endpoint.event] = event.astype("boolean").where(keep)
    return event_by.where(event, censor_by).where(keep)


def _severe_neurotox(frame: pd.DataFrame, opts: DeriveOptions) -> None:
    """``neurotox_severe`` by the scale of the grade, and ``neurotox_severe_scale``.

    CTCAE (the seed study): severe "if the AE was >grade 3" (clinical-definitions
    "Neurotoxicity by CTCAE v5"), i.e. grade >= ``severe_neurotox_min_grade_ctcae`` (4).
    ICANS: grade >= ``severe_neurotox_min_grade_icans`` (3), severe ICANS of the ASTCT
    consensus (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638). A blank
    ``neurotox_scale`` is ``neurotox_scale_default`` (CTCAE); with ``"missing"`` a grade
    is severe or not only when both rules agree.
    """
    grade = frame["neurotox_grade"].astype("Float64")
    recorded = (frame["neurotox_scale"].astype("string") if "neurotox_scale" in frame
                else pd.Series(pd.NA, index=frame.index, dtype="string"))
    default = None if opts.neurotox_scale_default == "missing" else opts.neurotox_scale_default
    scale = recorded.str.lower().fillna(default) if default else recorded.str.lower()
    ctcae = grade >= opts.severe_neurotox_min_grade_ctcae
    icans = grade >= opts.severe_neurotox_min_grade_icans
    severe = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    severe = severe.mask(scale.eq("ctcae").fillna(False), ctcae)
    severe = severe.mask(scale.eq("icans").fillna(False), icans)
    agree = scale.isna() & ctcae.eq(icans).fillna(False)
    severe = severe.mask(agree, ctcae)
    frame["neurotox_severe"] = severe.astype("boolean")
    frame["neurotox_severe_scale"] = scale.where(grade.notna()).astype("string")


@dataclass(frozen=True)
class AnalysisFrame:
    """The output of the derive stage: the analysis frame and how it was made.

    Attributes
    ----------
    frame
        One row per infusion, patient columns joined, every derived variable
        (:func:`derive`; the columns are listed in docs/derived-variables.md).
    options
        The derive options the frame was made with.
    findings
        The findings of the reconciliation of the raw observation sheets with the
        ``infusions`` sheet (:func:`reinfuse.validate.reconcile_cohort`).
    cohort
        The validated cohort it was derived from (recorded values; its provenance, the
        SHA-256 of its inputs and its findings go into the report's stamp).
    antigen
        The antigen density measured from the FCS files of ``antigen_samples``
        (:func:`reinfuse.flow.measure.measure_antigen`), when it was; its values are
        reconciled with the recorded ones like any raw observation sheet.
    """

    frame: pd.DataFrame
    options: DeriveOptions
    findings: tuple[Finding, ...] = ()
    cohort: Cohort | None = field(default=None, repr=False, compare=False)
    antigen: AntigenMeasurement | None = field(default=None, repr=False, compare=False)


def derive(cohort: Cohort, options: DeriveOptions | None = None, *,
           reconcile: bool = True) -> pd.DataFrame:
    """Build the analysis frame: one row per infusion, patient columns joined, all derivations.

    Parameters
    ----------
    cohort
        A validated cohort.
    options
        Definitional choices; the seed study's by default.
    reconcile
        Reconcile the raw observation sheets with the ``infusions`` sheet first
        (:func:`reinfuse.validate.reconcile_cohort`, which keeps its findings); False when
        ``cohort`` is already the reconciled one (:func:`reinfuse.pipeline.derive` does both
        steps and keeps the findings in its :class:`AnalysisFrame`).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``patient_id`` and ``infusion``: the cohort's columns and the derived
        ones, each declared (name, dtype, unit, dependencies, options, source) in
        :mod:`reinfuse.variables` and listed in ``docs/derived-variables.md``. The
        endpoints (remission, event-free and overall survival) are computed as
        :data:`reinfuse.variables.ENDPOINTS` declares them.

    Raises
    ------
    CohortValidationError
        When a follow-up, event-free or remission duration would be negative (a cohort
        that did not go through validation); each finding names the patient, infusion
        and row.
    InternalError
        When the frame's columns or dtypes disagree with the registry (a bug).
    """
    opts = options or DeriveOptions()
    if reconcile:
        cohort = reconcile_cohort(cohort, options).cohort
    infusions = cohort.infusions.drop(columns=["source_row"], errors="ignore")
    patients = cohort.patients.drop(columns=["source_row"], errors="ignore")
    frame = infusions.merge(patients, on="patient_id", how="left", validate="many_to_one")
    frame = frame.sort_values(["patient_id", "infusion"], kind="stable").reset_index(drop=True)

    frame["n_infusions"] = frame.groupby("patient_id")["infusion"].transform("count")
    frame["marrow_class_pre"] = pd.Series(marrow_class(
        frame["pre_marrow_blasts_pct"], frame["pre_marrow_mrd_pct"],
        mrd_negative_below=opts.mrd_negative_below, unknown_mrd=opts.unknown_mrd),
        index=frame.index).astype("string")
    frame["marrow_group_pre"] = frame["marrow_class_pre"].map(MARROW_GROUPS).astype("string")
    frame["cns_status_pre"] = pd.Series(cns_status(
        frame["pre_csf_wbc_per_ul"], frame["pre_csf_blasts"], frame["pre_csf_flow_positive"],
        # Signs of CNS leukemia are charted when present: a blank cell means none recorded.
        clinical_signs=frame["pre_cns_clinical_signs"].fillna(False),
        # Format v1 records CSF red cells but neither blood counts nor circulating blasts,
        # so the Steinherz-Bleyer correction is never "available" here (disease_assessments
        # apply it); traumatic_tap="always" leaves a bloody blast-positive tap unknown.
        csf_rbc_per_ul=frame["pre_csf_rbc_per_ul"],
        traumatic_tap_rule=opts.traumatic_tap == "always",
        wbc_threshold=opts.cns_wbc_threshold, unknown_flow=opts.unknown_csf_flow,
        unknown_circulating_blasts=opts.unknown_circulating_blasts,
        unrecorded_csf_rbc=opts.unrecorded_csf_rbc), index=frame.index).astype("string")

    response = frame["best_response"]
    frame["objective_response"] = pd.Series(objective_response(response),
                                            index=frame.index).astype("boolean")
    frame["complete_response"] = pd.Series(complete_response(
        response, include_cri=opts.cri_counts_as_cr), index=frame.index).astype("boolean")
    frame["mrd_negative_cr"] = pd.Series(mrd_negative_cr(
        response, frame["best_response_mrd_pct"], threshold=opts.mrd_negative_below,
        include_cri=opts.cri_counts_as_cr),
        index=frame.index).astype("boolean")
    frame["not_in_cr"] = ~frame["complete_response"]

    from_doses = pd.Series(classify_regimen(
        frame["ld_fludarabine_mg_m2"], frame["ld_cyclophosphamide_mg_m2"],
        frame["ld_cytarabine_mg_m2"], **opts.regimen_kwargs()),
        index=frame.index).astype("string")
    frame["ld_class"] = frame["ld_regimen"].astype("string").fillna(from_doses)
    frame["ld_intensified"] = frame["ld_class"].eq("intensified").astype("boolean")
    frame.loc[frame["ld_class"].isna(), "ld_intensified"] = pd.NA
    previous_ld = _previous(frame, "ld_class")
    frame["ld_pair"] = pd.Series(regimen_pair(previous_ld, frame["ld_class"]),
                                 index=frame.index).astype("string")

    previous_dose = _previous(frame, "dose_per_kg")
    ratio = frame["dose_per_kg"] / previous_dose
    frame["dose_change"] = pd.Series(_choose(
        _mask(ratio.isna(), (ratio - 1).abs() <= opts.dose_tolerance, ratio < 1),
        [None, "equal", "lower"], default="higher"), index=frame.index).astype("string")
    frame["days_since_previous"] = (frame["date"] - _previous(frame, "date")).dt.days

    frame["previous_best_response"] = _previous(frame, "best_response").astype("string")
    frame["previous_complete_response"] = _previous(frame, "complete_response").astype(
        "boolean")

    # First relapse; remission, event-free and overall survival (reinfuse.variables.ENDPOINTS).
    span = follow_up(frame, opts)
    for column in span:
        frame[column] = span[column]

    relapsed = frame["relapse_date"].notna()
    lost = frame["relapse_antigen"].isin(list(opts.antigen_loss_statuses))
    car = frame["car_at_relapse"]
    frame["relapse_phenotype"] = pd.Series(_choose(
        _mask(~relapsed, car.eq(True) & lost,
              car.eq(False) & frame["relapse_antigen"].eq("positive")),
        [None, "antigen escape, CAR persistent", "CAR loss, antigen preserved"],
        default="other"), index=frame.index).astype("string")

    frame["antigen_loss_after"] = frame["antigen_after"].isin(
        list(opts.antigen_loss_statuses)).astype("boolean")
    frame.loc[frame["antigen_after"].isna(), "antigen_loss_after"] = pd.NA
    for antigen in ("cd19", "cd22"):
        column = f"abc_{antigen}_pre"
        frame[f"abc_{antigen}_change"] = frame[column] - _previous(frame, column)

    sites = frame["relapse_sites"].astype("string")
    has = {site: sites.str.contains(site, regex=False).fillna(False) for site in
           ("marrow", "cns", "emd")}
    frame["relapse_site_group"] = pd.Series(_choose(
        _mask(~relapsed, has["cns"], has["marrow"] & has["emd"], has["marrow"], has["emd"]),
        [None, "CNS", "marrow and EMD", "marrow only", "EMD only"], default="unknown"),
        index=frame.index).astype("string")
    frame["antigen_increased"] = ((frame["abc_cd19_change"] > 0)
                                  | (frame["abc_cd22_change"] > 0)).astype("boolean")
    frame.loc[frame[["abc_cd19_change", "abc_cd22_change"]].isna().all(axis=1),
              "antigen_increased"] = pd.NA

    # Kleene logic: yes if either is yes, no if both are no, unknown otherwise.
    frame["prior_immunotherapy"] = (frame["prior_blinatumomab"].astype("boolean")
                                    | frame["prior_inotuzumab"].astype("boolean"))
    frame["prior_car_any"] = frame["prior_car"].notna().astype("boolean")
    frame["mrd_positive_cr"] = frame["complete_response"] & ~frame["mrd_negative_cr"]
    frame["crs_any"] = (frame["crs_grade"] >= 1).astype("boolean")
    frame["crs_severe"] = (frame["crs_grade"] >= 3).astype("boolean")
    frame["neurotox_any"] = (frame["neurotox_grade"] >= 1).astype("boolean")
    _severe_neurotox(frame, opts)

    for column in ("crs_any", "neurotox_any"):
        frame[f"previous_{column}"] = _previous(frame, column).astype("boolean")

    # Expansion is demonstrated by CAR T cells in blood or, when blood stays undetectable,
    # in the CSF (the seed study's "failed to demonstrate any CART2 expansion").
    blood = frame["peak_car_per_ul"] > 0
    csf = frame["csf_car_detected"].fillna(False).astype(bool)
    frame["expansion_detected"] = (blood | csf).astype("boolean")
    frame.loc[frame["peak_car_per_ul"].isna() & ~csf, "expansion_detected"] = pd.NA
    _reinfusion_strategy(frame, opts)
    from reinfuse.validate import negative_duration_findings

    negative = negative_duration_findings(frame, cohort.infusions)
    if negative:  # validation prevents this; a cohort built without it gets named rows
        raise CohortValidationError(negative, source=cohort.source)
    mismatch = frame_problems(frame, inputs=False,
                              extra=[*infusions.columns, *patients.columns])
    if mismatch:
        raise InternalError("derive() disagrees with the variable registry "
                            "(reinfuse.variables): " + "; ".join(mismatch))
    return frame


def analysis_frame(cohort: Cohort, options: DeriveOptions | None = None, *,
                   antigen: AntigenMeasurement | None = None,
                   reconciliation: Reconciliation | None = None) -> AnalysisFrame:
    """The derive stage's output: the cohort reconciled, then derived.

    :func:`reinfuse.pipeline.derive` is this function (documented there, with an example);
    it lives here so that lower layers (``reinfuse.demo``) need not import the pipeline.
    ``antigen``, the samples measured from FCS files, is reconciled with the recorded
    antigen values like a raw observation sheet; its own findings (failed or flagged
    samples) come first among the frame's findings. ``reconciliation``, validation's
    reconciliation of this very cohort, is taken over when it was made under the same
    options and no antigen was measured since; otherwise the cohort is reconciled here.
    """
    if options is None:
        options = DeriveOptions(prefer=cohort.prefer)  # type: ignore[arg-type]
    source = cohort
    if antigen is not None and antigen.samples:
        source = replace(cohort, tables={**cohort.tables, ANTIGEN_MEASURED: antigen.frame()})
    if (reconciliation is not None and source is cohort  # no antigen measured since
            and reconciliation.serves(cohort, options)):
        # The same function on the same tables under the same options: the same result.
        done = Reconciled(cohort=reconciliation.cohort,
                          findings=reconciliation.findings_after(cohort.findings))
    else:
        done = reconcile_cohort(source, options, found_before=cohort.findings)
    frame = derive(done.cohort, options, reconcile=False)
    found = (*antigen.findings, *done.findings) if antigen is not None else done.findings
    return AnalysisFrame(frame=frame, options=options, findings=found, cohort=cohort,
                         antigen=antigen)
