"""User state (RFM, lifecycle, value tier, tags) at every state cut-off, and ``user_profile``.

``_us`` holds one row per (cutoff, user) for the as-of date and the month ends, derived from
``_uf`` and ``_churn_scores`` with the rules in :mod:`chatbi.profiles.rules`; the profile is
its as-of slice plus preferences (category, merchant, channel), CLV and the users dimensions.
"""

from __future__ import annotations

from datetime import date

import duckdb

from chatbi.profiles import rules as R
from chatbi.profiles.staging import sql_date


def _score(order_by: str) -> str:
    """Quintile score 1..5 among buyers at the same cut-off; ties share the lower score."""
    return (f"CAST(1 + floor(5 * (rank() OVER (PARTITION BY cutoff ORDER BY {order_by}) - 1)"
            f" / count(*) OVER (PARTITION BY cutoff)) AS INTEGER)")


def _rfm_case() -> str:
    hi = R.RFM_HIGH_SCORE
    whens = " ".join(
        f"WHEN (r_score >= {hi}) = {r} AND (f_score >= {hi}) = {f} AND (m_score >= {hi}) = {m} "
        f"THEN '{name}'"
        for (r, f, m), name in R.RFM_SEGMENTS.items()
    )
    return f"CASE WHEN has_ordered = 1 THEN CASE {whens} END END"


_RISK = "coalesce(churn_risk, 0)"
_ALIVE = "lifecycle_stage IN ('新客', '活跃', '沉默')"

# Behaviour tags: (tag, SQL condition over a user-state row), in the order they are listed.
USER_TAG_RULES: tuple[tuple[str, str], ...] = (
    ("高流失风险", f"has_ordered = 1 AND {_RISK} >= {R.CHURN_HIGH} AND {_ALIVE}"),
    ("价格敏感", "price_sensitivity = '高'"),
    ("优惠券偏好", f"coupon_usage_rate >= 0.5 AND frequency >= {R.TAG_COUPON_MIN_ORDERS}"),
    ("周末购物型", f"weekend_share >= {R.TAG_WEEKEND_SHARE} AND frequency >= {R.TAG_WEEKEND_MIN_ORDERS}"),
    ("高客单价", "avg_order_value >= aov_p80"),
    ("纠纷用户", f"disputed_orders >= {R.TAG_DISPUTE_MIN}"),
    ("只逛不买", f"views_30d >= {R.TAG_BROWSER_VIEWS_30D} AND orders_90d = 0"),
    ("忠实复购", f"frequency >= {R.TAG_LOYAL_MIN_ORDERS}"),
    ("KOL粉丝", "kol_follows > 0"),
)
USER_TAGS = tuple(tag for tag, _ in USER_TAG_RULES)


def _tag_list() -> str:
    return " || ".join(f"CASE WHEN {cond} THEN ['{tag}'] ELSE CAST([] AS VARCHAR[]) END"
                       for tag, cond in USER_TAG_RULES)


def create_user_state(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``_us`` for every cut-off flagged as-of or snapshot."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE _us AS
    WITH f AS (
        SELECT f.*, s.churn_risk
        FROM _uf f
        JOIN _cutoffs c ON c.cutoff = f.cutoff AND (c.is_asof OR c.is_snapshot)
        LEFT JOIN _churn_scores s ON s.cutoff = f.cutoff AND s.user_id = f.user_id
    ), sc AS (
        SELECT cutoff, user_id,
               {_score("recency_days DESC")} AS r_score,
               {_score("frequency")} AS f_score,
               {_score("monetary")} AS m_score
        FROM (SELECT cutoff, user_id, recency_days, frequency, monetary FROM f
              WHERE has_ordered = 1)
    ), q AS (
        SELECT cutoff, quantile_cont(avg_order_value, {R.TAG_HIGH_AOV_QUANTILE}) AS aov_p80
        FROM f WHERE has_ordered = 1 GROUP BY cutoff
    ), scored AS (
        SELECT f.*, q.aov_p80, sc.r_score, sc.f_score, sc.m_score,
               CASE
                 WHEN has_ordered = 0 THEN
                   CASE WHEN tenure_days < {R.NEW_DAYS} THEN '新客'
                        WHEN tenure_days < {R.SILENT_DAYS} THEN '沉默' ELSE '流失' END
                 WHEN days_since_first_order < {R.NEW_DAYS} THEN '新客'
                 WHEN recency_days < {R.ACTIVE_DAYS} THEN '活跃'
                 WHEN recency_days < {R.SILENT_DAYS} THEN '沉默'
                 ELSE '流失' END AS lifecycle_stage,
               CASE
                 WHEN has_ordered = 0 THEN NULL
                 WHEN coupon_usage_rate >= {R.PRICE_HIGH_COUPON_RATE}
                      OR discount_share >= {R.PRICE_HIGH_DISCOUNT_SHARE} THEN '高'
                 WHEN coupon_usage_rate < {R.PRICE_LOW_COUPON_RATE}
                      AND coalesce(discount_share, 0) < {R.PRICE_LOW_DISCOUNT_SHARE} THEN '低'
                 ELSE '中' END AS price_sensitivity
        FROM f
        LEFT JOIN q ON q.cutoff = f.cutoff
        LEFT JOIN sc ON sc.cutoff = f.cutoff AND sc.user_id = f.user_id
    ), tiered AS (
        SELECT *, {_rfm_case()} AS rfm_segment,
               CASE
                 WHEN has_ordered = 0 THEN
                   CASE WHEN lifecycle_stage = '新客'
                             AND coalesce(views_30d, 0) >= {R.POTENTIAL_MIN_VIEWS_30D}
                        THEN '潜力型' ELSE '一般' END
                 WHEN {_RISK} >= {R.CHURN_HIGH} AND {_ALIVE}
                      AND (m_score >= {R.AT_RISK_MIN_SCORE} OR f_score >= {R.AT_RISK_MIN_SCORE})
                   THEN '流失风险型'
                 WHEN {_ALIVE} AND m_score >= {R.HIGH_VALUE_M_SCORE}
                      AND f_score >= {R.HIGH_VALUE_F_SCORE} AND {_RISK} < {R.CHURN_HIGH}
                   THEN '高价值'
                 WHEN lifecycle_stage IN ('新客', '活跃') AND {_RISK} < {R.CHURN_HIGH}
                   THEN '潜力型'
                 ELSE '一般' END AS value_tier
        FROM scored
    )
    SELECT *, {_tag_list()} AS behavior_tags FROM tiered
    """)


def _age_band(age: str) -> str:
    whens = " ".join(f"WHEN {age} BETWEEN {lo} AND {hi} THEN '{name}'"
                     for lo, hi, name in R.AGE_BANDS)
    return f"CASE {whens} END"


def create_user_profile(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Create the ``user_profile`` table (one row per user who exists at the as-of date)."""
    a = sql_date(as_of)
    age = f"(year({a}) - u.birth_year)"
    con.execute(f"""
    CREATE OR REPLACE TABLE user_profile AS
    WITH cat AS (
        SELECT user_id, category FROM (
            SELECT o.user_id, p.category, count(*) AS items,
                   sum(CAST(oi.price AS DOUBLE) * coalesce(oi.quantity, 1)) AS spend
            FROM _orders o
            JOIN order_items oi ON oi.order_id = o.order_id
            JOIN products p ON p.product_id = oi.product_id
            WHERE p.category IS NOT NULL
            GROUP BY ALL)
        QUALIFY row_number() OVER (PARTITION BY user_id
                                   ORDER BY items DESC, spend DESC, category) = 1
    ), mer AS (
        SELECT user_id, merchant_id FROM (
            SELECT user_id, merchant_id, count(*) AS n, sum(pay) AS spend
            FROM _orders WHERE merchant_id IS NOT NULL GROUP BY ALL)
        QUALIFY row_number() OVER (PARTITION BY user_id
                                   ORDER BY n DESC, spend DESC, merchant_id) = 1
    ), ch AS (
        SELECT user_id, channel FROM (
            SELECT user_id, channel, count(*) AS n, sum(pay) AS spend
            FROM _orders WHERE channel IS NOT NULL GROUP BY ALL)
        QUALIFY row_number() OVER (PARTITION BY user_id
                                   ORDER BY n DESC, spend DESC, channel) = 1
    )
    SELECT u.user_id, u.user_name, u.phone, u.gender, u.birth_year, u.province, u.city,
           u.city_tier, u.region, u.signup_date, u.signup_channel,
           CAST({age} AS INTEGER) AS age, {_age_band(age)} AS age_band,
           s.first_order_date, s.last_order_date,
           CAST(s.recency_days AS INTEGER) AS recency_days,
           CAST(s.frequency AS INTEGER) AS frequency,
           CAST(round(s.monetary, 2) AS DECIMAL(18, 2)) AS monetary,
           s.r_score, s.f_score, s.m_score, s.rfm_segment, s.value_tier, s.lifecycle_stage,
           CAST(s.churn_risk AS DOUBLE) AS churn_risk,
           round(s.avg_order_value, 2) AS avg_order_value,
           round(s.coupon_usage_rate, 4) AS coupon_usage_rate,
           s.price_sensitivity,
           round(s.repurchase_cycle_days, 1) AS repurchase_cycle_days,
           cat.category AS favorite_category,
           mer.merchant_id AS favorite_merchant_id,
           ch.channel AS preferred_channel,
           round(s.weekend_share, 4) AS weekend_share,
           round(coalesce(clv.predicted_clv, 0), 2) AS predicted_clv,
           [s.lifecycle_stage, s.value_tier] || s.behavior_tags AS tags,
           {a} AS profile_date,
           CAST(s.tenure_days AS INTEGER) AS tenure_days,
           CAST(s.orders_30d AS INTEGER) AS orders_30d,
           CAST(s.orders_90d AS INTEGER) AS orders_90d,
           round(s.gmv_90d, 2) AS gmv_90d,
           round(s.gmv_365d, 2) AS gmv_365d,
           round(s.discount_share, 4) AS discount_share,
           CAST(s.returned_orders AS INTEGER) AS returned_orders,
           CAST(s.disputed_orders AS INTEGER) AS disputed_orders,
           CAST(s.views_30d AS INTEGER) AS views_30d,
           CAST(s.review_count AS INTEGER) AS review_count,
           round(s.avg_rating, 2) AS avg_rating
    FROM _users u
    JOIN _us s ON s.user_id = u.user_id AND s.cutoff = {a}
    LEFT JOIN cat ON cat.user_id = u.user_id
    LEFT JOIN mer ON mer.user_id = u.user_id
    LEFT JOIN ch ON ch.user_id = u.user_id
    LEFT JOIN _clv clv ON clv.user_id = u.user_id
    ORDER BY u.user_id
    """)
