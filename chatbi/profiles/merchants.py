"""Merchant state (metrics and tags) at every state cut-off, and ``merchant_profile``.

Order metrics cover all valid orders up to the cut-off; 动销率 and 库存周转 use the 90 days
before it; listings on sale at a cut-off are those listed by then and not yet sold (status
'on_sale', or 'sold' later). Withdrawn listings carry no withdrawal date and are left out.
Every source (orders, first/second purchase of each buyer, listings, sales, reviews) becomes
daily per-merchant deltas; cumulative sums are then read at each cut-off (and 30 / 90 days
before it) with ASOF joins, so 13 cut-offs cost about as much as one.
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
    CREATE OR REPLACE TEMP TABLE _m_cum AS
    WITH pairs AS (
        SELECT merchant_id, user_id, min(d, 2) AS ds
        FROM _orders WHERE merchant_id IS NOT NULL GROUP BY merchant_id, user_id
    ), deltas AS (
        SELECT merchant_id, d, 1 AS orders, pay AS gmv, CAST(is_returned AS INTEGER) AS returned,
               CAST(is_disputed AS INTEGER) AS disputed, 0 AS buyers, 0 AS repeaters,
               0 AS listed_all, 0 AS listed_active, 0 AS sold,
               0 AS reviews, 0 AS rating_sum, 0 AS positive, 0 AS negative
        FROM _orders WHERE merchant_id IS NOT NULL
        UNION ALL
        SELECT merchant_id, ds[1], 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 FROM pairs
        UNION ALL
        SELECT merchant_id, ds[2], 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 FROM pairs
        WHERE len(ds) >= 2
        UNION ALL
        SELECT merchant_id, listed_d, 0, 0, 0, 0, 0, 0, 1,
               CASE WHEN status = 'on_sale' OR (status = 'sold' AND sold_d IS NOT NULL)
                    THEN 1 ELSE 0 END, 0, 0, 0, 0, 0
        FROM _products WHERE listed_d IS NOT NULL
        UNION ALL
        SELECT merchant_id, sold_d, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0
        FROM _products WHERE listed_d IS NOT NULL AND sold_d IS NOT NULL
        UNION ALL
        SELECT r.merchant_id, CAST(r.review_ts AS DATE), 0, 0, 0, 0, 0, 0, 0, 0, 0,
               1, r.rating, CASE WHEN s.sentiment = 'positive' THEN 1 ELSE 0 END,
               CASE WHEN s.sentiment = 'negative' THEN 1 ELSE 0 END
        FROM reviews r LEFT JOIN review_sentiment s ON s.review_id = r.review_id
        WHERE r.merchant_id IS NOT NULL AND r.review_ts IS NOT NULL
    ), daily AS (
        SELECT merchant_id, d, sum(orders) AS orders, sum(gmv) AS gmv, sum(returned) AS returned,
               sum(disputed) AS disputed, sum(buyers) AS buyers, sum(repeaters) AS repeaters,
               sum(listed_all) AS listed_all, sum(listed_active) AS listed_active,
               sum(sold) AS sold, sum(reviews) AS reviews, sum(rating_sum) AS rating_sum,
               sum(positive) AS positive, sum(negative) AS negative
        FROM deltas WHERE d IS NOT NULL GROUP BY merchant_id, d
    )
    SELECT merchant_id, d,
           sum(orders) OVER w AS orders, sum(gmv) OVER w AS gmv,
           sum(returned) OVER w AS returned, sum(disputed) OVER w AS disputed,
           sum(buyers) OVER w AS buyers, sum(repeaters) OVER w AS repeaters,
           sum(listed_all) OVER w AS listed_all, sum(listed_active) OVER w AS listed_active,
           sum(sold) OVER w AS sold, sum(reviews) OVER w AS reviews,
           sum(rating_sum) OVER w AS rating_sum, sum(positive) OVER w AS positive,
           sum(negative) OVER w AS negative
    FROM daily
    WINDOW w AS (PARTITION BY merchant_id ORDER BY d ROWS UNBOUNDED PRECEDING)
    """)
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _ms AS
    WITH c AS (SELECT cutoff FROM _cutoffs WHERE is_asof OR is_snapshot),
    first_seen AS (
        SELECT merchant_id, min(d) AS first_d FROM _m_cum GROUP BY merchant_id
    ), base AS (
        SELECT c.cutoff, m.merchant_id, m.join_date, coalesce(m.is_certified, false) AS is_certified
        FROM (SELECT DISTINCT ON (merchant_id) * FROM merchants
              WHERE merchant_id IS NOT NULL) m
        LEFT JOIN first_seen fs USING (merchant_id)
        JOIN c ON least(m.join_date, fs.first_d) IS NULL
               OR least(m.join_date, fs.first_d) <= c.cutoff
    ), pit AS (
        SELECT b.*,
               coalesce(n.orders, 0) AS n_orders, coalesce(n.gmv, 0) AS n_gmv,
               coalesce(n.returned, 0) AS n_returned, coalesce(n.disputed, 0) AS n_disputed,
               coalesce(n.buyers, 0) AS n_buyers, coalesce(n.repeaters, 0) AS n_repeaters,
               coalesce(n.listed_all, 0) - coalesce(m30.listed_all, 0) AS new_listings_30d,
               coalesce(n.listed_active, 0) - coalesce(n.sold, 0) AS on_sale_listings,
               coalesce(n.sold, 0) - coalesce(m90.sold, 0) AS sold_listings_90d,
               coalesce(n.orders, 0) - coalesce(m90.orders, 0) AS orders_90d,
               coalesce(n.gmv, 0) - coalesce(m90.gmv, 0) AS gmv_90d,
               coalesce(n.disputed, 0) - coalesce(m90.disputed, 0) AS disputed_90d,
               coalesce(n.reviews, 0) AS n_reviews, n.rating_sum,
               coalesce(n.positive, 0) AS n_positive, coalesce(n.negative, 0) AS n_negative
        FROM base b
        ASOF LEFT JOIN _m_cum n ON n.merchant_id = b.merchant_id AND b.cutoff >= n.d
        ASOF LEFT JOIN _m_cum m30 ON m30.merchant_id = b.merchant_id AND b.cutoff - 30 >= m30.d
        ASOF LEFT JOIN _m_cum m90 ON m90.merchant_id = b.merchant_id AND b.cutoff - {w} >= m90.d
    ), m AS (
        SELECT cutoff, merchant_id, join_date, is_certified,
               n_gmv AS gmv, n_orders AS order_count, n_buyers AS buyer_count,
               n_gmv / nullif(n_orders, 0) AS avg_order_value,
               CAST(sold_listings_90d AS DOUBLE)
                   / nullif(sold_listings_90d + on_sale_listings, 0) AS sell_through_rate,
               CASE WHEN sold_listings_90d > 0
                    THEN on_sale_listings * {w}.0 / sold_listings_90d END AS inventory_turnover_days,
               n_returned / nullif(n_orders, 0) AS return_rate,
               n_disputed / nullif(n_orders, 0) AS dispute_rate,
               n_repeaters / nullif(n_buyers, 0) AS repeat_buyer_rate,
               new_listings_30d,
               rating_sum / nullif(n_reviews, 0) AS avg_rating,
               n_positive / nullif(n_reviews, 0) AS positive_review_share,
               n_negative / nullif(n_reviews, 0) AS negative_review_share,
               orders_90d, gmv_90d, disputed_90d,
               disputed_90d / nullif(orders_90d, 0) AS dispute_rate_90d,
               on_sale_listings, sold_listings_90d, n_repeaters AS repeat_buyers,
               {"n_reviews" if info.has_reviews else "CAST(NULL AS BIGINT)"} AS review_count
        FROM pit
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
    con.execute("DROP TABLE _m_cum")


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
