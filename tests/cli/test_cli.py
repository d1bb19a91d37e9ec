"""The command line: exit codes 0 / 1 / 2 and the JSON shape promised in the README."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reinfuse.cli import main

JSON_KEYS = {"severity", "sheet", "row", "column", "value", "expected", "message", "fix"}


def test_validate_clean_exits_0(write_cohort_csv, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write_cohort_csv())]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_validate_errors_exit_1_and_json(write_cohort_csv,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_cohort_csv([("patients", 1, "sex", "x"), ("infusions", 0, "pre_emd", "?")])
    assert main(["validate", str(folder), "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert len(findings) == 2
    assert all(set(f) == JSON_KEYS for f in findings)
    assert findings[0] == {
        "severity": "error", "sheet": "patients", "row": 3, "column": "sex", "value": "x",
        "expected": "M / F / unknown", "message": "'x' is not an allowed code for sex.",
        "fix": "Use one of: M, F, unknown."}


def test_unreadable_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_text("no")
    assert main(["validate", str(bad)]) == 2
    assert "not an Excel .xlsx workbook" in capsys.readouterr().err


def test_identifiers_flag(write_cohort_csv) -> None:
    folder = write_cohort_csv(extra_columns={"patients": {"last_name": ["A", "B"]}})
    assert main(["validate", str(folder)]) == 1
    assert main(["validate", str(folder), "--allow-identifiers"]) == 0


def test_template_and_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.xlsx"
    assert main(["template", str(out)]) == 0
    assert main(["template", str(out)]) == 4  # output refused
    assert "never overwrites" in capsys.readouterr().err
    assert main(["template", str(out), "--overwrite"]) == 0


def test_synth_writes_valid_cohort(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    assert main(["synth", "--patients", "300", str(out)]) == 0
    assert main(["validate", str(out)]) == 0


@pytest.mark.parametrize(("argv", "words"), [
    # ASTCT: fever with one vasopressor plus vasopressin is grade 3, not 4.
    (["grade", "crs", "--temperature", "38.6", "--hypotension", "vasopressors",
      "--vasopressors", "1", "--vasopressin"], "CRS grade 3"),
    # 37.9 C is not fever; without anti-cytokine therapy it is not CRS.
    (["grade", "crs", "--temperature", "37.9", "--hypotension", "fluids"], "CRS grade 0"),
    # After tocilizumab fever is not required: fluids only is grade 2.
    (["grade", "crs", "--anticytokine", "--hypotension", "fluids"], "CRS grade 2"),
    # ICE 0 but arousable to touch: grade 3 (unarousable would be 4).
    (["grade", "icans", "--ice", "0", "--consciousness", "awakens_to_touch", "--age", "30"],
     "ICANS grade 3"),
    # Children under 12: CAPD >= 9 is grade 3.
    (["grade", "icans", "--capd", "10", "--age", "8", "--consciousness",
      "awakens_spontaneously"], "ICANS grade 3"),
    # ASTCT: premedication before CRS began does not waive fever: 37.2 C with fluids is
    # not CRS.
    (["grade", "crs", "--temperature", "37.2", "--premedication", "--hypotension",
      "fluids"], "CRS grade 0"),
    # ASTCT pediatric table: CAPD for an older patient who cannot do the ICE.
    (["grade", "icans", "--capd", "10", "--tool", "capd", "--age", "15"], "ICANS grade 3"),
    # ASTCT: sedation explains an unarousable state and its ICE 0: not counted.
    (["grade", "icans", "--ice", "0", "--consciousness", "unarousable", "--sedated",
      "--age", "30"], "ICANS grade 0"),
])
def test_grade_findings(argv: list[str], words: str,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert words in out and "ASTCT" in out


def test_grade_cohort_file(write_cohort_csv, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_cohort_csv()
    (folder / "crs_observations.csv").write_text(
        "patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
        "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n"
        "P1,1,1,38.5,no,none,0,no,room_air,,no,no\n"
        "P1,1,2,39.0,no,vasopressors,2,no,room_air,,no,no\n")
    out_file = tmp_path / "graded.xlsx"
    assert main(["grade", str(folder), "--out", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "crs_observations: maximum grade per infusion" in text
    assert "multiple vasopressors" in text or "grade 4" in text
    assert "recorded vs derived" in text  # recorded grade 2, derived 4
    assert out_file.exists()


def test_report_style_option(tmp_path: Path) -> None:
    from reinfuse.demo import demo_path

    out = tmp_path / "jama"
    assert main(["report", str(demo_path()), "--style", "jama", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    expansion = next(c for c in results["comparisons"] if c["id"] == "expansion_by_infusion")
    # JAMA: 3 decimals below 0.10 (the seed style prints 0.03).
    assert expansion["p_text"] == "0.030"
    table1 = next(t for t in results["tables"] if t["id"] == "table1")
    assert table1["rows"][0]["label"].endswith("median (IQR), years")
    # An existing output folder is not replaced without --overwrite: output refused.
    assert main(["report", str(demo_path()), "--out", str(out)]) == 4


def test_modules_import_on_their_own() -> None:
    # A fresh interpreter per entry point catches import cycles that a shared test
    # process hides (reconcile <-> validate once did).
    import subprocess
    import sys

    for module in ("reinfuse.reconcile", "reinfuse.derive", "reinfuse.report",
                   "reinfuse.kinetics", "reinfuse.criteria.assessments"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_plan_check_lists_every_unknown_variable(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from reinfuse.plan import default_plan_text

    text = default_plan_text().replace('variable = "age_years"', 'variable = "age_yeras"')
    text = text.replace('variable = "prior_lines"', 'variable = "prior_line"')
    plan = tmp_path / "plan.toml"
    plan.write_text(text)
    assert main(["plan", "--check", str(plan)]) == 3  # bad plan
    err = capsys.readouterr().err
    assert "unknown variable 'age_yeras' (did you mean 'age_years'?)" in err
    assert "unknown variable 'prior_line'" in err
    good = tmp_path / "good.toml"
    good.write_text(default_plan_text())
    assert main(["plan", "--check", str(good)]) == 0


@pytest.mark.parametrize(("argv", "words"), [
    (["grade", "crs", "--temperature", "39", "--oxygen-l-min", "-3"], "got -3.0"),
    (["grade", "icans", "--capd", "12"], "give --age or --tool capd with --capd"),
    (["grade", "crs", "--temperature", "39", "--out", "x.xlsx"], "the grade is printed"),
])
def test_grade_errors_are_plain(argv: list[str], words: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 3  # bad command-line options
    assert words in capsys.readouterr().err


def test_flow_without_device_is_a_cannula(capsys: pytest.CaptureFixture[str]) -> None:
    # ASTCT: nasal cannula <= 6 L/min is grade 2, > 6 L/min is grade 3.
    assert main(["grade", "crs", "--temperature", "39", "--oxygen-l-min", "6"]) == 0
    assert "CRS grade 2" in capsys.readouterr().out
    assert main(["grade", "crs", "--temperature", "39", "--oxygen-l-min", "7"]) == 0
    assert "CRS grade 3" in capsys.readouterr().out


def test_report_on_an_empty_template_says_so(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "t.xlsx"
    assert main(["template", str(template)]) == 0
    assert main(["report", str(template), "--out", str(tmp_path / "r")]) == 1
    assert "has no infusions: there is nothing to report" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_exit_codes_are_documented_in_every_help(capsys: pytest.CaptureFixture[str]) -> None:
    from reinfuse.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, command in {"reinfuse": parser, **commands}.items():
        text = command.format_help()
        for line in ("0  done", "1  the cohort has errors", "2  an input cannot be read",
                     "3  bad analysis plan or command-line options", "4  output refused"):
            assert line in text, (name, line)


def test_bad_option_exits_3_and_bad_plan_option_too(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate", "x", "--prefer", "newest"])
    assert info.value.code == 3
    from reinfuse.plan import default_plan_text

    plan = tmp_path / "plan.toml"
    plan.write_text(default_plan_text().replace(
        "[abbreviations]", "[plan.derive]\nprefer = \"newest\"\n\n[abbreviations]", 1))
    assert main(["plan", "--check", str(plan)]) == 3
    assert "'prefer' is 'newest'; allowed: recorded, derived" in capsys.readouterr().err


def test_grade_cohort_file_uses_derives_maximum(write_cohort_csv,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9: grades [2, ungradable] printed 2 where derive gives missing.

    Day 1: fever 39 C with hypotension treated by fluids alone is CRS grade 2 (ASTCT, Lee
    et al. 2019). Day 2: fever 39 C with the hypotension cell blank could be grade 1 to 4,
    so it is not gradable, and the maximum over the infusion is unknown (the ungradable
    day might have been the worst): derive leaves it missing and so must `reinfuse grade`.
    """
    from reinfuse.io.read import read_raw
    from reinfuse.reconcile import reconcile
    from reinfuse.validate import validate

    folder = write_cohort_csv()
    (folder / "crs_observations.csv").write_text(
        "patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
        "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n"
        "P1,1,1,39.0,no,fluids,0,no,room_air,,no,no\n"
        "P1,1,2,39.0,no,,,no,room_air,,no,no\n")
    report = validate(read_raw(folder))
    derived = reconcile(report.cohort.tables).infusions.set_index(["patient_id", "infusion"])
    assert pd.isna(derived.loc[("P1", 1), "crs_grade_derived"])
    assert main(["grade", str(folder)]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if "P1" in line)
    assert "not gradable" in row and "day 2" in row
