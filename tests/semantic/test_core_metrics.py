"""Each core metric of DATA_CONTRACT.md, computed by the compiler, against numbers worked out
by hand from the fixture (see conftest.py) and against the contract's definition run as SQL."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests.semantic.conftest import Runner, q3

Q3 = q3()
Q3_SQL = "order_ts >= TIMESTAMP '2026-07-01' AND order_ts < TIMESTAMP '2026-10-01'"


def _one(run: Runner, metric: str, **query) -> float:
    rows = run(metrics=[metric], **query)
    assert len(rows) == 1
    return float(rows[0][metric])


@pytest.mark.parametrize(("metric", "expected"), [
    ("gmv", 2400.0),              # orders 1,2,3,5,7 (order 4 cancelled)
    ("net_sales", 1600.0),        # completed: 1, 3, 7
    ("order_count", 5),
    ("buyer_count", 4),           # users 1..4 (user 2 still counts through order 3)
    ("avg_order_value", 480.0),   # 2400 / 5
    ("return_rate", 0.4),         # orders 2 (returned) and 5 (refunded) of 5 valid
    ("dispute_rate", 0.2),        # order 2 of 5 valid
    ("repurchase_rate", 0.25),    # only user 1 has 2 valid orders in Q3; 4 buyers
    ("conversion_rate", 0.25),    # users with events in Q3: 1,2,3,4; purchase event: user 1
    ("new_users", 3),             # signups 07-05, 08-10, 09-15
])
def test_core_metric_last_quarter(run: Runner, metric: str, expected: float) -> None:
    assert _one(run, metric, time_range=Q3) == pytest.approx(expected)


def test_campaign_roi_counts_each_converted_order_once(run: Runner) -> None:
    # orders touched: 1 (by both campaigns) and 3 (twice by campaign 2) -> (1200 + 250) / (1000 + 500)
    assert _one(run, "campaign_roi") == pytest.approx(1450 / 1500)


def test_repurchase_rate_is_per_period(run: Runner) -> None:
    # Over 2026: user 1 (orders 1, 2) and user 3 (orders 6, 5) repeat; buyers 1..4.
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    assert _one(run, "repurchase_rate", time_range=year) == pytest.approx(0.5)
    # In Q2 only user 3 bought once: no repeat buyer.
    q2 = {"start": date(2026, 4, 1), "end": date(2026, 6, 30)}
    assert _one(run, "repurchase_rate", time_range=q2) == pytest.approx(0.0)


def test_cancelled_orders_are_not_in_gmv_and_net_sales_is_completed_only(run: Runner) -> None:
    rows = run(metrics=["gmv", "net_sales", "order_count"], dimensions=["order_status"], time_range=Q3)
    by_status = {r["order_status"]: r for r in rows}
    assert "cancelled" not in by_status  # every measure here leaves cancelled orders out
    assert float(by_status["returned"]["gmv"]) == 300.0
    assert by_status["returned"]["net_sales"] is None
    assert float(by_status["completed"]["net_sales"]) == 1600.0


@pytest.mark.parametrize(("metric", "contract_sql"), [
    ("gmv", f"SELECT SUM(pay_amount) FROM orders WHERE status <> 'cancelled' AND {Q3_SQL}"),
    ("net_sales", f"SELECT SUM(pay_amount) FROM orders WHERE status = 'completed' AND {Q3_SQL}"),
    ("order_count", f"SELECT COUNT(*) FROM orders WHERE status <> 'cancelled' AND {Q3_SQL}"),
    ("buyer_count", f"SELECT COUNT(DISTINCT user_id) FROM orders WHERE status <> 'cancelled' AND {Q3_SQL}"),
    ("avg_order_value", f"SELECT SUM(pay_amount) / COUNT(*) FROM orders WHERE status <> 'cancelled' AND {Q3_SQL}"),
    ("return_rate", "SELECT AVG(CASE WHEN status IN ('returned','refunded') THEN 1.0 ELSE 0 END) FROM orders "
                    f"WHERE status <> 'cancelled' AND {Q3_SQL}"),
    ("dispute_rate", "SELECT AVG(CASE WHEN is_disputed THEN 1.0 ELSE 0 END) FROM orders "
                     f"WHERE status <> 'cancelled' AND {Q3_SQL}"),
    ("repurchase_rate", "SELECT AVG(CASE WHEN n >= 2 THEN 1.0 ELSE 0 END) FROM (SELECT user_id, COUNT(*) AS n "
                        f"FROM orders WHERE status <> 'cancelled' AND {Q3_SQL} GROUP BY user_id)"),
    ("conversion_rate", "SELECT COUNT(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) * 1.0 / "
                        "COUNT(DISTINCT user_id) FROM events WHERE event_ts >= TIMESTAMP '2026-07-01' "
                        "AND event_ts < TIMESTAMP '2026-10-01'"),
    ("new_users", "SELECT COUNT(*) FROM users WHERE signup_date BETWEEN DATE '2026-07-01' AND DATE '2026-09-30'"),
])
def test_matches_contract_definition(run: Runner, warehouse: duckdb.DuckDBPyConnection,
                                     metric: str, contract_sql: str) -> None:
    expected = float(warehouse.execute(contract_sql).fetchone()[0])
    assert _one(run, metric, time_range=Q3) == pytest.approx(expected)


def test_campaign_roi_matches_contract_definition(run: Runner, warehouse: duckdb.DuckDBPyConnection) -> None:
    expected = warehouse.execute(
        "SELECT (SELECT SUM(pay_amount) FROM orders WHERE order_id IN (SELECT order_id FROM campaign_touches))"
        " / (SELECT SUM(spend) FROM campaigns)").fetchone()[0]
    assert _one(run, "campaign_roi") == pytest.approx(float(expected))


def test_buyer_dimensions_come_from_the_buyer_and_merchant_region_from_the_merchant(run: Runner) -> None:
    buyer = {r["region"]: float(r["gmv"]) for r in run(metrics=["gmv"], dimensions=["region"], time_range=Q3)}
    assert buyer == {"华东": 2000.0, "华南": 250.0, "西南": 150.0}
    seller = {r["merchant_region"]: float(r["gmv"])
              for r in run(metrics=["gmv"], dimensions=["merchant_region"], time_range=Q3)}
    assert seller == {"华东": 2000.0, "华南": 400.0}  # order 7: buyer in 西南, merchant in 华南


def test_channel_and_device_are_the_orders(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["channel", "device"], time_range=Q3)
    got = {(r["channel"], r["device"]): None if r["gmv"] is None else float(r["gmv"]) for r in rows}
    assert got == {("抖音", "app"): 1350.0, ("抖音", "web"): 300.0, ("微信", "mini_program"): 250.0,
                   ("小红书", "app"): 500.0}  # 微信/app had only order 4, which was cancelled


def test_age_band_uses_the_as_of_year(run: Runner) -> None:
    rows = run(metrics=["buyer_count"], dimensions=["age_band"], time_range=Q3)
    got = {r["age_band"]: r["buyer_count"] for r in rows}
    assert got == {"30-34岁": 1, "18-24岁": 1, "40-49岁": 1, None: 1}  # 1996, 2004, 1980, unknown
    later = run(as_of=date(2030, 1, 1), metrics=["buyer_count"], dimensions=["age_band"], time_range=Q3)
    assert {r["age_band"] for r in later} == {"30-34岁", "25-29岁", "50岁及以上", None}
