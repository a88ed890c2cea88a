"""Values said as a number and a unit (5星, 1 and 2 star) and conversations that keep the
right subject (issue 16): the same shop across turns, a spend word after a segment, a
snapshot metric after a dated turn, and rankings without a missing-value group."""

from __future__ import annotations

import pytest

from chatbi.planner.offline import OfflinePlanner
from tests.planner.conftest import AS_OF, plan_conversation


def _filters(plan) -> set[tuple]:
    assert plan.query is not None, plan
    return {(f.dimension, f.op, tuple(f.value) if isinstance(f.value, list) else f.value) for f in plan.query.filters}


@pytest.mark.parametrize(("question", "op", "value"), [
    ("how many 5 star reviews this year", "eq", 5),
    ("1星和2星的评价数", "in", (1, 2)),
    ("1-2星评价有多少", "between", (1, 2)),
    ("4星及以上的评价数", "gte", 4),
    ("reviews with 3 stars or less last month", "lte", 3),
    ("五星评价有多少条", "eq", 5),
])
def test_a_number_and_a_unit_is_a_value(demo_planner: OfflinePlanner, question: str, op: str, value: object) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.intent == "query", plan
    assert ("review_stars", op, value) in _filters(plan)
    assert plan.query is not None and plan.query.metrics == ["review_count"]
    assert "review_stars" not in plan.query.dimensions


@pytest.mark.parametrize("question", ["share of 1 and 2 star reviews this yr", "1星和2星的评价占比"])
def test_the_unit_values_are_the_part_of_a_share(demo_planner: OfflinePlanner, question: str) -> None:
    plan = demo_planner.plan(question, as_of=AS_OF)
    assert plan.query is not None and plan.query.share_part is not None, plan
    assert (plan.query.share_part.dimension, plan.query.share_part.op, plan.query.share_part.value) == (
        "review_stars", "in", [1, 2])


def test_other_numbers_are_not_read_as_stars(demo_planner: OfflinePlanner) -> None:
    plan = demo_planner.plan("top 5 categories by reviews", as_of=AS_OF)
    assert plan.query is not None and plan.query.limit == 5
    assert not any(f.dimension == "review_stars" for f in plan.query.filters)


def test_a_conversation_about_one_shop_stays_on_it(demo_planner: OfflinePlanner) -> None:
    _, second = plan_conversation(demo_planner, "商户42的粉丝多少", "今年新增关注多少")
    assert second.query is not None and second.query.metrics == ["new_follows"]
    assert ("merchant_id", "eq", 42) in _filters(second)
    assert second.query.time_range is not None and second.query.time_range.start.isoformat() == "2026-01-01"
    assert second.interpretation.inherited, "what was kept is stated"


def test_a_slice_is_not_carried_into_a_question_with_its_own_period(demo_planner: OfflinePlanner) -> None:
    _, second = plan_conversation(demo_planner, "华东的GMV多少", "今年新增用户多少")
    assert second.query is not None and second.query.metrics == ["new_users"]
    assert not second.query.filters


def test_spending_of_an_earlier_segment_is_what_they_paid(demo_planner: OfflinePlanner) -> None:
    *_, third = plan_conversation(demo_planner, "潜力型用户有多少", "只看男的", "他们今年一共花了多少钱")
    assert third.intent == "query" and third.query is not None, third
    assert third.query.metrics == ["gmv"]
    assert {("value_tier", "eq", "潜力型"), ("gender", "eq", "男")} <= _filters(third)


def test_a_snapshot_metric_after_a_dated_turn_is_answered_as_of_now(demo_planner: OfflinePlanner) -> None:
    *_, third = plan_conversation(demo_planner, "高频上新型商户有多少家？", "它们近30天一共上新了多少件？", "其中哪家动销率最高？")
    assert third.intent == "query" and third.query is not None, third
    assert third.query.metrics == ["sell_through_rate"] and third.query.time_range is None
    assert any("快照" in note for note in third.notes)


def test_a_ranking_in_a_followup_leaves_out_the_missing_group(demo_planner: OfflinePlanner) -> None:
    _, second = plan_conversation(demo_planner, "35到39岁的男性用户有多少？", "他们最常买什么品类？")
    assert second.query is not None and second.query.order_by
    group = second.query.dimensions[0]
    assert (group, "ne", None) in _filters(second)
