"""user_merchant_relation: every interacting pair, counts from the raw tables, loyalty 0-100."""

from __future__ import annotations


def test_every_interaction_gives_a_pair(con) -> None:
    missing = con.execute("""
        WITH k AS (
            SELECT user_id, merchant_id FROM orders WHERE status <> 'cancelled'
            UNION SELECT user_id, merchant_id FROM events WHERE merchant_id IS NOT NULL
            UNION SELECT user_id, target_id FROM follows WHERE target_type = 'merchant'
            UNION SELECT user_id, merchant_id FROM reviews)
        SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM user_merchant_relation),
               (SELECT count(*) FROM k ANTI JOIN user_merchant_relation USING (user_id, merchant_id))
    """).fetchone()
    assert missing[0] == missing[1] and missing[2] == 0


def test_counts_match_raw_tables(con) -> None:
    bad = con.execute("""
        WITH o AS (SELECT user_id, merchant_id, count(*) AS n, sum(pay_amount) AS gmv,
                          count(*) FILTER (WHERE is_disputed) AS d, min(order_ts) AS f, max(order_ts) AS l
                   FROM orders WHERE status <> 'cancelled' GROUP BY ALL),
             e AS (SELECT user_id, merchant_id, count(*) FILTER (WHERE event_type = 'view') AS v,
                          count(*) FILTER (WHERE event_type = 'favorite') AS fav
                   FROM events WHERE merchant_id IS NOT NULL GROUP BY ALL),
             f AS (SELECT DISTINCT user_id, target_id AS merchant_id FROM follows
                   WHERE target_type = 'merchant')
        SELECT count(*) FROM user_merchant_relation r
        LEFT JOIN o USING (user_id, merchant_id) LEFT JOIN e USING (user_id, merchant_id)
        LEFT JOIN f ON f.user_id = r.user_id AND f.merchant_id = r.merchant_id
        WHERE r.order_count <> coalesce(o.n, 0) OR r.gmv <> coalesce(o.gmv, 0)
           OR r.dispute_count <> coalesce(o.d, 0) OR r.view_count <> coalesce(e.v, 0)
           OR r.favorite_count <> coalesce(e.fav, 0) OR r.follows <> (f.user_id IS NOT NULL)
           OR r.first_order_ts IS DISTINCT FROM o.f OR r.last_order_ts IS DISTINCT FROM o.l
           OR r.is_repeat_buyer <> (coalesce(o.n, 0) >= 2)
    """).fetchone()[0]
    assert bad == 0


def test_loyalty_score_formula(con) -> None:
    bad = con.execute("""
        SELECT count(*) FROM user_merchant_relation WHERE loyalty_score NOT BETWEEN 0 AND 100
           OR abs(loyalty_score - round(least(100, greatest(0,
                40.0 * least(order_count, 5) / 5
              + CASE WHEN order_count > 0 THEN 20.0 * greatest(0, 1 - (profile_date
                     - last_order_ts::DATE) / 365.0) ELSE 0 END
              + 15.0 * least(view_count + 3 * favorite_count, 20) / 20
              + CASE WHEN follows THEN 10 ELSE 0 END
              + CASE WHEN avg_rating IS NOT NULL THEN 15.0 * (avg_rating - 1) / 4
                     WHEN order_count > 0 THEN 7.5 ELSE 0 END
              - 10.0 * dispute_count)), 1)) > 0.11   -- avg_rating is stored rounded
    """).fetchone()[0]
    assert bad == 0
    spread = con.execute("""
        SELECT avg(loyalty_score) FILTER (WHERE is_repeat_buyer),
               avg(loyalty_score) FILTER (WHERE order_count = 0) FROM user_merchant_relation
    """).fetchone()
    assert spread[0] > spread[1] + 30
