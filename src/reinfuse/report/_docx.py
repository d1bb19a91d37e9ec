"""The Word report (``report.docx``): the HTML report's content as an editable document.

Tables are real Word tables in a three-line academic style (rules above and below the
table and under the header row, no vertical lines), numbers right-aligned, nested rows
indented, each titled above and footnoted below (abbreviations, the test behind each
p-value). Figures are the report's PNGs with their captions. A methods section and a
results template (:mod:`reinfuse.report._text`) and the reproducibility stamp close it.
The document is built from the same items as the HTML (``_build._sections``), so both
print the same text.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Inches, Length, Pt, RGBColor

from reinfuse.analyze import Results
from reinfuse.errors import ReportFormatError
from reinfuse.report._text import results_paragraphs

__all__ = ["PAGE_SIZES", "DocxPageSize", "reproducible_zip", "write_docx"]

DocxPageSize = Literal["letter", "a4"]
PAGE_SIZES: dict[str, tuple[Length, Length]] = {
    "letter": (Inches(8.5), Inches(11)), "a4": (Cm(21), Cm(29.7))}
MARGIN = Cm(2.5)
FONT = "Calibri"
BODY_PT, TABLE_PT, NOTE_PT = 10, 9, 8
INDENT = Cm(0.4)  # per nesting level of a table row label
BLACK, GREY = RGBColor(0, 0, 0), RGBColor(0x44, 0x44, 0x44)
_NUMBERED = re.compile(r"^(Table|Figure)\s+(\d+)\.\s*")


def write_docx(path: Path, *, results: Results, title: str, subtitle: str,
               population_sentence: str, n_warnings: int, sections: Sequence[Mapping[str, Any]],
               methods: Sequence[str], abbreviations: str, stamp: Mapping[str, Any],
               page_size: DocxPageSize = "letter") -> Path:
    """Write the Word report to ``path``.

    Parameters
    ----------
    path
        Destination ``.docx`` (inside the report's temporary folder).
    results
        The analysis, for the results template.
    title, subtitle, population_sentence, sections, methods, abbreviations, stamp
        The items the HTML report is rendered from (``reinfuse.report.render``): sections hold
        ``table``, ``comparison`` and ``figure`` items with their printed text.
    n_warnings
        Number of data warnings; they are not listed (they may quote dates or
        identifiers), the document points to ``results.json``.
    page_size
        ``"letter"`` (default) or ``"a4"``; margins are 2.5 cm either way.

    Returns
    -------
    Path
        ``path``.
    """
    document = Document()
    _page_setup(document, page_size)
    _styles(document)
    _core_properties(document, title, stamp)
    usable = _usable_width(document)

    document.add_paragraph(title, style="Title")
    _paragraph(document, subtitle, size=BODY_PT, color=GREY)
    document.add_heading("Cohort", level=1)
    document.add_paragraph(population_sentence)
    if n_warnings:
        document.add_paragraph(
            f"{n_warnings} data warning(s) were found when the cohort was validated. They do "
            "not stop the analysis but may affect it; they are listed in results.json.")

    table_titles: dict[str, str] = {}
    for section in sections:
        document.add_heading(str(section["name"]), level=1)
        for item in section["items"]:
            if item["kind"] in ("table", "comparison"):
                label = str(item["title"])  # numbered once, for every output
                table_titles[str(item["id"])] = label
                _title(document, label)
                if item["kind"] == "table":
                    _data_table(document, item, usable)
                else:
                    _comparison_table(document, item, usable)
            elif item["kind"] == "figure":
                label = str(item["title"])
                _figure(document, item, label, usable)
            elif item["kind"] == "omitted":  # no data: one line says so
                _paragraph(document, str(item["text"]), italic=True, color=GREY)

    document.add_heading("Methods", level=1)
    for text in methods:
        document.add_paragraph(text)

    document.add_heading("Results (template)", level=1)
    _paragraph(document, "Generated from results.json: every number is quoted from the tables "
               "and comparisons above. Edit the wording and keep what the manuscript needs.",
               size=NOTE_PT, italic=True)
    for paragraph in results_paragraphs(results, population_sentence, table_titles,
                                        shown=set(table_titles)):
        block = document.add_paragraph()
        block.add_run(f"{paragraph.heading}. ").bold = True
        block.add_run(paragraph.text)

    document.add_heading("Abbreviations", level=1)
    _paragraph(document, abbreviations, size=NOTE_PT + 1)

    document.add_heading("Reproducibility", level=1)
    _stamp(document, stamp)
    buffer = io.BytesIO()
    document.save(buffer)
    Path(path).write_bytes(reproducible_zip(buffer.getvalue(), _stamp_time(stamp)))
    return path


def reproducible_zip(data: bytes, when: dt.datetime) -> bytes:
    """The zip archive ``data`` rewritten byte-reproducibly.

    python-docx stamps every member with the clock time of saving; here every member gets
    ``when`` (the report's time, in UTC), fixed permissions and the same compression, in
    the archive's own (stable) order, so the same document gives the same bytes.
    """
    when = when.astimezone(dt.UTC) if when.tzinfo else when
    date_time = (max(when.year, 1980), when.month, when.day, when.hour, when.minute,
                 when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member.filename), compresslevel=6)
    return out.getvalue()


# --- document setup --------------------------------------------------------------------------

def _page_setup(document: Any, page_size: DocxPageSize) -> None:
    if page_size not in PAGE_SIZES:
        raise ReportFormatError(f"unknown page size {page_size!r}; allowed: "
                                f"{', '.join(PAGE_SIZES)}")
    width, height = PAGE_SIZES[page_size]
    for section in document.sections:
        section.page_width, section.page_height = width, height
        section.left_margin = section.right_margin = MARGIN
        section.top_margin = section.bottom_margin = MARGIN
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("Page ").font.size = Pt(NOTE_PT)
        _field(footer, "PAGE")
        footer.add_run(" of ").font.size = Pt(NOTE_PT)
        _field(footer, "NUMPAGES")


def _field(paragraph: Any, instruction: str) -> None:
    """A simple field (page number) that Word and LibreOffice update when they lay out."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), str(NOTE_PT * 2))
    properties.append(size)
    run.append(properties)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _font(style: Any, size: float, bold: bool | None = None,
          color: RGBColor | None = BLACK) -> None:
    """Set a style's font to FONT, dropping theme fonts and colours that would override it."""
    style.font.name = FONT
    style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    fonts = style.element.rPr.find(qn("w:rFonts"))
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    if color is not None:
        style.font.color.rgb = color
        element = style.element.rPr.find(qn("w:color"))
        for attribute in ("w:themeColor", "w:themeShade", "w:themeTint"):
            element.attrib.pop(qn(attribute), None)


def _styles(document: Any) -> None:
    normal = document.styles["Normal"]
    _font(normal, BODY_PT)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.1
    title = document.styles["Title"]
    _font(title, 16, bold=True)
    borders = title.element.pPr.find(qn("w:pBdr"))
    if borders is not None:
        title.element.pPr.remove(borders)
    title.paragraph_format.space_after = Pt(4)
    for level, size in ((1, 13), (2, 11), (3, 10)):
        heading = document.styles[f"Heading {level}"]
        _font(heading, size, bold=True)
        heading.paragraph_format.space_before = Pt(14 if level == 1 else 10)
        heading.paragraph_format.space_after = Pt(4)
        heading.paragraph_format.keep_with_next = True


def _core_properties(document: Any, title: str, stamp: Mapping[str, Any]) -> None:
    """Title, and no author or template dates: the only date is the stamp's."""
    properties = document.core_properties
    properties.title = title
    properties.author = "reinfuse"
    properties.last_modified_by = ""
    properties.comments = (f"Made by reinfuse {stamp.get('reinfuse_version', '')} from plan "
                           f"{stamp.get('plan_id', '')} v{stamp.get('plan_version', '')}")
    properties.keywords = ""
    properties.revision = 1
    made = _stamp_time(stamp)
    properties.created = properties.modified = made


def _stamp_time(stamp: Mapping[str, Any]) -> dt.datetime:
    text = str(stamp.get("generated_at", "")).replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _usable_width(document: Any) -> int:
    section = document.sections[0]
    return int(section.page_width - section.left_margin - section.right_margin)


# --- paragraphs ------------------------------------------------------------------------------

def _paragraph(container: Any, text: str, *, size: float = BODY_PT, bold: bool = False,
               italic: bool = False, color: RGBColor | None = None,
               align: Any = None) -> Any:
    paragraph = container.add_paragraph()
    if text:
        run = paragraph.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold or None
        run.italic = italic or None
        if color is not None:
            run.font.color.rgb = color
    if align is not None:
        paragraph.alignment = align
    return paragraph


def _title(document: Any, label: str) -> None:
    """``Table N.`` in bold, then the title; kept on the page of the table."""
    match = _NUMBERED.match(label)
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_before = Pt(10)
    paragraph.paragraph_format.space_after = Pt(3)
    head, rest = (match[0].strip(), label[match.end():]) if match else ("", label)
    if head:
        paragraph.add_run(head + " ").bold = True
    paragraph.add_run(rest)


def _notes(document: Any, notes: Sequence[str], method: str = "") -> None:
    first = True
    for note in ([method] if method else []) + list(notes):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(3 if first else 0)
        paragraph.paragraph_format.space_after = Pt(0)
        if first and method:
            marker = paragraph.add_run("a ")
            marker.font.superscript = True
            marker.font.size = Pt(NOTE_PT)
        run = paragraph.add_run(note)
        run.font.size = Pt(NOTE_PT)
        first = False
    # a little air after the footnotes
    spacer = document.add_paragraph()
    spacer.paragraph_format.space_after = Pt(2)


# --- tables ----------------------------------------------------------------------------------

# Elements that follow the borders in w:tblPr / w:tcPr (the schema fixes the order).
_AFTER_BORDERS = {
    "w:tblBorders": ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                     "w:tblDescription"),
    "w:tcBorders": ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText",
                    "w:vAlign", "w:hideMark"),
}

_EDGES = ("top", "left", "bottom", "right", "insideH", "insideV")


def _border(parent: Any, tag: str, edges: Mapping[str, int]) -> None:
    """Set ``w:tblBorders`` / ``w:tcBorders`` edges: size in eighths of a point, 0 = none."""
    element = parent.find(qn(tag))
    if element is None:
        element = OxmlElement(tag)
        later = [child for child in parent if child.tag in {qn(t) for t in _AFTER_BORDERS[tag]}]
        if later:
            later[0].addprevious(element)
        else:
            parent.append(element)
    for edge in sorted(edges, key=_EDGES.index):
        size = edges[edge]
        line = element.find(qn(f"w:{edge}"))
        if line is None:
            line = OxmlElement(f"w:{edge}")
            element.append(line)
        line.set(qn("w:val"), "single" if size else "nil")
        if size:
            line.set(qn("w:sz"), str(size))
            line.set(qn("w:space"), "0")
            line.set(qn("w:color"), "000000")


def _flag(row: Any, tag: str) -> None:
    """Add an on/off row property (``w:tblHeader``: repeat on each page; ``w:cantSplit``)."""
    properties = row._tr.get_or_add_trPr()
    if properties.find(qn(tag)) is None:
        properties.append(OxmlElement(tag))


def _new_table(document: Any, n_rows: int, widths: Sequence[int]) -> Any:
    table = document.add_table(rows=n_rows, cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    properties = table._tbl.tblPr
    # Three-line table: heavy rules above and below, none inside, no vertical lines.
    _border(properties, "w:tblBorders", {"top": 12, "bottom": 12, "left": 0, "right": 0,
                                         "insideH": 0, "insideV": 0})
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Emu(width)
    for index, row in enumerate(table.rows):
        _flag(row, "w:cantSplit")
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Emu(width)
            if index == 0:
                _border(cell._tc.get_or_add_tcPr(), "w:tcBorders", {"bottom": 6})
    _flag(table.rows[0], "w:tblHeader")
    return table


def _fill(cell: Any, text: str, *, align: Any = WD_ALIGN_PARAGRAPH.LEFT, bold: bool = False,
          indent: int = 0, keep_with_next: bool = True) -> Any:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(1), Pt(1)
    fmt.line_spacing = 1.0
    fmt.keep_with_next = keep_with_next  # keeps a table that fits on one page together
    if indent:
        fmt.left_indent = INDENT * indent
    run = paragraph.add_run(text)
    run.font.size = Pt(TABLE_PT)
    run.bold = bold or None
    return paragraph


def _widths(usable: int, n_values: int, value_width: float) -> list[int]:
    value = int(min(Cm(value_width), usable * 0.6 / max(n_values, 1)))
    return [usable - n_values * value] + [value] * n_values


def _data_table(document: Any, item: Mapping[str, Any], usable: int) -> None:
    columns = [str(c) for c in item["columns"]]
    rows = list(item["rows"])
    table = _new_table(document, len(rows) + 1, _widths(usable, len(columns), 3.6))
    header = table.rows[0].cells
    _fill(header[0], str(item.get("row_header") or "Characteristic"), bold=True)
    for cell, text in zip(header[1:], columns, strict=True):
        _fill(cell, text, align=WD_ALIGN_PARAGRAPH.RIGHT, bold=True)
    for index, row in enumerate(rows, start=1):
        last = index == len(rows)
        cells = table.rows[index].cells
        _fill(cells[0], str(row["label"]), bold=bool(row["header"]), indent=int(row["indent"]),
              keep_with_next=not last)
        for cell, text in zip(cells[1:], row["cells"], strict=True):
            _fill(cell, str(text), align=WD_ALIGN_PARAGRAPH.RIGHT, keep_with_next=not last)
    _notes(document, [str(n) for n in item["notes"]])


def _comparison_table(document: Any, item: Mapping[str, Any], usable: int) -> None:
    groups = list(item["groups"])
    value = [int(Cm(1.4)), int(Cm(5.2)), int(Cm(2.0))]
    widths = [min(int(Cm(7.0)), usable - sum(value)), *value]
    table = _new_table(document, len(groups) + 1, widths)
    for cell, text, align in zip(table.rows[0].cells,
                                 ("Group", "n", str(item["summary_header"]), "p"),
                                 (WD_ALIGN_PARAGRAPH.LEFT, *[WD_ALIGN_PARAGRAPH.RIGHT] * 3),
                                 strict=True):
        _fill(cell, text, align=align, bold=True)
    for index, group in enumerate(groups, start=1):
        last = index == len(groups)
        cells = table.rows[index].cells
        _fill(cells[0], str(group.label), keep_with_next=not last)
        _fill(cells[1], str(group.n), align=WD_ALIGN_PARAGRAPH.RIGHT, keep_with_next=not last)
        _fill(cells[2], str(group.text), align=WD_ALIGN_PARAGRAPH.RIGHT,
              keep_with_next=not last)
    # One p-value for the comparison: a cell merged down the group rows, as in the HTML.
    p_cell = table.cell(1, 3)
    if len(groups) > 1:
        p_cell = p_cell.merge(table.cell(len(groups), 3))
    paragraph = _fill(p_cell, str(item["p_text"]), align=WD_ALIGN_PARAGRAPH.RIGHT,
                      keep_with_next=False)
    if item["p_text"] and item["method"]:
        marker = paragraph.add_run("a")
        marker.font.superscript = True
        marker.font.size = Pt(TABLE_PT)
    _notes(document, [str(n) for n in item["notes"]],
           method=str(item["method_sentence"]) if item["method"] else "")


# --- figures and stamp -----------------------------------------------------------------------

def _figure(document: Any, item: Mapping[str, Any], label: str, usable: int) -> None:
    png = base64.b64decode(str(item["png"]))
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_before = Pt(8)
    run = paragraph.add_run()
    picture = run.add_picture(io.BytesIO(png))
    if picture.width > usable:  # native size (300 dpi) unless wider than the text block
        picture.height = int(picture.height * usable / picture.width)
        picture.width = usable
    caption = document.add_paragraph()
    caption.paragraph_format.space_after = Pt(10)
    match = _NUMBERED.match(label)
    head, rest = (match[0].strip(), label[match.end():]) if match else ("", label)
    for text, bold in ((f"{head} " if head else "", True), (f"{rest}. ", True),
                       (str(item["caption"]), False)):
        if text:
            part = caption.add_run(text)
            part.bold = bold or None
            part.font.size = Pt(TABLE_PT)


def _stamp(document: Any, stamp: Mapping[str, Any]) -> None:
    lines = [f"Made {stamp['generated_at']} by reinfuse {stamp['reinfuse_version']}."]
    lines += [f"Input {name}: SHA-256 {digest}." for name, digest in stamp["inputs"].items()]
    lines.append(f"Plan {stamp['plan_id']} version {stamp['plan_version']}, SHA-256 "
                 f"{stamp['plan_sha256']}.")
    lines.append("Software: " + ", ".join(f"{name} {version}" for name, version
                                          in stamp["packages"].items()) + ".")
    for line in lines:
        paragraph = _paragraph(document, line, size=NOTE_PT + 1)
        paragraph.paragraph_format.space_after = Pt(1)
