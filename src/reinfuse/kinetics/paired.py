"""CART1 versus CART2 kinetic parameters of the same patients, compared paired.

:func:`paired_kinetics` takes the per-infusion tables of the non-compartmental analysis
(:func:`reinfuse.kinetics.nca.nca`: Cmax, Tmax, AUC over the window, half-life) and of the
Stein et al. 2019 fits (:func:`reinfuse.kinetics.model.fit_stein_table`: expansion rate
rho, contraction rate alpha), keeps the patients with the parameter known after both
infusions, and compares them with the project's Wilcoxon signed-rank test
(:func:`reinfuse.stats.wilcoxon_signed_rank`, exact as GraphPad Prism computes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reinfuse._plain import to_plain
from reinfuse.errors import CriteriaError, StatisticsError
from reinfuse.kinetics.model import SteinFits
from reinfuse.kinetics.nca import NcaResult
from reinfuse.stats import wilcoxon_signed_rank

__all__ = ["KINETIC_PARAMETERS", "PairedKinetics", "PairedParameter", "paired_kinetics"]

#: Parameters compared by default: name -> (label, unit, source table).
KINETIC_PARAMETERS: dict[str, tuple[str, str, str]] = {
    "cmax": ("Cmax", "concentration", "nca"),
    "tmax": ("Tmax", "days", "nca"),
    "auc_window": ("AUC", "concentration x days", "nca"),
    "half_life": ("Half-life", "days", "nca"),
    "rho": ("Expansion rate rho", "per day", "fit"),
    "alpha": ("Contraction rate alpha", "per day", "fit"),
}


@dataclass(frozen=True)
class PairedParameter:
    """One kinetic parameter after two infusions of the same patients.

    Attributes
    ----------
    parameter, label, unit : str
        Column name (e.g. ``"cmax"``), printed name and unit.
    n_pairs : int
        Patients with the parameter known after both infusions (the denominator).
    n_unknown : int
        Patients with both infusions in the tables but the parameter unknown after one or
        both (no measurement, no terminal phase, a curve that could not be fitted): left
        out, never counted as zero.
    first_median, first_min, first_max, second_median, second_min, second_max : float or None
        Median (range) over the ``n_pairs`` patients after each infusion.
    median_difference : float or None
        Median of the paired differences (second minus first).
    statistic, pvalue : float or None
        Wilcoxon ``W+`` (of second minus first) and the two-sided p-value; None when
        there is no pair or every difference is zero (``note`` says which).
    test : str
        The test's method sentence, or ``""`` when it was not run.
    note : str
        Why the test was not run, else ``""``.
    """

    parameter: str
    label: str
    unit: str
    n_pairs: int
    n_unknown: int
    first_median: float | None
    first_min: float | None
    first_max: float | None
    second_median: float | None
    second_min: float | None
    second_max: float | None
    median_difference: float | None
    statistic: float | None
    pvalue: float | None
    test: str
    note: str


@dataclass(frozen=True)
class PairedKinetics:
    """Result of :func:`paired_kinetics`.

    Attributes
    ----------
    first, second : int
        The infusion numbers compared (1 and 2: CART1 and CART2).
    n_patients : int
        Patients with a row for both infusions (before any parameter is missing).
    n_single : int
        Patients with only one of the two infusions in the tables (not compared).
    parameters : tuple of PairedParameter
        One per parameter, in the order asked.
    method : str
        A sentence for a Methods section.
    """

    first: int
    second: int
    n_patients: int
    n_single: int
    parameters: tuple[PairedParameter, ...]
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter (the attributes of :class:`PairedParameter`)."""
        return pd.DataFrame([to_plain(p) for p in self.parameters])

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (JSON-ready; non-finite floats become None)."""
        result: dict[str, Any] = to_plain(self)
        return result


def _table(source: NcaResult | SteinFits | pd.DataFrame | None, name: str) -> pd.DataFrame:
    if source is None:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []],
                                                            names=["patient_id", "infusion"]))
    table = source if isinstance(source, pd.DataFrame) else source.table
    if list(table.index.names) != ["patient_id", "infusion"]:
        if {"patient_id", "infusion"} <= set(table.columns):
            table = table.set_index(["patient_id", "infusion"])
        else:
            raise CriteriaError(f"the {name} table needs a (patient_id, infusion) index or "
                                "those two columns, as nca() and fit_stein_table() return; "
                                f"received index {list(table.index.names)} and columns "
                                f"{list(table.columns)[:12]}.")
    repeated = table.index[table.index.duplicated()].unique()
    if len(repeated):
        shown = ", ".join(f"patient {p} infusion {i}" for p, i in list(repeated)[:10])
        raise CriteriaError(f"the {name} table has more than one row for {shown}; give one "
                            "row per (patient_id, infusion), as nca() and fit_stein_table() "
                            "return.")
    return table


def _stats(values: np.ndarray) -> tuple[float | None, float | None, float | None]:
    if values.size == 0:
        return None, None, None
    return float(np.median(values)), float(values.min()), float(values.max())


def paired_kinetics(
    nca: NcaResult | pd.DataFrame | None,
    fits: SteinFits | pd.DataFrame | None = None,
    *,
    first: int = 1,
    second: int = 2,
    parameters: Sequence[str] | None = None,
) -> PairedKinetics:
    """Compare kinetic parameters after two infusions of the same patients (paired).

    Parameters
    ----------
    nca
        :func:`reinfuse.kinetics.nca.nca`'s result (or its ``table``): ``cmax``,
        ``tmax``, ``auc_window`` (AUC0-28 with the default window), ``half_life``.
    fits
        :func:`reinfuse.kinetics.model.fit_stein_table`'s result (or its ``table``):
        ``rho``, ``alpha`` (only rows with ``status == "fitted"`` are used). None: the
        fitted parameters are not compared.
    first, second
        Infusion numbers (default 1 and 2: CART1 and CART2).
    parameters
        Columns to compare; default every one of :data:`KINETIC_PARAMETERS` whose table
        is given.

    Returns
    -------
    PairedKinetics

    Raises
    ------
    CriteriaError
        A table without (patient_id, infusion) or with a pair twice, or a parameter that is
        in neither table.

    Notes
    -----
    Pairs are formed per patient; a patient with only one infusion is counted in
    ``n_single`` and a pair with the parameter unknown after either infusion in that
    parameter's ``n_unknown`` (a blank is unknown, never zero). Each parameter is tested
    with the Wilcoxon signed-rank test of the differences (second minus first; zero
    differences dropped, exact p-value below 200 pairs, with ties by the exact conditional
    distribution: GraphPad Prism 6+'s rule, see
    :func:`reinfuse.stats.wilcoxon_signed_rank`). No adjustment for testing several
    parameters is made; the p-values are descriptive. The NCA follows PKNCA's rules and
    the fits Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285-295.

    Examples
    --------
    >>> table = pd.DataFrame({"patient_id": list("aabbcc"), "infusion": [1, 2] * 3,
    ...                       "cmax": [10.0, 4.0, 20.0, 8.0, 30.0, None]})
    >>> r = paired_kinetics(table, parameters=["cmax"]).parameters[0]
    >>> r.n_pairs, r.n_unknown, r.first_median, r.second_median
    (2, 1, 15.0, 6.0)
    """
    nca_table, fit_table = _table(nca, "nca"), _table(fits, "fits")
    if "status" in fit_table.columns:
        fit_table = fit_table.loc[fit_table["status"].eq("fitted").fillna(False)
                                  .to_numpy(bool)]
    if parameters is None:
        names = [p for p, (_, _, src) in KINETIC_PARAMETERS.items()
                 if (nca is not None if src == "nca" else fits is not None)
                 and p in (nca_table.columns if src == "nca" else fit_table.columns)]
    else:
        names = list(parameters)
    unknown = [p for p in names if p not in nca_table.columns and p not in fit_table.columns]
    if unknown or not names:
        raise CriteriaError(f"parameter(s) {', '.join(unknown) or '(none)'} not in the NCA "
                            f"or fit tables; available: "
                            f"{', '.join([*nca_table.columns, *fit_table.columns][:30])}.")
    all_rows = pd.concat([nca_table.index.to_frame(index=False),
                          _table(fits, "fits").index.to_frame(index=False)])
    rows = all_rows.loc[all_rows["infusion"].isin([first, second])].drop_duplicates()
    per_patient = rows.groupby("patient_id")["infusion"].nunique()
    both = per_patient.index[per_patient.eq(2)]
    window = nca.window if isinstance(nca, NcaResult) else None
    results = []
    for name in names:  # a handful of parameters; every patient at once within each
        table = nca_table if name in nca_table.columns else fit_table
        values = pd.to_numeric(table[name], errors="coerce").astype(float)
        wide = values.unstack("infusion").reindex(index=both, columns=[first, second])
        known = wide.notna().all(axis=1).to_numpy(bool)
        x = wide[first].to_numpy(float)[known]
        y = wide[second].to_numpy(float)[known]
        label, unit, _ = KINETIC_PARAMETERS.get(name, (name, "", ""))
        if name == "auc_window" and window is not None:
            label = f"AUC{window[0]:g}-{window[1]:g}"
        statistic = pvalue = None
        test = note = ""
        if x.size == 0:
            note = "no patient has this parameter known after both infusions"
        else:
            try:
                w = wilcoxon_signed_rank(y, x)
            except StatisticsError as exc:
                note = str(exc)
            else:
                statistic, pvalue, test = float(w.statistic), float(w.pvalue), w.method
        results.append(PairedParameter(
            name, label, unit, int(x.size), int((~known).sum()), *_stats(x), *_stats(y),
            None if x.size == 0 else float(np.median(y - x)), statistic, pvalue, test, note))
    method = (
        f"Kinetic parameters after infusion {second} were compared with those after "
        f"infusion {first} of the same patients by the two-sided Wilcoxon signed-rank test "
        "(exact p-values, as GraphPad Prism computes them), each parameter over the "
        "patients in whom it was known after both infusions; Cmax, Tmax, AUC and half-life "
        "from a non-compartmental analysis following PKNCA's rules, expansion (rho) and "
        "contraction (alpha) rates from fits of the model of Stein et al. (2019). No "
        "adjustment for multiple comparisons.")
    return PairedKinetics(first, second, len(both), int(per_patient.lt(2).sum()),
                          tuple(results), method)
