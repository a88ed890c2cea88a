"""Queries in worker processes (``IsolatedExecutor``): a runaway costs only its worker, the
server process keeps its memory and keeps answering other threads, versions stay pinned.
Real worker processes, real DuckDB; the statements here bypass the guard on purpose (the
guard refuses them) to show the backstop holds on its own."""

from __future__ import annotations

import os
import resource
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest

from chatbi.errors import QueryTimeoutError
from chatbi.sql.executor import QueryError
from chatbi.sql.isolated import IsolatedExecutor, parse_bytes

# Work DuckDB cannot interrupt: one scalar call of ~40 s (two rows of memory only).
UNINTERRUPTIBLE = "SELECT levenshtein(repeat('a', 200000), repeat('b', 200000))"
# Allocations far past the limit, made inside one scalar call.
HUGE = ["SELECT len(range(1000000000))", "SELECT length(repeat('x', 3000000000))"]


@pytest.fixture(scope="module")
def isolated(warehouse_path: Path):
    ex = IsolatedExecutor(warehouse_path, timeout_s=2.0, memory_limit="2GB", workers=2)
    yield ex
    ex.close()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_parse_bytes() -> None:
    assert parse_bytes("4GB") == 4_000_000_000
    assert parse_bytes("512MiB") == 512 * 2**20
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_answers_like_the_executor(isolated: IsolatedExecutor, executor) -> None:
    sql = "SELECT merchant_id, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1"
    assert isolated.run(sql).rows == executor.run(sql).rows
    assert isolated.scalar("SELECT count(*) FROM users") == 12
    with pytest.raises(QueryError):
        isolated.run("SELECT CAST('x' AS INTEGER)")


@pytest.mark.parametrize("sql", HUGE)
def test_huge_allocations_fail_in_the_worker(isolated: IsolatedExecutor, sql: str) -> None:
    before = _rss_mb()
    started = time.perf_counter()
    with pytest.raises(QueryError) as info:
        isolated.run(sql)
    assert info.value.code == "query_out_of_memory"
    assert time.perf_counter() - started < 2 * isolated.timeout_s + 1
    assert _rss_mb() - before < 200  # the server process did not grow
    assert isolated.scalar("SELECT 1") == 1


def test_uninterruptible_work_is_killed_and_others_are_answered(isolated: IsolatedExecutor) -> None:
    """The worker of an uninterruptible query is killed within 2× the limit; meanwhile another
    thread's queries are answered by the other worker, promptly."""
    warm = [threading.Thread(target=isolated.scalar, args=("SELECT 1",)) for _ in range(2)]
    for t in warm:  # both workers started (start-up is not what this test measures)
        t.start()
    for t in warm:
        t.join(60)
    answered: list[float] = []

    def others() -> None:
        for _ in range(10):
            t = time.perf_counter()
            assert isolated.scalar("SELECT count(*) FROM orders") == 40
            answered.append(time.perf_counter() - t)
            time.sleep(0.1)

    thread = threading.Thread(target=others)
    started = time.perf_counter()
    thread.start()
    with pytest.raises(QueryTimeoutError):
        isolated.run(UNINTERRUPTIBLE)
    elapsed = time.perf_counter() - started
    thread.join(30)
    assert 1.5 < elapsed < 2 * isolated.timeout_s + 1
    assert len(answered) == 10 and max(answered) < 3.0
    assert isolated.scalar("SELECT 2") == 2  # a fresh worker replaces the killed one


def test_snapshot_pins_a_version_replaced_meanwhile(warehouse_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    shutil.copy(warehouse_path, path)
    ex = IsolatedExecutor(path, timeout_s=5.0, memory_limit="2GB", workers=1, prestart=False)
    try:
        with ex.snapshot():
            before = ex.scalar("SELECT count(*) FROM orders")
            fresh = tmp_path / "new.duckdb"
            shutil.copy(warehouse_path, fresh)
            con = duckdb.connect(str(fresh))
            con.execute("DELETE FROM orders WHERE order_id % 2 = 0")
            con.close()
            os.replace(fresh, path)
            assert ex.scalar("SELECT count(*) FROM orders") == before
        assert ex.scalar("SELECT count(*) FROM orders") == before // 2
    finally:
        ex.close()


def test_close_stops_the_workers(warehouse_path: Path) -> None:
    ex = IsolatedExecutor(warehouse_path, timeout_s=5.0, memory_limit="2GB", workers=1,
                          prestart=False)
    ex.scalar("SELECT 1")
    worker = ex._idle[0]
    ex.close()
    assert not worker.alive()


def test_close_stops_a_worker_busy_at_the_time(warehouse_path: Path) -> None:
    """A worker in use when the executor closes is stopped when its query ends; a later query
    starts a fresh one."""
    ex = IsolatedExecutor(warehouse_path, timeout_s=1.5, memory_limit="2GB", workers=1, prestart=False)
    ex.scalar("SELECT 1")
    busy = ex._idle[0]
    done = threading.Event()

    def slow() -> None:
        with pytest.raises(QueryTimeoutError):
            ex.run("SELECT count(*) FROM range(1000000000) a, range(1000000000) b")
        done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    ex.close()
    thread.join(30)
    assert done.is_set() and not busy.alive()
    assert ex.scalar("SELECT 2") == 2  # a fresh worker
    ex.close()
