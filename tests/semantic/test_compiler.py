"""Compiler behaviour on the hand-made warehouse: fan-out, time, comparisons, filters, shares,
metric filters, ordering, and the errors a planner gets back."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.errors import CompileError
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery
from tests.semantic.conftest import AS_OF, Runner, q3

Q3 = q3()


def _f(value) -> float | None:
    return None if value is None else float(value)


# ---- fan-out: aggregate before joining ------------------------------------------------------
def test_order_with_several_items_is_not_counted_twice(run: Runner) -> None:
    # order 1 has two items; GMV by merchant must stay 1200 + 300 + 500 for merchant 10
    rows = run(metrics=["gmv", "order_count"], dimensions=["merchant_name"], time_range=Q3)
    got = {r["merchant_name"]: (_f(r["gmv"]), r["order_count"]) for r in rows}
    assert got == {"寄售A": (2000.0, 3), "寄售B": (400.0, 2)}


def test_gmv_by_category_is_allocated_and_adds_up_to_total(run: Runner) -> None:
    rows = run(metrics=["gmv", "order_count", "buyer_count"], dimensions=["category"], time_range=Q3)
    got = {r["category"]: (_f(r["gmv"]), r["order_count"], r["buyer_count"]) for r in rows}
    # order 1: 1200 split 1000:500 -> 箱包 800, 服饰 400; order 7 has no items -> category NULL
    assert got == {"箱包": (800.0, 1, 1), "服饰": (1200.0, 3, 2), "家居": (250.0, 1, 1), None: (150.0, 1, 1)}
    total = run(metrics=["gmv"], time_range=Q3)[0]["gmv"]
    assert sum(v[0] for v in got.values()) == pytest.approx(float(total))


def test_buyer_count_by_category_counts_distinct_buyers(run: Runner) -> None:
    # user 1 bought 服饰 in orders 1 and 2 (and 箱包 in order 1): counted once in 服饰
    rows = run(metrics=["buyer_count"], dimensions=["category"], filters=[
        {"dimension": "category", "op": "eq", "value": "服饰"}], time_range=Q3)
    assert rows == [{"category": "服饰", "buyer_count": 2}]


def test_brand_and_style_come_from_products(run: Runner) -> None:
    rows = run(metrics=["gmv", "items_sold"], dimensions=["brand"], time_range=Q3)
    got = {r["brand"]: (_f(r["gmv"]), _f(r["items_sold"])) for r in rows}
    assert got == {"LV": (800.0, 1.0), "Gucci": (900.0, 2.0), "Prada": (300.0, 1.0), "Muji": (250.0, 2.0),
                   None: (150.0, None)}


def test_ratio_over_two_models_joins_on_the_dimension(run: Runner) -> None:
    rows = run(metrics=["campaign_roi", "campaign_revenue", "campaign_spend"], dimensions=["channel"])
    got = {r["channel"]: (r["campaign_roi"], r["campaign_revenue"], _f(r["campaign_spend"])) for r in rows}
    # order 1 was touched by both campaigns: shared 600 / 600
    assert got["抖音"] == pytest.approx((0.6, 600.0, 1000.0))
    assert got["微信"] == pytest.approx((1.7, 850.0, 500.0))


def test_metrics_from_different_models_share_one_row_per_dimension(run: Runner) -> None:
    rows = run(metrics=["gmv", "conversion_rate", "new_users"], dimensions=["region"], time_range=Q3)
    got = {r["region"]: (_f(r["gmv"]), r["conversion_rate"], r["new_users"]) for r in rows}
    assert got == {"华东": (2000.0, 0.5, 1), "华南": (250.0, 0.0, 1), "西南": (150.0, 0.0, 1)}


def test_user_counts_and_shares_by_value_tier(run: Runner) -> None:
    rows = run(metrics=["user_count"], dimensions=["value_tier"], share_of_total=True)
    got = {r["value_tier"]: (r["user_count"], r["user_count_share"]) for r in rows}
    assert got == {"高价值": (2, 0.5), "一般": (1, 0.25), "潜力型": (1, 0.25)}


def test_a_share_part_adds_up_its_rows_of_the_breakdown(run: Runner) -> None:
    """沉默用户里男性占几成 / what share of users are 高价值 or 一般: the part's rows of the share
    breakdown, added up into one row (the whole is the breakdown before the part is kept)."""
    rows = run(metrics=["user_count"], dimensions=["value_tier"], share_of_total=True,
               share_part={"dimension": "value_tier", "op": "in", "value": ["高价值", "一般"]})
    assert rows == [{"user_count": 3, "user_count_share": 0.75}]
    one = run(metrics=["user_count"], dimensions=["value_tier"], share_of_total=True,
              share_part={"dimension": "value_tier", "op": "eq", "value": "潜力型"})
    assert one == [{"user_count": 1, "user_count_share": 0.25}]
    with pytest.raises(CompileError):
        run(metrics=["user_count"], dimensions=["value_tier"], share_of_total=True, limit=3,
            share_part={"dimension": "value_tier", "op": "eq", "value": "潜力型"})


def test_tag_dimension_groups_and_filters(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["user_tag"], time_range=Q3)
    got = {r["user_tag"]: _f(r["gmv"]) for r in rows}
    assert got == {"优惠券偏好": 1750.0, "周末购物型": 1500.0, "高流失风险": 500.0}
    tagged = run(metrics=["user_count"], filters=[{"dimension": "user_tag", "op": "has_tag", "value": "优惠券偏好"}])
    assert tagged == [{"user_count": 2}]
    untagged = run(metrics=["user_count"], filters=[{"dimension": "user_tag", "op": "ne", "value": "优惠券偏好"}])
    assert untagged == [{"user_count": 2}]


# ---- time ---------------------------------------------------------------------------------
def test_monthly_trend_and_month_over_month(run: Runner) -> None:
    rows = run(metrics=["gmv"], grain="month", time_range=Q3, comparison="previous_period")
    assert [(r["month"], _f(r["gmv"]), _f(r["gmv_previous"])) for r in rows] == [
        (date(2026, 7, 1), 1200.0, None), (date(2026, 8, 1), 550.0, 1200.0), (date(2026, 9, 1), 650.0, 550.0)]
    assert rows[1]["gmv_growth"] == pytest.approx(550 / 1200 - 1)


def test_quarter_over_quarter(run: Runner) -> None:
    rows = run(metrics=["gmv", "order_count"], time_range=Q3, comparison="previous_period")
    assert len(rows) == 1
    row = rows[0]
    assert (_f(row["gmv"]), _f(row["gmv_previous"]), row["gmv_growth"]) == (2400.0, 1000.0, pytest.approx(1.4))
    assert (row["order_count"], row["order_count_previous"]) == (5, 1)


def test_same_period_last_year_by_region(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["region"], time_range=Q3, comparison="same_period_last_year")
    got = {r["region"]: (_f(r["gmv"]), _f(r["gmv_previous"]), r["gmv_growth"]) for r in rows}
    assert got["华东"] == (2000.0, 600.0, pytest.approx(2000 / 600 - 1))
    assert got["华南"] == (250.0, None, None)


def test_previous_period_keeps_rows_that_only_existed_before(run: Runner) -> None:
    q2 = {"start": date(2026, 4, 1), "end": date(2026, 6, 30)}
    rows = run(metrics=["gmv"], dimensions=["channel"], time_range=Q3, comparison="previous_period")
    assert {r["channel"] for r in rows} == {"抖音", "微信", "小红书"}
    rows = run(metrics=["gmv"], dimensions=["device"], time_range=q2, comparison="same_period_last_year")
    assert [(r["device"], _f(r["gmv"]), _f(r["gmv_previous"])) for r in rows] == [("app", 1000.0, None)]


def test_weeks_start_on_monday_and_days_are_dates(run: Runner) -> None:
    rows = run(metrics=["order_count"], grain="week", time_range={"start": date(2026, 7, 1), "end": date(2026, 7, 31)})
    assert rows == [{"week": date(2026, 7, 6), "order_count": 1}]  # 2026-07-10 is a Friday
    days = run(metrics=["order_count"], dimensions=["order_date"], time_range=Q3)
    assert [r["day"] for r in days] == [date(2026, 7, 10), date(2026, 8, 1), date(2026, 8, 5), date(2026, 8, 20),
                                        date(2026, 9, 1), date(2026, 9, 20)]


def test_grain_uses_each_metrics_own_time_dimension(run: Runner) -> None:
    rows = run(metrics=["gmv", "new_users"], grain="month", time_range=Q3)
    got = {r["month"]: (_f(r["gmv"]), r["new_users"]) for r in rows}
    assert got == {date(2026, 7, 1): (1200.0, 1), date(2026, 8, 1): (550.0, 1), date(2026, 9, 1): (650.0, 1)}


def test_explicit_time_dimension_overrides_the_metric_time(run: Runner) -> None:
    # buyers grouped by their signup month instead of the order month
    rows = run(metrics=["buyer_count"], dimensions=["signup_date"], grain="year")
    assert {r["year"]: r["buyer_count"] for r in rows} == {date(2026, 1, 1): 3, date(2025, 1, 1): 1}


def test_snapshot_metric_ignores_time_range_with_a_note(layer: SemanticLayer) -> None:
    query = SemanticQuery(metrics=["avg_churn_risk"], time_range=Q3)
    compiled = compile_query(query, layer, as_of=AS_OF)
    assert compiled.notes and "avg_churn_risk" in compiled.notes[0]
    with pytest.raises(CompileError, match="snapshot"):
        compile_query(SemanticQuery(metrics=["avg_churn_risk"], grain="month", time_range=Q3), layer, as_of=AS_OF)


# ---- filters ------------------------------------------------------------------------------
@pytest.mark.parametrize(("flt", "expected"), [
    ({"dimension": "channel", "op": "eq", "value": "抖音"}, 1650.0),
    ({"dimension": "channel", "op": "ne", "value": "抖音"}, 750.0),
    ({"dimension": "channel", "op": "in", "value": ["微信", "小红书"]}, 750.0),
    ({"dimension": "channel", "op": "not_in", "value": ["微信", "小红书"]}, 1650.0),
    ({"dimension": "city_tier", "op": "eq", "value": "2"}, 650.0),  # coerced to integer
    ({"dimension": "age", "op": "gt", "value": 25}, 2000.0),
    ({"dimension": "age", "op": "lte", "value": 25}, 250.0),
    ({"dimension": "order_date", "op": "between", "value": ["2026-08-01", "2026-08-31"]}, 550.0),
    ({"dimension": "order_date", "op": "gte", "value": "2026-09-01"}, 650.0),
    ({"dimension": "merchant_name", "op": "contains", "value": "B"}, 400.0),
    ({"dimension": "is_disputed", "op": "eq", "value": "是"}, 300.0),
    ({"dimension": "used_coupon", "op": "eq", "value": True}, 1200.0),
    ({"dimension": "user_tag", "op": "has_tag", "value": "高流失风险"}, 500.0),
    ({"dimension": "merchant_tag", "op": "has_tag", "value": "滞销风险型"}, 400.0),
    ({"dimension": "value_tier", "op": "in", "value": ["高价值"]}, 2000.0),
])
def test_dimension_filters(run: Runner, flt: dict, expected: float) -> None:
    rows = run(metrics=["gmv"], filters=[flt], time_range=Q3)
    assert _f(rows[0]["gmv"]) == pytest.approx(expected)


def test_metric_filter_having_on_a_metric_not_shown(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["merchant_name"], time_range=Q3,
               having=[{"metric": "order_count", "op": "gte", "value": 3}])
    assert rows == [{"merchant_name": "寄售A", "gmv": pytest.approx(2000)}]


def test_share_is_of_all_rows_even_with_having_and_limit(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["region"], time_range=Q3, share_of_total=True,
               having=[{"metric": "gmv", "op": "gt", "value": 200}], limit=1)
    assert rows == [{"region": "华东", "gmv": pytest.approx(2000), "gmv_share": pytest.approx(2000 / 2400)}]


def test_share_within_each_time_bucket(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["region"], grain="month", time_range=Q3, share_of_total=True)
    for month in {r["month"] for r in rows}:
        assert sum(r["gmv_share"] for r in rows if r["month"] == month) == pytest.approx(1.0)


def test_top_and_bottom_n(run: Runner) -> None:
    top = run(metrics=["gmv"], dimensions=["channel"], time_range=Q3, order_by=[{"field": "gmv"}], limit=2)
    assert [r["channel"] for r in top] == ["抖音", "小红书"]
    bottom = run(metrics=["gmv"], dimensions=["channel"], time_range=Q3,
                 order_by=[{"field": "gmv", "descending": False}], limit=1)
    assert [r["channel"] for r in bottom] == ["微信"]
    growth = run(metrics=["gmv"], dimensions=["region"], time_range=Q3, comparison="previous_period",
                 order_by=[{"field": "growth"}], limit=1)
    assert growth[0]["region"] == "华东"  # the only region with a previous value; NULL growth sorts last


def test_ratios_divide_by_zero_as_null(run: Runner) -> None:
    rows = run(metrics=["return_rate", "avg_order_value"], time_range=Q3,
               filters=[{"dimension": "order_status", "op": "eq", "value": "cancelled"}])
    assert rows == [{"return_rate": None, "avg_order_value": None}]


def test_a_group_of_only_filtered_out_rows_is_not_a_row(run: Runner) -> None:
    # every measure ignores cancelled orders, so the cancelled group is no row of zeros
    # (like users whose only orders were cancelled: no profile segment, an extra [None, 0] row)
    rows = run(metrics=["gmv", "order_count"], dimensions=["order_status"], time_range=Q3)
    assert {r["order_status"] for r in rows} == {"completed", "returned", "refunded"}
    # a measure without a filter still counts the cancelled order, so its group stays
    rows = run(metrics=["gmv", "cancel_rate"], dimensions=["order_status"], time_range=Q3)
    got = {r["order_status"]: (_f(r["gmv"]), r["cancel_rate"]) for r in rows}
    assert got["cancelled"] == (None, 1.0)
    assert got["completed"] == (1600.0, 0.0)


def test_funnel_and_conversion_by_channel(run: Runner) -> None:
    rows = run(metrics=["view_users", "cart_users", "purchase_event_users", "view_to_cart_rate",
                        "cart_to_purchase_rate", "conversion_rate"], time_range=Q3)
    assert rows == [{"view_users": 4, "cart_users": 2, "purchase_event_users": 1, "view_to_cart_rate": 0.5,
                     "cart_to_purchase_rate": 0.5, "conversion_rate": 0.25}]


def test_profile_relation_review_and_campaign_metrics(run: Runner) -> None:
    merchants = run(metrics=["repeat_buyer_share", "avg_loyalty_score", "sell_through_rate",
                             "inventory_turnover_days"], dimensions=["merchant_name"])
    assert {r["merchant_name"]: tuple(r.values())[1:] for r in merchants} == {
        "寄售A": (1.0, 65.0, 0.5, 30.0), "寄售B": (0.0, 25.0, 0.2, 120.0)}
    reviews = run(metrics=["avg_rating", "positive_review_share", "negative_review_share"], time_range=Q3)
    assert reviews == [{"avg_rating": 3.5, "positive_review_share": 0.5, "negative_review_share": 0.5}]
    touches = run(metrics=["touch_count", "open_rate", "click_rate", "touch_conversion_rate"])
    assert touches == [{"touch_count": 6, "open_rate": pytest.approx(4 / 6), "click_rate": 0.5,
                        "touch_conversion_rate": pytest.approx(4 / 6)}]
    churn = run(metrics=["avg_churn_risk", "avg_clv"], dimensions=["value_tier"],
                filters=[{"dimension": "value_tier", "op": "eq", "value": "高价值"}])
    assert churn == [{"value_tier": "高价值", "avg_churn_risk": pytest.approx(0.45), "avg_clv": 1750.0}]
    searches = run(metrics=["search_count"], dimensions=["search_query"], time_range=Q3,
                   filters=[{"dimension": "event_type", "op": "eq", "value": "search"}])
    assert searches == [{"search_query": "中古包", "search_count": 2}]
    alerts = run(metrics=["alert_count"], dimensions=["merchant_name", "alert_metric"])
    assert {(r["merchant_name"], r["alert_metric"]) for r in alerts} == {("寄售A", "dispute_rate"),
                                                                         (None, "conversion_rate")}


# ---- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "words"), [
    ({"metrics": ["nope"]}, ["nope"]),
    ({"metrics": ["gmv"], "dimensions": ["nope"]}, ["nope"]),
    ({"metrics": ["campaign_roi"], "dimensions": ["region"]}, ["campaign_roi", "region", "大区"]),
    ({"metrics": ["sell_through_rate"], "dimensions": ["category"]}, ["sell_through_rate", "category"]),
    ({"metrics": ["gmv"], "comparison": "previous_period"}, ["time range"]),
    ({"metrics": ["gmv"], "dimensions": ["order_date", "signup_date"]}, ["one time dimension"]),
    ({"metrics": ["gmv"], "filters": [{"dimension": "region", "op": "has_tag", "value": "华东"}]}, ["has_tag"]),
    ({"metrics": ["gmv"], "filters": [{"dimension": "order_date", "op": "eq", "value": "yesterday"}]}, ["order_date"]),
    ({"metrics": ["gmv"], "filters": [{"dimension": "region", "op": "between", "value": ["a"]}]}, ["between"]),
    ({"metrics": ["gmv"], "order_by": [{"field": "region"}]}, ["region"]),
    ({"metrics": ["gmv"], "time_dimension": "region"}, ["region"]),
])
def test_compile_errors_are_user_facing(layer: SemanticLayer, query: dict, words: list[str]) -> None:
    with pytest.raises(CompileError) as info:
        compile_query(SemanticQuery(**query), layer, as_of=AS_OF)
    assert info.value.code == "compile_error"
    for word in words:
        assert word in info.value.message


def test_compiled_query_describes_its_columns(layer: SemanticLayer) -> None:
    query = SemanticQuery(metrics=["gmv", "return_rate"], dimensions=["region", "order_date"], grain="quarter",
                          time_range=Q3, comparison="same_period_last_year", share_of_total=True)
    compiled = compile_query(query, layer, as_of=AS_OF)
    assert compiled.columns == ["region", "quarter", "gmv", "gmv_previous", "gmv_growth", "gmv_share",
                                "return_rate", "return_rate_previous", "return_rate_growth", "return_rate_share"]
    assert (compiled.metrics, compiled.dimensions, compiled.time_column) == (["gmv", "return_rate"], ["region"],
                                                                             "quarter")
    assert compiled.previous_range is not None
    assert (compiled.previous_range.start, compiled.previous_range.end) == (date(2025, 7, 1), date(2025, 9, 30))


def test_value_labels_are_accepted_as_filter_values(run: Runner) -> None:
    by_label = run(metrics=["gmv"], filters=[{"dimension": "city_tier", "op": "eq", "value": "新一线"}], time_range=Q3)
    by_value = run(metrics=["gmv"], filters=[{"dimension": "city_tier", "op": "eq", "value": 2}], time_range=Q3)
    assert by_label == by_value == [{"gmv": pytest.approx(650)}]
    device = run(metrics=["order_count"], filters=[{"dimension": "device", "op": "in", "value": ["小程序"]}],
                 time_range=Q3)
    assert device == [{"order_count": 1}]


def test_hidden_metrics_for_order_and_having_in_layered_queries(run: Runner) -> None:
    rows = run(metrics=["gmv"], dimensions=["channel"], time_range=Q3, share_of_total=True,
               order_by=[{"field": "order_count"}], having=[{"metric": "buyer_count", "op": "gte", "value": 1}])
    assert [r["channel"] for r in rows] == ["抖音", "小红书", "微信"]  # 3, 1, 1 orders; ties by channel
    assert list(rows[0]) == ["channel", "gmv", "gmv_share"]
    plain = run(metrics=["gmv"], dimensions=["channel"], time_range=Q3, order_by=[{"field": "order_count"}])
    assert [r["channel"] for r in plain] == ["抖音", "小红书", "微信"]


def test_snapshot_metrics_cannot_be_compared(layer: SemanticLayer) -> None:
    query = SemanticQuery(metrics=["avg_clv"], time_range=Q3, comparison="previous_period")
    with pytest.raises(CompileError, match="snapshot"):
        compile_query(query, layer, as_of=AS_OF)


def test_a_per_day_average_is_the_total_over_the_days(run: Runner) -> None:
    """平均每天 / per day on average: days without any order count as zero."""
    total = run(metrics=["gmv", "order_count"], time_range=Q3)[0]
    per_day = run(metrics=["gmv", "order_count"], time_range=Q3, per_period="day")[0]
    days = (Q3["end"] - Q3["start"]).days + 1
    assert float(per_day["gmv"]) == pytest.approx(float(total["gmv"]) / days)
    assert float(per_day["order_count"]) == pytest.approx(total["order_count"] / days)
    with pytest.raises(CompileError):
        run(metrics=["gmv"], per_period="day")  # needs a time range
