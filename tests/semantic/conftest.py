"""A tiny hand-made warehouse whose numbers are worked out by hand in the tests.

As-of date 2026-09-30; Q3 2026 = 2026-07-01..2026-09-30. Orders (pay_amount, status):

  1  user 1 (华东, 女)  merchant 10 (华东)  2026-07-10  1200 completed  抖音  items 100 (箱包 1000x1), 101 (服饰 500x1)
  2  user 1           merchant 10        2026-08-01   300 returned, disputed  抖音  item 102 (服饰)
  3  user 2 (华南, 男)  merchant 20 (华南)  2026-08-05   250 completed  微信  item 200 (家居 100x2)
  4  user 2           merchant 20        2026-08-20    80 cancelled  微信  item 201 (家居)
  5  user 3 (华东, 女)  merchant 10        2026-09-01   500 refunded  小红书  item 101 (服饰)
  6  user 3           merchant 10        2026-05-15  1000 completed, disputed  小红书  item 100 (箱包)   (Q2)
  7  user 4 (西南, 男)  merchant 20        2026-09-20   150 completed  抖音  no items
  8  user 1           merchant 10        2025-08-10   600 completed  抖音  item 100 (箱包)   (Q3 2025)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import pytest

from chatbi.semantic.compiler import compile_query
from chatbi.semantic.contract import create_profile_table_sql
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery
from chatbi.warehouse.schema import RAW_TABLES, create_table_sql

AS_OF = date(2026, 9, 30)

ROWS: dict[str, list[tuple[Any, ...]]] = {
    "users": [
        (1, "张三", "13800000001", "女", 1996, "上海", "上海", 1, "华东", date(2026, 7, 5), "抖音"),
        (2, "李四", "13800000002", "男", 2004, "广东", "广州", 1, "华南", date(2026, 8, 10), "微信"),
        (3, "王五", "13800000003", "女", 1980, "浙江", "杭州", 2, "华东", date(2025, 3, 1), "小红书"),
        (4, "赵六", "13800000004", "男", None, "四川", "成都", 2, "西南", date(2026, 9, 15), "抖音"),
    ],
    "merchants": [
        (10, "寄售A", "箱包", "上海", "上海", "华东", date(2024, 1, 1), True),
        (20, "寄售B", "家居", "广东", "深圳", "华南", date(2026, 8, 1), False),
    ],
    "products": [
        (100, 10, "箱包", "LV", "中古包", "经典款", "九成新", 1000, "2026-01-01 00:00:00", "sold", "2026-07-10 10:00:00"),
        (101, 10, "服饰", "Gucci", "外套", "限量款", "全新", 500, "2026-02-01 00:00:00", "sold", "2026-07-10 10:00:00"),
        (102, 10, "服饰", "Prada", "衬衫", "普通", "八成新", 300, "2026-03-01 00:00:00", "on_sale", None),
        (200, 20, "家居", "Muji", "花瓶", "普通", "全新", 100, "2026-05-01 00:00:00", "sold", "2026-08-05 09:00:00"),
        (201, 20, "家居", "Muji", "台灯", "设计师联名", "全新", 100, "2026-06-01 00:00:00", "withdrawn", None),
    ],
    "orders": [
        (1, 1, 10, "2026-07-10 10:00:00", 1200, 100, 5, "抖音", "app", "completed", False),
        (2, 1, 10, "2026-08-01 12:00:00", 300, 0, None, "抖音", "web", "returned", True),
        (3, 2, 20, "2026-08-05 09:00:00", 250, 0, None, "微信", "mini_program", "completed", False),
        (4, 2, 20, "2026-08-20 20:00:00", 80, 20, 7, "微信", "app", "cancelled", False),
        (5, 3, 10, "2026-09-01 08:00:00", 500, 0, None, "小红书", "app", "refunded", False),
        (6, 3, 10, "2026-05-15 15:00:00", 1000, 0, None, "小红书", "app", "completed", True),
        (7, 4, 20, "2026-09-20 18:00:00", 150, 0, None, "抖音", "app", "completed", False),
        (8, 1, 10, "2025-08-10 11:00:00", 600, 0, None, "抖音", "app", "completed", False),
    ],
    "order_items": [
        (1, 100, 10, 1000, 1), (1, 101, 10, 500, 1), (2, 102, 10, 300, 1), (3, 200, 20, 100, 2),
        (4, 201, 20, 100, 1), (5, 101, 10, 500, 1), (6, 100, 10, 1000, 1), (8, 100, 10, 600, 1),
    ],
    "events": [
        (1, 1, "s1", "2026-07-09 10:00:00", "view", 100, 10, "箱包", "抖音", 30, None),
        (2, 1, "s1", "2026-07-09 10:05:00", "add_to_cart", 100, 10, "箱包", "抖音", 5, None),
        (3, 1, "s1", "2026-07-10 10:00:00", "purchase", 100, 10, "箱包", "抖音", 5, None),
        (4, 2, "s2", "2026-08-01 09:00:00", "search", None, None, None, "微信", 10, "中古包"),
        (5, 2, "s2", "2026-08-01 09:01:00", "view", 200, 20, "家居", "微信", 60, None),
        (6, 3, "s3", "2026-08-02 20:00:00", "view", 101, 10, "服饰", "小红书", 20, None),
        (7, 3, "s3", "2026-08-02 20:01:00", "search", None, None, None, "小红书", 5, "中古包"),
        (8, 4, "s4", "2026-09-20 17:00:00", "view", 200, 20, "家居", "抖音", 15, None),
        (9, 4, "s4", "2026-09-20 17:05:00", "add_to_cart", 200, 20, "家居", "抖音", 3, None),
        (10, 2, "s5", "2026-05-01 10:00:00", "purchase", 200, 20, "家居", "微信", 1, None),
    ],
    "reviews": [
        (1, 1, 1, 10, "2026-07-15 10:00:00", 5, "很好，正品"),
        (2, 3, 2, 20, "2026-08-10 10:00:00", 2, "一般，有瑕疵"),
        (3, 6, 3, 10, "2026-05-20 10:00:00", 4, "不错"),
    ],
    "campaigns": [
        (1, "夏季焕新", "抖音", date(2026, 7, 1), date(2026, 7, 31), 1000, "高价值", 50),
        (2, "秋季上新", "微信", date(2026, 8, 1), date(2026, 8, 31), 500, "潜力型", 20),
    ],
    "campaign_touches": [
        (1, 1, "2026-07-08 10:00:00", True, True, 1),
        (1, 3, "2026-07-08 10:00:00", True, False, None),
        (2, 1, "2026-08-01 10:00:00", True, True, 1),
        (2, 2, "2026-08-02 10:00:00", False, False, 3),
        (2, 2, "2026-08-03 10:00:00", True, True, 3),
        (1, 4, "2026-07-09 10:00:00", False, False, None),
    ],
    "follows": [
        (1, "merchant", 10, "2026-07-01 10:00:00"),
        (2, "kol", 900, "2026-08-01 10:00:00"),
        (3, "merchant", 10, "2026-05-01 10:00:00"),
    ],
    "kols": [(900, "时尚小王", "小红书", "时尚", 120000)],
}

PROFILE_ROWS: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
    "user_profile": (
        ["user_id", "value_tier", "lifecycle_stage", "rfm_segment", "churn_risk", "predicted_clv",
         "price_sensitivity", "favorite_category", "preferred_channel", "tags"],
        [
            (1, "高价值", "活跃", "重要价值客户", 0.1, 2000.0, "高", "箱包", "抖音", ["优惠券偏好", "周末购物型"]),
            (2, "一般", "活跃", "一般发展客户", 0.5, 300.0, "高", "家居", "微信", ["优惠券偏好"]),
            (3, "高价值", "沉默", "重要保持客户", 0.8, 1500.0, "低", "服饰", "小红书", ["高流失风险"]),
            (4, "潜力型", "新客", "一般发展客户", 0.3, 200.0, "中", "家居", "抖音", []),
        ],
    ),
    "merchant_profile": (
        ["merchant_id", "sell_through_rate", "inventory_turnover_days", "new_listings_30d", "tags"],
        [(10, 0.5, 30.0, 3, ["高客单价型"]), (20, 0.2, 120.0, 1, ["滞销风险型"])],
    ),
    "user_merchant_relation": (
        ["user_id", "merchant_id", "order_count", "is_repeat_buyer", "loyalty_score", "follows"],
        [(1, 10, 3, True, 80.0, True), (2, 20, 1, False, 30.0, False),
         (3, 10, 2, True, 50.0, True), (4, 20, 1, False, 20.0, False)],
    ),
    "review_sentiment": (
        ["review_id", "sentiment", "sentiment_score"],
        [(1, "positive", 0.9), (2, "negative", 0.1), (3, "positive", 0.8)],
    ),
    "tag_history": (
        ["snapshot_date", "entity_type", "entity_id", "tag"],
        [(date(2026, 7, 31), "user", 1, "高价值"), (date(2026, 8, 31), "user", 1, "高价值"),
         (date(2026, 8, 31), "user", 3, "高价值"), (date(2026, 8, 31), "merchant", 20, "滞销风险型")],
    ),
    "alerts": (
        ["alert_id", "detected_at", "entity_type", "entity_id", "metric", "value", "baseline", "severity",
         "message"],
        [(1, "2026-09-30 00:00:00", "merchant", 10, "dispute_rate", 0.3, 0.05, "high", "商户「寄售A」纠纷率骤升"),
         (2, "2026-09-30 00:00:00", "region", 0, "conversion_rate", 0.1, 0.2, "medium", "转化率下降")],
    ),
}


def build_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the rows above (raw tables with the contract's types)."""
    con = duckdb.connect(":memory:")
    for table in RAW_TABLES:
        con.execute(create_table_sql(table))
        rows = ROWS.get(table, [])
        if rows:
            marks = ", ".join("?" for _ in RAW_TABLES[table])
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    for table, (cols, rows) in PROFILE_ROWS.items():
        con.execute(create_profile_table_sql(table))
        marks = ", ".join("?" for _ in cols)
        con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
    return con


@pytest.fixture(scope="session")
def layer() -> SemanticLayer:
    return load_semantic_layer()


@pytest.fixture(scope="session")
def warehouse() -> duckdb.DuckDBPyConnection:
    con = build_warehouse()
    yield con
    con.close()


Runner = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def run(layer: SemanticLayer, warehouse: duckdb.DuckDBPyConnection) -> Runner:
    """Compile a SemanticQuery (given as keyword arguments) and run it: rows as dicts."""

    def _run(as_of: date = AS_OF, **query: Any) -> list[dict[str, Any]]:
        compiled = compile_query(SemanticQuery(**query), layer, as_of=as_of)
        cursor = warehouse.execute(compiled.sql)
        names = [d[0] for d in cursor.description]
        assert names == compiled.columns
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return _run


def q3() -> dict[str, Any]:
    return {"start": date(2026, 7, 1), "end": date(2026, 9, 30), "label": "上个季度"}
