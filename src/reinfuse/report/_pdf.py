"""The PDF report (``report.pdf``): the HTML report paged for print by WeasyPrint.

The HTML is rendered as it is, with a print stylesheet added: page size and margins, page
numbers in the footer, tables and figures never cut (a table taller than a page breaks
between rows and repeats its header row), headings kept with what follows. Nothing is
fetched: the HTML embeds its figures as ``data:`` URIs and every other URL is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from weasyprint import CSS, HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from reinfuse.errors import ExternalResourceError, ReportFormatError

__all__ = ["PRINT_CSS", "ExternalResourceError", "OfflineFetcher", "PdfPageSize",
           "render_pdf", "write_pdf"]

PdfPageSize = Literal["letter", "a4"]
_PAGE = {"letter": "letter", "a4": "A4"}

#: Paged-media rules added to the report's own stylesheet (``{size}`` is the page size).
PRINT_CSS = """
@page {
  size: {size};
  margin: 2.2cm 2.2cm 2.4cm 2.2cm;
  @bottom-center {
    content: "Page " counter(page) " of " counter(pages);
    font-family: "Helvetica Neue", Arial, sans-serif; font-size: 8pt; color: #444;
  }
}
html { font-size: 9.5pt; }
body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; line-height: 1.3; }
h1 { font-size: 16pt; }
h2 { font-size: 12.5pt; margin-top: 1.2em; }
h3 { font-size: 10pt; margin: 1em 0 0.3em; }
h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
table.data { font-size: 9pt; line-height: 1.2; }
table.data th, table.data td { padding: 1.5pt 6pt; }
table.data td.indent1 { padding-left: 18pt; }
table.data td.indent2 { padding-left: 30pt; }
table.data td.indent3 { padding-left: 42pt; }
table.data, figure, .notes, .warning, table.stamp {
  break-inside: avoid; page-break-inside: avoid;
}
table.data thead { display: table-header-group; }
table.data tr { break-inside: avoid; page-break-inside: avoid; }
table.data + .notes { break-before: avoid; page-break-before: avoid; }
.notes { font-size: 8pt; margin-bottom: 1em; }
figure img { image-resolution: 300dpi; max-width: 100%; max-height: 19cm; }
figcaption { break-before: avoid; page-break-before: avoid; font-size: 8.5pt; }
code { font-size: 8pt; word-break: break-all; }
"""




class OfflineFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves ``data:`` URLs and refuses every other URL.

    Nothing is read from the network or the disk: a report whose HTML asks for anything
    but an embedded resource fails with :class:`ExternalResourceError` instead of being
    rendered with a hole (``fail_on_errors``).
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False,
                         fail_on_errors=True)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """Serve a ``data:`` URL; raise :class:`ExternalResourceError` for any other."""
        if not url.lower().startswith("data:"):
            shown = url if len(url) <= 120 else url[:117] + "..."
            raise ExternalResourceError(
                f"the PDF report refused to fetch {shown!r}: only resources embedded in the "
                "HTML (data: URLs) are allowed, so nothing is read from the network or disk. "
                "Embed the resource in the report instead.")
        return super().fetch(url, headers)


def _stylesheet(page_size: PdfPageSize) -> Any:
    if page_size not in _PAGE:
        raise ReportFormatError(f"unknown page size {page_size!r}; allowed: "
                                f"{', '.join(_PAGE)}")
    return CSS(string=PRINT_CSS.replace("{size}", _PAGE[page_size]),
               url_fetcher=OfflineFetcher())


def render_pdf(html: str, *, page_size: PdfPageSize = "letter") -> Any:
    """Lay out ``html`` for print; returns the WeasyPrint ``Document`` (pages, boxes).

    Tables and figures are kept whole (``break-inside: avoid``). A table taller than a
    page cannot be: WeasyPrint would then push it to a new page, away from its title, and
    break it there. Such tables are found in a first layout and laid out again allowed to
    break right below their title, their header row repeated on each page.

    Raises
    ------
    ExternalResourceError
        If the HTML refers to anything but ``data:`` URLs.
    """
    try:
        source = HTML(string=html, base_url=None, url_fetcher=OfflineFetcher())
        stylesheets = [_stylesheet(page_size)]
        document = source.render(stylesheets=stylesheets)
        tall = _split_elements(document, "table")
        if tall:
            for element in tall:
                style = element.get("style", "")
                element.set("style", f"{style}; break-inside: auto; page-break-inside: auto")
            document = source.render(stylesheets=stylesheets)
        return document
    except FatalURLFetchingError as exc:  # raised by WeasyPrint from our refusal
        cause = exc.__cause__
        if isinstance(cause, ExternalResourceError):
            raise cause from None
        raise ExternalResourceError(f"the PDF report could not read an embedded resource: "
                                    f"{exc}") from cause


def _split_elements(document: Any, tag: str) -> list[Any]:
    """The ``tag`` elements whose boxes are laid out on more than one page."""
    pages: dict[int, set[int]] = {}
    elements: dict[int, Any] = {}
    for number, page in enumerate(document.pages):
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            if box.element_tag == tag and box.element is not None:
                pages.setdefault(id(box.element), set()).add(number)
                elements[id(box.element)] = box.element
            stack.extend(getattr(box, "children", ()))
    return [elements[key] for key, on in pages.items() if len(on) > 1]


@contextmanager
def _source_date_epoch(epoch: int | None) -> Iterator[None]:
    """Set ``SOURCE_DATE_EPOCH`` for the block unless it is set (or ``epoch`` is ``None``).

    fontTools stamps each embedded font subset with its ``head.modified`` time, the clock's
    unless ``SOURCE_DATE_EPOCH`` is set: with the report's time the PDF is reproducible.
    The variable is process-wide: a program rendering PDFs in several threads at once
    should set ``SOURCE_DATE_EPOCH`` itself.
    """
    if epoch is None or os.environ.get("SOURCE_DATE_EPOCH"):
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


def write_pdf(html: str, path: Path, *, page_size: PdfPageSize = "letter",
              epoch: int | None = None) -> Path:
    """Render the report's ``html`` to a PDF at ``path`` (Letter by default, or A4).

    Parameters
    ----------
    html
        The self-contained HTML report (figures as ``data:`` URIs).
    path
        Destination ``.pdf``.
    page_size
        ``"letter"`` or ``"a4"``.
    epoch
        The report's time (seconds since 1970-01-01 UTC), given to the font subsetter so
        the same HTML gives the same PDF bytes; ``SOURCE_DATE_EPOCH``, if set, wins.
        ``None``: the fonts carry the clock's time.

    Returns
    -------
    Path
        ``path``.
    """
    with _source_date_epoch(epoch):
        render_pdf(html, page_size=page_size).write_pdf(str(path))
    return Path(path)
