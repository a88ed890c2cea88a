"""A turn answered outside the planners (a relationship answer) stops follow-ups from
reaching older planner turns; the planner tells follow-up-shaped questions apart."""

from __future__ import annotations

import pytest

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.types import Plan
from tests.planner.conftest import AS_OF

RELATION = object()  # stands for a RelationRequest (the conversation does not look inside)


def test_last_answerable_stops_at_a_relation_turn(real_planner: OfflinePlanner) -> None:
    conversation = Conversation()
    gmv = real_planner.plan("各渠道的GMV", as_of=AS_OF, conversation=conversation)
    assert conversation.last_answerable() is gmv and conversation.last_relation() is None
    conversation.add("从浏览到购买的转化漏斗", Plan(intent="query", language="zh"), relation=RELATION)
    assert conversation.last_answerable() is None and conversation.last_relation() is RELATION

    plan = real_planner.plan("按地区呢", as_of=AS_OF, conversation=conversation)
    assert not plan.followup and (plan.query is None or "channel" not in plan.query.dimensions)
    assert conversation.last_relation() is None  # the newest turn is the planner's now

    real_planner.plan("上个月各大区的GMV", as_of=AS_OF, conversation=conversation)
    plan = real_planner.plan("按渠道呢", as_of=AS_OF, conversation=conversation)
    assert plan.followup and plan.query is not None and plan.query.dimensions == ["region", "channel"]


@pytest.mark.parametrize(("question", "shaped"), [
    ("按地区呢", True), ("上个月呢", True), ("那商户15呢", True), ("by region?", True), ("what about this year?", True),
    ("上个月各大区的GMV", False), ("按渠道看订单数", False), ("GMV by region last month", False), ("删除订单表", False),
])
def test_followup_shaped_questions(real_planner: OfflinePlanner, question: str, shaped: bool) -> None:
    assert real_planner.is_followup_text(question, as_of=AS_OF) is shaped
