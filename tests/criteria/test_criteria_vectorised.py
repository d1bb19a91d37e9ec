"""The vectorised path equals element-wise application, row by row, on random frames.

Each case calls a criterion once on whole columns (Series) and once per row with scalar
values, on a random frame of a few thousand rows with boundary values and missing values
(conftest.RANDOM_FRAMES), and requires identical answers. Missing values are passed to the
scalar calls as NaN, since ``None`` for an optional argument means "not given".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import reinfuse.criteria as rc

N_ROWS = 2000
NAN = float("nan")


def plain(value: Any) -> Any:
    """A comparable Python value (None for any missing marker)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def values(out: Any) -> list[Any]:
    return [plain(v) for v in out]


def grades(result: rc.GradeResult) -> list[Any]:
    return [(plain(g), str(r)) for g, r in zip(result.grade, result.rule, strict=True)]


def eligibility(frame: pd.DataFrame) -> list[Any]:
    return [tuple(plain(v) for v in row) for row in frame.itertuples(index=False)]


# name -> (random frame kind, columns passed, function, vectorised output -> list,
#          scalar output -> value)
CASES: dict[str, tuple[str, list[str], Callable[..., Any], Callable[[Any], list[Any]],
                       Callable[[Any], Any]]] = {
    "morphology_class": ("marrow", ["blasts_pct"], rc.morphology_class, values, plain),
    "mrd_negative": ("marrow", ["mrd_pct"], rc.mrd_negative, values, plain),
    "marrow_class": ("marrow", ["blasts_pct", "mrd_pct"], rc.marrow_class, values, plain),
    "cns_status": ("cns", ["csf_wbc_per_ul", "csf_blasts", "csf_flow_positive",
                           "clinical_signs", "csf_rbc_per_ul", "blood_wbc", "blood_rbc"],
                   rc.cns_status, values, plain),
    "cns_subclass": ("cns", ["csf_wbc_per_ul", "csf_blasts", "csf_rbc_per_ul",
                             "clinical_signs", "blood_wbc", "blood_rbc"],
                     rc.cns_subclass, values, plain),
    "objective_response": ("response", ["best_response"], rc.objective_response, values,
                           plain),
    "complete_response": ("response", ["best_response"], rc.complete_response, values, plain),
    "not_in_cr": ("response", ["best_response"], rc.not_in_cr, values, plain),
    "mrd_negative_cr": ("response", ["best_response", "mrd_pct"], rc.mrd_negative_cr, values,
                        plain),
    "classify_regimen": ("regimen", ["fludarabine_mg_m2", "cyclophosphamide_mg_m2",
                                     "cytarabine_mg_m2"], rc.classify_regimen, values, plain),
    "regimen_pair": ("regimen", ["previous", "current"], rc.regimen_pair, values, plain),
    "is_intensified": ("regimen", ["current"], rc.is_intensified, values, plain),
    "crs_grade": ("crs", ["temperature_c", "anticytokine_or_antipyretic", "hypotension",
                          "vasopressors", "vasopressin", "oxygen", "oxygen_l_min",
                          "other_cause", "death_from_crs"], rc.crs_grade, grades,
                  lambda r: r.item()),
    "icans_grade": ("icans", ["ice_score", "capd_score", "age_years", "consciousness",
                              "sedated", "seizure", "motor_weakness", "cerebral_edema",
                              "raised_icp_signs", "other_cause", "death_from_icans",
                              "assessment_tool"],
                    rc.icans_grade, grades, lambda r: r.item()),
    "reinfusion_eligibility": ("eligibility", ["first_response", "relapsed_after_cr",
                                               "expansion_evident",
                                               "intensified_ld_possible",
                                               "higher_dose_possible",
                                               "lower_burden_achievable"],
                               rc.reinfusion_eligibility, eligibility,
                               lambda f: eligibility(f)[0]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_vectorised_equals_elementwise(name: str, random_frame: Any) -> None:
    kind, columns, function, whole, single = CASES[name]
    frame = random_frame(kind, N_ROWS, 11)
    frame.index = frame.index * 3 + 100  # a non-default index must be carried through
    out = function(*(frame[c] for c in columns))
    index = out.index if hasattr(out, "index") else out.grade.index
    assert index.equals(frame.index)
    vectorised = whole(out)
    # one missing value is NaN: None for an optional argument means "not given"
    elementwise = [single(function(*(NAN if row[c] is None else row[c] for c in columns)))
                   for row in frame.to_dict(orient="records")]
    assert vectorised == elementwise
