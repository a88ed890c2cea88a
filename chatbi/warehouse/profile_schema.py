"""The profile tables' contract columns and the DuckDB types the build gives them.

DATA_CONTRACT.md names the columns; this module pins their types so the semantic layer and
the tests can rely on them. The build adds further columns (documented in docs/profiles.md).
"""

from __future__ import annotations

from chatbi.warehouse.schema import RAW_TABLES

_USERS = {k: v for k, v in RAW_TABLES["users"].items()}
_MERCHANTS = {k: v for k, v in RAW_TABLES["merchants"].items()}

PROFILE_CONTRACT: dict[str, dict[str, str]] = {
    "user_profile": {
        **_USERS,
        "first_order_date": "DATE", "last_order_date": "DATE", "recency_days": "INTEGER",
        "frequency": "INTEGER", "monetary": "DECIMAL(18,2)", "r_score": "INTEGER",
        "f_score": "INTEGER", "m_score": "INTEGER", "rfm_segment": "VARCHAR",
        "value_tier": "VARCHAR", "lifecycle_stage": "VARCHAR", "churn_risk": "DOUBLE",
        "avg_order_value": "DOUBLE", "coupon_usage_rate": "DOUBLE",
        "price_sensitivity": "VARCHAR", "repurchase_cycle_days": "DOUBLE",
        "favorite_category": "VARCHAR", "favorite_merchant_id": "BIGINT",
        "preferred_channel": "VARCHAR", "weekend_share": "DOUBLE", "predicted_clv": "DOUBLE",
        "tags": "VARCHAR[]", "profile_date": "DATE", "age": "INTEGER", "age_band": "VARCHAR",
    },
    "merchant_profile": {
        **_MERCHANTS,
        "gmv": "DECIMAL(18,2)", "order_count": "INTEGER", "buyer_count": "INTEGER",
        "avg_order_value": "DOUBLE", "sell_through_rate": "DOUBLE",
        "inventory_turnover_days": "DOUBLE", "return_rate": "DOUBLE", "dispute_rate": "DOUBLE",
        "repeat_buyer_rate": "DOUBLE", "new_listings_30d": "INTEGER", "avg_rating": "DOUBLE",
        "positive_review_share": "DOUBLE", "negative_review_share": "DOUBLE",
        "tags": "VARCHAR[]", "profile_date": "DATE",
    },
    "user_merchant_relation": {
        "user_id": "BIGINT", "merchant_id": "BIGINT", "order_count": "INTEGER",
        "gmv": "DECIMAL(18,2)", "first_order_ts": "TIMESTAMP", "last_order_ts": "TIMESTAMP",
        "is_repeat_buyer": "BOOLEAN", "view_count": "INTEGER", "favorite_count": "INTEGER",
        "follows": "BOOLEAN", "dispute_count": "INTEGER", "loyalty_score": "DOUBLE",
    },
    "review_sentiment": {
        "review_id": "BIGINT", "sentiment": "VARCHAR", "sentiment_score": "DOUBLE",
    },
    "tag_history": {
        "snapshot_date": "DATE", "entity_type": "VARCHAR", "entity_id": "BIGINT",
        "tag": "VARCHAR",
    },
    "alerts": {
        "alert_id": "BIGINT", "detected_at": "TIMESTAMP", "entity_type": "VARCHAR",
        "entity_id": "VARCHAR", "metric": "VARCHAR", "value": "DOUBLE", "baseline": "DOUBLE",
        "severity": "VARCHAR", "message": "VARCHAR",
    },
    "profile_build_info": {
        "built_at": "TIMESTAMP", "as_of": "DATE", "churn_auc": "DOUBLE", "baseline_auc": "DOUBLE",
    },
}

RFM_SEGMENTS = ("重要价值客户", "重要发展客户", "重要保持客户", "重要挽留客户",
                "一般价值客户", "一般发展客户", "一般保持客户", "一般挽留客户")
VALUE_TIERS = ("高价值", "潜力型", "流失风险型", "一般")
LIFECYCLE_STAGES = ("新客", "活跃", "沉默", "流失")
PRICE_SENSITIVITY = ("高", "中", "低")
SENTIMENTS = ("positive", "neutral", "negative")
SEVERITIES = ("high", "medium", "low")
