"""The read-only executor on real DuckDB files: read-only, time limit, truncation, errors,
reopening after an atomic replace, and concurrent use."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from chatbi.errors import GuardError, QueryTimeoutError, WarehouseError
from chatbi.sql.executor import Executor, QueryError, QueryResult
from chatbi.warehouse.files import atomic_replace

from .warehouse import build_warehouse

SLOW_SQL = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b"


@pytest.fixture()
def fresh(tmp_path: Path) -> Path:
    return build_warehouse(tmp_path / "wh.duckdb")


def test_runs_a_select(executor: Executor) -> None:
    result = executor.run("SELECT merchant_id, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1")
    assert result.columns == ["merchant_id", "n"]
    assert result.rows == [(1, 10), (2, 10), (3, 10), (4, 10)]
    assert result.truncated is False
    assert result.elapsed_ms > 0


def test_truncation_flag(executor: Executor) -> None:
    more = executor.run("SELECT * FROM range(50)", max_rows=10)
    assert len(more.rows) == 10 and more.truncated
    exact = executor.run("SELECT * FROM range(10)", max_rows=10)
    assert len(exact.rows) == 10 and not exact.truncated
    empty = executor.run("SELECT * FROM range(0)", max_rows=10)
    assert empty.rows == [] and not empty.truncated


def test_scalar_and_frame(executor: Executor) -> None:
    assert executor.scalar("SELECT count(*) FROM users") == 12
    assert executor.scalar("SELECT 1 WHERE false") is None
    frame = executor.run("SELECT order_id, pay_amount FROM orders ORDER BY order_id LIMIT 2").to_frame()
    assert list(frame.columns) == ["order_id", "pay_amount"]
    assert frame["pay_amount"].dtype == "float64"
    assert frame["pay_amount"].tolist() == [10.0, 20.0]
    rows = QueryResult(["x"], [(Decimal("1.5"),), (None,)], False, 1.0).to_frame()
    assert rows["x"].dtype == "float64"


@pytest.mark.parametrize("sql", [
    "CREATE TABLE x (a INTEGER)",
    "INSERT INTO orders SELECT * FROM orders",
    "DROP TABLE orders",
    "SELECT 1; DROP TABLE orders",
    "PRAGMA version",
    "SET enable_external_access = true",
])
def test_run_refuses_anything_but_one_select(executor: Executor, sql: str) -> None:
    with pytest.raises(GuardError) as info:
        executor.run(sql)
    assert info.value.code == "sql_not_select"


def test_raw_connection_is_read_only_and_locked(fresh: Path) -> None:
    ex = Executor(fresh)
    try:
        ex.run("SELECT 1")
        con = ex._current().con  # the raw DuckDB connection, bypassing run()'s checks
        before = (os.stat(fresh).st_mtime_ns, os.stat(fresh).st_size)
        for sql in [
            "CREATE TABLE x (a INTEGER)",
            "INSERT INTO orders (order_id) VALUES (999)",
            "UPDATE orders SET pay_amount = 0",
            "DELETE FROM orders",
            "DROP TABLE orders",
            f"ATTACH '{fresh.parent / 'other.duckdb'}' AS other",
            f"COPY orders TO '{fresh.parent / 'out.csv'}'",
            "SELECT * FROM read_csv('/etc/passwd')",
            "SET enable_external_access = true",
            "SET lock_configuration = false",
            "INSTALL httpfs",
            "LOAD httpfs",
        ]:
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        assert ex.scalar("SELECT count(*) FROM orders") == 40
        assert ex.scalar("SELECT sum(pay_amount) FROM orders") == Decimal("8200.00")
        assert (os.stat(fresh).st_mtime_ns, os.stat(fresh).st_size) == before
        assert not (fresh.parent / "out.csv").exists()
    finally:
        ex.close()


def test_timeout_interrupts_a_runaway_query(fresh: Path) -> None:
    ex = Executor(fresh, timeout_s=0.5)
    try:
        started = time.perf_counter()
        with pytest.raises(QueryTimeoutError) as info:
            ex.run(SLOW_SQL)
        elapsed = time.perf_counter() - started
        assert elapsed < 5.0
        assert info.value.code == "query_timeout"
        assert "0.5" in info.value.message and " / " in info.value.message
        assert ex.scalar("SELECT count(*) FROM orders") == 40  # still usable afterwards
    finally:
        ex.close()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError) as info:
        Executor(tmp_path / "nope.duckdb").run("SELECT 1")
    assert info.value.code == "warehouse_missing"
    assert "chatbi init --demo" in info.value.message


@pytest.mark.parametrize("content", [b"", b"not a database" * 500, "truncated"])
def test_corrupt_file(tmp_path: Path, fresh: Path, content: bytes | str) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(fresh.read_bytes()[:5000] if content == "truncated" else content)
    ex = Executor(bad)
    with pytest.raises(WarehouseError) as info:
        ex.run("SELECT count(*) FROM orders")
    assert info.value.code == "warehouse_corrupt"
    ex.close()


def test_locked_by_a_writer_in_another_process(fresh: Path) -> None:
    script = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(fresh)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseError) as info:
            Executor(fresh).run("SELECT 1")
        assert info.value.code == "warehouse_locked"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_locked_by_a_writer_in_this_process(fresh: Path) -> None:
    writer = duckdb.connect(str(fresh))
    try:
        with pytest.raises(WarehouseError) as info:
            Executor(fresh).run("SELECT 1")
        assert info.value.code == "warehouse_locked"
    finally:
        writer.close()


def test_reopens_after_atomic_replace(fresh: Path) -> None:
    ex = Executor(fresh)
    try:
        assert ex.scalar("SELECT max(platform) FROM kols") == "v1"
        with atomic_replace(fresh) as tmp:
            build_warehouse(tmp, marker="v2")
        assert ex.scalar("SELECT max(platform) FROM kols") == "v2"
    finally:
        ex.close()


def test_old_file_stays_open_while_a_query_holds_it(fresh: Path) -> None:
    """A cursor taken before the replace keeps reading the old file; it closes afterwards."""
    ex = Executor(fresh)
    try:
        old = ex._current()
        in_flight = old.cursor()  # what run() holds while a query executes
        with atomic_replace(fresh) as tmp:
            build_warehouse(tmp, marker="v2")
        assert ex.scalar("SELECT max(platform) FROM kols") == "v2"
        assert old.retired and ex._current() is not old
        assert in_flight.execute("SELECT max(platform) FROM kols").fetchall() == [("v1",)]
        in_flight.close()
        old.release()
        with pytest.raises(duckdb.Error):  # closed once the last query released it
            old.con.execute("SELECT 1")
    finally:
        ex.close()


def test_query_in_flight_finishes_on_the_old_file(fresh: Path) -> None:
    ex = Executor(fresh, timeout_s=60)
    # Size the slow query to take about half a second on this machine.
    probe = 20_000_000
    started = time.perf_counter()
    ex.run(f"SELECT max(k.platform), count(*) FROM kols k, range({probe}) r")
    per_row = (time.perf_counter() - started) / probe
    size = int(min(max(0.5 / max(per_row, 1e-12), probe), 2_000_000_000))
    slow = f"SELECT max(k.platform) AS p, count(*) AS n FROM kols k, range({size}) r"
    outcome: dict[str, object] = {}

    def run_slow() -> None:
        outcome["started"] = time.perf_counter()
        try:
            outcome["rows"] = ex.run(slow).rows
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc
        outcome["done"] = time.perf_counter()

    try:
        worker = threading.Thread(target=run_slow)
        worker.start()
        time.sleep(0.1)
        with atomic_replace(fresh) as tmp:
            build_warehouse(tmp, marker="v2")
        replaced = time.perf_counter()
        assert ex.scalar("SELECT max(platform) FROM kols") == "v2"
        worker.join(timeout=60)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["rows"] == [("v1", 3 * size)]
        assert outcome["done"] > replaced  # it really was in flight during the replace
    finally:
        ex.close()


def test_concurrent_runs_from_threads(executor: Executor) -> None:
    errors: list[BaseException] = []

    def worker(merchant: int) -> None:
        try:
            for _ in range(15):
                n = executor.scalar(f"SELECT count(*) FROM orders WHERE merchant_id = {merchant}")
                rows = executor.run(f"SELECT * FROM range({merchant * 7})", max_rows=100).rows
                assert n == 10 and len(rows) == merchant * 7
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(m,)) for m in (1, 2, 3, 4, 1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def test_duckdb_errors_become_query_errors(executor: Executor) -> None:
    with pytest.raises(QueryError) as info:
        executor.run("SELECT CAST(merchant_name AS INTEGER) FROM merchants")
    assert info.value.code == "sql_error" and info.value.exit_code == 2
    with pytest.raises(WarehouseError) as missing:
        executor.run("SELECT * FROM table_that_does_not_exist")
    assert missing.value.code == "warehouse_incomplete"


def test_close_then_reuse(fresh: Path) -> None:
    ex = Executor(fresh)
    assert ex.scalar("SELECT 1") == 1
    ex.close()
    assert ex.scalar("SELECT 2") == 2  # reopens lazily
    ex.close()
