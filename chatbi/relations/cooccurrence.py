"""Pair counts by sparse matrix products: how many users share two items.

"Buyers of both A and B" over every pair is a self-join in SQL, which grows with the square
of a user's items (tens of millions of join rows at 2M orders). As a sparse product it is
one multiplication: with ``U`` the binary users × items matrix, ``Uᵀ·U`` holds every pair's
shared users and, on its diagonal, each item's users. The user and item indexing is done
in DuckDB (dense ranks), so only integer arrays cross into Python.

Used by the profile build's recommender step (``merchant_links``, ``category_affinity``);
the answers keep the plain SQL of ``graph.merchant_links_sql`` and ``affinity.affinity_sql``
(they run through the SQL guard on one merchant's rows), and the tests check that both give
the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse


@dataclass(frozen=True)
class PairCounts:
    """Shared-user counts of item pairs (both directions, no self pairs)."""

    items: pd.DataFrame  # the item key columns, one row per item, in column order
    users: int  # distinct users with at least one item
    item_users: np.ndarray  # users per item
    left: np.ndarray  # item index of each pair
    right: np.ndarray  # item index of the pair's other item
    shared: np.ndarray  # users who have both


def dense_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct ids, each id's position among them), like ``np.unique(...,
    return_inverse=True)`` but by counting when the ids are small non-negative integers
    (the usual case: no sort of millions of values)."""
    if len(ids) and ids.min() >= 0 and ids.max() <= 4 * len(ids) + 1_000_000:
        present = np.zeros(int(ids.max()) + 1, dtype=bool)
        present[ids] = True
        positions = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(np.int64), positions[ids]
    distinct, inverse = np.unique(ids, return_inverse=True)
    return distinct, inverse


def user_item_pairs(con: duckdb.DuckDBPyConnection, pairs_sql: str,
                    keys: tuple[str, ...]) -> tuple[sparse.csr_matrix, pd.DataFrame]:
    """The binary users × items matrix of ``pairs_sql`` (columns ``user_id`` and ``keys``).

    Returns the matrix and the items (the ``keys`` columns) in column order. Column numbers
    come from a join to the (small) sorted item list, row numbers from the user ids.
    """
    key_list = ", ".join(keys)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cooc_pairs AS SELECT DISTINCT user_id, {key_list} "
                f"FROM ({pairs_sql}) t WHERE user_id IS NOT NULL")
    try:
        items = con.execute(f"SELECT DISTINCT {key_list} FROM _cooc_pairs ORDER BY {key_list}").df()
        con.register("_cooc_items", items.assign(col_no=np.arange(len(items), dtype=np.int32)))
        try:
            cells = con.execute(f"SELECT user_id, col_no FROM _cooc_pairs "
                                f"JOIN _cooc_items USING ({key_list})").fetchnumpy()
        finally:
            con.unregister("_cooc_items")
    finally:
        con.execute("DROP TABLE IF EXISTS _cooc_pairs")
    _, rows = dense_codes(np.asarray(cells["user_id"], dtype=np.int64))
    cols = np.asarray(cells["col_no"], dtype=np.int32)
    n_users = int(rows.max()) + 1 if len(rows) else 0
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                               shape=(n_users, len(items)))
    return matrix, items


def pair_counts(con: duckdb.DuckDBPyConnection, pairs_sql: str,
                keys: tuple[str, ...]) -> PairCounts:
    """Shared users of every item pair that has at least one user in common."""
    matrix, items = user_item_pairs(con, pairs_sql, keys)
    co = (matrix.T @ matrix).tocoo()
    off = co.row != co.col
    return PairCounts(items=items, users=matrix.shape[0],
                      item_users=np.asarray(co.tocsr().diagonal(), dtype=np.int64),
                      left=co.row[off].astype(np.int64), right=co.col[off].astype(np.int64),
                      shared=co.data[off].astype(np.int64))


def strongest_pairs(con: duckdb.DuckDBPyConnection, pairs_sql: str, keys: tuple[str, ...],
                    per_item: int, block: int = 512) -> PairCounts:
    """Each item's ``per_item`` partners with the most shared users (ties: lower item
    index first), computed ``block`` items at a time so memory stays bounded by the block,
    not by the square of the number of items."""
    matrix, items = user_item_pairs(con, pairs_sql, keys)
    by_item = matrix.tocsc()
    lefts, rights, shareds = [], [], []
    for start in range(0, matrix.shape[1], block):
        co = (by_item[:, start:start + block].T @ matrix).tocoo()
        left = co.row.astype(np.int64) + start
        off = left != co.col
        left, right, shared = left[off], co.col[off].astype(np.int64), co.data[off].astype(np.int64)
        order = np.lexsort((right, -shared, left))
        left, right, shared = left[order], right[order], shared[order]
        keep = np.arange(len(left)) - np.searchsorted(left, left, side="left") < per_item
        lefts.append(left[keep])
        rights.append(right[keep])
        shareds.append(shared[keep])
    empty = np.zeros(0, dtype=np.int64)
    return PairCounts(items=items, users=matrix.shape[0],
                      item_users=np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64),
                      left=np.concatenate(lefts) if lefts else empty,
                      right=np.concatenate(rights) if rights else empty,
                      shared=np.concatenate(shareds) if shareds else empty)
