"""Raw observations of the demo cohort: CRS, ICANS, CAR T-cell counts, disease assessments.

The four optional sheets of the cohort format (``crs_observations``, ``icans_observations``,
``car_counts``, ``disease_assessments``) for the 18 synthetic patients x 2 infusions of
:mod:`reinfuse.demo.build`. They are written so that the criteria engine, applied to them,
gives back the summary values recorded in the ``infusions`` sheet:

- ``crs_grade``: ASTCT maximum of the daily CRS findings, days 0-14
  (:func:`reinfuse.criteria.crs.crs_grade`);
- ``neurotox_grade``: ICANS maximum of the daily neurological assessments, days 0-14, ICE
  from age 12 and CAPD below (:func:`reinfuse.criteria.icans.icans_grade`);
- ``peak_car_per_ul``: blood Cmax over days 0-28 (:func:`reinfuse.kinetics.expansion_metrics`);
- pre-infusion marrow, MRD, CSF and EMD (assessment on day -7), best response with its MRD
  and date, and relapse date and sites (:mod:`reinfuse.criteria.assessments`).

What is data and what is rule
-----------------------------
The clinical course of each infusion is a literal (:data:`COURSES`): the days of fever and
its highest temperature, when antipyretics and tocilizumab (or corticosteroids) were started,
the days of fluid-responsive hypotension, of each vasopressor and of each oxygen device, the
ICE (or CAPD) scores, the day of the blood CAR T-cell peak, and the marrow blasts and
extramedullary findings at the response assessment. Everything the ``infusions`` sheet
already holds is copied from it (pre-infusion values, MRD at response, response and relapse
days, relapse sites, peak values, LP done, CAR detected in CSF and at relapse, residual CAR
before CART2). The routine values the engine needs but the study never described (afebrile
temperatures, blood counts, CSF cell counts, the shape of the CAR T-cell curve around its
peak) follow the simple deterministic rules below. Nothing is random.

Rules
-----
- CRS: one row per day, days 0-14. Febrile days rise to ``tmax`` on the second febrile day
  and fall by 0.4 C a day, never below 38.1 C; afebrile days are 36.6-37.3 C. The
  ``anticytokine_or_antipyretic`` flag is yes from the first day of antipyretics or
  tocilizumab on. Oxygen is room air unless a device is listed.
- ICANS: one row per day, days 0-14; the listed scores from the listed day, otherwise ICE 10
  (age >= 12) or CAPD 0 (age < 12); alert unless listed as drowsy (awakens spontaneously).
- Blood CAR T cells (cells/uL): days 0, 3 (CD19-28z) or 4 (the BBz products), 7, 10, 14, 21
  and 28, the recorded peak times a template by day of peak (:data:`CURVES`), 3 significant
  digits; 0 throughout when the recorded peak is 0. Persistence after day 28 (days 60, 90,
  180 while in remission, and the relapse day) is ``value(day 28) x (28 / day)^2`` when
  CAR T cells persisted (``car_at_relapse`` yes, or ``residual_car`` yes at CART2), otherwise
  0. Each CART2 has a pre-lymphodepletion sample on the day of its pre-infusion assessment
  (the same decay, in days from CART1): positive exactly when ``residual_car`` is yes. Day 0
  is the baseline after lymphodepletion and before the cells are given: 0 for every
  infusion.
- Marrow CAR T cells (% of T cells) at the response marrow (positive when the blood peak is)
  and at relapse (positive when ``car_at_relapse``); all positive values are above the seed
  study's marrow limits of detection (0.1 % CD19 CAR, 1 % CD22 CAR). CSF CAR T cells (% of
  T cells) at the post-infusion lumbar puncture when one was done, positive exactly when
  ``csf_car_detected``.
- Disease assessments: day -7 (day -6 for P16 CART2, whose CART1 response marrow was on
  CART2 day -7) with the recorded pre-infusion marrow, MRD, lumbar puncture and EMD; the
  response assessment on the recorded response day (marrow, MRD at response, EMD, counts, and
  the post-infusion lumbar puncture when ``csf_lp_done``); a remission marrow on day 90 when
  the remission lasted beyond day 100; a relapse assessment on the recorded relapse day
  showing the recorded sites (marrow blasts > 5 %, blasts in the CSF, EMD). Counts at a CR
  are recovered (ANC >= 1.0, platelets >= 100 x 10^9/L); otherwise they are not.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "CAR_COUNT_COLUMNS",
    "COURSES",
    "CRS_COLUMNS",
    "CURVES",
    "DISEASE_COLUMNS",
    "ICANS_COLUMNS",
    "Course",
    "Crs",
    "Icans",
    "observation_tables",
]

#: Column order of ``crs_observations`` (cohort format v1).
CRS_COLUMNS: tuple[str, ...] = (
    "patient_id", "infusion", "day", "temperature_c", "anticytokine_or_antipyretic",
    "hypotension", "vasopressors", "vasopressin", "oxygen", "oxygen_l_min", "other_cause",
    "death_from_crs",
)
#: Column order of ``icans_observations`` (cohort format v1).
ICANS_COLUMNS: tuple[str, ...] = (
    "patient_id", "infusion", "day", "ice_score", "capd_score", "consciousness", "sedated",
    "seizure", "motor_weakness", "cerebral_edema", "raised_icp_signs", "other_cause",
    "death_from_icans",
)
#: Column order of ``car_counts`` (cohort format v1).
CAR_COUNT_COLUMNS: tuple[str, ...] = (
    "patient_id", "infusion", "day", "compartment", "value", "unit",
)
#: Column order of ``disease_assessments`` (cohort format v1).
DISEASE_COLUMNS: tuple[str, ...] = (
    "patient_id", "infusion", "day", "marrow_blasts_pct", "mrd_pct", "csf_wbc_per_ul",
    "csf_rbc_per_ul", "csf_blasts", "csf_flow_positive", "blood_wbc", "blood_rbc",
    "cns_clinical_signs", "emd", "anc", "platelets",
)

OBSERVED_DAYS = range(15)  # CRS and ICANS: daily, days 0-14
CAPD_BELOW_AGE = 12  # ASTCT consensus: CAPD below 12 years, ICE from 12

#: Blood CAR T-cell curve as a fraction of the peak, by sampling day, for each day of peak.
#: The first sample after day 0 is day 3 for CD19-28z and day 4 for the BBz products.
CURVES: dict[int, dict[str, float]] = {
    7: {"early": 0.12, "7": 1.0, "10": 0.55, "14": 0.3, "21": 0.1, "28": 0.04},
    10: {"early": 0.06, "7": 0.45, "10": 1.0, "14": 0.65, "21": 0.25, "28": 0.1},
    14: {"early": 0.02, "7": 0.2, "10": 0.6, "14": 1.0, "21": 0.45, "28": 0.18},
}
LATE_DAYS = (60, 90, 180)  # persistence samples while in remission


@dataclass(frozen=True)
class Crs:
    """A CRS course: what happened on which days after the infusion (days are inclusive).

    Attributes
    ----------
    fever
        First and last day with a temperature >= 38.0 C; ``None``: afebrile throughout.
    tmax
        Highest temperature, reached on the second febrile day.
    antipyretic
        First day antipyretics were given (given whenever febrile from then on).
    tocilizumab
        First day of tocilizumab (with or without corticosteroids).
    fluids
        Days of hypotension that responded to fluid boluses (no vasopressor).
    pressor
        Days on one vasopressor (norepinephrine).
    second_pressor
        Days on a second vasopressor (epinephrine), not vasopressin.
    vasopressin
        Days on vasopressin (with or without other vasopressors).
    oxygen
        ``(device, L/min or None, first day, last day)`` entries; later entries win.
    """

    fever: tuple[int, int] | None = None
    tmax: float = 37.0
    antipyretic: int | None = None
    tocilizumab: int | None = None
    fluids: tuple[int, int] | None = None
    pressor: tuple[int, int] | None = None
    second_pressor: tuple[int, int] | None = None
    vasopressin: tuple[int, int] | None = None
    oxygen: tuple[tuple[str, float | None, int, int], ...] = ()


@dataclass(frozen=True)
class Icans:
    """Neurological course: ICE (age >= 12) or CAPD (age < 12) scores from day ``start``.

    Attributes
    ----------
    start
        Day of the first score in ``scores``.
    scores
        One score per day from ``start``; other days are normal (ICE 10, CAPD 0).
    drowsy
        Days the patient was drowsy but awoke spontaneously.
    """

    start: int
    scores: tuple[int, ...]
    drowsy: tuple[int, ...] = ()


@dataclass(frozen=True)
class Course:
    """The clinical course of one infusion, as far as the infusions sheet does not hold it.

    Attributes
    ----------
    crs
        CRS findings; ``NO_CRS``: no CRS (afebrile, no antipyretics).
    icans
        Neurological findings; ``None``: normal throughout.
    car_peak_day
        Day of the blood CAR T-cell peak (7, 10 or 14: a key of :data:`CURVES`).
    response_blasts
        Marrow blasts (%) at the response assessment.
    response_emd
        Non-CNS extramedullary disease at the response assessment.
    response_csf_flow
        Leukemia by CSF flow cytometry at the post-infusion lumbar puncture (if done).
    """

    crs: Crs
    icans: Icans | None
    car_peak_day: int
    response_blasts: float
    response_emd: bool = False
    response_csf_flow: bool = False


NO_CRS = Crs()
LFNC, HFNC = "low_flow_nasal_cannula", "high_flow_nasal_cannula"

# ---------------------------------------------------------------------------------------
# One course per infusion. Recorded grades (crs / ICANS) in the comments are what the
# engine must find; the findings are chosen so that the ASTCT consensus gives exactly them:
# fever only = 1; fluids or low-flow oxygen (<= 6 L/min) = 2; one vasopressor (with or
# without vasopressin), high-flow oxygen (> 6 L/min) or a facemask = 3; two vasopressors or
# positive pressure = 4. ICE 7-9 = ICANS 1, ICE 3-6 = 2; CAPD 0 = no ICANS.
# Response blasts: CR < 5 %; PR halved from before the infusion and <= 25 %; SD neither PR
# nor a 25 % rise; the two PD are a new extramedullary site (P02, whose 96 % marrow cannot
# rise by 25 %) and a marrow rise (P07: 72 -> 92 %; P08: 0 -> 20 %).
# ---------------------------------------------------------------------------------------
COURSES: dict[tuple[str, int], Course] = {
    # P01 CD19-28z: CRS 3 (norepinephrine days 4-5), ICANS 2 (ICE 5) at CART1; CR.
    ("P01", 1): Course(
        Crs(fever=(1, 5), tmax=40.1, antipyretic=1, tocilizumab=3, fluids=(3, 3),
            pressor=(4, 5), oxygen=((LFNC, 2.0, 4, 6),)),
        Icans(start=5, scores=(9, 7, 5, 6, 8, 9), drowsy=(7,)), 7, 1.0),
    ("P01", 2): Course(NO_CRS, None, 7, 82.0),  # SD (85 -> 82 %)
    # P02: no CRS at either infusion. CART2 PD: new EMD (pre-infusion EMD absent).
    ("P02", 1): Course(NO_CRS, None, 7, 2.0),
    ("P02", 2): Course(NO_CRS, None, 7, 97.0, response_emd=True),
    # P03: CRS 1 at CART1; SD twice (38 -> 33 %, 21 -> 20 %).
    ("P03", 1): Course(Crs(fever=(2, 3), tmax=38.6, antipyretic=2), None, 10, 33.0,
                       response_csf_flow=True),
    ("P03", 2): Course(NO_CRS, None, 14, 20.0),
    # P04 (age 9, CAPD): CRS 4 at CART1 (norepinephrine days 3-6, epinephrine added days
    # 4-5, facemask days 4-5), the dose-limiting toxicity behind the lower CART2 dose; CR.
    ("P04", 1): Course(
        Crs(fever=(1, 6), tmax=40.4, antipyretic=1, tocilizumab=2, fluids=(2, 2),
            pressor=(3, 6), second_pressor=(4, 5),
            oxygen=((LFNC, 1.0, 3, 3), ("facemask", 6.0, 4, 5), (LFNC, 1.0, 6, 7))),
        None, 7, 0.5),
    ("P04", 2): Course(NO_CRS, None, 10, 61.0),  # SD (63 -> 61 %)
    # P05: CRS 2 (fluids) at CART1; CR after both infusions (MRD-positive after CART2).
    ("P05", 1): Course(Crs(fever=(1, 4), tmax=39.4, antipyretic=1, tocilizumab=3,
                           fluids=(3, 4)), None, 7, 1.0),
    ("P05", 2): Course(NO_CRS, None, 10, 3.0),
    # P06: CRS 2 (nasal cannula 2 L/min) at CART1; CR, then SD at CART2 (50 -> 46 %).
    ("P06", 1): Course(Crs(fever=(5, 8), tmax=39.2, antipyretic=5, tocilizumab=7,
                           oxygen=((LFNC, 2.0, 7, 8),)), None, 14, 1.0),
    ("P06", 2): Course(NO_CRS, None, 14, 46.0),
    # P07: CRS 2 (fluids, 3 L/min) at CART1; CART2 PD in the marrow (72 -> 92 %), EMD
    # persisting.
    ("P07", 1): Course(Crs(fever=(4, 8), tmax=39.7, antipyretic=4, tocilizumab=6,
                           fluids=(6, 7), oxygen=((LFNC, 3.0, 7, 8),)), None, 14, 2.0),
    ("P07", 2): Course(NO_CRS, None, 14, 92.0, response_emd=True),
    # P08: CRS 2 (fluids) at CART1; medullary CR with CSF flow+ disease persisting; CART2
    # PD: marrow relapse (0 -> 20 %), CSF still flow+.
    ("P08", 1): Course(Crs(fever=(3, 6), tmax=39.0, antipyretic=3, tocilizumab=5,
                           fluids=(5, 5)), None, 14, 1.0, response_csf_flow=True),
    ("P08", 2): Course(NO_CRS, None, 14, 20.0, response_csf_flow=True),
    # P09: CRS 4 (BiPAP days 6-7, on norepinephrine) and ICANS 1 at CART1, PR (50 -> 10 %);
    # CRS 1 and ICANS 1 at CART2, CR.
    ("P09", 1): Course(
        Crs(fever=(2, 8), tmax=40.6, antipyretic=2, tocilizumab=4, fluids=(4, 4),
            pressor=(5, 8),
            oxygen=((LFNC, 2.0, 4, 4), (HFNC, 20.0, 5, 5), ("bipap", None, 6, 7),
                    (HFNC, 15.0, 8, 8), (LFNC, 2.0, 9, 10))),
        Icans(start=7, scores=(8, 8, 9)), 10, 10.0),
    ("P09", 2): Course(Crs(fever=(3, 4), tmax=38.8, antipyretic=3),
                       Icans(start=6, scores=(9,)), 14, 1.0),
    # P10: CRS 1 at CART1, SD (72 -> 50 %: not halved to <= 25 %); CART2 PR (58 -> 9 %).
    ("P10", 1): Course(Crs(fever=(6, 7), tmax=38.5, antipyretic=6), None, 14, 50.0),
    ("P10", 2): Course(NO_CRS, None, 14, 9.0),
    # P11: CRS 3 (high-flow nasal cannula 12 L/min days 6-7) and ICANS 1 at CART1, CR;
    # CART2 SD (27 -> 25 %).
    ("P11", 1): Course(
        Crs(fever=(3, 7), tmax=40.0, antipyretic=3, tocilizumab=5, fluids=(5, 5),
            oxygen=((LFNC, 4.0, 5, 5), (HFNC, 12.0, 6, 7), (LFNC, 2.0, 8, 9))),
        Icans(start=7, scores=(8, 9)), 14, 0.5),
    ("P11", 2): Course(NO_CRS, None, 14, 25.0),
    # P12 (age 7-8, CAPD): CRS 2 at CART1 with early corticosteroids (day 2) and a tiny
    # expansion, SD (88 -> 82 %); CRS 1 at CART2, CR.
    ("P12", 1): Course(Crs(fever=(1, 3), tmax=39.5, antipyretic=1, tocilizumab=2,
                           fluids=(2, 3)), None, 7, 82.0),
    ("P12", 2): Course(Crs(fever=(5, 6), tmax=38.7, antipyretic=5), None, 14, 0.5),
    # P13: CRS 3 (norepinephrine days 5-6, vasopressin added day 5: still 3) and ICANS 2
    # (ICE 4) at CART1, CR; CART2 CR with CSF cleared.
    ("P13", 1): Course(
        Crs(fever=(2, 6), tmax=40.2, antipyretic=2, tocilizumab=4, fluids=(4, 4),
            pressor=(5, 6), vasopressin=(5, 5), oxygen=((LFNC, 2.0, 5, 6),)),
        Icans(start=6, scores=(8, 6, 4, 7, 9), drowsy=(8,)), 14, 0.5),
    ("P13", 2): Course(NO_CRS, None, 14, 0.5),
    # P14: CRS 2 (1 L/min and fluids) at CART1, CR with EMD cleared; CRS 1 and ICANS 1 at
    # CART2, CR with CNS3 and EMD cleared.
    ("P14", 1): Course(Crs(fever=(4, 7), tmax=39.6, antipyretic=4, tocilizumab=6,
                           fluids=(6, 6), oxygen=((LFNC, 1.0, 6, 7),)), None, 14, 1.0),
    ("P14", 2): Course(Crs(fever=(2, 4), tmax=38.9, antipyretic=2),
                       Icans(start=6, scores=(9, 8, 9)), 10, 1.0),
    # P15: no CRS; CART1 CR; CART2 SD: M1 marrow (4 -> 3.5 %) but EMD and CSF flow+
    # persisting, so not a CR (and not halved, so not a PR).
    ("P15", 1): Course(NO_CRS, None, 14, 1.0),
    ("P15", 2): Course(NO_CRS, None, 14, 3.5, response_emd=True, response_csf_flow=True),
    # P16 (age 11, CAPD): CRS 1 at both; CART1 SD (3 -> 2.5 % with EMD persisting); CART2 CR.
    ("P16", 1): Course(Crs(fever=(3, 4), tmax=38.4, antipyretic=3), None, 10, 2.5,
                       response_emd=True),
    ("P16", 2): Course(Crs(fever=(4, 5), tmax=38.6, antipyretic=4), None, 10, 1.0),
    # P17: no CRS; SD twice (42 -> 38 %, 15 -> 14 %).
    ("P17", 1): Course(NO_CRS, None, 10, 38.0),
    ("P17", 2): Course(NO_CRS, None, 10, 14.0),
    # P18: CRS 1 at CART1, CR; CART2 SD (2 -> 1.5 %, EMD persisting).
    ("P18", 1): Course(Crs(fever=(2, 3), tmax=38.3, antipyretic=2), None, 10, 1.0),
    ("P18", 2): Course(NO_CRS, None, 10, 1.5, response_emd=True),
}

#: Day of the pre-infusion assessment (and pre-lymphodepletion CAR sample); default -7.
PRE_DAY: dict[tuple[str, int], int] = {("P16", 2): -6}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _within(span: tuple[int, int] | None, day: int) -> bool:
    return span is not None and span[0] <= day <= span[1]


def _since(first: int | None, day: int) -> bool:
    return first is not None and day >= first


def _sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits (0 stays 0)."""
    if value == 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _cycle(k: int, low: float, high: float, steps: int = 7) -> float:
    """A deterministic value in [low, high] that varies with ``k`` (patient and day)."""
    return low + (high - low) * ((3 * k) % steps) / (steps - 1)


@dataclass(frozen=True)
class _Infusion:
    """The recorded values of one infusion that the raw observations must reproduce."""

    row: pd.Series
    course: Course
    number: int  # patient number (P07 -> 7), for deterministic variation

    @property
    def key(self) -> tuple[str, int]:
        return str(self.row["patient_id"]), int(self.row["infusion"])

    def day_of(self, column: str) -> int | None:
        value = self.row[column]
        if pd.isna(value):
            return None
        return int((value - self.row["date"]).days)


def _infusions(infusions: pd.DataFrame) -> Iterator[_Infusion]:
    for _, row in infusions.sort_values(["patient_id", "infusion"]).iterrows():
        key = (str(row["patient_id"]), int(row["infusion"]))
        yield _Infusion(row=row, course=COURSES[key], number=int(key[0][1:]))


# ---------------------------------------------------------------------------------------
# CRS and ICANS
# ---------------------------------------------------------------------------------------


def _temperature(crs: Crs, day: int, k: int) -> float:
    if crs.fever is not None and _within(crs.fever, day):
        first, last = crs.fever
        peak = min(first + 1, last)
        return round(max(38.1, crs.tmax - 0.4 * abs(day - peak)), 1)
    return round(36.6 + 0.1 * ((3 * day + k) % 8), 1)


def _oxygen(crs: Crs, day: int) -> tuple[str, float | None]:
    device: tuple[str, float | None] = ("room_air", None)
    for name, flow, first, last in crs.oxygen:
        if first <= day <= last:
            device = (name, flow)
    return device


def _crs_rows(inf: _Infusion) -> list[dict[str, Any]]:
    crs = inf.course.crs
    rows = []
    for day in OBSERVED_DAYS:
        pressors = int(_within(crs.pressor, day)) + int(_within(crs.second_pressor, day))
        vasopressin = _within(crs.vasopressin, day)
        if pressors or vasopressin:
            hypotension = "vasopressors"
        elif _within(crs.fluids, day):
            hypotension = "fluids"
        else:
            hypotension = "none"
        device, flow = _oxygen(crs, day)
        rows.append({
            "patient_id": inf.key[0], "infusion": inf.key[1], "day": float(day),
            "temperature_c": _temperature(crs, day, inf.number),
            "anticytokine_or_antipyretic": (_since(crs.antipyretic, day)
                                            or _since(crs.tocilizumab, day)),
            "hypotension": hypotension, "vasopressors": pressors, "vasopressin": vasopressin,
            "oxygen": device, "oxygen_l_min": flow, "other_cause": False,
            "death_from_crs": False,
        })
    return rows


def _icans_rows(inf: _Infusion) -> list[dict[str, Any]]:
    child = float(inf.row["age_years"]) < CAPD_BELOW_AGE
    icans = inf.course.icans
    rows = []
    for day in OBSERVED_DAYS:
        score = 0 if child else 10
        drowsy = False
        if icans is not None and 0 <= day - icans.start < len(icans.scores):
            score = icans.scores[day - icans.start]
            drowsy = day in icans.drowsy
        rows.append({
            "patient_id": inf.key[0], "infusion": inf.key[1], "day": float(day),
            "ice_score": None if child else score, "capd_score": score if child else None,
            "consciousness": "awakens_spontaneously" if drowsy else "alert",
            "sedated": False, "seizure": "none", "motor_weakness": False,
            "cerebral_edema": "none", "raised_icp_signs": False, "other_cause": False,
            "death_from_icans": False,
        })
    return rows


# ---------------------------------------------------------------------------------------
# CAR T-cell counts
# ---------------------------------------------------------------------------------------


def _blood_curve(inf: _Infusion) -> dict[int, float]:
    """Blood CAR T cells/uL on days 0-28: the recorded peak times the template."""
    peak = float(inf.row["peak_car_per_ul"])
    early = 3 if inf.row["target"] == "CD19" else 4
    shape = CURVES[inf.course.car_peak_day]
    curve = {0: 0.0, early: shape["early"]}
    curve.update({int(d): f for d, f in shape.items() if d != "early"})
    return {day: 0.0 if day == 0 else (peak if f == 1.0 else _sig(peak * f))
            for day, f in curve.items()}


def _marrow_car(peak: float) -> float:
    """CAR T cells in the marrow (% of T cells) when the blood had ``peak`` cells/uL."""
    return round(2 + 8 * math.log10(1 + peak), 1)


def _count(inf: _Infusion, day: float, compartment: str, value: float) -> dict[str, Any]:
    unit = "cells_per_ul" if compartment == "blood" else "percent_of_t_cells"
    return {"patient_id": inf.key[0], "infusion": inf.key[1], "day": float(day),
            "compartment": compartment, "value": float(value), "unit": unit}


def _yes(value: object) -> bool:
    """A yes/no cell that is yes (missing is not yes)."""
    return value is not pd.NA and value is not None and bool(value)


def _persisting(inf: _Infusion, second: _Infusion | None) -> bool:
    """CAR T cells still detectable after day 28: at relapse, or before the reinfusion."""
    residual = second is not None and _yes(second.row["residual_car"])
    return _yes(inf.row["car_at_relapse"]) or residual


def _car_rows(inf: _Infusion, second: _Infusion | None) -> list[dict[str, Any]]:
    row = inf.row
    curve = _blood_curve(inf)
    rows = [_count(inf, day, "blood", value) for day, value in curve.items()]
    day28 = curve[28]
    relapse = inf.day_of("relapse_date")
    persisting = _persisting(inf, second)

    def late(day: float) -> float:
        return _sig(day28 * (28 / day) ** 2) if persisting else 0.0

    # persistence after day 28: before the reinfusion, or while in remission after CART2
    next_pre = _pre_day_on_first(inf, second)
    if second is not None or row["best_response"] == "CR":
        ends = [d for d in (relapse, next_pre) if d is not None]
        end = min(ends) if ends else LATE_DAYS[-1] + 1
        rows += [_count(inf, d, "blood", late(d)) for d in LATE_DAYS if 28 < d < end]
    response = inf.day_of("response_date")
    if response is not None:
        peak = float(row["peak_car_per_ul"])
        rows.append(_count(inf, response, "marrow", _marrow_car(peak) if peak > 0 else 0.0))
        if _yes(row["csf_lp_done"]):
            csf = (round(3 + 4 * math.log10(1 + peak), 1) if _yes(row["csf_car_detected"])
                   else 0.0)
            rows.append(_count(inf, response, "csf", csf))
    if relapse is not None:
        detected = _yes(row["car_at_relapse"])
        rows.append(_count(inf, relapse, "blood", late(relapse) if detected else 0.0))
        rows.append(_count(inf, relapse, "marrow",
                           round(1.5 + 2 * math.log10(1 + day28), 1) if detected else 0.0))
    if second is not None and next_pre is not None:  # the reinfusion's pre-LD sample
        residual = _yes(second.row["residual_car"])
        rows.append(_count(second, _pre_day(second), "blood",
                           late(next_pre) if residual else 0.0))
    return rows


def _pre_day(inf: _Infusion) -> int:
    return PRE_DAY.get(inf.key, -7)


def _pre_day_on_first(first: _Infusion, second: _Infusion | None) -> int | None:
    """The reinfusion's pre-infusion day, in days from the first infusion."""
    if second is None:
        return None
    return int((second.row["date"] - first.row["date"]).days) + _pre_day(second)


# ---------------------------------------------------------------------------------------
# disease assessments
# ---------------------------------------------------------------------------------------


def _counts(inf: _Infusion, day: int, *, recovered: bool, burden: float) -> dict[str, float]:
    """Blood counts: recovered (ANC >= 1.0, platelets >= 100) or depressed by disease."""
    k = inf.number + day
    if recovered:
        anc, platelets = _cycle(k, 1.2, 2.6), _cycle(k + 2, 110, 210)
    else:
        anc = _cycle(k, 0.2, 0.9) * (1 - burden / 200)
        platelets = _cycle(k + 2, 25, 85) * (1 - burden / 200)
    return {"anc": round(anc, 2), "platelets": round(platelets),
            "blood_wbc": round(anc + _cycle(k + 1, 0.6, 1.6), 1),
            "blood_rbc": round(_cycle(k + 3, 2.9, 4.1), 2)}


def _lp(wbc: float, rbc: float, blasts: bool, flow: bool) -> dict[str, Any]:
    return {"csf_wbc_per_ul": float(wbc), "csf_rbc_per_ul": float(rbc), "csf_blasts": blasts,
            "csf_flow_positive": flow}


def _assessment(inf: _Infusion, day: int, **values: Any) -> dict[str, Any]:
    return {"patient_id": inf.key[0], "infusion": inf.key[1], "day": float(day),
            "cns_clinical_signs": False, **values}


def _disease_rows(inf: _Infusion, second: _Infusion | None) -> list[dict[str, Any]]:
    row, course, k = inf.row, inf.course, inf.number
    rows = []
    pre = _pre_day(inf)
    blasts = float(row["pre_marrow_blasts_pct"])
    rows.append(_assessment(
        inf, pre, marrow_blasts_pct=blasts, mrd_pct=float(row["pre_marrow_mrd_pct"]),
        **_lp(row["pre_csf_wbc_per_ul"], row["pre_csf_rbc_per_ul"],
              bool(row["pre_csf_blasts"]), bool(row["pre_csf_flow_positive"])),
        emd=bool(row["pre_emd"]), **_counts(inf, pre, recovered=False, burden=blasts)))

    response = inf.day_of("response_date")
    if response is None:
        raise KeyError(f"{inf.key}: every demo infusion needs a response_date")
    cr = row["best_response"] == "CR"
    lp: dict[str, Any] = {}
    if _yes(row["csf_lp_done"]):
        wbc = 4 + k % 4 if _yes(row["csf_car_detected"]) else k % 3
        lp = _lp(wbc, k % 2, False, course.response_csf_flow)
    rows.append(_assessment(
        inf, response, marrow_blasts_pct=course.response_blasts,
        mrd_pct=float(row["best_response_mrd_pct"]), **lp, emd=course.response_emd,
        **_counts(inf, response, recovered=cr, burden=course.response_blasts)))

    relapse = inf.day_of("relapse_date")
    next_pre = _pre_day_on_first(inf, second)
    if cr and (relapse is None or relapse > 100) and (next_pre is None or next_pre > 90):
        rows.append(_assessment(inf, 90, marrow_blasts_pct=1.0, mrd_pct=0.0, emd=False,
                                **_counts(inf, 90, recovered=True, burden=0.0)))
    if relapse is not None:
        sites = set(str(row["relapse_sites"]).split(";"))
        marrow = 12.0 + 6 * (k % 5) if "marrow" in sites else 0.5
        csf = _lp(9 + k % 7, 0, True, True) if "cns" in sites else {}
        rows.append(_assessment(
            inf, relapse, marrow_blasts_pct=marrow,
            mrd_pct=marrow - 1.5 if "marrow" in sites else 0.0, **csf,
            emd="emd" in sites, **_counts(inf, relapse, recovered=False, burden=marrow)))
    return rows


# ---------------------------------------------------------------------------------------
# the four tables
# ---------------------------------------------------------------------------------------


def _typed(rows: list[dict[str, Any]], columns: tuple[str, ...], *, integers: tuple[str, ...],
           flags: tuple[str, ...], codes: tuple[str, ...], sort: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=list(columns))
    for name in columns:
        if name in ("patient_id", *codes):
            frame[name] = frame[name].astype("string")
        elif name in ("infusion", *integers):
            frame[name] = frame[name].astype("Int64")
        elif name in flags:
            frame[name] = frame[name].astype("boolean")
        else:
            frame[name] = frame[name].astype("float64")
    return frame.sort_values(sort, kind="stable").reset_index(drop=True)


def observation_tables(infusions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The four raw observation sheets of the demo cohort, typed like a validated cohort.

    Parameters
    ----------
    infusions
        The demo ``infusions`` table (:func:`reinfuse.demo.build.demo_tables`): the recorded
        values the observations reproduce.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``crs_observations``, ``icans_observations``, ``car_counts`` and
        ``disease_assessments``, with the columns of cohort format v1 in order, sorted by
        patient, infusion and day. Numbers are ``float64``, whole numbers ``Int64``, yes/no
        ``boolean``, codes ``string``.
    """
    by_key = {inf.key: inf for inf in _infusions(infusions)}
    crs: list[dict[str, Any]] = []
    icans: list[dict[str, Any]] = []
    counts: list[dict[str, Any]] = []
    disease: list[dict[str, Any]] = []
    for (patient, number), inf in by_key.items():
        second = by_key.get((patient, number + 1))
        crs += _crs_rows(inf)
        icans += _icans_rows(inf)
        counts += _car_rows(inf, second)
        disease += _disease_rows(inf, second)
    flags_crs = ("anticytokine_or_antipyretic", "vasopressin", "other_cause", "death_from_crs")
    flags_icans = ("sedated", "motor_weakness", "raised_icp_signs", "other_cause",
                   "death_from_icans")
    return {
        "crs_observations": _typed(
            crs, CRS_COLUMNS, integers=("vasopressors",), flags=flags_crs,
            codes=("hypotension", "oxygen"), sort=["patient_id", "infusion", "day"]),
        "icans_observations": _typed(
            icans, ICANS_COLUMNS, integers=("ice_score", "capd_score"), flags=flags_icans,
            codes=("consciousness", "seizure", "cerebral_edema"),
            sort=["patient_id", "infusion", "day"]),
        "car_counts": _typed(
            counts, CAR_COUNT_COLUMNS, integers=(), flags=(), codes=("compartment", "unit"),
            sort=["patient_id", "infusion", "day", "compartment"]),
        "disease_assessments": _typed(
            disease, DISEASE_COLUMNS, integers=(), flags=(
                "csf_blasts", "csf_flow_positive", "cns_clinical_signs", "emd"),
            codes=(), sort=["patient_id", "infusion", "day"]),
    }
