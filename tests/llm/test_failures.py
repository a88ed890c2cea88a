"""Graceful failure: every way the model can fail ends in the offline planner, within the timeout."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from chatbi.planner.llm import LLMPlanner
from tests.llm.conftest import AS_OF
from tests.llm.fake_openai import raw, status, text_reply, tool_reply

QUESTION = "各大区的GMV"
FALLBACK_NOTE = "LLM 不可用"


def assert_offline(plan, reason: str) -> None:
    """The offline planner answered the question and the plan says why."""
    assert plan.planner == "offline"
    assert plan.intent == "query" and plan.query is not None and plan.query.metrics == ["gmv"]
    assert plan.query.dimensions == ["region"]
    notes = [n for n in plan.notes if FALLBACK_NOTE in n]
    assert len(notes) == 1 and "used the offline planner" in notes[0] and reason in notes[0], plan.notes
    assert plan.llm_stats["llm_fallback"] == 1


def test_timeout_falls_back_within_the_timeout(fake, make_planner):
    planner = make_planner(timeout=1.0)
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"]}, delay_s=4))
    started = time.monotonic()
    plan = planner.plan(QUESTION, as_of=AS_OF)
    elapsed = time.monotonic() - started
    assert_offline(plan, "timeout")
    assert elapsed < 1.0 + 1.0, elapsed
    assert plan.llm_stats["llm_calls"] == 1


def test_the_timeout_bounds_repairs_too(fake, make_planner):
    """A quick wrong answer, then a slow one: the whole planning still ends at the timeout."""
    planner = make_planner(timeout=1.5)
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["no_such_metric"]}, delay_s=0.8),
                tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"]}, delay_s=4))
    started = time.monotonic()
    plan = planner.plan(QUESTION, as_of=AS_OF)
    assert time.monotonic() - started < 1.5 + 1.0
    assert_offline(plan, "timeout")


@pytest.mark.parametrize(("reply", "reason"), [
    (status(500, "upstream exploded"), "HTTP 500"),
    (status(503, "overloaded"), "HTTP 503"),
    (status(401, "bad key"), "HTTP 401"),
    (status(429, "rate limited"), "HTTP 429"),
    (raw("{this is not json"), "malformed response"),
    (raw('{"id": "x", "object": "chat.completion", "choices": []}'), "malformed response"),
    (raw("<html>502 Bad Gateway</html>", content_type="text/html"), "malformed response"),
    (text_reply(""), "empty reply"),
    (text_reply("GMV 最高的是华东。"), "malformed output"),
    (tool_reply("plan_query", '{"metrics": ["gmv"'), "invalid JSON arguments"),
    (tool_reply("drop_tables", {"all": True}), "unknown tool"),
])
def test_model_failures_fall_back(fake, planner, reply, reason):
    fake.script(reply)
    plan = planner.plan(QUESTION, as_of=AS_OF)
    assert_offline(plan, reason)
    assert len(fake.chat_requests) == 1  # no retry of a failed call (max_retries=0)


def test_connection_refused_falls_back(make_planner, llm_settings, layer, offline):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = replace(llm_settings, openai_base_url=f"http://127.0.0.1:{port}/v1", llm_timeout_s=2.0)
    planner = LLMPlanner(settings, layer, fallback=offline)
    started = time.monotonic()
    plan = planner.plan(QUESTION, as_of=AS_OF)
    assert time.monotonic() - started < 3.0
    assert_offline(plan, "connection error")


def test_persistent_invented_names_fall_back_after_two_repairs(fake, planner):
    bad = {"intent": "query", "metrics": ["revenue_total"], "dimensions": ["region"]}
    fake.script(tool_reply("plan_query", bad), tool_reply("plan_query", bad), tool_reply("plan_query", bad),
                tool_reply("plan_query", bad))
    plan = planner.plan(QUESTION, as_of=AS_OF)
    assert_offline(plan, "invalid output after 2 corrections")
    assert len(fake.chat_requests) == 3 and plan.llm_stats["llm_repairs"] == 2
    assert len(fake.replies) == 1  # the fourth scripted reply was never asked for


def test_fallback_records_the_turn_once(fake, planner):
    from chatbi.planner.context import Conversation

    conversation = Conversation()
    fake.script(status(500))
    planner.plan(QUESTION, as_of=AS_OF, conversation=conversation)
    assert len(conversation) == 1 and conversation.last_plan is not None
    assert conversation.last_plan.query is not None and conversation.last_plan.query.metrics == ["gmv"]


def test_empty_question_needs_no_model(fake, planner):
    plan = planner.plan("   ", as_of=AS_OF)
    assert plan.intent == "clarify" and plan.planner == "offline"
    assert not fake.chat_requests and not any(FALLBACK_NOTE in n for n in plan.notes)


def test_offline_follow_up_after_a_raw_sql_turn(fake, planner):
    """The offline planner cannot change raw SQL: it plans the follow-up as a new question."""
    from chatbi.planner.context import Conversation

    conversation = Conversation()
    fake.script(tool_reply("write_sql", {"sql": "SELECT region, COUNT(*) AS n FROM users GROUP BY region"}),
                status(500))
    first = planner.plan("各大区用户数（直接写SQL）", as_of=AS_OF, conversation=conversation)
    assert first.sql is not None
    second = planner.plan("按渠道呢？", as_of=AS_OF, conversation=conversation)
    assert second.planner == "offline" and any(FALLBACK_NOTE in n for n in second.notes)
    assert len(conversation) == 2 and conversation.turns[0].plan is first
