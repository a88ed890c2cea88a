"""Collaborative filtering: the model beats popularity; rules equal independent counts."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from chatbi.relations import recommend
from chatbi.relations.affinity import affinity_sql
from chatbi.warehouse.schema import create_table_sql
from tests.relations.conftest import AS_OF


def test_recommender_beats_popularity(raw):
    metrics = raw.execute("SELECT * FROM recommender_metrics").df()
    assert set(metrics["item_kind"]) == {"category", "merchant"} and set(metrics["holdout_days"]) == {90}
    for row in metrics.itertuples():
        assert row.test_users >= 100
        assert row.hit_rate > row.baseline_hit_rate, row
        assert row.recall > row.baseline_recall, row
    category = metrics[(metrics["item_kind"] == "category") & (metrics["holdout_days"] == 90)].iloc[0]
    assert category.hit_rate - category.baseline_hit_rate > 0.05


@pytest.mark.parametrize(("kind", "k"), [("category", 3), ("merchant", 10)])
def test_evaluate_30_day_split_beats_popularity(raw, kind, k):
    result = recommend.evaluate(raw, kind, AS_OF, k=k, holdout_days=30)
    assert result.cutoff == date(2026, 8, 31)
    test_users = raw.execute("""
        SELECT count(DISTINCT o.user_id) FROM orders o
        WHERE o.status <> 'cancelled' AND o.order_ts >= DATE '2026-09-01'
          AND o.order_ts < DATE '2026-10-01'""").fetchone()[0]
    assert 100 <= result.users <= test_users
    assert result.hit_rate > result.baseline_hit_rate
    assert result.recall > result.baseline_recall


def test_predictions_are_ranked_shares(raw):
    frame = raw.execute("SELECT * FROM user_next_category").df()
    assert frame.groupby("user_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()
    assert frame.groupby("user_id")["score"].sum().max() <= 1.0 + 1e-9
    ordered = frame.sort_values(["user_id", "rank"])
    assert (ordered.groupby("user_id")["score"].diff().dropna() <= 1e-12).all()
    wide = raw.execute("SELECT * FROM user_predictions").df()
    top = ordered[ordered["rank"] == 1].set_index("user_id")["category"]
    assert (wide.set_index("user_id")["predicted_next_category"] == top.reindex(wide["user_id"]).values).all()


def _tiny_shop() -> duckdb.DuckDBPyConnection:
    """Four users: A and B are always bought together; user 4 bought only A."""
    con = duckdb.connect()
    for table in ("orders", "order_items", "products", "merchants"):
        con.execute(create_table_sql(table))
    con.execute("INSERT INTO merchants (merchant_id, merchant_name) VALUES (1, 'm1'), (2, 'm2')")
    rows = [(1, "A"), (1, "B"), (2, "A"), (2, "B"), (3, "C"), (3, "B"), (4, "A"),
            (5, "C"), (6, "C"), (7, "C")]
    for i, (user, cat) in enumerate(rows, start=1):
        con.execute("INSERT INTO products (product_id, merchant_id, category) VALUES (?, 1, ?)", [i, cat])
        con.execute("INSERT INTO orders (order_id, user_id, merchant_id, order_ts, pay_amount, status) "
                    "VALUES (?, ?, 1, TIMESTAMP '2026-09-01 10:00:00', 10, 'completed')", [i, user])
        con.execute("INSERT INTO order_items VALUES (?, ?, 1, 10, 1)", [i, i])
    return con


def test_item_knn_follows_co_occurrence():
    con = _tiny_shop()
    data = recommend.load_interactions(con, "category", date(2026, 9, 30))
    model = recommend.fit(data)
    preds = recommend.predictions_frame(model, data, 3)
    user4 = preds[preds["user_id"] == 4].sort_values("rank")["item"].tolist()
    # user 4 bought A; B co-occurs with A, C (the most popular) does not
    assert user4[:2] == ["A", "B"]
    index = model.index()
    assert model.similarity[index["A"], index["B"]] > model.similarity[index["A"], index["C"]]


def test_category_affinity_equals_independent(raw):
    lines = raw.execute("""
        SELECT DISTINCT o.user_id, p.category FROM orders o
        JOIN order_items i ON i.order_id = o.order_id JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts < DATE '2026-10-01'""").df()
    users = raw.execute("""
        SELECT count(DISTINCT o.user_id) FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE o.status <> 'cancelled' AND o.order_ts < DATE '2026-10-01'""").fetchone()[0]
    buyers = lines.groupby("category")["user_id"].apply(set)
    table = raw.execute("SELECT * FROM category_affinity WHERE antecedent_type = 'category' "
                        "AND antecedent = '中古包' AND consequent_type = 'category'").df()
    assert len(table) == len(buyers) - 1
    a = buyers["中古包"]
    for row in table.itertuples():
        b = buyers[row.consequent]
        assert row.both_buyers == len(a & b)
        assert row.confidence == pytest.approx(len(a & b) / len(a))
        assert row.lift == pytest.approx(len(a & b) / len(a) / (len(b) / users))


def test_also_bought_answer(ask):
    result = ask("买了中古包的用户还会买什么？")
    assert result.kind == "also_bought"
    frame = result.frame
    assert (frame["consequent_type"] == "category").all() and "中古包" not in set(frame["consequent"])
    assert frame["lift"].is_monotonic_decreasing
    assert str(frame.iloc[0]["consequent"]) in result.finding
    assert result.check.ok and "category_affinity" in result.sql


def test_also_bought_live_sql_matches_table(raw):
    live = raw.execute(affinity_sql(AS_OF, antecedent_type="style", antecedent="设计师联名")).df()
    table = raw.execute("SELECT * FROM category_affinity WHERE antecedent_type = 'style' "
                        "AND antecedent = '设计师联名'").df()
    cols = ["consequent_type", "consequent", "both_buyers", "antecedent_buyers"]
    pd.testing.assert_frame_equal(live[cols].sort_values(cols[:2]).reset_index(drop=True),
                                  table[cols].sort_values(cols[:2]).reset_index(drop=True))


def test_merchant_also_bought_uses_only_own_orders(ask, raw):
    result = ask("买了时尚服饰的用户还会买什么品牌", role="merchant:2")
    own_buyers = raw.execute("""
        SELECT count(DISTINCT o.user_id) FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE o.merchant_id = 2 AND p.category = '时尚服饰' AND o.status <> 'cancelled'
          AND o.order_ts < DATE '2026-10-01'""").fetchone()[0]
    assert len(result.frame) > 0
    assert (result.frame["antecedent_buyers"] == own_buyers).all()
    assert (result.frame["consequent_type"] == "brand").all()
    assert result.check.ok


def test_next_audience(ask, raw):
    result = ask("which users are likely to buy 户外装备 next month?")
    assert result.kind == "next_audience"
    expected = raw.execute("SELECT count(*) FROM user_next_category WHERE category = '户外装备' "
                           "AND rank <= 3").fetchone()[0]
    assert len(result.frame) == expected == int(result.frame["audience_size"].iloc[0])
    assert result.frame["score"].is_monotonic_decreasing
    assert any("predicted_next_category = 户外装备" in n for n in result.notes)
    assert result.check.ok
    # users who recently bought outdoor gear are in the audience far more often than others
    recent = set(raw.execute("""
        SELECT DISTINCT o.user_id FROM orders o JOIN order_items i ON i.order_id = o.order_id
        JOIN products p ON p.product_id = i.product_id
        WHERE p.category = '户外装备' AND o.status <> 'cancelled'
          AND o.order_ts >= DATE '2026-04-01'""").df()["user_id"])
    audience = set(result.frame["user_id"])
    scored = set(raw.execute("SELECT DISTINCT user_id FROM user_next_category").df()["user_id"])
    others = scored - recent
    rate_recent = len(recent & audience) / len(recent)
    rate_others = len(others & audience) / len(others)
    assert rate_recent > 3 * rate_others

