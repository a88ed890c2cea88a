"""Results as DuckDB returns them (DECIMAL sums, DATE buckets) chart and check like any frame."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from chatbi.answer.charts import build_chart, chart_svg
from chatbi.answer.facts import compute_facts
from chatbi.answer.findings import check_finding, finding_for

from .helpers import THIS_YEAR, ctx

SQL = """
WITH orders(order_date, region, amount) AS (VALUES
  (DATE '2026-01-05', '华东', 120.50::DECIMAL(12,2)), (DATE '2026-01-20', '华南', 80.00::DECIMAL(12,2)),
  (DATE '2026-02-03', '华东', 150.25::DECIMAL(12,2)), (DATE '2026-02-14', '华南', 95.75::DECIMAL(12,2)),
  (DATE '2026-03-09', '华东', 210.00::DECIMAL(12,2)), (DATE '2026-03-30', '华南', 60.00::DECIMAL(12,2)))
SELECT {select} FROM orders GROUP BY ALL ORDER BY ALL
"""


def _rows(select: str) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        cursor = con.execute(SQL.format(select=select))
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)  # Decimal and date objects
    finally:
        con.close()


@pytest.mark.parametrize("as_df", [False, True])
def test_monthly_trend_from_duckdb(as_df: bool) -> None:
    select = "CAST(date_trunc('month', order_date) AS DATE) AS month, SUM(amount) AS gmv"
    frame = _rows(select)
    if as_df:
        frame = duckdb.connect().execute(SQL.format(select=select)).df()
    c = ctx(time_range=THIS_YEAR, dimensions=["order_date"], grain="month")
    result = build_chart(frame, c)
    assert result.choice.kind == "line" and result.spec is not None
    assert chart_svg(result.spec).lstrip().startswith("<svg")
    values = [row["gmv"] for row in result.spec["data"]["values"]]
    assert values == [200.5, 246.0, 270.0]
    facts = compute_facts(frame, c)
    trend = facts.metric("gmv").trend
    assert (trend.first.value, trend.last.value, trend.direction) == (200.5, 270.0, "up")
    text = finding_for(frame, c)
    assert "2026-01" in text and "¥200.5" in text and "¥270（" in text
    assert check_finding(text, facts).ok


def test_ranking_from_duckdb_decimals() -> None:
    frame = _rows("region, SUM(amount) AS gmv")
    assert frame["gmv"].dtype == object  # decimal.Decimal values
    c = ctx(dimensions=["region"])
    assert build_chart(frame, c).choice.kind == "bar"
    facts = compute_facts(frame, c)
    assert facts.metric("gmv").total == pytest.approx(716.5)
    assert facts.metric("gmv").top_share == pytest.approx(480.75 / 716.5)
