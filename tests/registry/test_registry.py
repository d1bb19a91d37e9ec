"""The registry on SQLite and on a real PostgreSQL server (tests/registry/conftest.py).

Reference values are the hand-written cohort of tests/conftest.py and the edits these
tests make to it: e.g. P1's second dose is typed "1e6", which the registry must hold as
the number 1,000,000 (canonical text "1000000.0"); an edit to "2.5e6" must be audited as
old "1000000.0", new "2500000.0".
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from tests.conftest import INFUSIONS, PATIENTS

import reinfuse
from reinfuse import registry
from reinfuse.cli import EXIT_CONFLICT, main
from reinfuse.errors import RegistryConflictError, RegistryError

SRC = str(Path(reinfuse.__file__).parents[1])
CohortWriter = Callable[..., Path]
Edits = list[tuple[str, int, str, str]]

#: The variants of the hand-written cohort the tests import: (edits, patients dropped).
VARIANTS: dict[str, tuple[Edits, tuple[str, ...]]] = {
    "base": ([], ()),
    # P1's reinfusion dose 1e6 -> 2.5e6; P2's prior lines 2 -> 3, but P2 left out.
    "second": ([("infusions", 1, "dose_per_kg", "2.5e6"), ("patients", 1, "prior_lines", "3")],
               ("P2",)),
    "coordinator_a": ([("infusions", 1, "dose_per_kg", "2e6")], ()),
    "coordinator_b": ([("infusions", 1, "dose_per_kg", "3e6")], ()),
    # P2's best response CR -> PD (its MRD and response date then blank).
    "progression": ([("infusions", 2, "best_response", "PD"),
                     ("infusions", 2, "best_response_mrd_pct", ""),
                     ("infusions", 2, "response_date", "")], ()),
}


class Variant:
    """A cohort variant written as a CSV folder and validated once for the whole module."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        report, self.source = registry.read_source(folder)
        self.frames = registry.registry_frames(report.cohort)
        self.pickle = folder.with_suffix(".pickle")
        self.pickle.write_bytes(pickle.dumps((self.frames, self.source)))

    def load(self, db: str, **options: object) -> registry.ImportResult:
        engine = registry.connect(db)
        try:
            return registry.import_frames(engine, self.frames, self.source, **options)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Variant]:
    root = tmp_path_factory.mktemp("cohorts")
    out = {}
    for name, (edits, dropped) in VARIANTS.items():
        tables = {"patients": pd.DataFrame(PATIENTS, dtype=str),
                  "infusions": pd.DataFrame(INFUSIONS, dtype=str)}
        for table, row, column, value in edits:
            tables[table].loc[row, column] = value
        (root / name).mkdir()
        for table, frame in tables.items():
            frame[~frame["patient_id"].isin(dropped)].to_csv(root / name / f"{table}.csv",
                                                             index=False)
        out[name] = Variant(root / name)
    return out


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _count(db: str, table: str) -> int:
    engine = registry.connect(db)
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
    engine.dispose()
    return int(n)


def _value(db: str, table: str, column: str, **key: object) -> object:
    sql = registry.METADATA.tables[table]
    engine = registry.connect(db)
    with engine.connect() as conn:
        value = conn.execute(sa.select(sql.c[column]).where(
            *(sql.c[k] == v for k, v in key.items()))).scalar_one()
    engine.dispose()
    return value


def test_migrations_match_the_models_and_upgrade_head(tmp_path: Path) -> None:
    """A registry made by `registry init` is at head, equals the models generated from the
    schema (Alembic finds nothing to autogenerate), and `alembic upgrade head` run on it
    through Alembic's own command (URL configuration, not reinfuse's) is a no-op."""
    db = str(tmp_path / "r.db")
    assert main(["registry", "init", "--db", db]) == 0
    engine = registry.connect(db)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), registry.METADATA) == []
    config = Config()
    config.set_main_option("script_location", str(Path(registry.__file__).parent
                                                  / "migrations"))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    command.upgrade(config, "head")
    assert registry.current_revision(engine) == registry.head_revision() == "0002"
    # One table per sheet, typed, keyed as the schema says.
    infusions = sa.inspect(engine).get_pk_constraint("infusions")["constrained_columns"]
    assert infusions == ["patient_id", "infusion"]
    engine.dispose()
    assert main(["registry", "import", str(tmp_path), "--db", str(tmp_path / "none.db")]) == 2


def test_import_diff_history_export(db: str, cohorts: dict[str, Variant], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    base, second = cohorts["base"], cohorts["second"]
    assert main(["registry", "import", str(base.folder), "--db", db, "--user", "alice"]) == 0
    assert (_count(db, "patients"), _count(db, "infusions")) == (2, 3)
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 1e6
    assert _value(db, "infusions", "indication", patient_id="P1", infusion=1) is None
    assert _value(db, "patients", "prior_blinatumomab", patient_id="P1") is True
    assert _count(db, "audit") == 5  # one per inserted row: 2 patients + 3 infusions

    # The same cohort again changes nothing and audits nothing.
    assert not base.load(db).changed
    assert _count(db, "audit") == 5

    capsys.readouterr()
    assert main(["registry", "diff", str(second.folder), "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "dose_per_kg 1000000.0 2500000.0" in " ".join(shown.split())
    assert _count(db, "audit") == 5  # a diff writes nothing
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 1e6

    # P2 is absent from the file: kept (nothing is deleted without --delete-missing).
    result = second.load(db, user="bob")
    assert (result.inserted, result.updated, result.deleted) == (
        {"patients": 0, "infusions": 0}, {"patients": 0, "infusions": 1},
        {"patients": 0, "infusions": 0})
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 2.5e6
    assert _count(db, "patients") == 2
    history = registry.history(registry.connect(db), "P1")
    update = history[history["action"] == "update"]
    assert update[["user_name", "table_name", "row_key", "column_name", "old_value",
                   "new_value"]].values.tolist() == [
        ["bob", "infusions", "patient_id=P1, infusion=2", "dose_per_kg", "1000000.0",
         "2500000.0"]]
    assert list(history["action"][:3]) == ["insert", "insert", "insert"]
    assert list(history["user_name"][:3]) == ["alice"] * 3
    assert json.loads(history["new_value"].iloc[0])["prior_blinatumomab"] == "yes"
    assert set(history["source_label"]) == {"CSV folder (2 files)"}
    assert history["source_sha256"].str.fullmatch("[0-9a-f]{64}").all()

    # Only --delete-missing removes P2 (children first), audited row by row.
    assert second.load(db, delete_missing=True).deleted == {"patients": 1, "infusions": 1}
    assert (_count(db, "patients"), _count(db, "infusions")) == (1, 2)
    gone = registry.history(registry.connect(db), "P2")
    assert sorted(gone[gone["action"] == "delete"]["table_name"]) == ["infusions", "patients"]

    # Export: a CSV folder holding the values as typed in the file (blank stays blank).
    out = tmp_path / "export"
    assert main(["registry", "export", str(out), "--db", db]) == 0
    exported = pd.read_csv(out / "infusions.csv", dtype=str, keep_default_na=False)
    assert exported["dose_per_kg"].tolist() == ["1000000.0", "2500000.0"]
    assert exported["indication"].tolist() == ["", "relapse"]
    assert exported["date"].tolist() == ["2018-01-10", "2018-05-01"]
    assert main(["registry", "export", str(out), "--db", db]) == 4  # never overwrites


def test_database_refuses_changes_to_locks_and_audit(db: str, cohorts: dict[str, Variant]
                                                     ) -> None:
    cohorts["base"].load(db)
    assert main(["registry", "lock", "v1", "--db", db]) == 0
    assert main(["registry", "lock", "v1", "--db", db]) == 3  # never replaced
    engine = registry.connect(db)
    statements = ["UPDATE locks SET content_sha256 = 'x'", "DELETE FROM locks",
                  "UPDATE lock_tables SET csv_gzip = csv_gzip", "DELETE FROM lock_tables",
                  "UPDATE audit SET user_name = 'mallory'", "DELETE FROM audit",
                  "INSERT INTO lock_tables (lock_name, table_name, position, csv_gzip) "
                  "SELECT 'v1', 'extra', 9, csv_gzip FROM lock_tables"]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE audit", "TRUNCATE locks"]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="reinfuse registry"), engine.begin() as c:
            c.exec_driver_sql(statement)
    info, tables = registry.read_lock(engine, "v1")
    assert info.patients == 2 and list(tables) == ["patients", "infusions"]
    assert _count(db, "audit") == 5
    engine.dispose()


def test_report_from_lock_is_reproduced(tmp_path: Path, cohorts: dict[str, Variant],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """results.json from a lock is the same bytes after the registry changed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")  # the report's own timestamp
    db = str(tmp_path / "r.db")
    registry.init(db)
    cohorts["base"].load(db)
    assert main(["registry", "lock", "primary", "--db", db]) == 0
    assert main(["report", "--registry", db, "--lock", "primary", "--out",
                 str(tmp_path / "r1")]) == 0
    cohorts["progression"].load(db)
    assert _value(db, "infusions", "best_response", patient_id="P2", infusion=1) == "PD"
    assert main(["report", "--registry", db, "--lock", "primary", "--out",
                 str(tmp_path / "r2")]) == 0
    one = (tmp_path / "r1" / "results.json").read_bytes()
    assert one == (tmp_path / "r2" / "results.json").read_bytes()
    info = registry.lock_info(registry.connect(db), "primary")
    assert json.loads(one)["stamp"]["inputs"] == {"registry lock primary": info.content_sha256}
    assert main(["report", "x", "--registry", db, "--lock", "primary"]) == 3


def test_refused_inputs_leave_the_registry_as_it_was(tmp_path: Path, cohorts: dict[str, Variant],
                                                     write_cohort_csv: CohortWriter) -> None:
    db = str(tmp_path / "r.db")
    registry.init(db)
    cohorts["base"].load(db)
    bad = write_cohort_csv([("infusions", 1, "dose_per_kg", "lots")], name="bad")
    assert main(["registry", "import", str(bad), "--db", db]) == 1
    truncated = tmp_path / "cohort.xlsx"
    registry.export(db, truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])
    assert main(["registry", "import", str(truncated), "--db", db]) == 2
    assert _count(db, "audit") == 5
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 1e6


_CHILD_IMPORT = """
import pickle, sys, time
from pathlib import Path
from reinfuse import registry
db, frames, marker = sys.argv[1:4]
frames, source = pickle.loads(Path(frames).read_bytes())
def pause(stage):
    if stage == "written" and marker:  # everything sent, not committed
        Path(marker).write_text("ready")
        time.sleep(60)
registry.import_frames(registry.connect(db), frames, source, user="b", pause=pause)
"""


def test_sigkilled_import_leaves_registry_unchanged(db: str, cohorts: dict[str, Variant],
                                                    tmp_path: Path) -> None:
    cohorts["base"].load(db)
    before = (_count(db, "patients"), _count(db, "infusions"), _count(db, "audit"))
    marker = tmp_path / "written"
    child = subprocess.Popen([sys.executable, "-c", _CHILD_IMPORT, db,
                              str(cohorts["coordinator_a"].pickle), str(marker)], env=_env(),
                             cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the import ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert (_count(db, "patients"), _count(db, "infusions"), _count(db, "audit")) == before
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 1e6
    # The registry is usable at once: the same import now lands whole.
    result = cohorts["coordinator_a"].load(db)
    assert result.updated == {"patients": 0, "infusions": 1}
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 2e6


def test_concurrent_conflicting_imports_lose_nothing(db: str, cohorts: dict[str, Variant],
                                                     tmp_path: Path) -> None:
    """Coordinator A (this process) has read the registry when coordinator B (another
    process) imports a conflicting edit of the same cell and commits. A's import is then
    refused and writes nothing; run again, it lands, and the audit trail holds both
    edits in order (1e6 -> 3e6 by B, then 3e6 -> 2e6 by A)."""
    cohorts["base"].load(db)
    done: list[int] = []

    def b_imports(stage: str) -> None:
        if stage == "diffed":
            child = subprocess.run([sys.executable, "-c", _CHILD_IMPORT, db,
                                    str(cohorts["coordinator_b"].pickle), ""], env=_env(),
                                   cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert child.returncode == 0, child.stderr
            done.append(child.returncode)

    with pytest.raises(RegistryConflictError, match="Run it again"):
        cohorts["coordinator_a"].load(db, user="a", pause=b_imports)
    assert done == [0]
    assert _value(db, "infusions", "dose_per_kg", patient_id="P1", infusion=2) == 3e6
    cohorts["coordinator_a"].load(db, user="a")
    history = registry.history(registry.connect(db), "P1")
    updates = history[history["action"] == "update"]
    assert updates[["user_name", "old_value", "new_value"]].values.tolist() == [
        ["b", "1000000.0", "3000000.0"], ["a", "3000000.0", "2000000.0"]]


def test_conflict_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI turns a lost race into exit code 5 with the message to run again."""
    def lost(*args: object, **kwargs: object) -> None:
        raise RegistryConflictError("another import changed the registry; Run it again.")

    monkeypatch.setattr(registry, "import_cohort", lost)
    assert main(["registry", "import", str(tmp_path), "--db", "x.db"]) == EXIT_CONFLICT == 5
    assert "Run it again" in capsys.readouterr().err


def test_registry_keeps_recorded_values_not_derived_ones(tmp_path: Path,
                                                         cohorts: dict[str, Variant]) -> None:
    """P2's CRS grade is blank in infusions; its one observation (39.2 °C, no hypotension,
    room air) is ASTCT grade 1 (Lee et al., BBMT 2019;25:625-638: fever >= 38 °C alone),
    which validation uses to fill the blank (warning derived-fills-blank). The registry
    stores what was recorded: a blank, and the observation row itself."""
    folder = tmp_path / "observed"
    folder.mkdir()
    infusions = pd.DataFrame(INFUSIONS, dtype=str)
    infusions.loc[2, "crs_grade"] = ""
    pd.DataFrame(PATIENTS, dtype=str).to_csv(folder / "patients.csv", index=False)
    infusions.to_csv(folder / "infusions.csv", index=False)
    pd.DataFrame([{"patient_id": "P2", "infusion": "1", "day": "1", "temperature_c": "39.2",
                   "anticytokine_or_antipyretic": "no", "hypotension": "none",
                   "vasopressors": "0", "vasopressin": "no", "oxygen": "room_air",
                   "oxygen_l_min": "", "other_cause": "no", "death_from_crs": "no"}]
                 ).to_csv(folder / "crs_observations.csv", index=False)
    report, source = registry.read_source(folder)
    assert [f.rule for f in report.findings] == ["derived-fills-blank"]
    # validate keeps the recorded blank; the reconciled copy (the derive stage's input)
    # has the grade filled from the observation.
    assert pd.isna(report.cohort.infusions["crs_grade"].iloc[2])
    assert report.reconciled.infusions["crs_grade"].iloc[2] == 1
    db = str(tmp_path / "r.db")
    registry.init(db)
    registry.import_frames(registry.connect(db), registry.registry_frames(report.cohort),
                           source)
    assert _value(db, "infusions", "crs_grade", patient_id="P2", infusion=1) is None
    assert _value(db, "crs_observations", "temperature_c", patient_id="P2", infusion=1,
                  day=1) == 39.2
    # Round trip: the exported workbook reads back as the same registry content, blank
    # CRS grade included.
    workbook = registry.export(db, tmp_path / "export.xlsx")
    again, _ = registry.read_source(workbook)
    frames, back = registry.registry_frames(report.cohort), registry.registry_frames(again.cohort)
    assert list(back) == ["patients", "infusions", "crs_observations"]
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(back[name], frame)
    # Deleting P2, whose observation row is in a table the input does not have: refused.
    with pytest.raises(RegistryError, match="refer to"):
        cohorts["second"].load(db, delete_missing=True)
    assert _count(db, "patients") == 2


def test_a_registry_at_0001_upgrades_keeping_its_rows(tmp_path: Path) -> None:
    """A registry made before the format gained bcell_assessments, antigen_samples and the
    patient timeline columns (revision 0001) is brought to 0002 by `registry init`; its
    rows stay and the new tables and columns exist (empty)."""
    db = tmp_path / "old.db"
    config = Config()
    config.set_main_option("script_location", str(Path(registry.__file__).parent
                                                  / "migrations"))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    command.upgrade(config, "0001")
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO patients (patient_id, sex) VALUES ('P1', 'F')"))
    engine.dispose()
    assert main(["registry", "init", "--db", str(db)]) == 0
    engine = registry.connect(str(db))
    assert registry.current_revision(engine) == "0002"
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT patient_id, sex, off_study_reason FROM patients"))
        assert rows.all() == [("P1", "F", None)]
    assert {"bcell_assessments", "antigen_samples"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_redcap_export_in_and_out(tmp_path: Path) -> None:
    """A REDCap record export (written by reinfuse.redcap from the hand-written cohort)
    imports into the registry, and `registry export OUT.csv` gives a REDCap export that
    reads back to the same typed cohort."""
    from reinfuse.io.read import read_raw
    from reinfuse.redcap import read_export, write_export
    from reinfuse.validate import validate

    folder = tmp_path / "cohort"
    folder.mkdir()
    pd.DataFrame(PATIENTS, dtype=str).to_csv(folder / "patients.csv", index=False)
    pd.DataFrame(INFUSIONS, dtype=str).to_csv(folder / "infusions.csv", index=False)
    cohort = validate(read_raw(folder)).cohort
    export = write_export(cohort, tmp_path / "export.csv")
    db = str(tmp_path / "r.db")
    assert main(["registry", "init", "--db", db]) == 0
    assert main(["registry", "import", str(export), "--db", db, "--user", "t"]) == 0
    out = tmp_path / "out.csv"
    assert main(["registry", "export", str(out), "--db", db]) == 0
    before = validate(read_export(export)).cohort.tables
    after = validate(read_export(out)).cohort.tables
    for name in ("patients", "infusions"):
        pd.testing.assert_frame_equal(after[name].reset_index(drop=True),
                                      before[name].reset_index(drop=True), check_like=True)

