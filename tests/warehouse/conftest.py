"""Fixtures for the demo generator tests: tiny warehouses built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from chatbi.warehouse.demo import DemoSummary, generate_demo
from chatbi.warehouse.schema import RAW_TABLES

SEED = 7


@pytest.fixture(scope="session")
def demo_tiny(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The tiny demo (seed 7, default end date 2026-09-30), generated once."""
    path = tmp_path_factory.mktemp("demo") / "tiny.duckdb"
    return generate_demo(path, scale="tiny", seed=SEED)


@pytest.fixture(scope="session")
def demo_tiny_early(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The tiny demo ending 2025-06-30 (stories move with the end date)."""
    path = tmp_path_factory.mktemp("demo_early") / "tiny.duckdb"
    return generate_demo(path, scale="tiny", seed=SEED, end_date=date(2025, 6, 30))


@pytest.fixture()
def con(demo_tiny: DemoSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(demo_tiny.path), read_only=True)
    yield connection
    connection.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    """First column of the first row (results are fetched fully)."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0][0]


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def table_hashes(path: Path) -> dict[str, tuple[int, int]]:
    """Order-independent fingerprint of every raw table: (row count, sum of row hashes)."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table, columns in RAW_TABLES.items():
            cols = ", ".join(columns)
            count, total = connection.execute(
                f"SELECT count(*), sum(hash({cols})::HUGEINT) FROM {table}").fetchall()[0]
            out[table] = (int(count), int(total or 0))
        return out
    finally:
        connection.close()
