"""Merchant state (metrics and tags) at every state cut-off, and ``merchant_profile``.

Order metrics cover all valid orders up to the cut-off; 动销率 and 库存周转 use the 90 days
before it; listings on sale at a cut-off are those listed by then and not yet sold (status
'on_sale', or 'sold' later). Withdrawn listings carry no withdrawal date and are left out.
A buyer counts as a repeat buyer from the date of their second valid order with the
merchant.
"""

from __future__ import annotations

from datetime import date

import duckdb

from chatbi.profiles import rules as R
from chatbi.profiles.inputs import InputInfo
from chatbi.profiles.staging import sql_date

# (tag, SQL condition over a merchant-state row), in the order they are listed.
MERCHANT_TAG_RULES: tuple[tuple[str, str], ...] = (
    ("高频上新型", f"new_listings_30d >= greatest({R.TAG_NEW_LISTINGS_MIN}, new_listings_top)"),
    ("高客单价型", f"order_count >= {R.TAG_MERCHANT_MIN_ORDERS} AND avg_order_value >= aov_top"),
    ("滞销风险型", f"on_sale_listings >= {R.TAG_STALE_MIN_STOCK} AND (sold_listings_90d = 0 "
                  f"OR sell_through_rate < {R.TAG_STALE_SELL_THROUGH_RATIO} * sell_through_median)"),
    ("高复购型", f"buyer_count >= {R.TAG_REPEAT_MIN_BUYERS} AND repeat_buyer_rate >= "
                f"greatest({R.TAG_REPEAT_RATE_MIN}, repeat_top)"),
    ("高纠纷风险型", f"orders_90d >= {R.TAG_DISPUTE_MIN_ORDERS} AND dispute_rate_90d >= "
                  f"greatest({R.TAG_DISPUTE_RATE}, {R.TAG_DISPUTE_RATIO} * platform_dispute_90d)"),
    ("高退货型", f"order_count >= {R.TAG_DISPUTE_MIN_ORDERS} AND return_rate >= {R.TAG_RETURN_RATE}"),
    ("口碑优质型", f"review_count >= {R.TAG_MIN_REVIEWS} "
                  f"AND positive_review_share >= {R.TAG_GOOD_REVIEW_SHARE}"),
    ("差评预警", f"review_count >= {R.TAG_MIN_REVIEWS} "
                f"AND negative_review_share >= {R.TAG_BAD_REVIEW_SHARE}"),
    ("新入驻", f"join_date > cutoff - {R.MERCHANT_NEW_DAYS}"),
    ("平台认证", "is_certified"),
)
MERCHANT_TAGS = tuple(tag for tag, _ in MERCHANT_TAG_RULES)


def create_merchant_state(con: duckdb.DuckDBPyConnection, info: InputInfo) -> None:
    """Create ``_ms``: one row per (cutoff, merchant) for the as-of date and month ends."""
    w = R.SELL_THROUGH_DAYS
    tags = " || ".join(
        f"CASE WHEN {cond} THEN ['{tag}'] ELSE CAST([] AS VARCHAR[]) END"
        for tag, cond in MERCHANT_TAG_RULES
    )
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _ms AS
    WITH c AS (SELECT cutoff FROM _cutoffs WHERE is_asof OR is_snapshot),
    o AS (
        SELECT c.cutoff, o.merchant_id, count(*) AS order_count, sum(o.pay) AS gmv,
               count(*) FILTER (WHERE o.is_returned) AS returned_orders,
               count(*) FILTER (WHERE o.is_disputed) AS disputed_orders,
               count(*) FILTER (WHERE o.d > c.cutoff - {w}) AS orders_90d,
               count(*) FILTER (WHERE o.d > c.cutoff - {w} AND o.is_disputed) AS disputed_90d,
               coalesce(sum(o.pay) FILTER (WHERE o.d > c.cutoff - {w}), 0) AS gmv_90d
        FROM _orders o JOIN c ON o.d <= c.cutoff
        WHERE o.merchant_id IS NOT NULL
        GROUP BY c.cutoff, o.merchant_id
    ), pairs AS (
        SELECT merchant_id, user_id, min(d) AS d1,
               CASE WHEN count(*) > 1 THEN min(d, 2)[2] END AS d2
        FROM _orders WHERE merchant_id IS NOT NULL GROUP BY merchant_id, user_id
    ), b AS (
        SELECT c.cutoff, p.merchant_id, count(*) AS buyer_count,
               count(*) FILTER (WHERE p.d2 <= c.cutoff) AS repeat_buyers
        FROM pairs p JOIN c ON p.d1 <= c.cutoff
        GROUP BY c.cutoff, p.merchant_id
    ), pr AS (
        SELECT c.cutoff, p.merchant_id,
               count(*) FILTER (WHERE p.listed_d > c.cutoff - 30) AS new_listings_30d,
               count(*) FILTER (WHERE p.sold_d > c.cutoff - {w} AND p.sold_d <= c.cutoff)
                   AS sold_listings_90d,
               count(*) FILTER (WHERE p.status = 'on_sale'
                                   OR (p.status = 'sold' AND p.sold_d > c.cutoff))
                   AS on_sale_listings
        FROM _products p JOIN c ON p.listed_d <= c.cutoff
        GROUP BY c.cutoff, p.merchant_id
    ), rv AS (
        SELECT c.cutoff, r.merchant_id, count(*) AS review_count, avg(r.rating) AS avg_rating,
               count(*) FILTER (WHERE s.sentiment = 'positive') AS positive_reviews,
               count(*) FILTER (WHERE s.sentiment = 'negative') AS negative_reviews
        FROM reviews r JOIN c ON r.review_ts < c.cutoff + 1
        LEFT JOIN review_sentiment s ON s.review_id = r.review_id
        GROUP BY c.cutoff, r.merchant_id
    ), first_seen AS (
        SELECT merchant_id, min(d) AS first_d FROM _orders GROUP BY merchant_id
    ), base AS (
        SELECT c.cutoff, m.merchant_id, m.join_date, coalesce(m.is_certified, false) AS is_certified
        FROM (SELECT DISTINCT ON (merchant_id) * FROM merchants
              WHERE merchant_id IS NOT NULL) m
        LEFT JOIN first_seen fs USING (merchant_id)
        JOIN c ON least(m.join_date, fs.first_d) IS NULL
               OR least(m.join_date, fs.first_d) <= c.cutoff
    ), m AS (
        SELECT base.*,
               coalesce(o.gmv, 0) AS gmv, coalesce(o.order_count, 0) AS order_count,
               coalesce(b.buyer_count, 0) AS buyer_count,
               o.gmv / o.order_count AS avg_order_value,
               CAST(pr.sold_listings_90d AS DOUBLE)
                   / nullif(pr.sold_listings_90d + pr.on_sale_listings, 0) AS sell_through_rate,
               CASE WHEN pr.sold_listings_90d > 0
                    THEN pr.on_sale_listings * {w}.0 / pr.sold_listings_90d END
                   AS inventory_turnover_days,
               o.returned_orders / o.order_count AS return_rate,
               o.disputed_orders / o.order_count AS dispute_rate,
               b.repeat_buyers / nullif(b.buyer_count, 0) AS repeat_buyer_rate,
               coalesce(pr.new_listings_30d, 0) AS new_listings_30d,
               rv.avg_rating,
               rv.positive_reviews / nullif(rv.review_count, 0) AS positive_review_share,
               rv.negative_reviews / nullif(rv.review_count, 0) AS negative_review_share,
               coalesce(o.orders_90d, 0) AS orders_90d, coalesce(o.gmv_90d, 0) AS gmv_90d,
               o.disputed_90d / nullif(o.orders_90d, 0) AS dispute_rate_90d,
               coalesce(o.disputed_90d, 0) AS disputed_90d,
               coalesce(pr.on_sale_listings, 0) AS on_sale_listings,
               coalesce(pr.sold_listings_90d, 0) AS sold_listings_90d,
               coalesce(b.repeat_buyers, 0) AS repeat_buyers,
               {"coalesce(rv.review_count, 0)" if info.has_reviews else "CAST(NULL AS BIGINT)"}
                   AS review_count
        FROM base
        LEFT JOIN o USING (cutoff, merchant_id)
        LEFT JOIN b USING (cutoff, merchant_id)
        LEFT JOIN pr USING (cutoff, merchant_id)
        LEFT JOIN rv USING (cutoff, merchant_id)
    ), plat AS (
        SELECT cutoff,
               sum(disputed_90d) / nullif(sum(orders_90d), 0) AS platform_dispute_90d,
               median(sell_through_rate) AS sell_through_median,
               quantile_cont(avg_order_value, {R.TAG_TOP_QUANTILE})
                   FILTER (WHERE order_count >= {R.TAG_MERCHANT_MIN_ORDERS}) AS aov_top,
               quantile_cont(repeat_buyer_rate, {R.TAG_TOP_QUANTILE})
                   FILTER (WHERE buyer_count >= {R.TAG_REPEAT_MIN_BUYERS}) AS repeat_top,
               quantile_cont(new_listings_30d, {R.TAG_TOP_QUANTILE}) AS new_listings_top
        FROM m GROUP BY cutoff
    )
    SELECT m.*, {tags} AS tags
    FROM m JOIN plat USING (cutoff)
    """)


def create_merchant_profile(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Create ``merchant_profile``: the merchants dimensions plus the as-of metrics and tags."""
    a = sql_date(as_of)
    con.execute(f"""
    CREATE OR REPLACE TABLE merchant_profile AS
    SELECT d.merchant_id, d.merchant_name, d.main_category, d.province, d.city, d.region,
           d.join_date, d.is_certified,
           CAST(round(s.gmv, 2) AS DECIMAL(18, 2)) AS gmv,
           CAST(s.order_count AS INTEGER) AS order_count,
           CAST(s.buyer_count AS INTEGER) AS buyer_count,
           round(s.avg_order_value, 2) AS avg_order_value,
           round(s.sell_through_rate, 4) AS sell_through_rate,
           round(s.inventory_turnover_days, 1) AS inventory_turnover_days,
           round(s.return_rate, 4) AS return_rate,
           round(s.dispute_rate, 4) AS dispute_rate,
           round(s.repeat_buyer_rate, 4) AS repeat_buyer_rate,
           CAST(s.new_listings_30d AS INTEGER) AS new_listings_30d,
           round(s.avg_rating, 2) AS avg_rating,
           round(s.positive_review_share, 4) AS positive_review_share,
           round(s.negative_review_share, 4) AS negative_review_share,
           s.tags,
           {a} AS profile_date,
           CAST(s.orders_90d AS INTEGER) AS orders_90d,
           round(s.gmv_90d, 2) AS gmv_90d,
           round(s.dispute_rate_90d, 4) AS dispute_rate_90d,
           CAST(s.on_sale_listings AS INTEGER) AS on_sale_listings,
           CAST(s.sold_listings_90d AS INTEGER) AS sold_listings_90d,
           CAST(s.repeat_buyers AS INTEGER) AS repeat_buyer_count,
           CAST(s.review_count AS INTEGER) AS review_count
    FROM (SELECT DISTINCT ON (merchant_id) * FROM merchants WHERE merchant_id IS NOT NULL) d
    JOIN _ms s ON s.merchant_id = d.merchant_id AND s.cutoff = {a}
    ORDER BY d.merchant_id
    """)
