"""Frozen result types returned by :mod:`reinfuse.stats`.

Every result has ``to_dict()``, which returns plain Python values only (``int``, ``float``,
``str``, ``bool``, ``None``, ``list``, ``dict``) so that ``json.dumps(result.to_dict())``
works. JSON has no NaN or infinity, so non-finite floats become ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from reinfuse._plain import to_plain


class AsDict:
    """Mixin giving frozen dataclasses a JSON-serialisable ``to_dict``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a dict of plain Python values (non-finite floats -> None)."""
        return cast(dict[str, Any], to_plain(self))


_AsDict = AsDict  # the name the stats modules use


@dataclass(frozen=True)
class GroupSummary(_AsDict):
    """Median and range of one group (missing values excluded).

    Attributes
    ----------
    n : int
        Number of non-missing values.
    median, minimum, maximum : float
        Sample median (mean of the two middle values when ``n`` is even), smallest and
        largest value.
    """

    n: int
    median: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class WilcoxonResult(_AsDict):
    """Result of :func:`reinfuse.stats.wilcoxon_signed_rank`.

    Attributes
    ----------
    statistic : float
        ``W+``, the sum of the ranks of the positive differences ``x - y`` (R's ``V``).
    pvalue : float
        The p-value for ``alternative``.
    method : str
        A sentence for a methods section naming the test, the sidedness, how the p-value
        was computed and how zero differences were handled.
    n : int
        Number of differences that carry a sign (non-zero differences).
    distribution : str
        ``"exact"``, ``"permutation"`` (exact conditional distribution given ties/zeros)
        or ``"normal"``: the computation actually used.
    w_plus, w_minus : float
        Sums of the ranks of the positive and of the negative differences.
    w_signed : float
        ``w_plus - w_minus``, the "sum of signed ranks (W)" that GraphPad Prism reports.
    z : float or None
        The standardised statistic when the normal approximation was used, else None.
    n_pairs : int
        Complete pairs (both values present), zero differences included.
    n_zero : int
        Pairs whose difference is exactly zero.
    n_missing : int
        Pairs dropped because a value was missing.
    has_ties : bool
        Whether some non-zero absolute differences are tied.
    alternative, zero_method : str
        The options used.
    median_difference : float
        Median of ``x - y`` over the complete pairs.
    x_summary, y_summary : GroupSummary or None
        Median and range of each column over the complete pairs (``y_summary`` is None
        for a one-sample test).
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    distribution: str
    w_plus: float
    w_minus: float
    w_signed: float
    z: float | None
    n_pairs: int
    n_zero: int
    n_missing: int
    has_ties: bool
    alternative: str
    zero_method: str
    median_difference: float
    x_summary: GroupSummary
    y_summary: GroupSummary | None


@dataclass(frozen=True)
class MannWhitneyResult(_AsDict):
    """Result of :func:`reinfuse.stats.mann_whitney_u`.

    Attributes
    ----------
    statistic : float
        ``U`` for ``x``: the number of (x, y) pairs with ``x > y``, ties counting 1/2
        (R's ``W`` in ``wilcox.test(x, y)``).
    pvalue : float
        The p-value for ``alternative``.
    method : str
        A sentence for a methods section.
    n : int
        Total number of non-missing values in both groups.
    distribution : str
        ``"exact"``, ``"permutation"`` (exact conditional distribution given ties) or
        ``"normal"``.
    u_x, u_y : float
        ``U`` for each group (``u_x + u_y = n_x * n_y``).
    u_min : float
        ``min(u_x, u_y)``, the "Mann-Whitney U" that GraphPad Prism reports.
    rank_sum_x, rank_sum_y, mean_rank_x, mean_rank_y : float
        Sums and means of the pooled midranks of each group.
    z : float or None
        The standardised statistic when the normal approximation was used, else None.
    n_x, n_y : int
        Non-missing values per group.
    n_missing_x, n_missing_y : int
        Missing values dropped per group.
    has_ties : bool
        Whether the pooled sample has tied values.
    alternative : str
        The alternative hypothesis (``"greater"`` means x tends to be larger than y).
    x_summary, y_summary : GroupSummary
        Median and range of each group.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    distribution: str
    u_x: float
    u_y: float
    u_min: float
    rank_sum_x: float
    rank_sum_y: float
    mean_rank_x: float
    mean_rank_y: float
    z: float | None
    n_x: int
    n_y: int
    n_missing_x: int
    n_missing_y: int
    has_ties: bool
    alternative: str
    x_summary: GroupSummary
    y_summary: GroupSummary


@dataclass(frozen=True)
class FisherResult(_AsDict):
    """Result of :func:`reinfuse.stats.fisher_exact`.

    Attributes
    ----------
    statistic : float
        2x2: the sample odds ratio ``(a*d)/(b*c)`` (may be 0 or infinite). r x c: the
        probability of the observed table under the null hypothesis (the quantity whose
        ordering defines the p-value).
    pvalue : float
        The exact p-value.
    method : str
        A sentence for a methods section.
    n : int
        Total count in the table.
    table : tuple of tuple of int
        The table tested.
    row_totals, column_totals : tuple of int
        Margins (fixed under the null hypothesis).
    alternative : str
        ``"two-sided"`` (the only choice for r x c tables), ``"less"`` or ``"greater"``.
    odds_ratio : float or None
        2x2 only: the sample odds ratio (same as ``statistic``); None for r x c.
    conditional_odds_ratio : float or None
        2x2 only, when asked for: the conditional maximum-likelihood estimate of the odds
        ratio (the estimate R's ``fisher.test`` prints).
    draws, seed : int or None
        For a Monte Carlo p-value (r x c tables too large to enumerate): the number of
        random tables and the seed; None for an exact p-value.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    table: tuple[tuple[int, ...], ...]
    row_totals: tuple[int, ...]
    column_totals: tuple[int, ...]
    alternative: str
    odds_ratio: float | None
    conditional_odds_ratio: float | None
    draws: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ChiSquareResult(_AsDict):
    """Result of :func:`reinfuse.stats.chi_square`.

    Attributes
    ----------
    statistic : float
        Pearson's chi-squared (with Yates's correction when it was applied).
    pvalue : float
        Upper-tail probability of the chi-squared distribution with ``df`` degrees of
        freedom.
    method : str
        A sentence for a methods section.
    n : int
        Total count.
    df : int
        Degrees of freedom ``(r - 1)(c - 1)``.
    yates_correction : bool
        Whether Yates's continuity correction was applied (2x2 tables only).
    expected : tuple of tuple of float
        Expected counts under independence.
    min_expected : float
        Smallest expected count.
    n_expected_below_5 : int
        Number of cells whose expected count is below 5.
    small_expected : bool
        True when any expected count is below 5; the chi-squared approximation is then
        doubtful and Fisher's exact test is recommended (see ``notes``).
    notes : tuple of str
        Warnings for the reader (empty when there is nothing to flag).
    table : tuple of tuple of int
        The table tested.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    df: int
    yates_correction: bool
    expected: tuple[tuple[float, ...], ...]
    min_expected: float
    n_expected_below_5: int
    small_expected: bool
    notes: tuple[str, ...]
    table: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class McNemarResult(_AsDict):
    """Result of :func:`reinfuse.stats.mcnemar`.

    Attributes
    ----------
    statistic : float
        Exact test: ``min(b, c)``, the smaller discordant count (the binomial statistic).
        Asymptotic test: McNemar's chi-squared (1 degree of freedom).
    pvalue : float
        Two-sided p-value.
    method : str
        A sentence for a methods section.
    n : int
        Number of pairs in the table.
    b, c : int
        Discordant counts: ``table[0][1]`` (yes then no) and ``table[1][0]`` (no then yes).
    exact : bool
        Whether the exact binomial test was used.
    correction : bool
        Whether the continuity correction was applied (asymptotic test only).
    n_missing : int
        Pairs dropped because a value was missing (vector input only).
    table : tuple of tuple of int
        The 2x2 table of paired outcomes.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    b: int
    c: int
    exact: bool
    correction: bool
    n_missing: int
    table: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class MedianRange(_AsDict):
    """Result of :func:`reinfuse.stats.median_range`: "median (range min-max)"."""

    median: float
    minimum: float
    maximum: float
    n: int
    n_missing: int
    method: str


@dataclass(frozen=True)
class MedianIQR(_AsDict):
    """Result of :func:`reinfuse.stats.median_iqr`: median and quartiles.

    ``iqr`` is ``q3 - q1``; ``quartile_method`` names the quantile definition used.
    """

    median: float
    q1: float
    q3: float
    iqr: float
    n: int
    n_missing: int
    quartile_method: str
    method: str


@dataclass(frozen=True)
class ProportionResult(_AsDict):
    """Result of :func:`reinfuse.stats.proportion`: ``k/n`` with a confidence interval."""

    k: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    confidence_level: float
    ci_method: str
    method: str


@dataclass(frozen=True)
class MedianCIResult(_AsDict):
    """Result of :func:`reinfuse.stats.median_ci`: distribution-free CI for the median.

    ``lower_rank`` and ``upper_rank`` are the 1-based order statistics used;
    ``achieved_confidence`` is the exact coverage of that interval for a continuous
    distribution (at least ``confidence_level``).
    """

    median: float
    ci_low: float
    ci_high: float
    confidence_level: float
    achieved_confidence: float
    lower_rank: int
    upper_rank: int
    n: int
    n_missing: int
    method: str
