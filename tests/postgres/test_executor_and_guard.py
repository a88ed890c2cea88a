"""The PostgreSQL executor's guarantees, and the guard's row-level security and PII rules,
on a real server."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from chatbi.errors import ChatBIError
from chatbi.sql.access import default_policy
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role
from chatbi.sql.postgres import PostgresExecutor
from chatbi.sql.run import run_guarded
from chatbi.warehouse.postgres import publish_tables
from tests.postgres.compare import differences

POLICY = default_policy()


def _code(call: Any) -> str:
    with pytest.raises(ChatBIError) as err:
        call()
    return err.value.code


def test_writes_are_refused_by_the_transaction_and_by_the_role(pg_executor: PostgresExecutor,
                                                                pg_tiny: dict[str, Any]) -> None:
    before = pg_executor.scalar("SELECT COUNT(*) FROM orders")
    # the executor's own check: one SELECT only
    assert _code(lambda: pg_executor.run("DELETE FROM orders")) == "sql_not_select"
    # a data-modifying CTE is a SELECT to a parser, but the read-only transaction refuses it
    sql = "WITH gone AS (DELETE FROM orders RETURNING order_id) SELECT COUNT(*) FROM gone"
    assert _code(lambda: pg_executor.run(sql)) in ("sql_not_select", "sql_permission_denied")
    # the reader role itself has no write grant, even outside a read-only transaction
    with psycopg.connect(pg_tiny["reader_url"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM shop.orders")
    assert pg_executor.scalar("SELECT COUNT(*) FROM orders") == before > 0


def test_time_limit_cancels_on_the_server(pg_tiny: dict[str, Any]) -> None:
    executor = PostgresExecutor(pg_tiny["reader_url"], schema="shop", timeout_s=1)
    started = time.perf_counter()
    slow = "SELECT COUNT(*) FROM events a CROSS JOIN events b"
    assert _code(lambda: executor.run(slow)) == "query_timeout"
    assert time.perf_counter() - started < 4
    # really cancelled: the server runs no such statement any more
    with psycopg.connect(pg_tiny["admin_url"], autocommit=True) as conn:
        running = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                               "AND query LIKE %s AND pid <> pg_backend_pid()", ("%CROSS JOIN events b%",)).fetchone()
    assert running is not None and running[0] == 0
    assert executor.scalar("SELECT 1") == 1  # the connection is usable again
    executor.close()


def test_max_rows_plus_one_sets_truncated(pg_executor: PostgresExecutor, duck_executor: Any) -> None:
    sql = "SELECT order_id FROM orders ORDER BY order_id"
    result = pg_executor.run(sql, max_rows=7)
    assert len(result.rows) == 7 and result.truncated
    assert differences(result, duck_executor.run(sql, max_rows=7), ordered=True) is None
    whole = pg_executor.run("SELECT region FROM users GROUP BY region", max_rows=100)
    assert not whole.truncated and 0 < len(whole.rows) < 100


@pytest.mark.parametrize(("sql", "code"), [
    ("SELECT no_such_column FROM orders", "warehouse_incomplete"),
    ("SELECT * FROM no_such_table", "warehouse_incomplete"),
    ("SELECT 1 / 0", "sql_error"),
    ("SELECT CAST('x' AS INTEGER)", "sql_error"),
    ("SELECT 1; SELECT 2", "sql_not_select"),
])
def test_errors_are_classified(pg_executor: PostgresExecutor, sql: str, code: str) -> None:
    assert _code(lambda: pg_executor.run(sql)) == code


def test_unreachable_or_unconfigured_warehouse_is_a_clear_error(pg: Any) -> None:
    assert _code(lambda: PostgresExecutor("", schema="shop").run("SELECT 1")) == "warehouse_not_configured"
    closed_port = f"postgresql://postgres@127.0.0.1:{pg.port + 1 if pg.port < 65535 else 1}/chatbi"
    assert _code(lambda: PostgresExecutor(closed_port, schema="shop").run("SELECT 1")) == "warehouse_unreachable"


def test_version_changes_when_tables_are_published_and_snapshot_pins_it(
        pg_tiny: dict[str, Any], tiny_db: Any) -> None:
    executor = PostgresExecutor(pg_tiny["reader_url"], schema="shop", timeout_s=5)
    first = executor.version()
    assert executor.version() == first  # nothing changed, same version
    publisher = threading.Thread(target=publish_tables, args=(tiny_db, pg_tiny["admin_url"]),
                                 kwargs={"schema": "shop", "tables": ["alerts"]})
    with executor.snapshot():
        pinned = executor.version()
        alerts_before = executor.scalar("SELECT COUNT(*) FROM alerts")
        publisher.start()
        publisher.join(1.5)
        # the answer in flight keeps its tables: the publish waits, the data and version hold
        assert publisher.is_alive()
        assert executor.version() == pinned
        assert executor.scalar("SELECT COUNT(*) FROM alerts") == alerts_before
    publisher.join(30)
    assert not publisher.is_alive()
    assert executor.version() != first  # the publish replaced the table's storage
    assert executor.scalar("SELECT COUNT(*) FROM alerts") == alerts_before  # same content, re-published
    executor.close()


MERCHANT_TABLES = ["orders", "order_items", "products", "reviews", "users", "follows", "alerts",
                   "tag_history", "merchant_profile", "user_merchant_relation", "campaign_touches"]


@pytest.mark.parametrize("table", MERCHANT_TABLES)
def test_merchant_rows_are_the_same_on_both_engines(table: str, pg_executor: PostgresExecutor,
                                                    duck_executor: Any) -> None:
    merchant = Role.parse("merchant:3")
    sql = f"SELECT COUNT(*) AS n FROM {table}"
    _, pg = run_guarded(sql, executor=pg_executor, policy=POLICY, role=merchant, dialect="duckdb")
    _, duck = run_guarded(sql, executor=duck_executor, policy=POLICY, role=merchant)
    _, everyone = run_guarded(sql, executor=pg_executor, policy=POLICY, role=Role.parse("admin"))
    assert differences(pg, duck) is None
    if table in ("orders", "order_items", "products"):
        assert 0 < pg.rows[0][0] < everyone.rows[0][0]  # the filter really applies on PostgreSQL


def test_merchant_cannot_reach_other_merchants_on_postgres(pg_executor: PostgresExecutor) -> None:
    merchant = Role.parse("merchant:3")
    _, result = run_guarded("SELECT DISTINCT o.merchant_id FROM orders o JOIN order_items i "
                            "ON i.order_id = o.order_id", executor=pg_executor, policy=POLICY,
                            role=merchant, dialect="duckdb")
    assert {row[0] for row in result.rows} == {3}
    for sql in ("SELECT * FROM user_profile", "SELECT * FROM kols"):
        assert _code(lambda sql=sql: run_guarded(sql, executor=pg_executor, policy=POLICY, role=merchant)) \
            == "sql_table_not_allowed"


@pytest.mark.parametrize("role", ["marketer", "merchant:3"])
def test_pii_is_refused_or_hidden_on_postgres(role: str, pg_executor: PostgresExecutor) -> None:
    who = Role.parse(role)
    for sql in ("SELECT phone FROM users", "SELECT user_id FROM users WHERE user_name LIKE '张%'",
                "SELECT COUNT(*) FROM users GROUP BY phone"):
        assert _code(lambda sql=sql: run_guarded(sql, executor=pg_executor, policy=POLICY, role=who)) \
            == "sql_pii_refused"
    guarded, result = run_guarded("SELECT * FROM users", executor=pg_executor, policy=POLICY, role=who)
    assert result.rows and not {"phone", "user_name"} & set(result.columns)
    assert "phone" not in guarded.sql.lower()


def test_guard_output_runs_on_postgres_where_duckdb_types_would_not(pg_executor: PostgresExecutor) -> None:
    """The guard writes PostgreSQL: DuckDB's DOUBLE would fail (type "double" does not exist)."""
    text = "SELECT region, CAST(COUNT(*) AS DOUBLE) / 7 AS share FROM users GROUP BY region"
    guarded = guard_sql(text, POLICY, Role.parse("admin"), dialect="duckdb", engine="postgres", schema="shop")
    assert pg_executor.run(guarded.sql).rows
    as_duckdb = guard_sql(text, POLICY, Role.parse("admin"), dialect="duckdb")
    assert _code(lambda: pg_executor.run(as_duckdb.sql)) == "sql_error"


def test_a_subquery_without_alias_runs_on_postgres(pg_executor: PostgresExecutor, duck_executor: Any) -> None:
    """DuckDB text (a gold answer, an LLM's SQL) may leave a derived table unnamed; PostgreSQL 15
    refuses that (subquery in FROM must have an alias): the guard and ``render`` name it."""
    from chatbi.sql.engines import render

    text = ("SELECT COUNT(*) FILTER (WHERE n >= 2) * 1.0 / COUNT(*) AS repurchase_rate "
            "FROM (SELECT user_id, COUNT(*) AS n FROM orders GROUP BY user_id)")
    reference = duck_executor.run(text)
    assert differences(reference, pg_executor.run(render(text, "postgres"))) is None
    guarded = guard_sql(text, POLICY, Role.parse("admin"), dialect="duckdb", engine="postgres", schema="shop")
    assert differences(reference, pg_executor.run(guarded.sql)) is None
