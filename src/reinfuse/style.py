"""How numbers are printed: percentages, medians, confidence intervals, p-values.

A style is data (a frozen dataclass) chosen by name in the analysis plan (``style``) or with
``reinfuse report --style``, and applied to every output (HTML, Word, PDF, results.json
text). The rules come from the journals' instructions for authors, as implemented by R's
gtsummary journal themes (``theme_gtsummary_journal``) where they exist:

==========  ==================  ==============  =====================================
style       n (%)               continuous      p-values
==========  ==================  ==============  =====================================
seed        ``16 (88.9)``       median (range)  2 significant digits; <0.001; >0.99
jama        ``16 (88.9)``       median (IQR)    2 decimals, 3 below 0.10; <0.001; >0.99
nejm        ``16 (88.9)``       median (IQR)    2 decimals, 3 below 0.01; <0.001; >0.99
lancet      ``16 (89%)``        median (IQR)    2 decimals >= 0.10, 3 >= 0.01, 4 >= 0.0001;
                                                <0·0001; >0·99; middle-dot decimal mark
==========  ==================  ==============  =====================================

Confidence intervals print ``ll to ul`` in JAMA and NEJM, ``ll–ul`` (en dash) otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from reinfuse.errors import PlanError

PRule = Literal["significant", "jama", "nejm", "lancet"]


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def fixed(value: float | Decimal, places: int) -> str:
    """``value`` with ``places`` decimals, halves rounded up (away from zero).

    Python's own formatting rounds half to even on the binary value (``f"{6.25:.1f}"`` is
    ``6.2``); journals and readers expect 6.3. The decimal string of the float is rounded.

    Examples
    --------
    >>> fixed(6.25, 1), fixed(12.5, 0), fixed(0.125, 2), fixed(-2.5, 0)
    ('6.3', '13', '0.13', '-3')
    """
    quantum = Decimal(1).scaleb(-places)
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return str(exact.quantize(quantum, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Style:
    """Number formatting rules of one house style."""

    name: str
    percent_decimals: int = 1
    percent_sign: bool = False
    range_separator: str = "–"
    iqr_separator: str = "–"
    ci_separator: str = "–"
    decimal_mark: str = "."
    missing: str = "–"
    not_recorded: str = "not recorded"
    continuous: Literal["range", "iqr"] = "range"
    p_rule: PRule = "significant"

    def _mark(self, text: str) -> str:
        return text.replace(".", self.decimal_mark)

    def number(self, value: float | None, decimals: int | None = None) -> str:
        """A number with ``decimals`` places, or (None) up to two places, trailing zeros cut."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing
        if decimals is not None:
            text = fixed(value, decimals)
        elif float(value).is_integer():
            text = str(int(value))
        else:
            text = _trim(fixed(value, 2))
        return self._mark(text)

    def percent(self, fraction: float) -> str:
        """A percentage of ``fraction`` (0-1) with the style's decimals and sign."""
        text = self._mark(fixed(100 * fraction, self.percent_decimals))
        return text + ("%" if self.percent_sign else "")

    def n_percent(self, k: int, n: int) -> str:
        """``k (p)``; ``k`` alone when the denominator is 0.

        The percentage is rounded from k and n exactly (23/80 = 28.75% prints 28.8), not
        from a binary fraction.
        """
        if n == 0:
            return f"{k}"
        exact = Decimal(100 * k) / Decimal(n)
        text = self._mark(fixed(exact, self.percent_decimals))
        return f"{k} ({text}{'%' if self.percent_sign else ''})"

    def count_of(self, k: int, n: int) -> str:
        """``k/n (p)``: a count that states its denominator (used when values are unknown).

        Examples
        --------
        >>> get_style("seed").count_of(3, 12), get_style("lancet").count_of(3, 12)
        ('3/12 (25.0)', '3/12 (25%)')
        """
        if n == 0:
            return f"{k}/0"
        return f"{k}/{n} " + self.n_percent(k, n).split(" ", 1)[1]

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

    def ci(self, low: float, high: float, level: float = 0.95, *, percent: bool = False,
           decimals: int | None = None) -> str:
        """``95% CI ll–ul`` (``ll to ul`` in JAMA/NEJM); ``percent`` prints 0-1 as %."""
        if percent:
            lo = self._mark(fixed(100 * low, self.percent_decimals))
            hi = self._mark(fixed(100 * high, self.percent_decimals))
        else:
            lo, hi = self.number(low, decimals), self.number(high, decimals)
        return f"{level * 100:g}% CI {self.limits(lo, hi)}"

    def limits(self, lo: str, hi: str) -> str:
        """Two printed limits joined: ``ll–ul``, or ``ll to ul`` when one is negative
        ("-2.0–70.3" reads as a range of negative numbers)."""
        separator = " to " if lo.startswith("-") or hi.startswith("-") else self.ci_separator
        return f"{lo}{separator}{hi}"

    @property
    def summary_words(self) -> str:
        """How the continuous summary is named in labels: ``median (range)`` or ``(IQR)``."""
        return "median (range)" if self.continuous == "range" else "median (IQR)"

    def pvalue(self, p: float | None) -> str:
        """A p-value by the style's rule.

        Examples
        --------
        >>> [get_style(s).pvalue(0.0499) for s in ("seed", "jama", "nejm", "lancet")]
        ['0.05', '0.050', '0.05', '0·050']
        """
        if p is None or math.isnan(p):
            return self.missing
        if self.p_rule == "significant":
            if p < 0.001:
                return self._mark("<0.001")
            if p > 0.99:
                return self._mark(">0.99")
            # Two significant digits, halves up, trailing zeros cut (0.0299 -> 0.03).
            places = 1 - math.floor(math.log10(p)) if p > 0 else 3
            return self._mark(_trim(fixed(p, places)))
        if self.p_rule == "lancet":
            if p < 0.0001:
                return self._mark("<0.0001")
            if p > 0.99:
                return self._mark(">0.99")
            # Decimals chosen on the rounded value: 0.0999 is "0.10", not "0.100".
            places = (2 if Decimal(fixed(p, 2)) >= Decimal("0.1")
                      else 3 if Decimal(fixed(p, 3)) >= Decimal("0.01") else 4)
            return self._mark(fixed(p, places))
        if p < 0.001:
            return self._mark("<0.001")
        if p > 0.99:
            return self._mark(">0.99")
        cut = Decimal("0.1") if self.p_rule == "jama" else Decimal("0.01")
        places = 2 if Decimal(fixed(p, 2)) >= cut else 3  # on the rounded value
        return self._mark(fixed(p, places))


STYLES = {
    "seed": Style(name="seed"),
    "jama": Style(name="jama", range_separator="-", iqr_separator="-", ci_separator=" to ",
                  continuous="iqr", p_rule="jama"),
    "nejm": Style(name="nejm", range_separator="-", iqr_separator="-", ci_separator=" to ",
                  continuous="iqr", p_rule="nejm"),
    "lancet": Style(name="lancet", percent_decimals=0, percent_sign=True,
                    decimal_mark="·", continuous="iqr", p_rule="lancet"),
}


def get_style(name: str) -> Style:
    """The style called ``name``."""
    try:
        return STYLES[name]
    except KeyError:
        raise PlanError(f"unknown style '{name}'; available: {', '.join(STYLES)}") from None
