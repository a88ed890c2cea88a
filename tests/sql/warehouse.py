"""A tiny real DuckDB warehouse for the SQL tests: four merchants, twelve buyers, PII values.

Every table of the default policy exists with its contract columns. Merchant ``m`` owns
products, orders, items, events and reviews with ``merchant_id = m``; the PII values (user
names ``用户<i>`` and phones ``1380000<i>``) are easy to spot in results.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from chatbi.sql.access import PROFILE_TABLES
from chatbi.warehouse.schema import RAW_TABLES, create_table_sql

MERCHANTS = (1, 2, 3, 4)
USERS = tuple(range(1, 13))
ORDERS = tuple(range(1, 41))
PHONE_PREFIX = "1380000"
USER_NAME_PREFIX = "用户"

_PROFILE_TYPES = {
    "user_id": "BIGINT", "merchant_id": "BIGINT", "review_id": "BIGINT", "entity_id": "BIGINT",
    "alert_id": "BIGINT", "birth_year": "INTEGER", "city_tier": "INTEGER", "tags": "VARCHAR[]",
    "is_certified": "BOOLEAN", "is_repeat_buyer": "BOOLEAN", "signup_date": "DATE",
    "join_date": "DATE", "profile_date": "DATE", "snapshot_date": "DATE",
    "first_order_date": "DATE", "last_order_date": "DATE", "first_order_ts": "TIMESTAMP",
    "last_order_ts": "TIMESTAMP", "detected_at": "TIMESTAMP", "favorite_merchant_id": "BIGINT",
}
_TEXT = {
    "user_name", "phone", "gender", "province", "city", "region", "signup_channel",
    "merchant_name", "main_category", "rfm_segment", "value_tier", "lifecycle_stage",
    "price_sensitivity", "favorite_category", "preferred_channel", "sentiment", "entity_type",
    "tag", "metric", "severity", "message",
}


def merchant_of_order(order_id: int) -> int:
    return 1 + order_id % 4


def user_of_order(order_id: int) -> int:
    return 1 + (order_id * 7) % 12


def buyers_of(merchant_id: int) -> set[int]:
    return {user_of_order(o) for o in ORDERS if merchant_of_order(o) == merchant_id}


def _profile_type(column: str) -> str:
    if column in _PROFILE_TYPES:
        return _PROFILE_TYPES[column]
    return "VARCHAR" if column in _TEXT else "DOUBLE"


def build_warehouse(path: Path, *, marker: str = "v1") -> Path:
    """Write the test warehouse to ``path`` (``marker`` is stored in ``kols.platform``)."""
    con = duckdb.connect(str(path))
    try:
        for table in RAW_TABLES:
            con.execute(create_table_sql(table))
        for table, cols in PROFILE_TABLES.items():
            spec = ", ".join(f"{c} {_profile_type(c)}" for c in cols)
            con.execute(f"CREATE TABLE {table} ({spec})")
        _fill(con, marker)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def _fill(con: duckdb.DuckDBPyConnection, marker: str) -> None:
    ex = con.execute
    ex(f"""INSERT INTO users SELECT i, '{USER_NAME_PREFIX}' || i, '{PHONE_PREFIX}' || lpad(i::VARCHAR, 4, '0'),
        CASE WHEN i % 2 = 0 THEN '女' ELSE '男' END, 1980 + i, '浙江', '杭州', 1 + i % 5,
        ['华东','华南','华北','华中','西南','西北','东北'][1 + i % 7], DATE '2024-01-01' + i::INTEGER,
        '抖音' FROM range(1, 13) t(i)""")
    ex("""INSERT INTO merchants SELECT m, '商户' || m, '箱包', '上海', '上海', '华东',
        DATE '2023-01-01' + m::INTEGER, m % 2 = 0 FROM range(1, 5) t(m)""")
    ex("""INSERT INTO products SELECT p, 1 + p % 4, '箱包', '品牌' || p, '商品' || p, '普通', '九成新',
        100 + p, TIMESTAMP '2024-01-01' + INTERVAL (p) DAY, 'on_sale', NULL FROM range(1, 17) t(p)""")
    ex("""INSERT INTO orders SELECT o, 1 + (o * 7) % 12, 1 + o % 4, TIMESTAMP '2024-02-01' + INTERVAL (o) DAY,
        10 * o, o % 3, NULL, '抖音', 'app',
        CASE WHEN o % 10 = 0 THEN 'cancelled' ELSE 'completed' END, o % 9 = 0 FROM range(1, 41) t(o)""")
    ex("""INSERT INTO order_items SELECT o, 1 + (o % 4) + 4 * (o % 3), 1 + o % 4, 10 * o, 1
        FROM range(1, 41) t(o)""")
    ex("""INSERT INTO events SELECT e, 1 + e % 12, 's' || e, TIMESTAMP '2024-02-01' + INTERVAL (e) HOUR,
        'view', 1 + e % 16, 1 + (1 + e % 16) % 4, '箱包', '抖音', e % 60, NULL FROM range(1, 61) t(e)""")
    ex("""INSERT INTO reviews SELECT o, o, 1 + (o * 7) % 12, 1 + o % 4, TIMESTAMP '2024-03-01' + INTERVAL (o) DAY,
        1 + o % 5, '商户' || (1 + o % 4) || '的评价' FROM range(1, 41) t(o) WHERE o % 2 = 0""")
    ex("""INSERT INTO campaigns SELECT c, '活动' || c, '抖音', DATE '2024-01-01', DATE '2024-12-31',
        1000 * c, '高价值', 5 FROM range(1, 3) t(c)""")
    ex("""INSERT INTO campaign_touches SELECT 1 + o % 2, 1 + (o * 7) % 12, TIMESTAMP '2024-02-01',
        TRUE, TRUE, CASE WHEN o % 3 = 0 THEN o ELSE NULL END FROM range(1, 41) t(o)""")
    ex("""INSERT INTO follows SELECT 1 + i % 12, CASE WHEN i % 2 = 0 THEN 'merchant' ELSE 'kol' END,
        1 + i % 4, TIMESTAMP '2024-02-01' FROM range(1, 25) t(i)""")
    ex(f"INSERT INTO kols SELECT k, 'KOL' || k, '{marker}', '时尚', 1000 * k FROM range(1, 4) t(k)")
    ex("""INSERT INTO user_profile (user_id, user_name, phone, gender, region, frequency, monetary,
        rfm_segment, favorite_merchant_id, tags)
        SELECT user_id, user_name, phone, gender, region, 2, 100, '重要价值客户', 1, ['高价值']
        FROM users""")
    ex("""INSERT INTO merchant_profile (merchant_id, merchant_name, region, gmv, order_count, tags)
        SELECT m.merchant_id, m.merchant_name, m.region, sum(o.pay_amount), count(*), ['高复购型']
        FROM merchants m JOIN orders o USING (merchant_id) GROUP BY ALL""")
    ex("""INSERT INTO user_merchant_relation (user_id, merchant_id, order_count, gmv)
        SELECT user_id, merchant_id, count(*), sum(pay_amount) FROM orders GROUP BY ALL""")
    ex("""INSERT INTO review_sentiment SELECT review_id, 'positive', 0.9 FROM reviews""")
    ex("""INSERT INTO tag_history SELECT DATE '2024-06-01', 'merchant', m, '高复购型' FROM range(1, 5) t(m)
        UNION ALL SELECT DATE '2024-06-01', 'user', u, '高价值' FROM range(1, 13) t(u)""")
    ex("""INSERT INTO alerts SELECT m, TIMESTAMP '2024-06-01', 'merchant', m, 'gmv', 1, 2, 'high', '下降'
        FROM range(1, 5) t(m)""")
