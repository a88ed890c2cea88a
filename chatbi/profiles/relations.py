"""``user_merchant_relation``: one row per (user, merchant) pair with any interaction.

An interaction is a valid order, an event that names the merchant (view, favorite, …), a
follow of the merchant, or a review — all up to the as-of date. loyalty_score (0–100):

    40 × min(order_count, 5) / 5                 purchases
  + 20 × max(0, 1 − days since last order / 365) recency (0 without orders)
  + 15 × min(view_count + 3 × favorite_count, 20) / 20   browsing engagement
  + 10 if the user follows the merchant
  + 15 × (avg review rating − 1) / 4, or 7.5 for a buyer who never reviewed
  − 10 per disputed order, clipped to 0..100
"""

from __future__ import annotations

from datetime import date

import duckdb

from chatbi.profiles import rules as R
from chatbi.profiles.inputs import InputInfo
from chatbi.profiles.staging import sql_date


def create_relations(con: duckdb.DuckDBPyConnection, as_of: date, info: InputInfo) -> None:
    """Create the ``user_merchant_relation`` table."""
    a = sql_date(as_of)
    cap = R.LOYALTY_ORDERS_CAP
    views = "coalesce(e.view_count, 0)" if info.has_events else "CAST(NULL AS BIGINT)"
    favs = "coalesce(e.favorite_count, 0)" if info.has_events else "CAST(NULL AS BIGINT)"
    follows = "f.user_id IS NOT NULL" if info.has_follows else "CAST(NULL AS BOOLEAN)"
    con.execute(f"""
    CREATE OR REPLACE TABLE user_merchant_relation AS
    WITH o AS (
        SELECT user_id, merchant_id, count(*) AS order_count, sum(pay) AS gmv,
               min(order_ts) AS first_order_ts, max(order_ts) AS last_order_ts,
               count(*) FILTER (WHERE is_disputed) AS dispute_count
        FROM _orders WHERE merchant_id IS NOT NULL GROUP BY user_id, merchant_id
    ), e AS (
        SELECT user_id, merchant_id,
               count(*) FILTER (WHERE event_type = 'view') AS view_count,
               count(*) FILTER (WHERE event_type = 'favorite') AS favorite_count
        FROM events
        WHERE event_ts < {a} + 1 AND user_id IS NOT NULL AND merchant_id IS NOT NULL
        GROUP BY user_id, merchant_id
    ), f AS (
        SELECT DISTINCT user_id, target_id AS merchant_id FROM follows
        WHERE target_type = 'merchant' AND followed_at < {a} + 1
          AND user_id IS NOT NULL AND target_id IS NOT NULL
    ), r AS (
        SELECT user_id, merchant_id, count(*) AS review_count, avg(rating) AS avg_rating
        FROM reviews
        WHERE review_ts < {a} + 1 AND user_id IS NOT NULL AND merchant_id IS NOT NULL
        GROUP BY user_id, merchant_id
    ), k AS (
        SELECT user_id, merchant_id FROM o UNION SELECT user_id, merchant_id FROM e
        UNION SELECT user_id, merchant_id FROM f UNION SELECT user_id, merchant_id FROM r
    ), j AS (
        SELECT k.user_id, k.merchant_id,
               CAST(coalesce(o.order_count, 0) AS INTEGER) AS order_count,
               CAST(round(coalesce(o.gmv, 0), 2) AS DECIMAL(18, 2)) AS gmv,
               o.first_order_ts, o.last_order_ts,
               coalesce(o.order_count, 0) >= 2 AS is_repeat_buyer,
               CAST({views} AS INTEGER) AS view_count,
               CAST({favs} AS INTEGER) AS favorite_count,
               {follows} AS follows,
               CAST(coalesce(o.dispute_count, 0) AS INTEGER) AS dispute_count,
               CAST(r.review_count AS INTEGER) AS review_count,
               round(r.avg_rating, 2) AS avg_rating,
               {a} - CAST(o.last_order_ts AS DATE) AS days_since_last_order
        FROM k
        JOIN (SELECT DISTINCT user_id FROM users) uu ON uu.user_id = k.user_id
        JOIN (SELECT DISTINCT merchant_id FROM merchants) mm ON mm.merchant_id = k.merchant_id
        LEFT JOIN o ON o.user_id = k.user_id AND o.merchant_id = k.merchant_id
        LEFT JOIN e ON e.user_id = k.user_id AND e.merchant_id = k.merchant_id
        LEFT JOIN f ON f.user_id = k.user_id AND f.merchant_id = k.merchant_id
        LEFT JOIN r ON r.user_id = k.user_id AND r.merchant_id = k.merchant_id
    )
    SELECT * EXCLUDE (days_since_last_order),
           round(least(100, greatest(0,
               40.0 * least(order_count, {cap}) / {cap}
             + CASE WHEN order_count > 0
                    THEN 20.0 * greatest(0, 1 - days_since_last_order / 365.0) ELSE 0 END
             + 15.0 * least(coalesce(view_count, 0) + 3 * coalesce(favorite_count, 0), 20) / 20
             + CASE WHEN follows THEN 10 ELSE 0 END
             + CASE WHEN avg_rating IS NOT NULL THEN 15.0 * (avg_rating - 1) / 4
                    WHEN order_count > 0 THEN 7.5 ELSE 0 END
             - 10.0 * dispute_count)), 1) AS loyalty_score,
           {a} AS profile_date
    FROM j
    """)
