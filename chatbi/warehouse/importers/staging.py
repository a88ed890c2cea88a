"""A scratch DuckDB file holding every source file as text, for checks before any write.

Each source file becomes one table whose columns are all VARCHAR (Parquet columns are cast
to text too, their original types kept for messages). The table keeps the file's row order,
so ``rowid + 1`` is the data row number users see in problems (1 = first data row, which is
line 2 of a CSV file with its header). The scratch folder sits beside the warehouse (same
disk, no surprise on a small /tmp) and is removed when the block ends.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from chatbi.errors import WarehouseError


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row an aggregate query returns."""
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return tuple(row)


def quote_ident(name: str) -> str:
    """A DuckDB identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_str(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def file_kind(path: Path) -> str | None:
    """'csv' or 'parquet' by file name, else None."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None


@dataclass
class StagedTable:
    """One staged source file: its columns (lower-case name → name in the file) and types."""

    name: str
    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    source_types: dict[str, str] = field(default_factory=dict)  # lower-case name → type in file
    rows: int = 0


class Staging:
    """Context manager around the scratch database; ``load`` stages one file."""

    def __init__(self, beside: Path, *, memory_limit: str = "2GB", threads: int = 2):
        self._beside = Path(beside)
        self._memory_limit = memory_limit
        self._threads = threads
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.con: duckdb.DuckDBPyConnection | None = None
        self.path: Path | None = None
        self.tables: dict[str, StagedTable] = {}

    def __enter__(self) -> Staging:
        self._beside.mkdir(parents=True, exist_ok=True)
        self._tmpdir = tempfile.TemporaryDirectory(prefix=".chatbi-import-", dir=self._beside)
        self.path = Path(self._tmpdir.name) / "staging.duckdb"
        try:
            self.con = duckdb.connect(str(self.path), config={
                "threads": self._threads, "memory_limit": self._memory_limit,
                "temp_directory": str(Path(self._tmpdir.name) / "spill"),
                "preserve_insertion_order": True,
            })
        except duckdb.Error as exc:
            self._tmpdir.cleanup()
            raise WarehouseError(f"无法创建临时数据库 / cannot create the staging database: {exc}",
                                 code="import_staging_failed") from exc
        return self

    def close(self) -> None:
        """Close the connection (the file stays until the block ends, for ATTACH)."""
        if self.con is not None:
            self.con.execute("CHECKPOINT")
            self.con.close()
            self.con = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    def load(self, name: str, path: Path) -> str | None:
        """Stage ``path`` as table ``name``; returns a problem message when it cannot be read."""
        assert self.con is not None
        kind = file_kind(path)
        reader = (f"read_parquet({quote_str(str(path))})" if kind == "parquet" else
                  f"read_csv({quote_str(str(path))}, header = true, all_varchar = true)")
        target = quote_ident(name)
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            casts = ", ".join(f"CAST({quote_ident(col)} AS VARCHAR) AS {quote_ident(col)}"
                              for col, *_ in described)
            self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {casts} FROM {reader}")
        except duckdb.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"`{path.name}`: 无法读取 / cannot be read ({first_line})"
        staged = StagedTable(name, path)
        for col, dtype, *_ in described:
            key = col.strip().lower()
            if key in staged.columns:
                return f"`{path.name}`: 列名重复 / duplicate column name `{col}`"
            staged.columns[key] = col
            staged.source_types[key] = "text" if kind == "csv" else str(dtype)
        staged.rows = one_row(self.con, f"SELECT count(*) FROM {target}")[0]
        self.tables[name] = staged
        return None
