"""Follow-up sequences change the previous question's plan through the Conversation."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from tests.planner.conftest import AS_OF
from tests.planner.plan_checks import check

AUG = ("2026-08-01", "2026-08-31")
E = dict

SEQUENCES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "zh_region_month_gender_metric_time_top": [
        ("上个月华东的GMV", E(intent="query", metrics=["gmv"], filters=[("region", "eq", "华东")], time=AUG)),
        ("那华南呢", E(metrics=["gmv"], filters=[("region", "eq", "华南")], time=AUG)),
        ("按月看", E(grain="month", filters=[("region", "eq", "华南")], time=AUG)),
        ("只看女性", E(filters=[("region", "eq", "华南"), ("gender", "eq", "女")], grain="month")),
        ("换成订单数", E(metrics=["order_count"], filters=[("region", "eq", "华南"), ("gender", "eq", "女")])),
        ("去年呢", E(metrics=["order_count"], time=("2025-01-01", "2025-12-31"))),
    ],
    "en_time_top_filter_metric_grain": [
        ("GMV by region last quarter", E(metrics=["gmv"], dims=["region"], time=("2026-04-01", "2026-06-30"))),
        ("and last year?", E(metrics=["gmv"], dims=["region"], time=("2025-01-01", "2025-12-31"))),
        # a ranking leaves out the rows without a region, as a fresh "top 5 regions" does
        ("top 5 instead", E(limit=5, order=[("gmv", True)], dims=["region"], filters=[("region", "ne", None)])),
        ("only female users", E(metrics=["gmv"], filters=[("gender", "eq", "女"), ("region", "ne", None)], limit=5)),
        ("switch to orders", E(metrics=["order_count"], order=[("order_count", True)],
                               filters=[("gender", "eq", "女"), ("region", "ne", None)])),
        ("monthly", E(grain="month", metrics=["order_count"], dims=["region"])),
    ],
    "ranking_and_dimensions": [
        ("各品类的销售额", E(metrics=["gmv"], dims=["category"])),
        ("前3名呢", E(limit=3, order=[("gmv", True)])),
        ("占比呢", E(share=True, dims=["category"], limit=3)),
        ("同比呢", E(comparison="same_period_last_year", time=("2026-01-01", "2026-09-30"))),  # a comparison gets a range
        ("按渠道看", E(dims=["category", "channel"])),
    ],
    "remove_value_from_comparison": [
        ("华东和华南的GMV对比", E(dims=["region"], filters=[("region", "in", ["华东", "华南"])])),
        ("那华北呢", E(filters=[("region", "eq", "华北")])),
    ],
    "why_followup": [
        ("为什么华南区新用户转化率下降了", E(intent="why", why_metric="conversion_rate", filters=[("region", "eq", "华南")])),
        ("那华东呢", E(intent="why", why_metric="conversion_rate", filters=[("region", "eq", "华东")])),
        ("换成复购率", E(intent="why", why_metric="repurchase_rate")),
    ],
    "copy_followup": [
        ("给高价值用户写三条短信文案", E(intent="copy", channel="sms", count=3, filters=[("value_tier", "eq", "高价值")])),
        ("换成推送", E(intent="copy", channel="push", count=3)),
        ("再写5条", E(intent="copy", channel="push", count=5)),
        ("只看女性", E(intent="copy", filters=[("value_tier", "eq", "高价值"), ("gender", "eq", "女")])),
    ],
    "definition_followup": [
        ("复购率怎么算", E(intent="definition", defs=["repurchase_rate"])),
        ("那客单价呢", E(intent="definition", defs=["avg_order_value"])),
    ],
    "clarify_then_answer": [
        ("上个月华东的情况", E(intent="clarify")),
        ("GMV", E(intent="query", metrics=["gmv"], filters=[("region", "eq", "华东")], time=AUG, lang="zh")),
    ],
    "new_question_is_not_a_followup": [
        ("上个月华东的GMV", E(filters=[("region", "eq", "华东")])),
        ("各渠道的订单数", E(metrics=["order_count"], dims=["channel"], filters=[], time=None)),
    ],
    "incompatible_followup_clarifies": [
        ("本月新用户数", E(metrics=["new_users"])),
        ("按渠道看", E(intent="clarify", message_has="渠道")),
    ],
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sequence(planner: OfflinePlanner, name: str) -> None:
    conversation = Conversation()
    for i, (question, expected) in enumerate(SEQUENCES[name]):
        plan = planner.plan(question, as_of=AS_OF, conversation=conversation)
        check(plan, expected)
        if i > 0 and plan.intent in ("query", "why", "copy") and name not in ("new_question_is_not_a_followup", "clarify_then_answer"):
            assert plan.followup
    assert len(conversation) == len(SEQUENCES[name])


def test_followup_without_conversation_is_a_new_question(planner: OfflinePlanner) -> None:
    plan = planner.plan("那华南呢", as_of=AS_OF)
    assert plan.intent == "clarify"  # no previous question, no metric: never guessed


def test_conversations_are_independent(planner: OfflinePlanner) -> None:
    first, second = Conversation(), Conversation()
    planner.plan("上个月华东的GMV", as_of=AS_OF, conversation=first)
    planner.plan("各渠道的订单数", as_of=AS_OF, conversation=second)
    plan = planner.plan("那华南呢", as_of=AS_OF, conversation=first)
    check(plan, E(metrics=["gmv"], filters=[("region", "eq", "华南")]))
    plan = planner.plan("只看女性", as_of=AS_OF, conversation=second)
    check(plan, E(metrics=["order_count"], dims=["channel"], filters=[("gender", "eq", "女")]))


def test_conversation_keeps_recent_turns_and_is_thread_safe(planner: OfflinePlanner) -> None:
    conversation = Conversation(max_turns=5)

    def ask() -> None:
        for _ in range(10):
            planner.plan("各大区的GMV", as_of=AS_OF, conversation=conversation)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(conversation) == 5
    assert conversation.last_plan is not None and conversation.last_plan.intent == "query"
    conversation.clear()
    assert conversation.last_answerable() is None
