"""Progress display (issue 9): stage by stage on a terminal, silent otherwise."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from reinfuse import cli
from reinfuse.progress import advance, show_progress, stage, wanted


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stages_are_drawn_on_a_terminal_console() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with show_progress(True, console):
        stage("Reading")
        stage("Drawing figures", total=3)
        for _ in range(3):
            advance()
    text = out.getvalue()
    assert "Reading" in text
    assert "Drawing figures" in text
    assert "3/3" in text  # the figures' steps were counted


def test_nothing_without_a_display_or_when_disabled() -> None:
    stage("Reading")  # no display active: a no-op, no error
    advance()
    out = io.StringIO()
    with show_progress(False, Console(file=out, force_terminal=True)):
        stage("Reading")
    assert out.getvalue() == ""


def test_wanted_only_on_a_terminal_and_not_quiet() -> None:
    assert wanted(False, _Terminal())
    assert not wanted(True, _Terminal())
    assert not wanted(False, io.StringIO())


def test_cli_quiet_on_a_terminal_prints_no_progress(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from reinfuse.demo import demo_path

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli.main(["validate", str(demo_path()), "--quiet"]) in (0, 1)
    assert "Validating" not in terminal.getvalue()
