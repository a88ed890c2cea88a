"""Relationship answers are turns of the conversation: a follow-up right after one is applied
to it or answered with a clarifying question, never silently applied to an older turn."""

from __future__ import annotations

import math
from typing import Any

import pytest


def _rows(answer: Any) -> list[list[Any]]:
    """Rows with NaN as None (NaN never equals itself)."""
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in answer.rows]


def _ask_all(pipeline: Any, questions: list[str]) -> list[Any]:
    conversation = pipeline.new_conversation()
    return [pipeline.ask(q, conversation=conversation) for q in questions]


def _fresh(pipeline: Any, question: str) -> Any:
    return pipeline.ask(question, conversation=pipeline.new_conversation())


def test_the_relation_turn_is_recorded(tiny_pipeline: Any) -> None:
    conversation = tiny_pipeline.new_conversation()
    tiny_pipeline.ask("各渠道的GMV", conversation=conversation)
    tiny_pipeline.ask("上个月从浏览到购买的转化漏斗", conversation=conversation)
    assert len(conversation) == 2
    assert conversation.last_relation() is not None and conversation.last_relation().kind == "funnel"
    assert conversation.last_answerable() is None  # the GMV turn is no longer what a follow-up changes


def test_a_breakdown_followup_applies_to_the_funnel(tiny_pipeline: Any) -> None:
    *_, followup = _ask_all(tiny_pipeline, ["各渠道的GMV", "上个月从浏览到购买的转化漏斗", "按地区呢"])
    assert followup.error is None and followup.intent == "query"
    assert "region" in followup.columns and "gmv" not in followup.columns and "channel" not in followup.columns
    expected = _fresh(tiny_pipeline, "上个月按地区的转化漏斗")
    assert followup.columns == expected.columns and _rows(followup) == _rows(expected)
    assert followup.time_range_text == expected.time_range_text


def test_a_time_followup_replaces_the_funnels_time(tiny_pipeline: Any) -> None:
    *_, followup = _ask_all(tiny_pipeline, ["show the conversion funnel last month", "what about this year?"])
    assert followup.error is None
    assert followup.time_range_text and followup.time_range_text.startswith("this year = 2026-01-01")
    assert _rows(followup) == _rows(_fresh(tiny_pipeline, "show the conversion funnel this year"))


def test_a_merchant_followup_replaces_the_merchant(tiny_pipeline: Any) -> None:
    first, followup = _ask_all(tiny_pipeline, ["和商户12共享客户最多的商户", "那商户15呢"])
    assert followup.error is None and _rows(followup) != _rows(first)
    assert _rows(followup) == _rows(_fresh(tiny_pipeline, "和商户15共享客户最多的商户"))


@pytest.mark.parametrize(("before", "relation", "followup", "word", "after"), [
    ("各渠道的GMV", "哪个KOL的粉丝购买力最强？", "按地区呢", "KOL", "GMV呢"),
    ("各渠道的GMV", "和商户12共享客户最多的商户", "按渠道呢", "共享客户", "订单数呢"),
    ("GMV by channel", "which KOL's followers spend the most?", "by region?", "KOL", "and GMV?"),
])
def test_a_followup_the_relation_cannot_take_asks_instead(tiny_pipeline: Any, before: str, relation: str,
                                                          followup: str, word: str, after: str) -> None:
    conversation = tiny_pipeline.new_conversation()
    tiny_pipeline.ask(before, conversation=conversation)
    tiny_pipeline.ask(relation, conversation=conversation)
    answer = tiny_pipeline.ask(followup, conversation=conversation)
    assert answer.intent == "clarify" and answer.error and answer.error["code"] == "unclear_question"
    assert word in answer.error["message"] and not answer.rows
    # the next short question is not applied to the older by-channel turn either
    assert "channel" not in tiny_pipeline.ask(after, conversation=conversation).columns


def test_a_complete_question_after_a_relation_starts_afresh(tiny_pipeline: Any) -> None:
    answers = _ask_all(tiny_pipeline, ["各渠道的GMV", "上个月从浏览到购买的转化漏斗", "上个月各大区的GMV", "按渠道呢"])
    complete, followup = answers[2], answers[3]
    assert complete.columns == ["region", "gmv"]
    assert followup.columns == ["region", "channel", "gmv"]  # the follow-up changes the newest planner turn
