"""How numbers are printed: percentages, medians with ranges, p-values.

A style is data (a frozen dataclass), chosen by name in the analysis plan (``style``).
``seed`` reproduces the seed study's printing: ``16 (88.9)`` for n (%), ``18.5 (7–30)`` for
median (range) with an en dash, p-values to two significant digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reinfuse.errors import PlanError


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Style:
    """Number formatting rules of one house style."""

    name: str
    percent_decimals: int = 1
    percent_sign: bool = False
    range_separator: str = "–"
    iqr_separator: str = "–"
    decimal_mark: str = "."
    missing: str = "–"
    p_significant: int = 2
    p_floor: float = 0.001

    def number(self, value: float | None, decimals: int | None = None) -> str:
        """A number with ``decimals`` places, or (None) up to two places, trailing zeros cut."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing
        if decimals is not None:
            text = f"{value:.{decimals}f}"
        elif float(value).is_integer():
            text = str(int(value))
        else:
            text = _trim(f"{value:.2f}")
        return text.replace(".", self.decimal_mark)

    def n_percent(self, k: int, n: int) -> str:
        """``k (p)`` with the style's decimals; ``0`` alone when k is 0, as the seed prints."""
        if n == 0:
            return f"{k}"
        pct = f"{100 * k / n:.{self.percent_decimals}f}".replace(".", self.decimal_mark)
        return f"{k} ({pct}{'%' if self.percent_sign else ''})"

    def median_range(self, median: float, low: float, high: float,
                     decimals: int | None = None) -> str:
        """``median (low–high)``."""
        return (f"{self.number(median, decimals)} ({self.number(low, decimals)}"
                f"{self.range_separator}{self.number(high, decimals)})")

    def median_iqr(self, median: float, q1: float, q3: float,
                   decimals: int | None = None) -> str:
        """``median (q1–q3)``."""
        return (f"{self.number(median, decimals)} ({self.number(q1, decimals)}"
                f"{self.iqr_separator}{self.number(q3, decimals)})")

    def pvalue(self, p: float | None) -> str:
        """A p-value: ``p_significant`` significant digits, ``<floor`` below the floor.

        Examples
        --------
        >>> seed = get_style("seed")
        >>> [seed.pvalue(p) for p in (0.0299, 0.0291, 0.1612, 0.08398, 0.00004, 1.0)]
        ['0.03', '0.029', '0.16', '0.084', '<0.001', '1']
        """
        if p is None or math.isnan(p):
            return self.missing
        if p < self.p_floor:
            return f"<{self.p_floor:g}".replace(".", self.decimal_mark)
        text = f"{p:.{self.p_significant}g}"
        if "e" in text:  # very small p handled above; keep plain decimals otherwise
            text = f"{p:.6f}"
        return text.replace(".", self.decimal_mark)


STYLES = {"seed": Style(name="seed")}


def get_style(name: str) -> Style:
    """The style called ``name``."""
    try:
        return STYLES[name]
    except KeyError:
        raise PlanError(f"unknown style '{name}'; available: {', '.join(STYLES)}") from None
