"""``chatbi import postgres`` loads a PostgreSQL schema's raw tables into a DuckDB build file
(with the CSV importer's contract checks) and builds the profiles; ``chatbi profiles publish``
puts the built tables into a PostgreSQL schema in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from chatbi.channels.cli import app
from chatbi.errors import WarehouseError
from chatbi.warehouse.postgres import publish_tables
from chatbi.warehouse.schema import RAW_TABLES

runner = CliRunner()


def _pg_counts(url: str, schema: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)).fetchall()]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{schema}"."{t}"').fetchone()[0] for t in tables}


def _duck_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def test_import_a_schema_then_publish_the_profiles(pg_tiny: dict[str, Any], tmp_path: Path) -> None:
    build = tmp_path / "from_pg.duckdb"
    env = {"CHATBI_ENGINE": "duckdb"}
    done = runner.invoke(app, ["import", "postgres", pg_tiny["admin_url"], "--schema", "shop",
                               "--db", str(build), "--skip-index"], env=env)
    assert done.exit_code == 0, done.output
    imported = _duck_counts(build)
    source = _pg_counts(pg_tiny["admin_url"], "shop")
    for table in RAW_TABLES:
        assert imported[table] == source[table], table
    assert imported["user_profile"] == source["user_profile"] > 0  # profiles built from the import

    done = runner.invoke(app, ["profiles", "publish", "--url", pg_tiny["admin_url"], "--schema", "mart",
                               "--db", str(build)], env=env)
    assert done.exit_code == 0, done.output
    published = _pg_counts(pg_tiny["admin_url"], "mart")
    derived = {t: n for t, n in imported.items() if t not in RAW_TABLES}
    assert published == derived and "profile_build_info" in published


def test_a_failed_publish_changes_nothing(pg_tiny: dict[str, Any], tiny_db: Path) -> None:
    before = _pg_counts(pg_tiny["admin_url"], "shop")
    with pytest.raises(WarehouseError) as err:  # the second table does not exist: roll back the first
        publish_tables(tiny_db, pg_tiny["admin_url"], schema="shop", tables=["alerts", "no_such_table"])
    assert err.value.code == "warehouse_publish_failed" and "no_such_table" in err.value.message
    assert _pg_counts(pg_tiny["admin_url"], "shop") == before


def test_the_reader_role_cannot_publish(pg_tiny: dict[str, Any], tiny_db: Path) -> None:
    with pytest.raises(WarehouseError) as err:
        publish_tables(tiny_db, pg_tiny["reader_url"], schema="shop", tables=["alerts"])
    assert err.value.code == "warehouse_publish_failed"


def test_publish_keeps_every_value(pg_tiny: dict[str, Any], tmp_path: Path) -> None:
    """NULL and empty text, quotes, new lines, Chinese, decimals, infinities, timestamps and
    lists arrive as they were (CSV for flat tables, row by row for tables with lists)."""
    from decimal import Decimal

    path = tmp_path / "values.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE flat (s VARCHAR, d DECIMAL(12,2), f DOUBLE, t TIMESTAMP, b BOOLEAN, day DATE)")
    rows = [(None, None, None, None, None, None), ("", Decimal("0.10"), float("inf"), "2026-07-01 20:00:00", True, "2026-07-01"),
            ('引号"和,逗号\n换行', Decimal("-12.34"), 1e-12, "1999-12-31 23:59:59.123456", False, "1999-12-31")]
    con.executemany("INSERT INTO flat VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE listed (id INTEGER, tags VARCHAR[])")
    con.execute("INSERT INTO listed VALUES (1, ['a', '高价值', NULL]), (2, []), (3, NULL)")
    expected = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1 NULLS FIRST").fetchall() for t in ("flat", "listed")}
    con.close()
    publish_tables(path, pg_tiny["admin_url"], schema="values_check")
    with psycopg.connect(pg_tiny["admin_url"], autocommit=True) as conn:
        for table, want in expected.items():
            got = conn.execute(f"SELECT * FROM values_check.{table} ORDER BY 1 NULLS FIRST").fetchall()
            assert [tuple(r) for r in got] == [tuple(r) for r in want], table
