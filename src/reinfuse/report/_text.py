"""Prose generated from the analysis: the methods paragraphs and a results template.

The HTML and Word reports print the same methods text (:func:`methods_paragraphs`); the Word
report adds a results template (:func:`results_paragraphs`) whose every number is quoted
from the printed table cells and comparisons, so the prose cannot disagree with the tables.
Both are built generically from the plan's tables and comparisons, in the report's order.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from reinfuse.analyze import (
    Cell,
    ComparisonResult,
    Results,
    TableResult,
    TableRow,
)
from reinfuse.derive import DeriveOptions
from reinfuse.plan import Plan
from reinfuse.style import get_style
from reinfuse.variables import ENDPOINTS, topics_of

# Display names of the packages quoted in the methods (keys of the reproducibility stamp).
_COMPUTED_WITH = (("numpy", "NumPy"), ("pandas", "pandas"), ("scipy", "SciPy"),
                  ("statsmodels", "statsmodels"))


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of generated prose under a heading (a report section)."""

    heading: str
    text: str


def methods_paragraphs(plan: Plan, results: Results, options: DeriveOptions,
                       versions: Mapping[str, str],
                       shown: Collection[str] | None = None) -> list[str]:
    """The methods section: population, definitions, statistics and software.

    Parameters
    ----------
    plan, results, options
        The analysis plan, its results and the derivation options the numbers used.
    versions
        Package versions of the reproducibility stamp (``package_versions()``).
    shown
        Ids of the tables, comparisons and figures the report prints (None: all). Only the
        definitions their variables need are given.

    Returns
    -------
    list of str
        Population, definitions (left out when nothing printed needs one), statistical
        methods (each test with its exact method sentence, as printed under its table, and
        the software versions).
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
    definitions = definition_clauses(options, used_variables(plan, results, shown))
    paragraphs = [population]
    if definitions:
        paragraphs.append("Definitions: " + "; ".join(definitions) + ".")
    tests: dict[str, list[str]] = {}
    for comparison in results.comparisons:
        if comparison.method and (shown is None or comparison.id in shown):
            tests.setdefault(comparison.method, []).append(comparison.title)
    summary = get_style(str(results.options.get("style", plan.style))).summary_words
    unknown = ("the number of patients whose value was not recorded is given on a "
               "\"Not recorded, n\" line under the row" if plan.missing == "row" else
               "a count whose column holds unrecorded values prints its denominator "
               "(k/n) and a summary its number of values (n=)")
    stats = [f"Continuous variables are summarised as {summary} and categorical "
             "variables as n (%), the percentage of the patients whose value is known "
             "unless a row states that all patients of the column are the denominator. "
             f"A value not recorded is unknown, never counted as absent: {unknown}."]
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


# Variables figures of each kind draw (besides the names in their parameters).
_FIGURE_VARIABLES: dict[str, tuple[str, ...]] = {
    "response_by_infusion": ("best_response", "objective_response"),
    "swimmer": ("remission_days", "remission_event"),
    "swimmer_course": ("best_response", "remission_days"),
    "paired_expansion": ("peak_car_per_ul",),
    "kaplan_meier": ("remission_days", "remission_event"),
}


def used_variables(plan: Plan, results: Results, shown: Collection[str] | None = None
                   ) -> set[str]:
    """The analysis variables behind what the report prints.

    A table contributes the variables of its rows that have at least one known value
    (``TableResult.recorded``); a comparison its variable when a group has a known value;
    a figure its parameters and what its kind draws. ``shown`` limits them to the printed
    items (None: all).
    """
    names: set[str] = set()
    for table in results.tables:
        if shown is None or table.id in shown:
            names.update(table.recorded)
    for comparison in results.comparisons:
        if (shown is None or comparison.id in shown) and any(g.n for g in comparison.groups):
            names.add(comparison.variable)
    for figure in plan.figures:
        if shown is not None and figure.id not in shown:
            continue
        names.update(_FIGURE_VARIABLES.get(figure.kind, ()))
        names.update(str(v) for k, v in figure.params.items()
                     if k in ("variable", "time", "event") and isinstance(v, str))
    return names


def severe_neurotox_phrase(options: DeriveOptions) -> str:
    """``"grade ≥ 4 by CTCAE, ≥ 3 by ICANS"``: severe neurotoxicity by the grade's scale.

    The seed study counts CTCAE neurotoxicity as severe above grade 3; ICANS is usually
    severe from grade 3 (``DeriveOptions.severe_neurotox_min_grade_ctcae`` / ``_icans``).
    """
    return (f"grade ≥ {options.severe_neurotox_min_grade_ctcae} by CTCAE, "
            f"≥ {options.severe_neurotox_min_grade_icans} by ICANS")


def definition_clauses(options: DeriveOptions, variables: Collection[str]) -> list[str]:
    """The definitions the printed variables use, written from the derivation options.

    Each clause is given only when a variable needs it (e.g. no CRS grading without a CRS
    row: the topics each variable needs are declared in :mod:`reinfuse.variables`), and
    the endpoints' sentences are written by :meth:`reinfuse.variables.Endpoint.sentence`
    from the same declarations and options ``derive`` computes them with, so the text
    cannot say other than what was computed.
    """
    needed = topics_of(variables)  # each variable's topics, declared in reinfuse.variables

    threshold = f"{options.cns_wbc_threshold:g}"
    clauses = [
        ("marrow", "bone marrow by morphology M1 (< 5% blasts), M2 (5%-25%), M3 (> 25%)"),
        ("mrd", f"MRD-negative below {options.mrd_negative_below:g}% B-ALL blasts among "
                "mononuclear cells by flow cytometry, and MRD-negative CR an M1 marrow with "
                "negative MRD"),
        ("cns", "CNS1 no blasts on cytospin (CNS1 flow+ when disease is detectable by flow "
                f"cytometry), CNS2 blasts with CSF white cells < {threshold}/µL, CNS3 blasts "
                f"with white cells ≥ {threshold}/µL or clinical signs of CNS leukemia"),
        ("response", "objective response CR, CRi or PR; morphologic CR: "
                     f"{'CR or CRi' if options.cri_counts_as_cr else 'CR only'}"),
        ("ld", f"standard lymphodepletion fludarabine {options.ld_standard_totals[0]:g} mg/m² "
               f"and cyclophosphamide {options.ld_standard_totals[1]:g} mg/m² (course "
               f"totals), intensified {options.ld_intensified_totals[0]:g} mg/m² and "
               f"{options.ld_intensified_totals[1]:g} mg/m²"),
        ("crs", "CRS graded by the ASTCT consensus (Lee et al. 2019), severe at grade ≥ 3"),
        ("neurotox", f"neurotoxicity severe at {severe_neurotox_phrase(options)}"),
        *((name, ENDPOINTS[name].sentence(options)) for name in ("remission", "efs", "os")),
    ]
    return [text for topic, text in clauses if topic in needed]


# --- the results template --------------------------------------------------------------------

_COUNT_TEXT = re.compile(r"^(?P<k>\d+)(?:/\d+)? \((?P<pct>[^()]+)\)(?P<rest>.*)$")
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
    >>> count_phrase(Cell("t", "r", "c", "3/12 (25.0)", "count", numerator=3, denominator=12))
    '3 of 12 (25.0%)'
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
                       titles: Mapping[str, str] | None = None,
                       shown: Collection[str] | None = None) -> list[Paragraph]:
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
    shown
        Ids of the tables and comparisons the report prints (None: all); those left out
        for lack of data get no sentence.

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
        if shown is not None and table.id not in shown:
            continue
        body = _table_sentences(table)
        title = (titles or {}).get(table.id, table.title).rstrip(".")
        add(table.section, [f"{title}.", *body] if body else [])
    for comparison in results.comparisons:
        if shown is not None and comparison.id not in shown:
            continue
        add(comparison.section, [comparison_sentence(comparison)])
    paragraphs = [Paragraph("Population", lead)] if lead else []
    paragraphs += [Paragraph(name, " ".join(sentences[name])) for name in order
                   if sentences[name]]
    return paragraphs
