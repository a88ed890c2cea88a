"""Resource limits that hold by construction (issue 18): the guard bounds generators, string
builders and string distances; the executor bounds result bytes and counts its time limit
from the start of the call. Real sqlglot, real DuckDB."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chatbi.errors import GuardError, QueryTimeoutError
from chatbi.sql.executor import Executor, QueryError
from chatbi.sql.guard import guard_sql
from chatbi.sql.limits import MAX_BUILT_CHARS, MAX_LIST_ELEMENTS, MAX_SERIES_ROWS
from chatbi.sql.policy import AccessPolicy

from .conftest import ROLES

# The hostile statements of issue 18, and neighbours that reach the same sizes other ways.
REFUSED = [
    "SELECT len(range(100000000))",
    "SELECT repeat('x', 1000000) AS s FROM range(1000)",
    "SELECT length(repeat('x', 2000000000))",
    "SELECT damerau_levenshtein(repeat('a', 24000), repeat('b', 24000))",
    "SELECT * FROM range(100000000)",
    "SELECT count(*) FROM generate_series(1, 2000000)",
    "SELECT unnest(range(20000))",
    "SELECT len(range(6000)) + len(range(6000))",
    "SELECT generate_series(TIMESTAMP '2000-01-01', TIMESTAMP '2024-12-31', INTERVAL 1 SECOND)",
    "SELECT range(user_id) FROM users",
    "SELECT * FROM range((SELECT max(user_id) FROM users))",
    "SELECT repeat('x', user_id) FROM users",
    "SELECT lpad('x', 100000000, 'y')",
    "SELECT rpad(region, user_id, 'y') FROM users",
    "SELECT repeat(region, 100) FROM users",
    "SELECT repeat(repeat('ab', 100), 100)",
    "WITH t AS (SELECT string_agg(region, '') AS s FROM users) SELECT repeat(s, 2) FROM t",
    "SELECT repeat(s, 3) FROM (SELECT string_agg(region, '') FROM users) AS t(s)",
    "SELECT repeat((SELECT string_agg(region, '') FROM users), 2)",
    "SELECT printf('%1000000d', 1)",
    "SELECT format('{:>1000000}', 'x')",
    "SELECT printf('%*d', 1000000000, 1)",
    "SELECT printf('%.*f', 1000000000, 1.0)",
    "SELECT format('{:>{}}', 'x', 1000000000)",
    "SELECT bar(1, 0, 10, 100000000)",
    "SELECT to_base(5, 2, 1000000)",
    "SELECT regexp_replace(region, '', repeat('x', 5000), 'g') FROM users",
    "SELECT levenshtein(repeat('a', 3000), region) FROM users",
    "SELECT jaro_winkler_similarity(string_agg(region, ''), 'x') FROM users",
    "SELECT hamming(lpad('a', 5000, 'b'), lpad('a', 5000, 'c'))",
    "WITH RECURSIVE t(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM t WHERE length(s) < 2000000000) "
    "SELECT max(length(s)) FROM t",
    "WITH RECURSIVE t(l) AS (SELECT [1] UNION ALL SELECT list_concat(l, l) FROM t WHERE len(l) < 100000000) "
    "SELECT max(len(l)) FROM t",
]

ALLOWED = [
    "SELECT * FROM range(10)",
    f"SELECT count(*) FROM range({MAX_SERIES_ROWS}) AS t(i)",
    "SELECT x FROM generate_series(1, 100, 3) AS t(x)",
    "SELECT generate_series(DATE '2024-01-01', DATE '2024-12-31', INTERVAL 1 DAY)",
    "SELECT * FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-02', INTERVAL '1 hour')",
    "SELECT unnest(range(5))",
    "SELECT repeat('-', 20) AS line",
    "SELECT lpad(CAST(user_id AS VARCHAR), 8, '0') FROM users",
    "SELECT region || ' / ' || city FROM users",
    "SELECT replace(region, '华', 'Hua') FROM users",
    "SELECT levenshtein(region, city) FROM users",
    "SELECT printf('%5d', user_id) FROM users",
    "SELECT string_agg(region, ',') FROM users",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 100) SELECT sum(n) FROM t",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_unbounded_sizes_are_refused(sql: str, policy: AccessPolicy) -> None:
    for role in ("admin", "marketer"):
        with pytest.raises(GuardError) as info:
            guard_sql(sql, policy, ROLES[role])
        assert info.value.code == "sql_resource_limit", (sql, info.value.code)
        assert " / " in info.value.message  # Chinese / English reason


@pytest.mark.parametrize("sql", ALLOWED)
def test_bounded_sizes_pass_and_run(sql: str, policy: AccessPolicy, executor: Executor) -> None:
    guarded = guard_sql(sql, policy, ROLES["admin"])
    executor.run(guarded.sql, max_rows=10)


def test_limits_are_at_their_stated_values(policy: AccessPolicy) -> None:
    """Exactly at the limit passes, one over is refused (the constants are the contract)."""
    guard_sql(f"SELECT * FROM range({MAX_SERIES_ROWS})", policy, ROLES["admin"])
    guard_sql(f"SELECT len(range({MAX_LIST_ELEMENTS}))", policy, ROLES["admin"])
    guard_sql(f"SELECT repeat('x', {MAX_BUILT_CHARS})", policy, ROLES["admin"])
    for sql in (f"SELECT * FROM range({MAX_SERIES_ROWS + 1})",
                f"SELECT len(range({MAX_LIST_ELEMENTS + 1}))",
                f"SELECT repeat('x', {MAX_BUILT_CHARS + 1})"):
        with pytest.raises(GuardError):
            guard_sql(sql, policy, ROLES["admin"])


def test_result_bytes_are_capped(warehouse_path: Path) -> None:
    """Past ``max_result_bytes`` the rows so far come back truncated; a first row alone that is
    too large is refused with a reason."""
    ex = Executor(warehouse_path, max_result_bytes=100_000, memory_limit="512MB")
    try:
        result = ex.run("SELECT repeat('x', 1000) AS s FROM range(1000)", max_rows=1000)
        assert result.truncated and 50 <= len(result.rows) < 100
        small = ex.run("SELECT repeat('x', 10) AS s FROM range(100)", max_rows=1000)
        assert not small.truncated and len(small.rows) == 100
        with pytest.raises(QueryError) as info:
            ex.run("SELECT repeat('x', 200000) AS s")
        assert info.value.code == "result_too_large" and "0.1 MB" in info.value.message
    finally:
        ex.close()


def test_time_limit_counts_from_the_start_and_covers_the_fetch(warehouse_path: Path) -> None:
    """A query whose rows stream slowly is stopped at the deadline too, not only one that is
    slow before its first row."""
    ex = Executor(warehouse_path, timeout_s=1.0, memory_limit="512MB")
    slow_rows = ("SELECT a.range AS i FROM range(1000000) a, range(100000) b "
                 "WHERE (a.range * 7 + b.range) % 99991 = 0")
    try:
        started = time.perf_counter()
        with pytest.raises(QueryTimeoutError):
            ex.run(slow_rows, max_rows=1000)
        assert time.perf_counter() - started < 2.0 * 1.0 + 1.0  # 2× the limit, 1 s slack for CI
        assert ex.scalar("SELECT 1") == 1
    finally:
        ex.close()


@pytest.mark.parametrize("sql", [
    "SELECT length(string_agg(repeat('x', 5000), '')) FROM range(1000000)",
    "SELECT len(list(a.range)) FROM range(1000000) AS a, range(1000) AS b",
    "SELECT count(DISTINCT a.range * 1000 + b.range) FROM range(1000000) AS a, range(1000) AS b",
])
def test_growing_aggregates_stop_at_duckdbs_limits(sql: str, policy: AccessPolicy, warehouse_path: Path) -> None:
    """What the guard lets through (bounded rows and strings) but aggregates into GBs is stopped
    by DuckDB's memory limit or the time limit, within 2× the limit."""
    ex = Executor(warehouse_path, timeout_s=3.0, memory_limit="256MB")
    try:
        guarded = guard_sql(sql, policy, ROLES["marketer"])
        started = time.perf_counter()
        with pytest.raises((QueryError, QueryTimeoutError)) as info:
            ex.run(guarded.sql)
        assert info.value.code in ("query_out_of_memory", "query_timeout")
        assert time.perf_counter() - started < 2 * 3.0 + 1
    finally:
        ex.close()
