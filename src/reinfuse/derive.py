"""Cohort -> analysis frame: one row per infusion with every derived variable.

Each derived column applies a clinical criterion from :mod:`reinfuse.criteria` (which cites
its standard) or a plain definition stated here. All work is vectorised over the whole
frame; there is no loop over patients or infusions. ``docs/derived-variables.md`` lists the
columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reinfuse.cohort import Cohort
from reinfuse.criteria.cns import cns_status
from reinfuse.criteria.eligibility import reinfusion_eligibility
from reinfuse.criteria.lymphodepletion import classify_regimen, regimen_pair
from reinfuse.criteria.marrow import marrow_class
from reinfuse.criteria.response import complete_response, mrd_negative_cr, objective_response
from reinfuse.errors import CohortValidationError
from reinfuse.options import DeriveOptions

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


def _survival(frame: pd.DataFrame, *, censor: pd.Series, relapse_event: pd.Series,
              first_relapse: pd.Series, death: pd.Series, end_of_followup: pd.Series) -> None:
    """Overall and event-free survival from each infusion, from the follow-up in ``derive``."""
    frame["followup_days"] = (end_of_followup - frame["date"]).dt.days
    frame["death_event"] = death.notna()
    # Event-free survival: no CR is an event at day 0 (the usual ALL convention for
    # induction failure), then relapse or death, else censored.
    no_cr = frame["complete_response"].eq(False).fillna(False).astype(bool)
    death_event = death.notna() & (death <= censor)
    efs_stop = first_relapse.where(relapse_event, censor)
    frame["efs_days"] = (efs_stop - frame["date"]).dt.days.mask(no_cr, 0)
    frame["efs_event"] = (no_cr | relapse_event | death_event).astype("boolean")
    # A response that is missing or not evaluable is neither a failure nor a CR: the
    # patient is followed and censored at last contact unless relapse or death is known.


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


def derive(cohort: Cohort, options: DeriveOptions | None = None) -> pd.DataFrame:
    """Build the analysis frame: one row per infusion, patient columns joined, all derivations.

    Parameters
    ----------
    cohort
        A validated cohort.
    options
        Definitional choices; the seed study's by default.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``patient_id`` and ``infusion``. Derived columns:

        - ``n_infusions``: infusions the patient received.
        - ``marrow_class_pre``: MRD-negative CR / M1 / M2 / M3 before the infusion;
          ``marrow_group_pre`` merges M2 and M3 as Table 2 does.
        - ``cns_status_pre``: CNS1 / CNS1 flow+ / CNS2 / CNS3.
        - ``objective_response``, ``complete_response``, ``mrd_negative_cr``,
          ``not_in_cr``: booleans from ``best_response`` (and MRD at best response).
        - ``ld_class`` (``ld_regimen``, or the class of the drug totals when the regimen is
          missing), ``ld_pair`` (previous -> this infusion) and ``ld_intensified``.
        - ``dose_change`` (equal / lower / higher than the previous infusion) and
          ``days_since_previous``.
        - ``previous_best_response``, ``previous_complete_response``.
        - ``remission_days`` and ``remission_event``: from the response date to relapse
          (event) or to the last follow-up or death (censored), for complete responses.
        - ``first_relapse_date``: the first relapse recorded on this or a later infusion's
          row (for swimmer plots; remission is censored at the next infusion).
        - ``relapse_phenotype``: "antigen escape, CAR persistent" or "CAR loss, antigen
          preserved" (else "other"), for relapses.
        - ``antigen_loss_after``: antigen dim or negative after the infusion.
        - ``abc_cd19_change``, ``abc_cd22_change``: change in antigen binding capacity
          since the previous infusion.
        - ``relapse_site_group``: CNS (any CNS involvement) / marrow and EMD / marrow only /
          EMD only, for relapses.
        - ``antigen_increased``: CD19 or CD22 ABC higher than before the previous infusion.
        - ``prior_immunotherapy`` (blinatumomab or inotuzumab), ``prior_car_any``.
        - ``mrd_positive_cr``; ``crs_any``, ``crs_severe`` (grade >= 3), ``neurotox_any``,
          ``neurotox_severe`` (by the grade's scale ``neurotox_severe_scale``: CTCAE
          grade >= ``severe_neurotox_min_grade_ctcae``, 4 by default: the seed study's
          "> grade 3"; ICANS grade >= ``severe_neurotox_min_grade_icans``, 3), and
          ``previous_crs_any``, ``previous_neurotox_any`` at the previous infusion.
        - ``expansion_detected``: CAR T cells detected after the infusion, in blood (peak
          above zero) or in the CSF.
        - On reinfusions: ``mod_intensified_ld``, ``mod_higher_dose``, ``mod_lower_burden``,
          ``any_modification`` and ``modifications`` (what was changed from the previous
          infusion), and ``seed_eligible``, ``seed_indication``, ``seed_reason`` (the seed
          study's reinfusion criteria applied to the previous infusion).
        - ``followup_days`` and ``death_event``: from the infusion to death or last contact
          (overall survival from the infusion).
        - ``efs_days`` and ``efs_event``: event-free survival from the infusion; no CR is
          an event at day 0, then relapse or death; otherwise censored at last contact.

    Raises
    ------
    CohortValidationError
        When a follow-up, event-free or remission duration would be negative (a cohort
        that did not go through validation); each finding names the patient, infusion
        and row.
    """
    opts = options or DeriveOptions()
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

    # Follow-up belongs to the patient: the last contact on any row, ended by death.
    by_patient = frame.groupby("patient_id")
    death = by_patient["death_date"].transform("min")
    last_contact = by_patient["last_followup_date"].transform("max")
    end_of_followup = death.where(death.notna(), last_contact)
    # A later infusion starts new treatment: time-to-event from this infusion is censored
    # there (option), and a relapse recorded on a later row still ends this remission.
    same_next = frame["patient_id"].eq(frame["patient_id"].shift(-1))
    next_infusion = frame["date"].shift(-1).where(same_next)
    censor = end_of_followup
    if opts.censor_at_hsct and "hsct_date" in frame:
        hsct = frame["hsct_date"]
        censor = censor.where(hsct.isna() | (censor <= hsct), hsct)
    if opts.censor_at_next_infusion:
        censor = censor.where(next_infusion.isna() | (censor <= next_infusion), next_infusion)
    reverse = frame.iloc[::-1]
    first_relapse = (reverse.groupby("patient_id")["relapse_date"].cummin()
                     .groupby(reverse["patient_id"]).ffill().iloc[::-1])
    relapse_event = first_relapse.notna() & (first_relapse <= censor)
    frame["first_relapse_date"] = first_relapse
    in_cr = frame["complete_response"].fillna(False).astype(bool)
    frame["remission_event"] = (in_cr & relapse_event).astype("boolean")
    frame.loc[~in_cr, "remission_event"] = pd.NA
    stop = first_relapse.where(relapse_event, censor)
    frame["remission_days"] = (stop - frame["response_date"]).dt.days.where(in_cr)

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
    _survival(frame, censor=censor, relapse_event=relapse_event, first_relapse=first_relapse,
              death=death, end_of_followup=end_of_followup)
    from reinfuse.validate._rules import negative_duration_findings

    negative = negative_duration_findings(frame, cohort.infusions)
    if negative:  # validation prevents this; a cohort built without it gets named rows
        raise CohortValidationError(negative, source=cohort.source)
    return frame
