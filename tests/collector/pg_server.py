"""A throwaway PostgreSQL server for tests: Debian's binaries, a cluster in a temporary directory, reached
only through a Unix socket there (no TCP port, so parallel runs never collide).

initdb refuses to run as root, so under root (CI) the cluster belongs to ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, newest version first, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class PostgresServer:
    """``start()`` a cluster, ``url(db)`` to reach a database, ``stop()`` to remove it all."""

    SUPERUSER = "zerolag"

    def __init__(self) -> None:
        bindir = binaries()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/setup-system.sh installs it)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="zerolag-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.port = 5432
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "nobody"
            entry = pwd.getpwnam("nobody")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o755)

    def _run(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run(
            argv,
            check=True,
            timeout=timeout,
            capture_output=True,
            user=self._user,
            cwd=self.root,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        )

    def start(self) -> PostgresServer:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.SUPERUSER,
            "--auth=trust",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
        )
        self.pg_ctl("start")
        return self

    def pg_ctl(self, action: str, *options: str) -> None:
        """``pg_ctl start`` (with this cluster's socket-only settings), ``stop``, ..., waiting for it."""
        argv = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *options]
        if action == "start":
            settings = f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync=off"
            argv += ["-o", settings, "-l", str(self.root / "log")]
        self._run(*argv, action)

    def url(self, database: str = "postgres") -> str:
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{self.SUPERUSER}@/{database}?host={host}&port={self.port}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
