"""Identifier screening by content and header (issue 13): found both ways, never quoted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reinfuse.cli import main
from reinfuse.io.read import read_raw
from reinfuse.validate import _identifiers as identifiers
from reinfuse.validate import validate
from reinfuse.validate._identifiers import (
    _PREFILTER,
    first_pass,
    identifier_header,
    identifier_kind,
    neutral_name,
    redact,
    screen,
)

IDENTIFYING = {
    "Okafor, Bob": "name",
    "Bob Okafor": "name",
    "seen by Alice Walker": "name",
    "MRN-99887766": "mrn",
    "hospital number 4411": "mrn",
    "14/07/1999": "date",
    "born 3 March 1999": "date",
    "bob.okafor@example.org": "email",
    "+44 20 7946 0958": "phone",
    "(555) 123-4567": "phone",
    "12 Baker Street": "address",
    "99887766": "number",
    # HIPAA Safe Harbor items 14 (URLs) and 15 (IP addresses), 45 CFR 164.514(b)(2)(i).
    "https://portal.example.org/patient?id=5": "url",
    "www.example.org/okafor": "url",
    "192.168.1.10": "ip",
    # The cheap first pass once let these through unscreened (three-digit middle groups).
    "192.168.100.1": "ip",
    "10.100.200.30": "ip",
    "1999.123.45": None,  # not an identifier either way: the first pass must agree
}

# The format's codes, drug, product and construct names and trial ids must pass.
ORDINARY = ["CD19/CD22", "CD19", "tisagenlecleucel", "Kymriah", "NCT02315612", "15-C-0029",
            "CD19-28z", "CD22-BBz", "FMC63-CD28z", "4-1BB", "P001", "UPN-12", "CHOP-001",
            "Grade 3 CRS", "Complete Remission", "standard", "relapse_prevention", "2018",
            "1e6", "Kite Pharma", "Phase 1", "v1.2.3", "0.5", "CD19/22"]


@pytest.mark.parametrize(("value", "kind"), IDENTIFYING.items())
def test_identifying_values_are_found(value: str, kind: str | None) -> None:
    assert identifier_kind(value) == kind
    found = screen(pd.Series([value])).iloc[0]
    assert (pd.isna(found) if kind is None else found == kind)


def test_the_first_pass_never_hides_what_a_pattern_finds() -> None:
    """screen() (cheap first pass, then the patterns) agrees with identifier_kind (the
    patterns alone) on every example, plus record-like codes that must pass quickly."""
    values = [*IDENTIFYING, *ORDINARY, "S0000001", "SYN1234567", "x12345678y", "12345678",
              "id 12345678", "P-1234567", "1234567-A"]
    expected = [identifier_kind(v) for v in values]
    got = [None if pd.isna(k) else k for k in screen(pd.Series(values))]
    assert got == expected


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_values_pass(value: str) -> None:
    assert identifier_kind(value) is None
    assert pd.isna(screen(pd.Series([value])).iloc[0])


def test_redacted_forms() -> None:
    assert redact("Alice Walker") == "A**** W*****"
    assert redact("Okafor, Bob") == "O*****, B**"
    assert redact("14/07/1999") == "[date]"
    assert redact("host 192.168.1.10") == "host [number]"
    assert redact("see https://example.org/x") == "see [url]"
    assert redact("MRN-99887766") == "[number]"
    assert redact("bob@example.org") == "[email]"
    assert redact("entered by Alice Walker on 14/07/2023") == \
        "entered by A**** W***** on [date]"
    assert redact("CD19/CD22") == "CD19/CD22"


@pytest.mark.parametrize("header", ["D.O.B.", "MRN#", "Patient", "Hospital No",
                                    "Geburtsdatum", "Chart", "Pt",
                                    "entered by Bob Okafor on 14/07/2023"])
def test_identifier_headers_in_other_spellings(header: str) -> None:
    assert identifier_header(header)


@pytest.mark.parametrize("header", ["site", "dose_level", "notes", "cohort_arm", "ptcy"])
def test_ordinary_headers_are_not_identifiers(header: str) -> None:
    assert not identifier_header(header)


def test_file_names() -> None:
    assert neutral_name("patients.csv") and neutral_name("seed_cohort.xlsx")
    assert not neutral_name("Okafor_Bob.csv")
    assert not neutral_name("cohort 14-07-1999.xlsx")


PLANTED = ["Okafor, Bob", "Alice Walker", "99887766", "14/07/1999", "Okafor", "Walker"]


def _planted_cohort(write_cohort_csv) -> Path:  # type: ignore[no-untyped-def]
    folder = write_cohort_csv(
        [("patients", 1, "patient_id", "Okafor, Bob"),
         ("infusions", 2, "patient_id", "Okafor, Bob"),
         ("infusions", 0, "trial", "MRN-99887766"),
         ("infusions", 1, "construct", "from Alice Walker 14/07/1999")],
        extra_columns={"patients": {"D.O.B.": ["", ""], "notes": ["", "called Alice Walker"],
                                    "entered by Alice Walker": ["x", "y"]}})
    pd.DataFrame({"a": ["1"]}).to_csv(folder / "Alice_Walker.csv", index=False)
    return folder


def _all_text(findings: list) -> str:  # type: ignore[type-arg]
    return json.dumps([f.to_dict() for f in findings])


@pytest.mark.parametrize("allow", [False, True])
def test_found_identifiers_are_findings_and_never_quoted(write_cohort_csv, allow: bool
                                                         ) -> None:  # type: ignore[no-untyped-def]
    report = validate(read_raw(_planted_cohort(write_cohort_csv)), allow_identifiers=allow)
    severity = "warning" if allow else "error"
    found = [f for f in report.findings if f.rule.startswith("identifier")]
    where = {(f.sheet, f.column) for f in found}
    assert ("infusions", "trial") in where
    assert ("infusions", "construct") in where
    assert ("patients", "patient_id") in where
    assert ("infusions", "patient_id") in where
    assert ("patients", "D.O.B.") in where
    assert ("patients", "notes") in where  # content of a free-text column
    assert any(f.rule == "identifier-sheet-name" for f in found)
    assert any(f.rule == "identifier-column" and f.column == "entered by A**** W*****"
               for f in found)
    assert all(f.severity == severity for f in found)
    assert report.ok is allow or (not allow and not report.ok)
    text = _all_text(list(report.findings))
    for secret in PLANTED:
        assert secret not in text
    # The typed cohort carries only redacted forms (nothing downstream can print them).
    if allow:
        tables = report.cohort.tables
        assert "O*****, B**" in set(tables["patients"]["patient_id"])
        assert set(tables["infusions"]["patient_id"]) == {"P1", "O*****, B**"}
        cells = " ".join(frame.astype(str).to_csv() for frame in tables.values())
        for secret in PLANTED:
            assert secret not in cells
        assert "input 3" in report.cohort.sha256 or any(
            k.startswith("input") for k in report.cohort.sha256)
        assert not any("Walker" in k for k in report.cohort.sha256)


def test_free_text_notes_column_is_a_finding(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    folder = write_cohort_csv(extra_columns={"infusions": {"notes": ["ok", "", "fine"]}})
    findings = validate(read_raw(folder)).findings
    assert [f.rule for f in findings if f.column == "notes"] == ["free-text-column"]


def test_a_clean_cohort_has_no_identifier_finding(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    report = validate(read_raw(write_cohort_csv()))
    assert not [f for f in report.findings if f.rule.startswith("identifier")]


def test_validate_terminal_and_json_show_no_value(write_cohort_csv, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = _planted_cohort(write_cohort_csv)
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr()
    assert "patient_id" in out.out + out.err
    assert main(["validate", str(folder), "--format", "json"]) == 1
    out2 = capsys.readouterr()
    json.loads(out2.out)
    for secret in PLANTED:
        assert secret not in out.out + out.err + out2.out


def test_screening_is_fast_on_100000_rows() -> None:
    values = pd.Series([f"P{i:06d}" for i in range(100_000)])
    values.iloc[::1000] = "Okafor, Bob"
    start = time.perf_counter()
    kinds = screen(values)
    assert time.perf_counter() - start < 3.0
    assert int(kinds.notna().sum()) == 100


@pytest.mark.parametrize("patient_id", ["MRN-99887766", "Okafor, Bob", "14/07/1999"])
def test_patient_ids_like_identifiers_are_errors(write_cohort_csv, patient_id: str
                                                 ) -> None:  # type: ignore[no-untyped-def]
    folder = write_cohort_csv([("patients", 1, "patient_id", patient_id),
                               ("infusions", 2, "patient_id", patient_id)])
    report = validate(read_raw(folder))
    found = [f for f in report.errors if f.rule == "identifier-value"]
    assert {f.sheet for f in found} == {"patients", "infusions"}
    assert {f.row for f in found} == {3, 4}
    assert patient_id not in _all_text(list(report.findings))


def test_workbook_named_with_identifiers_is_stamped_neutrally(tmp_path: Path) -> None:
    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort

    path = write_cohort(synth_cohort(5, seed=1), tmp_path / "Okafor_Bob_14-07-1999.xlsx")
    report = validate(read_raw(path))
    assert list(report.cohort.sha256) == ["input 1"]
    clean = write_cohort(synth_cohort(5, seed=1), tmp_path / "cohort.xlsx")
    assert list(validate(read_raw(clean)).cohort.sha256) == ["cohort.xlsx"]


def test_identifying_sheet_name_in_a_workbook(tmp_path: Path) -> None:
    import openpyxl

    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort

    path = write_cohort(synth_cohort(5, seed=1), tmp_path / "cohort.xlsx")
    book = openpyxl.load_workbook(path)
    book.create_sheet("Okafor Bob 1999-07-14")["A1"] = "x"
    book.save(path)
    report = validate(read_raw(path))
    assert [f.rule for f in report.errors] == ["identifier-sheet-name"]
    text = _all_text(list(report.findings))
    assert "Okafor" not in text and "1999-07-14" not in text


_SCREEN_ALPHABET = st.sampled_from(
    [*"aAzZmrnsShHpPtTwW019", " ", "\t", "\n", "\x0b", "\x1c", "\x85", "\xa0",
     "\u2003", "\u3000", ".", "-", ",", "@", "/", ":", "#", "+", "(", ")", "_", "é",
     "\u0663", "\u017f", "mrn", "MRN", "www.", "Patient"])


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(st.lists(_SCREEN_ALPHABET, max_size=14).map("".join), min_size=1,
                      max_size=30))
def test_arrow_first_pass_opens_the_same_cells_as_python(cells: list[str]) -> None:
    """The RE2 spelling of the first pass (Arrow, long columns) against the Python one,
    which the test above ties to the patterns."""
    text = pd.Series(cells, dtype=object)
    python = text.str.contains(_PREFILTER, regex=True, na=False).astype(bool)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identifiers, "ARROW_FIRST_PASS_MIN", 0)
        arrow = first_pass(text)
    assert arrow.tolist() == python.tolist(), [
        c for c, a, p in zip(cells, arrow, python, strict=True) if a != p]


def test_arrow_first_pass_on_the_examples() -> None:
    values = [*IDENTIFYING, *ORDINARY, "S0000001", "SYN1234567", "x12345678y", "12345678",
              "id 12345678", "P-1234567", "1234567-A", "\u0663" * 8, "é1234567"]
    text = pd.Series(values, dtype=object)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identifiers, "ARROW_FIRST_PASS_MIN", 0)
        arrow = first_pass(text).tolist()
    assert arrow == text.str.contains(_PREFILTER, regex=True).tolist()


def test_arrow_first_pass_agrees_on_every_code_point() -> None:
    """Single characters decide the first pass's classes (whitespace, digits, letters
    under case-insensitive matching), and RE2's Unicode tables are not Python's: every
    code point is tried alone and as a neighbour or member of a digit run; the code
    points that fold to an ASCII letter are tried inside each record-number word."""
    import string

    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    folding = [c for c in points if c not in string.ascii_letters and any(
        x in string.ascii_letters for x in c.lower() + c.upper() + c.casefold())]
    words = ["mrn", "ssn", "hospital", "nhs", "chart", "patient", "www."]
    cells = (list(points) + [f"x{c}1234567" for c in points]
             + [c * 7 for c in points]
             + [w[:i] + c + w[i + 1:] for w in words for i in range(len(w)) for c in folding])
    text = pd.Series(cells, dtype=object)
    python = text.str.contains(_PREFILTER, regex=True).to_numpy(dtype=bool)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identifiers, "ARROW_FIRST_PASS_MIN", 0)
        arrow = first_pass(text).to_numpy(dtype=bool)
    differ = [repr(c) for c, a, p in zip(cells, arrow, python, strict=True) if a != p]
    assert differ == []
