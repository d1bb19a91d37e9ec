"""Response of B-ALL to CAR T-cells: objective response, CR, MRD-negative CR, not in CR.

Response codes (case-insensitive): ``CR`` (complete remission), ``CRi`` (CR with
incomplete count recovery), ``PR`` (partial remission), ``SD`` (stable disease), ``PD``
(progressive disease) and ``NE`` (not evaluable). ``NE`` is treated as missing: a patient
who could not be assessed is neither a responder nor a non-responder, so every function
returns missing for it (drop or count such patients explicitly in the denominator).
See :mod:`reinfuse.criteria` for the input and output conventions.
"""

from __future__ import annotations

import numpy as np

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    BoolOutput,
    CriteriaError,
    Int8Array,
    Layout,
    as_codes,
    as_float,
    bool_out,
    kleene_not,
    layout,
    lt,
)
from reinfuse.vocabulary import RESPONSE_CODES

__all__ = [
    "RESPONSE_CODES",
    "complete_response",
    "mrd_negative_cr",
    "not_in_cr",
    "objective_response",
]

CR, CRI, PR, SD, PD = 0, 1, 2, 3, 4


def response_codes(best_response: object, lay: Layout, name: str = "best_response") -> Int8Array:
    """Codes 0 CR, 1 CRi, 2 PR, 3 SD, 4 PD, -1 missing or NE."""
    return as_codes(
        best_response,
        name,
        lay,
        RESPONSE_CODES[:5],
        aliases={"CR_i": "CRi", "PR_marrow": "PR"},
        missing_labels=("NE",),
    )


def cr_tristate(codes: Int8Array, include_cri: bool) -> Int8Array:
    """1 if CR (or CRi when included), 0 if not, -1 if missing."""
    cr = (codes == CR) | ((codes == CRI) & bool(include_cri))
    return np.where(codes == NA, NA, np.where(cr, YES, NO)).astype(np.int8)


def objective_response(best_response: object) -> BoolOutput:
    """Objective (marrow) response: CR, CRi or PR.

    Parameters
    ----------
    best_response
        Best response codes (CR, CRi, PR, SD, PD, NE); NE and missing give missing.

    Returns
    -------
    Nullable boolean Series / ``BooleanArray`` / ``bool``.

    Notes
    -----
    Seed study, Methods ("Objective marrow response was defined as achieving a bone marrow
    CR (with or without detectable MRD) or partial remission (PR)"). CRi is a CR without
    count recovery and therefore counts. PR: >= 50 % reduction of marrow blasts and
    extramedullary disease with <= 25 % marrow blasts (clinical-definitions, "Response").

    Examples
    --------
    >>> objective_response(["CR", "CRi", "PR", "SD", "PD", "NE", None]).tolist()
    [True, True, True, False, False, <NA>, <NA>]
    """
    lay = layout({"best_response": best_response})
    codes = response_codes(best_response, lay)
    tri = np.where(codes == NA, NA, np.where(codes <= PR, YES, NO)).astype(np.int8)
    return bool_out(tri, lay, name="objective_response")


def complete_response(best_response: object, include_cri: bool = True) -> BoolOutput:
    """Complete remission (morphologic CR): CR, and CRi unless ``include_cri=False``.

    Parameters
    ----------
    best_response
        Best response codes (CR, CRi, PR, SD, PD, NE).
    include_cri
        Count CR with incomplete count recovery as CR. Default ``True``: the seed study's
        "morphologic CR" is a marrow CR (M1 marrow) and does not require count recovery,
        as in the pediatric CAR T trials' "CR/CRi" remission rate.

    Returns
    -------
    Nullable boolean Series / ``BooleanArray`` / ``bool``.

    Notes
    -----
    CR: < 5 % marrow blasts, no circulating blasts, no extramedullary disease (CNS1), with
    count recovery (ANC >= 1.0 x 10^9/L, platelets >= 100 x 10^9/L); CRi: CR without count
    recovery (clinical-definitions, "Response"; seed study, Results).

    Examples
    --------
    >>> complete_response(["CR", "CRi", "PR", "NE"]).tolist()
    [True, True, False, <NA>]
    >>> complete_response("CRi", include_cri=False)
    False
    """
    lay = layout({"best_response": best_response})
    codes = response_codes(best_response, lay)
    return bool_out(cr_tristate(codes, include_cri), lay, name="complete_response")


def not_in_cr(best_response: object, include_cri: bool = True) -> BoolOutput:
    """Not in complete remission (PR, SD or PD; also CRi when ``include_cri=False``).

    The exact complement of :func:`complete_response` (NE and missing stay missing); see it
    for the parameters and the source.

    Examples
    --------
    >>> not_in_cr(["CR", "PR", "SD", "PD", "NE"]).tolist()
    [False, True, True, True, <NA>]
    """
    lay = layout({"best_response": best_response})
    codes = response_codes(best_response, lay)
    return bool_out(kleene_not(cr_tristate(codes, include_cri)), lay, name="not_in_cr")


def mrd_negative_cr(
    best_response: object,
    mrd_pct: object,
    threshold: float = 0.01,
    *,
    include_cri: bool = True,
) -> BoolOutput:
    """MRD-negative complete remission: CR (see ``include_cri``) with MRD < ``threshold`` %.

    Parameters
    ----------
    best_response
        Best response codes (CR, CRi, PR, SD, PD, NE).
    mrd_pct
        Marrow flow-cytometry MRD at that response, percent of mononuclear cells
        (undetectable = 0).
    threshold
        MRD-negative strictly below this percentage. Default 0.01 % (1 x 10^-4).
    include_cri
        Count CRi as CR (default ``True``, as in :func:`complete_response`).

    Returns
    -------
    Nullable boolean: ``False`` whenever the response is not CR (MRD then does not matter),
    missing for a CR with missing MRD, and for NE or missing responses.

    Notes
    -----
    Seed study (Table 2 legend; Results): MRD-negative CR = CR with < 0.01 % ALL blasts
    among mononuclear cells by flow cytometry. A CR with MRD >= 0.01 % is an "MRD-positive"
    CR ("persistent MRD level disease").

    Examples
    --------
    >>> mrd_negative_cr(["CR", "CR", "CR", "PR"], [0.0099, 0.01, None, None]).tolist()
    [True, False, <NA>, False]
    """
    if not (np.isfinite(threshold) and 0 < threshold <= 100):
        raise CriteriaError(f"threshold must be a percentage in (0, 100]; got {threshold!r}.")
    lay = layout({"best_response": best_response, "mrd_pct": mrd_pct})
    codes = response_codes(best_response, lay)
    mrd = as_float(mrd_pct, "mrd_pct", lay, low=0, high=100)
    cr = cr_tristate(codes, include_cri)
    tri = np.select(
        [cr == NO, (cr == YES) & lt(mrd, threshold), (cr == YES) & ~np.isnan(mrd)],
        [NO, YES, NO],
        default=NA,
    ).astype(np.int8)
    return bool_out(tri, lay, name="mrd_negative_cr")
