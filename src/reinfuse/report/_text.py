"""Prose generated from the analysis: the methods paragraphs and a results template.

The HTML and Word reports print the same methods text (:func:`methods_paragraphs`); the Word
report adds a results template (:func:`results_paragraphs`) whose every number is quoted
from the printed table cells and comparisons, so the prose cannot disagree with the tables.
Both are built generically from the plan's tables and comparisons, in the report's order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reinfuse.analyze import Cell, ComparisonResult, Results, TableResult, TableRow
from reinfuse.derive import DeriveOptions
from reinfuse.plan import Plan
from reinfuse.style import get_style

# Display names of the packages quoted in the methods (keys of the reproducibility stamp).
_COMPUTED_WITH = (("numpy", "NumPy"), ("pandas", "pandas"), ("scipy", "SciPy"),
                  ("statsmodels", "statsmodels"))


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of generated prose under a heading (a report section)."""

    heading: str
    text: str


def methods_paragraphs(plan: Plan, results: Results, options: DeriveOptions,
                       versions: Mapping[str, str]) -> list[str]:
    """The methods section: population, definitions, statistics and software.

    Parameters
    ----------
    plan, results, options
        The analysis plan, its results and the derivation options the numbers used.
    versions
        Package versions of the reproducibility stamp (``package_versions()``).

    Returns
    -------
    list of str
        Three paragraphs: population, definitions, statistical methods (each test with its
        exact method sentence, as printed under its table, and the software versions).
    """
    label1, label2 = plan.label(1), plan.label(2)
    if plan.population == "reinfused":
        n, total = results.n_patients, results.n_cohort_patients
        if total > n:  # the cohort holds the first-infusion population itself
            source = f"{n} of the {total} patients of the cohort"
        elif plan.source_population and plan.source_population >= n:
            source = (f"{n} of {plan.source_population} patients who received {label1} in "
                      "the source population, as stated in the analysis plan")
        else:
            source = f"{n} patients"
        population = (f"Population: patients who received at least two infusions of the same "
                      f"CAR T-cell product ({source}); {label1} is the first infusion and "
                      f"{label2} the reinfusion.")
    else:
        population = f"Population: all {results.n_patients} patients of the cohort."
    paragraphs = [
        population,
        "Definitions: bone marrow by morphology M1 (< 5% blasts), M2 (5%-25%), M3 (> 25%); "
        f"MRD-negative below {options.mrd_negative_below:g}% B-ALL blasts among mononuclear "
        "cells by flow cytometry, and MRD-negative CR an M1 marrow with negative MRD; CNS1 "
        "no blasts on cytospin (CNS1 flow+ when disease is detectable by flow cytometry), "
        f"CNS2 blasts with CSF white cells < {options.cns_wbc_threshold:g}/µL, CNS3 blasts "
        f"with white cells ≥ {options.cns_wbc_threshold:g}/µL or clinical signs of CNS "
        "leukemia; objective response CR, CRi or PR; morphologic CR: "
        f"{'CR or CRi' if options.cri_counts_as_cr else 'CR only'}; standard "
        f"lymphodepletion fludarabine {options.ld_standard_totals[0]:g} mg/m² and "
        f"cyclophosphamide {options.ld_standard_totals[1]:g} mg/m² (course totals), "
        f"intensified {options.ld_intensified_totals[0]:g} mg/m² and "
        f"{options.ld_intensified_totals[1]:g} mg/m²; CRS graded by the ASTCT consensus "
        "(Lee et al. 2019); severe toxicity grade ≥ 3 (neurotoxicity grade ≥ "
        f"{options.severe_neurotox_min_grade_ctcae} by CTCAE, ≥ "
        f"{options.severe_neurotox_min_grade_icans} by ICANS); duration of remission from "
        "the first "
        "documented CR to relapse, censored at last follow-up or death.",
    ]
    tests: dict[str, list[str]] = {}
    for comparison in results.comparisons:
        if comparison.method:
            tests.setdefault(comparison.method, []).append(comparison.title)
    summary = get_style(str(results.options.get("style", plan.style))).summary_words
    stats = [f"Continuous variables are summarised as {summary} and categorical "
             "variables as n (%), with all patients in the column as the denominator unless "
             "a row states otherwise."]
    for method, titles in tests.items():
        stats.append(f"{'; '.join(titles)}: {method}.")
    computed = ", ".join(f"{name} {versions[key]}" for key, name in _COMPUTED_WITH
                         if key in versions)
    figures = (f"; figures drawn with Matplotlib {versions['matplotlib']}"
               if "matplotlib" in versions else "")
    stats.append(f"All tests are two-sided with significance at p < {plan.alpha:g}. "
                 f"Computed with reinfuse {versions['reinfuse']} (Python "
                 f"{versions['python']}, {computed}){figures}.")
    paragraphs.append(" ".join(stats))
    return paragraphs


# --- the results template --------------------------------------------------------------------

_COUNT_TEXT = re.compile(r"^(?P<k>\d+) \((?P<pct>[^()]+)\)(?P<rest>.*)$")
_COLUMN_N = re.compile(r"\s*\(n\s*=\s*\d+\).*$")


def count_phrase(cell: Cell) -> str:
    """``"7 of 18 (38.9%)"`` from a count cell printed ``"7 (38.9)"``; other cells as printed.

    The percentage is taken from the printed text, so the prose rounds exactly as the
    table does; what the cell prints after it (a confidence interval) follows.

    Examples
    --------
    >>> count_phrase(Cell("t", "r", "c", "7 (38.9)", "count", numerator=7, denominator=18))
    '7 of 18 (38.9%)'
    >>> count_phrase(Cell("t", "r", "c", "7 (38.9) [95% CI 17.3–64.3]", "count",
    ...                   numerator=7, denominator=18))
    '7 of 18 (38.9%) [95% CI 17.3–64.3]'
    >>> count_phrase(Cell("t", "r", "c", "18.5 (7–30)", "median_range"))
    '18.5 (7–30)'
    """
    match = _COUNT_TEXT.match(cell.text)
    if cell.numerator is None or not cell.denominator or match is None:
        return cell.text
    pct = match["pct"] if match["pct"].endswith("%") else match["pct"] + "%"
    return f"{cell.numerator} of {cell.denominator} ({pct}){match['rest']}"


def _column_name(label: str) -> str:
    """A column label without its ``(n=...)`` and what follows: ``"CART1 (n=18), n (%)"``."""
    return _COLUMN_N.sub("", label).strip() or label


def _values(cells: Sequence[Cell | None], names: Sequence[str]) -> str:
    present = [(name, cell) for name, cell in zip(names, cells, strict=True) if cell is not None]
    if len(names) == 1:
        return ", ".join(count_phrase(cell) for _, cell in present)
    return ", ".join(f"{name} {count_phrase(cell)}" for name, cell in present)


def _is_zero(cell: Cell | None) -> bool:
    """A level (or unknown) count of zero: left out of a list, the table shows it."""
    return cell is not None and cell.numerator == 0 and cell.stat in ("level", "missing")


def _table_sentences(table: TableResult) -> list[str]:
    """One sentence per printed row; a heading whose rows are all leaves makes one list."""
    names = [_column_name(c) for c in table.columns]
    rows = table.rows
    sentences: list[str] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        if not row.header:
            if any(c is not None for c in row.cells):
                sentences.append(f"{row.label}: {_values(row.cells, names)}.")
            i += 1
            continue
        end = i + 1
        while end < len(rows) and rows[end].indent > row.indent:
            end += 1
        children = rows[i + 1:end]
        if any(child.header for child in children):
            i += 1  # a heading of headings: its sub-headings make the sentences
            continue
        if len(children) == 1:  # a single level reads as a row: "No expansion, n (%)"
            sentences.append(f"{row.label}: {_values(children[0].cells, names)}.")
        else:
            sentences += _level_lists(row.label, children, names)
        i = end
    return sentences


def _level_lists(label: str, rows: Sequence[TableRow], names: Sequence[str]) -> list[str]:
    """``"Sex, n (%): Male, 16 of 18 (88.9%); Female, 2 of 18 (11.1%)."``, one per column."""
    sentences = []
    for index, name in enumerate(names):
        cells = [(row.label, row.cells[index]) for row in rows]
        items = [f"{level}, {count_phrase(cell)}" for level, cell in cells
                 if cell is not None and not _is_zero(cell)]
        if not items:
            continue
        where = f" ({name})" if len(names) > 1 else ""
        sentences.append(f"{label}{where}: {'; '.join(items)}.")
    return sentences


def _in_sentence(label: str) -> str:
    """A label inside a sentence: ``"Intensified LD"`` -> ``"intensified LD"``; acronyms stay."""
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].islower():
        return label[0].lower() + label[1:]
    return label


def comparison_sentence(comparison: ComparisonResult) -> str:
    """The comparison in one sentence: group summaries, the p-value, the test and n.

    The form is ``"Peak CAR T-cell expansion, CART1 vs CART2, median (range) in CAR T
    cells/uL: CART1, 24.05 (0.35–13653); CART2, 1.69 (0–2886); p = 0.03 by two-sided
    Wilcoxon signed-rank test, ... (paired by patient, n = 18)."``
    """
    categorical = comparison.test in ("fisher", "mcnemar")
    parts = []
    for group in comparison.groups:
        text = group.text
        match = _COUNT_TEXT.match(text)
        if categorical and match is not None and group.n:
            pct = match["pct"] if match["pct"].endswith("%") else match["pct"] + "%"
            text = f"{match['k']} of {group.n} ({pct}){match['rest']}"
        parts.append(f"{_in_sentence(group.label)}, {text}")
    summary = "; ".join(parts)
    kind = comparison.summary
    unit = f" in {comparison.unit}" if comparison.unit and not categorical else ""
    sentence = f"{comparison.title}, {kind}{unit}: {summary}"
    if comparison.pvalue is None or not comparison.p_text:
        return sentence + " (no test result)."
    p = (f"p {comparison.p_text[0]} {comparison.p_text[1:]}" if comparison.p_text[0] in "<>"
         else f"p = {comparison.p_text}")
    design = "paired by patient" if comparison.paired else "independent groups"
    n = f", n = {comparison.n}" if comparison.n is not None else ""
    return f"{sentence}; {p} by {comparison.method} ({design}{n})."


def results_paragraphs(results: Results, lead: str = "",
                       titles: Mapping[str, str] | None = None) -> list[Paragraph]:
    """A results section to edit: one paragraph per report section, numbers quoted.

    Parameters
    ----------
    results
        The analysis; every table row becomes a sentence (a heading with only level rows
        becomes one list per column, leaving out its levels that count zero) and every
        comparison a sentence with its p-value, test and n.
    lead
        An opening paragraph (the population sentence), under the heading "Population".
    titles
        The title each table is printed with, by table id (e.g. numbered ``"Table 3. ..."``
        in the Word report); by default the plan's title.

    Returns
    -------
    list of Paragraph
        In the report's section order (tables, then comparisons, by first appearance).
    """
    order: list[str] = []
    sentences: dict[str, list[str]] = {}

    def add(section: str, texts: Sequence[str]) -> None:
        name = section or "Results"
        if name not in sentences:
            order.append(name)
            sentences[name] = []
        sentences[name].extend(texts)

    for table in results.tables:
        body = _table_sentences(table)
        title = (titles or {}).get(table.id, table.title).rstrip(".")
        add(table.section, [f"{title}.", *body] if body else [])
    for comparison in results.comparisons:
        add(comparison.section, [comparison_sentence(comparison)])
    paragraphs = [Paragraph("Population", lead)] if lead else []
    paragraphs += [Paragraph(name, " ".join(sentences[name])) for name in order
                   if sentences[name]]
    return paragraphs
