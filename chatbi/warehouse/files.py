"""Atomic replacement of the warehouse file: build elsewhere, then rename.

DuckDB lets one process write a file or many read it, not both. Every writer (demo
generation, imports, profile builds) therefore works on a temporary file in the same folder
and swaps it in with ``os.replace``; readers that reopen see either the old or the new file,
never half of one, and a writer killed halfway leaves the previous file untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chatbi.errors import WarehouseError

try:  # POSIX: writers hold a lock while they work (see ``_hold_lock`` / ``_in_use``)
    import fcntl
except ImportError:  # pragma: no cover - Windows: an open file cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]

#: temp files of a warehouse older than this (and not in use) are removed by the next writer
STALE_AFTER_S = 3600.0
#: a writer's files whose lock file is this old and not held are removed at once (writer gone)
LOCK_GRACE_S = 5.0
log = logging.getLogger(__name__)


def ensure_writable_dir(db_path: Path) -> None:
    """Create the folder of ``db_path`` or fail with a clear message."""
    folder = db_path.resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"无法创建目录 / cannot create folder {folder}: {exc.strerror or exc}",
            code="path_not_writable",
        ) from exc
    if not os.access(folder, os.W_OK):
        raise WarehouseError(
            f"目录不可写 / folder is not writable: {folder}. Choose another --db path.",
            code="path_not_writable",
        )


@contextlib.contextmanager
def atomic_replace(db_path: Path, *, copy_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``db_path``; on success rename it over ``db_path``.

    With ``copy_existing`` the temporary file starts as a copy of the current warehouse
    (for builds that add tables to it). On any exception the temporary file is removed and
    ``db_path`` is left exactly as it was.
    """
    db_path = Path(db_path)
    ensure_writable_dir(db_path)
    sweep_stale_temps(db_path)
    tmp = db_path.with_name(f".{db_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    lock = _hold_lock(tmp.with_name(tmp.name + ".lock"))
    try:
        if copy_existing:
            if not db_path.exists():
                raise WarehouseError(
                    f"数据仓库不存在 / warehouse not found: {db_path}. Run `chatbi init --demo` first.",
                    code="warehouse_missing",
                )
            shutil.copyfile(db_path, tmp)
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, db_path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), tmp.with_name(tmp.name + ".lock")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        if lock is not None:
            os.close(lock)


# ---------------------------------------------------------------------------- stale temp files
def _temp_pattern(db_name: str) -> re.Pattern[str]:
    """What a writer of ``db_name`` leaves beside it: ``.<name>.<id>.tmp`` and its ``.wal``,
    ``.lock`` and DuckDB spill folder ``..<name>.<id>.tmp.spill-*``."""
    return re.compile(
        rf"^(?P<spill>\.)?\.{re.escape(db_name)}\.(?P<id>[0-9a-f]{{8}})\.tmp"
        r"(?(spill)\.spill-.+|(?:\.wal|\.lock)?)$"
    )


def _hold_lock(path: Path) -> int | None:
    """Create ``path`` and hold an exclusive ``flock`` on it until the descriptor is closed:
    a sweeper in any process (or another thread of this one) then sees the temp in use."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _lock_taken(path: Path, lock: Callable[[int, int], Any]) -> bool:
    """True when ``lock(fd, LOCK_EX | LOCK_NB)`` on ``path`` fails: another holder has it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _flock_held(path: Path) -> bool:
    """True when another open file holds ``path``'s flock (a live writer's lock file)."""
    return _lock_taken(path, fcntl.flock)


def _duckdb_locked(path: Path) -> bool:
    """True when a process has the database file open for writing (DuckDB's fcntl lock).
    Only asked for temps without a live lock file, i.e. never for this process's own."""
    return _lock_taken(path, fcntl.lockf)


def _in_use(temp: Path) -> bool:
    if fcntl is None:
        return False
    if _flock_held(temp.with_name(temp.name + ".lock")):
        return True
    return temp.exists() and _duckdb_locked(temp)


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            with contextlib.suppress(OSError):
                newest = max(newest, child.lstat().st_mtime)
    return newest


def sweep_stale_temps(db_path: Path, *, older_than_s: float = STALE_AFTER_S,
                      now: float | None = None) -> list[Path]:
    """Remove what killed writers of ``db_path`` left beside it: temp copies, their WAL, lock
    file and spill folder, when no live process holds the writer's lock or the temp database
    open, and either the writer's lock file is there unheld (the writer is gone: removed at
    once, after ``LOCK_GRACE_S``) or every piece is older than ``older_than_s`` seconds (files
    without a lock file). Returns what was removed; never raises (a sweep must not stop a
    write)."""
    db_path = Path(db_path)
    pattern = _temp_pattern(db_path.name)
    cutoff = (time.time() if now is None else now) - older_than_s
    groups: dict[str, list[Path]] = {}
    try:
        for entry in db_path.parent.iterdir():
            found = pattern.match(entry.name)
            if found:
                groups.setdefault(found["id"], []).append(entry)
    except OSError:
        return []
    removed: list[Path] = []
    current = time.time() if now is None else now
    for key, members in groups.items():
        temp = db_path.with_name(f".{db_path.name}.{key}.tmp")
        lock_file = temp.with_name(temp.name + ".lock")
        try:
            if _in_use(temp):
                continue
            # The writer's lock file is there but nobody holds it: the writer is gone (killed),
            # whatever the age of its files. A few seconds' grace covers a writer between
            # creating its lock file and locking it.
            orphaned = (fcntl is not None and lock_file in members
                        and current - lock_file.lstat().st_mtime >= LOCK_GRACE_S)
            if not orphaned and any(_newest_mtime(m) > cutoff for m in members):
                continue
        except OSError:
            continue
        for member in sorted(members, key=lambda m: m.name.endswith(".lock")):  # the lock file last
            try:
                if member.is_dir() and not member.is_symlink():
                    shutil.rmtree(member)
                else:
                    member.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("could not remove stale temp file %s: %s", member, exc)
                continue
            removed.append(member)
    if removed:
        log.info("removed %d stale temp file(s) of %s: %s", len(removed), db_path.name,
                 ", ".join(p.name for p in removed))
    return removed
