"""Hand-made result frames and contexts for the answer tests (no warehouse needed)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from chatbi.answer.context import ChartContext, DimensionMeta, MetricMeta
from chatbi.semantic.query import Filter, SemanticQuery, TimeRange

METRICS = {
    "gmv": MetricMeta("gmv", "销售额", "GMV", "元", "currency"),
    "orders": MetricMeta("orders", "订单数", "Orders", "单", "integer"),
    "conversion_rate": MetricMeta("conversion_rate", "转化率", "Conversion rate", "%", "percent",
                                  additive=False),
    "dispute_orders": MetricMeta("dispute_orders", "纠纷订单数", "Dispute orders", "单", "integer",
                                 higher_is_better=False),
}
DIMENSIONS = {
    "region": DimensionMeta("region", "大区", "Region"),
    "category": DimensionMeta("category", "品类", "Category"),
    "merchant": DimensionMeta("merchant", "商户", "Merchant"),
    "channel": DimensionMeta("channel", "渠道", "Channel"),
}
LAST_QUARTER = TimeRange(start=date(2026, 4, 1), end=date(2026, 6, 30), label="上个季度")
LAST_MONTH = TimeRange(start=date(2026, 8, 1), end=date(2026, 8, 31), label="上个月")
THIS_YEAR = TimeRange(start=date(2026, 1, 1), end=date(2026, 9, 30), label="今年")


def ctx(language: str = "zh", time_range: TimeRange | None = LAST_QUARTER, *,
        truncated: bool = False, **query: Any) -> ChartContext:
    """A ChartContext over the test metrics; ``query`` are SemanticQuery fields."""
    query.setdefault("metrics", ["gmv"])
    sq = SemanticQuery(time_range=time_range, **query)
    return ChartContext(query=sq, metrics=METRICS, dimensions=DIMENSIONS, language=language,
                        time_text=time_range.describe() if time_range else None,
                        truncated=truncated)


def ranking_frame() -> pd.DataFrame:
    """GMV by region; total 5,000,000; 华东 1,710,000 = 34.2%."""
    return pd.DataFrame({
        "region": ["华东", "华南", "华北", "西南", "东北"],
        "gmv": [1_710_000.0, 1_200_000.0, 1_100_000.0, 780_000.0, 210_000.0],
    })


def growth_frame() -> pd.DataFrame:
    """GMV by category with the previous quarter: 中古包 +38.2%, 家居 -6.5%."""
    return pd.DataFrame({
        "category": ["中古包", "腕表", "家居"],
        "gmv": [1_711_000.0, 900_000.0, 500_000.0],
        "gmv_previous": [1_238_060.78, 850_000.0, 534_759.36],
        "gmv_growth": [0.382, 900_000 / 850_000 - 1, -0.065],
    })


def growth_query() -> dict[str, Any]:
    return {"metrics": ["gmv"], "dimensions": ["category"], "comparison": "previous_period",
            "filters": [Filter(dimension="region", value="华东")],
            "order_by": []}


def trend_frame() -> pd.DataFrame:
    """Monthly GMV Jan–Jun 2026: 100 → 170, peak in June, dip in April."""
    return pd.DataFrame({
        "month": [date(2026, m, 1) for m in range(1, 7)],
        "gmv": [100_000.0, 120_000.0, 130_000.0, 125_000.0, 160_000.0, 170_000.0],
    })
