"""Every table and column of DATA_CONTRACT.md (raw tables from the warehouse schema, plus
the profile tables), used for the access policy and to check the YAML's column names.

Profile column types are indicative (the profile build owns them); only names are a contract.
"""

from __future__ import annotations

from chatbi.warehouse.schema import RAW_TABLES

_USER_DIMS = {k: v for k, v in RAW_TABLES["users"].items() if k != "user_id"}
_MERCHANT_DIMS = {k: v for k, v in RAW_TABLES["merchants"].items() if k != "merchant_id"}

PROFILE_TABLES: dict[str, dict[str, str]] = {
    "user_profile": {
        "user_id": "BIGINT", **_USER_DIMS,
        "first_order_date": "DATE", "last_order_date": "DATE", "recency_days": "INTEGER",
        "frequency": "INTEGER", "monetary": "DOUBLE", "r_score": "INTEGER", "f_score": "INTEGER",
        "m_score": "INTEGER", "rfm_segment": "VARCHAR", "value_tier": "VARCHAR",
        "lifecycle_stage": "VARCHAR", "churn_risk": "DOUBLE", "avg_order_value": "DOUBLE",
        "coupon_usage_rate": "DOUBLE", "price_sensitivity": "VARCHAR",
        "repurchase_cycle_days": "DOUBLE", "favorite_category": "VARCHAR",
        "favorite_merchant_id": "BIGINT", "preferred_channel": "VARCHAR", "weekend_share": "DOUBLE",
        "predicted_clv": "DOUBLE", "tags": "VARCHAR[]", "profile_date": "DATE",
    },
    "merchant_profile": {
        "merchant_id": "BIGINT", **_MERCHANT_DIMS,
        "gmv": "DOUBLE", "order_count": "BIGINT", "buyer_count": "BIGINT",
        "avg_order_value": "DOUBLE", "sell_through_rate": "DOUBLE",
        "inventory_turnover_days": "DOUBLE", "return_rate": "DOUBLE", "dispute_rate": "DOUBLE",
        "repeat_buyer_rate": "DOUBLE", "new_listings_30d": "BIGINT", "avg_rating": "DOUBLE",
        "positive_review_share": "DOUBLE", "negative_review_share": "DOUBLE", "tags": "VARCHAR[]",
        "profile_date": "DATE",
    },
    "user_merchant_relation": {
        "user_id": "BIGINT", "merchant_id": "BIGINT", "order_count": "BIGINT", "gmv": "DOUBLE",
        "first_order_ts": "TIMESTAMP", "last_order_ts": "TIMESTAMP", "is_repeat_buyer": "BOOLEAN",
        "view_count": "BIGINT", "favorite_count": "BIGINT", "follows": "BOOLEAN",
        "dispute_count": "BIGINT", "loyalty_score": "DOUBLE",
    },
    "review_sentiment": {
        "review_id": "BIGINT", "sentiment": "VARCHAR", "sentiment_score": "DOUBLE",
    },
    "tag_history": {
        "snapshot_date": "DATE", "entity_type": "VARCHAR", "entity_id": "BIGINT", "tag": "VARCHAR",
    },
    "alerts": {
        "alert_id": "BIGINT", "detected_at": "TIMESTAMP", "entity_type": "VARCHAR",
        "entity_id": "BIGINT", "metric": "VARCHAR", "value": "DOUBLE", "baseline": "DOUBLE",
        "severity": "VARCHAR", "message": "VARCHAR",
    },
}

CONTRACT_TABLES: dict[str, dict[str, str]] = {**RAW_TABLES, **PROFILE_TABLES}


def create_profile_table_sql(table: str) -> str:
    """``CREATE TABLE`` for a profile table with the contract's columns (tests use it)."""
    cols = ", ".join(f"{name} {typ}" for name, typ in PROFILE_TABLES[table].items())
    return f"CREATE TABLE {table} ({cols})"
