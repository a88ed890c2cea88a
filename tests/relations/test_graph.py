"""The user–merchant graph: shared buyers, repeat buyers, communities, merchant isolation."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from chatbi.errors import GuardError, RefusedError
from chatbi.relations import graph
from chatbi.relations.answers import relation_policy
from chatbi.relations.charts import MAX_NODES
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role


@pytest.fixture(scope="module")
def buyer_sets(raw) -> dict[int, set[int]]:
    """Independent: buyers of each merchant from raw orders (valid, up to the as-of date)."""
    frame = raw.execute(
        "SELECT DISTINCT merchant_id, user_id FROM orders WHERE status <> 'cancelled' "
        "AND order_ts < DATE '2026-10-01'").df()
    return {int(m): set(g["user_id"].astype(int)) for m, g in frame.groupby("merchant_id")}


def test_shared_buyers_equal_independent_count(raw, buyer_sets):
    links = raw.execute("SELECT merchant_id, other_merchant_id, shared_buyers, buyers, jaccard "
                        "FROM merchant_links").df()
    assert len(links) > 100
    for row in links.sample(200, random_state=1).itertuples():
        a, b = buyer_sets[row.merchant_id], buyer_sets[row.other_merchant_id]
        assert row.shared_buyers == len(a & b)
        assert row.buyers == len(a)
        assert row.jaccard == pytest.approx(len(a & b) / len(a | b))
    # each merchant keeps its strongest links: nothing left out beats the weakest kept one
    for mid, group in links.groupby("merchant_id"):
        kept = set(group["other_merchant_id"])
        best_missing = max((len(buyer_sets[mid] & s) for o, s in buyer_sets.items()
                            if o != mid and o not in kept), default=0)
        assert best_missing <= group["shared_buyers"].min()


def test_links_are_symmetric(raw):
    links = raw.execute("SELECT merchant_id, other_merchant_id, shared_buyers FROM merchant_links").df()
    pairs = {(r.merchant_id, r.other_merchant_id): r.shared_buyers for r in links.itertuples()}
    for (a, b), n in itertools.islice(pairs.items(), 300):
        if (b, a) in pairs:
            assert pairs[(b, a)] == n


def test_communities_cover_every_merchant_and_group_shared_customers(raw):
    comm = raw.execute("SELECT merchant_id, community_id FROM merchant_communities").df()
    merchants = raw.execute("SELECT merchant_id FROM merchants").df()
    assert set(comm["merchant_id"]) == set(merchants["merchant_id"])
    links = raw.execute("SELECT * FROM merchant_links").df()
    g = graph.build_graph(links, min_shared=graph.MIN_COMMUNITY_SHARED)
    parts = [set(grp["merchant_id"]) & set(g.nodes) for _, grp in comm.groupby("community_id")]
    parts = [p for p in parts if p]
    assert len(parts) >= 2
    assert nx.community.modularity(g, parts, weight="weight") > 0.0
    # deterministic with the fixed seed
    buyers = raw.execute("SELECT merchant_id, buyers FROM merchant_communities").df()
    again = graph.detect_communities(links, buyers)
    assert again.sort_values("merchant_id")["community_id"].tolist() == \
        comm.sort_values("merchant_id")["community_id"].tolist()


def test_shared_customers_answer(ask, buyer_sets):
    result = ask("和商户12共享客户最多的商户")
    frame = result.frame
    assert result.kind == "shared_customers"
    center = buyer_sets[12]
    expected = sorted(((len(center & s), -m) for m, s in buyer_sets.items() if m != 12), reverse=True)
    assert frame["shared_buyers"].tolist() == [n for n, _ in expected[:len(frame)]]
    top = frame.iloc[0]
    assert top.share_of_buyers == pytest.approx(top.shared_buyers / len(center))
    assert str(top.merchant_name) in result.finding and f"{int(top.shared_buyers)}" in result.finding
    assert result.check is not None and result.check.ok
    nodes = [layer for layer in result.chart["layer"] if layer["mark"]["type"] == "circle"][0]
    assert 2 <= len(nodes["data"]["values"]) <= MAX_NODES
    assert "merchant_links" in result.sql


def test_repeat_buyers_equal_independent_sql(ask, raw):
    result = ask("哪些商户拥有大量复购用户？")
    expected = raw.execute("""
        WITH c AS (SELECT merchant_id, user_id, count(*) AS n FROM orders
                   WHERE status <> 'cancelled' AND order_ts < DATE '2026-10-01' GROUP BY ALL)
        SELECT merchant_id, count(*) FILTER (WHERE n >= 2) AS repeat_buyers, count(*) AS buyers
        FROM c GROUP BY 1 ORDER BY repeat_buyers DESC, merchant_id""").df()
    frame = result.frame
    assert result.kind == "repeat_buyers" and len(frame) == 10
    want = expected.set_index("merchant_id")
    for row in frame.itertuples():
        assert row.repeat_buyers == want.loc[row.merchant_id, "repeat_buyers"]
        assert row.buyers == want.loc[row.merchant_id, "buyers"]
    assert frame["repeat_buyers"].iloc[0] == expected["repeat_buyers"].max()
    assert result.check.ok and result.chart is not None


def test_communities_answer(ask):
    result = ask("哪些商户共享客户形成了社群？")
    assert result.kind == "communities"
    assert result.frame["merchant_count"].sum() == 60
    assert result.check.ok
    circles = [layer for layer in result.chart["layer"] if layer["mark"]["type"] == "circle"][0]
    assert len(circles["data"]["values"]) == MAX_NODES


def test_network_png_renders(ask, tmp_path: Path):
    from chatbi.answer.charts import chart_png

    result = ask("show the customer network of merchant 12")
    assert result.kind == "merchant_network"
    path = chart_png(result.chart, tmp_path / "network.png")
    assert path.stat().st_size > 10_000
    assert "Customer network" in result.chart["title"]["text"]


# ---------------------------------------------------------------------------------------
# Merchant roles see only their own relationships
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("question", [
    "和商户12共享客户最多的商户", "哪些商户共享客户最多", "商户社群有哪些",
    "show the customer network of merchant 12", "哪个KOL的粉丝购买力最强？",
    "which users are likely to buy 户外装备 next month?", "用户123接下来可能买什么品类",
])
def test_merchant_role_cannot_see_other_merchants(ask, question):
    with pytest.raises(RefusedError):
        ask(question, role="merchant:2")


def test_merchant_customer_network_lists_no_user_ids(ask):
    """Issue 18: a list of buyers' user ids is refused for roles without PII (merchants)."""
    with pytest.raises(GuardError) as refused:
        ask("我的客户网络", role="merchant:2")
    assert refused.value.code == "sql_user_level_refused"


def test_merchant_repeat_buyers_only_own_row(ask):
    result = ask("哪些商户拥有大量复购用户？", role="merchant:2")
    assert result.frame["merchant_id"].tolist() == [2]


def test_guard_refuses_relation_tables_for_merchants(policy):
    extended = relation_policy(policy)
    for table in ("merchant_links", "merchant_communities", "user_next_category", "category_affinity"):
        guard_sql(f"SELECT * FROM {table}", extended, Role.parse("admin"))
        with pytest.raises(GuardError):
            guard_sql(f"SELECT * FROM {table}", extended, Role.parse("merchant:2"))


def test_spring_positions_fixed_seed():
    edges = [(1, 2, 3.0), (2, 3, 1.0), (3, 1, 2.0), (3, 4, 1.0)]
    a = graph.spring_positions([1, 2, 3, 4], edges)
    b = graph.spring_positions([1, 2, 3, 4], edges)
    assert a == b
    assert all(abs(x) <= 1.0 + 1e-9 and abs(y) <= 1.0 + 1e-9 for x, y in a.values())
    centred = graph.spring_positions([1, 2, 3, 4], edges, center=1)
    assert centred[1] == (0.0, 0.0)


def test_undirected_dedupes_pairs():
    links = pd.DataFrame({"merchant_id": [1, 2, 1], "other_merchant_id": [2, 1, 3],
                          "shared_buyers": [5, 5, 2], "jaccard": [0.5, 0.5, 0.1]})
    assert len(graph.undirected(links)) == 2
