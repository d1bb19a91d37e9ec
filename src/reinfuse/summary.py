"""A short plain-text summary of a validated cohort (no identifiers, no calendar dates)."""

from __future__ import annotations

from reinfuse.cohort import Cohort


def cohort_summary(cohort: Cohort) -> str:
    """Counts a coordinator checks first: patients, infusions, reinfusions, targets, warnings.

    Dates are never printed; time appears only as durations.
    """
    patients, infusions = cohort.patients, cohort.infusions
    per_patient = infusions.groupby("patient_id")["infusion"].max()
    reinfused = int((per_patient >= 2).sum())
    third = int((per_patient >= 3).sum())
    n = len(patients)
    lines = [
        f"Cohort format version {cohort.format_version}",
        f"Patients: {n}",
        f"Infusions: {len(infusions)}",
        f"Patients reinfused (>= 2 infusions): {reinfused} ({100 * reinfused / n:.1f}%)"
        if n else "Patients reinfused: 0",
        f"Patients with a third or later infusion: {third}",
    ]
    first = infusions[infusions["infusion"] == 1]
    targets = first["target"].value_counts(dropna=False)
    lines.append("Target of the first infusion: " + ", ".join(
        f"{'missing' if str(k) == '<NA>' else k} {v}" for k, v in targets.items()))
    followup = (infusions.groupby("patient_id")["last_followup_date"].max()
                - infusions.groupby("patient_id")["date"].min()).dt.days.dropna()
    if len(followup):
        lines.append(f"Follow-up from first infusion, median (range): {followup.median():g} "
                     f"({followup.min():g}-{followup.max():g}) days")
    warnings = [f for f in cohort.findings if f.severity == "warning"]
    lines.append(f"Validation warnings: {len(warnings)}")
    return "\n".join(lines)
