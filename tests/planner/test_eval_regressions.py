"""Regression tests for the planner bugs the evaluation set found (one or more per bug).

The planner runs over the real semantic layer with dimension values like the demo
warehouse's, including the ones that caused trouble: user tags named like value tiers
(高价值, 流失风险型), entity-type values (user, merchant) and alert severities (high…).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.time_parser import parse_time
from tests.planner.conftest import AS_OF
from tests.planner.layer_fixture import real_layer_values
from tests.planner.plan_checks import check

E = dict
LAST_MONTH = ("2026-08-01", "2026-08-31")
THIS_YEAR = ("2026-01-01", "2026-09-30")
LAST_QUARTER = ("2026-04-01", "2026-06-30")
MERCHANT = ["merchant_id", "merchant_name"]
CATEGORIES = ["中古包", "二手奢侈品", "图书", "家居", "户外装备", "手工艺品", "数码", "时尚服饰", "潮玩", "珠宝首饰", "球鞋", "腕表"]


def _demo_values() -> dict[str, list[Any]]:
    values = real_layer_values()
    values.update(
        category=CATEGORIES, favorite_category=CATEGORIES, merchant_main_category=CATEGORIES,
        user_tag=["KOL粉丝", "一般", "价格敏感", "优惠券偏好", "新客", "活跃", "流失风险型", "潜力型", "高价值"],
        merchant_tag=["口碑优质型", "滞销风险型", "高复购型", "高客单价型", "高频上新型"],
        churn_risk_level=["高", "中", "低"], tag_entity_type=["user", "merchant"], alert_entity_type=["merchant"],
        follow_target_type=["merchant", "kol"], alert_severity=["high", "medium", "low"],
        channel=["小红书", "微信", "抖音", "搜索竞价", "知识社区", "短信", "自然流量"],
    )
    return values


def _plan(planner: OfflinePlanner, *questions: str) -> Any:
    conversation = Conversation()
    plan = None
    for question in questions:
        plan = planner.plan(question, as_of=AS_OF, conversation=conversation)
    return plan


# ---- 1. 双11当天 is the festival's own day ----------------------------------------------------
@pytest.mark.parametrize(("text", "start", "end"), [
    ("2025年双11当天的订单数", date(2025, 11, 11), date(2025, 11, 11)),
    ("2025年双11期间的订单数", date(2025, 11, 1), date(2025, 11, 11)),
    ("2025年双11的订单数", date(2025, 11, 11), date(2025, 11, 11)),  # the name alone: the day
    ("618当天", date(2026, 6, 18), date(2026, 6, 18)),
])
def test_festival_day_vs_festival_period(text: str, start: date, end: date) -> None:
    parsed = parse_time(text, AS_OF)
    assert parsed is not None and parsed.range is not None
    assert (parsed.range.start, parsed.range.end) == (start, end)


# ---- 2, 4, 5. grouping and listing entity words ---------------------------------------------
def test_grouping_word_before_a_dimension_does_not_group_the_entity(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("各价值分层用户的销售额", as_of=AS_OF), E(metrics=["gmv"], dims=["value_tier"], limit=None))


def test_count_word_with_的_before_the_entity_ranks_entities(demo_planner: OfflinePlanner) -> None:
    for question in ("上个月GMV排名倒数3名的商户", "上个月GMV排名倒数3名商户"):
        check(demo_planner.plan(question, as_of=AS_OF),
              E(dims=MERCHANT, limit=3, order=[("gmv", False)], time=LAST_MONTH))


@pytest.mark.parametrize(("question", "filters"), [
    ("列出所有高复购型商户", [("merchant_tag", "has_tag", "高复购型")]),
    ("列出所有商户", []),
])
def test_a_list_word_lists_the_entity(demo_planner: OfflinePlanner, question: str, filters: list[Any]) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(intent="query", dims=MERCHANT, filters=filters, entity_list=True))


# ---- 6. after a definition -------------------------------------------------------------------
def test_a_value_question_after_a_definition_is_answered(demo_planner: OfflinePlanner) -> None:
    plan = _plan(demo_planner, "复购率怎么算", "那今年的复购率是多少")
    check(plan, E(intent="query", metrics=["repurchase_rate"], time=THIS_YEAR))
    plan = _plan(demo_planner, "上个月GMV", "复购率怎么算", "高价值用户有多少")
    check(plan, E(intent="query", metrics=["user_count"], filters=[("value_tier", "eq", "高价值")], time=None))
    plan = _plan(demo_planner, "上个月GMV", "高价值用户有多少")  # a complete question, not a follow-up
    check(plan, E(intent="query", metrics=["user_count"], time=None))


def test_a_short_metric_after_a_definition_is_still_a_definition(demo_planner: OfflinePlanner) -> None:
    check(_plan(demo_planner, "复购率怎么算", "那客单价呢"), E(intent="definition", defs=["avg_order_value"]))
    check(_plan(demo_planner, "how is AOV defined", "and conversion rate?"), E(intent="definition", defs=["conversion_rate"]))


# ---- 7. unrecognised words qualifying a metric; English category names -------------------------
@pytest.mark.parametrize("question", [
    "竞争对手上个月的销售额是多少", "东南部的GMV", "圣保罗州的GMV", "GMV of competitors last quarter", "competitor's GMV",
])
def test_an_unknown_qualifier_asks_instead_of_answering_the_total(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent in ("clarify", "refuse") and plan.query is None, plan
    assert plan.message and any(word in plan.message for word in ("竞争对手", "东南部", "圣保罗", "competitor"))


@pytest.mark.parametrize("question", [
    "上个月整体的GMV", "我们平台的GMV是多少", "本月累计的GMV", "上个月全部品类的GMV", "total GMV last month",
    "GMV of each region", "GMV for the last 3 months", "GMV of all categories",
])
def test_filler_words_are_not_qualifiers(demo_planner: OfflinePlanner, question: str) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(intent="query", metrics=["gmv"], filters=[]))


@pytest.mark.parametrize(("question", "value"), [
    ("GMV of vintage bags last quarter", "中古包"), ("pre-owned luxury GMV", "二手奢侈品"),
    ("fashion orders", "时尚服饰"), ("handicrafts GMV", "手工艺品"), ("home decor GMV", "家居"),
    ("outdoor gear GMV", "户外装备"), ("books GMV", "图书"), ("electronics GMV", "数码"),
    ("watches GMV", "腕表"), ("jewelry GMV", "珠宝首饰"),
])
def test_english_category_names(demo_planner: OfflinePlanner, question: str, value: str) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(intent="query", filters=[("category", "eq", value)]))


def test_a_promoted_category_is_the_topic_not_the_segment(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("Write two WeChat posts for users in tier-1 cities promoting vintage bags", as_of=AS_OF)
    check(plan, E(intent="copy", channel="wechat", count=2, filters=[("city_tier", "eq", "1")]))
    assert plan.copy_request.topic == "中古包"
    plan = demo_planner.plan("帮我给一线城市的女性用户写两条营销短信，推广中古包", as_of=AS_OF)
    check(plan, E(intent="copy", filters=[("city_tier", "eq", "1"), ("gender", "eq", "女")]))
    assert plan.copy_request.segment_label == "一线城市的女性用户"


# ---- 8. our/my asks for the value --------------------------------------------------------------
def test_what_is_our_metric_is_a_value(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("what is our campaign ROI", as_of=AS_OF), E(intent="query", metrics=["campaign_roi"]))
    # issue 16: "what is the average rating?" asks for the value; a definition is asked as such
    check(demo_planner.plan("what is campaign ROI", as_of=AS_OF), E(intent="query", metrics=["campaign_roi"]))
    check(demo_planner.plan("how is campaign ROI calculated", as_of=AS_OF), E(intent="definition", defs=["campaign_roi"]))


# ---- 9, 10. ranking words ----------------------------------------------------------------------
@pytest.mark.parametrize(("question", "metric", "descending"), [
    ("worst 3 channels by return rate", "return_rate", True),  # lower is better: worst = highest
    ("best 3 channels by return rate", "return_rate", False),
    ("退货率最差的3个渠道", "return_rate", True),
    ("退货率最高的3个渠道", "return_rate", True),  # literal words stay literal
    ("lowest 3 channels by return rate", "return_rate", False),
    ("worst 3 channels by GMV", "gmv", False),
])
def test_best_and_worst_follow_higher_is_better(demo_planner: OfflinePlanner, question: str, metric: str,
                                                descending: bool) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(dims=["channel"], limit=3, order=[(metric, descending)]))


@pytest.mark.parametrize(("question", "limit", "descending"), [
    ("the 5 cities with the highest average order value", 5, True),
    ("the five cities with the lowest average order value", 5, False),
    ("the 3 highest-AOV cities", 3, True),
])
def test_english_n_nouns_with_the_highest(demo_planner: OfflinePlanner, question: str, limit: int, descending: bool) -> None:
    check(demo_planner.plan(question, as_of=AS_OF),
          E(metrics=["avg_order_value"], dims=["city"], limit=limit, order=[("avg_order_value", descending)]))


# ---- 11. a plain dimension beats a tag list with the same value ------------------------------------
def test_value_tier_beats_user_tag(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("high-value vs churn-risk users GMV this year", as_of=AS_OF),
          E(metrics=["gmv"], dims=["value_tier"], filters=[("value_tier", "in", ["高价值", "流失风险型"])], time=THIS_YEAR))


# ---- 12, 13, 14. numbers and negation ------------------------------------------------------------
@pytest.mark.parametrize(("question", "op"), [
    ("GMV from users older than 40", "gt"), ("GMV from users over 40", "gt"), ("40岁以上用户的GMV", "gte"),
])
def test_age_over_is_strict_and_以上_is_not(demo_planner: OfflinePlanner, question: str, op: str) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(filters=[("age", op, 40)]))


@pytest.mark.parametrize("question", [
    "GMV by region excluding East China", "GMV by region except East China", "GMV by region other than East China",
])
def test_english_negation_before_a_value(demo_planner: OfflinePlanner, question: str) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(dims=["region"], filters=[("region", "ne", "华东")]))


@pytest.mark.parametrize(("question", "value"), [
    ("Which merchants had GMV above 1 million this year?", 1e6),
    ("merchants with GMV over 2.5 million", 2.5e6),
    ("merchants with GMV over 500 thousand", 5e5),
    ("GMV超过100万的商户", 1e6),
    ("GMV超过1千万的商户", 1e7),
    ("GMV超过2亿的商户", 2e8),
])
def test_having_units(demo_planner: OfflinePlanner, question: str, value: float) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    check(plan, E(dims=MERCHANT, having={("gmv", "gt", value)}, filters=[]))
    assert not any("million" in n or "thousand" in n or "千万" in n for n in plan.notes)


# ---- 15, 16. churn risk is the churn_risk level, "at risk" is not a value tier ------------------
def test_high_churn_risk_is_the_churn_risk_level(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("how many users have a high churn risk", as_of=AS_OF),
          E(metrics=["user_count"], filters=[("churn_risk_level", "eq", "高")]))
    check(demo_planner.plan("高流失风险用户有多少", as_of=AS_OF), E(filters=[("churn_risk_level", "eq", "高")]))
    check(demo_planner.plan("churn-risk users GMV", as_of=AS_OF), E(filters=[("value_tier", "eq", "流失风险型")]))


def test_at_risk_of_slow_moving_stock_is_a_merchant_tag(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("Which merchants are at risk of slow-moving stock?", as_of=AS_OF),
          E(dims=MERCHANT, filters=[("merchant_tag", "has_tag", "滞销风险型")], entity_list=True))


# ---- 17. anomaly lists; the why request carries cohort and defaulted time ---------------------------
@pytest.mark.parametrize("question", ["最近有哪些异常？", "有哪些预警", "上个月有哪些异常情况", "any anomalies?"])
def test_anomaly_questions_list_alerts(demo_planner: OfflinePlanner, question: str) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), E(intent="query", metrics=["alert_count"], dims=[]))


def test_why_request_carries_cohort_and_defaulted_time(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("为什么华南区新用户转化率下降了？", as_of=AS_OF)
    check(plan, E(intent="why", why_metric="conversion_rate", filters=[("region", "eq", "华南")]))
    assert plan.why_request.cohort == "new_users" and plan.why_request.time_defaulted
    plan = demo_planner.plan("为什么新用户数下降了", as_of=AS_OF)
    assert plan.why_request.cohort == "all"
    plan = demo_planner.plan("why did new-user conversion rate drop last month", as_of=AS_OF)
    assert plan.why_request.cohort == "new_users" and not plan.why_request.time_defaulted
    plan = _plan(demo_planner, "为什么GMV下降了", "那上个月呢")
    assert plan.intent == "why" and not plan.why_request.time_defaulted


# ---- 18. entity words are not entity-type values; reviews by category; 州 --------------------------
def test_merchant_is_not_an_entity_type_value(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("negative review share by merchant", as_of=AS_OF),
          E(intent="query", metrics=["negative_review_share"], dims=MERCHANT, filters=[]))
    check(demo_planner.plan("high severity alerts last month", as_of=AS_OF),
          E(metrics=["alert_count"], filters=[("alert_severity", "eq", "high")]))


@pytest.mark.parametrize(("question", "metric"), [
    ("各品类的平均评分", "avg_rating"), ("average rating by category", "avg_rating"),
    ("negative review share by category", "negative_review_share"),
])
def test_review_metrics_by_category(demo_planner: OfflinePlanner, question: str, metric: str) -> None:
    from chatbi.semantic.compiler import compile_query

    plan = demo_planner.plan(question, as_of=AS_OF)
    check(plan, E(intent="query", metrics=[metric], dims=["category"]))
    compile_query(plan.query, demo_planner.layer, as_of=AS_OF)


def test_州_is_the_province(demo_planner: OfflinePlanner) -> None:
    check(demo_planner.plan("各州的GMV", as_of=AS_OF), E(metrics=["gmv"], dims=["province"]))


@pytest.mark.parametrize("question", ["update the GMV", "please modify our sales figures", "set the revenue to 0"])
def test_requests_to_change_metric_values_are_refused(question: str) -> None:
    from chatbi.planner.intents import DATA_CHANGE

    assert any(p.search(question.lower()) for p in DATA_CHANGE)  # the planner matches lowercased text


@pytest.mark.parametrize("question", ["GMV change by month", "what was the change in GMV last month",
                                      "set of users with high GMV"])
def test_analytic_questions_are_not_taken_for_data_changes(question: str) -> None:
    from chatbi.planner.intents import DATA_CHANGE

    assert not any(p.search(question.lower()) for p in DATA_CHANGE)


def test_entity_type_values_do_not_capture_dimension_words() -> None:
    """On larger warehouses alerts carry entity_type 'region'; "by region" is still the region."""
    from chatbi.planner.offline import OfflinePlanner
    from chatbi.semantic.loader import load_semantic_layer

    planner = OfflinePlanner(load_semantic_layer(), {
        "region": ["华东", "华南"], "alert_entity_type": ["merchant", "region", "region_channel"]})
    plan = planner.plan("GMV by region excluding East China", as_of=date(2026, 9, 30))
    assert plan.intent == "query" and plan.query is not None
    assert plan.query.dimensions == ["region"]
    assert [(f.dimension, f.op, f.value) for f in plan.query.filters] == [("region", "ne", "华东")]
