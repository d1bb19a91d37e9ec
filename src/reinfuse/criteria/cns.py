"""Central nervous system (CSF) status in B-ALL: CNS1/CNS2/CNS3 and the COG subclasses.

Counts are cells per microlitre. See :mod:`reinfuse.criteria` for the input and output
conventions (Series / arrays / scalars; NaN or None = missing).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    BoolArray,
    CriteriaError,
    FloatArray,
    Int8Array,
    LabelOutput,
    Layout,
    as_float,
    as_tristate,
    ge,
    labels_out,
    layout,
    lt,
)

__all__ = ["CNS_STATUSES", "CNS_SUBCLASSES", "cns_status", "cns_subclass"]

CNS_STATUSES = ("CNS1", "CNS1 flow+", "CNS2", "CNS3")
CNS_SUBCLASSES = ("CNS1", "CNS2a", "CNS2b", "CNS2c", "CNS3a", "CNS3b", "CNS3c")

BloodUnits = Literal["per_ul", "si"]
UnknownCirculating = Literal["missing", "apply"]
UnrecordedRbc = Literal["clean", "missing"]

# Plausible blood RBC, per microlitre (0.1 to 10 x 10^12/L): outside it the unit is wrong.
_RBC_PER_UL_RANGE = (1e5, 1e7)


def _check_positive(value: float, name: str) -> None:
    if not (np.isfinite(value) and value > 0):
        raise CriteriaError(f"{name} must be a positive number; got {value!r}.")


def _blood_per_ul(
    blood_wbc: object, blood_rbc: object, lay: Layout, units: BloodUnits
) -> tuple[FloatArray, FloatArray]:
    """Blood WBC and RBC per microlitre, with a unit plausibility check on RBC."""
    if units not in ("per_ul", "si"):
        raise CriteriaError(f"blood_units must be 'per_ul' or 'si'; got {units!r}.")
    wbc = as_float(blood_wbc, "blood_wbc", lay, low=0)
    rbc = as_float(blood_rbc, "blood_rbc", lay, low=0)
    if units == "si":  # WBC x 10^9/L = x 10^3/uL; RBC x 10^12/L = x 10^6/uL
        wbc, rbc = wbc * 1e3, rbc * 1e6
    lo, hi = _RBC_PER_UL_RANGE
    implausible = (rbc < lo) | (rbc > hi)
    if implausible.any():
        got = rbc[implausible][0] / (1e6 if units == "si" else 1)
        other = "si" if units == "per_ul" else "per_ul"
        expected = "cells/uL (e.g. 4.2e6)" if units == "per_ul" else "x 10^12/L (e.g. 4.2)"
        raise CriteriaError(
            f"blood_rbc = {got:g} is not a plausible red cell count in {expected}; "
            f"{int(implausible.sum())} row(s) affected. Check the unit: pass "
            f"blood_units='{other}' if the counts are "
            f"{'x 10^9/L (WBC) and x 10^12/L (RBC)' if other == 'si' else 'per microlitre'}."
        )
    return wbc, rbc


def _steinherz_bleyer(
    csf_wbc: FloatArray, csf_rbc: FloatArray, blood_wbc: FloatArray, blood_rbc: FloatArray
) -> Int8Array:
    """1 if CSF WBC/RBC > 2 x blood WBC/RBC, 0 if not, -1 if any count is missing."""
    known = ~(np.isnan(csf_wbc) | np.isnan(csf_rbc) | np.isnan(blood_wbc) | np.isnan(blood_rbc))
    with np.errstate(invalid="ignore"):
        # cross-multiplied (all counts >= 0, blood RBC > 0) to avoid dividing by CSF RBC
        lhs = csf_wbc * blood_rbc
        rhs = 2.0 * blood_wbc * csf_rbc
        positive = lhs > rhs * (1 + 1e-9)
    return np.where(known, np.where(positive, YES, NO), NA).astype(np.int8)


def _signs(clinical_signs: object, lay: Layout) -> Int8Array:
    if clinical_signs is None:
        return np.zeros(lay.n, dtype=np.int8)
    return as_tristate(clinical_signs, "clinical_signs", lay)


def cns_status(
    csf_wbc_per_ul: object,
    csf_blasts: object,
    csf_flow_positive: object,
    clinical_signs: object = None,
    csf_rbc_per_ul: object = None,
    blood_wbc: object = None,
    blood_rbc: object = None,
    circulating_blasts: object = None,
    *,
    wbc_threshold: float = 5.0,
    traumatic_tap_rule: bool = True,
    traumatic_rbc_per_ul: float = 10.0,
    blood_units: BloodUnits = "per_ul",
    unknown_flow: Literal["missing", "CNS1"] = "missing",
    unknown_circulating_blasts: UnknownCirculating = "missing",
    unrecorded_csf_rbc: UnrecordedRbc = "clean",
) -> LabelOutput:
    """CNS status from cerebrospinal fluid: CNS1, CNS1 flow+, CNS2 or CNS3.

    Parameters
    ----------
    csf_wbc_per_ul
        CSF white cells per microlitre.
    csf_blasts
        Blasts seen on the CSF cytospin (yes/no).
    csf_flow_positive
        Leukemia detected in the CSF by flow cytometry (yes/no). Only used to split CNS1.
    clinical_signs
        Clinical signs of CNS leukemia (cranial nerve palsy, brain/eye involvement,
        hypothalamic syndrome), yes/no. ``None`` (default): not considered (taken as absent).
    csf_rbc_per_ul, blood_wbc, blood_rbc
        For the Steinherz-Bleyer traumatic-tap rule: CSF red cells per microlitre and blood
        white and red cell counts (unit: ``blood_units``). ``None`` or a missing value is
        not recorded.
    circulating_blasts
        Blasts in the peripheral blood on the day of the lumbar puncture (yes/no). The
        traumatic-tap correction applies only when they are present: without circulating
        blasts, blasts in a bloody CSF cannot come from the blood. ``None``: not recorded.
    wbc_threshold
        CSF WBC (per uL) from which a blast-positive CSF is CNS3. Default 5 (``>= 5``).
    traumatic_tap_rule
        Apply the Steinherz-Bleyer correction to traumatic taps (default ``True``).
        ``False`` takes the CSF counts as they are.
    traumatic_rbc_per_ul
        CSF RBC per microlitre from which a tap counts as traumatic and the rule applies.
        Default 10, the COG subclass cut-off (RBC >= 10/uL).
    blood_units
        ``"per_ul"`` (default): blood counts per microlitre, like the CSF counts. ``"si"``:
        WBC in 10^9/L and RBC in 10^12/L. A blood RBC outside 0.1-10 x 10^12/L raises.
    unknown_flow
        Status of a blast-negative CSF whose flow cytometry is missing. ``"missing"``
        (default): unknown, because it could be "CNS1 flow+". ``"CNS1"``: count as CNS1 (for
        cohorts without CSF flow cytometry).
    unknown_circulating_blasts
        A traumatic tap (blasts, WBC >= ``wbc_threshold``, RBC >= ``traumatic_rbc_per_ul``)
        negative by Steinherz-Bleyer when circulating blasts are not recorded: ``"missing"``
        (default: CNS2 with circulating blasts, CNS3 without, so unknown) or ``"apply"``
        (assume circulating blasts, i.e. CNS2). A tap positive by Steinherz-Bleyer is CNS3
        either way.
    unrecorded_csf_rbc
        A blast-positive CSF with WBC >= ``wbc_threshold`` whose RBC count is not recorded:
        ``"clean"`` (default: nothing shows the tap was traumatic, so CNS3) or
        ``"missing"``.

    Returns
    -------
    Ordered categorical (``CNS1 < CNS1 flow+ < CNS2 < CNS3``) Series / ``Categorical`` /
    ``str``. Missing where an input needed to decide is missing.

    Notes
    -----
    Definitions (seed study Table 2 legend; clinical-definitions "Bone marrow, CNS and MRD
    status"): CNS1 = no blasts on cytospin, regardless of WBC; CNS2 = WBC < 5/uL with
    blasts; CNS3 = WBC >= 5/uL with blasts, or clinical signs of CNS leukemia. The seed
    study reports "CNS1 with flow-cytometry-detectable disease" separately ("CNS1 flow+").

    Traumatic tap (the Steinherz/Bleyer algorithm of the Children's Oncology Group CNS
    classification; clinical-definitions "Bone marrow, CNS and MRD status"; COG protocols
    apply it to patients with circulating blasts): when the patient has
    circulating blasts and a blast-positive CSF with WBC >= 5/uL is traumatic (RBC >=
    ``traumatic_rbc_per_ul``), the status is CNS3 only if CSF WBC/RBC > 2 x blood WBC/RBC,
    otherwise CNS2 (COG "CNS2c"). Without circulating blasts the correction does not
    apply: the tap is CNS3 (COG "CNS3a/b" by WBC). Clinical signs give CNS3 whatever the
    CSF shows.

    Truth table for blasts with WBC >= 5 and no clinical signs (``-``: any value):

    ===============  ====================  ================  ========================
    CSF RBC          circulating blasts    Steinherz-Bleyer  status
    ===============  ====================  ================  ========================
    < 10             -                     -                 CNS3
    not recorded     -                     -                 CNS3 (unrecorded_csf_rbc)
    >= 10            -                     positive          CNS3
    >= 10            no                    -                 CNS3
    >= 10            yes                   negative          CNS2
    >= 10            yes                   not computable    missing
    >= 10            not recorded          negative          missing (or CNS2)
    ===============  ====================  ================  ========================

    Examples
    --------
    >>> cns_status([0, 20, 4.9, 5], [False, False, True, True], [False, True, None, None]
    ...            ).tolist()
    ['CNS1', 'CNS1 flow+', 'CNS2', 'CNS3']

    A bloody tap: 40 WBC with 20,000 RBC/uL in the CSF, blood 5,000 WBC and 4 million
    RBC/uL with circulating blasts. CSF ratio 0.002 is not > 2 x 0.00125, so CNS2; without
    circulating blasts the correction does not apply:

    >>> cns_status(40, True, None, csf_rbc_per_ul=20_000, blood_wbc=5_000,
    ...            blood_rbc=4e6, circulating_blasts=True)
    'CNS2'
    >>> cns_status(40, True, None, csf_rbc_per_ul=20_000, blood_wbc=5_000,
    ...            blood_rbc=4e6, circulating_blasts=False)
    'CNS3'
    """
    _check_positive(wbc_threshold, "wbc_threshold")
    _check_positive(traumatic_rbc_per_ul, "traumatic_rbc_per_ul")
    if unknown_flow not in ("missing", "CNS1"):
        raise CriteriaError(f"unknown_flow must be 'missing' or 'CNS1'; got {unknown_flow!r}.")
    if unknown_circulating_blasts not in ("missing", "apply"):
        raise CriteriaError("unknown_circulating_blasts must be 'missing' or 'apply'; got "
                            f"{unknown_circulating_blasts!r}.")
    if unrecorded_csf_rbc not in ("clean", "missing"):
        raise CriteriaError("unrecorded_csf_rbc must be 'clean' or 'missing'; got "
                            f"{unrecorded_csf_rbc!r}.")
    tap_inputs = {"csf_rbc_per_ul": csf_rbc_per_ul, "blood_wbc": blood_wbc,
                  "blood_rbc": blood_rbc, "circulating_blasts": circulating_blasts}
    lay = layout({"csf_wbc_per_ul": csf_wbc_per_ul, "csf_blasts": csf_blasts,
                  "csf_flow_positive": csf_flow_positive, "clinical_signs": clinical_signs,
                  **tap_inputs})
    wbc = as_float(csf_wbc_per_ul, "csf_wbc_per_ul", lay, low=0)
    blasts = as_tristate(csf_blasts, "csf_blasts", lay)
    flow = as_tristate(csf_flow_positive, "csf_flow_positive", lay)
    signs = _signs(clinical_signs, lay)

    high_wbc = ge(wbc, wbc_threshold)
    low_wbc = lt(wbc, wbc_threshold)
    # CNS3 by CSF unless the traumatic-tap rule says otherwise: 1 CNS3, 0 CNS2, -1 unknown
    if traumatic_tap_rule:
        csf3 = _tap_cns3(wbc, csf_rbc_per_ul, blood_wbc, blood_rbc, circulating_blasts, lay,
                         traumatic_rbc_per_ul=traumatic_rbc_per_ul, blood_units=blood_units,
                         unknown_circulating_blasts=unknown_circulating_blasts,
                         unrecorded_csf_rbc=unrecorded_csf_rbc)
    else:
        csf3 = np.full(lay.n, YES, dtype=np.int8)

    cns1_flow_unknown = 0 if unknown_flow == "CNS1" else NA
    # codes: 0 CNS1, 1 CNS1 flow+, 2 CNS2, 3 CNS3, -1 unknown (before clinical signs)
    by_csf = np.select(
        [
            (blasts == NO) & (flow == YES),
            (blasts == NO) & (flow == NO),
            blasts == NO,
            (blasts == YES) & low_wbc,
            (blasts == YES) & high_wbc & (csf3 == YES),
            (blasts == YES) & high_wbc & (csf3 == NO),
        ],
        [1, 0, cns1_flow_unknown, 2, 3, 2],
        default=NA,
    )
    codes = np.select(
        [signs == YES, signs == NO, by_csf == 3], [3, by_csf, 3], default=NA
    ).astype(np.int8)
    return labels_out(codes, CNS_STATUSES, lay, name="cns_status")


def _tap_cns3(
    wbc: FloatArray,
    csf_rbc_per_ul: object,
    blood_wbc: object,
    blood_rbc: object,
    circulating_blasts: object,
    lay: Layout,
    *,
    traumatic_rbc_per_ul: float,
    blood_units: BloodUnits,
    unknown_circulating_blasts: UnknownCirculating,
    unrecorded_csf_rbc: UnrecordedRbc,
) -> Int8Array:
    """Whether a blast-positive CSF with a high WBC stays CNS3 after the traumatic-tap
    correction: 1 yes, 0 no (CNS2), -1 unknown (see the table of :func:`cns_status`)."""
    rbc = as_float(csf_rbc_per_ul, "csf_rbc_per_ul", lay, low=0)
    bw, br = _blood_per_ul(blood_wbc, blood_rbc, lay, blood_units)
    circulating = as_tristate(circulating_blasts, "circulating_blasts", lay)
    if unknown_circulating_blasts == "apply":
        circulating = np.where(circulating == NA, YES, circulating).astype(np.int8)
    sb = _steinherz_bleyer(wbc, rbc, bw, br)
    traumatic = ge(rbc, traumatic_rbc_per_ul)
    unrecorded = np.isnan(rbc)
    return np.select(
        [
            lt(rbc, traumatic_rbc_per_ul),
            unrecorded & (unrecorded_csf_rbc == "clean"),
            traumatic & (sb == YES),
            traumatic & (circulating == NO),
            traumatic & (circulating == YES) & (sb == NO),
        ],
        [YES, YES, YES, YES, NO],
        default=NA,
    ).astype(np.int8)


def cns_subclass(
    csf_wbc_per_ul: object,
    csf_blasts: object,
    csf_rbc_per_ul: object,
    clinical_signs: object = None,
    blood_wbc: object = None,
    blood_rbc: object = None,
    *,
    wbc_threshold: float = 5.0,
    traumatic_rbc_per_ul: float = 10.0,
    blood_units: BloodUnits = "per_ul",
) -> LabelOutput:
    """Children's Oncology Group CNS subclass: CNS1, CNS2a/b/c or CNS3a/b/c.

    Parameters
    ----------
    csf_wbc_per_ul, csf_blasts, clinical_signs
        As in :func:`cns_status`.
    csf_rbc_per_ul
        CSF red cells per microlitre (required: it defines the a/b subclasses).
    blood_wbc, blood_rbc
        Blood counts for the Steinherz-Bleyer rule (unit: ``blood_units``); only needed for
        blast-positive taps with WBC >= 5 and RBC >= 10/uL, which are missing without them.
    wbc_threshold, traumatic_rbc_per_ul, blood_units
        As in :func:`cns_status` (defaults 5/uL, 10/uL, per microlitre).

    Returns
    -------
    Ordered categorical (``CNS1 < CNS2a < ... < CNS3c``) Series / ``Categorical`` / ``str``.

    Notes
    -----
    COG definitions (clinical-definitions "Bone marrow, CNS and MRD status"): CNS2a WBC < 5,
    RBC < 10, blasts; CNS2b WBC < 5, RBC >= 10, blasts; CNS2c WBC >= 5, RBC >= 10, blasts,
    negative by Steinherz-Bleyer; CNS3a WBC >= 5, RBC < 10, blasts; CNS3b WBC >= 5,
    RBC >= 10, blasts, positive by Steinherz-Bleyer; CNS3c clinical signs of CNS leukemia
    (whatever the CSF shows). Blast-negative CSF is CNS1 (flow cytometry is not part of the
    COG subclasses). A missing clinical-signs value leaves the subclass missing, since CNS3c
    would take precedence over whatever the CSF shows.

    Examples
    --------
    >>> cns_subclass([2, 2, 30, 30, 30], True, [0, 50, 5, 500, 500],
    ...              blood_wbc=[None, None, None, 5000, 100_000],
    ...              blood_rbc=[None, None, None, 4e6, 3e6]).tolist()
    ['CNS2a', 'CNS2b', 'CNS3a', 'CNS3b', 'CNS2c']
    """
    _check_positive(wbc_threshold, "wbc_threshold")
    _check_positive(traumatic_rbc_per_ul, "traumatic_rbc_per_ul")
    lay = layout({"csf_wbc_per_ul": csf_wbc_per_ul, "csf_blasts": csf_blasts,
                  "csf_rbc_per_ul": csf_rbc_per_ul, "clinical_signs": clinical_signs,
                  "blood_wbc": blood_wbc, "blood_rbc": blood_rbc})
    wbc = as_float(csf_wbc_per_ul, "csf_wbc_per_ul", lay, low=0)
    blasts = as_tristate(csf_blasts, "csf_blasts", lay)
    rbc = as_float(csf_rbc_per_ul, "csf_rbc_per_ul", lay, low=0)
    signs = _signs(clinical_signs, lay)
    bw, br = _blood_per_ul(blood_wbc, blood_rbc, lay, blood_units)
    sb = _steinherz_bleyer(wbc, rbc, bw, br)

    pos = blasts == YES
    w_lo, w_hi = lt(wbc, wbc_threshold), ge(wbc, wbc_threshold)
    r_lo, r_hi = lt(rbc, traumatic_rbc_per_ul), ge(rbc, traumatic_rbc_per_ul)
    conditions: list[BoolArray] = [
        blasts == NO,
        pos & w_lo & r_lo,
        pos & w_lo & r_hi,
        pos & w_hi & r_hi & (sb == NO),
        pos & w_hi & r_lo,
        pos & w_hi & r_hi & (sb == YES),
    ]
    by_csf = np.select(conditions, [0, 1, 2, 3, 4, 5], default=NA)
    codes = np.select([signs == YES, signs == NO], [6, by_csf], default=NA).astype(np.int8)
    return labels_out(codes, CNS_SUBCLASSES, lay, name="cns_subclass")

