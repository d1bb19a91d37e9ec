"""Eligibility for reinfusion of the same CAR T-cell product (CART2), per the seed study.

One row per patient (their first infusion, CART1). See :mod:`reinfuse.criteria` for the
input conventions; the result is always a DataFrame.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    CriteriaError,
    Int8Array,
    as_tristate,
    layout,
    rule_codes,
)
from reinfuse.criteria.response import CR, CRI, response_codes

__all__ = ["ELIGIBILITY_REASONS", "INDICATIONS", "MODIFIABLE_FACTORS", "reinfusion_eligibility"]

INDICATIONS = ("relapse after CR", "suboptimal response")
MODIFIABLE_FACTORS = ("intensified lymphodepletion", "higher CAR T-cell dose",
                      "lower disease burden")
ELIGIBILITY_REASONS = (
    "eligible: relapse after CR with the first infusion",
    "eligible: suboptimal response with first-infusion expansion and a modifiable factor",
    "not eligible: target antigen negative",
    "not eligible: in continuing remission after the first infusion (no relapse)",
    "not eligible: no evidence of first-infusion CAR T-cell expansion",
    "not eligible: nothing modifiable for the reinfusion (lymphodepletion, dose, disease "
    "burden)",
    "undetermined: first-infusion response missing or not evaluable",
    "undetermined: relapse status missing",
    "undetermined: first-infusion expansion status missing",
    "undetermined: modifiable factors missing",
    "undetermined: target antigen status missing",
)
(E_RELAPSE, E_SUBOPTIMAL, N_ANTIGEN, N_REMISSION, N_EXPANSION, N_MODIFIABLE, U_RESPONSE,
 U_RELAPSE, U_EXPANSION, U_MODIFIABLE, U_ANTIGEN) = range(11)

RelapseRequires = Literal["nothing", "expansion", "expansion_and_modifiable"]


def _any(tris: list[Int8Array]) -> Int8Array:
    """Three-valued OR."""
    stack = np.vstack(tris)
    return np.where((stack == YES).any(axis=0), YES,
                    np.where((stack == NO).all(axis=0), NO, NA)).astype(np.int8)


def reinfusion_eligibility(
    first_response: object,
    relapsed_after_cr: object,
    expansion_evident: object,
    intensified_ld_possible: object,
    higher_dose_possible: object,
    lower_burden_achievable: object,
    *,
    target_antigen_positive: object = None,
    include_cri: bool = True,
    relapse_requires: RelapseRequires = "nothing",
) -> pd.DataFrame:
    """Whether a patient qualifies for reinfusion (CART2) by the seed study's criteria.

    Parameters
    ----------
    first_response
        Best response to the first infusion: CR, CRi, PR, SD, PD (NE = missing).
    relapsed_after_cr
        Relapsed after that CR (yes/no). Only read for CR (and CRi, see ``include_cri``);
        true with PR/SD/PD is contradictory and raises.
    expansion_evident
        Evidence of CAR T-cell expansion after the first infusion (yes/no).
    intensified_ld_possible, higher_dose_possible, lower_burden_achievable
        Whether the reinfusion could use intensified lymphodepletion, a higher cell dose,
        or follow a reduction of disease burden (yes/no each).
    target_antigen_positive
        Leukemia still expresses the CAR target (yes/no). ``None`` (default): not
        considered, as in the study's stated criteria. When given, antigen-negative disease
        is not eligible (the same product cannot act on it).
    include_cri
        Count CRi as a CR for the "relapse after CR" indication (default ``True``); with
        ``False`` a CRi is a suboptimal response.
    relapse_requires
        Extra conditions for the relapse indication. ``"nothing"`` (default): the study's
        Methods list relapse after CR as an indication on its own. ``"expansion"`` or
        ``"expansion_and_modifiable"``: its Discussion says reinfusion was offered only with
        first-infusion expansion and something modifiable, read as applying to relapses
        too.

    Returns
    -------
    pandas.DataFrame
        One row per patient (index of the input Series, else 0..n-1) with columns
        ``eligible`` (nullable boolean), ``indication`` (categorical: ``relapse after CR``,
        ``suboptimal response``), ``reason`` (categorical, see ``ELIGIBILITY_REASONS``) and
        ``modifiable`` (string: the factors that are possible, joined by ``"; "``; empty if
        none; missing if none is known possible and some are missing).

    Notes
    -----
    Seed study, Methods: "CART2 was offered only to patients who had (1) relapse following
    a CR with CART1 or (2) suboptimal CART1 response with evidence for CART1 expansion in
    whom strategies to augment CART2 response were feasible (eg, intensified LD, increased
    cell dose or reduced disease burden pre-CART2). Patients with disease progression
    without CART1 expansion were not offered CART2." Suboptimal response = PR, SD or PD.
    A patient in continuing CR has no indication (the study required active disease).
    Missing inputs give ``eligible`` missing only when they could change the answer.

    Examples
    --------
    >>> out = reinfusion_eligibility(
    ...     first_response=["CR", "SD", "PD", "PR", "CR"],
    ...     relapsed_after_cr=[True, False, False, False, False],
    ...     expansion_evident=[True, True, False, True, True],
    ...     intensified_ld_possible=[False, True, True, False, False],
    ...     higher_dose_possible=[False, False, False, False, False],
    ...     lower_burden_achievable=[False, True, False, False, False])
    >>> out["eligible"].tolist()
    [True, True, False, False, False]
    >>> out.loc[1, "modifiable"]
    'intensified lymphodepletion; lower disease burden'
    >>> print(out.loc[2, "reason"])
    not eligible: no evidence of first-infusion CAR T-cell expansion

    A patient table whose columns are named like the parameters can be passed whole:
    ``reinfusion_eligibility(**patients[columns])``.
    """
    if relapse_requires not in ("nothing", "expansion", "expansion_and_modifiable"):
        raise CriteriaError(
            "relapse_requires must be 'nothing', 'expansion' or 'expansion_and_modifiable'; "
            f"got {relapse_requires!r}."
        )
    inputs = {
        "first_response": first_response,
        "relapsed_after_cr": relapsed_after_cr,
        "expansion_evident": expansion_evident,
        "intensified_ld_possible": intensified_ld_possible,
        "higher_dose_possible": higher_dose_possible,
        "lower_burden_achievable": lower_burden_achievable,
        "target_antigen_positive": target_antigen_positive,
    }
    lay = layout(inputs)
    resp = response_codes(first_response, lay, "first_response")
    relapsed = as_tristate(relapsed_after_cr, "relapsed_after_cr", lay)
    expansion = as_tristate(expansion_evident, "expansion_evident", lay)
    factors = [
        as_tristate(intensified_ld_possible, "intensified_ld_possible", lay),
        as_tristate(higher_dose_possible, "higher_dose_possible", lay),
        as_tristate(lower_burden_achievable, "lower_burden_achievable", lay),
    ]
    antigen = (np.full(lay.n, YES, dtype=np.int8) if target_antigen_positive is None
               else as_tristate(target_antigen_positive, "target_antigen_positive", lay))

    cr = (resp == CR) | ((resp == CRI) & bool(include_cri))
    suboptimal = (resp != NA) & ~cr
    bad = suboptimal & (resp != CRI) & (relapsed == YES)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise CriteriaError(
            f"relapsed_after_cr is true but first_response is not a CR in {rows.size} "
            f"row(s), first at position {rows[0]}; relapse is defined after a CR: correct "
            "the response or the relapse flag."
        )
    modifiable = _any(factors)

    # indication path: 1 yes, 0 no (with the reason), -1 unknown (with the reason)
    needs_exp = relapse_requires != "nothing"
    needs_mod = relapse_requires == "expansion_and_modifiable"
    relapse_path_ok = [relapsed == YES]
    if needs_exp:
        relapse_path_ok.append(expansion == YES)
    if needs_mod:
        relapse_path_ok.append(modifiable == YES)
    relapse_ok = np.logical_and.reduce(relapse_path_ok)
    sub_ok = (expansion == YES) & (modifiable == YES)

    reason = rule_codes(
        [
            antigen == NO,
            resp == NA,
            cr & (relapsed == NO),
            cr & needs_exp & (relapsed != NO) & (expansion == NO),
            cr & needs_mod & (relapsed != NO) & (expansion != NO) & (modifiable == NO),
            suboptimal & (expansion == NO),
            suboptimal & (modifiable == NO),
            cr & (relapsed == NA),
            (cr & needs_exp | suboptimal) & (expansion == NA),
            (cr & needs_mod | suboptimal) & (modifiable == NA),
            antigen == NA,
            cr & relapse_ok,
            suboptimal & sub_ok,
        ],
        [
            N_ANTIGEN,
            U_RESPONSE,
            N_REMISSION,
            N_EXPANSION,
            N_MODIFIABLE,
            N_EXPANSION,
            N_MODIFIABLE,
            U_RELAPSE,
            U_EXPANSION,
            U_MODIFIABLE,
            U_ANTIGEN,
            E_RELAPSE,
            E_SUBOPTIMAL,
        ],
        default=U_RESPONSE,
    )
    eligible = np.select(
        [np.isin(reason, (E_RELAPSE, E_SUBOPTIMAL)), reason <= N_MODIFIABLE],
        [YES, NO],
        default=NA,
    ).astype(np.int8)
    # A CR without relapse has no indication (continuing remission), unknown relapse stays
    # unknown: the indication is "relapse after CR" only once the relapse is known.
    indication = np.select([cr & (relapsed == YES), suboptimal], [0, 1], default=NA)

    names = np.array([*MODIFIABLE_FACTORS], dtype=object)
    fac = np.vstack(factors)  # 3 x n
    # the joined text depends only on the 3 tri-states: 27 combinations, built once each
    key = ((fac[0] + 1) * 9 + (fac[1] + 1) * 3 + (fac[2] + 1)).astype(np.int16)
    table = np.empty(27, dtype=object)
    for k in range(27):
        states = ((k // 9) - 1, ((k // 3) % 3) - 1, (k % 3) - 1)
        chosen = [str(n) for n, s in zip(names, states, strict=True) if s == YES]
        table[k] = "; ".join(chosen) if chosen or NA not in states else pd.NA
    text = pd.array(table[key], dtype="string")

    index = lay.index if lay.index is not None else pd.RangeIndex(lay.n)
    return pd.DataFrame(
        {
            "eligible": pd.arrays.BooleanArray(eligible == YES, eligible == NA),
            "indication": pd.Categorical.from_codes(indication, categories=list(INDICATIONS)),
            "reason": pd.Categorical.from_codes(reason, categories=list(ELIGIBILITY_REASONS)),
            "modifiable": text,
        },
        index=index,
    )
