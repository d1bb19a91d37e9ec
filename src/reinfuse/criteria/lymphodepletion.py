"""Lymphodepletion (LD) regimens before CAR T-cell infusion, as defined by the seed study.

Doses are totals per course in mg/m2 (e.g. fludarabine 25 mg/m2 x 3 days = 75). See
:mod:`reinfuse.criteria` for the input and output conventions.
"""

from __future__ import annotations

from typing import Any

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

#: Nominal course totals (mg/m2) of the seed study: standard = fludarabine 25 x 3 +
#: cyclophosphamide 900 x 1; intensified = fludarabine 30 x 4 + cyclophosphamide 600 x 2;
#: FLAG = fludarabine 25 x 5 with cytarabine 2000 x 5 (and filgrastim).
STANDARD_TOTALS = {"fludarabine": 75.0, "cyclophosphamide": 900.0}
INTENSIFIED_TOTALS = {"fludarabine": 120.0, "cyclophosphamide": 1200.0}
FLAG_TOTALS = {"fludarabine": 125.0, "cytarabine": 10000.0}
#: Largest relative tolerance accepted (20 %).
MAX_TOLERANCE = 0.2


def _near(x: FloatArray, nominal: float, tolerance: float) -> BoolArray:
    return np.asarray(np.abs(x - nominal) <= tolerance * nominal * (1 + 1e-9))


def _deviation(x: FloatArray, nominal: float) -> FloatArray:
    """Relative distance from a nominal total (0 nominal: 0 when x is 0, else infinite)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if nominal == 0:
            return np.where(x == 0, 0.0, np.inf)
        return np.asarray(np.abs(x - nominal) / nominal, dtype=np.float64)


def _check_totals(value: object, name: str) -> tuple[float, float]:
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                  and np.isfinite(v) and v >= 0 for v in value))
    if not ok:
        raise CriteriaError(
            f"{name} must be two course totals in mg/m2 (fludarabine, cyclophosphamide), "
            f"each >= 0; got {value!r}."
        )
    pair: Any = value
    return float(pair[0]), float(pair[1])


def classify_regimen(
    fludarabine_mg_m2: object,
    cyclophosphamide_mg_m2: object,
    cytarabine_mg_m2: object,
    *,
    tolerance: float = 0.10,
    standard_totals: tuple[float, float] = (75.0, 900.0),
    intensified_totals: tuple[float, float] = (120.0, 1200.0),
    flag_fludarabine: float = 125.0,
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
        Must be in [0, 0.2].
    standard_totals, intensified_totals
        The centre's (fludarabine, cyclophosphamide) course totals in mg/m2 that define
        "standard" and "intensified" lymphodepletion. Defaults: the seed study's (75, 900)
        and (120, 1200). A centre giving tisagenlecleucel's label regimen (fludarabine
        30 x 4 = 120 + cyclophosphamide 500 x 2 = 1000) as its standard sets
        ``standard_totals=(120, 1000)``.
    flag_fludarabine
        Fludarabine course total (mg/m2) of FLAG. Default 125 (25 x 5, seed study). A
        course is FLAG only with cytarabine *and* fludarabine at this total (within
        ``tolerance``) and no cyclophosphamide.

    Returns
    -------
    Categorical Series / ``Categorical`` / ``str`` with categories ``standard``,
    ``intensified``, ``flag``, ``none``, ``other``.

    Notes
    -----
    Seed study (Methods; Table 2 legend; clinical-definitions "Lymphodepletion"):

    - standard: fludarabine 25 mg/m2 x 3 days (75) + cyclophosphamide 900 mg/m2 x 1 day;
    - intensified: fludarabine 30 mg/m2 x 4 days (120) + cyclophosphamide 600 mg/m2 x
      2 days (1200);
    - FLAG: fludarabine 25 mg/m2 x 5 days (125), cytarabine 2000 mg/m2 x 5 days (10000)
      and filgrastim. Cytarabine alone does not make a course FLAG: fludarabine must be at
      the FLAG total and cyclophosphamide absent (any cytarabine dose counts, since
      cytarabine is often reduced). Cytarabine with other doses is ``"other"``;
    - ``"none"``: no fludarabine, cyclophosphamide or cytarabine;
    - ``"other"``: anything else (e.g. fludarabine 75 with cyclophosphamide 1200).

    When the centre's standard and intensified windows overlap (e.g. standard (120, 1000)
    and intensified (120, 1200) at 10 %: cyclophosphamide 1080-1100 fits both), a course
    fitting both takes the regimen whose totals are nearer (largest relative deviation of
    the two drugs); an exact tie is left missing.

    Missing totals give a missing class, except where the known totals already decide: a
    known fludarabine or cyclophosphamide total matching no regimen is ``"other"``
    whatever the missing ones are (fludarabine off both the standard/intensified and FLAG
    totals, or cyclophosphamide off all of 0 and the two regimens); cytarabine with
    cyclophosphamide given is ``"other"``. A missing cytarabine total leaves the class
    missing when the course could be FLAG or standard (fill 0 if cytarabine was not
    given).

    Examples
    --------
    >>> classify_regimen([75, 120, 125, 0, 75, 60, 75], [900, 1200, 0, 0, 1200, 900, 900],
    ...                  [0, 0, 10000, 0, 0, 0, 2000]).tolist()
    ['standard', 'intensified', 'flag', 'none', 'other', 'other', 'other']
    >>> classify_regimen(80, 850, 0)
    'standard'
    >>> classify_regimen(120, 1000, 0), classify_regimen(120, 1000, 0,
    ...                                                  standard_totals=(120, 1000))
    ('other', 'standard')
    """
    if not (np.isfinite(tolerance) and 0 <= tolerance <= MAX_TOLERANCE):
        raise CriteriaError(
            f"tolerance must be between 0 and {MAX_TOLERANCE} (a fraction, 0.10 = 10 %); "
            f"got {tolerance!r}."
        )
    s_flu, s_cy = _check_totals(standard_totals, "standard_totals")
    i_flu, i_cy = _check_totals(intensified_totals, "intensified_totals")
    if (s_flu, s_cy) == (i_flu, i_cy):
        raise CriteriaError(
            f"standard_totals and intensified_totals are the same ({s_flu:g}, {s_cy:g}); "
            "the two regimens must differ in at least one drug."
        )
    if not (isinstance(flag_fludarabine, (int, float)) and np.isfinite(flag_fludarabine)
            and flag_fludarabine > 0):
        raise CriteriaError(
            f"flag_fludarabine must be a positive total in mg/m2; got {flag_fludarabine!r}."
        )
    lay = layout({"fludarabine_mg_m2": fludarabine_mg_m2,
                  "cyclophosphamide_mg_m2": cyclophosphamide_mg_m2,
                  "cytarabine_mg_m2": cytarabine_mg_m2})
    flu = as_float(fludarabine_mg_m2, "fludarabine_mg_m2", lay, low=0)
    cy = as_float(cyclophosphamide_mg_m2, "cyclophosphamide_mg_m2", lay, low=0)
    ara = as_float(cytarabine_mg_m2, "cytarabine_mg_m2", lay, low=0)

    f_std, c_std = _near(flu, s_flu, tolerance), _near(cy, s_cy, tolerance)
    f_int, c_int = _near(flu, i_flu, tolerance), _near(cy, i_cy, tolerance)
    f_flag = _near(flu, float(flag_fludarabine), tolerance)
    f_zero, c_zero = flu == 0, cy == 0
    fits_std, fits_int = f_std & c_std, f_int & c_int
    with np.errstate(invalid="ignore"):
        d_std = np.maximum(_deviation(flu, s_flu), _deviation(cy, s_cy))
        d_int = np.maximum(_deviation(flu, i_flu), _deviation(cy, i_cy))
    standard = fits_std & (~fits_int | (d_std < d_int))
    intensified = fits_int & (~fits_std | (d_int < d_std))
    tie = fits_std & fits_int & (d_std == d_int)
    # a known total that fits no regimen decides "other" on its own
    f_fits_none = ~np.isnan(flu) & ~(f_std | f_int | f_zero | f_flag)
    c_fits_none = ~np.isnan(cy) & ~(c_std | c_int | c_zero)
    no_ara = ara == 0
    some_ara = ara > 0
    no_ara_fits_none = ~np.isnan(flu) & ~(f_std | f_int | f_zero)
    both_known = ~np.isnan(flu) & ~np.isnan(cy)

    codes = np.select(
        [
            some_ara & f_flag & c_zero,
            some_ara & (~np.isnan(flu) & ~f_flag | ~np.isnan(cy) & ~c_zero),
            no_ara & tie,
            no_ara & standard,
            no_ara & intensified,
            no_ara & f_zero & c_zero,
            no_ara & (both_known | no_ara_fits_none | c_fits_none),
            f_fits_none | c_fits_none,
        ],
        [FLAG, OTHER, NA, STANDARD, INTENSIFIED, NONE, OTHER, OTHER],
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
