"""`reinfuse design` on the command line (reference values: tests/reference/trial_design.md)."""

from __future__ import annotations

import json

import pytest

from reinfuse.cli import main


def test_design_simon_text(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["design", "simon", "--p0", "0.2", "--p1", "0.4", "--alpha", "0.1",
                 "--beta", "0.1", "--nmax", "40"])
    out = capsys.readouterr().out
    assert code == 0
    assert "| minimax | 3/19 | 10/36 | 28.26 | 0.4551 |" in out
    assert "| optimal | 3/17 | 10/37 | 26.02 | 0.5489 |" in out


def test_design_analyze_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["design", "analyze", "--r1", "3", "--n1", "17", "--r", "10", "--n", "37",
                 "--x1", "2", "--p0", "0.2", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["stage"] == 1 and data["statistic"] == 2


def test_design_bayes_prior_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "bayes", "--p0", "0.2", "--p1", "0.4", "--nmax", "10",
                 "--prior-rate", "0.3"]) == 3
    assert "go together" in capsys.readouterr().err
    assert main(["design", "bayes", "--p0", "0.2", "--p1", "0.4", "--nmax", "10",
                 "--prior-rate", "0.3", "--prior-ess", "2", "--looks", "5"]) == 0


def test_design_help_lists_exit_codes() -> None:
    from reinfuse.cli import build_parser

    parser = build_parser()
    design = parser._subparsers._group_actions[0].choices["design"]  # type: ignore[union-attr]
    for command in design._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        assert "3  bad analysis plan or command-line options" in command.format_help()


def test_design_bad_rates_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["design", "simon", "--p0", "0.5", "--p1", "0.4"]) == 3
    assert "must exceed p0" in capsys.readouterr().err
