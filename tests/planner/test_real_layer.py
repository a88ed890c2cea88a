"""The planner over the real semantic_layer/*.yaml (skipped while it does not load).

Names differ a little from the test layer (merchant_tag, an ``age`` dimension, city tiers
as the strings '1'..'5' with labels 一线…), which is the point: nothing is hard-coded.
"""

from __future__ import annotations

from typing import Any

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from tests.planner.conftest import AS_OF
from tests.planner.plan_checks import check

E = dict
Q2 = ("2026-04-01", "2026-06-30")

CASES: list[tuple[str, dict[str, Any]]] = [
    ("上个季度华东大区哪个品类的销售额增长最快？", E(metrics=["gmv"], dims=["category"], filters=[("region", "eq", "华东"), ("category", "ne", None)], time=Q2,
                                        comparison="previous_period", order=[("gmv_growth", True)])),
    ("GMV by region", E(metrics=["gmv"], dims=["region"])),
    ("销售额最高的5个商户", E(metrics=["gmv"], dims=["merchant_id", "merchant_name"], limit=5)),
    ("top 10 categories by orders", E(metrics=["order_count"], dims=["category"], limit=10)),
    ("按月的GMV趋势", E(grain="month")),
    ("各渠道GMV占比", E(dims=["channel"], share=True)),
    ("华东 vs 华南", E(dims=["region"], filters=[("region", "in", ["华东", "华南"])])),
    ("一线城市的销售额", E(filters=[("city_tier", "eq", "1")])),
    ("25-35岁女性用户的订单数", E(filters=[("age", "between", [25, 35]), ("gender", "eq", "女")])),
    ("滞销风险型商户有哪些", E(entity_list=True, dims=["merchant_id", "merchant_name"], filters=[("merchant_tag", "has_tag", "滞销风险型")])),
    ("高价值用户有多少", E(metrics=["user_count"], filters=[("value_tier", "eq", "高价值")])),
    ("我的复购用户占比是多少？", E(metrics=["repeat_buyer_share"])),
    ("复购率怎么算", E(intent="definition", defs=["repurchase_rate"])),
    ("how is AOV defined", E(intent="definition", defs=["avg_order_value"])),
    ("为什么华南区新用户转化率下降了", E(intent="why", why_metric="conversion_rate", filters=[("region", "eq", "华南")])),
    ("给流失风险高的女性用户写三条短信文案", E(intent="copy", channel="sms", count=3,
                                   filters=[("churn_risk_level", "eq", "高"), ("gender", "eq", "女")])),
    ("小程序的订单数", E(filters=[("device", "eq", "mini_program")])),
    ("删除所有订单", E(intent="refuse")),
    ("高价值用户的手机号", E(intent="refuse")),
    ("利润率是多少", E(intent="refuse", message_has="利润")),  # not in the data: refused with what exists
]


@pytest.mark.parametrize(("question", "expected"), CASES, ids=[q[:24] for q, _ in CASES])
def test_real_layer(real_planner: OfflinePlanner, question: str, expected: dict[str, Any]) -> None:
    check(real_planner.plan(question, as_of=AS_OF), expected)


def test_every_metric_is_reachable_by_its_label(real_planner: OfflinePlanner) -> None:
    for metric in real_planner.layer.metrics:
        plan = real_planner.plan(f"{metric.label}是多少", as_of=AS_OF)
        assert plan.intent == "query", (metric.name, plan.message)
        assert plan.query is not None and metric.name in plan.query.metrics, (metric.name, plan.query)


def test_followups_on_real_layer(real_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    real_planner.plan("上个月华东的GMV", as_of=AS_OF, conversation=conversation)
    plan = real_planner.plan("那华南呢", as_of=AS_OF, conversation=conversation)
    check(plan, E(filters=[("region", "eq", "华南")], time=("2026-08-01", "2026-08-31")))
    plan = real_planner.plan("只看女性", as_of=AS_OF, conversation=conversation)
    check(plan, E(metrics=["gmv"], filters=[("region", "eq", "华南"), ("gender", "eq", "女")]))


def test_compiler_accepts_the_plans(real_planner: OfflinePlanner) -> None:
    """The queries compile with the real compiler (same contract, no mocks)."""
    compiler = pytest.importorskip("chatbi.semantic.compiler")
    for question, _ in CASES:
        plan = real_planner.plan(question, as_of=AS_OF)
        if plan.query is not None:
            compiler.compile_query(plan.query, real_planner.layer, as_of=AS_OF)
