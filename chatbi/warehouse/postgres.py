"""Moving tables between the DuckDB build file and a PostgreSQL warehouse (psycopg 3).

Profiles on PostgreSQL are **built in DuckDB and published** (docs/warehouses.md says why):

* ``export_schema`` copies the raw tables of a PostgreSQL schema out as CSV (``COPY … TO
  STDOUT``), so ``chatbi import postgres`` can load them with the CSV importer's contract
  checks into a DuckDB build file;
* the profile build runs there unchanged (SQL steps in DuckDB, the churn model, recommender
  and sentiment in Python);
* ``publish_tables`` copies the derived tables (profiles, relations, tag history, alerts,
  predictions, build info) into the PostgreSQL schema **in one transaction**: each table is
  dropped and created again with the DuckDB column types rendered for PostgreSQL by sqlglot,
  then filled with ``COPY … FROM STDIN`` and analyzed (planner statistics). Readers see either the old set of tables or the new
  one, never a mix, and the executor's warehouse version changes at the commit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import psycopg
import sqlglot
from psycopg import sql as pgsql
from sqlglot import exp

from chatbi.errors import WarehouseError
from chatbi.sql.postgres import connect
from chatbi.warehouse.schema import RAW_TABLES

__all__ = ["derived_tables", "export_schema", "postgres_type", "publish_tables"]

Progress = Callable[[str, float], None]
_BATCH = 5000


def postgres_type(duckdb_type: str) -> str:
    """A DuckDB column type as PostgreSQL spells it (``DOUBLE`` → ``DOUBLE PRECISION``)."""
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="postgres")


def derived_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables of the build file that are not raw contract tables (what the build wrote)."""
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'main' ORDER BY table_name").fetchall()
    return [name for (name,) in rows if name not in RAW_TABLES]


def publish_tables(db_path: Path, url: str, *, schema: str = "public", tables: Iterable[str] | None = None,
                   progress: Progress | None = None) -> dict[str, int]:
    """Copy ``tables`` (default: the derived tables) from the DuckDB file to ``schema`` in
    one PostgreSQL transaction; returns the row count of each table.

    ``url`` must name a role that may create tables in ``schema`` (not the read-only role
    chatbi answers with). Grants: the new tables get the schema's default privileges
    (``ALTER DEFAULT PRIVILEGES … GRANT SELECT ON TABLES TO chatbi_reader``).
    """
    report = progress or (lambda _s, _f: None)
    src = duckdb.connect(str(db_path), read_only=True)
    counts: dict[str, int] = {}
    try:
        names = list(tables) if tables is not None else derived_tables(src)
        conn = connect(url, read_only=False)
        try:
            with conn.transaction():
                # answers in flight hold their tables until they finish; wait for them, not forever
                conn.execute("SET LOCAL lock_timeout = '120s'")
                conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema)))
                for index, name in enumerate(names):
                    report(f"发布 / publishing {name}", index / max(1, len(names)))
                    counts[name] = _copy_table(src, conn, schema, name)
            report("完成 / done", 1.0)
        except (psycopg.Error, duckdb.Error) as exc:
            raise WarehouseError(
                f"发布到 PostgreSQL 失败，未做任何修改 / publishing to PostgreSQL failed, nothing was "
                f"changed: {str(exc).strip().splitlines()[0][:300]}",
                code="warehouse_publish_failed", detail=str(exc)) from exc
        finally:
            conn.close()
    finally:
        src.close()
    return counts


def _copy_table(src: duckdb.DuckDBPyConnection, conn: psycopg.Connection, schema: str, name: str) -> int:
    columns = src.execute(f"DESCRIBE {_duck_ident(name)}").fetchall()
    target = pgsql.Identifier(schema, name)
    defs = pgsql.SQL(", ").join(
        pgsql.SQL("{} {}").format(pgsql.Identifier(col[0]), pgsql.SQL(postgres_type(col[1])))
        for col in columns)
    conn.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(target))
    conn.execute(pgsql.SQL("CREATE TABLE {} ({})").format(target, defs))
    names = pgsql.SQL(", ").join(pgsql.Identifier(col[0]) for col in columns)
    if any("[" in str(col[1]) or str(col[1]).upper().startswith(("STRUCT", "MAP", "UNION")) for col in columns):
        count = _copy_rows(src, conn, target, names, name)  # lists: psycopg adapts them to arrays
    else:
        count = _copy_csv(src, conn, target, names, name)
    conn.execute(pgsql.SQL("ANALYZE {}").format(target))  # planner statistics for the new rows
    return count


def _copy_rows(src: duckdb.DuckDBPyConnection, conn: psycopg.Connection, target: pgsql.Composable,
               names: pgsql.Composable, name: str) -> int:
    """Row by row through psycopg (tables with list columns)."""
    cur = src.execute(f"SELECT * FROM {_duck_ident(name)}")
    count = 0
    with conn.cursor().copy(pgsql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
        while True:
            batch = cur.fetchmany(_BATCH)
            if not batch:
                break
            for row in batch:
                copy.write_row(row)
            count += len(batch)
    return count


def _copy_csv(src: duckdb.DuckDBPyConnection, conn: psycopg.Connection, target: pgsql.Composable,
              names: pgsql.Composable, name: str) -> int:
    """DuckDB writes CSV, PostgreSQL reads it (``COPY … FROM STDIN (FORMAT csv)``): both in C.

    NULL is an unquoted empty field and an empty string a quoted one in both engines' CSV.
    """
    with tempfile.TemporaryDirectory(prefix="chatbi-publish-") as folder:
        path = Path(folder) / "rows.csv"
        literal = str(path).replace("'", "''")
        src.execute(f"COPY (SELECT * FROM {_duck_ident(name)}) TO '{literal}' (FORMAT csv, HEADER false)")
        query = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)
        with conn.cursor() as cur:
            with cur.copy(query) as copy, open(path, "rb") as rows:
                while block := rows.read(1 << 20):
                    copy.write(block)
            return int(cur.rowcount)


def export_schema(url: str, schema: str, folder: Path, *, tables: Iterable[str] | None = None) -> list[str]:
    """Write each raw contract table found in ``schema`` to ``folder/<table>.csv`` (header
    row, the contract's columns that the table has); returns the tables written."""
    conn = connect(url, read_only=True)
    written: list[str] = []
    try:
        present = {
            (row[0], row[1]) for row in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
                (schema,)).fetchall()
        }
        for table in tables or RAW_TABLES:
            cols = [c for c in RAW_TABLES[table] if (table, c) in present]
            if not cols:
                continue
            query = pgsql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv, HEADER)").format(
                pgsql.SQL(", ").join(pgsql.Identifier(c) for c in cols), pgsql.Identifier(schema, table))
            with open(folder / f"{table}.csv", "wb") as out, conn.cursor().copy(query) as copy:
                for data in copy:
                    out.write(data)
            written.append(table)
    except psycopg.Error as exc:
        raise WarehouseError(f"读取 PostgreSQL 失败 / reading PostgreSQL failed: "
                             f"{str(exc).strip().splitlines()[0][:300]}",
                             code="warehouse_unreachable", detail=str(exc)) from exc
    finally:
        conn.close()
    if not written:
        raise WarehouseError(f"schema {schema} 中没有原始数据表 / schema {schema} holds none of the raw "
                             f"tables ({', '.join(RAW_TABLES)})", code="warehouse_incomplete")
    return written


def import_postgres(url: str, schema: str, db_path: Path, *, progress: Progress | None = None):  # noqa: ANN201
    """``chatbi import postgres``: the schema's raw tables into a new DuckDB build file, with
    the CSV importer's contract checks (returns its ``ImportReport``)."""
    from chatbi.warehouse.importers.csv_import import import_csv

    with tempfile.TemporaryDirectory(prefix="chatbi-pg-export-") as folder:
        export_schema(url, schema, Path(folder))
        return import_csv(Path(folder), db_path, progress=progress)


def _duck_ident(name: str) -> str:
    return sqlglot.exp.to_identifier(name, quoted=True).sql(dialect="duckdb")
