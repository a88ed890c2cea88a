"""Profile-build step "recommender": the relationship tables (docs/relations.md).

Writes, as of the as-of date:

``merchant_links``        merchant pairs with shared buyers (both directions, top 50 each)
``merchant_communities``  one row per merchant: its Louvain community of shared customers
``category_affinity``     "bought X also bought Y" rules for categories, brands and styles
``user_next_category``    per user, the 5 categories they are most likely to buy next
``user_next_merchant``    per user, the 10 merchants they are most likely to buy from next
``user_predictions``      one row per user: the top-3 predicted categories as an array
                          (``predicted_next_categories``) for segment filters
``recommender_metrics``   the offline evaluation (later time split) against popularity

``create_recommendations(con, as_of)`` runs inside ``build_profiles`` (hook: one ``with
steps.step("recommender")`` block); ``build_recommendations(db_path)`` runs it on its own on
an existing warehouse, atomically like every other writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from chatbi.relations import graph, recommend
from chatbi.relations.affinity import affinity_frame

RECOMMENDER_TABLES = ("merchant_links", "merchant_communities", "category_affinity",
                      "user_next_category", "user_next_merchant", "user_predictions",
                      "recommender_metrics")
TOP_CATEGORIES = 5
TOP_MERCHANTS = 10
AUDIENCE_RANK = 3  # a user is in the predicted audience of their top-3 categories
EVAL_SPLITS = (("category", 3, 90), ("merchant", 10, 90))  # benchmarks/ also runs 30 days


@dataclass(frozen=True)
class RecommenderReport:
    """What the step wrote and how the model validated."""

    row_counts: dict[str, int]
    evaluations: tuple[recommend.EvalResult, ...]


def create_recommendations(con: duckdb.DuckDBPyConnection, as_of: date,
                           info: object | None = None) -> RecommenderReport:
    """Create every recommender table on ``con`` (read-write) as of ``as_of``."""
    d = f"DATE '{as_of.isoformat()}'"
    _store(con, "merchant_links", graph.merchant_links_frame(con, as_of), as_of,
           "merchant_id, link_rank")
    _create_communities(con, as_of)
    _store(con, "category_affinity", affinity_frame(con, as_of), as_of,
           "antecedent_type, antecedent, lift DESC, consequent")
    cache: recommend.Cache = {}
    recommend.preload(con, ("category", "merchant"),
                      (as_of, *(as_of - timedelta(days=days) for _, _, days in EVAL_SPLITS)), cache)
    categories = _predict(con, "category", as_of, TOP_CATEGORIES, cache)
    merchants = _predict(con, "merchant", as_of, TOP_MERCHANTS, cache)
    _write(con, "user_next_category", categories.rename(columns={"item": "category"}), as_of)
    merchants = merchants.assign(item=merchants["item"].astype("int64"))
    _write(con, "user_next_merchant", merchants.rename(columns={"item": "merchant_id"}), as_of)
    del categories, merchants
    for kind in ("category", "merchant"):   # the evaluation needs only its cut-off's matrices
        cache.pop((kind, as_of), None)
    con.execute(f"""
        CREATE OR REPLACE TABLE user_predictions AS
        SELECT user_id,
               list(category ORDER BY rank) FILTER (WHERE rank <= {AUDIENCE_RANK})
                   AS predicted_next_categories,
               arg_min(category, rank) AS predicted_next_category,
               min(score) FILTER (WHERE rank = 1) AS predicted_next_category_score,
               {d} AS profile_date
        FROM user_next_category GROUP BY user_id ORDER BY user_id""")
    evaluations = tuple(recommend.evaluate(con, kind, as_of, k=k, holdout_days=days,  # type: ignore[arg-type]
                                           cache=cache)
                        for kind, k, days in EVAL_SPLITS)
    cache.clear()
    _write_metrics(con, evaluations)
    counts = {t: int((con.execute(f"SELECT count(*) FROM {t}").fetchone() or (0,))[0])
              for t in RECOMMENDER_TABLES}
    return RecommenderReport(counts, evaluations)


def _predict(con: duckdb.DuckDBPyConnection, kind: recommend.ItemKind, as_of: date,
             k: int, cache: recommend.Cache) -> pd.DataFrame:
    data = recommend.load_interactions(con, kind, as_of, cache)
    model = recommend.fit(data)
    bridge = recommend.build_bridge(con, as_of, data.items, cache) if kind == "merchant" else None
    return recommend.predictions_frame(model, data, k, bridge)


def _write(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, as_of: date) -> None:
    frame = frame.assign(rank=frame["rank"].astype("int32"), profile_date=as_of)
    con.register("_rec_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _rec_frame ORDER BY user_id, rank")
    finally:
        con.unregister("_rec_frame")


def _store(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, as_of: date,
           order_by: str) -> None:
    """Write ``frame`` as ``table`` with the profile date, in ``order_by`` order."""
    con.register("_rec_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT *, DATE '{as_of.isoformat()}' "
                    f"AS profile_date FROM _rec_frame ORDER BY {order_by}")
    finally:
        con.unregister("_rec_frame")


def _create_communities(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    links = con.execute("SELECT * FROM merchant_links").df()
    buyers = con.execute(f"""
        SELECT m.merchant_id, count(DISTINCT o.user_id) AS buyers
        FROM merchants m LEFT JOIN orders o ON o.merchant_id = m.merchant_id
         AND o.status <> 'cancelled' AND o.order_ts < DATE '{as_of.isoformat()}' + 1
        WHERE m.merchant_id IS NOT NULL GROUP BY m.merchant_id""").df()
    frame = graph.detect_communities(links, buyers).merge(buyers, on="merchant_id", how="left")
    frame = frame.assign(profile_date=as_of)
    con.register("_rec_frame", frame)
    try:
        con.execute("""
            CREATE OR REPLACE TABLE merchant_communities AS
            SELECT CAST(merchant_id AS BIGINT) AS merchant_id,
                   CAST(community_id AS INTEGER) AS community_id,
                   CAST(community_size AS INTEGER) AS community_size,
                   CAST(buyers AS INTEGER) AS buyers, weighted_degree, profile_date
            FROM _rec_frame ORDER BY community_id, buyers DESC, merchant_id""")
    finally:
        con.unregister("_rec_frame")


def _write_metrics(con: duckdb.DuckDBPyConnection, results: tuple[recommend.EvalResult, ...]) -> None:
    con.execute("""
        CREATE OR REPLACE TABLE recommender_metrics (
            item_kind VARCHAR, k INTEGER, holdout_days INTEGER, train_cutoff DATE, as_of DATE,
            test_users INTEGER, items INTEGER, hit_rate DOUBLE, recall DOUBLE,
            baseline_hit_rate DOUBLE, baseline_recall DOUBLE)""")
    for r in results:
        con.execute("INSERT INTO recommender_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [r.kind, r.k, (r.as_of - r.cutoff).days, r.cutoff, r.as_of, r.users, r.items,
                     r.hit_rate, r.recall, r.baseline_hit_rate, r.baseline_recall])


def build_recommendations(db_path: Path, *, as_of: date | None = None) -> RecommenderReport:
    """Run the step on its own on the warehouse at ``db_path`` (atomic replace)."""
    from chatbi.profiles.staging import resolve_as_of
    from chatbi.warehouse.files import atomic_replace

    with atomic_replace(Path(db_path), copy_existing=True) as tmp:
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")
            report = create_recommendations(con, resolve_as_of(con, as_of))
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return report
