"""Shared last steps of every import: empty optional tables, import_info, row counts.

``import_info`` (one row) records where the data came from and what it lacks, so the
answering side can say "this warehouse has no clickstream" instead of showing zeros;
``import_gaps`` lists each table or column with no counterpart in the source and why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from chatbi.warehouse.importers.staging import one_row
from chatbi.warehouse.schema import RAW_TABLES, create_table_sql

Gap = tuple[str, str | None, str]  # (table, column or None for the whole table, reason)


def create_empty(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> None:
    """Create each raw table in ``tables`` empty, with the contract's columns."""
    for table in tables:
        con.execute(create_table_sql(table))


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every raw table, in contract order."""
    return {t: one_row(con, f"SELECT count(*) FROM {t}")[0] for t in RAW_TABLES}


def write_import_info(con: duckdb.DuckDBPyConnection, *, source: str, source_dir: Path,
                      counts: Mapping[str, int], notes: Sequence[str],
                      empty_tables: Sequence[str], gaps: Sequence[Gap],
                      currency: str | None = None) -> None:
    """Create ``import_info`` and ``import_gaps`` in the new warehouse.

    ``currency`` is the ISO code of the money columns when the source says (Olist: BRL);
    NULL means the contract's default (CNY, 元).
    """
    con.execute("""
        CREATE TABLE import_info (source VARCHAR, source_dir VARCHAR, imported_at TIMESTAMP,
                                  row_counts_json VARCHAR, empty_tables VARCHAR[],
                                  notes VARCHAR[], currency VARCHAR)""")
    con.execute("INSERT INTO import_info VALUES (?, ?, ?, ?, ?, ?, ?)",
                [source, str(source_dir), datetime.now().replace(microsecond=0),
                 json.dumps(dict(counts)), list(empty_tables), list(notes), currency])
    con.execute("CREATE TABLE import_gaps (table_name VARCHAR, column_name VARCHAR, "
                "reason VARCHAR)")
    if gaps:
        con.executemany("INSERT INTO import_gaps VALUES (?, ?, ?)", [list(g) for g in gaps])
