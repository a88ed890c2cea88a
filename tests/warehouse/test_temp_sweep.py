"""Stale temp files of killed writers are swept by the next ``atomic_replace`` of the same
warehouse: when their writer is gone (its lock file unheld) or, without a lock file, when older than the limit and not held by a live writer (real processes,
real DuckDB, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from chatbi.warehouse.files import LOCK_GRACE_S, STALE_AFTER_S, atomic_replace, sweep_stale_temps

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks and signals")
TWO_HOURS_AGO = time.time() - 2 * 3600

# A writer that starts a real atomic_replace, writes with DuckDB, says "ready" and waits.
WRITER = """
import sys, time
from pathlib import Path
import duckdb
from chatbi.warehouse.connection import write_connection
from chatbi.warehouse.files import atomic_replace
with atomic_replace(Path(sys.argv[1])) as tmp:
    with write_connection(tmp, memory_limit="200MB") as con:
        con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
        print("ready", tmp, flush=True)
        time.sleep(120)
"""


def _age(*paths: Path, when: float = TWO_HOURS_AGO) -> None:
    for path in paths:
        for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.utime(item, (when, when), follow_symlinks=False)


def _leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name != db.name)


def _start_writer(db: Path) -> tuple[subprocess.Popen[str], Path]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True,
                             env=env, start_new_session=True)
    line = child.stdout.readline() if child.stdout else ""
    assert line.startswith("ready"), line
    return child, Path(line.split(" ", 1)[1].strip())


def _kill(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)


def _write(db: Path, value: int) -> None:
    with atomic_replace(db) as tmp, duckdb.connect(str(tmp)) as con:
        con.execute(f"CREATE TABLE t AS SELECT {value} AS x")


def test_a_killed_writers_files_are_swept_by_the_next_write(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    _write(db, 1)
    child, temp = _start_writer(db)
    try:
        leftovers = _leftovers(db)
        assert temp.name in leftovers and temp.name + ".lock" in leftovers
        assert any(".spill-" in name for name in leftovers)
        _age(*(tmp_path / name for name in leftovers))
        assert sweep_stale_temps(db) == []  # old, but the live writer holds them
        assert _leftovers(db) == leftovers
    finally:
        _kill(child)
    assert _leftovers(db), "the killed writer left nothing (else nothing is tested)"
    _write(db, 2)
    assert _leftovers(db) == []
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(2,)]


def test_only_old_files_of_the_same_warehouse_go(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    stale = [tmp_path / ".warehouse.duckdb.0123abcd.tmp", tmp_path / ".warehouse.duckdb.0123abcd.tmp.wal",
             tmp_path / ".warehouse.duckdb.0123abcd.tmp.lock"]
    spill = tmp_path / "..warehouse.duckdb.0123abcd.tmp.spill-k2j3"
    fresh = tmp_path / ".warehouse.duckdb.89abcdef.tmp"
    other = tmp_path / ".other.duckdb.0123abcd.tmp"
    unrelated = tmp_path / ".warehouse.duckdb.notes.tmp"
    for path in [*stale, fresh, other, unrelated]:
        path.write_bytes(b"partial")
    spill.mkdir()
    (spill / "duckdb_temp_block-1.block").write_bytes(b"spill")
    _age(*stale, spill, other, unrelated)
    _write(db, 1)
    assert _leftovers(db) == sorted([fresh.name, other.name, unrelated.name])
    # the fresh one goes once it is old enough
    removed = sweep_stale_temps(db, now=time.time() + STALE_AFTER_S + 60)
    assert removed == [fresh]


def test_a_recent_spill_file_keeps_its_writer(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    temp = tmp_path / ".warehouse.duckdb.0123abcd.tmp"
    spill = tmp_path / "..warehouse.duckdb.0123abcd.tmp.spill-k2j3"
    temp.write_bytes(b"partial")
    spill.mkdir()
    _age(temp, spill)
    (spill / "duckdb_temp_block-7.block").write_bytes(b"still spilling")
    assert sweep_stale_temps(db) == []
    assert temp.exists() and spill.exists()


def test_a_database_held_open_by_another_process_is_kept(tmp_path: Path) -> None:
    """A temp without a lock file (a writer of an older version) that DuckDB holds open."""
    db = tmp_path / "warehouse.duckdb"
    temp = tmp_path / ".warehouse.duckdb.0123abcd.tmp"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         "con = duckdb.connect(sys.argv[1]); con.execute('CREATE TABLE t (x INT)'); print('ready', flush=True)\n"
         "time.sleep(120)", str(temp)],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        _age(*(tmp_path / name for name in _leftovers(db)))
        assert sweep_stale_temps(db) == []
        assert temp.exists()
    finally:
        _kill(holder)
    assert temp in sweep_stale_temps(db)
    assert not temp.exists()


def test_a_killed_writers_recent_files_go_once_its_lock_is_free(tmp_path: Path) -> None:
    """Issue 18: 17 builds killed within the hour left 649 MB. A writer's lock file that nobody
    holds means the writer is gone, so its files go at the next write whatever their age;
    a live writer's recent files stay."""
    db = tmp_path / "warehouse.duckdb"
    _write(db, 1)
    child, temp = _start_writer(db)
    try:
        soon = time.time() + LOCK_GRACE_S + 1
        assert sweep_stale_temps(db, now=soon) == []  # alive: kept
    finally:
        _kill(child)
    leftovers = _leftovers(db)
    assert temp.name in leftovers and temp.name + ".lock" in leftovers
    assert any(".spill-" in name for name in leftovers)
    removed = sweep_stale_temps(db, now=time.time() + LOCK_GRACE_S + 1)  # minutes old, not hours
    assert sorted(p.name for p in removed) == leftovers
    assert _leftovers(db) == []


def test_a_fresh_unheld_lock_file_gets_its_grace(tmp_path: Path) -> None:
    """A writer between creating its lock file and locking it is not swept."""
    db = tmp_path / "warehouse.duckdb"
    lock = tmp_path / ".warehouse.duckdb.0123abcd.tmp.lock"
    lock.write_bytes(b"")
    assert sweep_stale_temps(db) == []
    assert lock.exists()
    assert sweep_stale_temps(db, now=time.time() + LOCK_GRACE_S + 1) == [lock]
