"""Checks that span columns, rows and tables: the clinical plausibility of a cohort.

Every rule is a vectorised mask over a typed table; Python only formats the findings for the
rows that are flagged. Each rule has a stable name (``Finding.rule``) and a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from reinfuse.cohort import SOURCE_ROW
from reinfuse.findings import Finding, Severity, display
from reinfuse.options import DeriveOptions
from reinfuse.schema import REINFUSION_ONLY
from reinfuse.schema.cohort_v1 import IDENTIFIER_PATTERNS
from reinfuse.vocabulary import normalise_label

RowText = Callable[[pd.Series], str]


def flag(
    frame: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    *,
    sheet: str,
    column: str | None,
    message: str | RowText,
    fix: str,
    rule: str,
    expected: str = "",
    severity: Severity = "error",
) -> list[Finding]:
    """One finding per row where ``mask`` is true; ``message`` may be a function of the row."""
    mask = np.asarray(pd.Series(mask, index=frame.index).fillna(False), dtype=bool)
    hits = frame.loc[mask]
    findings = []
    for _, row in hits.iterrows():
        value = row.get(column) if column else None
        findings.append(Finding(
            severity=severity,
            sheet=sheet,
            row=int(row[SOURCE_ROW]),
            column=column,
            value=None if value is None or pd.isna(value) else display(value),
            expected=expected,
            message=message(row) if callable(message) else message,
            fix=fix,
            rule=rule,
        ))
    return findings


def identifier_columns(headers: tuple[str, ...]) -> list[str]:
    """Headers that look like direct identifiers (names, MRN, date of birth, address...)."""
    found = []
    for header in headers:
        key = normalise_label(header)
        if any(re.search(pattern, key) for pattern in IDENTIFIER_PATTERNS):
            found.append(header)
    return found


def _rows_text(rows: pd.Series) -> str:
    return ", ".join(str(int(r)) for r in rows)


def check_patients(patients: pd.DataFrame) -> list[Finding]:
    """Duplicate patient identifiers."""
    dup = patients["patient_id"].notna() & patients["patient_id"].duplicated(keep=False)
    rows_of = patients[dup].groupby("patient_id")[SOURCE_ROW].agg(_rows_text)
    return flag(
        patients, dup, sheet="patients", column="patient_id",
        message=lambda r: f"patient_id '{r['patient_id']}' appears more than once "
                          f"(rows {rows_of[r['patient_id']]}).",
        fix="Give each patient one row; merge or renumber the duplicates.",
        rule="duplicate-patient", expected="a unique identifier",
    )


def _patient_key(infusions: pd.DataFrame) -> pd.Series:
    """Each row's patient as a whole number, -1 where ``patient_id`` is missing: grouping
    and sorting by it skips hashing and sorting a million identifiers as text each time.
    The rows of -1 form one group of unrelated rows: a rule grouping all rows must set
    their results aside (:func:`_per_patient`)."""
    return pd.Series(pd.factorize(infusions["patient_id"])[0], index=infusions.index)


def _per_patient(result: pd.Series, patient: pd.Series) -> pd.Series:
    """A per-patient ``transform`` result, missing for the rows without a patient."""
    return result.where(patient >= 0)


def _ordered(infusions: pd.DataFrame, patient: pd.Series) -> pd.DataFrame:
    """Rows grouped by patient (``patient``: :func:`_patient_key`), by infusion number
    within each (no missing key or number)."""
    order = np.lexsort((infusions["infusion"].to_numpy(dtype="float64"),
                        patient.loc[infusions.index].to_numpy()))
    return infusions.iloc[order]


#: Plausible CAR T-cell doses, cells/kg. The seed study's dose levels were 3x10^5, 1x10^6
#: and 3x10^6 cells/kg (Methods); tisagenlecleucel's label dose is 0.2-5.0x10^6 cells/kg.
#: Outside 10^4-10^8 the usual cause is a total dose, or a dose in millions, in the cell.
DOSE_PER_KG_RANGE = (1e4, 1e8)

#: Ages (years) outside which an age is queried when the cohort states no population: the
#: format accepts 0-120; below 1 year or above 100 is far outside CAR T-cell cohorts and
#: usually an age in months or a typing slip.
AGE_RANGE = (1.0, 100.0)


def check_infusions(infusions: pd.DataFrame, patients: pd.DataFrame,
                    options: DeriveOptions | None = None) -> list[Finding]:
    """Keys, numbering, dates, reinfusion-only fields and clinical consistency.

    ``options`` (the centre's definitions) set the lymphodepletion totals the recorded
    regimen is checked against; default: the seed study's.
    """
    inf = infusions
    out: list[Finding] = []
    sheet = "infusions"
    patient = _patient_key(inf)

    known = inf["patient_id"].isin(patients["patient_id"].dropna())
    out += flag(inf, inf["patient_id"].notna() & ~known, sheet=sheet, column="patient_id",
                message=lambda r: f"patient_id '{r['patient_id']}' is not in the patients "
                                  "sheet.",
                fix="Add the patient to the patients sheet, or correct the identifier.",
                rule="unknown-patient", expected="a patient_id of the patients sheet")

    keyed = inf["patient_id"].notna() & inf["infusion"].notna()
    dup = keyed & inf.duplicated(["patient_id", "infusion"], keep=False)
    out += flag(inf, dup, sheet=sheet, column="infusion",
                message=lambda r: f"infusion {r['infusion']} of patient '{r['patient_id']}' "
                                  "is recorded more than once.",
                fix="Keep one row per infusion; number reinfusions 2, 3, ...",
                rule="duplicate-infusion", expected="one row per (patient_id, infusion)")

    # Numbering must run 1, 2, ..., k without gaps for each patient.
    valid = inf[keyed & ~dup]
    groups = valid.groupby(patient.loc[valid.index])["infusion"]
    expected_max = groups.transform("count")
    gap = (groups.transform("max") != expected_max) | (groups.transform("min") != 1)
    gapped = valid[gap]
    numbers = gapped.groupby("patient_id")["infusion"].agg(
        lambda s: ", ".join(str(int(v)) for v in sorted(s)))
    out += flag(valid, gap, sheet=sheet, column="infusion",
                message=lambda r: f"patient '{r['patient_id']}' has infusions numbered "
                                  f"{numbers[r['patient_id']]}; numbering must run 1, 2, ... "
                                  "without gaps.",
                fix="Renumber this patient's infusions 1, 2, ... in date order, or add the "
                    "missing infusion.",
                rule="infusion-gap", expected="consecutive numbers starting at 1")

    # Dates and ages must increase with the infusion number.
    ordered = _ordered(valid, patient)
    same = ordered["patient_id"].eq(ordered["patient_id"].shift())
    prev_date = ordered["date"].shift().where(same)
    out += flag(ordered, same & (ordered["date"] <= prev_date), sheet=sheet, column="date",
                message=lambda r: f"infusion {r['infusion']} of '{r['patient_id']}' is dated "
                                  "on or before the previous infusion.",
                fix="Check the dates: each reinfusion must come after the infusion before it.",
                rule="infusion-date-order", expected="later than the previous infusion")
    prev_age = ordered["age_years"].shift().where(same)
    out += flag(ordered, same & (ordered["age_years"] < prev_age), sheet=sheet,
                column="age_years",
                message=lambda r: f"age {r['age_years']:g} at infusion {r['infusion']} is "
                                  f"lower than at the previous infusion of '{r['patient_id']}'.",
                fix="Check age_years: age cannot decrease between infusions.",
                rule="age-decreases", expected="at least the age at the previous infusion")
    gap_years = (ordered["date"] - prev_date).dt.days / 365.25
    age_jump = (ordered["age_years"] - prev_age - gap_years).abs() > 1.0
    out += flag(ordered, same & age_jump, sheet=sheet, column="age_years",
                message=lambda r: f"age changes by a different amount than the time between "
                                  f"infusions of '{r['patient_id']}' (more than 1 year apart).",
                fix="Check age_years and the infusion dates.", severity="warning",
                rule="age-date-mismatch", expected="age difference ~ time between infusions")

    # Same product: a reinfusion uses the product of the first infusion.
    for column in ("target", "construct"):
        first = ordered.groupby(patient.loc[ordered.index])[column].transform("first")
        differs = same & ordered[column].notna() & first.notna() & (ordered[column] != first)
        out += flag(ordered, differs, sheet=sheet, column=column,
                    message=_differs(column),
                    fix="A reinfusion uses the same product; if this was a different product, "
                        "record it as a new course or in prior_car.",
                    severity="warning", rule="product-changes",
                    expected="the same product as infusion 1")

    out += _date_order(inf)
    out += _death_is_last(inf, patient)
    out += _within_followup(inf, patient)
    out += _before_next_infusion(ordered)
    previous_relapse = ordered["relapse_date"].shift().where(same)
    no_relapse = (same & ordered["indication"].eq("relapse") & previous_relapse.isna()
                  & ordered["relapse_date"].shift().isna())
    out += flag(ordered, no_relapse, sheet="infusions", column="indication",
                message=lambda r: f"infusion {r['infusion']} of '{r['patient_id']}' was given "
                                  "for relapse, but the previous infusion has no relapse date.",
                fix="Enter relapse_date (and sites) on the previous infusion's row, or correct "
                    "the indication.",
                severity="warning", rule="relapse-indication-without-relapse",
                expected="a relapse date on the previous infusion")
    out += _reinfusion_fields(inf)
    out += _clinical(inf, options or DeriveOptions())
    return out


def _differs(column: str) -> RowText:
    return lambda r: f"{column} '{r[column]}' differs from the first infusion of " \
                     f"'{r['patient_id']}'."


def _before(later: str, earlier: str, what: str) -> RowText:
    return lambda r: f"{what} ({later} {display(r[later])} < {earlier} {display(r[earlier])})."


_DATE_RULES = (
    ("response_date", "date", "the best response is dated before the infusion",
     "response-before-infusion"),
    ("relapse_date", "date", "the relapse is dated before the infusion",
     "relapse-before-infusion"),
    ("relapse_date", "response_date", "the relapse is dated before the response",
     "relapse-before-response"),
    ("last_followup_date", "date", "the last follow-up is dated before the infusion",
     "followup-before-infusion"),
    ("death_date", "date", "death is dated before the infusion", "death-before-infusion"),
    ("death_date", "last_followup_date", "death is dated before the last follow-up",
     "death-before-followup"),
    ("death_date", "relapse_date", "death is dated before the relapse", "death-before-relapse"),
    ("death_date", "response_date", "death is dated before the best response",
     "death-before-response"),
    ("death_date", "hsct_date", "death is dated before the transplant", "death-before-hsct"),
    ("hsct_date", "response_date", "the transplant is dated before the best response",
     "hsct-before-response"),
    ("hsct_date", "date", "the transplant is dated before the infusion",
     "hsct-before-infusion"),
)


def _date_order(inf: pd.DataFrame) -> list[Finding]:
    out: list[Finding] = []
    for later, earlier, what, rule in _DATE_RULES:
        wrong = inf[later] < inf[earlier]
        out += flag(inf, wrong, sheet="infusions", column=later,
                    message=_before(later, earlier, what),
                    fix=f"Check {later} and {earlier}.", rule=rule,
                    expected=f"on or after {earlier}")
    return out


def _after_death(column: str, what: str, death: pd.Series) -> RowText:
    return lambda r: (f"{what} of '{r['patient_id']}' ({column} {display(r[column])}) is "
                      f"dated after the patient's death ({display(death[r.name])}, recorded "
                      "on another row).")


def _death_is_last(inf: pd.DataFrame, patient: pd.Series) -> list[Finding]:
    """A death recorded on any row must come after every infusion and follow-up date
    (``patient``: :func:`_patient_key`)."""
    death = _per_patient(inf.groupby(patient)["death_date"].transform("min"), patient)
    out: list[Finding] = []
    for column, what in (("date", "an infusion"), ("last_followup_date", "a follow-up"),
                         ("response_date", "a response"), ("relapse_date", "a relapse"),
                         ("hsct_date", "a transplant")):
        # Same-row pairs are already checked by the date-order rules.
        own = inf["death_date"].notna()
        late = death.notna() & (inf[column] > death) & ~own
        out += flag(inf, late, sheet="infusions", column=column,
                    message=_after_death(column, what, death),
                    fix="Check the death date and this date; a patient's death must be the "
                        "last event recorded.",
                    rule="event-after-death", expected="before the death date")
    return out


#: Dated events on an infusion's row, as a person names them in a message.
_EVENTS = (("date", "the infusion"), ("response_date", "the best response"),
           ("relapse_date", "the relapse"), ("hsct_date", "the transplant"))


def _within_followup(inf: pd.DataFrame, patient: pd.Series) -> list[Finding]:
    """Every event of a living patient lies within the patient's follow-up.

    :func:`reinfuse.derive.derive` ends a patient's follow-up at death or, for a patient
    with no death date, at the latest ``last_followup_date`` on any of the patient's rows;
    overall survival, event-free survival and remission are measured up to it. An event
    after that date would give a negative duration (a blank ``last_followup_date`` on a
    reinfusion row while an earlier row holds a date before the reinfusion is the usual
    cause), so it is an error here rather than a crash in the report. Deaths are checked by
    ``event-after-death`` and the same-row date rules. A row is reported once, at its
    earliest late event (the later ones follow from it and have the same fix).
    ``patient`` is :func:`_patient_key`.
    """
    by_patient = inf.groupby(patient)
    alive = by_patient["death_date"].transform("count").eq(0) & patient.ge(0)
    last = _per_patient(by_patient["last_followup_date"].transform("max"), patient)
    row_of_last = (inf[SOURCE_ROW].where(inf["last_followup_date"].eq(last))
                   .groupby(patient).transform("min"))
    out: list[Finding] = []
    reported = pd.Series(False, index=inf.index)  # one finding per row: its earliest event
    for column, what in _EVENTS:
        late = (alive & last.notna() & (inf[column] > last)).fillna(False) & ~reported
        reported |= late
        out += flag(inf, late, sheet="infusions", column=column,
                    message=_after_followup(column, what, last, row_of_last),
                    fix="Enter last_followup_date on this row (the last date the patient was "
                        "known to be alive), or correct the dates. Follow-up ends at the "
                        "latest last_followup_date on any of the patient's rows.",
                    rule="event-after-last-followup",
                    expected="on or before the patient's last follow-up")
    return out


def _after_followup(column: str, what: str, last: pd.Series, rows: pd.Series) -> RowText:
    return lambda r: ((f"infusion {r['infusion']}" if column == "date" else
                       f"{what} of infusion {r['infusion']}") + f" of '{r['patient_id']}' "
                      f"({column} {display(r[column])}) is dated after the patient's last "
                      f"follow-up ({display(last[r.name])}, row {display(rows[r.name])}); "
                      "durations measured to the end of follow-up would be negative.")


def _before_next_infusion(ordered: pd.DataFrame) -> list[Finding]:
    """Events recorded on an infusion's row come before the patient's next infusion.

    Remission and event-free survival from an infusion are censored at the next infusion
    (``DeriveOptions.censor_at_next_infusion``), and a relapse is attributed to the
    infusion whose row holds it: a best response dated after the next infusion would give a
    negative remission; a relapse or transplant after it belongs to the next infusion's row.
    """
    following = ordered["patient_id"].eq(ordered["patient_id"].shift(-1))
    next_date = ordered["date"].shift(-1).where(following)
    out: list[Finding] = []
    for column, what in _EVENTS[1:]:
        late = next_date.notna() & (ordered[column] > next_date)
        out += flag(ordered, late, sheet="infusions", column=column,
                    message=_after_next(column, what, next_date),
                    fix=f"Move {column} to the row of the infusion it followed, or correct "
                        "the date.",
                    rule="event-after-next-infusion",
                    expected="before the patient's next infusion")
    return out


def _after_next(column: str, what: str, next_date: pd.Series) -> RowText:
    return lambda r: (f"{what} recorded on infusion {r['infusion']} of '{r['patient_id']}' "
                      f"({column} {display(r[column])}) is dated after infusion "
                      f"{int(r['infusion']) + 1} ({display(next_date[r.name])}); it belongs "
                      "to the later infusion's row.")


def _reinfusion_fields(inf: pd.DataFrame) -> list[Finding]:
    out: list[Finding] = []
    first = inf["infusion"] == 1
    later = inf["infusion"] >= 2
    for column in REINFUSION_ONLY:
        out += flag(inf, first & inf[column].notna(), sheet="infusions", column=column,
                    message=f"{column} is filled on a first infusion; it only applies to "
                            "reinfusions (infusion >= 2).",
                    fix=f"Leave {column} empty on infusion 1, or correct the infusion number.",
                    rule="reinfusion-field-on-first", expected="empty on infusion 1")
        severity: Severity = "error" if column == "indication" else "warning"
        out += flag(inf, later & inf[column].isna(), sheet="infusions", column=column,
                    message=f"{column} is empty on a reinfusion.",
                    fix=f"Fill in {column} for every infusion >= 2"
                        + (" (persistent_disease / relapse / relapse_prevention)."
                           if column == "indication" else " (yes/no)."),
                    severity=severity, rule="reinfusion-field-missing",
                    expected="a value for infusion >= 2")
    return out


def _clinical(inf: pd.DataFrame, options: DeriveOptions) -> list[Finding]:
    from reinfuse.criteria.lymphodepletion import classify_regimen

    out: list[Finding] = []
    mrd_negative_high_blasts = (inf["pre_marrow_mrd_pct"] < 0.01) & (
        inf["pre_marrow_blasts_pct"] >= 5
    )
    out += flag(inf, mrd_negative_high_blasts, sheet="infusions", column="pre_marrow_mrd_pct",
                message=lambda r: f"flow MRD {display(r['pre_marrow_mrd_pct'])}% (negative) "
                                  f"with {display(r['pre_marrow_blasts_pct'])}% marrow blasts "
                                  "(M2/M3) is contradictory.",
                fix="Check pre_marrow_mrd_pct and pre_marrow_blasts_pct (both in percent).",
                rule="mrd-negative-with-m2m3", expected="MRD >= 0.01% when blasts >= 5%")

    no_cr = ~inf["best_response"].isin(["CR", "CRi"])
    out += flag(inf, inf["relapse_date"].notna() & no_cr, sheet="infusions",
                column="relapse_date",
                message=lambda r: "a relapse is recorded but the best response was "
                                  f"{display(r['best_response'])}; relapse requires a prior "
                                  "CR.",
                fix="Set best_response to CR/CRi if the patient was in remission; otherwise "
                    "record progression (best_response PD/SD) and leave relapse_date empty.",
                rule="relapse-without-cr", expected="best_response CR or CRi")

    relapse_details = inf[["relapse_sites", "relapse_antigen", "car_at_relapse"]].notna()
    out += flag(inf, relapse_details.any(axis=1) & inf["relapse_date"].isna(),
                sheet="infusions", column="relapse_date",
                message="relapse details (sites, antigen or CAR at relapse) are filled but "
                        "relapse_date is empty.",
                fix="Enter relapse_date, or clear the relapse details.", severity="warning",
                rule="relapse-details-without-date", expected="a relapse date")

    out += flag(inf, inf["hsct_date"].notna() & inf["hsct_after"].eq(False), sheet="infusions",
                column="hsct_date",
                message="a transplant date is recorded but hsct_after is no.",
                fix="Set hsct_after to yes, or clear hsct_date.",
                rule="hsct-date-without-hsct", expected="hsct_after = yes")

    out += flag(inf, inf["csf_car_detected"].eq(True) & inf["csf_lp_done"].eq(False),
                sheet="infusions", column="csf_car_detected",
                message="CAR T cells are recorded in CSF but no lumbar puncture was done.",
                fix="Set csf_lp_done to yes, or clear csf_car_detected.",
                rule="csf-car-without-lp", expected="csf_lp_done = yes")

    drugs = inf[["ld_fludarabine_mg_m2", "ld_cyclophosphamide_mg_m2", "ld_cytarabine_mg_m2"]]
    given = drugs[["ld_fludarabine_mg_m2", "ld_cyclophosphamide_mg_m2"]].notna().all(axis=1)
    derived = pd.Series(
        classify_regimen(drugs.iloc[:, 0], drugs.iloc[:, 1], drugs.iloc[:, 2].fillna(0.0),
                         **options.regimen_kwargs()),
        index=inf.index,
    ).astype("string")
    # Without a cytarabine total the course could still have been FLAG: only a regimen that
    # is neither the class of the recorded doses nor FLAG contradicts them.
    unknown_cytarabine = drugs.iloc[:, 2].isna()
    possible_flag = unknown_cytarabine & inf["ld_regimen"].eq("flag")
    clash = (given & inf["ld_regimen"].notna() & derived.notna()
             & (derived != inf["ld_regimen"]) & ~possible_flag)
    out += flag(inf, clash, sheet="infusions", column="ld_regimen",
                message=lambda r: f"ld_regimen '{r['ld_regimen']}' contradicts the drug totals "
                                  f"(fludarabine {display(r['ld_fludarabine_mg_m2'])}, "
                                  f"cyclophosphamide {display(r['ld_cyclophosphamide_mg_m2'])}, "
                                  f"cytarabine {display(r['ld_cytarabine_mg_m2'])} mg/m2), which "
                                  f"make it '{derived[r.name]}'.",
                fix="Correct ld_regimen or the drug totals (course totals in mg/m2: standard "
                    f"= fludarabine {options.ld_standard_totals[0]:g} + cyclophosphamide "
                    f"{options.ld_standard_totals[1]:g}; intensified = "
                    f"{options.ld_intensified_totals[0]:g} + "
                    f"{options.ld_intensified_totals[1]:g}; FLAG = fludarabine "
                    f"{options.ld_flag_fludarabine:g} with cytarabine; the plan's "
                    "[plan.derive] ld_* options set them).",
                rule="ld-regimen-contradicts-doses", expected="the regimen the doses define")
    return out


def check_plausibility(inf: pd.DataFrame, age_range: tuple[float, float] = AGE_RANGE
                       ) -> list[Finding]:
    """Values of ``infusions`` the format accepts but that are most likely slips (warnings).

    Parameters
    ----------
    inf
        The typed ``infusions`` table, as recorded (before reconciliation).
    age_range
        The cohort's stated population, years, both ends inclusive (default
        :data:`AGE_RANGE`); ages outside it are queried.
    """
    low, high = DOSE_PER_KG_RANGE
    dose = inf["dose_per_kg"]
    out = flag(inf, (dose < low) | (dose > high), sheet="infusions", column="dose_per_kg",
               message=lambda r: f"a dose of {r['dose_per_kg']:.3g} CAR T cells/kg lies "
                                 f"outside {_power(low)}-{_power(high)} cells/kg, the range "
                                 "of CAR T-cell doses.",
               fix="Enter CAR T cells per kg of body weight (e.g. 1e6 or 1x10^6), not the "
                   "total dose or a number of millions.",
               severity="warning", rule="dose-implausible",
               expected=f"{_power(low)} to {_power(high)} cells/kg")
    young, old = age_range
    age = inf["age_years"]
    out += flag(inf, (age < young) | (age > old), sheet="infusions", column="age_years",
                message=lambda r: f"age {r['age_years']:g} years lies outside the cohort's "
                                  f"population ({young:g}-{old:g} years).",
                fix="Check age_years: the age at this infusion in years (not months).",
                severity="warning", rule="age-implausible",
                expected=f"{young:g} to {old:g} years")
    own_error = (inf["pre_marrow_mrd_pct"] < 0.01) & (inf["pre_marrow_blasts_pct"] >= 5)
    out += blasts_mrd_discordant(inf, "infusions", "pre_marrow_blasts_pct",
                                 "pre_marrow_mrd_pct", ~own_error)
    cr = inf["best_response"].isin(["CR", "CRi"])
    out += flag(inf, cr & (inf["best_response_mrd_pct"] >= 5), sheet="infusions",
                column="best_response_mrd_pct",
                message=lambda r: f"best response {r['best_response']} with flow MRD "
                                  f"{display(r['best_response_mrd_pct'])}%: a complete "
                                  "remission has fewer than 5% marrow blasts. Was a fraction "
                                  "of a percent typed as a percent (0.85 as 85)?",
                fix="Check best_response_mrd_pct (percent of mononuclear cells) and "
                    "best_response.",
                severity="warning", rule="cr-with-high-mrd",
                expected="below 5% in a complete remission")
    return out


def _power(value: float) -> str:
    """10^4 for 1e4: how doses are written in protocols."""
    return f"10^{int(np.log10(value))}"


def blasts_mrd_discordant(frame: pd.DataFrame, sheet: str, blasts: str, mrd: str,
                          among: pd.Series | None = None) -> list[Finding]:
    """Marrow blasts by morphology and flow MRD that differ by more than tenfold.

    Both measure the leukemic fraction of the same marrow; when one is at least 5% (the
    M2 threshold) and the other is less than a tenth of it, a value was most likely typed
    as a fraction (0.85 for 85%) or the columns were swapped. The tenfold margin leaves
    room for the usual disagreement between the two methods.
    """
    larger = frame[[blasts, mrd]].max(axis=1, skipna=False)
    smaller = frame[[blasts, mrd]].min(axis=1, skipna=False)
    discordant = (larger >= 5) & (smaller * 10 < larger)
    if among is not None:
        discordant &= among.fillna(True).astype(bool)
    return flag(frame, discordant, sheet=sheet, column=mrd,
                message=lambda r: f"marrow blasts {display(r[blasts])}% by morphology but "
                                  f"{display(r[mrd])}% by flow MRD: more than tenfold apart. "
                                  "Was a percent typed as a fraction (0.85 for 85%)?",
                fix=f"Check {blasts} and {mrd}: both are percentages (85 for 85%).",
                severity="warning", rule="blasts-mrd-discordant",
                expected="within tenfold of each other")


def check_observations(sheet: str, frame: pd.DataFrame, infusions: pd.DataFrame
                       ) -> list[Finding]:
    """Raw observation sheets: each row belongs to a recorded infusion and is consistent."""
    out: list[Finding] = []
    keys = infusions[["patient_id", "infusion"]].dropna().drop_duplicates()
    keys = keys.assign(_known=True)
    known = frame[["patient_id", "infusion"]].merge(keys, how="left",
                                                    on=["patient_id", "infusion"])["_known"]
    orphan = frame["patient_id"].notna() & frame["infusion"].notna() & known.isna().to_numpy()
    out += flag(frame, orphan.to_numpy(), sheet=sheet, column="infusion",
                message=lambda r: f"infusion {r['infusion']} of patient '{r['patient_id']}' is "
                                  "not in the infusions sheet.",
                fix="Add the infusion to the infusions sheet, or correct patient_id/infusion.",
                rule="observation-unknown-infusion",
                expected="a (patient_id, infusion) of the infusions sheet")
    if sheet == "crs_observations":
        pressors = frame["vasopressors"].fillna(0)
        vasopressin = frame["vasopressin"].fillna(False).astype(bool)
        no_pressor_level = frame["hypotension"].isin(["none", "fluids"])
        out += flag(frame, no_pressor_level & ((pressors > 0) | vasopressin), sheet=sheet,
                    column="hypotension",
                    message=lambda r: f"hypotension '{r['hypotension']}' with "
                                      f"{display(r['vasopressors'])} vasopressor(s)"
                                      + (" and vasopressin" if r["vasopressin"] is True else "")
                                      + " recorded.",
                    fix="Set hypotension to 'vasopressors', or clear the vasopressor count and "
                        "vasopressin.",
                    rule="crs-hypotension-contradiction", expected="consistent hypotension")
        out += flag(frame, frame["hypotension"].eq("vasopressors") & frame["vasopressors"].eq(0)
                    & ~frame["vasopressin"].fillna(False).astype(bool), sheet=sheet,
                    column="vasopressors",
                    message="hypotension 'vasopressors' but no vasopressor or vasopressin.",
                    fix="Enter the number of vasopressors (excluding vasopressin) or set "
                        "vasopressin to yes.",
                    rule="crs-hypotension-contradiction", expected="at least one vasopressor")
        out += flag(frame, frame["oxygen"].eq("room_air") & (frame["oxygen_l_min"] > 0),
                    sheet=sheet, column="oxygen_l_min",
                    message=lambda r: f"oxygen flow {display(r['oxygen_l_min'])} L/min on room "
                                      "air.",
                    fix="Record the oxygen device, or clear the flow.",
                    rule="crs-oxygen-contradiction", expected="no flow on room air")
    if sheet == "disease_assessments":
        out += blasts_mrd_discordant(frame, sheet, "marrow_blasts_pct", "mrd_pct")
    death = "death_from_crs" if sheet == "crs_observations" else "death_from_icans"
    if death in frame:
        out += flag(frame, frame[death].eq(True) & frame["other_cause"].eq(True), sheet=sheet,
                    column=death,
                    message="death is attributed to the syndrome and to another cause at once.",
                    fix=f"Set other_cause to no, or {death} to no.",
                    rule="death-cause-contradiction", expected="one principal cause")
    return out


#: Durations computed by :func:`reinfuse.derive.derive`, the dates they are measured
#: between, and what they are called in a message.
_DURATIONS = (
    ("followup_days", "date", "last_followup_date", "follow-up from the infusion"),
    ("efs_days", "date", "last_followup_date", "event-free survival from the infusion"),
    ("remission_days", "response_date", "last_followup_date", "remission from the response"),
)


def negative_duration_findings(frame: pd.DataFrame, infusions: pd.DataFrame
                               ) -> list[Finding]:
    """Rows of the analysis frame whose follow-up, event-free or remission time is negative.

    The validation rules (``event-after-last-followup``, ``event-after-next-infusion``,
    ``event-after-death`` and the same-row date rules) stop every date ordering that would
    cause one; this is the last guard for a cohort built without validation, so that an
    error names the patient, infusion and row instead of a list of numbers.

    Parameters
    ----------
    frame
        The analysis frame of :func:`reinfuse.derive.derive` (``patient_id``,
        ``infusion`` and the duration columns).
    infusions
        The cohort's ``infusions`` table; its ``source_row`` gives the row the user sees.
    """
    # Only the columns the check reads: at registry scale the analysis frame has about a
    # hundred columns, and merging all of them took seconds for nothing.
    wanted = dict.fromkeys(["patient_id", "infusion",
                            *(c for spec in _DURATIONS for c in spec[:3])])
    frame = frame[[c for c in wanted if c in frame.columns]]
    if SOURCE_ROW in infusions:
        rows = infusions[["patient_id", "infusion", SOURCE_ROW]].drop_duplicates(
            ["patient_id", "infusion"])
        located = frame.merge(rows, on=["patient_id", "infusion"], how="left")
    else:
        located = frame.assign(**{SOURCE_ROW: pd.NA})
    located.index = frame.index
    out: list[Finding] = []
    for duration, start, end, what in _DURATIONS:
        if duration not in located:
            continue
        negative = located[duration] < 0
        if not negative.any():
            continue
        hits = located[negative.fillna(False).to_numpy(dtype=bool)]
        for _, r in hits.iterrows():  # only the offending rows, which validation prevents
            row = None if pd.isna(r[SOURCE_ROW]) else int(r[SOURCE_ROW])
            out.append(Finding(
                severity="error", sheet="infusions", row=row, column=end,
                value=display(r.get(end)), expected=f"on or after {start}",
                message=f"{what} of infusion {r['infusion']} of '{r['patient_id']}' would be "
                        f"{display(r[duration])} days: the end of follow-up (death, or the "
                        "latest last_followup_date of the patient), the next infusion or a "
                        f"transplant comes before {start} {display(r[start])}.",
                fix="Run reinfuse validate and correct the dates it names; enter "
                    "last_followup_date on every row of a living patient.",
                rule="negative-duration"))
    return out


#: Flow MRD (% of mononuclear cells) below which marrow is MRD-negative: the seed study's
#: and ``DeriveOptions.mrd_negative_below``'s default (0.01%, i.e. 10^-4).
MRD_NEGATIVE_BELOW = 0.01

_CR_OR_CRI_FIX = ("Enter CR when blood counts had recovered (ANC >= 1000/uL and platelets "
                  ">= 100,000/uL), otherwise CRi (NCCN ALL response criteria).")


def resolve_context_codes(frame: pd.DataFrame, taken: dict[str, pd.DataFrame],
                          sheet: str) -> list[Finding]:
    """Code the cells :func:`~reinfuse.validate._coerce.split_context_codes` took out.

    Decisions (docs/validation.md, "Synonyms that need another column"):

    - ``best_response`` "MRD-negative CR" / "MRD-positive CR": the MRD status belongs in
      ``best_response_mrd_pct``. Accepted as CR with a warning when that column is filled
      and agrees (below / at or above 0.01%); refused when it is empty (the MRD status
      would be lost) or disagrees.
    - ``best_response`` "CR/CRi": two codes; refused (CR needs count recovery, CRi not).
    - ``best_response`` "NR" / "no response": refused; it does not say whether disease was
      stable (SD) or progressed (PD).
    - ``ld_regimen`` "Flu/Cy" / "FC": names the drugs, not the class. Accepted with a
      warning as the class the recorded drug totals define when that is standard or
      intensified (:func:`reinfuse.criteria.lymphodepletion.classify_regimen`); refused
      when the totals are not recorded or define another class.

    ``frame`` (indexed like the raw sheet, with ``source_row``) is changed in place.
    """
    from reinfuse.criteria.lymphodepletion import classify_regimen

    out: list[Finding] = []
    for column, cells in taken.items():
        if cells.empty:
            continue
        codes = pd.Series(pd.NA, index=cells.index, dtype="string")
        accepted = pd.Series("", index=cells.index, dtype=object)
        refused = pd.Series("", index=cells.index, dtype=object)
        fixes = pd.Series("", index=cells.index, dtype=object)
        kind = cells["kind"]
        if column == "best_response":
            mrd = frame.loc[cells.index, "best_response_mrd_pct"]
            for which, agrees in (("negative", mrd < MRD_NEGATIVE_BELOW),
                                  ("positive", mrd >= MRD_NEGATIVE_BELOW)):
                rows = kind.eq(f"mrd_{which}_cr")
                ok = rows & agrees.fillna(False).astype(bool)
                codes = codes.mask(ok, "CR")
                accepted = accepted.mask(ok, f"read as CR: the MRD-{which} status is "
                                             "recorded in best_response_mrd_pct ("
                                             + mrd.map(display) + "%).")
                blank = rows & mrd.isna()
                refused = refused.mask(blank, f"best_response holds the response only; the "
                                              f"MRD-{which} status belongs in "
                                              "best_response_mrd_pct, which is empty.")
                clash = rows & ~agrees.fillna(False).astype(bool) & mrd.notna()
                refused = refused.mask(clash, f"MRD-{which} contradicts "
                                              "best_response_mrd_pct " + mrd.map(display)
                                       + f"% (MRD-negative means below {MRD_NEGATIVE_BELOW:g}%).")
                fixes = fixes.mask(rows, "Enter CR in best_response and the flow MRD at best "
                                         "response in best_response_mrd_pct (% of mononuclear "
                                         f"cells; below {MRD_NEGATIVE_BELOW:g}% is "
                                         "MRD-negative).")
            refused = refused.mask(kind.eq("cr_or_cri"), "CR/CRi names two codes; "
                                                          "best_response holds one.")
            fixes = fixes.mask(kind.eq("cr_or_cri"), _CR_OR_CRI_FIX)
            refused = refused.mask(kind.eq("no_response"),
                                   "'no response' does not say whether the disease was "
                                   "stable or progressed.")
            fixes = fixes.mask(kind.eq("no_response"),
                               "Enter SD (no CR, CRi or PR and no progression) or PD "
                               "(progressive disease); NE if the response could not be "
                               "assessed.")
        elif column == "ld_regimen":
            doses = frame.loc[cells.index, ["ld_fludarabine_mg_m2",
                                            "ld_cyclophosphamide_mg_m2", "ld_cytarabine_mg_m2"]]
            derived = pd.Series(classify_regimen(doses.iloc[:, 0], doses.iloc[:, 1],
                                                 doses.iloc[:, 2].fillna(0.0)),
                                index=cells.index).astype("string")
            ok = derived.isin(["standard", "intensified"]).fillna(False).astype(bool)
            codes = codes.mask(ok, derived)
            accepted = accepted.mask(ok, "names the drugs, not the regimen; read as '"
                                     + derived.fillna("") + "', the class its drug totals "
                                     "define (fludarabine " + doses.iloc[:, 0].map(display)
                                     + ", cyclophosphamide " + doses.iloc[:, 1].map(display)
                                     + " mg/m2).")
            refused = refused.mask(~ok, "names the drugs but not the regimen class, and the "
                                        "drug totals do not define standard or intensified "
                                        "lymphodepletion.")
            fixes = fixes.mask(kind.notna(), "Enter the class in ld_regimen: standard "
                                             "(fludarabine 75 + cyclophosphamide 900 mg/m2 "
                                             "course totals) or intensified (120 + 1200); or "
                                             "leave it empty and enter the course totals in "
                                             "ld_fludarabine_mg_m2 and "
                                             "ld_cyclophosphamide_mg_m2.")
        frame.loc[cells.index, column] = codes.to_numpy()
        for index in cells.index:  # only the few cells taken out
            text = str(cells.at[index, "text"])
            is_ok = pd.notna(codes.at[index])
            out.append(Finding(
                severity="warning" if is_ok else "error", sheet=sheet,
                row=int(frame.at[index, SOURCE_ROW]), column=column, value=text,
                expected="a code of " + column,
                message=f"'{text}' " + (str(accepted.at[index]) if is_ok else
                                        "is not a code for " + column + ": "
                                        + str(refused.at[index])),
                fix=str(fixes.at[index]),
                rule="synonym-accepted" if is_ok else "code-belongs-elsewhere"))
    return out
