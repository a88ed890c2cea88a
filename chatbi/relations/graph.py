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

import networkx as nx
import pandas as pd

LINKS_PER_MERCHANT = 50
COMMUNITY_SEED = 7
LAYOUT_SEED = 7
MIN_COMMUNITY_SHARED = 2  # links with fewer shared buyers are ignored for communities


def merchant_links_sql(as_of: date, per_merchant: int = LINKS_PER_MERCHANT) -> str:
    """(merchant_id, other_merchant_id, shared_buyers, buyers, other_buyers, share_of_buyers,
    jaccard, link_rank): the strongest ``per_merchant`` links of every merchant."""
    a = f"DATE '{as_of.isoformat()}'"
    return f"""
    WITH b AS (
        SELECT DISTINCT user_id, merchant_id FROM orders
        WHERE status <> 'cancelled' AND order_ts < {a} + 1
          AND user_id IS NOT NULL AND merchant_id IS NOT NULL),
    n AS (SELECT merchant_id, count(*) AS buyers FROM b GROUP BY merchant_id),
    p AS (
        SELECT x.merchant_id, y.merchant_id AS other_merchant_id, count(*) AS shared_buyers
        FROM b x JOIN b y ON x.user_id = y.user_id AND x.merchant_id <> y.merchant_id
        GROUP BY x.merchant_id, y.merchant_id),
    r AS (
        SELECT p.merchant_id, p.other_merchant_id, p.shared_buyers, na.buyers,
               nb.buyers AS other_buyers,
               row_number() OVER (PARTITION BY p.merchant_id
                                  ORDER BY p.shared_buyers DESC, p.other_merchant_id) AS link_rank
        FROM p JOIN n na ON na.merchant_id = p.merchant_id
        JOIN n nb ON nb.merchant_id = p.other_merchant_id)
    SELECT merchant_id, other_merchant_id,
           CAST(shared_buyers AS INTEGER) AS shared_buyers, CAST(buyers AS INTEGER) AS buyers,
           CAST(other_buyers AS INTEGER) AS other_buyers,
           shared_buyers / buyers AS share_of_buyers,
           shared_buyers / (buyers + other_buyers - shared_buyers) AS jaccard,
           CAST(link_rank AS INTEGER) AS link_rank
    FROM r WHERE link_rank <= {int(per_merchant)}"""


def undirected(links: pd.DataFrame) -> pd.DataFrame:
    """One row per merchant pair (a < b) from directed link rows."""
    if links.empty:
        return links.assign(a=pd.Series(dtype="int64"), b=pd.Series(dtype="int64"))
    frame = links.assign(a=links[["merchant_id", "other_merchant_id"]].min(axis=1),
                         b=links[["merchant_id", "other_merchant_id"]].max(axis=1))
    return frame.drop_duplicates(["a", "b"]).reset_index(drop=True)


def build_graph(links: pd.DataFrame, weight: str = "jaccard",
                min_shared: int = 1) -> nx.Graph:
    """An undirected weighted graph of merchants from link rows."""
    graph = nx.Graph()
    for row in undirected(links).itertuples(index=False):
        if row.shared_buyers >= min_shared:
            graph.add_edge(int(row.a), int(row.b), weight=float(getattr(row, weight)),
                           shared_buyers=int(row.shared_buyers))
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
                     seed: int = LAYOUT_SEED) -> dict[object, tuple[float, float]]:
    """Node positions in [-1, 1]² from networkx's spring layout with a fixed seed."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    for a, b, w in edges:
        if a in graph and b in graph and a != b:
            graph.add_edge(a, b, weight=max(float(w), 1e-6))
    if graph.number_of_nodes() == 0:
        return {}
    if graph.number_of_nodes() == 1:
        return {next(iter(graph.nodes)): (0.0, 0.0)}
    pos = nx.spring_layout(graph, weight="weight", seed=seed, k=1.2 / graph.number_of_nodes() ** 0.5)
    return {node: (float(xy[0]), float(xy[1])) for node, xy in pos.items()}
