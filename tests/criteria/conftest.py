"""Shared helpers for the clinical-criteria tests.

``possible_outcomes`` is the independent way the tests judge missing values: it fills each
missing input with every value it could take (``candidates``), runs a plain, row-by-row
reference implementation written straight from the rulebook, and reports the single
outcome if all completions agree, else ``None`` (missing). The vectorised criteria must
give exactly that. A reference raises ``ValueError`` for a contradictory combination,
which is then not a possible completion, and may return a ``frozenset`` of outcomes when an
input it cannot enumerate itself leaves several open.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def possible_outcomes(
    reference: Callable[..., Any],
    row: Mapping[str, Any],
    candidates: Mapping[str, Sequence[Any]],
) -> Any:
    """The outcome of ``reference`` if it is the same for every completion of ``row``."""
    fill = [k for k, v in row.items() if is_missing(v) and k in candidates]
    outcomes: set[Any] = set()
    for values in itertools.product(*(candidates[k] for k in fill)):
        try:
            result = reference(**{**row, **dict(zip(fill, values, strict=True))})
        except ValueError:  # the reference refuses a contradictory combination
            continue
        outcomes |= result if isinstance(result, frozenset) else {result}
    assert outcomes, f"no consistent completion of {row}"
    return outcomes.pop() if len(outcomes) == 1 else None


@pytest.fixture
def outcomes() -> Callable[..., Any]:
    return possible_outcomes


# ---------------------------------------------------------------------------------------
# random frames of consistent inputs, with boundary values and ~8 % missing per column
# ---------------------------------------------------------------------------------------

OXYGEN = ["room_air", "blow_by", "low_flow_nasal_cannula", "high_flow_nasal_cannula",
          "nasal_cannula", "facemask", "non_rebreather", "venturi", "cpap", "bipap",
          "mechanical_ventilation"]
CONSCIOUSNESS = ["alert", "awakens_spontaneously", "awakens_to_voice", "awakens_to_touch",
                 "unarousable"]
SEIZURE = ["none", "rapidly_resolving", "eeg_nonconvulsive_resolved", "prolonged",
           "repetitive"]
EDEMA = ["none", "focal", "diffuse"]
RESPONSES = ["CR", "CRi", "PR", "SD", "PD", "NE"]
REGIMEN_LABELS = ["standard", "intensified", "flag", "none", "other"]


def _punch_holes(frame: pd.DataFrame, rng: np.random.Generator, p: float,
                 keep: Sequence[str] = ()) -> pd.DataFrame:
    frame = frame.astype(object)
    for col in frame.columns:
        if col not in keep:
            frame.loc[rng.random(len(frame)) < p, col] = None
    return frame


def crs_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hyp = rng.choice(["none", "fluids", "vasopressors"], n)
    count = np.where(hyp == "vasopressors", rng.integers(0, 4, n), 0)
    vasopressin = (hyp == "vasopressors") & ((count == 0) | (rng.random(n) < 0.3))
    oxygen = rng.choice(OXYGEN, n)
    rate = np.where(oxygen == "room_air", np.nan, rng.choice([0, 1, 2, 4, 6, 7, 10, 15], n))
    other = rng.random(n) < 0.1
    frame = pd.DataFrame({
        "temperature_c": rng.choice([36.5, 37.9, 38.0, 38.4, 40.1], n),
        # True (given for CRS), False, or "premedication" (before CRS: fever still needed)
        "anticytokine_or_antipyretic": np.where(
            rng.random(n) < 0.1, np.array("premedication", dtype=object),
            (rng.random(n) < 0.3).astype(object)),
        "hypotension": hyp,
        "vasopressors": count.astype(float),
        "vasopressin": vasopressin,
        "oxygen": oxygen,
        "oxygen_l_min": rate,
        "other_cause": other,
        "death_from_crs": ~other & (rng.random(n) < 0.05),
    })
    return _punch_holes(frame, rng, 0.08)


def icans_frame(n: int, seed: int) -> pd.DataFrame:
    """Findings are rare so that many grades hinge on the ICE/CAPD scores."""
    rng = np.random.default_rng(seed)
    age = rng.choice([4.0, 11.0, 11.9, 12.0, 17.0, 30.0], n)
    child = age < 12
    other = rng.random(n) < 0.05

    def rare(values: list[str], p: float) -> Any:
        return np.where(rng.random(n) < p, rng.choice(values, n), values[0])

    frame = pd.DataFrame({
        "ice_score": np.where(child & (rng.random(n) < 0.8), np.nan,
                              rng.integers(0, 11, n)),
        "capd_score": np.where(~child & (rng.random(n) < 0.8), np.nan,
                               rng.integers(0, 33, n)),
        "age_years": age,
        "consciousness": rare(CONSCIOUSNESS, 0.4),
        "sedated": rng.random(n) < 0.1,
        "seizure": rare(SEIZURE, 0.1),
        "motor_weakness": rng.random(n) < 0.03,
        "cerebral_edema": rare(EDEMA, 0.1),
        "raised_icp_signs": rng.random(n) < 0.03,
        "other_cause": other,
        "death_from_icans": ~other & (rng.random(n) < 0.02),
    })
    frame = _punch_holes(frame, rng, 0.06)
    # the tool named on the observation: mostly not (age decides), sometimes ICE or CAPD
    frame["assessment_tool"] = rng.choice(np.array([None, None, None, "ice", "capd"],
                                                   dtype=object), n)
    return frame


def marrow_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _punch_holes(pd.DataFrame({
        "blasts_pct": rng.choice([0, 2.5, 4.99, 5, 12, 25, 25.01, 80], n),
        "mrd_pct": rng.choice([0, 0.002, 0.0099, 0.01, 0.5, 30], n),
    }), rng, 0.08)


def cns_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _punch_holes(pd.DataFrame({
        "csf_wbc_per_ul": rng.choice([0, 2, 4.9, 5, 10, 40, 200], n),
        "csf_blasts": rng.random(n) < 0.5,
        "csf_flow_positive": rng.random(n) < 0.3,
        "clinical_signs": rng.random(n) < 0.05,
        "csf_rbc_per_ul": rng.choice([0, 5, 9.9, 10, 500, 2_000, 20_000], n),
        "blood_wbc": rng.choice([1_000, 5_000, 100_000], n),
        "blood_rbc": rng.choice([2.5e6, 4e6], n),
    }), rng, 0.08)


def response_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _punch_holes(pd.DataFrame({
        "best_response": rng.choice(RESPONSES, n),
        "mrd_pct": rng.choice([0, 0.002, 0.0099, 0.01, 0.5], n),
    }), rng, 0.08)


def regimen_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _punch_holes(pd.DataFrame({
        "fludarabine_mg_m2": rng.choice([0, 56.25, 67.5, 75, 82.6, 120, 125, 200], n),
        "cyclophosphamide_mg_m2": rng.choice([0, 500, 900, 990, 1200, 1400], n),
        "cytarabine_mg_m2": np.where(rng.random(n) < 0.2, 10_000, 0),
        "previous": rng.choice(REGIMEN_LABELS, n),
        "current": rng.choice(REGIMEN_LABELS, n),
    }), rng, 0.08)


def eligibility_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    response = rng.choice(RESPONSES, n)
    is_cr = np.isin(response, ["CR", "CRi"])
    return _punch_holes(pd.DataFrame({
        "first_response": response,
        "relapsed_after_cr": is_cr & (rng.random(n) < 0.7),
        "expansion_evident": rng.random(n) < 0.7,
        "intensified_ld_possible": rng.random(n) < 0.3,
        "higher_dose_possible": rng.random(n) < 0.2,
        "lower_burden_achievable": rng.random(n) < 0.2,
        "target_antigen_positive": rng.random(n) < 0.9,
    }), rng, 0.05)


RANDOM_FRAMES: dict[str, Callable[[int, int], pd.DataFrame]] = {
    "crs": crs_frame,
    "icans": icans_frame,
    "marrow": marrow_frame,
    "cns": cns_frame,
    "response": response_frame,
    "regimen": regimen_frame,
    "eligibility": eligibility_frame,
}


@pytest.fixture
def random_frame() -> Callable[[str, int, int], pd.DataFrame]:
    """``random_frame(kind, n, seed)``: a random input frame for one kind of criterion."""
    return lambda kind, n, seed: RANDOM_FRAMES[kind](n, seed)
