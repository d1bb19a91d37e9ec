"""Shared fixtures: a small, valid cohort written by hand (not by reinfuse)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

# Figures are drawn in this process in the suite (each test worker is already one of the
# cores); tests/report/test_draw.py checks the forked path against it.
os.environ.setdefault("REINFUSE_JOBS", "1")

# Two patients; P1 has a first infusion and a reinfusion, P2 one infusion. Every value is
# typed as a coordinator would type it in a spreadsheet.
PATIENTS = {
    "patient_id": ["P1", "P2"],
    "sex": ["M", "F"],
    "race": ["white", "asian"],
    "ethnicity": ["non_hispanic", "hispanic"],
    "prior_lines": ["4", "2"],
    "prior_hsct": ["1", "0"],
    "prior_blinatumomab": ["yes", "no"],
    "prior_inotuzumab": ["no", "no"],
    "prior_car": ["CD19", ""],
}

INFUSIONS = {
    "patient_id": ["P1", "P1", "P2"],
    "infusion": ["1", "2", "1"],
    "date": ["2018-01-10", "2018-05-01", "2019-03-04"],
    "age_years": ["12", "12.3", "20"],
    "trial": ["NCT02315612"] * 3,
    "construct": ["CD22-BBz"] * 3,
    "target": ["CD22"] * 3,
    "dose_per_kg": ["1e6", "1e6", "3e5"],
    "ld_regimen": ["standard", "intensified", "standard"],
    "ld_fludarabine_mg_m2": ["75", "120", "75"],
    "ld_cyclophosphamide_mg_m2": ["900", "1200", "900"],
    "ld_cytarabine_mg_m2": ["0", "0", "0"],
    "indication": ["", "relapse", ""],
    "compassionate_use": ["no", "no", "no"],
    "interim_therapy": ["", "yes", ""],
    "residual_car": ["", "no", ""],
    "pre_marrow_blasts_pct": ["60", "30", "3"],
    "pre_marrow_mrd_pct": ["55", "28", "2.1"],
    "pre_csf_wbc_per_ul": ["1", "0", "2"],
    "pre_csf_rbc_per_ul": ["0", "0", "0"],
    "pre_csf_blasts": ["no", "no", "no"],
    "pre_csf_flow_positive": ["no", "no", "yes"],
    "pre_cns_clinical_signs": ["no", "no", "no"],
    "pre_emd": ["no", "no", "no"],
    "best_response": ["CR", "SD", "CR"],
    "best_response_mrd_pct": ["0", "25", "0"],
    "response_date": ["2018-02-07", "2018-05-29", "2019-04-01"],
    "crs_grade": ["2", "0", "1"],
    "neurotox_grade": ["0", "0", "1"],
    "peak_car_per_ul": ["120.5", "0", "33"],
    "csf_lp_done": ["yes", "no", "yes"],
    "csf_car_detected": ["yes", "", "no"],
    "abc_cd19_pre": ["", "", ""],
    "abc_cd22_pre": ["3500", "1800", "4100"],
    "antigen_after": ["positive", "dim", "positive"],
    "relapse_date": ["2018-04-01", "", ""],
    "relapse_sites": ["marrow", "", ""],
    "relapse_antigen": ["positive", "", ""],
    "car_at_relapse": ["no", "", ""],
    "hsct_after": ["no", "no", "yes"],
    "last_followup_date": ["2018-04-20", "2018-09-01", "2020-01-01"],
    "death_date": ["", "2018-09-01", ""],
}

CohortWriter = Callable[..., Path]


@pytest.fixture
def write_cohort_csv(tmp_path: Path) -> CohortWriter:
    """Write the valid cohort as a CSV folder, with edits; return the folder.

    ``edits`` is a list of ``(table, row_index, column, value)``; ``value=None`` drops the
    column instead. Extra keyword ``extra_columns`` adds ``{table: {name: values}}``.
    """

    def write(edits: list[tuple[str, int, str, str | None]] = (),  # type: ignore[assignment]
              extra_columns: dict[str, dict[str, list[str]]] | None = None,
              name: str = "cohort") -> Path:
        tables = {"patients": pd.DataFrame(PATIENTS, dtype=str),
                  "infusions": pd.DataFrame(INFUSIONS, dtype=str)}
        for table, row, column, value in edits:
            if value is None:
                tables[table] = tables[table].drop(columns=[column])
            else:
                tables[table].loc[row, column] = value
        for table, columns in (extra_columns or {}).items():
            for column, values in columns.items():
                tables[table][column] = values
        folder = tmp_path / name
        folder.mkdir()
        for table, frame in tables.items():
            frame.to_csv(folder / f"{table}.csv", index=False)
        return folder

    return write


def with_follow_up(frame: pd.DataFrame) -> pd.DataFrame:
    """A hand-made analysis frame with derive's follow-up columns added.

    The figures read ``followup_days``, ``death_event``, ``first_relapse_date`` and
    ``remission_days`` from the analysis frame; hand-made test frames get them from
    :func:`reinfuse.derive.follow_up`, the one definition (with its default options).
    """
    from reinfuse.derive import follow_up

    ordered = frame.sort_values(["patient_id", "infusion"], kind="stable")
    span = follow_up(ordered).reindex(frame.index)
    columns = ("followup_days", "death_event", "first_relapse_date", "remission_days")
    return frame.assign(**{c: span[c] for c in columns})
