"""The trial-design report: a short HTML/Word/PDF document of one ``reinfuse design`` result.

The design is computed by :mod:`reinfuse.design` (a computing layer that knows nothing of
reports); this module prints it in a journal style (:mod:`reinfuse.style`): the inputs,
the design table(s), the operating characteristics, the method sentence with its
references, and the stamp (reinfuse version, the time, honouring ``SOURCE_DATE_EPOCH``,
and the software versions). The folder is written whole or not at all through
:mod:`reinfuse.io._atomic` (never over a user's file; one writer at a time), with
``design.json`` (every number, unrounded) beside the documents.

Examples
--------
>>> from reinfuse.design import simon_two_stage
>>> doc = design_document(simon_two_stage(0.2, 0.4, 0.1, 0.1, nmax=40))
>>> doc.tables[0].rows[0][:3]
('Minimax', '3/19', '10/36')
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reinfuse._version import __version__
from reinfuse.design import PredictiveMonitoring, SimonDesign, TwoStageInference
from reinfuse.io import atomic_path
from reinfuse.report._build import ReportFormat, package_versions, parse_formats, report_time
from reinfuse.style import Style, get_style

__all__ = ["DESIGN_REFERENCES", "DesignDocument", "DesignReportOutput", "DesignTable",
           "design_document", "render_design_html", "write_design_report"]

DesignResult = SimonDesign | TwoStageInference | PredictiveMonitoring

#: Full references, keyed by the short citation used in the method sentences.
DESIGN_REFERENCES: dict[str, str] = {
    "Simon 1989": "Simon R. Optimal two-stage designs for phase II clinical trials. "
                  "Control Clin Trials 1989;10:1-10.",
    "Jung et al. 2004": "Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for "
                        "phase II cancer clinical trials. Stat Med 2004;23:561-569.",
    "Jung & Kim 2004": "Jung SH, Kim KM. On the estimation of the binomial probability in "
                       "multistage clinical trials. Stat Med 2004;23:881-896.",
    "Koyama & Chen 2008": "Koyama T, Chen H. Proper inference from Simon's two-stage "
                          "designs. Stat Med 2008;27:3145-3154.",
    "Lee & Liu 2008": "Lee JJ, Liu DD. A predictive probability design for phase II cancer "
                      "clinical trials. Clin Trials 2008;5:93-106.",
}
_CITED: dict[type, tuple[str, ...]] = {
    SimonDesign: ("Simon 1989", "Jung et al. 2004"),
    TwoStageInference: ("Simon 1989", "Koyama & Chen 2008", "Jung & Kim 2004"),
    PredictiveMonitoring: ("Lee & Liu 2008",),
}
_TITLES: dict[type, str] = {
    SimonDesign: "Simon two-stage design",
    TwoStageInference: "Inference after a Simon two-stage trial",
    PredictiveMonitoring: "Bayesian predictive-probability monitoring",
}


@dataclass(frozen=True)
class DesignTable:
    """One table of the design report: a title, a header row, body rows and notes."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DesignDocument:
    """The content of a design report, printed in one style, shared by every format.

    Attributes
    ----------
    title : str
        The report's title.
    inputs : tuple of (str, str)
        The inputs as (name, printed value) pairs.
    tables : tuple of DesignTable
        The design table(s) and operating characteristics.
    method : str
        The result's method sentence.
    references : tuple of str
        Full references of the works cited in the method sentence.
    style : str
        Name of the number style used.
    """

    title: str
    inputs: tuple[tuple[str, str], ...]
    tables: tuple[DesignTable, ...]
    method: str
    references: tuple[str, ...]
    style: str


@dataclass(frozen=True)
class DesignReportOutput:
    """Where a design report was written (``None``: that format was not asked for)."""

    folder: Path
    design_json: Path
    html: Path | None = None
    docx: Path | None = None
    pdf: Path | None = None


def _simon_tables(d: SimonDesign, s: Style) -> tuple[DesignTable, ...]:
    rows = []
    for stage in (d.minimax, d.optimal, *d.admissible):
        if stage.kind == "admissible" and stage.n in (d.minimax.n, d.optimal.n):
            continue
        label = (stage.kind.capitalize() if stage.q_low is None else
                 f"Admissible (q {s.number(stage.q_low, 2)}-{s.number(stage.q_high, 2)})")
        rows.append((label, f"{stage.r1}/{stage.n1}", f"{stage.r}/{stage.n}",
                     s.number(stage.en0, 2), s.number(stage.pet0, 4),
                     s.number(stage.alpha, 4), s.number(stage.power, 4)))
    notes = ("r1/n1: stop for futility after n1 patients if at most r1 respond; r/n: the "
             "treatment is not promising if at most r of n respond. EN0: expected sample "
             "size and PET0: probability of early termination, both under p0; alpha: exact "
             "type I error at p0; power: exact power at p1.",
             "Admissible designs minimise q n + (1 - q) EN0 for the weights q shown.")
    return (DesignTable("Table 1. Two-stage designs and their exact operating "
                        "characteristics", ("Design", "r1/n1", "r/n", "EN0", "PET0", "alpha",
                                            "power"), tuple(rows), notes),)


def _inference_tables(r: TwoStageInference, s: Style) -> tuple[DesignTable, ...]:
    design = DesignTable("Table 1. The design", ("r1/n1", "r/n", "p0"),
                         ((f"{r.r1}/{r.n1}", f"{r.r}/{r.n_planned}", s.number(r.p0)),))
    level = s.number(100 * r.confidence_level) + "% CI"
    umvue = "Jung and Kim 2004" in r.method  # else the stage-2 size changed: naive estimate
    estimate_note = ("UMVUE: uniformly minimum-variance unbiased estimate of the response "
                     "rate (Jung & Kim 2004)" if umvue else
                     "Estimate: responses/treated, as the stage-2 size differed from the "
                     "plan (the UMVUE assumes the planned size)")
    result = DesignTable(
        "Table 2. Result of the trial",
        ("Stage stopped", "Responses/treated", "p", "UMVUE" if umvue else "Estimate", "MLE",
         level),
        ((str(r.stage), f"{r.statistic}/{r.n}", s.pvalue(r.pvalue), s.number(r.estimate, 4),
          s.number(r.mle, 4),
          f"{s.number(r.ci_low, 4)}{s.ci_separator}{s.number(r.ci_high, 4)}"),),
        ("p: one-sided p-value for H0: p <= p0 and CI (Koyama & Chen 2008); "
         + estimate_note + "; MLE: responses/treated, biased after a two-stage design.",))
    return design, result


def _bayes_tables(m: PredictiveMonitoring, s: Style) -> tuple[DesignTable, ...]:
    looks = tuple((str(n), "never" if b < 0 else str(b))
                  for n, b in zip(m.looks[:-1], m.stop_at_or_below[:-1], strict=True))
    boundary = DesignTable(
        "Table 1. Stopping boundaries", ("Patients", "Stop for futility if responses <="),
        looks, (f"At {m.n} patients the treatment is declared efficacious if responses > "
                f"{m.stop_at_or_below[-1]}.",))
    oc = DesignTable(
        "Table 2. Operating characteristics (exact enumeration)",
        ("True response rate", "P(efficacy)", "E[N]", "PET"),
        ((f"p0 = {s.number(m.p0)}", s.number(m.alpha, 4), s.number(m.en0, 2),
          s.number(m.pet0, 4)),
         (f"p1 = {s.number(m.p1)}", s.number(m.power, 4), s.number(m.en1, 2),
          s.number(m.pet1, 4))),
        ("P(efficacy): probability of declaring efficacy (type I error at p0, power at p1); "
         "E[N]: expected number of patients; PET: probability of stopping early.",))
    return boundary, oc


def _inputs(result: DesignResult, s: Style) -> tuple[tuple[str, str], ...]:
    if isinstance(result, SimonDesign):
        return (("Uninteresting response rate p0", s.number(result.p0)),
                ("Target response rate p1", s.number(result.p1)),
                ("Type I error (alpha)", s.number(result.alpha)),
                ("Type II error (beta)", s.number(result.beta)),
                ("Largest sample size searched", str(result.nmax)))
    if isinstance(result, TwoStageInference):
        return (("Design", f"r1/n1 = {result.r1}/{result.n1}, r/n = {result.r}/"
                           f"{result.n_planned}"),
                ("Null response rate p0", s.number(result.p0)),
                ("Stage-1 responses", str(result.x1)),
                ("Stage-2 responses", "not reached" if result.x2 is None
                 else str(result.x2)),
                ("Stage-2 patients", "as planned" if result.m2 is None else str(result.m2)),
                ("Confidence level", s.number(100 * result.confidence_level) + "%"))
    return (("Null response rate p0", s.number(result.p0)),
            ("Target response rate p1", s.number(result.p1)),
            ("Maximum number of patients", str(result.n)),
            ("Beta prior (a, b)", f"{s.number(result.a0)}, {s.number(result.b0)}"),
            ("Efficacy threshold theta_T", s.number(result.theta_t)),
            ("Futility threshold theta_L", s.number(result.theta_l)),
            ("Looks (patients)", ", ".join(str(n) for n in result.looks)))


def design_document(result: DesignResult, style: str = "seed") -> DesignDocument:
    """The printed content of the report of one design result.

    Parameters
    ----------
    result
        A :class:`~reinfuse.design.SimonDesign`, :class:`~reinfuse.design.TwoStageInference`
        or :class:`~reinfuse.design.PredictiveMonitoring`.
    style
        A journal style of :mod:`reinfuse.style` (decimal mark, p-values, CI separator).

    Returns
    -------
    DesignDocument
    """
    s = get_style(style)
    if isinstance(result, SimonDesign):
        tables = _simon_tables(result, s)
    elif isinstance(result, TwoStageInference):
        tables = _inference_tables(result, s)
    else:
        tables = _bayes_tables(result, s)
    cited = tuple(c for c in _CITED[type(result)]
                  if c != "Jung & Kim 2004" or "Jung and Kim 2004" in result.method)
    return DesignDocument(_TITLES[type(result)], _inputs(result, s), tables, result.method,
                          tuple(DESIGN_REFERENCES[c] for c in cited), s.name)


def _stamp_lines(stamp: Mapping[str, Any]) -> list[str]:
    return [f"Made {stamp['generated_at']} by reinfuse {stamp['reinfuse_version']}.",
            "Software: " + ", ".join(f"{k} {v}" for k, v in stamp["packages"].items()) + "."]


_CSS = """
body { font-family: "Helvetica Neue", Arial, sans-serif; font-size: 14px; color: #111;
       max-width: 960px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #999; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
table.data { border-collapse: collapse; margin: 0.4em 0; page-break-inside: avoid; }
table.data th, table.data td { padding: 3px 10px; text-align: left; vertical-align: top; }
table.data thead th { border-top: 2px solid #111; border-bottom: 1px solid #111; }
table.data tbody tr:last-child td { border-bottom: 2px solid #111; }
table.data td.num { text-align: right; white-space: nowrap; }
table.data thead th + th { text-align: right; }
.notes { font-size: 0.88em; color: #333; margin: 0.3em 0 1.2em; }
.notes p { margin: 0.15em 0; }
.stamp { font-size: 0.85em; color: #333; }
"""


def render_design_html(doc: DesignDocument, stamp: Mapping[str, Any]) -> str:
    """The self-contained HTML of a design report (everything escaped)."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{e(doc.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>{e(doc.title)}</h1>", "<h2>Inputs</h2>", '<table class="data">',
             "<thead><tr><th>Input</th><th>Value</th></tr></thead><tbody>"]
    parts += [f'<tr><td>{e(k)}</td><td class="num">{e(v)}</td></tr>' for k, v in doc.inputs]
    parts += ["</tbody></table>", "<h2>Design</h2>"]
    for table in doc.tables:
        parts += [f"<h3>{e(table.title)}</h3>", '<table class="data">', "<thead><tr>"
                  + "".join(f"<th>{e(h)}</th>" for h in table.header) + "</tr></thead><tbody>"]
        for row in table.rows:
            parts.append("<tr>" + f"<td>{e(row[0])}</td>"
                         + "".join(f'<td class="num">{e(c)}</td>' for c in row[1:]) + "</tr>")
        parts.append("</tbody></table>")
        parts.append('<div class="notes">' + "".join(f"<p>{e(n)}</p>" for n in table.notes)
                     + "</div>")
    parts += ["<h2>Methods</h2>", f"<p>{e(doc.method)}</p>", "<h2>References</h2>", "<ol>"]
    parts += [f"<li>{e(ref)}</li>" for ref in doc.references]
    parts += ["</ol>", "<h2>Reproducibility</h2>"]
    parts += [f'<p class="stamp">{e(line)}</p>' for line in _stamp_lines(stamp)]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _write_docx(doc: DesignDocument, stamp: Mapping[str, Any], when: dt.datetime,
                path: Path) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    from reinfuse.report._docx import reproducible_zip

    document = Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Calibri", Pt(10)
    props = document.core_properties
    props.title, props.author, props.last_modified_by = doc.title, "reinfuse", ""
    props.comments, props.keywords, props.revision = "", "", 1
    props.created = props.modified = when.replace(tzinfo=None)
    document.add_heading(doc.title, level=1)

    def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        grid = document.add_table(rows=1 + len(rows), cols=len(header))
        for i, row in enumerate([header, *rows]):
            for j, text in enumerate(row):
                cell = grid.cell(i, j)
                cell.text = text
                paragraph = cell.paragraphs[0]
                if j:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                for run in paragraph.runs:
                    run.font.size, run.bold = Pt(9), (i == 0) or None

    def note(text: str, size: float = 8) -> None:
        run = document.add_paragraph().add_run(text)
        run.font.size = Pt(size)

    document.add_heading("Inputs", level=2)
    table(("Input", "Value"), doc.inputs)
    document.add_heading("Design", level=2)
    for t in doc.tables:
        title = document.add_paragraph()
        title.add_run(t.title).bold = True
        table(t.header, t.rows)
        for n in t.notes:
            note(n)
    document.add_heading("Methods", level=2)
    document.add_paragraph(doc.method)
    document.add_heading("References", level=2)
    for k, ref in enumerate(doc.references, 1):
        document.add_paragraph(f"{k}. {ref}")
    document.add_heading("Reproducibility", level=2)
    for line in _stamp_lines(stamp):
        note(line, 9)
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(reproducible_zip(buffer.getvalue(), when))


def write_design_report(result: DesignResult, out: str | Path, *,
                        formats: str | Sequence[str] = ("html",), style: str = "seed",
                        inputs: Mapping[str, Any] | None = None, overwrite: bool = False,
                        now: dt.datetime | None = None) -> DesignReportOutput:
    """Write the report of a design result to the folder ``out``.

    Parameters
    ----------
    result
        The design result (from :mod:`reinfuse.design`).
    out
        Output folder; ``design.json`` and ``design.html`` / ``.docx`` / ``.pdf``.
    formats
        Documents to write: ``"html,docx,pdf"`` or a sequence of those names.
    style
        Journal style (``seed``, ``jama``, ``nejm``, ``lancet``).
    inputs
        The options as given (e.g. the command line's), recorded in ``design.json``.
    overwrite
        Replace ``out`` if it exists and was written by reinfuse (never a user's folder).
    now
        The report's time; default ``SOURCE_DATE_EPOCH``, else the clock.

    Returns
    -------
    DesignReportOutput

    Raises
    ------
    ReportFormatError, PlanError, UsageError
        Unknown format or style, or a malformed ``SOURCE_DATE_EPOCH`` (nothing written).
    OutputExistsError
        ``out`` exists without ``overwrite``, is not reinfuse's, or is being written.
    """
    chosen: tuple[ReportFormat, ...] = parse_formats(formats)
    doc = design_document(result, style)  # unknown style: refused before writing
    when = report_time(now)
    stamp = {"generated_at": when.isoformat().replace("+00:00", "Z"),
             "reinfuse_version": __version__, "packages": package_versions()}
    page = render_design_html(doc, stamp)
    data = {"kind": type(result).__name__, "inputs": dict(inputs or {}),
            "result": result.to_dict(), "method": result.method,
            "references": list(doc.references), "style": doc.style, "stamp": stamp}
    folder = Path(out)
    with atomic_path(folder, overwrite, kind="folder") as tmp:
        tmp.mkdir()
        (tmp / "design.json").write_text(json.dumps(data, indent=2, default=str) + "\n",
                                         encoding="utf-8")
        if "html" in chosen:
            (tmp / "design.html").write_text(page, encoding="utf-8")
        if "docx" in chosen:
            _write_docx(doc, stamp, when, tmp / "design.docx")
        if "pdf" in chosen:
            from reinfuse.report._pdf import write_pdf

            write_pdf(page, tmp / "design.pdf", epoch=int(when.timestamp()))
    return DesignReportOutput(
        folder, folder / "design.json",
        *(folder / f"design.{f}" if f in chosen else None for f in ("html", "docx", "pdf")))
