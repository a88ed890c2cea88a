"""Turn numpy columns into Arrow and insert them into the contract tables through DuckDB.

Text columns travel as small integer codes (Arrow dictionaries or indexes into SQL list
literals) so no Python string is built per row; DuckDB assembles names, titles and review
texts while inserting. Arrow arrays are built straight from numpy buffers (exact decimals
from integer cents, no float rounding, and no detour through pyarrow's pandas shim).
Batches are buffered per table and inserted in large appends to keep statement overhead low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import duckdb
import numpy as np
import pyarrow as pa

from chatbi.warehouse.schema import RAW_TABLES, create_table_sql

Column: TypeAlias = pa.Array | np.ndarray
FLUSH_ROWS = 1_500_000


def sql_list(values: Sequence[str]) -> str:
    """A DuckDB list literal of strings, quotes escaped."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def pick(values: Sequence[str], code_sql: str) -> str:
    """SQL that maps a 0-based code column to text (NULL when the code is out of range)."""
    return f"{sql_list(values)}[{code_sql} + 1]"


def _validity(mask: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    if mask is None:
        return None, 0
    mask = np.asarray(mask, dtype=bool)
    nulls = int(mask.sum())
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(~mask, bitorder="little")), nulls


def _fixed(values: np.ndarray, typ: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    values = np.ascontiguousarray(values)
    validity, nulls = _validity(mask)
    return pa.Array.from_buffers(typ, len(values), [validity, pa.py_buffer(values)], null_count=nulls)


def strings(values: Sequence[str]) -> pa.Array:
    """A string array from a (short) list of Python strings."""
    data = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(d) for d in data])
    return pa.Array.from_buffers(pa.string(), len(data),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


def text(codes: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
    """A dictionary-encoded text column; negative codes become NULL."""
    codes = np.asarray(codes)
    idx = _fixed(codes.astype(np.int32), pa.int32(), codes < 0)
    return pa.DictionaryArray.from_arrays(idx, strings(values))


def money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """DECIMAL(12,2) built exactly from integer cents."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    validity, nulls = _validity(mask)
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [validity, pa.py_buffer(words)],
                                 null_count=nulls)


def timestamps(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return _fixed(np.asarray(seconds, dtype=np.int64), pa.timestamp("s"), mask)


def dates(days: np.ndarray) -> pa.Array:
    return _fixed(np.asarray(days, dtype=np.int32), pa.date32())


def ints(values: np.ndarray, dtype: type = np.int64, mask: np.ndarray | None = None) -> pa.Array:
    typ = pa.int32() if np.dtype(dtype) == np.int32 else pa.int64()
    return _fixed(np.asarray(values).astype(dtype), typ, mask)


def bools(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(values),
                                 [None, pa.py_buffer(np.packbits(values, bitorder="little"))])


def _as_arrow(col: Column) -> pa.Array:
    if isinstance(col, pa.Array):
        return col
    arr: np.ndarray = np.asarray(col)
    if arr.dtype == bool:
        return bools(arr)
    return ints(arr)


class DemoWriter:
    """Creates the raw tables and appends buffered Arrow batches to them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, selects: Mapping[str, str],
                 flush_rows: int = FLUSH_ROWS):
        self.con = con
        self.selects = dict(selects)
        self.flush_rows = flush_rows
        self._pending: dict[str, list[pa.Table]] = {}
        self._batch = 0

    def create_tables(self) -> None:
        for table in RAW_TABLES:
            self.con.execute(create_table_sql(table))

    def insert(self, table: str, columns: Mapping[str, Column]) -> int:
        """Queue one batch of staging columns named as the table's SELECT expects."""
        batch = pa.table({name: _as_arrow(col) for name, col in columns.items()})
        if batch.num_rows:
            pending = self._pending.setdefault(table, [])
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= self.flush_rows:
                self.flush(table)
        return batch.num_rows

    def flush(self, table: str | None = None) -> None:
        """Insert queued batches (of one table, or all)."""
        for name in [table] if table else list(self._pending):
            batches = self._pending.pop(name, [])
            if batches:
                self._append(name, pa.concat_tables(batches))

    def _append(self, table: str, batch: pa.Table) -> None:
        name = f"demo_batch_{self._batch}"
        self._batch += 1
        columns = ", ".join(RAW_TABLES[table])
        select = self.selects.get(table, f"SELECT {columns} FROM batch")
        self.con.register(name, batch)
        try:
            self.con.execute(
                f"INSERT INTO {table} ({columns}) {select.replace('FROM batch', f'FROM {name}')}"
            ).fetchall()
        finally:
            self.con.unregister(name)

    def row_counts(self) -> dict[str, int]:
        self.flush()
        counts: dict[str, int] = {}
        for table in RAW_TABLES:
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()
            counts[table] = int(row[0][0])
        return counts
