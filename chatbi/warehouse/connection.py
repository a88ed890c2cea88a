"""DuckDB connections for writers (demo generation, imports) with bounded resources."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from chatbi.errors import WarehouseError


@contextlib.contextmanager
def write_connection(path: Path, *, threads: int = 2, memory_limit: str = "3GB"
                     ) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path`` for writing; spill files go to a private folder removed afterwards.

    The connection is closed (and the file checkpointed) when the block ends, so the caller
    can rename the file right after.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.spill-", dir=path.parent) as spill:
        try:
            con = duckdb.connect(str(path), config={
                "threads": threads, "memory_limit": memory_limit, "temp_directory": spill,
                "preserve_insertion_order": True,
            })
        except duckdb.Error as exc:
            raise WarehouseError(f"无法打开数据仓库 / cannot open warehouse {path}: {exc}",
                                 code="warehouse_open_failed") from exc
        try:
            con.execute("SET enable_progress_bar = false").fetchall()
            yield con
            con.execute("CHECKPOINT").fetchall()
        finally:
            con.close()
