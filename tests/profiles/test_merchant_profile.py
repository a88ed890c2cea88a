"""merchant_profile: metrics recomputed directly from the raw tables, and tag rules."""

from __future__ import annotations

import pytest

from chatbi.profiles import rules as R
from chatbi.profiles.merchants import MERCHANT_TAGS


@pytest.fixture()
def direct(con):
    """Merchant metrics computed the straightforward way at the as-of date."""
    return con.execute("""
        WITH a AS (SELECT max(order_ts)::DATE AS a FROM orders),
        o AS (SELECT merchant_id, count(*) AS n, sum(pay_amount) AS gmv,
                     count(DISTINCT user_id) AS buyers,
                     avg(CASE WHEN status IN ('returned', 'refunded') THEN 1 ELSE 0 END) AS ret,
                     avg(CASE WHEN is_disputed THEN 1 ELSE 0 END) AS dis
              FROM orders WHERE status <> 'cancelled' GROUP BY merchant_id),
        rep AS (SELECT merchant_id, avg(CASE WHEN k >= 2 THEN 1 ELSE 0 END) AS rate
                FROM (SELECT merchant_id, user_id, count(*) AS k FROM orders
                      WHERE status <> 'cancelled' GROUP BY ALL) GROUP BY merchant_id),
        p AS (SELECT merchant_id,
                     count(*) FILTER (WHERE listed_at::DATE > a - 30) AS new30,
                     count(*) FILTER (WHERE status = 'sold' AND sold_at::DATE > a - 90) AS sold90,
                     count(*) FILTER (WHERE status = 'on_sale') AS on_sale
              FROM products, a GROUP BY merchant_id),
        r AS (SELECT merchant_id, avg(rating) AS rating FROM reviews GROUP BY merchant_id)
        SELECT m.merchant_id, o.n, o.gmv, o.buyers, o.ret, o.dis, rep.rate, p.new30, p.sold90,
               p.on_sale, r.rating
        FROM merchants m LEFT JOIN o USING (merchant_id) LEFT JOIN rep USING (merchant_id)
        LEFT JOIN p USING (merchant_id) LEFT JOIN r USING (merchant_id)
        ORDER BY m.merchant_id
    """).fetchall()


def test_metrics_match_direct_sql(con, direct) -> None:
    built = con.execute("""
        SELECT merchant_id, order_count, gmv, buyer_count, return_rate, dispute_rate,
               repeat_buyer_rate, new_listings_30d, sold_listings_90d, on_sale_listings, avg_rating
        FROM merchant_profile ORDER BY merchant_id""").fetchall()
    assert len(built) == len(direct)
    for b, d in zip(built, direct, strict=True):
        assert b[0] == d[0]
        assert b[1] == (d[1] or 0) and b[2] == (d[2] or 0) and b[3] == (d[3] or 0)
        for got, want in zip(b[4:7], d[4:7], strict=True):
            assert (got is None and want is None) or abs(got - want) < 1e-3
        assert b[7:10] == tuple(x or 0 for x in d[7:10])
        assert (b[10] is None and d[10] is None) or abs(b[10] - d[10]) < 0.01


def test_sell_through_and_turnover_formulas(con) -> None:
    bad = con.execute(f"""
        SELECT count(*) FROM merchant_profile WHERE
            abs(sell_through_rate - sold_listings_90d / (sold_listings_90d + on_sale_listings)) > 1e-3
            OR (sold_listings_90d > 0 AND abs(inventory_turnover_days
                - on_sale_listings * {R.SELL_THROUGH_DAYS} / sold_listings_90d) > 0.1)
            OR (sold_listings_90d = 0 AND inventory_turnover_days IS NOT NULL)
            OR sell_through_rate NOT BETWEEN 0 AND 1""").fetchone()[0]
    assert bad == 0


def test_tags_are_known_and_rules_hold(con) -> None:
    tags = {r[0] for r in con.execute(
        "SELECT DISTINCT unnest(tags) FROM merchant_profile").fetchall()}
    assert tags <= set(MERCHANT_TAGS)
    assert {"滞销风险型", "高频上新型", "新入驻", "平台认证"} <= tags
    stale = con.execute("SELECT merchant_id, on_sale_listings FROM merchant_profile "
                        "WHERE list_contains(tags, '滞销风险型')").fetchall()
    assert all(n >= R.TAG_STALE_MIN_STOCK for _, n in stale)
    assert 12 in {m for m, _ in stale}   # the planted slow merchant
    new = con.execute("SELECT count(*) FROM merchant_profile WHERE list_contains(tags, '新入驻') "
                      f"<> (join_date > profile_date - {R.MERCHANT_NEW_DAYS})").fetchone()[0]
    assert new == 0
    dispute = con.execute("SELECT merchant_id FROM merchant_profile "
                          "WHERE list_contains(tags, '高纠纷风险型')").fetchall()
    assert (7,) in dispute


def test_review_shares(con) -> None:
    bad = con.execute("""
        WITH s AS (SELECT r.merchant_id, avg(CASE WHEN s.sentiment = 'positive' THEN 1 ELSE 0 END) AS pos,
                          avg(CASE WHEN s.sentiment = 'negative' THEN 1 ELSE 0 END) AS neg
                   FROM reviews r JOIN review_sentiment s USING (review_id) GROUP BY 1)
        SELECT count(*) FROM merchant_profile p JOIN s USING (merchant_id)
        WHERE abs(p.positive_review_share - s.pos) > 1e-3 OR abs(p.negative_review_share - s.neg) > 1e-3
    """).fetchone()[0]
    assert bad == 0
