"""Predicted audiences: "可能 / 预计 / 有望 / likely to / expected to 买 X 的用户" is the filter
``predicted_next_category has_tag X`` (semantic_layer/75_predictions.yaml), in query questions
and in copy requests; buying X, preferring X and X's sales keep their usual filters."""

from __future__ import annotations

from typing import Any

import pytest

from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.predicted import PREDICTED_DIMENSION
from tests.planner.conftest import AS_OF
from tests.planner.layer_fixture import real_layer_values
from tests.planner.plan_checks import check

E = dict
CATEGORIES = ["中古包", "二手奢侈品", "图书", "家居", "户外装备", "手工艺品", "数码", "时尚服饰", "潮玩", "珠宝首饰", "球鞋", "腕表"]
OUTDOOR = (PREDICTED_DIMENSION, "has_tag", "户外装备")
WATCHES = (PREDICTED_DIMENSION, "has_tag", "腕表")


@pytest.fixture(scope="module")
def demo_planner() -> OfflinePlanner:
    from chatbi.semantic.loader import load_semantic_layer

    values = real_layer_values()
    values.update(category=CATEGORIES, favorite_category=CATEGORIES, merchant_main_category=CATEGORIES)
    return OfflinePlanner(load_semantic_layer(), values)


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("下个月可能购买户外装备的用户有多少", E(intent="query", metrics=["user_count"], filters=[OUTDOOR], dims=[])),
    ("可能购买户外装备的用户有多少", E(metrics=["user_count"], filters=[OUTDOOR])),
    ("预计会购买户外装备的华东用户有多少", E(metrics=["user_count"], filters=[OUTDOOR, ("region", "eq", "华东")])),
    ("有望购买腕表的女性用户有多少", E(metrics=["user_count"], filters=[WATCHES, ("gender", "eq", "女")])),
    ("可能在下个月购买腕表的买家有多少", E(metrics=["user_count"], filters=[WATCHES])),
    ("预测品类为户外装备的用户有多少", E(metrics=["user_count"], filters=[OUTDOOR])),
    ("户外装备的潜在用户有多少", E(metrics=["user_count"], filters=[OUTDOOR])),
    ("how many users are likely to buy outdoor gear next month", E(metrics=["user_count"], filters=[OUTDOOR], lang="en")),
    ("how many customers are expected to purchase outdoor gear", E(metrics=["user_count"], filters=[OUTDOOR])),
    ("how many potential buyers of outdoor gear are there", E(metrics=["user_count"], filters=[OUTDOOR])),
]
COPIES: list[tuple[str, dict[str, Any], str]] = [
    ("给可能购买户外装备的用户写三条短信文案", E(intent="copy", channel="sms", count=3, filters=[OUTDOOR]),
     "可能购买户外装备的用户"),
    ("write SMS copy for users likely to buy outdoor gear", E(intent="copy", channel="sms", count=3, filters=[OUTDOOR], lang="en"),
     "users likely to buy outdoor gear"),
    ("给下个月有望购买腕表的女性用户写两条推送", E(intent="copy", channel="push", count=2, filters=[WATCHES, ("gender", "eq", "女")]),
     "有望购买腕表的女性用户"),
    ("draft 2 push notifications for customers expected to buy outdoor gear", E(intent="copy", channel="push", count=2, filters=[OUTDOOR]),
     "customers expected to buy outdoor gear"),
    ("给户外装备的潜在客户写3条推送", E(intent="copy", channel="push", count=3, filters=[OUTDOOR]), "户外装备的潜在客户"),
]
UNCHANGED: list[tuple[str, dict[str, Any]]] = [
    ("购买户外装备的用户有多少", E(filters=[("favorite_category", "eq", "户外装备")])),
    ("户外装备的GMV", E(metrics=["gmv"], filters=[("category", "eq", "户外装备")])),
    ("给偏好户外装备的用户写三条推送", E(intent="copy", filters=[("favorite_category", "eq", "户外装备")])),
    ("outdoor gear GMV", E(metrics=["gmv"], filters=[("category", "eq", "户外装备")])),
]


@pytest.mark.parametrize(("question", "expected"), QUERIES, ids=[q[:30] for q, _ in QUERIES])
def test_query_questions_filter_on_the_predicted_audience(demo_planner: OfflinePlanner, question: str,
                                                          expected: dict[str, Any]) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    check(plan, expected)
    assert plan.query is not None and plan.query.time_range is None  # 下个月 is the horizon, not a range
    assert not any("未识别" in n or "nrecognised" in n for n in plan.notes), plan.notes


@pytest.mark.parametrize(("question", "expected", "label"), COPIES, ids=[q[:30] for q, _, _ in COPIES])
def test_copy_requests_target_the_predicted_audience(demo_planner: OfflinePlanner, question: str,
                                                     expected: dict[str, Any], label: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    check(plan, expected)
    assert plan.copy_request is not None and plan.copy_request.segment_label == label


@pytest.mark.parametrize(("question", "expected"), UNCHANGED, ids=[q[:30] for q, _ in UNCHANGED])
def test_buying_or_preferring_a_category_keeps_its_filter(demo_planner: OfflinePlanner, question: str,
                                                          expected: dict[str, Any]) -> None:
    check(demo_planner.plan(question, as_of=AS_OF), expected)


def test_the_plans_compile_to_the_predictions_table(demo_planner: OfflinePlanner) -> None:
    from chatbi.semantic.compiler import compile_query
    from chatbi.semantic.query import SemanticQuery

    for question, _ in QUERIES[:4]:
        plan = demo_planner.plan(question, as_of=AS_OF)
        assert plan.query is not None
        sql = compile_query(plan.query, demo_planner.layer, as_of=AS_OF).sql
        assert "user_predictions" in sql and "predicted_next_categories" in sql, sql
    request = demo_planner.plan(COPIES[0][0], as_of=AS_OF).copy_request
    assert request is not None
    sql = compile_query(SemanticQuery(metrics=["user_count"], filters=list(request.filters)),
                        demo_planner.layer, as_of=AS_OF).sql
    assert "user_predictions" in sql


def test_rule_is_off_without_the_dimension(planner: OfflinePlanner) -> None:
    """A layer without ``predicted_next_category`` (the Python test layer) plans as before."""
    plan = planner.plan("可能购买户外的用户有多少", as_of=AS_OF)
    assert plan.query is not None
    assert all(f.dimension != PREDICTED_DIMENSION for f in plan.query.filters)
    assert any(f.value == "户外" for f in plan.query.filters)
