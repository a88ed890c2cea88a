"""The user–merchant graph: merchants linked by shared buyers, communities, layouts.

Two merchants are linked when at least one user has a valid order (status <> 'cancelled')
at both, up to the as-of date; the link's weight is the number of such shared buyers.
``merchant_links_sql`` computes the links (both directions, the ``LINKS_PER_MERCHANT``
strongest per merchant), ``detect_communities`` groups merchants that share customers with
networkx's Louvain method (weight: Jaccard overlap of the buyer sets, fixed seed), and
``spring_positions`` lays out a small graph for a picture (fixed seed, so the same data
always gives the same picture).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb
import networkx as nx
import numpy as np
import pandas as pd

from chatbi.relations import cooccurrence

LINKS_PER_MERCHANT = 50
COMMUNITY_SEED = 7
LAYOUT_SEED = 7
MIN_COMMUNITY_SHARED = 2  # links with fewer shared buyers are ignored for communities


def _buyers_sql(as_of: date) -> str:
    """Distinct (user_id, merchant_id) of valid orders up to the as-of date."""
    return f"""
        SELECT DISTINCT user_id, merchant_id FROM orders
        WHERE status <> 'cancelled' AND order_ts < DATE '{as_of.isoformat()}' + 1
          AND user_id IS NOT NULL AND merchant_id IS NOT NULL"""


def _ranked_links_sql(pairs: str, buyers: str, per_merchant: int) -> str:
    """The ranking and the columns of the links, over a ``pairs`` relation (merchant_id,
    other_merchant_id, shared_buyers) and a ``buyers`` relation (merchant_id, buyers)."""
    return f"""
    r AS (
        SELECT p.merchant_id, p.other_merchant_id, p.shared_buyers, na.buyers,
               nb.buyers AS other_buyers,
               row_number() OVER (PARTITION BY p.merchant_id
                                  ORDER BY p.shared_buyers DESC, p.other_merchant_id) AS link_rank
        FROM {pairs} p JOIN {buyers} na ON na.merchant_id = p.merchant_id
        JOIN {buyers} nb ON nb.merchant_id = p.other_merchant_id)
    SELECT merchant_id, other_merchant_id,
           CAST(shared_buyers AS INTEGER) AS shared_buyers, CAST(buyers AS INTEGER) AS buyers,
           CAST(other_buyers AS INTEGER) AS other_buyers,
           shared_buyers / buyers AS share_of_buyers,
           shared_buyers / (buyers + other_buyers - shared_buyers) AS jaccard,
           CAST(link_rank AS INTEGER) AS link_rank
    FROM r WHERE link_rank <= {int(per_merchant)}"""


def merchant_links_sql(as_of: date, per_merchant: int = LINKS_PER_MERCHANT) -> str:
    """(merchant_id, other_merchant_id, shared_buyers, buyers, other_buyers, share_of_buyers,
    jaccard, link_rank): the strongest ``per_merchant`` links of every merchant."""
    return f"""
    WITH b AS ({_buyers_sql(as_of)}),
    n AS (SELECT merchant_id, count(*) AS buyers FROM b GROUP BY merchant_id),
    p AS (
        SELECT x.merchant_id, y.merchant_id AS other_merchant_id, count(*) AS shared_buyers
        FROM b x JOIN b y ON x.user_id = y.user_id AND x.merchant_id <> y.merchant_id
        GROUP BY x.merchant_id, y.merchant_id),
    {_ranked_links_sql("p", "n", per_merchant)}"""


def merchant_links_frame(con: duckdb.DuckDBPyConnection, as_of: date,
                         per_merchant: int = LINKS_PER_MERCHANT) -> pd.DataFrame:
    """The rows of ``merchant_links_sql``, with the shared-buyer counts from a sparse product
    (``cooccurrence``) instead of a self-join: same rows, a fraction of the time at scale."""
    # each merchant's strongest partners are kept while counting (same order as the SQL
    # ranking), so DuckDB ranks thousands of rows instead of millions
    counts = cooccurrence.strongest_pairs(con, _buyers_sql(as_of), ("merchant_id",), per_merchant)
    ids = counts.items["merchant_id"].to_numpy(dtype=np.int64)
    pairs = pd.DataFrame({"merchant_id": ids[counts.left], "other_merchant_id": ids[counts.right],
                          "shared_buyers": counts.shared})
    buyers = pd.DataFrame({"merchant_id": ids, "buyers": counts.item_users})
    con.register("_links_pairs", pairs)
    con.register("_links_buyers", buyers)
    try:
        return con.execute("WITH " + _ranked_links_sql("_links_pairs", "_links_buyers",
                                                       per_merchant)).df()
    finally:
        con.unregister("_links_pairs")
        con.unregister("_links_buyers")


def undirected(links: pd.DataFrame) -> pd.DataFrame:
    """One row per merchant pair (a < b) from directed link rows."""
    if links.empty:
        return links.assign(a=pd.Series(dtype="int64"), b=pd.Series(dtype="int64"))
    first, second = links["merchant_id"].to_numpy(), links["other_merchant_id"].to_numpy()
    frame = links.assign(a=np.minimum(first, second), b=np.maximum(first, second))
    return frame.drop_duplicates(["a", "b"]).reset_index(drop=True)


def build_graph(links: pd.DataFrame, weight: str = "jaccard",
                min_shared: int = 1) -> nx.Graph:
    """An undirected weighted graph of merchants from link rows."""
    graph = nx.Graph()
    pairs = undirected(links)
    pairs = pairs[pairs["shared_buyers"] >= min_shared]
    graph.add_edges_from(
        (a, b, {"weight": w, "shared_buyers": n})
        for a, b, w, n in zip(pairs["a"].astype("int64").tolist(), pairs["b"].astype("int64").tolist(),
                              pairs[weight].astype(float).tolist(),
                              pairs["shared_buyers"].astype("int64").tolist(), strict=True))
    return graph


def detect_communities(links: pd.DataFrame, buyers: pd.DataFrame,
                       seed: int = COMMUNITY_SEED) -> pd.DataFrame:
    """(merchant_id, community_id, community_size, weighted_degree) for every merchant.

    ``buyers`` has (merchant_id, buyers). Communities are numbered 1, 2, … by their total
    buyers, largest first; a merchant without links is a community of its own.
    """
    graph = build_graph(links, min_shared=MIN_COMMUNITY_SHARED)
    for mid in buyers["merchant_id"].astype(int):
        graph.add_node(int(mid))
    groups: Iterable[set[int]] = (
        nx.community.louvain_communities(graph, weight="weight", seed=seed) if graph.number_of_nodes() else [])
    size_of = dict(zip(buyers["merchant_id"].astype(int), buyers["buyers"].astype(int), strict=True))
    ranked = sorted((sorted(g) for g in groups),
                    key=lambda g: (-sum(size_of.get(m, 0) for m in g), g[0]))
    rows = []
    for number, members in enumerate(ranked, start=1):
        for mid in members:
            rows.append((mid, number, len(members),
                         float(graph.degree(mid, weight="shared_buyers")) if mid in graph else 0.0))
    return pd.DataFrame(rows, columns=["merchant_id", "community_id", "community_size",
                                       "weighted_degree"])


def spring_positions(nodes: Iterable[object], edges: Iterable[tuple[object, object, float]],
                     seed: int = LAYOUT_SEED, center: object | None = None
                     ) -> dict[object, tuple[float, float]]:
    """Node positions in [-1, 1]² from networkx's spring layout with a fixed seed.

    With ``center`` that node is pinned at (0, 0) and edges are unweighted, so the other
    nodes spread evenly around it (an ego network).
    """
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    for a, b, w in edges:
        if a in graph and b in graph and a != b:
            graph.add_edge(a, b, weight=max(float(w), 1e-6))
    if graph.number_of_nodes() == 0:
        return {}
    if graph.number_of_nodes() == 1:
        return {next(iter(graph.nodes)): (0.0, 0.0)}
    k = 1.2 / graph.number_of_nodes() ** 0.5
    if center is not None and center in graph:
        pos = nx.spring_layout(graph, weight=None, seed=seed, k=k, pos={center: (0.0, 0.0)},
                               fixed=[center])
    else:
        pos = nx.spring_layout(graph, weight="weight", seed=seed, k=k)
    extent = max((max(abs(float(xy[0])), abs(float(xy[1]))) for xy in pos.values()), default=1.0) or 1.0
    return {node: (float(xy[0]) / extent, float(xy[1]) / extent) for node, xy in pos.items()}


# ---------------------------------------------------------------------------------------
# Answer-time SQL (run through the SQL guard with the caller's role)
# ---------------------------------------------------------------------------------------

def repeat_buyers_sql(limit: int = 10) -> str:
    """Merchants ranked by repeat buyers (users with ≥ 2 valid orders there), from the
    ``user_merchant_relation`` profile table."""
    return f"""
    SELECT r.merchant_id, m.merchant_name, m.main_category,
           CAST(count(*) FILTER (WHERE r.is_repeat_buyer) AS INTEGER) AS repeat_buyers,
           CAST(count(*) FILTER (WHERE r.order_count > 0) AS INTEGER) AS buyers,
           count(*) FILTER (WHERE r.is_repeat_buyer)
             / NULLIF(count(*) FILTER (WHERE r.order_count > 0), 0) AS repeat_buyer_share
    FROM user_merchant_relation r LEFT JOIN merchants m ON m.merchant_id = r.merchant_id
    GROUP BY r.merchant_id, m.merchant_name, m.main_category
    HAVING count(*) FILTER (WHERE r.order_count > 0) > 0
    ORDER BY repeat_buyers DESC, repeat_buyer_share DESC, r.merchant_id
    LIMIT {int(limit)}"""


def neighbours_sql(merchant_id: int, limit: int = 10) -> str:
    """The merchants sharing most buyers with ``merchant_id`` (from ``merchant_links``)."""
    return f"""
    SELECT l.other_merchant_id AS merchant_id, m.merchant_name, m.main_category,
           l.shared_buyers, l.share_of_buyers, l.jaccard, l.other_buyers AS buyers,
           l.buyers AS center_buyers
    FROM merchant_links l LEFT JOIN merchants m ON m.merchant_id = l.other_merchant_id
    WHERE l.merchant_id = {int(merchant_id)}
    ORDER BY l.link_rank
    LIMIT {int(limit)}"""


def top_pairs_sql(limit: int = 10) -> str:
    """The merchant pairs with the most shared buyers (each pair once)."""
    return f"""
    SELECT l.merchant_id, ma.merchant_name, l.other_merchant_id, mb.merchant_name AS other_merchant_name,
           l.shared_buyers, l.jaccard, l.buyers, l.other_buyers
    FROM merchant_links l
    LEFT JOIN merchants ma ON ma.merchant_id = l.merchant_id
    LEFT JOIN merchants mb ON mb.merchant_id = l.other_merchant_id
    WHERE l.merchant_id < l.other_merchant_id
    ORDER BY l.shared_buyers DESC, l.merchant_id, l.other_merchant_id
    LIMIT {int(limit)}"""


def links_among_sql(ids: list[int]) -> str:
    """Links (each pair once) between the given merchants."""
    values = ", ".join(str(int(i)) for i in ids) or "NULL"
    return f"""
    SELECT l.merchant_id, l.other_merchant_id, l.shared_buyers, l.jaccard
    FROM merchant_links l
    WHERE l.merchant_id IN ({values}) AND l.other_merchant_id IN ({values})
      AND l.merchant_id < l.other_merchant_id"""


def community_members_sql() -> str:
    """Every merchant with its community (from ``merchant_communities``)."""
    return """
    SELECT c.community_id, c.merchant_id, m.merchant_name, m.main_category, c.buyers,
           c.community_size, c.weighted_degree
    FROM merchant_communities c LEFT JOIN merchants m ON m.merchant_id = c.merchant_id
    ORDER BY c.community_id, c.buyers DESC, c.merchant_id"""


def own_customers_sql(merchant_id: int, limit: int = 24) -> str:
    """A merchant's own buyers, largest first, with totals over all its buyers."""
    return f"""
    SELECT r.user_id, CAST(r.order_count AS INTEGER) AS order_count, r.gmv, r.is_repeat_buyer,
           r.loyalty_score,
           CAST(count(*) OVER () AS INTEGER) AS buyers,
           CAST(sum(CASE WHEN r.is_repeat_buyer THEN 1 ELSE 0 END) OVER () AS INTEGER) AS repeat_buyers
    FROM user_merchant_relation r
    WHERE r.merchant_id = {int(merchant_id)} AND r.order_count > 0
    ORDER BY r.gmv DESC, r.user_id
    LIMIT {int(limit)}"""


def merchant_lookup_sql(text: str) -> str:
    """Merchants whose id equals, or whose name contains, ``text``."""
    from chatbi.relations.affinity import quote

    cond = f"contains(lower(m.merchant_name), lower({quote(text)}))"
    if text.strip().isdigit():
        cond = f"m.merchant_id = {int(text.strip())} OR {cond}"
    return f"""
    SELECT m.merchant_id, m.merchant_name FROM merchants m WHERE {cond}
    ORDER BY m.merchant_id LIMIT 20"""
