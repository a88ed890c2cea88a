"""A throw-away PostgreSQL 15 cluster on 127.0.0.1 with the tiny demo warehouse published
into schema ``shop``; chatbi reads it as ``chatbi_reader`` (SELECT grants only).

Every test here skips, with the reason, when Debian's PostgreSQL server binaries or psycopg
are missing (``.ci/run`` installs them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg_cluster import PgCluster, bin_dir

SCHEMA = "shop"


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed")
    folder = bin_dir()
    if folder is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    cluster = PgCluster(folder).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_tiny(pg: PgCluster, tiny_db: Path) -> dict[str, Any]:
    """Every table of the tiny warehouse (raw and derived) published to ``shop``."""
    import duckdb

    from chatbi.warehouse.postgres import publish_tables

    reader = pg.create_reader(SCHEMA)  # before publishing: default privileges cover new tables
    con = duckdb.connect(str(tiny_db), read_only=True)
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'main'").fetchall()]
    con.close()
    counts = publish_tables(tiny_db, pg.url(), schema=SCHEMA, tables=tables)
    return {"reader_url": reader, "admin_url": pg.url(), "schema": SCHEMA, "counts": counts}


@pytest.fixture(scope="session")
def pg_settings(tiny_settings: Any, pg_tiny: dict[str, Any]) -> Any:
    return dataclasses.replace(tiny_settings, engine="postgres", warehouse_url=pg_tiny["reader_url"],
                               warehouse_schema=SCHEMA)


@pytest.fixture(scope="session")
def pg_pipeline(pg_settings: Any) -> Iterator[Any]:
    from chatbi.answer.pipeline import Pipeline

    pipeline = Pipeline(pg_settings)
    yield pipeline
    pipeline.close()


@pytest.fixture(scope="session")
def pg_executor(pg_tiny: dict[str, Any]) -> Iterator[Any]:
    from chatbi.sql.postgres import PostgresExecutor

    executor = PostgresExecutor(pg_tiny["reader_url"], schema=SCHEMA, timeout_s=5)
    yield executor
    executor.close()


@pytest.fixture(scope="session")
def duck_executor(tiny_db: Path) -> Iterator[Any]:
    from chatbi.sql.executor import Executor

    executor = Executor(tiny_db, timeout_s=20)
    yield executor
    executor.close()
