"""The raw tables of DATA_CONTRACT.md: names, columns and DuckDB types (a contract)."""

from __future__ import annotations

RAW_TABLES: dict[str, dict[str, str]] = {
    "users": {
        "user_id": "BIGINT", "user_name": "VARCHAR", "phone": "VARCHAR", "gender": "VARCHAR",
        "birth_year": "INTEGER", "province": "VARCHAR", "city": "VARCHAR", "city_tier": "INTEGER",
        "region": "VARCHAR", "signup_date": "DATE", "signup_channel": "VARCHAR",
    },
    "merchants": {
        "merchant_id": "BIGINT", "merchant_name": "VARCHAR", "main_category": "VARCHAR",
        "province": "VARCHAR", "city": "VARCHAR", "region": "VARCHAR", "join_date": "DATE",
        "is_certified": "BOOLEAN",
    },
    "products": {
        "product_id": "BIGINT", "merchant_id": "BIGINT", "category": "VARCHAR", "brand": "VARCHAR",
        "title": "VARCHAR", "style": "VARCHAR", "item_condition": "VARCHAR",
        "list_price": "DECIMAL(12,2)", "listed_at": "TIMESTAMP", "status": "VARCHAR",
        "sold_at": "TIMESTAMP",
    },
    "orders": {
        "order_id": "BIGINT", "user_id": "BIGINT", "merchant_id": "BIGINT", "order_ts": "TIMESTAMP",
        "pay_amount": "DECIMAL(12,2)", "discount_amount": "DECIMAL(12,2)", "coupon_id": "BIGINT",
        "channel": "VARCHAR", "device": "VARCHAR", "status": "VARCHAR", "is_disputed": "BOOLEAN",
    },
    "order_items": {
        "order_id": "BIGINT", "product_id": "BIGINT", "merchant_id": "BIGINT",
        "price": "DECIMAL(12,2)", "quantity": "INTEGER",
    },
    "events": {
        "event_id": "BIGINT", "user_id": "BIGINT", "session_id": "VARCHAR", "event_ts": "TIMESTAMP",
        "event_type": "VARCHAR", "product_id": "BIGINT", "merchant_id": "BIGINT",
        "category": "VARCHAR", "channel": "VARCHAR", "dwell_seconds": "INTEGER",
        "search_query": "VARCHAR",
    },
    "reviews": {
        "review_id": "BIGINT", "order_id": "BIGINT", "user_id": "BIGINT", "merchant_id": "BIGINT",
        "review_ts": "TIMESTAMP", "rating": "INTEGER", "content": "VARCHAR",
    },
    "campaigns": {
        "campaign_id": "BIGINT", "campaign_name": "VARCHAR", "channel": "VARCHAR",
        "start_date": "DATE", "end_date": "DATE", "spend": "DECIMAL(12,2)",
        "target_segment": "VARCHAR", "coupon_value": "DECIMAL(12,2)",
    },
    "campaign_touches": {
        "campaign_id": "BIGINT", "user_id": "BIGINT", "touch_ts": "TIMESTAMP", "opened": "BOOLEAN",
        "clicked": "BOOLEAN", "order_id": "BIGINT",
    },
    "follows": {
        "user_id": "BIGINT", "target_type": "VARCHAR", "target_id": "BIGINT",
        "followed_at": "TIMESTAMP",
    },
    "kols": {
        "kol_id": "BIGINT", "kol_name": "VARCHAR", "platform": "VARCHAR", "domain": "VARCHAR",
        "follower_count": "INTEGER",
    },
}

PII_COLUMNS: dict[str, frozenset[str]] = {
    "users": frozenset({"user_name", "phone"}),
    "user_profile": frozenset({"user_name", "phone"}),
}

REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
CHANNELS = ("抖音", "小红书", "知识社区", "搜索竞价", "微信", "自然流量")
DEVICES = ("app", "mini_program", "web")
ORDER_STATUSES = ("completed", "returned", "refunded", "cancelled")
EVENT_TYPES = ("view", "search", "favorite", "add_to_cart", "purchase")


def create_table_sql(table: str) -> str:
    """``CREATE TABLE`` for one raw table, with exactly the contract's columns and types."""
    cols = ", ".join(f"{name} {typ}" for name, typ in RAW_TABLES[table].items())
    return f"CREATE TABLE {table} ({cols})"
