"""Comparisons across several independent groups: Kruskal-Wallis, Dunn, Jonckheere-Terpstra.

Groups are given either as one value and one group label per subject (``values``,
``groups``), as in the analysis frame, or as a mapping ``{label: values}``. Missing values
and missing labels are dropped and counted. Chi-square and Fisher-Freeman-Halton tests of
r x c tables are :func:`reinfuse.stats.chi_square` and :func:`reinfuse.stats.fisher_exact`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._describe import summarize_group
from reinfuse.stats._results import GroupSummary, _AsDict
from reinfuse.stats._survival_groups import _labels, _natural
from reinfuse.stats._validate import as_float_vector, check_choice

KruskalMethod = Literal["auto", "exact", "monte-carlo", "asymptotic"]
Adjustment = Literal["holm", "bonferroni", "bh", "none"]
JTMethod = Literal["auto", "exact", "monte-carlo", "normal"]
JTAlternative = Literal["two-sided", "increasing", "decreasing"]

#: ``method="auto"`` enumerates every assignment of the observations to the groups when
#: there are at most this many (e.g. 3 groups of 4: 34,650), else uses chi-squared.
EXACT_ASSIGNMENTS_LIMIT = 100_000
#: Jonckheere-Terpstra ``"auto"`` is exact without ties up to this total sample size (the
#: rule of R's ``clinfun::jonckheere.test``), else the normal approximation.
JT_EXACT_LIMIT = 100
#: Monte Carlo permutation defaults (fixed seed, so that a report reproduces).
MONTE_CARLO_DRAWS = 100_000
MONTE_CARLO_SEED = 20190101

_ADJUST = {"holm": "holm", "bonferroni": "bonferroni", "bh": "fdr_bh"}
_ADJUST_WORDS = {"holm": "Holm's step-down adjustment", "bonferroni": "Bonferroni adjustment",
                 "bh": "Benjamini-Hochberg false discovery rate adjustment",
                 "none": "no adjustment for multiple comparisons"}


@dataclass(frozen=True)
class KruskalWallisResult(_AsDict):
    """Result of :func:`reinfuse.stats.kruskal_wallis`.

    Attributes
    ----------
    statistic : float
        ``H`` corrected for ties (R's "Kruskal-Wallis chi-squared").
    pvalue : float
        From the distribution named by ``distribution``.
    method : str
        A sentence for a methods section.
    n : int
        Values analysed.
    df : int
        ``k - 1``.
    distribution : str
        ``"exact"`` (every assignment of the observed values to groups of these sizes
        enumerated; the exact conditional distribution when there are ties),
        ``"monte-carlo"`` or ``"chi-squared"``.
    groups : tuple of str
        Group labels.
    summaries : tuple of GroupSummary
        Median and range per group.
    mean_ranks : tuple of float
        Mean pooled midrank per group.
    epsilon_squared : float
        Rank effect size ``H / ((n^2 - 1) / (n + 1))`` (Tomczak and Tomczak 2014; the
        ``rank_epsilon_squared`` of R's effectsize).
    has_ties : bool
        Whether the pooled values have ties.
    n_missing : int
        Values dropped (missing value or missing group).
    draws, seed : int or None
        For a Monte Carlo p-value: permutations drawn and the seed.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    df: int
    distribution: str
    groups: tuple[str, ...]
    summaries: tuple[GroupSummary, ...]
    mean_ranks: tuple[float, ...]
    epsilon_squared: float
    has_ties: bool
    n_missing: int
    draws: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class DunnComparison(_AsDict):
    """One pair of groups in Dunn's test: ``mean_rank_difference`` is ``b`` minus ``a``."""

    group_a: str
    group_b: str
    mean_rank_difference: float
    z: float
    pvalue: float
    pvalue_adjusted: float


@dataclass(frozen=True)
class DunnResult(_AsDict):
    """Result of :func:`reinfuse.stats.dunn_test`: every pair of groups.

    ``comparisons`` are in the order (1, 2), (1, 3), ..., (2, 3), ... of ``groups``;
    ``pvalue_adjusted`` uses ``adjustment`` over all ``k (k - 1) / 2`` pairs.
    """

    comparisons: tuple[DunnComparison, ...]
    groups: tuple[str, ...]
    adjustment: str
    method: str
    n: int
    n_missing: int

    def pair(self, a: str, b: str) -> DunnComparison:
        """The comparison of groups ``a`` and ``b`` (in either order)."""
        for c in self.comparisons:
            if {c.group_a, c.group_b} == {a, b}:
                return c
        raise StatisticsError(f"no comparison of {a!r} and {b!r}; the groups are {self.groups}.")


@dataclass(frozen=True)
class JonckheereResult(_AsDict):
    """Result of :func:`reinfuse.stats.jonckheere_terpstra`.

    Attributes
    ----------
    statistic : float
        ``J``: over every pair of groups ``i < j`` in the stated order, the number of
        pairs of values with ``x_i < x_j``, ties counting 1/2 (R clinfun's ``JT``).
    pvalue : float
        For ``alternative``.
    method : str
        A sentence for a methods section.
    n : int
        Values analysed.
    distribution : str
        ``"exact"``, ``"monte-carlo"`` or ``"normal"``.
    mean, variance : float
        Null mean and variance of ``J`` (variance corrected for ties).
    z : float or None
        ``(J - mean) / sqrt(variance)`` when the normal approximation was used.
    groups : tuple of str
        The groups in the order tested.
    alternative : str
        ``"increasing"`` (values tend to rise along the order), ``"decreasing"`` or
        ``"two-sided"``.
    has_ties : bool
        Whether the pooled values have ties.
    n_missing : int
        Values dropped.
    draws, seed : int or None
        For a Monte Carlo p-value.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    distribution: str
    mean: float
    variance: float
    z: float | None
    groups: tuple[str, ...]
    alternative: str
    has_ties: bool
    n_missing: int
    draws: int | None = None
    seed: int | None = None


def _samples(values: Any, groups: Any, order: Any
             ) -> tuple[list[NDArray[np.float64]], tuple[str, ...], int]:
    """The groups' values (missing dropped), their labels in order, and the count dropped."""
    if groups is None:
        if not isinstance(values, Mapping):
            raise StatisticsError(
                "pass either values with groups (one label per value) or a mapping "
                "{group label: values}.")
        samples = {str(k): as_float_vector(v, f"values of group {k!r}") for k, v in values.items()}
        n_missing = sum(int(np.isnan(v).sum()) for v in samples.values())
        samples = {k: v[~np.isnan(v)] for k, v in samples.items()}
    else:
        vector = as_float_vector(values, "values")
        labels, label_missing = _labels(groups, "groups", vector.size)
        missing = np.isnan(vector) | label_missing
        n_missing = int(missing.sum())
        present = sorted(set(labels[~missing].tolist()), key=_natural)
        samples = {g: vector[~missing & (labels == g)] for g in present}
    names: tuple[str, ...]
    if order is None:
        names = tuple(sorted(samples, key=_natural)) if groups is None else tuple(samples)
    else:
        names = tuple(str(g) for g in order)
        if set(names) != set(samples) or len(set(names)) != len(names):
            raise StatisticsError(
                f"order must list every group exactly once; the data have {sorted(samples)}, "
                f"order is {list(names)}.")
    empty = [g for g in names if samples[g].size == 0]
    if empty:
        raise StatisticsError(f"group(s) {empty} have no value; drop them or add data.")
    if len(names) < 2:
        raise StatisticsError(f"at least two groups are needed; got {list(names)}.")
    return [samples[g] for g in names], names, n_missing


def _h_statistic(rank_sums: NDArray[np.float64], sizes: NDArray[np.float64], n: int,
                 tie_factor: float) -> NDArray[np.float64]:
    """Tie-corrected H for rank sums of shape (..., k)."""
    h = 12.0 / (n * (n + 1)) * (rank_sums**2 / sizes).sum(axis=-1) - 3.0 * (n + 1)
    return np.asarray(h / tie_factor)


def _assignments(n: int, sizes: list[int]) -> NDArray[np.int64]:
    """Every assignment of n positions to groups of the given sizes, as group codes."""
    rows: list[list[int]] = []

    def fill(remaining: tuple[int, ...], group: int, current: list[int]) -> None:
        if group == len(sizes) - 1:
            row = current[:]
            for i in remaining:
                row[i] = group
            rows.append(row)
            return
        for chosen in itertools.combinations(remaining, sizes[group]):
            row = current[:]
            for i in chosen:
                row[i] = group
            rest = tuple(i for i in remaining if i not in chosen)
            fill(rest, group + 1, row)

    fill(tuple(range(n)), 0, [0] * n)
    return np.asarray(rows, dtype=np.int64)


def _assignment_count(sizes: list[int]) -> float:
    """Number of assignments n! / prod n_i! (as a float; huge counts need no exactness)."""
    log_count = math.lgamma(sum(sizes) + 1) - sum(math.lgamma(s + 1) for s in sizes)
    return math.exp(min(log_count, 700.0))


def _check_draws(draws: int, seed: int) -> None:
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise StatisticsError(f"draws must be a whole number of at least 1; got {draws!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise StatisticsError(f"seed must be a whole number; got {seed!r}.")


def _permuted_codes(codes: NDArray[np.int64], draws: int, seed: int):  # type: ignore[no-untyped-def]
    """Yield blocks of random permutations of ``codes`` (at most ~5 million cells a block)."""
    rng = np.random.default_rng(seed)
    step = max(1, min(10_000, 5_000_000 // max(1, codes.size)))
    for start in range(0, draws, step):
        size = min(step, draws - start)
        yield rng.permuted(np.broadcast_to(codes, (size, codes.size)).copy(), axis=1)


def kruskal_wallis(
    values: Any,
    groups: Any = None,
    *,
    order: Any = None,
    method: KruskalMethod = "auto",
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> KruskalWallisResult:
    """Kruskal-Wallis rank test that k >= 2 independent groups come from one distribution.

    Parameters
    ----------
    values : array_like or mapping
        One value per subject, or ``{group label: values}`` (then ``groups`` is None).
    groups : array_like, optional
        Group label per value (e.g. CAR T target, dose level).
    order : iterable, optional
        Order in which to report the groups.
    method : {"auto", "exact", "monte-carlo", "asymptotic"}, default "auto"
        * ``"exact"``: every assignment of the observed values (midranks) to groups of the
          observed sizes is enumerated; the exact conditional permutation distribution of
          ``H``, ties included (as StatXact or R's ``coin`` with ``distribution="exact"``).
          Refused when there are more than 100,000 assignments.
        * ``"monte-carlo"``: ``draws`` random permutations with seed ``seed``;
          p = (1 + #{H* >= H}) / (draws + 1).
        * ``"asymptotic"``: chi-squared with k - 1 df (R's ``kruskal.test``, scipy).
        * ``"auto"``: exact when there are at most 100,000 assignments (small samples,
          e.g. three groups of 4), else asymptotic.
    draws, seed : int
        Monte Carlo permutations and seed.

    Returns
    -------
    KruskalWallisResult

    Raises
    ------
    StatisticsError
        Fewer than two groups, an empty group, all values equal, invalid options.

    Notes
    -----
    ``H = [12 / (n (n + 1)) sum R_i^2 / n_i - 3 (n + 1)] / [1 - sum (t^3 - t) / (n^3 - n)]``
    with ``R_i`` the rank sum of group i in the pooled midranks and ``t`` the sizes of the
    tie groups (W. H. Kruskal and W. A. Wallis, JASA 47 (1952) 583-621; Hollander and
    Wolfe, *Nonparametric Statistical Methods*, section 6.1). The statistic and asymptotic
    p-value are ``scipy.stats.kruskal``; the exact and Monte Carlo p-values are computed
    here.

    Examples
    --------
    Hollander and Wolfe's lung function example (R's ``?kruskal.test``):

    >>> r = kruskal_wallis({"normal": [2.9, 3.0, 2.5, 2.6, 3.2],
    ...                     "obstructive": [3.8, 2.7, 4.0, 2.4],
    ...                     "asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0]}, method="asymptotic")
    >>> round(r.statistic, 5), round(r.pvalue, 2), r.df
    (0.77143, 0.68, 2)
    """
    check_choice(method, ("auto", "exact", "monte-carlo", "asymptotic"), "method")
    samples, names, n_missing = _samples(values, groups, order)
    pooled = np.concatenate(samples)
    n = int(pooled.size)
    if np.unique(pooled).size < 2:
        raise StatisticsError(
            "all values are equal; the Kruskal-Wallis test has nothing to rank.")
    sizes = [int(s.size) for s in samples]
    statistic, asymptotic_p = stats.kruskal(*samples)
    statistic = float(statistic)
    ranks = stats.rankdata(pooled)
    codes = np.repeat(np.arange(len(samples)), sizes)
    _, tie_counts = np.unique(pooled, return_counts=True)
    tie_factor = 1.0 - float((tie_counts**3 - tie_counts).sum()) / (n**3 - n)
    has_ties = bool((tie_counts > 1).any())
    size_array = np.asarray(sizes, dtype=float)
    assignments = _assignment_count(sizes)
    if method == "auto":
        method = "exact" if assignments <= EXACT_ASSIGNMENTS_LIMIT else "asymptotic"
    if method == "exact" and assignments > EXACT_ASSIGNMENTS_LIMIT:
        raise StatisticsError(
            f"an exact p-value needs {assignments:,.0f} assignments of values to groups, more "
            f"than the {EXACT_ASSIGNMENTS_LIMIT:,} enumerated; use method='monte-carlo'.")
    used_draws = used_seed = None
    tolerance = 1e-7 * max(1.0, abs(statistic))
    if method == "exact":
        table = _assignments(n, sizes)
        sums = np.zeros((table.shape[0], len(sizes)))
        for g in range(len(sizes)):
            sums[:, g] = ((table == g) * ranks).sum(axis=1)
        h_all = _h_statistic(sums, size_array, n, tie_factor)
        pvalue = float((h_all >= statistic - tolerance).mean())
        distribution = "exact"
        how = (f"exact permutation p-value (all {round(assignments):,} assignments of the "
               f"{'midranks' if has_ties else 'ranks'} to groups of the observed sizes)")
    elif method == "monte-carlo":
        _check_draws(draws, seed)
        hits = 0
        for block in _permuted_codes(codes, draws, seed):
            sums = np.stack([((block == g) * ranks).sum(axis=1) for g in range(len(sizes))],
                            axis=1)
            hits += int((_h_statistic(sums, size_array, n, tie_factor)
                         >= statistic - tolerance).sum())
        pvalue = (1 + hits) / (draws + 1)
        distribution = "monte-carlo"
        used_draws, used_seed = draws, seed
        error = math.sqrt(pvalue * (1 - pvalue) / draws)
        how = (f"Monte Carlo permutation p-value ({draws:,} random permutations, seed {seed}; "
               f"Monte Carlo standard error {error:.2g}; p = (1 + permutations with H at "
               "least the observed) / (draws + 1))")
    else:
        pvalue = float(asymptotic_p)
        distribution = "chi-squared"
        how = f"p-value from the chi-squared distribution with {len(sizes) - 1} degrees of freedom"
    mean_ranks = tuple(float(ranks[codes == g].mean()) for g in range(len(sizes)))
    return KruskalWallisResult(
        statistic=statistic, pvalue=pvalue,
        method=(f"Kruskal-Wallis rank test across {len(sizes)} groups"
                f"{' (H corrected for ties)' if has_ties else ''}; {how}"),
        n=n, df=len(sizes) - 1, distribution=distribution, groups=names,
        summaries=tuple(summarize_group(s) for s in samples), mean_ranks=mean_ranks,
        epsilon_squared=statistic / ((n**2 - 1) / (n + 1)), has_ties=has_ties,
        n_missing=n_missing, draws=used_draws, seed=used_seed)


def dunn_test(
    values: Any,
    groups: Any = None,
    *,
    order: Any = None,
    adjustment: Adjustment = "holm",
) -> DunnResult:
    """Dunn's test: every pair of groups compared on the Kruskal-Wallis pooled ranks.

    Parameters
    ----------
    values, groups, order
        As for :func:`kruskal_wallis`.
    adjustment : {"holm", "bonferroni", "bh", "none"}, default "holm"
        Multiple-comparison adjustment over all pairs: Holm's step-down (controls the
        family-wise error, uniformly better than Bonferroni), Bonferroni, or
        Benjamini-Hochberg (false discovery rate).

    Returns
    -------
    DunnResult

    Notes
    -----
    For groups a and b with mean ranks ``Rbar_a``, ``Rbar_b`` in the pooled ranking of all
    ``n`` values, ``z = (Rbar_b - Rbar_a) / sqrt((n (n + 1) / 12 - sum (t^3 - t) / (12 (n -
    1))) (1 / n_a + 1 / n_b))`` with the tie correction over tie groups of size ``t``, and
    a two-sided normal p-value (O. J. Dunn, Technometrics 6 (1964) 241-252). The
    adjustment is ``statsmodels.stats.multitest.multipletests``. This is the test of R's
    ``dunn.test``, ``PMCMRplus::kwAllPairsDunnTest`` and ``DescTools::DunnTest``.

    Examples
    --------
    >>> r = dunn_test({"1": [2.9, 3.0, 2.5, 2.6, 3.2], "2": [3.8, 2.7, 4.0, 2.4],
    ...                "3": [2.8, 3.4, 3.7, 2.2, 2.0]})
    >>> [round(c.mean_rank_difference, 1) for c in r.comparisons]
    [1.8, -0.6, -2.4]
    """
    check_choice(adjustment, ("holm", "bonferroni", "bh", "none"), "adjustment")
    samples, names, n_missing = _samples(values, groups, order)
    pooled = np.concatenate(samples)
    n = int(pooled.size)
    ranks = stats.rankdata(pooled)
    sizes = [int(s.size) for s in samples]
    codes = np.repeat(np.arange(len(samples)), sizes)
    mean_ranks = np.array([ranks[codes == g].mean() for g in range(len(samples))])
    _, tie_counts = np.unique(pooled, return_counts=True)
    tie_term = float((tie_counts**3 - tie_counts).sum()) / (12.0 * (n - 1)) if n > 1 else 0.0
    spread = n * (n + 1) / 12.0 - tie_term
    if spread <= 0:
        raise StatisticsError("all values are equal; Dunn's test has nothing to rank.")
    pairs = list(itertools.combinations(range(len(samples)), 2))
    diffs = np.array([mean_ranks[b] - mean_ranks[a] for a, b in pairs])
    se = np.array([math.sqrt(spread * (1 / sizes[a] + 1 / sizes[b])) for a, b in pairs])
    z = diffs / se
    raw = 2.0 * stats.norm.sf(np.abs(z))
    from statsmodels.stats.multitest import multipletests  # lazy: slow import

    adjusted = raw if adjustment == "none" else multipletests(raw, method=_ADJUST[adjustment])[1]
    comparisons = tuple(
        DunnComparison(group_a=names[a], group_b=names[b], mean_rank_difference=float(d),
                       z=float(zz), pvalue=float(p), pvalue_adjusted=float(q))
        for (a, b), d, zz, p, q in zip(pairs, diffs, z, raw, adjusted, strict=True))
    return DunnResult(
        comparisons=comparisons, groups=names, adjustment=adjustment,
        method=(f"Dunn's test of all {len(pairs)} pairs of groups on the pooled Kruskal-Wallis "
                "ranks (tie-corrected variance, two-sided normal p-values) with "
                f"{_ADJUST_WORDS[adjustment]}"),
        n=n, n_missing=n_missing)


def _divide_one_minus(poly: list[int], power: int) -> list[int]:
    """Coefficients of ``poly / (1 - q^power)`` (exact when the division is exact)."""
    out = poly[:]
    for k in range(power, len(out)):
        out[k] += out[k - power]
    return out


def _mann_whitney_counts(m: int, n: int) -> list[int]:
    """Number of arrangements with each value of U for samples of sizes m and n.

    The generating function is the Gaussian binomial ``[m + n; n]_q =
    prod_{i=1}^{n} (1 - q^{m + i}) / (1 - q^i)``.
    """
    length = m * n + 1
    poly = [1] + [0] * (length - 1)
    for i in range(1, n + 1):
        shift = m + i
        poly = [poly[k] - (poly[k - shift] if k >= shift else 0) for k in range(length)]
        poly = _divide_one_minus(poly, i)
    return poly


def _jt_null_counts(sizes: list[int]) -> NDArray[np.float64]:
    """Exact null distribution of J without ties (as probabilities, index = J).

    ``J = sum_j U_j`` where ``U_j`` compares group j with the pooled earlier groups; under
    the null hypothesis the ``U_j`` are independent (the q-multinomial factorises into
    Gaussian binomials), so the distribution is the convolution of Mann-Whitney
    distributions. Each is counted exactly in integers, then turned into probabilities;
    the convolution adds only positive terms, so small tail probabilities keep their
    relative precision.
    """
    probabilities = np.ones(1)
    before = 0
    for size in sizes:
        if before:
            counts = _mann_whitney_counts(before, size)
            total = sum(counts)
            part = np.array([c / total for c in counts], dtype=float)
            probabilities = np.convolve(probabilities, part)
        before += size
    return probabilities


def _jt_permuted(pooled: NDArray[np.float64], codes: NDArray[np.int64], k: int
                 ) -> NDArray[np.float64]:
    """J for each row of group codes (rows are permutations of the groups of ``pooled``).

    With the values sorted, each value q gains, for every group h before its own, the
    values of h strictly smaller (those before q's tie block) plus half those tied with it.
    """
    order = np.argsort(pooled, kind="stable")
    values = pooled[order]
    codes = codes[:, order]
    _, start, counts = np.unique(values, return_index=True, return_counts=True)
    block_start = np.repeat(start, counts)
    block_end = block_start + np.repeat(counts, counts)
    total = np.zeros(codes.shape[0])
    for h in range(k - 1):
        cum = np.concatenate([np.zeros((codes.shape[0], 1)),
                              np.cumsum(codes == h, axis=1)], axis=1)
        before = cum[:, block_start]
        tied = cum[:, block_end] - before
        total += ((codes > h) * (before + 0.5 * tied)).sum(axis=1)
    return total


def _jt_statistic(samples: list[NDArray[np.float64]]) -> float:
    """J from sorted samples and binary searches, O(n log n) (no pairwise matrix)."""
    j = 0.0
    for a, b in itertools.combinations(range(len(samples)), 2):
        later = np.sort(samples[b])
        above = later.size - np.searchsorted(later, samples[a], side="right")
        tied = np.searchsorted(later, samples[a], side="right") - np.searchsorted(
            later, samples[a], side="left")
        j += float(above.sum()) + 0.5 * float(tied.sum())
    return j


def jonckheere_terpstra(
    values: Any,
    groups: Any = None,
    *,
    order: Any = None,
    alternative: JTAlternative = "two-sided",
    method: JTMethod = "auto",
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> JonckheereResult:
    """Jonckheere-Terpstra test for a trend across ordered groups (e.g. dose levels).

    Parameters
    ----------
    values, groups
        As for :func:`kruskal_wallis`.
    order : iterable, optional
        The groups in their natural order (lowest dose first). Required in effect: the
        default is the sorted labels (numeric labels by value), which must be what you
        mean; the order used is in ``groups`` of the result.
    alternative : {"two-sided", "increasing", "decreasing"}, default "two-sided"
        ``"increasing"``: values tend to rise along the order.
    method : {"auto", "exact", "monte-carlo", "normal"}, default "auto"
        * ``"exact"``: the exact null distribution of J (no ties only).
        * ``"monte-carlo"``: ``draws`` random permutations of the values among the
          groups (seed ``seed``), valid with ties.
        * ``"normal"``: normal approximation with the tie-corrected variance.
        * ``"auto"``: exact without ties and n <= 100 (R's ``clinfun`` rule), else normal.

    Returns
    -------
    JonckheereResult

    Notes
    -----
    ``J = sum_{i < j} #{(x, y): x in group i, y in group j, x < y}`` (ties 1/2);
    ``E J = (n^2 - sum n_i^2) / 4`` and, with tie groups of size ``t``,
    ``Var J = [n(n-1)(2n+5) - sum n_i(n_i-1)(2n_i+5) - sum t(t-1)(2t+5)] / 72
    + [sum n_i(n_i-1)(n_i-2)][sum t(t-1)(t-2)] / [36 n(n-1)(n-2)]
    + [sum n_i(n_i-1)][sum t(t-1)] / [8 n(n-1)]`` (A. R. Jonckheere, Biometrika 41 (1954)
    133-145; T. J. Terpstra, Indag. Math. 14 (1952) 327-333; Hollander and Wolfe, section
    6.2). The exact distribution is the product of Gaussian binomial generating functions
    (exact integer arithmetic). Two-sided p-values are twice the smaller tail, capped at 1.
    No maintained Python library provides this test; it is implemented here.

    Examples
    --------
    >>> r = jonckheere_terpstra({"1": [1.0], "2": [2.0], "3": [3.0]},
    ...                         alternative="increasing")
    >>> r.statistic, round(r.pvalue, 4), r.distribution
    (3.0, 0.1667, 'exact')
    """
    check_choice(alternative, ("two-sided", "increasing", "decreasing"), "alternative")
    check_choice(method, ("auto", "exact", "monte-carlo", "normal"), "method")
    samples, names, n_missing = _samples(values, groups, order)
    pooled = np.concatenate(samples)
    n = int(pooled.size)
    sizes = np.array([s.size for s in samples], dtype=float)
    _, tie_counts = np.unique(pooled, return_counts=True)
    has_ties = bool((tie_counts > 1).any())
    if tie_counts.size < 2:
        raise StatisticsError("all values are equal; there is no trend to test.")
    j = _jt_statistic(samples)
    mean = (n**2 - float((sizes**2).sum())) / 4.0
    t = tie_counts.astype(float)
    variance = ((n * (n - 1) * (2 * n + 5) - float((sizes * (sizes - 1) * (2 * sizes + 5)).sum())
                 - float((t * (t - 1) * (2 * t + 5)).sum())) / 72.0
                + float((sizes * (sizes - 1) * (sizes - 2)).sum())
                * float((t * (t - 1) * (t - 2)).sum()) / (36.0 * n * (n - 1) * (n - 2))
                + float((sizes * (sizes - 1)).sum()) * float((t * (t - 1)).sum())
                / (8.0 * n * (n - 1)))
    if method == "auto":
        method = "exact" if (not has_ties and n <= JT_EXACT_LIMIT) else "normal"
    if method == "exact" and has_ties:
        raise StatisticsError(
            "the exact Jonckheere-Terpstra distribution assumes no ties and the values have "
            "ties; use method='monte-carlo' (exact conditional on the ties, estimated) or "
            "'normal' (tie-corrected variance).")
    if method == "exact" and n > 400:
        raise StatisticsError(f"an exact distribution for n = {n} is too large; use 'normal'.")
    z_value: float | None = None
    used_draws = used_seed = None
    if method == "exact":
        probabilities = _jt_null_counts([int(s) for s in sizes])
        index = round(j)
        upper = float(probabilities[index:].sum())
        lower = float(probabilities[: index + 1].sum())
        how = "exact null distribution of J"
    elif method == "monte-carlo":
        _check_draws(draws, seed)
        codes = np.repeat(np.arange(len(samples)), sizes.astype(int))
        hits_up = hits_down = 0
        tolerance = 1e-9 * max(1.0, j)
        for block in _permuted_codes(codes, draws, seed):
            sims = _jt_permuted(pooled, block, len(samples))
            hits_up += int((sims >= j - tolerance).sum())
            hits_down += int((sims <= j + tolerance).sum())
        upper = (1 + hits_up) / (draws + 1)
        lower = (1 + hits_down) / (draws + 1)
        used_draws, used_seed = draws, seed
        how = (f"Monte Carlo permutation p-value ({draws:,} random permutations, seed "
               f"{seed}; p = (1 + permutations at least as extreme) / (draws + 1))")
    else:
        z_value = (j - mean) / math.sqrt(variance)
        upper = float(stats.norm.sf(z_value))
        lower = float(stats.norm.cdf(z_value))
        how = ("normal approximation" + (" with the tie-corrected variance" if has_ties else ""))
    if alternative == "increasing":
        pvalue = upper
    elif alternative == "decreasing":
        pvalue = lower
    else:
        pvalue = min(1.0, 2.0 * min(upper, lower))
    side = {"two-sided": "two-sided", "increasing": "one-sided, increasing trend",
            "decreasing": "one-sided, decreasing trend"}[alternative]
    return JonckheereResult(
        statistic=j, pvalue=float(pvalue),
        method=(f"Jonckheere-Terpstra test for ordered alternatives across {len(samples)} groups "
                f"in the order {', '.join(names)} ({side}); {how}"),
        n=n, distribution=method if method != "normal" else "normal", mean=mean,
        variance=variance, z=z_value, groups=names, alternative=alternative,
        has_ties=has_ties, n_missing=n_missing, draws=used_draws, seed=used_seed)
