"""Journal styles: p-value rounding and thresholds, summaries, percent signs, decimal marks.

Expected strings follow each journal's instructions for authors as implemented by R's
gtsummary journal themes (JAMA, Lancet) and NEJM's statistical reporting guidelines (two
decimals, three below 0.01, "<0.001"): see docs/styles.md.
"""

from __future__ import annotations

import pytest

from reinfuse.errors import PlanError
from reinfuse.style import get_style

# p-value truth table: (style, p, printed)
P_TABLE = [
    ("seed", 0.0499, "0.05"), ("seed", 0.05, "0.05"), ("seed", 0.000049, "<0.001"),
    ("seed", 0.999, ">0.99"), ("seed", 0.0290004, "0.029"), ("seed", 0.15633, "0.16"),
    # Halves round up on the decimal value: 0.0285 -> 0.029 (binary rounding gives 0.028).
    ("seed", 0.0285, "0.029"), ("jama", 0.0125, "0.013"), ("lancet", 0.125, "0·13"),
    # The number of decimals is chosen on the rounded value (gtsummary's style_pvalue):
    ("jama", 0.0999, "0.10"), ("nejm", 0.00999, "0.01"), ("lancet", 0.0999, "0·10"),
    ("lancet", 0.00999, "0·010"),
    ("jama", 0.0499, "0.050"), ("jama", 0.05, "0.050"), ("jama", 0.000049, "<0.001"),
    ("jama", 0.999, ">0.99"), ("jama", 0.12, "0.12"), ("jama", 0.0012, "0.001"),
    ("nejm", 0.0499, "0.05"), ("nejm", 0.05, "0.05"), ("nejm", 0.000049, "<0.001"),
    ("nejm", 0.999, ">0.99"), ("nejm", 0.0049, "0.005"), ("nejm", 0.12, "0.12"),
    ("lancet", 0.0499, "0·050"), ("lancet", 0.05, "0·050"), ("lancet", 0.000049, "<0·0001"),
    ("lancet", 0.999, ">0·99"), ("lancet", 0.12, "0·12"), ("lancet", 0.0012, "0·0012"),
]


@pytest.mark.parametrize(("style", "p", "text"), P_TABLE)
def test_pvalue_truth_table(style: str, p: float, text: str) -> None:
    assert get_style(style).pvalue(p) == text


@pytest.mark.parametrize(("style", "count", "median", "ci"), [
    ("seed", "16 (88.9)", "18.5 (7–30)", "95% CI 17.3–64.3"),
    ("jama", "16 (88.9)", "18.5 (12-24)", "95% CI 17.3 to 64.3"),
    ("nejm", "16 (88.9)", "18.5 (12-24)", "95% CI 17.3 to 64.3"),
    ("lancet", "16 (89%)", "18·5 (12–24)", "95% CI 17–64"),
])
def test_numbers_by_style(style: str, count: str, median: str, ci: str) -> None:
    s = get_style(style)
    assert s.n_percent(16, 18) == count
    summary = (s.median_range(18.5, 7, 30) if s.continuous == "range"
               else s.median_iqr(18.5, 12, 24))
    assert summary == median
    # Clopper-Pearson 95% CI of 7/18 (0.173 to 0.643; tests/reference/stats_reference.md).
    assert s.ci(0.17300, 0.64256, percent=True) == ci


def test_summary_words() -> None:
    assert get_style("seed").summary_words == "median (range)"
    assert get_style("lancet").summary_words == "median (IQR)"


def test_unknown_style() -> None:
    with pytest.raises(PlanError, match="available: seed, jama, nejm, lancet"):
        get_style("bmj")


@pytest.mark.parametrize(("style", "k", "n", "text"), [
    # Halves round up, as readers expect: 1/16 = 6.25% -> 6.3, 1/8 = 12.5% -> 13% (Lancet,
    # no decimals), 1/40 = 2.5% -> 3%. Python's default rounding would print 6.2, 12, 2.
    ("seed", 1, 16, "1 (6.3)"), ("lancet", 1, 8, "1 (13%)"), ("lancet", 1, 40, "1 (3%)"),
    ("jama", 3, 16, "3 (18.8)"),
    # From k and n exactly: 23/80 = 28.75% (binary 100 * 23 / 80 = 28.749999...).
    ("seed", 23, 80, "23 (28.8)"), ("seed", 41, 80, "41 (51.3)"), ("lancet", 23, 40, "23 (58%)"),
    ("lancet", 29, 200, "29 (15%)"),
])
def test_percent_halves_round_up(style: str, k: int, n: int, text: str) -> None:
    assert get_style(style).n_percent(k, n) == text
