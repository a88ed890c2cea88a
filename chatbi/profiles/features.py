"""Per-user behaviour features at every cut-off, in one set-based SQL pass (``_uf``).

One row per (cutoff, user) for users whose effective signup is on or before the cut-off.
Every window is relative to its own cut-off, so the same features feed the churn model
(training cut-offs), the profile (as-of date) and the tag history (month ends).
Event windows reach back 90 days (days_since_last_event is NULL beyond that).
Event-, review- and follow-derived columns are NULL when that raw table is missing.
"""

from __future__ import annotations

import duckdb

from chatbi.profiles import rules as R
from chatbi.profiles.inputs import InputInfo
from chatbi.profiles.staging import scalar

# Numeric columns the churn model uses (all present in ``_uf``).
MODEL_FEATURES: tuple[str, ...] = (
    "recency_days", "tenure_days", "has_ordered", "frequency", "monetary",
    "orders_30d", "orders_90d", "orders_180d", "orders_365d", "gmv_90d", "gmv_365d",
    "avg_order_value", "coupon_usage_rate", "discount_share", "return_rate",
    "disputed_orders", "weekend_share", "repurchase_cycle_days", "days_since_first_order",
    "overdue_ratio", "views_30d", "views_90d", "favorites_90d", "carts_90d", "searches_30d",
    "active_days_30d", "active_days_90d", "days_since_last_event", "review_count",
    "avg_rating", "negative_reviews", "merchant_follows", "kol_follows", "age", "city_tier",
    "is_female",
)


def create_user_features(con: duckdb.DuckDBPyConnection, info: InputInfo) -> None:
    """Create ``_uf`` from the staging tables.

    At the training cut-offs only a hash sample of users is kept when there are more than
    ``CHURN_MAX_TRAIN_ROWS`` (the model does not need more), which keeps large builds fast.
    """
    n_users = scalar(con, "SELECT count(*) FROM _users")
    keep = 1000 if n_users <= R.CHURN_MAX_TRAIN_ROWS else max(
        1, int(1000 * R.CHURN_MAX_TRAIN_ROWS / n_users))
    def sample(alias: str) -> str:
        if keep >= 1000:
            return ""
        return f"AND (c.is_asof OR c.is_snapshot OR hash({alias}.user_id) % 1000 < {keep})"

    def ev_col(expr: str) -> str:
        return expr if info.has_events else "CAST(NULL AS BIGINT)"

    def rv_col(expr: str) -> str:
        return expr if info.has_reviews else "CAST(NULL AS BIGINT)"

    def fl_col(expr: str) -> str:
        return expr if info.has_follows else "CAST(NULL AS BIGINT)"

    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _uf AS
    WITH o AS (
        SELECT c.cutoff, o.user_id,
               count(*) AS frequency, sum(o.pay) AS monetary,
               min(o.d) AS first_order_date, max(o.d) AS last_order_date,
               count(*) FILTER (WHERE o.d > c.cutoff - 30) AS orders_30d,
               count(*) FILTER (WHERE o.d > c.cutoff - 90) AS orders_90d,
               count(*) FILTER (WHERE o.d > c.cutoff - 180) AS orders_180d,
               count(*) FILTER (WHERE o.d > c.cutoff - 365) AS orders_365d,
               coalesce(sum(o.pay) FILTER (WHERE o.d > c.cutoff - 90), 0) AS gmv_90d,
               coalesce(sum(o.pay) FILTER (WHERE o.d > c.cutoff - 365), 0) AS gmv_365d,
               count(*) FILTER (WHERE o.has_coupon) AS coupon_orders,
               sum(o.discount) AS discount_total,
               count(*) FILTER (WHERE o.is_returned) AS returned_orders,
               count(*) FILTER (WHERE o.is_disputed) AS disputed_orders,
               count(*) FILTER (WHERE o.is_weekend) AS weekend_orders
        FROM _orders o JOIN _cutoffs c ON o.d <= c.cutoff {sample('o')}
        GROUP BY c.cutoff, o.user_id
    ), e AS (
        SELECT c.cutoff, e.user_id,
               CAST(sum(e.views) FILTER (WHERE e.d > c.cutoff - 30) AS BIGINT) AS views_30d,
               CAST(sum(e.views) AS BIGINT) AS views_90d,
               CAST(sum(e.favorites) AS BIGINT) AS favorites_90d,
               CAST(sum(e.carts) AS BIGINT) AS carts_90d,
               CAST(sum(e.searches) FILTER (WHERE e.d > c.cutoff - 30) AS BIGINT) AS searches_30d,
               count(*) FILTER (WHERE e.d > c.cutoff - 30) AS active_days_30d,
               count(*) AS active_days_90d,
               max(e.d) AS last_event_date
        FROM _event_days e
        JOIN _cutoffs c ON e.d <= c.cutoff AND e.d > c.cutoff - 90 {sample('e')}
        GROUP BY c.cutoff, e.user_id
    ), r AS (
        SELECT c.cutoff, r.user_id, count(*) AS review_count, avg(r.rating) AS avg_rating,
               count(*) FILTER (WHERE r.rating <= 2) AS negative_reviews
        FROM reviews r JOIN _cutoffs c ON r.review_ts < c.cutoff + 1 {sample('r')}
        GROUP BY c.cutoff, r.user_id
    ), fo AS (
        SELECT c.cutoff, f.user_id,
               count(*) FILTER (WHERE f.target_type = 'merchant') AS merchant_follows,
               count(*) FILTER (WHERE f.target_type = 'kol') AS kol_follows
        FROM follows f JOIN _cutoffs c ON f.followed_at < c.cutoff + 1 {sample('f')}
        GROUP BY c.cutoff, f.user_id
    ), base AS (
        SELECT c.cutoff, u.user_id, u.eff_signup, u.birth_year, u.city_tier, u.gender
        FROM _users u JOIN _cutoffs c ON u.eff_signup IS NULL OR u.eff_signup <= c.cutoff
        WHERE true {sample('u')}
    )
    SELECT b.cutoff, b.user_id,
           CAST(b.cutoff - o.last_order_date AS INTEGER) AS recency_days,
           CAST(b.cutoff - b.eff_signup AS INTEGER) AS tenure_days,
           CAST(o.user_id IS NOT NULL AS INTEGER) AS has_ordered,
           coalesce(o.frequency, 0) AS frequency,
           coalesce(o.monetary, 0) AS monetary,
           o.first_order_date, o.last_order_date,
           coalesce(o.orders_30d, 0) AS orders_30d, coalesce(o.orders_90d, 0) AS orders_90d,
           coalesce(o.orders_180d, 0) AS orders_180d,
           coalesce(o.orders_365d, 0) AS orders_365d,
           coalesce(o.gmv_90d, 0) AS gmv_90d, coalesce(o.gmv_365d, 0) AS gmv_365d,
           o.monetary / o.frequency AS avg_order_value,
           o.coupon_orders / o.frequency AS coupon_usage_rate,
           o.discount_total / nullif(o.monetary + o.discount_total, 0) AS discount_share,
           o.returned_orders / o.frequency AS return_rate,
           coalesce(o.returned_orders, 0) AS returned_orders,
           coalesce(o.disputed_orders, 0) AS disputed_orders,
           o.weekend_orders / o.frequency AS weekend_share,
           CASE WHEN o.frequency >= 2
                THEN (o.last_order_date - o.first_order_date) / (o.frequency - 1) END
               AS repurchase_cycle_days,
           CAST(b.cutoff - o.first_order_date AS INTEGER) AS days_since_first_order,
           CASE WHEN o.frequency >= 2 AND o.last_order_date > o.first_order_date
                THEN (b.cutoff - o.last_order_date)
                     / ((o.last_order_date - o.first_order_date) / (o.frequency - 1)) END
               AS overdue_ratio,
           {ev_col("coalesce(e.views_30d, 0)")} AS views_30d,
           {ev_col("coalesce(e.views_90d, 0)")} AS views_90d,
           {ev_col("coalesce(e.favorites_90d, 0)")} AS favorites_90d,
           {ev_col("coalesce(e.carts_90d, 0)")} AS carts_90d,
           {ev_col("coalesce(e.searches_30d, 0)")} AS searches_30d,
           {ev_col("coalesce(e.active_days_30d, 0)")} AS active_days_30d,
           {ev_col("coalesce(e.active_days_90d, 0)")} AS active_days_90d,
           CAST(b.cutoff - e.last_event_date AS INTEGER) AS days_since_last_event,
           {rv_col("coalesce(r.review_count, 0)")} AS review_count,
           r.avg_rating,
           {rv_col("coalesce(r.negative_reviews, 0)")} AS negative_reviews,
           {fl_col("coalesce(fo.merchant_follows, 0)")} AS merchant_follows,
           {fl_col("coalesce(fo.kol_follows, 0)")} AS kol_follows,
           year(b.cutoff) - b.birth_year AS age,
           b.city_tier,
           CASE b.gender WHEN '女' THEN 1 WHEN '男' THEN 0 END AS is_female
    FROM base b
    LEFT JOIN o ON o.cutoff = b.cutoff AND o.user_id = b.user_id
    LEFT JOIN e ON e.cutoff = b.cutoff AND e.user_id = b.user_id
    LEFT JOIN r ON r.cutoff = b.cutoff AND r.user_id = b.user_id
    LEFT JOIN fo ON fo.cutoff = b.cutoff AND fo.user_id = b.user_id
    """)
