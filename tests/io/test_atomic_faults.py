"""Faults while writing an output: a kill at any moment, two writers at once, leftovers.

A SIGKILL runs no clean-up, so these tests kill a child process that writes through
:func:`reinfuse.io._atomic.atomic_path` at each step of moving the output into place (and
in the middle of writing it), then check what is on disk: the previous output whole, or
no output, never a mix; the next run removes what the killed one left and succeeds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import reinfuse
from reinfuse.cli import EXIT_OUTPUT_REFUSED, main
from reinfuse.demo import demo_path
from reinfuse.errors import OutputExistsError, OutputLockedError
from reinfuse.io._atomic import (
    OUTPUT_MARKER,
    TMP_INFIX,
    atomic_path,
    lock_path,
    output_lock,
    remove_stale_temporaries,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")

SRC = str(Path(reinfuse.__file__).resolve().parents[1])
FILES = [f"part{i}.txt" for i in range(5)]

# The child writes FILES, each "<version>\n", then is killed at step STEP:
#   "write"   half-way through writing the new output,
#   "rename"  when about to move the previous output away,
#   "replace" between moving the previous output away and moving the new one in,
#   "cleanup" after the new output is in place, before the temporary folder is removed.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import reinfuse.io._atomic as atomic

    out, version, step = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    rename, replace, rmtree = os.rename, os.replace, atomic.shutil.rmtree

    def hooked(name, real):
        def call(*args, **kwargs):
            if step == name:
                die()
            return real(*args, **kwargs)
        return call

    def rmtree_hooked(folder, *args, **kwargs):
        if Path(folder).resolve() == out.resolve():  # deleting the previous output itself:
            (out / "part0.txt").unlink()  # a kill half-way through would leave a part of it
            die()
        return hooked("cleanup", rmtree)(folder, *args, **kwargs)

    os.rename = hooked("rename", rename)
    os.replace = hooked("replace", replace)
    atomic.shutil.rmtree = rmtree_hooked
    with atomic.atomic_path(out, overwrite=True, kind="folder") as tmp:
        tmp.mkdir()
        for i in range(5):
            (tmp / f"part{i}.txt").write_text(version + "\\n")
            if step == "write" and i == 2:
                die()
    print("done")
""")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _write(out: Path, version: str, step: str = "none") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, str(out), version, step], env=_env(),
                          capture_output=True, text=True, timeout=60)


def _state(out: Path) -> str:
    """``"absent"``, or the version every file holds; fails on any mix or missing file."""
    if not out.exists():
        return "absent"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*FILES, OUTPUT_MARKER]), f"partial output: {names}"
    versions = {(out / name).read_text() for name in FILES}
    assert len(versions) == 1, f"files of two runs mixed: {versions}"
    return versions.pop().strip()


@pytest.mark.parametrize(("step", "allowed"), [
    ("write", {"v1"}), ("rename", {"v1"}), ("replace", {"absent"}), ("cleanup", {"v2"})])
def test_sigkill_at_each_step_leaves_previous_output_or_none(
        tmp_path: Path, step: str, allowed: set[str]) -> None:
    out = tmp_path / "out"
    assert _write(out, "v1").returncode == 0
    assert _state(out) == "v1"
    killed = _write(out, "v2", step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _state(out) in allowed
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out"]
    assert all(name.startswith(f".out{TMP_INFIX}") or name == ".out.reinfuse-lock"
               for name in leftovers), leftovers  # clearly named, hidden
    # The next run takes over the lock, removes the killed run's temporary folder, succeeds.
    assert _write(out, "v3").returncode == 0
    assert _state(out) == "v3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_sigkill_without_previous_output_leaves_none(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _write(out, "v1", "write").returncode == -signal.SIGKILL
    assert _state(out) == "absent"


def test_stale_temporaries_of_dead_processes_are_removed_others_kept(tmp_path: Path) -> None:
    out = tmp_path / "report"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".report{TMP_INFIX}{dead_pid}-abcd_123"
    live = tmp_path / f".report{TMP_INFIX}{os.getppid()}-abcd_123"  # a running process
    other = tmp_path / f".report.v2{TMP_INFIX}{dead_pid}-abcd_123"  # another output's
    user = tmp_path / ".report.backup"  # the user's own
    for folder in (stale, live, other, user):
        (folder / "report").mkdir(parents=True)
    assert remove_stale_temporaries(out) == [stale]
    assert not stale.exists() and live.exists() and other.exists() and user.exists()


def _hold_lock(out: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path\n"
         "from reinfuse.io._atomic import output_lock\n"
         "with output_lock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True); time.sleep(60)\n", str(out)],
        env=_env(), stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = _hold_lock(out)
    try:
        with pytest.raises(OutputLockedError) as caught, \
                atomic_path(out, kind="folder") as tmp:
            tmp.mkdir()  # pragma: no cover - never reached
        message = str(caught.value)
        assert f"process {child.pid}" in message and "started" in message
        assert "Wait for it to finish" in message
        assert isinstance(caught.value, OutputExistsError)  # exit code 4, output refused
        assert not out.exists()
        assert [p.name for p in tmp_path.iterdir()] == [".out.reinfuse-lock"]  # nothing else
    finally:
        child.kill()
        child.wait()


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = _hold_lock(out)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert lock_path(out).exists()  # left behind: SIGKILL ran no clean-up
    assert str(child.pid) in lock_path(out).read_text()
    with atomic_path(out, kind="folder") as tmp:
        tmp.mkdir()
        assert str(os.getpid()) in lock_path(out).read_text()  # now ours
    assert (out / OUTPUT_MARKER).exists()
    assert not lock_path(out).exists()  # released and removed


def test_lock_is_exclusive_within_one_process_and_released_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out), pytest.raises(OutputLockedError), output_lock(out):
        pass  # pragma: no cover - never reached
    with pytest.raises(RuntimeError), atomic_path(out, kind="folder"):
        raise RuntimeError("the writer failed")
    with output_lock(out):  # released by the failure above
        pass
    assert list(tmp_path.iterdir()) == []


def test_report_into_a_locked_folder_exits_4_with_the_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    child = _hold_lock(out)
    try:
        code = main(["report", str(demo_path()), "--out", str(out)])
    finally:
        child.kill()
        child.wait()
    assert code == EXIT_OUTPUT_REFUSED
    err = capsys.readouterr().err
    assert "being written by another reinfuse process" in " ".join(err.split())
    assert "Traceback" not in err
    assert not out.exists()


def test_two_writers_started_together_never_mix(tmp_path: Path) -> None:
    """Racing writers: each ends complete or refused, and the output is one run's."""
    out = tmp_path / "out"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(out), f"v{i}", "none"],
                                 env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for i in range(4)]
    results = [(c.wait(timeout=60), c.communicate()) for c in children]
    for code, (_, err) in results:
        assert code == 0 or ("OutputLockedError" in err or "already exists" in err), err
    assert _state(out) in {f"v{i}" for i in range(4)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_report_refuses_a_locked_folder_before_the_analysis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reinfuse import pipeline
    from reinfuse.demo import demo_plan
    from reinfuse.report import _build
    from reinfuse.validate import load_cohort

    def no_analysis(*args: object, **kwargs: object) -> None:  # pragma: no cover
        raise AssertionError("the analysis ran before the output was checked")

    cohort = load_cohort(demo_path())
    monkeypatch.setattr(pipeline, "derive", no_analysis)
    monkeypatch.setattr(_build, "population_frame", no_analysis)
    out = tmp_path / "report"
    child = _hold_lock(out)
    try:
        with pytest.raises(OutputLockedError):
            pipeline.build_report(cohort, demo_plan(), out)
    finally:
        child.kill()
        child.wait()
    out.mkdir()  # a folder of the user's own: refused early too
    with pytest.raises(OutputExistsError, match="did not write"):
        pipeline.build_report(cohort, demo_plan(), out, overwrite=True)


def test_old_temporaries_are_removed_even_if_their_process_id_runs(tmp_path: Path) -> None:
    reused = tmp_path / f".out{TMP_INFIX}{os.getppid()}-abcd_123"
    reused.mkdir()
    os.utime(reused, (time.time() - 2 * 86400,) * 2)
    assert remove_stale_temporaries(tmp_path / "out") == [reused]
