"""Plausible random cohorts of any size, in the cohort format, for benchmarks and load tests.

The distributions are rough figures from published pediatric and young-adult B-ALL CAR T
series (about 15% of patients reinfused, some with a third infusion; CR rates of about 70%
after a first infusion and about 40% after a reinfusion). They are meant to look real to
the software, not to be used as evidence. Generation is vectorised: a million patients take
seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_TARGETS = np.array(["CD19", "CD22", "CD19/CD22"])
_TRIALS = np.array(["NCT01593696", "NCT02315612", "NCT03448393"])
_CONSTRUCTS = np.array(["CD19-28z", "CD22-BBz", "CD19/CD22-BBz"])
_DOSES = np.array([3e5, 1e6, 3e6])
_LD_DRUGS = {  # course totals, mg/m2: fludarabine, cyclophosphamide, cytarabine
    "standard": (75.0, 900.0, 0.0),
    "intensified": (120.0, 1200.0, 0.0),
    "flag": (125.0, 0.0, 10000.0),
}


def _choice(rng: np.random.Generator, values: np.ndarray | list[str], p: list[float],
            size: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=p)]


def synth_cohort(n_patients: int, *, seed: int = 1,
                 reinfusion_rate: float = 0.15,
                 third_infusion_rate: float = 0.10) -> dict[str, pd.DataFrame]:
    """A random cohort of ``n_patients`` that passes validation.

    Parameters
    ----------
    n_patients
        Number of patients (at least 1).
    seed
        Seed of the random generator: the same seed gives the same cohort.
    reinfusion_rate
        Share of patients with a second infusion.
    third_infusion_rate
        Share of reinfused patients with a third infusion.

    Returns
    -------
    dict
        ``{"patients": DataFrame, "infusions": DataFrame}`` with typed columns.

    Examples
    --------
    >>> tables = synth_cohort(200, seed=3)
    >>> len(tables["patients"]), bool(tables["infusions"]["infusion"].max() >= 2)
    (200, True)
    """
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    rng = np.random.default_rng(seed)
    n = n_patients
    ids = np.char.add("S", np.char.zfill(np.arange(1, n + 1).astype(str), len(str(n))))

    prior_car_draw = rng.random(n)
    patients = pd.DataFrame({
        "patient_id": ids,
        "sex": _choice(rng, ["M", "F", "unknown"], [0.58, 0.41, 0.01], n),
        "race": _choice(rng, ["white", "black", "asian", "american_indian_alaska_native",
                              "native_hawaiian_pacific_islander", "multiple", "unknown"],
                        [0.62, 0.08, 0.07, 0.01, 0.01, 0.06, 0.15], n),
        "ethnicity": _choice(rng, ["hispanic", "non_hispanic", "unknown"],
                             [0.25, 0.70, 0.05], n),
        "prior_lines": np.clip(rng.poisson(3.0, n) + 1, 1, 15),
        "prior_hsct": rng.choice([0, 1, 2], size=n, p=[0.45, 0.45, 0.10]),
        "prior_blinatumomab": rng.random(n) < 0.35,
        "prior_inotuzumab": rng.random(n) < 0.15,
        "prior_car": np.select([prior_car_draw < 0.15, prior_car_draw < 0.20,
                                prior_car_draw < 0.22], ["CD19", "CD22", "CD19;CD22"], ""),
    })
    patients["prior_car"] = patients["prior_car"].replace("", pd.NA)

    # Infusions per patient: 1, 2 (reinfused) or 3.
    reinfused = rng.random(n) < reinfusion_rate
    third = reinfused & (rng.random(n) < third_infusion_rate)
    count = 1 + reinfused.astype(int) + third.astype(int)
    patient_index = np.repeat(np.arange(n), count)
    m = len(patient_index)
    first_row = np.r_[0, np.cumsum(count)[:-1]]
    number = np.arange(m) - np.repeat(first_row, count) + 1
    is_last = number == count[patient_index]
    has_next = ~is_last

    # Time: first infusion between 2012 and 2024; reinfusions 60-400 days apart.
    start = pd.Timestamp("2012-01-01") + pd.to_timedelta(rng.integers(0, 13 * 365, n), "D")
    gap = rng.integers(60, 401, m)
    gap[number == 1] = 0
    offset = pd.Series(gap).groupby(patient_index).cumsum().to_numpy()
    date = start[patient_index] + pd.to_timedelta(offset, "D")
    next_gap = np.r_[gap[1:], 0] * has_next

    age_first = np.clip(rng.gamma(4.0, 3.5, n) + 1.0, 1.0, 39.0)
    age = np.round(age_first[patient_index] + offset / 365.25, 1)

    target_index = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])[patient_index]
    dose = _DOSES[rng.choice(3, size=n, p=[0.25, 0.6, 0.15])][patient_index]
    dose_change = (number > 1) & (rng.random(m) < 0.12)
    dose = np.where(dose_change, _DOSES[rng.choice(3, size=m)], dose)

    ld = np.where(number == 1, _choice(rng, ["standard", "intensified", "flag"],
                                       [0.85, 0.12, 0.03], m),
                  _choice(rng, ["standard", "intensified", "flag"], [0.5, 0.47, 0.03], m))
    drugs = np.array([_LD_DRUGS[r] for r in ("standard", "intensified", "flag")])
    ld_code = np.select([ld == "standard", ld == "intensified"], [0, 1], 2)

    # The next infusion's indication decides this infusion's response: a relapse needs a CR.
    next_indication = _choice(rng, ["persistent_disease", "relapse", "relapse_prevention"],
                              [0.40, 0.55, 0.05], m)
    response_any = _choice(rng, ["CR", "CRi", "PR", "SD", "PD", "NE"],
                           [0.62, 0.06, 0.05, 0.15, 0.08, 0.04], m)
    response_re = _choice(rng, ["CR", "CRi", "PR", "SD", "PD", "NE"],
                          [0.33, 0.04, 0.05, 0.33, 0.20, 0.05], m)
    response = np.where(number == 1, response_any, response_re)
    response = np.where(has_next & (next_indication == "persistent_disease"),
                        _choice(rng, ["PR", "SD"], [0.3, 0.7], m), response)
    response = np.where(has_next & (next_indication != "persistent_disease"), "CR", response)
    in_cr = np.isin(response, ["CR", "CRi"])
    evaluable = response != "NE"

    indication = np.r_[[None], next_indication[:-1]].astype(object)
    indication[number == 1] = None

    # Disease burden before the infusion; MRD-negative only with an M1 marrow.
    blasts = np.round(np.where(rng.random(m) < 0.35, rng.uniform(0, 4.9, m),
                               rng.uniform(5, 98, m)), 1)
    mrd = np.round(np.where(blasts >= 5, np.maximum(blasts * rng.uniform(0.7, 1.1, m), 0.01),
                            np.where(rng.random(m) < 0.2, 0.0, rng.uniform(0.01, 4.9, m))), 3)
    mrd = np.minimum(mrd, 100.0)

    response_day = rng.integers(21, 36, m)
    response_date = pd.Series(date + pd.to_timedelta(response_day, "D")).where(evaluable)

    # Relapse after a CR: before the next infusion when that was for relapse.
    relapse_after = np.where(has_next, np.maximum(response_day + 5,
                                                  next_gap - rng.integers(7, 30, m)),
                             response_day + rng.exponential(200, m).astype(int) + 5)
    relapses = in_cr & ((has_next & (next_indication == "relapse"))
                        | (~has_next & (rng.random(m) < 0.45)))
    relapse_date = pd.Series(date + pd.to_timedelta(relapse_after, "D")).where(relapses)

    followup_days = np.where(is_last, rng.integers(40, 2000, m), next_gap)
    followup_days = np.maximum(followup_days, np.where(relapses, relapse_after + 1, 0))
    followup_days = np.maximum(followup_days, response_day + 1)
    last_followup = pd.Series(date + pd.to_timedelta(followup_days, "D"))
    died = is_last & (rng.random(m) < 0.3)
    death_date = last_followup.where(died)

    peak = np.round(np.where(rng.random(m) < np.where(number == 1, 0.05, 0.3), 0.0,
                             rng.lognormal(np.where(number == 1, 3.0, 1.0), 1.8, m)), 2)
    crs = np.where(number == 1, rng.choice(6, size=m, p=[0.2, 0.35, 0.25, 0.12, 0.07, 0.01]),
                   rng.choice(6, size=m, p=[0.7, 0.2, 0.07, 0.02, 0.01, 0.0]))
    lp = rng.random(m) < 0.7
    wbc = np.round(rng.exponential(2.0, m), 0)
    csf_blasts = rng.random(m) < 0.05
    antigen_after = _choice(rng, ["positive", "dim", "negative"], [0.8, 0.1, 0.1], m)

    def yes(p: float) -> np.ndarray:
        return rng.random(m) < p

    later = number >= 2
    infusions = pd.DataFrame({
        "patient_id": ids[patient_index],
        "infusion": number,
        "date": pd.to_datetime(date),
        "age_years": age,
        "trial": _TRIALS[target_index],
        "construct": _CONSTRUCTS[target_index],
        "target": _TARGETS[target_index],
        "dose_per_kg": dose,
        "ld_regimen": ld,
        "ld_fludarabine_mg_m2": drugs[ld_code, 0],
        "ld_cyclophosphamide_mg_m2": drugs[ld_code, 1],
        "ld_cytarabine_mg_m2": drugs[ld_code, 2],
        "indication": indication,
        "compassionate_use": yes(0.1),
        "interim_therapy": pd.Series(yes(0.4)).where(later),
        "residual_car": pd.Series(yes(0.3)).where(later),
        "pre_marrow_blasts_pct": blasts,
        "pre_marrow_mrd_pct": mrd,
        "pre_csf_wbc_per_ul": wbc,
        "pre_csf_rbc_per_ul": np.round(rng.exponential(20, m), 0),
        "pre_csf_blasts": csf_blasts,
        "pre_csf_flow_positive": csf_blasts | yes(0.1),
        "pre_cns_clinical_signs": yes(0.01),
        "pre_emd": yes(0.2),
        "best_response": response,
        "best_response_mrd_pct": pd.Series(np.where(
            in_cr, np.where(yes(0.8), 0.0, np.round(rng.uniform(0.01, 4, m), 3)),
            np.round(rng.uniform(5, 90, m), 1))).where(evaluable),
        "response_date": response_date,
        "crs_grade": crs,
        "neurotox_grade": np.where(yes(0.2), rng.integers(1, 4, m), 0),
        "peak_car_per_ul": peak,
        "csf_lp_done": lp,
        "csf_car_detected": pd.Series(lp & yes(0.4)).where(lp),
        "abc_cd19_pre": np.round(rng.lognormal(8.0, 0.6, m), 0),
        "abc_cd22_pre": np.round(rng.lognormal(8.1, 0.6, m), 0),
        "antigen_after": antigen_after,
        "relapse_date": relapse_date,
        "relapse_sites": pd.Series(_choice(rng, ["marrow", "cns", "marrow;emd", "marrow;cns"],
                                           [0.75, 0.1, 0.1, 0.05], m)).where(relapses),
        "relapse_antigen": pd.Series(_choice(rng, ["positive", "dim", "negative"],
                                             [0.6, 0.15, 0.25], m)).where(relapses),
        "car_at_relapse": pd.Series(yes(0.4)).where(relapses),
        "hsct_after": is_last & in_cr & yes(0.3),
        "last_followup_date": last_followup,
        "death_date": death_date,
    })
    for column in ("interim_therapy", "residual_car", "csf_car_detected", "car_at_relapse"):
        infusions[column] = infusions[column].astype("boolean")
    return {"patients": patients, "infusions": infusions}
