"""A throwaway PostgreSQL cluster for the registry tests (no mocked database).

One cluster per test session: ``initdb`` + ``pg_ctl`` from Debian's server binaries
(``/usr/lib/postgresql/*/bin``, package ``postgresql``), listening on 127.0.0.1 at a free
port, data in a temporary folder that is removed afterwards. PostgreSQL refuses to run as
root, so under root the server runs as the ``postgres`` system user (``runuser``).

Without the binaries (or psycopg) the PostgreSQL tests skip with the reason; with
``REINFUSE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) they fail instead, so CI always runs them.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reinfuse import registry

REQUIRE = os.environ.get("REINFUSE_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests not run: {reason}"
    if REQUIRE:
        pytest.fail(message + " (REINFUSE_REQUIRE_POSTGRES=1 makes this a failure)")
    pytest.skip(message + ". Install Debian's `postgresql` package to run them.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running throwaway cluster; :meth:`new_database` gives each test its own."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="reinfuse-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root)
                _unavailable("running as root and there is no 'postgres' user to run "
                             "the server as (initdb refuses root)")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self.port = _free_port()
        self.names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                              check=False, timeout=60)

    def start(self) -> None:
        done = self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "reinfuse",
                         "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if done.returncode != 0:
            self.remove()
            _unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        done = self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                         str(self.root / "server.log"), "-w", "-t", "30", "-o", options,
                         "start")
        if done.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-500:]
            self.remove()
            _unavailable(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://reinfuse@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on the cluster; its URL."""
        import psycopg

        name = f"registry_{next(self.names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=reinfuse "
                             "dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        if self.data.exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """The session's PostgreSQL cluster (skips, or fails under CI, when unavailable)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'reinfuse[postgresql]')")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[3]) if Path(p).parts[3].isdigit() else 0)
    if not found:
        _unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    cluster = Cluster(Path(found[-1]).parent)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, initialised registry on each backend; its ``--db`` value."""
    if request.param == "sqlite":
        url = str(tmp_path / "registry.db")
    else:
        url = request.getfixturevalue("postgres").new_database()
    with contextlib.chdir(tmp_path):
        registry.init(url)
    return url
