"""Referential integrity and internal consistency of the tiny demo warehouse (plain SQL)."""

from __future__ import annotations

from tests.warehouse.conftest import rows, scalar


def test_primary_keys_are_unique(con) -> None:
    for table, key in (("users", "user_id"), ("merchants", "merchant_id"), ("products", "product_id"),
                       ("orders", "order_id"), ("events", "event_id"), ("reviews", "review_id"),
                       ("campaigns", "campaign_id"), ("kols", "kol_id")):
        n, distinct, nulls = rows(con, f"SELECT count(*), count(DISTINCT {key}), count(*) - count({key}) FROM {table}")[0]
        assert n == distinct and nulls == 0, table
    assert scalar(con, "SELECT count(*) - count(DISTINCT (order_id, product_id)) FROM order_items") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT (user_id, target_type, target_id)) FROM follows") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT (campaign_id, user_id)) FROM campaign_touches") == 0


def test_orders_reference_existing_users_and_merchants_after_they_joined(con) -> None:
    assert scalar(con, "SELECT count(*) FROM orders o ANTI JOIN users u USING (user_id)") == 0
    assert scalar(con, "SELECT count(*) FROM orders o ANTI JOIN merchants m USING (merchant_id)") == 0
    assert scalar(con, """SELECT count(*) FROM orders o JOIN users u USING (user_id)
                          WHERE o.order_ts::DATE < u.signup_date""") == 0
    assert scalar(con, """SELECT count(*) FROM orders o JOIN merchants m USING (merchant_id)
                          WHERE o.order_ts::DATE < m.join_date""") == 0


def test_order_items_belong_to_the_orders_merchant_and_sum_to_the_pay_amount(con) -> None:
    assert scalar(con, "SELECT count(*) FROM order_items i ANTI JOIN orders o USING (order_id)") == 0
    assert scalar(con, "SELECT count(*) FROM orders o ANTI JOIN order_items i USING (order_id)") == 0
    assert scalar(con, """SELECT count(*) FROM order_items i JOIN orders o USING (order_id)
                          WHERE i.merchant_id <> o.merchant_id""") == 0
    assert scalar(con, """SELECT count(*) FROM order_items i JOIN products p USING (product_id)
                          WHERE p.merchant_id <> i.merchant_id""") == 0
    assert scalar(con, """SELECT count(*) FROM orders o
                          JOIN (SELECT order_id, sum(price * quantity) AS items FROM order_items GROUP BY 1) s
                          USING (order_id) WHERE o.pay_amount <> s.items - o.discount_amount""") == 0
    assert scalar(con, "SELECT count(*) FROM orders WHERE pay_amount <= 0 OR discount_amount < 0") == 0
    assert scalar(con, """SELECT count(*) FROM orders
                          WHERE (coupon_id IS NULL) <> (discount_amount = 0)""") == 0
    per_order = dict(rows(con, """SELECT n, count(*) FROM (SELECT order_id, count(*) n FROM order_items GROUP BY 1)
                                  GROUP BY 1"""))
    assert set(per_order) <= {1, 2, 3}
    assert per_order[1] > 0.7 * sum(per_order.values())


def test_products_sold_once_with_sold_at_and_others_unsold(con) -> None:
    assert scalar(con, "SELECT count(*) - count(DISTINCT product_id) FROM order_items") == 0
    assert scalar(con, "SELECT count(*) FROM products WHERE (status = 'sold') <> (sold_at IS NOT NULL)") == 0
    assert scalar(con, "SELECT count(*) FROM products WHERE sold_at < listed_at") == 0
    # every sold product is an item of a non-cancelled order sold at the order's time
    assert scalar(con, """SELECT count(*) FROM products p WHERE status = 'sold' AND NOT EXISTS (
                            SELECT 1 FROM order_items i JOIN orders o USING (order_id)
                            WHERE i.product_id = p.product_id AND o.status <> 'cancelled'
                              AND o.order_ts = p.sold_at)""") == 0
    statuses = dict(rows(con, "SELECT status, count(*) FROM products GROUP BY 1"))
    assert set(statuses) == {"on_sale", "sold", "withdrawn"}
    # every merchant lists over time, and most have unsold stock too
    per_merchant = rows(con, """SELECT merchant_id, count(*), count(*) FILTER (WHERE status <> 'sold'),
                                       date_diff('day', min(listed_at), max(listed_at))
                                FROM products GROUP BY 1""")
    assert len(per_merchant) == scalar(con, "SELECT count(*) FROM merchants")
    assert sum(1 for r in per_merchant if r[2] > 0) > 0.9 * len(per_merchant)
    assert sum(1 for r in per_merchant if r[3] > 180) > 0.7 * len(per_merchant)


def test_purchase_events_match_real_orders(con) -> None:
    unmatched = scalar(con, """SELECT count(*) FROM events e WHERE event_type = 'purchase' AND NOT EXISTS (
                                 SELECT 1 FROM orders o JOIN order_items i USING (order_id)
                                 WHERE o.user_id = e.user_id AND o.merchant_id = e.merchant_id
                                   AND o.order_ts = e.event_ts AND i.product_id = e.product_id)""")
    assert unmatched == 0
    purchases = scalar(con, "SELECT count(*) FROM events WHERE event_type = 'purchase'")
    assert purchases > 0.08 * scalar(con, "SELECT count(*) FROM orders")
    # every buyer's first order is tracked
    assert scalar(con, """SELECT count(*) FROM (SELECT user_id, min(order_ts) AS t FROM orders GROUP BY 1) f
                          WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_type = 'purchase'
                                            AND e.user_id = f.user_id AND e.event_ts = f.t)""") == 0


def test_events_reference_existing_rows_and_sessions_are_ordered(con) -> None:
    assert scalar(con, "SELECT count(*) FROM events e ANTI JOIN users u USING (user_id)") == 0
    assert scalar(con, """SELECT count(*) FROM events e WHERE product_id IS NOT NULL
                          AND product_id NOT IN (SELECT product_id FROM products)""") == 0
    assert scalar(con, """SELECT count(*) FROM events e JOIN products p USING (product_id)
                          WHERE p.merchant_id <> e.merchant_id OR p.category <> e.category""") == 0
    assert scalar(con, """SELECT count(*) FROM events e JOIN users u USING (user_id)
                          WHERE e.event_ts::DATE < u.signup_date""") == 0
    # search events carry a query and no product; other events carry a product and no query
    bad = scalar(con, """SELECT count(*) FROM events WHERE (event_type = 'search') <> (product_id IS NULL)
                         OR (event_type = 'search') <> (search_query IS NOT NULL)""")
    assert bad == 0
    # a session belongs to one user and ends with its purchase
    assert scalar(con, "SELECT count(*) FROM (SELECT session_id FROM events GROUP BY 1 HAVING count(DISTINCT user_id) > 1)") == 0
    late = scalar(con, """SELECT count(*) FROM events e JOIN events p ON p.session_id = e.session_id
                          AND p.event_type = 'purchase' WHERE e.event_ts > p.event_ts""")
    assert late == 0


def test_campaign_touches_convert_into_later_orders_of_the_same_user(con) -> None:
    assert scalar(con, "SELECT count(*) FROM campaign_touches t ANTI JOIN campaigns c USING (campaign_id)") == 0
    assert scalar(con, "SELECT count(*) FROM campaign_touches t ANTI JOIN users u USING (user_id)") == 0
    assert scalar(con, """SELECT count(*) FROM campaign_touches t LEFT JOIN orders o USING (order_id)
                          WHERE t.order_id IS NOT NULL
                            AND (o.order_id IS NULL OR o.user_id <> t.user_id OR o.order_ts < t.touch_ts
                                 OR o.order_ts > t.touch_ts + INTERVAL 8 DAY)""") == 0
    assert scalar(con, """SELECT count(*) FROM campaign_touches t JOIN campaigns c USING (campaign_id)
                          WHERE t.touch_ts::DATE < c.start_date OR t.touch_ts::DATE > c.end_date""") == 0
    assert scalar(con, "SELECT count(*) FROM campaign_touches WHERE order_id IS NOT NULL AND NOT opened") == 0
    assert scalar(con, "SELECT count(*) FROM campaign_touches WHERE clicked AND NOT opened") == 0
    # an order converted by a coupon campaign uses that campaign's coupon
    assert scalar(con, """SELECT count(*) FROM campaign_touches t JOIN campaigns c USING (campaign_id)
                          JOIN orders o USING (order_id)
                          WHERE c.coupon_value > 0 AND o.coupon_id IS NULL""") == 0
    conversions = scalar(con, "SELECT count(order_id) FROM campaign_touches")
    assert conversions > 100


def test_reviews_follows_and_kols_are_consistent(con) -> None:
    assert scalar(con, """SELECT count(*) FROM reviews r LEFT JOIN orders o USING (order_id)
                          WHERE o.order_id IS NULL OR o.user_id <> r.user_id OR o.merchant_id <> r.merchant_id
                             OR r.review_ts <= o.order_ts OR o.status = 'cancelled'""") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT order_id) FROM reviews") == 0
    assert scalar(con, """SELECT count(*) FROM follows f WHERE
                          (target_type = 'merchant' AND target_id NOT IN (SELECT merchant_id FROM merchants))
                          OR (target_type = 'kol' AND target_id NOT IN (SELECT kol_id FROM kols))""") == 0
    assert scalar(con, """SELECT count(*) FROM follows f JOIN users u USING (user_id)
                          WHERE f.followed_at::DATE < u.signup_date""") == 0
    kinds = dict(rows(con, "SELECT target_type, count(*) FROM follows GROUP BY 1"))
    assert kinds["merchant"] > 0 and kinds["kol"] > 0


def test_timestamps_stay_inside_the_window(con) -> None:
    for table, col in (("orders", "order_ts"), ("events", "event_ts"), ("reviews", "review_ts"),
                       ("campaign_touches", "touch_ts"), ("products", "sold_at"), ("products", "listed_at"),
                       ("follows", "followed_at")):
        assert scalar(con, f"SELECT count(*) FROM {table} WHERE {col} >= TIMESTAMP '2026-10-01'") == 0, table
    for table, col in (("orders", "order_ts"), ("events", "event_ts"), ("reviews", "review_ts")):
        assert scalar(con, f"SELECT count(*) FROM {table} WHERE {col} < TIMESTAMP '2023-10-01'") == 0, table
    assert scalar(con, "SELECT count(*) FROM campaigns WHERE end_date < start_date OR end_date > DATE '2026-09-30'") == 0
