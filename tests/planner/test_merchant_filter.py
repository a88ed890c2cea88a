"""A merchant id in the question ("商户15的GMV", "merchant 15", "15号商户") filters on the
merchant id; numbers that are counts, years or dates never do."""

from __future__ import annotations

from typing import Any

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.merchant_refs import find_merchant_refs
from chatbi.planner.offline import OfflinePlanner
from tests.planner.conftest import AS_OF
from tests.planner.plan_checks import check

AUG = ("2026-08-01", "2026-08-31")
E = dict

CASES: list[tuple[str, dict[str, Any]]] = [
    ("商户15的GMV", E(intent="query", metrics=["gmv"], dims=[], filters=[("merchant_id", "eq", 15)], time=None)),
    ("merchant 15's GMV last month", E(intent="query", metrics=["gmv"], dims=[], filters=[("merchant_id", "eq", 15)], time=AUG, lang="en")),
    ("15号商户上个月的订单数", E(intent="query", metrics=["order_count"], dims=[], filters=[("merchant_id", "eq", 15)], time=AUG)),
    ("商户ID为15的订单数", E(metrics=["order_count"], filters=[("merchant_id", "eq", 15)])),
    ("商家 #15 上个月的GMV", E(metrics=["gmv"], filters=[("merchant_id", "eq", 15)], time=AUG)),
    ("merchant_id = 15 GMV by channel", E(metrics=["gmv"], dims=["channel"], filters=[("merchant_id", "eq", 15)])),
    ("ＧＭＶ of merchant １５", E(metrics=["gmv"], filters=[("merchant_id", "eq", 15)])),  # full-width
    ("商户3和商户15的GMV对比", E(metrics=["gmv"], dims=["merchant_id"], filters=[("merchant_id", "in", [3, 15])])),
]


@pytest.mark.parametrize(("question", "expected"), CASES, ids=[c[0] for c in CASES])
def test_merchant_id_filters(real_planner: OfflinePlanner, question: str, expected: dict[str, Any]) -> None:
    check(real_planner.plan(question, as_of=AS_OF), expected)


@pytest.mark.parametrize(("question", "expected"), CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_merchant_id_filters_on_any_layer_with_the_dimension(planner: OfflinePlanner, question: str,
                                                             expected: dict[str, Any]) -> None:
    check(planner.plan(question, as_of=AS_OF), expected)


NOT_IDS = [
    "销售额最高的5个商户",
    "GMV排名前10的商户",
    "商户 10 个以上的大区",
    "商户2025年的GMV",
    "merchant 2025 GMV",
    "3月15号商户的GMV",
    "top 5 merchants by GMV",
    "商户数",
]


@pytest.mark.parametrize("question", NOT_IDS)
def test_numbers_that_are_not_merchant_ids(real_planner: OfflinePlanner, question: str) -> None:
    assert find_merchant_refs(question) == []
    plan = real_planner.plan(question, as_of=AS_OF)
    assert plan.query is None or all(f.dimension != "merchant_id" for f in plan.query.filters), plan


def test_spans_slice_the_question() -> None:
    question = "请问商户ID 15 和 42号店铺上个月的GMV"
    refs = find_merchant_refs(question)
    assert [r.merchant_id for r in refs] == [15, 42]
    assert [question[r.start : r.end] for r in refs] == ["商户ID 15", "42号店铺"]


def test_followup_replaces_the_merchant(real_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    real_planner.plan("商户15上个月的GMV", as_of=AS_OF, conversation=conversation)
    plan = real_planner.plan("那商户16呢", as_of=AS_OF, conversation=conversation)
    check(plan, E(intent="query", metrics=["gmv"], filters=[("merchant_id", "eq", 16)], time=AUG))


def test_a_merchants_users_are_its_buyers_and_it_is_said(real_planner: OfflinePlanner) -> None:
    """user_count has no merchant; the people of a merchant are its buyers (stated in a note)."""
    plan = real_planner.plan("商户15的用户数", as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == ["buyer_count"]
    assert any("买家数" in note for note in plan.notes)
    assert ("merchant_id", "eq", 15) in [(f.dimension, f.op, f.value) for f in plan.query.filters]


def test_a_metric_without_merchants_asks_instead_of_answering_the_total(real_planner: OfflinePlanner) -> None:
    plan = real_planner.plan("商户15的平均流失风险", as_of=AS_OF)
    assert plan.intent == "clarify" and plan.query is None
