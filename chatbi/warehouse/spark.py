"""Writing the warehouse for Spark: one Parquet file per table, from the DuckDB build file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import sqlglot

__all__ = ["export_parquet"]


def export_parquet(db_path: Path, folder: Path, *, tables: Iterable[str] | None = None) -> list[str]:
    """Write every table (or ``tables``) of the DuckDB file to ``folder/<table>.parquet``.

    Each file is written beside its final name and renamed over it, so a Spark session that
    registers the folder's tables never reads a half-written file. Returns the tables written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=True)
    written: list[str] = []
    try:
        names = list(tables) if tables is not None else [
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        for name in names:
            ident = sqlglot.exp.to_identifier(name, quoted=True).sql(dialect="duckdb")
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".parquet", dir=folder)
            os.close(fd)
            target = tmp.replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {ident}) TO '{target}' (FORMAT parquet)")
            os.replace(tmp, folder / f"{name}.parquet")
            written.append(name)
    finally:
        con.close()
    return written
