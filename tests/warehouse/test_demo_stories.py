"""The planted stories (docs/demo_data.md) are in the tiny data, found with plain SQL.

Story 2 (华南 new-user conversion) needs more users than tiny has; it is checked at the
small scale in test_demo_small.py.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from chatbi.warehouse.demo import DemoSummary
from tests.warehouse.conftest import rows, scalar

# GMV by buyer region and product category, an order's pay_amount split over its items in
# proportion to price * quantity (DATA_CONTRACT.md), for two periods.
CATEGORY_GROWTH = """
WITH items AS (
    SELECT o.order_id, o.order_ts, o.pay_amount, u.region, p.category,
           i.price * i.quantity / sum(i.price * i.quantity) OVER (PARTITION BY o.order_id) AS part
    FROM orders o JOIN users u USING (user_id) JOIN order_items i USING (order_id)
    JOIN products p USING (product_id)
    WHERE o.status <> 'cancelled' AND u.region = ?
)
SELECT category,
       sum(pay_amount * part) FILTER (WHERE order_ts >= ? AND order_ts < ?) AS previous,
       sum(pay_amount * part) FILTER (WHERE order_ts >= ? AND order_ts < ?) AS last,
       last / previous - 1 AS growth
FROM items GROUP BY 1 ORDER BY growth DESC
"""

# Merchants ranked by extra disputed orders in the recent window (rate jump × volume).
DISPUTE_JUMP = """
SELECT merchant_id,
       count(*) FILTER (WHERE order_ts >= ?) AS recent_orders,
       avg(is_disputed::INT) FILTER (WHERE order_ts >= ?) AS recent_rate,
       avg(is_disputed::INT) FILTER (WHERE order_ts < ?) AS earlier_rate,
       (recent_rate - earlier_rate) * recent_orders AS extra_disputes
FROM orders WHERE status <> 'cancelled'
GROUP BY 1 HAVING recent_orders >= 20
ORDER BY extra_disputes DESC
"""


def _connect(summary: DemoSummary) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(summary.path), read_only=True)


@pytest.mark.parametrize("which, prev_q, last_q", [
    ("default", (date(2026, 1, 1), date(2026, 4, 1)), (date(2026, 4, 1), date(2026, 7, 1))),
    ("early", (date(2024, 10, 1), date(2025, 1, 1)), (date(2025, 1, 1), date(2025, 4, 1))),
])
def test_story1_east_china_vintage_bags_grow_fastest_last_quarter(request, which, prev_q, last_q) -> None:
    summary = request.getfixturevalue("demo_tiny" if which == "default" else "demo_tiny_early")
    con = _connect(summary)
    try:
        result = rows(con, CATEGORY_GROWTH, "华东", *prev_q, *last_q)
    finally:
        con.close()
    growth = {cat: float(g) for cat, _, _, g in result}
    assert result[0][0] == "中古包"
    assert 0.35 <= growth["中古包"] <= 0.40
    assert -0.08 <= growth["家居"] <= -0.01
    runner_up = sorted(growth.values())[-2]
    assert growth["中古包"] - runner_up > 0.05


def test_story1_is_specific_to_the_east(con) -> None:
    result = rows(con, CATEGORY_GROWTH, "华南", date(2026, 1, 1), date(2026, 4, 1), date(2026, 4, 1), date(2026, 7, 1))
    growth = {cat: float(g) for cat, _, _, g in result}
    assert abs(growth["中古包"] - 0.375) > 0.01 or growth["家居"] > 0


@pytest.mark.parametrize("which, window", [("default", date(2026, 8, 1)), ("early", date(2025, 5, 1))])
def test_story3_one_merchant_dispute_rate_jumps_in_the_last_month(request, which, window) -> None:
    summary = request.getfixturevalue("demo_tiny" if which == "default" else "demo_tiny_early")
    con = _connect(summary)
    try:
        result = rows(con, DISPUTE_JUMP, window, window, window)
    finally:
        con.close()
    merchant, recent_orders, recent_rate, earlier_rate, extra = result[0]
    assert str(merchant) == summary.planted["dispute_merchant_id"]
    assert recent_orders >= 30
    assert 0.12 <= recent_rate <= 0.18
    assert earlier_rate <= 0.03
    assert extra > 3 * result[1][4]
    # the last full month on its own (上个月) shows the jump too
    con = _connect(summary)
    try:
        month_end = date(window.year + window.month // 12, window.month % 12 + 1, 1)
        rate = scalar(con, """SELECT avg(is_disputed::INT) FROM orders WHERE merchant_id = ?
                              AND status <> 'cancelled' AND order_ts >= ? AND order_ts < ?""",
                      merchant, window, month_end)
    finally:
        con.close()
    assert 0.12 <= rate <= 0.18


def test_story4_price_sensitive_users_respond_to_coupons(con) -> None:
    result = dict(((grp, coupon), conv) for grp, coupon, _, conv in rows(con, """
        WITH usage AS (
            SELECT user_id, avg((coupon_id IS NOT NULL)::INT) AS coupon_rate, count(*) AS n
            FROM orders WHERE status <> 'cancelled' GROUP BY 1
        )
        SELECT CASE WHEN u.coupon_rate >= 0.4 AND u.n >= 2 THEN 'price_sensitive' ELSE 'other' END AS grp,
               c.coupon_value > 0 AS with_coupon, count(*) AS touches,
               avg((t.order_id IS NOT NULL)::INT) AS conversion
        FROM campaign_touches t JOIN campaigns c USING (campaign_id) LEFT JOIN usage u USING (user_id)
        GROUP BY 1, 2"""))
    assert result[("price_sensitive", True)] > 2.5 * result[("price_sensitive", False)]
    assert result[("price_sensitive", True)] > 2.0 * result[("other", True)]
    assert result[("price_sensitive", True)] > 0.12


def test_story5_home_kol_followers_buy_designer_collaborations(con) -> None:
    result = dict(rows(con, """
        WITH fans AS (
            SELECT DISTINCT f.user_id FROM follows f JOIN kols k ON f.target_type = 'kol' AND f.target_id = k.kol_id
            WHERE k.domain = '家居'
        )
        SELECT o.user_id IN (SELECT user_id FROM fans) AS fan, avg((p.style = '设计师联名')::INT)
        FROM orders o JOIN order_items i USING (order_id) JOIN products p USING (product_id)
        WHERE o.status <> 'cancelled' GROUP BY 1"""))
    assert result[True] > 2.5 * result[False]
    assert result[True] > 0.25


def test_summary_names_the_planted_facts(demo_tiny: DemoSummary) -> None:
    planted = demo_tiny.planted
    assert planted["last_full_quarter"] == "2026-04-01..2026-06-30"
    assert planted["dispute_window"] == "2026-08-01..2026-09-30"
    assert "中古包" in planted["growth"] and "华南" in planted["conversion_drop"]
    con = duckdb.connect(str(demo_tiny.path), read_only=True)
    try:
        category = scalar(con, "SELECT main_category FROM merchants WHERE merchant_id = ?",
                          int(planted["dispute_merchant_id"]))
    finally:
        con.close()
    assert category == "二手奢侈品"
