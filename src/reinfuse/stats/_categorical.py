"""Tests on contingency tables: Fisher's exact test, Pearson's chi-squared, McNemar."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.special import gammaln
from scipy.stats.contingency import expected_freq
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio

from reinfuse.errors import StatisticsError
from reinfuse.stats._fisher_rxc import EnumerationTooLargeError, fisher_rxc_pvalue
from reinfuse.stats._results import ChiSquareResult, FisherResult, McNemarResult
from reinfuse.stats._validate import (
    as_count_table,
    as_float_vector,
    check_alternative,
    check_choice,
)

Alternative = Literal["two-sided", "less", "greater"]
FisherMethod = Literal["auto", "exact", "monte-carlo"]
#: Monte Carlo Fisher tests: tables drawn and the seed (fixed, so that a report reproduces).
MONTE_CARLO_DRAWS = 100_000
MONTE_CARLO_SEED = 20190101


def _as_tuple(table: NDArray[np.int64]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in row) for row in table)


def fisher_exact(
    table: Any,
    *,
    alternative: Alternative = "two-sided",
    conditional_odds_ratio: bool = False,
    method: FisherMethod = "auto",
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> FisherResult:
    """Fisher's exact test of independence for a 2x2 or larger (r x c) table of counts.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts, e.g. rows = intensified / standard lymphodepletion, columns = responder /
        non-responder. Non-negative whole numbers; r, c >= 2.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        2x2 only: ``"greater"`` tests an odds ratio above 1 (``table[0][0]`` larger than
        expected). Tables larger than 2x2 only have the two-sided test.
    conditional_odds_ratio : bool, default False
        2x2 only: also compute the conditional maximum-likelihood estimate of the odds
        ratio (the estimate R's ``fisher.test`` prints; ``scipy.stats.contingency.
        odds_ratio(kind="conditional")``).
    method : {"auto", "exact", "monte-carlo"}, default "auto"
        r x c only (2x2 tables are always exact). ``"exact"`` enumerates every table with
        the observed margins and refuses (StatisticsError) once that would exceed a
        bounded amount of work (``reinfuse.stats._fisher_rxc.MAX_WORK``, a few seconds);
        ``"monte-carlo"`` estimates the p-value from ``draws`` random tables with the
        observed margins; ``"auto"`` is exact while feasible, then Monte Carlo. The
        method sentence says which was used, with the number of draws and the seed.
    draws : int, default 100000
        Monte Carlo tables drawn (R's ``fisher.test(simulate.p.value = TRUE)`` uses
        2000; more draws give a smaller Monte Carlo error, about 0.0016 at p = 0.05).
    seed : int, default 20190101
        Seed of the random generator, so that a Monte Carlo p-value reproduces exactly.

    Returns
    -------
    FisherResult
        ``pvalue``, ``statistic`` (2x2: the sample odds ratio ``ad/bc``; r x c: the null
        probability of the observed table), ``method``, ``n``, margins, odds ratios.

    Raises
    ------
    StatisticsError
        Not a 2-D table of non-negative whole numbers with at least 2 rows and columns;
        all counts zero; a one-sided alternative for a table larger than 2x2; an r x c
        table too large to enumerate with ``method="exact"``.

    Notes
    -----
    Conditional on both margins, a table's probability is hypergeometric (2x2) or
    multivariate hypergeometric (r x c). The two-sided p-value is the total probability
    of all tables with the observed margins that are no more probable than the observed
    one (relative tolerance 1e-7), the definition of R's ``fisher.test`` and of
    ``scipy.stats.fisher_exact``. The 2x2 case calls ``scipy.stats.fisher_exact``. For
    r x c tables SciPy (1.15+) only offers Monte Carlo or permutation resampling, so the
    exact Freeman-Halton p-value is computed here by a network-style enumeration
    (``reinfuse.stats._fisher_rxc``), checked against R's documented results for its
    "Job satisfaction" 4x4 example (p = 0.7827).

    References: R. A. Fisher, *Statistical Methods for Research Workers* (1934);
    G. H. Freeman and J. H. Halton, Biometrika 38 (1951) 141-149; C. R. Mehta and
    N. R. Patel, JASA 78 (1983) 427-434.

    Examples
    --------
    R's "tea tasting" example (Agresti 1990): 3 of 4 milk-first cups identified.

    >>> r = fisher_exact([[3, 1], [1, 3]])
    >>> round(r.pvalue, 4), r.odds_ratio
    (0.4857, 9.0)
    >>> round(fisher_exact([[3, 1], [1, 3]], alternative="greater").pvalue, 4)
    0.2429
    """
    check_alternative(alternative)
    counts = as_count_table(table)
    is_2x2 = counts.shape == (2, 2)
    if not is_2x2 and alternative != "two-sided":
        raise StatisticsError(
            f"alternative={alternative!r} is only defined for 2x2 tables; this table has "
            f"shape {counts.shape}. Use alternative='two-sided'."
        )
    conditional: float | None = None
    simulated = False
    if is_2x2:
        res = stats.fisher_exact(counts, alternative=alternative)
        statistic = float(res.statistic)
        pvalue = float(res.pvalue)
        odds = statistic
        if conditional_odds_ratio:
            conditional = _conditional_odds_ratio(counts)
        if alternative == "two-sided":
            sided = "two-sided"
        else:
            sign = ">" if alternative == "greater" else "<"
            sided = f"one-sided (alternative: odds ratio {sign} 1)"
        sentence = (
            f"{sided} Fisher's exact test (2x2 table; hypergeometric distribution given "
            "both margins"
        )
        sentence += (
            "; p-value sums the probabilities of all tables no more likely than the observed)"
            if alternative == "two-sided"
            else ")"
        )
    else:
        check_choice(method, ("auto", "exact", "monte-carlo"), "method")
        odds = None
        r, c = counts.shape
        simulated = method == "monte-carlo"
        if not simulated:
            try:
                statistic, pvalue = fisher_rxc_pvalue(counts)
            except EnumerationTooLargeError:
                if method == "exact":
                    raise
                simulated = True
        if simulated:
            statistic, pvalue = _fisher_monte_carlo(counts, draws, seed)
            error = math.sqrt(pvalue * (1 - pvalue) / draws)
            sentence = (
                f"two-sided Fisher-Freeman-Halton test ({r}x{c} table) with a Monte Carlo "
                f"p-value from {draws:,} random tables with the observed margins (Patefield's "
                f"algorithm, seed {seed}; Monte Carlo standard error {error:.2g}); p-value "
                "(1 + tables no more likely than the observed) / (draws + 1), as R's "
                "fisher.test(simulate.p.value = TRUE)"
            )
            if method == "auto":
                sentence += "; exact enumeration was not feasible for this table"
        else:
            sentence = (
                f"two-sided Fisher-Freeman-Halton exact test ({r}x{c} table; exact enumeration "
                "of all tables with the observed margins; p-value sums the probabilities of "
                "all tables no more likely than the observed)"
            )
    return FisherResult(
        statistic=statistic,
        pvalue=pvalue,
        method=sentence,
        n=int(counts.sum()),
        table=_as_tuple(counts),
        row_totals=tuple(int(v) for v in counts.sum(axis=1)),
        column_totals=tuple(int(v) for v in counts.sum(axis=0)),
        alternative=alternative,
        odds_ratio=odds,
        conditional_odds_ratio=conditional,
        draws=draws if simulated else None,
        seed=seed if simulated else None,
    )


def _fisher_monte_carlo(counts: NDArray[np.int64], draws: int, seed: int
                        ) -> tuple[float, float]:
    """Probability of the observed table and the Monte Carlo p-value (R's rule).

    Tables with the observed margins are drawn by ``scipy.stats.random_table`` (Patefield,
    Appl. Stat. 30 (1981) 91-97). A table's null probability is ordered by
    ``-sum(log n_ij!)`` (the margins' factorials are common to all), and the p-value is
    ``(1 + #{simulated <= observed}) / (draws + 1)`` with R's relative tolerance 1e-7.
    """
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise StatisticsError(f"draws must be a whole number of at least 1; got {draws!r}.")
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    rows, cols = counts.sum(axis=1), counts.sum(axis=0)
    n_total = int(counts.sum())
    observed = -float(gammaln(counts + 1.0).sum())
    log_p_obs = (float(gammaln(rows + 1.0).sum() + gammaln(cols + 1.0).sum())
                 - float(gammaln(n_total + 1.0)) + observed)
    rng = np.random.default_rng(seed)
    simulated = np.empty(draws)
    for start in range(0, draws, 10_000):  # bounded memory for large tables
        tables = stats.random_table(rows, cols).rvs(size=min(10_000, draws - start),
                                                   random_state=rng)
        simulated[start:start + len(tables)] = -gammaln(tables + 1.0).sum(axis=(1, 2))
    # R: STATISTIC <- -sum(lfactorial(x)); almost.1 <- 1 + 64 * .Machine$double.eps;
    # PVAL <- (1 + sum(tmp <= STATISTIC / almost.1)) / (B + 1)  (STATISTIC < 0).
    almost_one = 1 + 64 * np.finfo(float).eps
    hits = int((simulated <= observed / almost_one).sum())
    return math.exp(log_p_obs), (1 + hits) / (draws + 1)


def _conditional_odds_ratio(counts: NDArray[np.int64]) -> float | None:
    """Conditional MLE of the odds ratio, or None when a margin is zero (undefined)."""
    if (counts.sum(axis=0) == 0).any() or (counts.sum(axis=1) == 0).any():
        return None
    return float(scipy_odds_ratio(counts, kind="conditional").statistic)


def chi_square(table: Any, *, correction: bool = True) -> ChiSquareResult:
    """Pearson's chi-squared test of independence, flagging small expected counts.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Counts (non-negative whole numbers, r, c >= 2, no empty row or column).
    correction : bool, default True
        Yates's continuity correction for 2x2 tables (each ``|O - E|`` reduced by 0.5,
        never below 0), as R's ``chisq.test`` and ``scipy.stats.chi2_contingency`` do.
        Tables with more than one degree of freedom are never corrected.

    Returns
    -------
    ChiSquareResult
        ``statistic``, ``pvalue``, ``df``, ``expected`` counts, ``min_expected``,
        ``n_expected_below_5``, ``small_expected`` and ``notes``.

    Raises
    ------
    StatisticsError
        Invalid table (see :func:`fisher_exact`), or a row or column with no subjects
        (its expected counts are zero and the statistic is undefined).

    Notes
    -----
    *Expected-count rule.* When any expected count is below 5 the result has
    ``small_expected=True`` and a note recommending Fisher's exact test (Cochran 1954;
    the rule GraphPad Prism and most textbooks quote). The test is still computed; the
    caller (e.g. a report) decides what to print. No Python warning is emitted.

    Thin wrapper over ``scipy.stats.chi2_contingency``. Reference: W. G. Cochran,
    Biometrics 10 (1954) 417-451; F. Yates, JRSS Suppl. 1 (1934) 217-235.

    Examples
    --------
    R's ``chisq.test`` documentation example (Agresti 2007, p. 39; party by gender):

    >>> r = chi_square([[762, 327, 468], [484, 239, 477]])
    >>> round(r.statistic, 2), r.df, f"{r.pvalue:.3e}", r.small_expected
    (30.07, 2, '2.954e-07', False)
    """
    counts = as_count_table(table)
    for axis, label in ((1, "row"), (0, "column")):
        totals = counts.sum(axis=axis)
        if (totals == 0).any():
            empty = [int(i) for i in np.flatnonzero(totals == 0)]
            raise StatisticsError(
                f"{label}(s) {empty} of the table have no subjects, so their expected counts "
                f"are zero and chi-squared is undefined; drop the empty {label}(s)."
            )
    expected = expected_freq(counts)
    res = stats.chi2_contingency(counts, correction=correction)
    df = int(res.dof)
    yates = bool(correction and df == 1)
    below = int((expected < 5).sum())
    min_expected = float(expected.min())
    notes: tuple[str, ...] = ()
    if below:
        notes = (
            f"{below} of {expected.size} expected counts are below 5 (smallest "
            f"{min_expected:.2f}); the chi-squared approximation may be inaccurate. "
            "Fisher's exact test is recommended (reinfuse.stats.fisher_exact).",
        )
    r, c = counts.shape
    method = f"Pearson's chi-squared test of independence ({r}x{c} table, {df} df"
    method += ", Yates's continuity correction)" if yates else ")"
    return ChiSquareResult(
        statistic=float(res.statistic),
        pvalue=float(res.pvalue),
        method=method,
        n=int(counts.sum()),
        df=df,
        yates_correction=yates,
        expected=tuple(tuple(float(v) for v in row) for row in expected),
        min_expected=min_expected,
        n_expected_below_5=below,
        small_expected=below > 0,
        notes=notes,
        table=_as_tuple(counts),
    )


def mcnemar(x: Any, y: Any = None, *, exact: bool = True, correction: bool = True) -> McNemarResult:
    """McNemar's test for paired binary outcomes (e.g. MRD-negative after CART1 vs CART2).

    Parameters
    ----------
    x : array_like
        Either the 2x2 table of paired outcomes ``[[yes/yes, yes/no], [no/yes, no/no]]``
        (rows: first occasion, columns: second occasion), or, when ``y`` is given, the
        first occasion's outcomes as a vector of 0/1 or booleans (1/True = "yes").
    y : array_like, optional
        The second occasion's outcomes (same length as ``x``). A pair with a missing
        value is dropped and counted in ``n_missing``.
    exact : bool, default True
        Exact test: the smaller discordant count against Binomial(b + c, 1/2),
        two-sided. Recommended whenever ``b + c`` is small (below about 25), which is the
        usual case in small cohorts, hence the default. ``False`` uses McNemar's
        chi-squared statistic with 1 degree of freedom.
    correction : bool, default True
        Edwards's continuity correction ``(|b - c| - 1)**2 / (b + c)`` for the
        chi-squared version, applied as R's ``mcnemar.test(correct = TRUE)`` applies it:
        only when the discordant counts differ (``b != c``); with ``b == c`` the
        statistic is 0 and p = 1, since correcting would push the statistic away from 0.
        Ignored when ``exact``.

    Returns
    -------
    McNemarResult
        ``statistic``, ``pvalue``, ``method``, ``n`` pairs, discordant counts ``b`` and
        ``c``, ``table``.

    Raises
    ------
    StatisticsError
        Not a 2x2 table of counts; vectors of different lengths or with values other
        than 0/1/True/False/missing; no discordant pair (``b + c == 0``: the test is
        undefined, the two occasions agree on every subject).

    Notes
    -----
    Thin wrapper over ``statsmodels.stats.contingency_tables.mcnemar``. Only the
    discordant pairs carry information. Reference: Q. McNemar, Psychometrika 12 (1947)
    153-157; A. L. Edwards, Psychometrika 13 (1948) 185-187.

    Examples
    --------
    R's ``mcnemar.test`` documentation example (Agresti 1990, p. 350, presidential
    approval in two surveys of 1600 people):

    >>> table = [[794, 150], [86, 570]]
    >>> r = mcnemar(table, exact=False)
    >>> round(r.statistic, 3), f"{r.pvalue:.3e}"
    (16.818, '4.115e-05')
    """
    n_missing = 0
    if y is None:
        counts = as_count_table(x)
        if counts.shape != (2, 2):
            raise StatisticsError(
                f"McNemar's test needs a 2x2 table of paired outcomes; got shape {counts.shape}."
            )
    else:
        first = _binary_vector(x, "x")
        second = _binary_vector(y, "y")
        if first.size != second.size:
            raise StatisticsError(
                f"x and y must be paired (same length); got {first.size} and {second.size} values."
            )
        keep = ~np.isnan(first) & ~np.isnan(second)
        n_missing = int((~keep).sum())
        a, b = first[keep].astype(bool), second[keep].astype(bool)
        if a.size == 0:
            raise StatisticsError("no complete pair to test (every pair has a missing value).")
        counts = np.array(
            [
                [int((a & b).sum()), int((a & ~b).sum())],
                [int((~a & b).sum()), int((~a & ~b).sum())],
            ],
            dtype=np.int64,
        )
    b_count, c_count = int(counts[0, 1]), int(counts[1, 0])
    if b_count + c_count == 0:
        raise StatisticsError(
            f"no discordant pairs (table {counts.tolist()}): both occasions agree for "
            "every subject, so McNemar's test is undefined. Report the agreement instead."
        )
    # R's mcnemar.test corrects only when the table is not symmetric (b != c); statsmodels
    # always subtracts 1, which gives (0 - 1)^2 / (b + c) > 0 for b == c.
    corrected = correction and b_count != c_count
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar  # lazy import

    res = sm_mcnemar(counts, exact=exact, correction=corrected)
    if exact:
        method = (
            "exact McNemar test (two-sided binomial test of the discordant pairs against "
            "probability 1/2)"
        )
    elif corrected:
        method = "McNemar's chi-squared test (1 df) with continuity correction"
    elif correction:
        method = ("McNemar's chi-squared test (1 df); equal discordant counts, so no "
                  "continuity correction applies (as in R's mcnemar.test)")
    else:
        method = "McNemar's chi-squared test (1 df) without continuity correction"
    return McNemarResult(
        statistic=float(res.statistic),
        pvalue=float(min(1.0, res.pvalue)),
        method=method,
        n=int(counts.sum()),
        b=b_count,
        c=c_count,
        exact=exact,
        correction=bool(corrected and not exact),
        n_missing=n_missing,
        table=_as_tuple(counts),
    )


def _binary_vector(values: Any, name: str) -> NDArray[np.float64]:
    """Return 0/1 (NaN for missing) or raise if any other value is present."""
    array = as_float_vector(values, name)
    present = array[~np.isnan(array)]
    bad = present[(present != 0) & (present != 1)]
    if bad.size:
        raise StatisticsError(
            f"{name} must hold binary outcomes (0/1 or False/True, missing allowed); found "
            f"{sorted(set(bad.tolist()))[:5]}. Recode the outcome to 0/1 first."
        )
    return array
