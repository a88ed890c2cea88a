"""Turn numpy columns into Arrow and insert them into the contract tables through DuckDB.

Text columns travel as small integer codes (Arrow dictionaries or indexes into SQL list
literals) so no Python string is built per row; DuckDB assembles names, titles and review
texts while inserting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from chatbi.warehouse.schema import RAW_TABLES, create_table_sql

Column = pa.Array | pa.ChunkedArray | np.ndarray


def sql_list(values: Sequence[str]) -> str:
    """A DuckDB list literal of strings, quotes escaped."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def pick(values: Sequence[str], code_sql: str) -> str:
    """SQL that maps a 0-based code column to text (NULL when the code is out of range)."""
    return f"{sql_list(values)}[{code_sql} + 1]"


def text(codes: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
    """A dictionary-encoded text column; negative codes become NULL."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), type=pa.string()))


def money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """DECIMAL(12,2) built exactly from integer cents (no float rounding)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.array(~mask).buffers()[1]
        null_count = int(mask.sum())
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [validity, pa.py_buffer(words)],
                                 null_count=null_count)


def timestamps(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")
    return pa.array(values, mask=mask) if mask is not None else pa.array(values)


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


def ints(values: np.ndarray, dtype: type = np.int64, mask: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values).astype(dtype)
    return pa.array(values, mask=mask) if mask is not None else pa.array(values)


def bools(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool))


class DemoWriter:
    """Creates the raw tables and appends Arrow batches to them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, selects: Mapping[str, str]):
        self.con = con
        self.selects = dict(selects)
        self._batch = 0

    def create_tables(self) -> None:
        for table in RAW_TABLES:
            self.con.execute(create_table_sql(table))

    def insert(self, table: str, columns: Mapping[str, Column]) -> int:
        """Append one batch; ``columns`` are staging columns named as the table's SELECT expects."""
        batch = pa.table(dict(columns))
        if batch.num_rows == 0:
            return 0
        name = f"demo_batch_{self._batch}"
        self._batch += 1
        default = ", ".join(RAW_TABLES[table])
        select = self.selects.get(table, f"SELECT {default} FROM batch")
        self.con.register(name, batch)
        try:
            self.con.execute(
                f"INSERT INTO {table} ({default}) {select.replace('FROM batch', f'FROM {name}')}"
            ).fetchall()
        finally:
            self.con.unregister(name)
        return batch.num_rows

    def row_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in RAW_TABLES:
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()
            counts[table] = int(row[0][0])
        return counts
