"""Lymphodepletion (LD) regimens before CAR T-cell infusion, as defined by the seed study.

Doses are totals per course in mg/m2 (e.g. fludarabine 25 mg/m2 x 3 days = 75). See
:mod:`reinfuse.criteria` for the input and output conventions.
"""

from __future__ import annotations

import numpy as np

from reinfuse.criteria._common import (
    NA,
    NO,
    YES,
    BoolArray,
    BoolOutput,
    CriteriaError,
    FloatArray,
    LabelOutput,
    as_codes,
    as_float,
    bool_out,
    labels_out,
    layout,
)

__all__ = [
    "REGIMENS",
    "REGIMEN_PAIRS",
    "classify_regimen",
    "is_intensified",
    "regimen_pair",
]

REGIMENS = ("standard", "intensified", "flag", "none", "other")
REGIMEN_PAIRS = (
    "standard->standard",
    "standard->intensified",
    "intensified->standard",
    "intensified->intensified",
    "any with FLAG",
    "other",
)
STANDARD, INTENSIFIED, FLAG, NONE, OTHER = range(5)

#: Nominal course totals (mg/m2): standard = fludarabine 25 x 3 + cyclophosphamide 900 x 1;
#: intensified = fludarabine 30 x 4 + cyclophosphamide 600 x 2.
STANDARD_TOTALS = {"fludarabine": 75.0, "cyclophosphamide": 900.0}
INTENSIFIED_TOTALS = {"fludarabine": 120.0, "cyclophosphamide": 1200.0}
#: Largest tolerance for which the standard and intensified fludarabine windows stay apart.
MAX_TOLERANCE = 0.2


def _near(x: FloatArray, nominal: float, tolerance: float) -> BoolArray:
    return np.asarray(np.abs(x - nominal) <= tolerance * nominal * (1 + 1e-9))


def classify_regimen(
    fludarabine_mg_m2: object,
    cyclophosphamide_mg_m2: object,
    cytarabine_mg_m2: object,
    *,
    tolerance: float = 0.10,
) -> LabelOutput:
    """Lymphodepletion regimen from course totals: standard, intensified, flag, none, other.

    Parameters
    ----------
    fludarabine_mg_m2, cyclophosphamide_mg_m2, cytarabine_mg_m2
        Total dose of the course, mg/m2 (0 when the drug was not given; missing = NaN).
    tolerance
        Relative tolerance around the nominal totals, both ends inclusive. Default 0.10
        (10 %): absorbs rounding, capped body surface area and small adjustments, while a
        25 % renal dose reduction of fludarabine falls outside and gives ``"other"``.
        Must be in [0, 0.2] so the standard and intensified windows cannot overlap.

    Returns
    -------
    Categorical Series / ``Categorical`` / ``str`` with categories ``standard``,
    ``intensified``, ``flag``, ``none``, ``other``.

    Notes
    -----
    Seed study (Methods; Table 2 legend):

    - standard: fludarabine 25 mg/m2 x 3 days (75) + cyclophosphamide 900 mg/m2 x 1 day;
    - intensified: fludarabine 30 mg/m2 x 4 days (120) + cyclophosphamide 600 mg/m2 x
      2 days (1200);
    - FLAG: fludarabine 25 mg/m2 x 5 days (125), cytarabine 2000 mg/m2 x 5 days (10000)
      and filgrastim. Any cytarabine makes the course ``"flag"`` whatever else was given;
    - ``"none"``: no fludarabine, cyclophosphamide or cytarabine;
    - ``"other"``: anything else (e.g. fludarabine 75 with cyclophosphamide 1200).

    Missing totals give a missing class, except where the known totals already decide:
    any cytarabine is ``"flag"``; with no cytarabine, a fludarabine or cyclophosphamide
    total matching no regimen is ``"other"`` whatever the missing one is. A missing
    cytarabine total leaves the class missing (fill 0 if cytarabine was not given).

    Examples
    --------
    >>> classify_regimen([75, 120, 125, 0, 75, 60], [900, 1200, 0, 0, 1200, 900],
    ...                  [0, 0, 10000, 0, 0, 0]).tolist()
    ['standard', 'intensified', 'flag', 'none', 'other', 'other']
    >>> classify_regimen(80, 850, 0)
    'standard'
    """
    if not (np.isfinite(tolerance) and 0 <= tolerance <= MAX_TOLERANCE):
        raise CriteriaError(
            f"tolerance must be between 0 and {MAX_TOLERANCE} (a fraction, 0.10 = 10 %); "
            f"got {tolerance!r}."
        )
    lay = layout({"fludarabine_mg_m2": fludarabine_mg_m2,
                  "cyclophosphamide_mg_m2": cyclophosphamide_mg_m2,
                  "cytarabine_mg_m2": cytarabine_mg_m2})
    flu = as_float(fludarabine_mg_m2, "fludarabine_mg_m2", lay, low=0)
    cy = as_float(cyclophosphamide_mg_m2, "cyclophosphamide_mg_m2", lay, low=0)
    ara = as_float(cytarabine_mg_m2, "cytarabine_mg_m2", lay, low=0)

    f_std = _near(flu, STANDARD_TOTALS["fludarabine"], tolerance)
    f_int = _near(flu, INTENSIFIED_TOTALS["fludarabine"], tolerance)
    c_std = _near(cy, STANDARD_TOTALS["cyclophosphamide"], tolerance)
    c_int = _near(cy, INTENSIFIED_TOTALS["cyclophosphamide"], tolerance)
    f_zero, c_zero = flu == 0, cy == 0
    # a known total that fits no regimen decides "other" on its own
    f_fits_none = ~np.isnan(flu) & ~(f_std | f_int | f_zero)
    c_fits_none = ~np.isnan(cy) & ~(c_std | c_int | c_zero)
    both_known = ~np.isnan(flu) & ~np.isnan(cy)
    no_ara = ara == 0

    codes = np.select(
        [
            ara > 0,
            no_ara & f_std & c_std,
            no_ara & f_int & c_int,
            no_ara & f_zero & c_zero,
            no_ara & (both_known | f_fits_none | c_fits_none),
        ],
        [FLAG, STANDARD, INTENSIFIED, NONE, OTHER],
        default=NA,
    ).astype(np.int8)
    return labels_out(codes, REGIMENS, lay, name="regimen", ordered=False)


def regimen_pair(previous: object, current: object) -> LabelOutput:
    """Sequence of regimens before two infusions, as tabulated by the seed study (Table 2).

    Parameters
    ----------
    previous, current
        Regimen labels (output of :func:`classify_regimen`) before the earlier and the
        later infusion (e.g. CART1 and CART2).

    Returns
    -------
    Ordered categorical Series / ``Categorical`` / ``str``: ``standard->standard``,
    ``standard->intensified``, ``intensified->standard``, ``intensified->intensified``,
    ``any with FLAG`` (FLAG before either infusion), ``other`` (any other combination,
    including ``none`` or ``other`` regimens). Missing when a regimen is missing, unless
    the other one is FLAG.

    Notes
    -----
    Seed study Table 2, "Lymphodepletion pre-CART": standard LD at CART1 and CART2;
    standard then intensified; intensified then standard; "combination standard LD and
    FLAG" (two patients: FLAG then standard, standard then FLAG). Intensified at both is
    not in the study's table but is a possible sequence, so it has its own label.

    Examples
    --------
    >>> regimen_pair(["standard", "standard", "flag", "intensified", "none"],
    ...              ["standard", "intensified", "standard", None, "standard"]).tolist()
    ['standard->standard', 'standard->intensified', 'any with FLAG', nan, 'other']
    """
    lay = layout({"previous": previous, "current": current})
    p = as_codes(previous, "previous", lay, REGIMENS)
    c = as_codes(current, "current", lay, REGIMENS)
    p_si = (p == STANDARD) | (p == INTENSIFIED)
    c_si = (c == STANDARD) | (c == INTENSIFIED)
    codes = np.select(
        [
            (p == FLAG) | (c == FLAG),
            (p == NA) | (c == NA),
            p_si & c_si,
        ],
        [4, NA, 2 * p + c],  # standard=0, intensified=1 -> 0..3 in REGIMEN_PAIRS order
        default=5,
    ).astype(np.int8)
    return labels_out(codes, REGIMEN_PAIRS, lay, name="regimen_pair")


def is_intensified(regimen: object) -> BoolOutput:
    """Whether a regimen (label from :func:`classify_regimen`) is the intensified one.

    Notes
    -----
    Seed study: intensified LD = fludarabine 120 mg/m2 + cyclophosphamide 1200 mg/m2 (see
    :func:`classify_regimen`). Every other regimen (standard, FLAG, none, other) is
    ``False``; missing stays missing.

    Examples
    --------
    >>> is_intensified(["intensified", "standard", "flag", None]).tolist()
    [True, False, False, <NA>]
    """
    lay = layout({"regimen": regimen})
    codes = as_codes(regimen, "regimen", lay, REGIMENS)
    tri = np.where(codes == NA, NA, np.where(codes == INTENSIFIED, YES, NO)).astype(np.int8)
    return bool_out(tri, lay, name="is_intensified")
