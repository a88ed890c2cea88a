"""A throw-away PostgreSQL cluster for tests and benchmarks (Debian's server binaries).

``PgCluster.start()`` runs ``initdb`` and ``pg_ctl`` in a fresh temporary folder, listening
only on 127.0.0.1 at a free port, with durability switched off (fsync, full-page writes,
synchronous commit: a test cluster is thrown away). PostgreSQL refuses to run as root, so
when the tests run as root (CI does) the server runs as ``nobody`` (``runuser``) in a folder
that user owns. ``stop()`` stops it and removes the folder. ``bin_dir()`` is None when the
server binaries are absent, so tests can skip with a reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "postgres"
READER = "chatbi_reader"


def bin_dir() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
                        reverse=True)
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One server; ``url(user)`` gives a connection string for a database ``chatbi``."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="chatbi-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: str | None = None
        if os.geteuid() == 0:
            self.as_user = "nobody"
            entry = pwd.getpwnam(self.as_user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self.root.chmod(0o700)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120,
                              cwd=str(self.root))

    def start(self, settings: dict[str, str] | None = None) -> PgCluster:
        """Start the server; ``settings`` add or override server settings (``shared_buffers``…)."""
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        values = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off",
                  "shared_buffers": "64MB", "max_connections": "40", **(settings or {})}
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                   + " ".join(f"-c {name}={value}" for name, value in values.items()))
        result = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                           str(self.root / "server.log"), "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {result.stderr}\n{log[-2000:]}")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "chatbi")
        return self

    def url(self, user: str = SUPERUSER, database: str = "chatbi") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def create_reader(self, schema: str) -> str:
        """A login role with only USAGE on ``schema`` and SELECT on its tables (present and
        future: default privileges of the superuser who publishes); returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(READER)))
            ident, reader = sql.Identifier(schema), sql.Identifier(READER)
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, reader))
            conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(ident, reader))
            conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}")
                         .format(ident, reader))
        return self.url(READER)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
