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
    """Create the ``user_merchant_relation`` table (events, then orders/follows/reviews, joined).

    Pairs are kept as the raw tables name them (no check that the user or merchant exists
    in the dimension tables: referential integrity is the importer's job).
    """
    a = sql_date(as_of)
    cap = R.LOYALTY_ORDERS_CAP
    views = "view_count" if info.has_events else "CAST(NULL AS BIGINT)"
    favs = "favorite_count" if info.has_events else "CAST(NULL AS BIGINT)"
    follows = "follows" if info.has_follows else "CAST(NULL AS BOOLEAN)"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _rel_events AS
    SELECT user_id, merchant_id,
           count(*) FILTER (WHERE event_type = 'view') AS view_count,
           count(*) FILTER (WHERE event_type = 'favorite') AS favorite_count
    FROM events
    WHERE event_ts < {a} + 1 AND user_id IS NOT NULL AND merchant_id IS NOT NULL
    GROUP BY user_id, merchant_id
    """)
    con.execute(f"""
    CREATE OR REPLACE TABLE user_merchant_relation AS
    WITH src AS (
        SELECT user_id, merchant_id, 0 AS kind, pay, order_ts AS ts, is_disputed AS flag,
               CAST(NULL AS INTEGER) AS rating
        FROM _orders WHERE merchant_id IS NOT NULL
        UNION ALL
        SELECT user_id, target_id, 1, NULL, NULL, NULL, NULL FROM follows
        WHERE target_type = 'merchant' AND followed_at < {a} + 1
          AND user_id IS NOT NULL AND target_id IS NOT NULL
        UNION ALL
        SELECT user_id, merchant_id, 2, NULL, NULL, NULL, rating FROM reviews
        WHERE review_ts < {a} + 1 AND user_id IS NOT NULL AND merchant_id IS NOT NULL
    ), s AS (
        SELECT user_id, merchant_id,
               count(*) FILTER (WHERE kind = 0) AS order_count,
               sum(pay) AS gmv, min(ts) AS first_order_ts, max(ts) AS last_order_ts,
               count(*) FILTER (WHERE kind = 0 AND flag) AS dispute_count,
               bool_or(kind = 1) AS follows,
               count(*) FILTER (WHERE kind = 2) AS review_count,
               avg(rating) AS avg_rating
        FROM src GROUP BY user_id, merchant_id
    ), j AS (
        SELECT user_id, merchant_id,
               coalesce(s.order_count, 0) AS order_count, coalesce(s.gmv, 0) AS gmv,
               s.first_order_ts, s.last_order_ts, coalesce(s.dispute_count, 0) AS dispute_count,
               coalesce(s.follows, false) AS follows, coalesce(s.review_count, 0) AS review_count,
               s.avg_rating, coalesce(e.view_count, 0) AS view_count,
               coalesce(e.favorite_count, 0) AS favorite_count
        FROM _rel_events e FULL OUTER JOIN s USING (user_id, merchant_id)
    )
    SELECT user_id, merchant_id,
           CAST(order_count AS INTEGER) AS order_count,
           CAST(round(gmv, 2) AS DECIMAL(18, 2)) AS gmv,
           first_order_ts, last_order_ts,
           order_count >= 2 AS is_repeat_buyer,
           CAST({views} AS INTEGER) AS view_count,
           CAST({favs} AS INTEGER) AS favorite_count,
           {follows} AS follows,
           CAST(dispute_count AS INTEGER) AS dispute_count,
           CAST(review_count AS INTEGER) AS review_count,
           round(avg_rating, 2) AS avg_rating,
           round(least(100, greatest(0,
               40.0 * least(order_count, {cap}) / {cap}
             + CASE WHEN order_count > 0 THEN 20.0 * greatest(0, 1 - ({a} - CAST(last_order_ts AS DATE))
                                                                 / 365.0) ELSE 0 END
             + 15.0 * least(view_count + 3 * favorite_count, 20) / 20
             + CASE WHEN follows THEN 10 ELSE 0 END
             + CASE WHEN avg_rating IS NOT NULL THEN 15.0 * (avg_rating - 1) / 4
                    WHEN order_count > 0 THEN 7.5 ELSE 0 END
             - 10.0 * dispute_count)), 1) AS loyalty_score,
           {a} AS profile_date
    FROM j
    """)
    con.execute("DROP TABLE _rel_events")
