"""Screening for direct identifiers by content and by header, and their redacted form.

The checklist is HIPAA Safe Harbor's 18 identifiers (docs/validation.md). Cell values are
screened column by column with compiled regular expressions (``Series.str.contains``),
so that 100,000 patients take a fraction of a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import pandas as pd

#: What each content pattern finds, in the order they are tried (the first match names
#: the kind of identifier).
KINDS: dict[str, str] = {
    "email": "an e-mail address",
    "mrn": "a medical record or hospital number",
    "url": "a web address (URL)",
    "ip": "an IP address",
    "date": "a date (a date of birth?)",
    "phone": "a phone number",
    "address": "a street address",
    "number": "a long digit run (an MRN or other record number?)",
    "name": "a person's name",
}

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_MRN = (r"(?i:\b(?:mrn|medical\s*record|hospital\s*(?:no|number|num|#)|chart\s*(?:no|number|#)"
        r"|patient\s*(?:no|number|#)|nhs\s*(?:no|number)|ssn)\.?\s*[#:\-]?\s*\d+)")
# Safe Harbor items 14 and 15: web addresses and IPv4 addresses (tried before dates, which
# would otherwise take '192.168.1.10' apart).
_URL = r"(?i:\b(?:https?|ftp)://\S+|\bwww\.[\w-]+(?:\.[\w-]+)+\S*)"
_IP = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
_DATE = (r"\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}\b"
         r"|(?i:\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
         r"\s+\d{2,4}\b)"
         r"|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?"
         r"\s+\d{4}\b)")
_PHONE = (r"(?:\+\d{1,3}[\s.\-]?)?\(?\b\d{3}\)?[\s.\-]\d{3}[\s.\-]\d{4}\b"
          r"|\+\d{1,3}(?:[\s.\-]?\d{2,4}){3,5}\b")
_ADDRESS = (r"(?i:\b\d{1,5}\s+(?:[a-z]+\s+){1,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive"
            r"|dr|boulevard|blvd|court|ct|way|place|pl|strasse|straße|weg)\b\.?)"
            r"|(?i:\b(?:p\.?\s?o\.?\s+box)\s+\d+)")
# Digit runs of 7 or more not glued to letters (trial ids such as NCT02315612 pass).
_NUMBER = r"(?<![A-Za-z\d])\d{7,}(?![A-Za-z\d])"
# 'Okafor, Bob' or two/three capitalised words ('Bob Okafor', 'Anne-Marie de Vries').
_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_NAME = (rf"^\s*{_WORD},\s*{_WORD}(?:\s+{_WORD})?\s*$"
         rf"|\b{_WORD}\s+(?:(?:de|van|von|der|da|di|le|la)\s+)?{_WORD}\b")

# A cheap first pass: every pattern above needs one of these, so a value without any of
# them is no identifier. It must match whatever a pattern matches (tests check it against
# identifier_kind on every example): separators and signs; a digit run of 7 or more not
# glued to letters (as _NUMBER: record-like codes such as S0000001 skip the rest); dotted
# or dashed digit groups (dates, IPv4 addresses: '192.168.100.1' once slipped through);
# record-number words.
_PREFILTER = re.compile(r"[\s,@/:#+()]|(?<![A-Za-z\d])\d{7,}(?![A-Za-z\d])"
                        r"|\d[-.]\d{1,3}[-.]\d|\d{3}[-.]\d{3}[-.]\d{4}"
                        r"|(?i:mrn|ssn|hospital|nhs|chart|patient|www\.)")

#: Columns of at least this many distinct cells get the first pass from Arrow. Python's
#: pass costs about 1.3 us a cell, Arrow's about 0.1 us plus 2 ms to compile the pattern
#: and, once per process, 25 ms to read the digit class: from 20,000 cells Arrow is the
#: faster (100,000 ids: 0.13 s in Python, 0.011 s in Arrow).
ARROW_FIRST_PASS_MIN = 20_000


@cache
def _prefilter_re2() -> str:
    r""":data:`_PREFILTER` in RE2's syntax, for Arrow to run over a long column at C++ speed.

    RE2 has no lookarounds, so the neighbours of the digit run are matched instead (the
    same cells contain a match). Its classes are not Python's, so they are spelled out:
    ``\s`` as Python's whitespace, and ``\d`` as the code points this Python's ``\d``
    matches (read from the running interpreter, once: RE2's Unicode tables are newer,
    and an extra "digit" would glue a run to its neighbour and hide it); under ``(?i)``,
    Python's ``i`` also matches dotless and dotted I (``ı``, ``İ``), RE2's does not. A
    test runs both passes over every code point.
    """
    import numpy as np

    # Every code point but the surrogates, as one string (decoded at C speed).
    points = np.arange(0x110000, dtype="<u4")
    every = points[(points < 0xD800) | (points > 0xDFFF)].tobytes().decode("utf-32-le")
    runs = [(m.group()[0], m.group()[-1]) for m in re.finditer(r"\d+", every)]
    digits = "".join(f"\\x{{{ord(a):x}}}-\\x{{{ord(b):x}}}" for a, b in runs)
    d = f"[{digits}]"
    return (rf"[\s\x0b\x1c-\x1f\x85\pZ,@/:#+()]"
            rf"|(?:^|[^A-Za-z{digits}]){d}{{7,}}(?:$|[^A-Za-z{digits}])"
            rf"|{d}[-.]{d}{{1,3}}[-.]{d}|{d}{{3}}[-.]{d}{{3}}[-.]{d}{{4}}"
            r"|(?i:mrn|ssn|hosp[i\x{130}\x{131}]tal|nhs|chart|pat[i\x{130}\x{131}]ent|www\.)")


def first_pass(text: pd.Series) -> pd.Series:
    """Whether each cell of ``text`` (strings, no missing) may hold an identifier: the
    cells that the patterns of :func:`screen` need to look at."""
    if len(text) >= ARROW_FIRST_PASS_MIN:
        import pyarrow as pa
        import pyarrow.compute as pa_compute

        try:
            hits = pa_compute.match_substring_regex(
                pa.array(text.to_numpy(), type=pa.string()), _prefilter_re2())
        except (pa.ArrowException, UnicodeEncodeError):  # e.g. lone surrogates
            pass
        else:
            return pd.Series(hits.to_numpy(zero_copy_only=False), index=text.index)
    return text.str.contains(_PREFILTER, regex=True, na=False).astype(bool)


PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(_EMAIL),
    "mrn": re.compile(_MRN),
    "url": re.compile(_URL),
    "ip": re.compile(_IP),
    "date": re.compile(_DATE),
    "phone": re.compile(_PHONE),
    "address": re.compile(_ADDRESS),
    "number": re.compile(_NUMBER),
    "name": re.compile(_NAME),
}

#: Capitalised words that are not names: clinical, product and calendar words that make
#: two capitalised words in a row in ordinary notes ('Grade Three', 'Kymriah Infusion').
_NOT_NAMES_TEXT = """
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday grade day week month year
patient infusion reinfusion product car cart cell cells therapy trial study arm cohort
hospital centre center clinic university children medical cancer institute national
complete partial remission response relapse stable progressive disease not evaluable
cytokine release syndrome neurotoxicity immune effector associated bone marrow flow
positive negative dim lymphodepletion fludarabine cyclophosphamide tocilizumab dexamethasone
kymriah yescarta tecartus breyanzi abecma carvykti tisagenlecleucel axicabtagene
brexucabtagene lisocabtagene idecabtagene ciltacabtagene obecabtagene aucatzyl ciloleucel
maraleucel autoleucel vicleucel novartis kite gilead juno celgene bms janssen pharma
phase first second third dose level high low standard intensified other none unknown
the and or of in on at to for with without after before during see note notes
acute lymphoblastic leukemia leukaemia lymphoma myeloma ball all dlbcl nhl cns emd mrd
"""
NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())

_PLACEHOLDER = {"email": "[email]", "mrn": "[number]", "url": "[url]", "ip": "[number]",
                "date": "[date]", "phone": "[number]",
                "address": "[address]", "number": "[number]"}


def _is_name(text: str) -> bool:
    """Whether ``text`` holds a name match whose words are not all ordinary words."""
    for match in PATTERNS["name"].finditer(text):
        words = re.findall(r"[A-Za-z]+", match.group(0))
        if not all(w.lower() in NOT_NAMES for w in words):
            return True
    return False


def identifier_kind(text: str) -> str | None:
    """The kind of identifier ``text`` looks like (a key of :data:`KINDS`), or ``None``."""
    for kind, pattern in PATTERNS.items():
        if kind == "name":
            if _is_name(text):
                return kind
        elif pattern.search(text):
            return kind
    return None


def screen(values: pd.Series) -> pd.Series:
    """The kind of identifier in each cell of ``values`` (``None`` where none is seen).

    Vectorised: each pattern runs once over the column's text cells; only the cells a
    name pattern matched are looked at one by one (to set aside ordinary words).
    """
    out = pd.Series(None, index=values.index, dtype="object")
    present = values.notna()
    if not present.any():
        return out
    cells = values[present].astype(str)
    # Each distinct value is screened once (ids and codes repeat down a sheet).
    text = pd.Series(cells.unique())
    # One cheap pass first: every pattern needs one of these (a space, a separator, a long
    # digit run or a record-number word); plain codes such as P000123 skip the rest.
    open_ = first_pass(text)
    kinds = pd.Series(None, index=text.index, dtype="object")
    for kind, pattern in PATTERNS.items():
        candidates = text[open_]
        if candidates.empty:
            break
        hit = candidates.str.contains(pattern, regex=True, na=False)
        if kind == "name" and hit.any():
            hit = hit & candidates.map(_is_name)
        hits = hit[hit].index
        kinds.loc[hits] = kind
        open_.loc[hits] = False
    found = kinds.notna()
    if found.any():
        out.loc[cells.index] = cells.map(dict(zip(text[found], kinds[found], strict=True)))
    return out


def redact(text: str) -> str:
    """``text`` with identifiers replaced: ``[date]``, ``[number]``, ``[email]``,
    ``[address]``, and names kept to initials (``Alice Walker`` -> ``A**** W*****``)."""
    out = str(text)
    for kind in ("email", "mrn", "url", "ip", "date", "phone", "address", "number"):
        out = PATTERNS[kind].sub(_PLACEHOLDER[kind], out)

    def mask(match: re.Match[str]) -> str:
        return re.sub(r"[A-Za-z]+", lambda w: w.group(0)[0] + "*" * (len(w.group(0)) - 1),
                      match.group(0))

    if _is_name(out):
        out = PATTERNS["name"].sub(
            lambda m: mask(m) if not all(w.lower() in NOT_NAMES for w in re.findall(
                r"[A-Za-z]+", m.group(0))) else m.group(0), out)
    return out


#: Extra-column headers that suggest a direct identifier, in spellings the format's own
#: patterns (:data:`reinfuse.schema.cohort_v1.IDENTIFIER_PATTERNS`) do not catch; matched
#: against the header lower-cased with everything but letters and digits removed.
HEADER_WORDS = re.compile(
    r"^(?:dob|mrn|mrnno|mrnnumber|patient|patients|pt|ptname|chart|chartno|chartnumber"
    r"|hospitalno|hospitalnumber|hospitalnum|hospno|recordno|recordnumber|nhsno|ssn"
    r"|geburtsdatum|geburtstag|nachname|vorname|naissance|datedenaissance|nom|prenom"
    r"|surname|forename|fullname|initials|birth|born|age_at_dob|contact|telephone|mobile"
    r"|cell|email|emailaddress|address|homeaddress|zip|postcode|ssn|insurance|insuranceno"
    r"|enteredby|recordedby|physician|doctor|consultant|nurse)$"
    r"|^(?:entered|recorded|completed)by|^(?:hospital|chart|record|mrn|medicalrecord)(?:no|num)"
)

#: Extra-column headers for free text, which may hold anything (names, dates).
FREE_TEXT_HEADERS = re.compile(r"^(?:notes?|comments?|remarks?|freetext|text|details|memo"
                               r"|narrative|history|observations?)$")


def _squash(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def identifier_header(header: str) -> bool:
    """Whether an extra column's header looks like an identifier in another spelling
    (``D.O.B.``, ``MRN#``, ``Patient``, ``Hospital No``, ``Geburtsdatum``, ``Chart``, ``Pt``)
    or itself carries one (``entered by Bob Okafor on 14/07/2023``)."""
    return bool(HEADER_WORDS.search(_squash(header))) or identifier_kind(header) is not None


def free_text_header(header: str) -> bool:
    """Whether an extra column's header names free text (``notes``, ``comments``...)."""
    return bool(FREE_TEXT_HEADERS.match(_squash(header)))


def neutral_name(name: str) -> bool:
    """Whether a file or sheet name carries no identifier (``_`` and ``-`` read as spaces)."""
    stem = re.sub(r"\.(?:csv|xlsx|xlsm|xls)$", "", name, flags=re.IGNORECASE)
    return identifier_kind(re.sub(r"[_]+", " ", stem)) is None and identifier_kind(stem) is None


def scrub(text: str, secrets: Iterable[tuple[str, str]]) -> str:
    """``text`` with each secret (longest first) replaced by its redacted form."""
    for secret, shown in sorted(secrets, key=lambda s: -len(s[0])):
        if secret and secret in text:
            text = text.replace(secret, shown)
    return text
