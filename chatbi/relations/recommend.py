"""Collaborative-filtering preferences: item–item co-occurrence over categories and merchants.

The model is a classic item-kNN on implicit feedback, built with scipy sparse matrices:

1. ``load_interactions``: every (user, item) pair up to a cut-off date, with a weight that sums
   purchases (order items of valid orders), add-to-carts, favourites and views (``WEIGHTS``),
   each decayed by its age (half-life ``HALF_LIFE_DAYS``), and a binary "positive" flag
   (bought, carted or favourited).
2. ``fit``: item–item cosine similarity of the binary positives (co-occurrence of items in the
   same users' histories), pruned to the ``NEIGHBOURS`` most similar items per item, diagonal
   1 (a user's own items count fully).
3. ``predict_top``: score = the user's weighted history × similarity, normalised to a share over
   items, mixed with a popularity prior (``POPULARITY_PRIOR``) — a "preference share" 0..1
   whose values over all items sum to 1; the top k items per user are kept.
4. ``evaluate``: train on data up to ``as_of − holdout_days``, test on the items users bought
   after; hit rate@k and recall@k of the model against recent popularity.

Items are ``category`` (the product's category) or ``merchant`` (the merchant's id, an integer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from chatbi.relations.cooccurrence import dense_codes

ItemKind = Literal["category", "merchant"]

WEIGHTS = {"purchase": 4.0, "add_to_cart": 2.0, "favorite": 2.0, "view": 0.5}
HALF_LIFE_DAYS = 180.0
NEIGHBOURS = 50
POPULARITY_PRIOR = 0.1
ALPHA = 0.5  # similarity C_ij / (C_ii^(1-α) · C_jj^α): 0.5 = cosine, lower favours popular items
POPULARITY_DAYS = 90  # popularity = distinct buyers in the last 90 days before the cut-off
BRIDGE_WEIGHT = 0.5  # merchants: share of the category-mediated score (see ``Bridge``)
CHUNK_CELLS = 20_000_000  # dense cells scored at once (rows × items)


@dataclass(frozen=True)
class Interactions:
    """Users × items matrices of one item kind up to ``cutoff``."""

    kind: ItemKind
    cutoff: date
    users: np.ndarray  # user ids, one per row
    items: np.ndarray  # item keys (category names or merchant ids), one per column
    weights: sparse.csr_matrix  # decayed weighted interactions
    positives: sparse.csr_matrix  # 1 where bought, carted or favourited
    popularity: np.ndarray  # distinct buyers per item in the POPULARITY_DAYS before cutoff


@dataclass(frozen=True)
class ItemModel:
    """A fitted item–item model."""

    kind: ItemKind
    items: np.ndarray
    similarity: sparse.csr_matrix  # items × items
    prior: np.ndarray  # popularity share per item (sums to 1)

    def index(self) -> dict[object, int]:
        return {key: i for i, key in enumerate(self.items.tolist())}


@dataclass(frozen=True)
class Bridge:
    """Category-mediated merchant scores for the merchant model.

    A user's next merchant is scored both by merchant co-occurrence and by
    Σ_c P(category c | user) × P(merchant | c), where P(c | user) comes from the category
    model and P(merchant | c) is the merchant's share of category c's buyers in the
    ``POPULARITY_DAYS`` before the cut-off.
    """

    category_model: ItemModel
    category_data: Interactions
    to_merchants: np.ndarray  # categories × merchants, rows sum to 1 (or 0)

    def block(self, users: np.ndarray) -> np.ndarray:
        """users × merchants scores (rows sum to 1, or 0 without category history)."""
        known = self.category_data.users
        pos = np.searchsorted(known, users)
        pos = np.clip(pos, 0, max(0, len(known) - 1))
        found = (known[pos] == users) if len(known) else np.zeros(len(users), dtype=bool)
        out = np.zeros((len(users), self.to_merchants.shape[1]), dtype=np.float32)
        if found.any():
            rows = pos[found]
            shares = score_block(self.category_model, self.category_data.weights[rows], prior=False)
            out[found] = shares @ self.to_merchants.astype(np.float32, copy=False)
        return out


@dataclass(frozen=True)
class EvalResult:
    """Offline evaluation of one item kind on a later time split."""

    kind: ItemKind
    k: int
    cutoff: date
    as_of: date
    users: int  # test users (history before the cut-off and a purchase after it)
    items: int
    hit_rate: float
    recall: float
    baseline_hit_rate: float
    baseline_recall: float

    @property
    def lift(self) -> float | None:
        return self.hit_rate / self.baseline_hit_rate if self.baseline_hit_rate else None


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE lower(table_name) = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _item_expr(kind: ItemKind) -> tuple[str, str]:
    """(purchase item expression over ``p``/``o``, event item expression over ``e``)."""
    if kind == "category":
        return "p.category", "e.category"
    return "o.merchant_id", "e.merchant_id"


def _products_join(kind: ItemKind) -> str:
    """The join to ``products`` that category items need (merchant items come from orders)."""
    return "JOIN products p ON p.product_id = i.product_id" if kind == "category" else ""


def interactions_sql(con: duckdb.DuckDBPyConnection, kind: ItemKind, last: date) -> str:
    """SQL of every interaction (user_id, item, d, w, pos) up to and including ``last``:
    purchased order items, add-to-carts, favourites and views, with their base weight and
    whether they count as positive feedback (bought, carted or favourited)."""
    end = f"DATE '{last.isoformat()}'"
    bought, event_item = _item_expr(kind)
    parts = [f"""
        SELECT o.user_id, {bought} AS item, CAST(o.order_ts AS DATE) AS d,
               {WEIGHTS['purchase']} AS w, 1 AS pos
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        {_products_join(kind)}
        WHERE o.status <> 'cancelled' AND o.order_ts < {end} + 1"""]
    if _has_table(con, "events"):
        parts.append(f"""
        SELECT e.user_id, {event_item} AS item, CAST(e.event_ts AS DATE) AS d,
               CASE e.event_type WHEN 'add_to_cart' THEN {WEIGHTS['add_to_cart']}
                                 WHEN 'favorite' THEN {WEIGHTS['favorite']}
                                 ELSE {WEIGHTS['view']} END AS w,
               CASE WHEN e.event_type IN ('add_to_cart', 'favorite') THEN 1 ELSE 0 END AS pos
        FROM events e
        WHERE e.event_type IN ('view', 'favorite', 'add_to_cart') AND e.event_ts < {end} + 1""")
    return (f"SELECT * FROM ({' UNION ALL '.join(parts)}) t "
            "WHERE user_id IS NOT NULL AND item IS NOT NULL")


def _catalogue_sql(kind: ItemKind) -> str:
    """Every item of the kind, bought or not."""
    if kind == "category":
        return "SELECT DISTINCT category AS item FROM products WHERE category IS NOT NULL"
    return "SELECT DISTINCT merchant_id AS item FROM merchants WHERE merchant_id IS NOT NULL"


def purchases_sql(kind: ItemKind, start: date, end: date) -> str:
    """Distinct (user_id, item) bought in valid orders with start < order date ≤ end."""
    bought, _ = _item_expr(kind)
    return f"""
        SELECT DISTINCT o.user_id, {bought} AS item
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        {_products_join(kind)}
        WHERE o.status <> 'cancelled' AND o.order_ts >= DATE '{start.isoformat()}' + 1
          AND o.order_ts < DATE '{end.isoformat()}' + 1 AND o.user_id IS NOT NULL
          AND {bought} IS NOT NULL"""


Cache = dict[tuple[str, date], Interactions]


def load_interactions(con: duckdb.DuckDBPyConnection, kind: ItemKind, cutoff: date,
                      cache: Cache | None = None) -> Interactions:
    """Read the interaction matrices of ``kind`` up to ``cutoff`` from the warehouse.

    ``cache`` (a dict the caller keeps for one warehouse) avoids reading the same matrices
    twice, e.g. the category model the merchant bridge needs; ``preload`` fills it for
    several cut-offs in one scan.
    """
    if cache is not None and (kind, cutoff) in cache:
        return cache[(kind, cutoff)]
    (data,) = _load(con, kind, (cutoff,))
    if cache is not None:
        cache[(kind, cutoff)] = data
    return data


def preload(con: duckdb.DuckDBPyConnection, kinds: Sequence[ItemKind], cutoffs: Sequence[date],
            cache: Cache) -> None:
    """Fill ``cache`` with every (kind, cut-off) pair, one scan of the raw tables per kind."""
    for kind in kinds:
        missing = tuple(c for c in dict.fromkeys(cutoffs) if (kind, c) not in cache)
        if missing:
            for cutoff, data in zip(missing, _load(con, kind, missing), strict=True):
                cache[(kind, cutoff)] = data


def _load(con: duckdb.DuckDBPyConnection, kind: ItemKind,
          cutoffs: Sequence[date]) -> list[Interactions]:
    """Build the matrices of each cut-off from one aggregation over the raw tables.

    Items get their column numbers in SQL (a join to the small item list), so only integer
    and float arrays cross into Python: no per-row string handling. Each (user, item) pair
    gets one decayed weight and one positive flag per cut-off (0 and -1 when the pair has
    no interaction by then); numpy then keeps, per cut-off, the users with history and the
    items that are in the catalogue or were interacted with by then.
    """
    source = interactions_sql(con, kind, max(cutoffs))
    items = np.array([r[0] for r in con.execute(
        f"SELECT item FROM (SELECT DISTINCT item FROM ({source}) s UNION {_catalogue_sql(kind)}) t "
        "ORDER BY item").fetchall()], dtype=object if kind == "category" else np.int64)
    in_catalogue = np.isin(items, np.array([r[0] for r in con.execute(_catalogue_sql(kind)).fetchall()],
                                           dtype=items.dtype))
    columns = []
    for k, cutoff in enumerate(cutoffs):
        c = f"DATE '{cutoff.isoformat()}'"
        columns.append(
            f"CAST(coalesce(sum(w * pow(0.5, greatest(0, {c} - d) / {HALF_LIFE_DAYS})) "
            f"FILTER (WHERE d <= {c}), 0) AS FLOAT) AS weight_{k}, "
            f"CAST(coalesce(max(pos) FILTER (WHERE d <= {c}), -1) AS TINYINT) AS positive_{k}")
    con.register("_rec_items", pd.DataFrame({"item": items.tolist() if len(items) else pd.Series(dtype=object),
                                             "col_no": np.arange(len(items), dtype=np.int32)}))
    try:
        cells = _fetch_columns(con, f"""
            SELECT user_id, col_no, {', '.join(columns)}
            FROM ({source}) s JOIN _rec_items USING (item)
            GROUP BY user_id, col_no""")
    finally:
        con.unregister("_rec_items")
    user_ids, rows = dense_codes(np.asarray(cells.pop("user_id"), dtype=np.int64))
    cols = np.asarray(cells.pop("col_no"), dtype=np.int32)
    out = []
    for k, cutoff in enumerate(cutoffs):   # each cut-off's columns are freed once used
        weight, positive = np.asarray(cells.pop(f"weight_{k}")), np.asarray(cells.pop(f"positive_{k}"))
        mask = positive >= 0
        out.append(_matrices(con, kind, cutoff, items, in_catalogue, user_ids, rows[mask],
                             cols[mask], weight[mask], positive[mask] > 0))
        del weight, positive, mask
    return out


def _fetch_columns(con: duckdb.DuckDBPyConnection, sql: str,
                   batch_rows: int = 2_000_000) -> dict[str, np.ndarray]:
    """The result of ``sql`` as one numpy array per column, streamed in Arrow batches.

    ``fetchnumpy`` would hold DuckDB's materialised result and the arrays at once; streaming
    holds the arrays (tens of millions of rows on the large demo) plus one batch.
    """
    reader = con.sql(sql).to_arrow_reader(batch_rows)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in reader.schema.names}
    for batch in reader:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            parts[name].append(column.to_numpy(zero_copy_only=False))
    out = {}
    for name in list(parts):
        chunks = parts.pop(name)
        out[name] = np.concatenate(chunks) if chunks else np.zeros(0)
    return out


def _matrices(con: duckdb.DuckDBPyConnection, kind: ItemKind, cutoff: date, items: np.ndarray,
              in_catalogue: np.ndarray, user_ids: np.ndarray, rows: np.ndarray, cols: np.ndarray,
              weights: np.ndarray, positive: np.ndarray) -> Interactions:
    """The Interactions of one cut-off from its (row, column, weight, positive) cells."""
    used_rows = np.bincount(rows, minlength=len(user_ids)) > 0
    used_cols = in_catalogue | (np.bincount(cols, minlength=len(items)) > 0)
    row_map = np.cumsum(used_rows) - 1
    col_map = np.cumsum(used_cols) - 1
    rows, cols = row_map[rows].astype(np.int32), col_map[cols].astype(np.int32)
    users, items = user_ids[used_rows], items[used_cols]
    shape = (len(users), len(items))
    weight_matrix = sparse.csr_matrix((weights.astype(np.float32), (rows, cols)), shape=shape)
    positives = sparse.csr_matrix(
        (np.ones(int(positive.sum()), dtype=np.float32), (rows[positive], cols[positive])),
        shape=shape)
    recent = con.execute(
        f"SELECT item, count(DISTINCT user_id) AS n FROM ({purchases_sql(kind, cutoff - timedelta(days=POPULARITY_DAYS), cutoff)}) t GROUP BY item"
    ).fetchall()
    popularity = np.zeros(len(items))
    if recent:
        index = {key: i for i, key in enumerate(items.tolist())}
        for item, n in recent:
            if item in index:
                popularity[index[item]] = n
    return Interactions(kind, cutoff, users, items, weight_matrix, positives, popularity)


def fit(data: Interactions, neighbours: int = NEIGHBOURS) -> ItemModel:
    """Item–item cosine similarity of the positives, top ``neighbours`` per item, diagonal 1."""
    n = len(data.items)
    co = (data.positives.T @ data.positives).tocsr().astype(np.float64)
    diag = co.diagonal()
    left = np.divide(1.0, diag ** (1.0 - ALPHA), out=np.zeros_like(diag), where=diag > 0)
    right = np.divide(1.0, diag ** ALPHA, out=np.zeros_like(diag), where=diag > 0)
    sim = sparse.diags(left) @ co @ sparse.diags(right)
    sim = _top_per_row(sim.tocsr(), neighbours)
    sim = sim.tolil()
    sim.setdiag(1.0)
    prior = data.popularity + 1.0  # add-one so items without recent sales keep a tiny share
    return ItemModel(data.kind, data.items, sim.tocsr().astype(np.float32),
                     prior / prior.sum() if n else prior)


def _top_per_row(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Keep the ``keep`` largest entries of each row."""
    matrix = matrix.tocsr()
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        data, idx = matrix.data[start:end], matrix.indices[start:end]
        if len(data) > keep:
            top = np.argpartition(-data, keep - 1)[:keep]
            data, idx = data[top], idx[top]
        rows.append(np.full(len(data), r))
        cols.append(idx)
        vals.append(data)
    if not rows:
        return matrix
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=matrix.shape)


def score_block(model: ItemModel, history: sparse.csr_matrix, *, prior: bool = True,
                extra: np.ndarray | None = None) -> np.ndarray:
    """Preference shares (rows sum to 1) for a block of users' weighted histories.

    ``extra`` (rows summing to 1 or 0) is blended in with ``BRIDGE_WEIGHT``; ``prior=False``
    leaves out the popularity prior (users without history then get zeros). The block is
    float32 and every step works in place: at 3,000 merchants a block is tens of millions
    of cells, and each temporary copy would cost as much as the scoring itself.
    """
    similarity = model.similarity.astype(np.float32, copy=False)
    raw = (history.astype(np.float32, copy=False) @ similarity).toarray()
    totals = raw.sum(axis=1)
    has_history = totals > 0
    np.divide(raw, totals[:, None], out=raw, where=has_history[:, None])
    if extra is not None:
        has_extra = extra.sum(axis=1) > 0
        # both: (1-w)·shares + w·extra; history only: shares; neither or extra only: extra
        own = np.where(has_history, np.where(has_extra, 1.0 - BRIDGE_WEIGHT, 1.0), 0.0)
        other = np.where(has_history, np.where(has_extra, BRIDGE_WEIGHT, 0.0), 1.0)
        raw *= own[:, None].astype(np.float32)
        raw += extra.astype(np.float32, copy=False) * other[:, None].astype(np.float32)
        has_history = has_history | has_extra
    if not prior:
        return raw
    raw *= np.float32(1.0 - POPULARITY_PRIOR)
    raw += (POPULARITY_PRIOR * model.prior).astype(np.float32)[None, :]
    raw[~has_history] = model.prior.astype(np.float32)
    return raw


def build_bridge(con: duckdb.DuckDBPyConnection, cutoff: date, merchants: np.ndarray,
                 cache: Cache | None = None) -> Bridge:
    """The category model up to ``cutoff`` and P(merchant | category) before it."""
    data = load_interactions(con, "category", cutoff, cache)
    model = fit(data)
    start = cutoff - timedelta(days=POPULARITY_DAYS)
    frame = con.execute(f"""
        SELECT p.category, o.merchant_id AS merchant, count(DISTINCT o.user_id) AS n
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts >= DATE '{start.isoformat()}' + 1
          AND o.order_ts < DATE '{cutoff.isoformat()}' + 1
          AND p.category IS NOT NULL AND o.merchant_id IS NOT NULL
        GROUP BY ALL""").df()
    matrix = np.zeros((len(data.items), len(merchants)))
    if len(frame):
        rows = pd.Categorical(frame["category"], categories=data.items).codes
        cols = pd.Categorical(frame["merchant"], categories=merchants).codes
        ok = (rows >= 0) & (cols >= 0)
        np.add.at(matrix, (rows[ok], cols[ok]), frame["n"].to_numpy(dtype=np.float64)[ok])
    sums = matrix.sum(axis=1, keepdims=True)
    matrix = np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)
    return Bridge(model, data, matrix)


def predict_top(model: ItemModel, data: Interactions, k: int,
                bridge: Bridge | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (user ids, item column indices [rows × k], scores [rows × k]) per chunk, best first."""
    n_items = max(1, len(model.items))
    k = min(k, len(model.items))
    if k == 0 or not len(data.users):
        return
    chunk = max(1, CHUNK_CELLS // n_items)
    for start in range(0, len(data.users), chunk):
        users = data.users[start:start + chunk]
        extra = bridge.block(users) if bridge is not None else None
        block = score_block(model, data.weights[start:start + chunk], extra=extra)
        top, top_scores = top_k_per_row(block, k)
        yield data.users[start:start + chunk], top, top_scores


def top_k_per_row(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, scores) of each row's ``k`` largest values, best first; ties go to
    the lower column index.

    Finds each row's k-th largest value with ``np.partition`` (a float copy of the block),
    then sorts only the cells at or above it — no index matrix of the whole block.
    """
    rows_n = block.shape[0]
    if k >= block.shape[1]:
        top = np.argsort(-block, axis=1, kind="stable")[:, :k]
        return top, np.take_along_axis(block, top, axis=1)
    threshold = np.partition(block, block.shape[1] - k, axis=1)[:, block.shape[1] - k]
    rows, cols = np.nonzero(block >= threshold[:, None])
    scores = block[rows, cols]
    order = np.lexsort((cols, -scores, rows))       # by row, best score, lower column
    rows, cols, scores = rows[order], cols[order], scores[order]
    first = np.searchsorted(rows, rows, side="left")
    keep = np.arange(len(rows)) - first < k         # ties at the threshold: keep k per row
    top = cols[keep].reshape(rows_n, k)
    return top, scores[keep].reshape(rows_n, k)


def predictions_frame(model: ItemModel, data: Interactions, k: int,
                      bridge: Bridge | None = None) -> pd.DataFrame:
    """Long frame (user_id, item, score, rank) of each user's top ``k`` items."""
    parts = []
    for users, cols, scores in predict_top(model, data, k, bridge):
        kk = cols.shape[1]
        parts.append(pd.DataFrame({
            "user_id": np.repeat(users, kk),
            "item": model.items[cols.ravel()],
            "score": scores.ravel(),
            "rank": np.tile(np.arange(1, kk + 1), len(users)),
        }))
    if not parts:
        return pd.DataFrame({"user_id": pd.Series(dtype="int64"), "item": pd.Series(dtype=object),
                             "score": pd.Series(dtype="float64"), "rank": pd.Series(dtype="int64")})
    return pd.concat(parts, ignore_index=True)


def evaluate(con: duckdb.DuckDBPyConnection, kind: ItemKind, as_of: date, *, k: int,
             holdout_days: int = 90, cache: Cache | None = None) -> EvalResult:
    """Train up to ``as_of − holdout_days``; test on purchases after; model vs popularity."""
    cutoff = as_of - timedelta(days=holdout_days)
    data = load_interactions(con, kind, cutoff, cache)
    model = fit(data)
    bridge = build_bridge(con, cutoff, data.items, cache) if kind == "merchant" else None
    test = con.execute(purchases_sql(kind, cutoff, as_of)).df()
    index = model.index()
    test = test[test["user_id"].isin(data.users) & test["item"].isin(index)]
    truth: dict[int, set[int]] = {}
    for user, item in zip(test["user_id"].to_numpy(), test["item"].to_numpy(), strict=True):
        truth.setdefault(int(user), set()).add(index[item])
    kk = min(k, len(model.items))
    baseline = set(np.argsort(-model.prior, kind="stable")[:kk].tolist())
    rows = np.searchsorted(data.users, np.array(sorted(truth), dtype=np.int64))
    sub = Interactions(kind, cutoff, data.users[rows], data.items, data.weights[rows],
                       data.positives[rows], data.popularity)
    hits = recall = base_hits = base_recall = 0.0
    for users, cols, _ in predict_top(model, sub, kk, bridge):
        for user, top in zip(users.tolist(), cols.tolist(), strict=True):
            bought = truth[user]
            got, base = len(bought & set(top)), len(bought & baseline)
            hits += got > 0
            base_hits += base > 0
            recall += got / len(bought)
            base_recall += base / len(bought)
    n = len(truth)
    return EvalResult(kind, kk, cutoff, as_of, n, len(model.items),
                      hits / n if n else 0.0, recall / n if n else 0.0,
                      base_hits / n if n else 0.0, base_recall / n if n else 0.0)
