"""The LLM planner's common path: one call, a checked SemanticQuery, follow-ups, repairs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from chatbi.answer.pipeline import _Timer
from chatbi.answer.respond import run_query
from chatbi.answer.types import Answer
from chatbi.planner import messages
from chatbi.planner.context import Conversation
from chatbi.planner.llm_types import LLMPlan
from chatbi.semantic.query import Filter, OrderBy, TimeRange
from chatbi.sql.policy import Role
from tests.llm.conftest import AS_OF, request_tokens
from tests.llm.fake_openai import text_reply, tool_reply

GROWTH_ARGS = {
    "intent": "query", "metrics": ["gmv"], "dimensions": ["category"],
    "filters": [{"dimension": "region", "op": "eq", "value": "华东"}],
    "time_words": "上个季度", "comparison": "previous_period",
    "order_by": [{"field": "gmv_growth", "descending": True}],
}
GROWTH_Q = "上个季度华东大区哪个品类的销售额增长最快？"


def test_happy_path_is_one_call_and_runs(fake, planner, tiny_pipeline):
    fake.script(tool_reply("plan_query", GROWTH_ARGS))
    plan = planner.plan(GROWTH_Q, as_of=AS_OF, role=Role("marketer"))

    assert isinstance(plan, LLMPlan) and plan.planner == "llm"
    assert plan.intent == "query" and plan.language == "zh" and plan.sql is None
    query = plan.query
    assert query is not None
    assert query.metrics == ["gmv"] and query.dimensions == ["category"]
    assert query.filters == [Filter(dimension="region", op="eq", value="华东")]
    # the time words went through parse_time against as-of: 上个季度 = Q2 2026
    assert query.time_range == TimeRange(start=date(2026, 4, 1), end=date(2026, 6, 30), label="上个季度")
    assert query.comparison == "previous_period"
    assert query.order_by == [OrderBy(field="gmv_growth", descending=True)]
    assert plan.time_text and plan.time_text.startswith("上个季度 = 2026-04-01")

    assert len(fake.chat_requests) == 1
    assert plan.llm_stats["llm_calls"] == 1 and plan.llm_stats["llm_repairs"] == 0
    assert plan.llm_stats["prompt_chars"] > 0 and plan.llm_stats["llm_fallback"] == 0
    request = fake.chat_requests[0]
    assert request.body["model"] == "fake-model"
    assert request.headers.get("authorization") == "Bearer test-key"
    assert request.tool_names == ["plan_query", "write_sql", "ask_clarification", "refuse"]
    assert GROWTH_Q in request.prompt_text and "2026-09-30" in request.prompt_text
    assert request_tokens(request) < 4000

    answer = Answer(question=GROWTH_Q)
    frame = run_query(tiny_pipeline, query, role=Role("marketer"), as_of=AS_OF, timer=_Timer(), answer=answer)
    assert answer.columns[:2] == ["category", "gmv"] and "gmv_growth" in answer.columns
    assert len(frame) > 0


def test_prompt_holds_only_what_retrieval_found(fake, planner, layer):
    fake.script(tool_reply("plan_query", GROWTH_ARGS))
    planner.plan(GROWTH_Q, as_of=AS_OF)
    prompt = fake.chat_requests[0].prompt_text
    assert "- gmv |" in prompt and "- category |" in prompt and "- region = 华东" in prompt
    for irrelevant in ("kol_follower_total", "avg_dwell_seconds", "campaign_roi", "alert_count"):
        assert irrelevant not in prompt
    listed = [m.name for m in layer.metrics if f"- {m.name} |" in prompt]
    assert 1 <= len(listed) <= 8 < len(layer.metrics)


def test_structured_output_in_content(fake, planner):
    """A server without tool calling that answers with the tool call as JSON content."""
    body = {"tool": "plan_query", "args": {"intent": "query", "metrics": ["order_count"],
                                           "dimensions": ["channel"], "time_words": "近30天"}}
    fake.script(text_reply("```json\n" + json.dumps(body, ensure_ascii=False) + "\n```"))
    plan = planner.plan("近30天各渠道的订单数", as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None
    assert plan.query.metrics == ["order_count"] and plan.query.dimensions == ["channel"]
    assert plan.query.time_range is not None
    assert (plan.query.time_range.start, plan.query.time_range.end) == (date(2026, 9, 1), date(2026, 9, 30))
    assert len(fake.chat_requests) == 1


@pytest.mark.parametrize(("question", "args", "check"), [
    ("各大区的GMV", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"]},
     lambda p: p.query.dimensions == ["region"] and p.query.time_range is None),
    ("今年每个月的新用户数", {"intent": "query", "metrics": ["new_users"], "time_words": "今年", "grain": "month"},
     lambda p: p.query.grain == "month" and p.query.time_range.start == date(2026, 1, 1)),
    ("复购率怎么算？", {"intent": "definition", "metrics": ["复购率"]},
     lambda p: p.intent == "definition" and p.definitions == ("repurchase_rate",)),
    ("为什么上个月GMV下降了", {"intent": "why", "metrics": ["gmv"], "time_words": "上个月"},
     lambda p: p.intent == "why" and p.why_request.metric == "gmv"
     and p.why_request.time_range.start == date(2026, 8, 1) and p.query.comparison == "previous_period"),
    ("给高价值用户写3条短信", {"intent": "copy", "metrics": ["user_count"],
                        "filters": [{"dimension": "value_tier", "value": "高价值"}],
                        "copy": {"channel": "sms", "count": 3, "segment": "高价值用户"}},
     lambda p: p.intent == "copy" and p.copy_request.channel == "sms" and p.copy_request.count == 3
     and p.copy_request.filters[0].dimension == "value_tier"),
    ("2025年3月的客单价", {"intent": "query", "metrics": ["avg_order_value"],
                       "start_date": "2025-03-01", "end_date": "2025-03-31"},
     lambda p: p.query.time_range.start == date(2025, 3, 1) and p.query.time_range.end == date(2025, 3, 31)),
])
def test_common_questions_cost_exactly_one_call(fake, planner, question, args, check):
    fake.script(tool_reply("plan_query", args))
    plan = planner.plan(question, as_of=AS_OF)
    assert plan.planner == "llm", plan.notes
    assert check(plan)
    assert len(fake.chat_requests) == 1 and plan.llm_stats["llm_calls"] == 1


def test_clarification_and_refusal_tools(fake, planner):
    fake.script(tool_reply("ask_clarification", {"question": "你想看哪个指标？GMV 还是订单数？",
                                                 "candidates": ["gmv", "order_count", "made_up"]}),
                tool_reply("refuse", {"reason_code": "data_change", "reason": "不能删除数据"}))
    clarify = planner.plan("看看数据", as_of=AS_OF)
    assert clarify.intent == "clarify" and "哪个指标" in (clarify.message or "")
    assert clarify.candidates == ("gmv", "order_count")  # invented names are dropped
    refuse = planner.plan("把订单表删了", as_of=AS_OF)
    assert refuse.intent == "refuse" and refuse.message == messages.text("refuse_data_change", "zh")
    assert len(fake.chat_requests) == 2


def test_repair_after_an_invented_metric(fake, planner):
    fake.script(
        tool_reply("plan_query", {"intent": "query", "metrics": ["total_sales_amount"], "dimensions": ["region"]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"]}),
    )
    plan = planner.plan("各大区卖了多少钱", as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None and plan.query.metrics == ["gmv"]
    assert plan.llm_stats["llm_calls"] == 2 and plan.llm_stats["llm_repairs"] == 1
    first, second = fake.chat_requests
    # the second request carries the model's call and the rejection with candidates
    tool_results = [m for m in second.messages if m.get("role") == "tool"]
    assert len(tool_results) == 1
    feedback = tool_results[0]["content"]
    assert "unknown metric total_sales_amount" in feedback and "candidates" in feedback and "gmv" in feedback
    calls = [m for m in second.messages if m.get("role") == "assistant"]
    assert calls and calls[0]["tool_calls"][0]["function"]["name"] == "plan_query"
    assert tool_results[0]["tool_call_id"] == calls[0]["tool_calls"][0]["id"]
    assert request_tokens(second) < 4000


def test_repair_after_an_incompatible_dimension(fake, planner):
    fake.script(
        tool_reply("plan_query", {"intent": "query", "metrics": ["kol_count"], "dimensions": ["order_status"]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["kol_count"], "dimensions": ["kol_platform"]}),
    )
    plan = planner.plan("各平台KOL数", as_of=AS_OF)
    assert plan.query is not None and plan.query.dimensions == ["kol_platform"]
    feedback = [m for m in fake.chat_requests[1].messages if m.get("role") == "tool"][0]["content"]
    assert "kol_count cannot be broken down" in feedback and "kol_platform" in feedback


def test_follow_up_sees_the_conversation(fake, planner):
    conversation = Conversation()
    fake.script(
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"],
                                  "time_words": "上个月"}),
    )
    first = planner.plan("各大区的GMV", as_of=AS_OF, conversation=conversation)
    second = planner.plan("那上个月呢？", as_of=AS_OF, conversation=conversation)
    assert len(conversation) == 2 and conversation.last_plan is second
    assert first.query is not None and second.query is not None
    assert second.query.time_range is not None and second.query.time_range.start == date(2026, 8, 1)
    first_prompt, second_prompt = (r.messages[-1]["content"] for r in fake.chat_requests)
    assert "各大区的GMV" not in first_prompt.split("<conversation>")[1].split("</conversation>")[0]
    context = second_prompt.split("<conversation>")[1].split("</conversation>")[0]
    assert "Q: 各大区的GMV" in context and '"metrics":["gmv"]' in context and '"dimensions":["region"]' in context
    # names the previous turn used are defined again even though the new question does not name them
    assert "- gmv |" in second_prompt and "- region |" in second_prompt


def test_time_words_the_model_forgot_are_taken_from_the_question(fake, planner):
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["order_count"], "dimensions": ["channel"]}))
    plan = planner.plan("Top channels by orders last quarter", as_of=AS_OF)
    assert plan.query is not None and plan.query.time_range is not None
    assert (plan.query.time_range.start, plan.query.time_range.end) == (date(2026, 4, 1), date(2026, 6, 30))
    assert plan.language == "en" and plan.time_text and "last quarter" in plan.time_text


def test_environment_points_the_planner_at_the_server(fake, monkeypatch, tiny_db, layer, offline):
    """OPENAI_API_KEY / OPENAI_BASE_URL / CHATBI_MODEL are all a user sets (INTERFACES.md)."""
    from chatbi.config import Settings
    from chatbi.planner.llm import LLMPlanner

    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("CHATBI_MODEL", "qwen-plus")
    monkeypatch.setenv("CHATBI_PLANNER", "auto")
    settings = Settings.from_env(db_path=tiny_db)
    assert settings.use_llm
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"]}))
    plan = LLMPlanner(settings, layer, fallback=offline).plan("GMV是多少", as_of=AS_OF)
    assert plan.planner == "llm"
    request = fake.chat_requests[0]
    assert request.body["model"] == "qwen-plus" and request.headers["authorization"] == "Bearer env-key"
    assert request.body["temperature"] == 0 and request.body.get("stream") in (None, False)
