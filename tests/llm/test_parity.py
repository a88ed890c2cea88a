"""The LLM planner at parity with the offline planner's constructions and rules.

Through the real scripted OpenAI-compatible server (only the model's words are faked):
part of a whole (``share_part``), per-period averages (``per_period``) and people counted by
how often they ordered (``count_as``) are checked, compiled and run on the tiny DuckDB
warehouse, their numbers compared with hand-written SQL; a question about something the
data does not hold is refused whatever the model planned; invented values are sent back and
asked about; every plan carries the interpretation module's reading; failed, refused and
unrelated turns never reach the model.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chatbi.answer.pipeline import Pipeline
from chatbi.planner import messages
from chatbi.planner.context import Conversation
from chatbi.planner.interpretation import interpret
from chatbi.planner.llm_rules import not_in_data_message
from chatbi.semantic.query import Filter
from tests.llm.conftest import AS_OF
from tests.llm.fake_openai import tool_reply

SHARE_Q = "沉默用户里男性占几成"
SHARE_ARGS = {"intent": "query", "metrics": ["user_count"],
              "filters": [{"dimension": "lifecycle_stage", "op": "eq", "value": "沉默"}],
              "share_part": {"dimension": "gender", "value": "男"}}
PER_DAY_Q = "上个月平均每天卖多少钱"
PER_DAY_ARGS = {"intent": "query", "metrics": ["gmv"], "time_words": "上个月", "per_period": "day"}
COUNT_Q = "下单3次以上的用户有多少"
COUNT_ARGS = {"intent": "query", "metrics": ["order_count"], "dimensions": ["user_id"],
              "having": [{"metric": "order_count", "op": "gte", "value": 3}], "count_as": "buyer_count"}


@pytest.fixture(scope="module")
def llm_pipeline(llm_settings, planner):
    pipeline = Pipeline(replace(llm_settings, llm_timeout_s=5.0))
    pipeline._planner = planner  # the session's LLM planner (no retrieval index to build here)
    yield pipeline
    pipeline.close()


def scalar(tiny_pipeline, sql: str) -> float:
    rows = tiny_pipeline.executor.run(sql, max_rows=10).rows
    assert len(rows) == 1
    return float(rows[0][0])


def only_row(answer: dict) -> dict:
    assert answer["error"] is None, answer["error"]
    assert len(answer["rows"]) == 1, answer["rows"]
    return dict(zip(answer["columns"], answer["rows"][0], strict=True))


def feedback(fake, index: int = 1) -> str:
    return [m for m in fake.chat_requests[index].messages if m.get("role") == "tool"][0]["content"]


# ---------------------------------------------------------------------- the three constructions
def test_share_part_plan_runs_with_the_right_share(fake, llm_pipeline, tiny_pipeline):
    fake.script(tool_reply("plan_query", SHARE_ARGS))
    answer = llm_pipeline.ask(SHARE_Q, as_of=AS_OF).to_dict()
    assert answer["planner"] == "llm" and len(fake.chat_requests) == 1
    query = answer["semantic_query"]
    assert query["share_part"] == {"dimension": "gender", "op": "eq", "value": "男"}
    assert query["share_of_total"] is True and query["dimensions"] == ["gender"]
    row = only_row(answer)
    men, share = scalar(tiny_pipeline, """
        SELECT COUNT(*) FROM users u JOIN user_profile p ON u.user_id = p.user_id
        WHERE p.lifecycle_stage = '沉默' AND u.gender = '男'"""), scalar(tiny_pipeline, """
        SELECT COUNT(*) FILTER (WHERE u.gender = '男') * 1.0 / COUNT(*)
        FROM users u JOIN user_profile p ON u.user_id = p.user_id WHERE p.lifecycle_stage = '沉默'""")
    assert men > 0 and 0 < share < 1
    assert float(row["user_count"]) == men
    assert float(row["user_count_share"]) == pytest.approx(share)
    # the interpretation is the interpretation module's reading of this very query
    assert answer["interpretation"]["text"] == "我理解为：全部时间 · 生命周期阶段：沉默 · 性别：男性 占用户数的比例"


def test_per_period_plan_runs_with_the_right_average(fake, llm_pipeline, tiny_pipeline):
    fake.script(tool_reply("plan_query", PER_DAY_ARGS))
    answer = llm_pipeline.ask(PER_DAY_Q, as_of=AS_OF).to_dict()
    assert answer["planner"] == "llm"
    assert answer["semantic_query"]["per_period"] == "day"
    assert answer["semantic_query"]["time_range"]["start"] == "2026-08-01"
    expected = scalar(tiny_pipeline, """
        SELECT SUM(pay_amount) / 31.0 FROM orders
        WHERE status <> 'cancelled' AND CAST(order_ts AS DATE) BETWEEN DATE '2026-08-01' AND DATE '2026-08-31'""")
    assert expected > 0
    assert float(only_row(answer)["gmv"]) == pytest.approx(expected, rel=1e-6)
    assert "平均每天" in answer["interpretation"]["text"] and "2026-08-01" in answer["interpretation"]["text"]


def test_count_as_plan_counts_the_right_people(fake, llm_pipeline, tiny_pipeline):
    fake.script(tool_reply("plan_query", COUNT_ARGS))
    answer = llm_pipeline.ask(COUNT_Q, as_of=AS_OF).to_dict()
    assert answer["planner"] == "llm" and answer["semantic_query"]["count_as"] == "buyer_count"
    expected = scalar(tiny_pipeline, """
        SELECT COUNT(*) FROM (SELECT user_id FROM orders WHERE status <> 'cancelled'
                              GROUP BY user_id HAVING COUNT(*) >= 3)""")
    assert expected > 0
    assert answer["columns"] == ["buyer_count"] and float(only_row(answer)["buyer_count"]) == expected
    assert answer["interpretation"] and answer["interpretation"]["text"].startswith("我理解为：")


def test_count_as_by_region_puts_the_entity_last(fake, planner, tiny_pipeline):
    """The model may list the entity first: it is moved last (the compiler counts the last
    dimension), and the counts add up to the overall count."""
    args = {**COUNT_ARGS, "dimensions": ["user_id", "region"], "order_by": [{"field": "order_count"}], "limit": 5}
    fake.script(tool_reply("plan_query", args))
    plan = planner.plan("每个大区下单3次以上的用户有多少", as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None
    assert plan.query.dimensions == ["region", "user_id"] and plan.query.limit is None and not plan.query.order_by


# ---------------------------------------------------------------------- checked like every field
def test_invalid_share_part_value_is_sent_back_and_the_retry_runs(fake, planner):
    bad = {**SHARE_ARGS, "share_part": {"dimension": "gender", "value": "外星人"}}
    fake.script(tool_reply("plan_query", bad), tool_reply("plan_query", SHARE_ARGS))
    plan = planner.plan(SHARE_Q, as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None
    assert plan.query.share_part == Filter(dimension="gender", op="eq", value="男")
    text = feedback(fake)
    assert "unknown value '外星人' for dimension gender" in text and "男" in text and "女" in text
    assert plan.llm_stats["llm_repairs"] == 1


def test_an_invalid_share_part_value_the_model_insists_on_is_asked_about(fake, planner):
    bad = {**SHARE_ARGS, "share_part": {"dimension": "gender", "value": "外星人"}}
    fake.script(*[tool_reply("plan_query", bad) for _ in range(3)])
    plan = planner.plan(SHARE_Q, as_of=AS_OF)
    assert plan.planner == "llm" and plan.intent == "clarify" and plan.query is None
    assert "外星人" in (plan.message or "") and "性别" in (plan.message or "") and "男" in (plan.message or "")
    assert len(fake.chat_requests) == 3


@pytest.mark.parametrize(("share_part", "expected"), [
    ({"dimension": "sexuality_of_buyer", "value": "男"}, "unknown dimension sexuality_of_buyer"),
    ("男", "share_part must be an object with a dimension and a value"),
    ({"dimension": "gender"}, "share_part must be an object with a dimension and a value"),
    ({"dimension": "gender", "op": "gt", "value": "男"}, "share_part op must be eq or in"),
])
def test_malformed_share_part_is_sent_back(fake, planner, share_part, expected):
    fake.script(tool_reply("plan_query", {**SHARE_ARGS, "share_part": share_part}), tool_reply("plan_query", SHARE_ARGS))
    plan = planner.plan(SHARE_Q, as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None and plan.query.share_part is not None
    assert expected in feedback(fake)


def test_unknown_count_as_metric_and_bad_per_period_are_sent_back(fake, planner):
    fake.script(tool_reply("plan_query", {**COUNT_ARGS, "count_as": "loyal_people"}), tool_reply("plan_query", COUNT_ARGS),
                tool_reply("plan_query", {**PER_DAY_ARGS, "per_period": "fortnight"}), tool_reply("plan_query", PER_DAY_ARGS))
    counted = planner.plan(COUNT_Q, as_of=AS_OF)
    assert counted.query is not None and counted.query.count_as == "buyer_count"
    assert "unknown metric loyal_people" in feedback(fake, 1)
    averaged = planner.plan(PER_DAY_Q, as_of=AS_OF)
    assert averaged.query is not None and averaged.query.per_period == "day"
    assert "per_period must be one of day, week, month" in feedback(fake, 3)


@pytest.mark.parametrize("odd", [
    {"count_as": [1, 2]}, {"per_period": 7}, {"share_part": {"dimension": ["gender"], "value": {"x": 1}}},
    {"share_part": ["gender", "男"]}, {"having": [{"metric": "order_count", "op": "gte", "value": "many"}]},
])
def test_odd_argument_types_never_crash(fake, planner, odd):
    fake.script(*[tool_reply("plan_query", {**COUNT_ARGS, **odd}) for _ in range(3)])
    plan = planner.plan(COUNT_Q, as_of=AS_OF)  # sent back, then the offline planner answers
    assert plan.intent in ("query", "clarify") and plan.planner in ("llm", "offline")
    assert plan.llm_stats["llm_calls"] >= 1


def test_per_period_of_a_rate_is_asked_about_as_offline(fake, planner):
    args = {"intent": "query", "metrics": ["repurchase_rate"], "time_words": "上个月", "per_period": "day"}
    fake.script(*[tool_reply("plan_query", args) for _ in range(3)])
    plan = planner.plan("上个月平均每天的复购率", as_of=AS_OF)
    assert plan.intent == "clarify" and plan.planner == "llm"
    expected = messages.text("per_period_not_additive", "zh", metric="复购率")
    assert plan.message == expected
    assert "per_period averages only sums and counts" in feedback(fake)


def test_english_value_label_is_mapped_to_the_value(fake, planner):
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"],
                                          "filters": [{"dimension": "region", "value": "east china"}]}))
    plan = planner.plan("GMV in East China", as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None
    assert plan.query.filters == [Filter(dimension="region", op="eq", value="华东")]


def test_schema_describes_the_new_fields(fake, planner):
    fake.script(tool_reply("plan_query", SHARE_ARGS))
    planner.plan(SHARE_Q, as_of=AS_OF)
    tools = {t["function"]["name"]: t["function"] for t in fake.chat_requests[0].body["tools"]}
    fields = tools["plan_query"]["parameters"]["properties"]
    for name in ("share_part", "per_period", "count_as"):
        assert fields[name].get("description"), name
    assert fields["per_period"]["enum"] == ["day", "week", "month"]
    assert "not_in_data" in tools["refuse"]["parameters"]["properties"]["reason_code"]["enum"]


# ---------------------------------------------------------------------- not in the data
def test_not_in_data_is_refused_whatever_the_model_planned(fake, llm_pipeline, layer):
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["user_count"]}))
    answer = llm_pipeline.ask("用户的平均身高是多少", as_of=AS_OF).to_dict()
    concept = next(c for c in layer.not_in_data if c.name == "personal_attributes")
    assert answer["planner"] == "llm" and answer["intent"] == "refuse" and not answer["rows"]
    assert answer["error"]["message"] == not_in_data_message(concept, "身高", "zh")
    assert "性别、年龄" in answer["error"]["message"]
    # the prompt lists the concepts the data does not hold, the one the question names first
    prompt = fake.chat_requests[0].messages[1]["content"]
    section = prompt.split("## Not in the data")[1].split("<data>")[0]
    assert section.strip().splitlines()[1].startswith("- personal_attributes | 个人属性")
    assert "身高" in section and "- logistics |" in section and "- future |" in section


def test_not_in_data_is_refused_even_as_sql(fake, planner):
    fake.script(tool_reply("write_sql", {"sql": "SELECT COUNT(*) AS n FROM orders"}))
    plan = planner.plan("How many shipments were delayed by the courier last month?", as_of=AS_OF)
    assert plan.intent == "refuse" and plan.sql is None and plan.language == "en"
    assert "shipping or logistics data" in (plan.message or "")


def test_the_models_not_in_data_refusal_uses_the_products_words(fake, planner, layer):
    fake.script(tool_reply("refuse", {"reason_code": "not_in_data", "concept": "logistics"}),
                tool_reply("refuse", {"reason_code": "not_in_data", "concept": "company_internals"}),
                tool_reply("refuse", {"reason_code": "not_in_data", "concept": "made up"}))
    found = planner.plan("上个月的快递平均几天到", as_of=AS_OF)
    assert found.intent == "refuse" and found.message == not_in_data_message(layer.not_in_data[1], "快递", "zh")
    named = planner.plan("各店铺的鞋码分布", as_of=AS_OF)  # nothing the detection knows: the model's concept
    concept = next(c for c in layer.not_in_data if c.name == "company_internals")
    assert named.intent == "refuse" and named.message == not_in_data_message(concept, concept.label, "zh")
    unknown = planner.plan("各店铺的鞋码分布", as_of=AS_OF)  # no concept of the layer: ask with real metrics
    assert unknown.intent == "clarify" and unknown.message and "鞋码" not in unknown.message


def test_a_period_after_the_data_is_refused(fake, planner):
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "time_words": "2027年1月"}))
    plan = planner.plan("2027年1月的GMV", as_of=AS_OF)
    assert plan.intent == "refuse" and plan.planner == "llm" and "2026-09-30" in (plan.message or "")


def test_a_copy_topic_is_free_text(fake, planner):
    fake.script(tool_reply("plan_query", {"intent": "copy", "metrics": ["user_count"],
                                          "filters": [{"dimension": "value_tier", "value": "高价值"}],
                                          "copy": {"channel": "sms", "count": 3, "topic": "包邮"}}))
    plan = planner.plan("给高价值用户写3条短信，主题是顺丰包邮快递", as_of=AS_OF)
    assert plan.intent == "copy" and plan.copy_request is not None


# ---------------------------------------------------------------------- interpretation
def test_every_llm_plan_carries_the_interpretation_modules_reading(fake, planner, layer):
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"],
                                          "time_words": "上个季度", "order_by": [{"field": "gmv"}], "limit": 3}))
    plan = planner.plan("上个季度GMV前三的大区", as_of=AS_OF)
    assert plan.planner == "llm" and plan.interpretation is not None
    rebuilt = interpret(replace(plan, interpretation=None), layer)
    assert rebuilt is not None and plan.interpretation.text == rebuilt.text
    assert plan.interpretation.text.startswith("我理解为：上个季度（2026-04-01–2026-06-30） · GMV")


def test_english_interpretation_in_the_answer_json(fake, llm_pipeline):
    args = {"intent": "query", "metrics": ["order_count"], "dimensions": ["channel"], "time_words": "last month",
            "share_part": {"dimension": "channel", "value": "小红书"}}
    fake.script(tool_reply("plan_query", args))
    answer = llm_pipeline.ask("what share of last month's orders came from 小红书", as_of=AS_OF).to_dict()
    assert answer["planner"] == "llm" and answer["error"] is None
    text = answer["interpretation"]["text"]
    assert text.startswith("I read this as: last month (2026-08-01–2026-08-31)") and "share of" in text
    assert json.loads(json.dumps(answer))["interpretation"]["inherited"] == []


# ---------------------------------------------------------------------- conversations that do not leak
def conversation_of(request) -> str:
    return request.messages[-1]["content"].split("<conversation>")[1].split("</conversation>")[0].strip()


def test_only_a_follow_up_sees_the_turn_it_changes(fake, planner):
    conversation = Conversation()
    fake.script(
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"], "time_words": "上个月"}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"], "time_words": "上个月",
                                  "filters": [{"dimension": "gender", "value": "女"}]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["order_count"], "dimensions": ["channel"]}),
    )
    planner.plan("上个月各大区的GMV", as_of=AS_OF, conversation=conversation)
    followup = planner.plan("只看女性", as_of=AS_OF, conversation=conversation)
    fresh = planner.plan("各渠道的订单数", as_of=AS_OF, conversation=conversation)
    assert "Q: 上个月各大区的GMV" in conversation_of(fake.chat_requests[1])
    assert conversation_of(fake.chat_requests[2]) == "(none)"  # a question of its own sees nothing
    assert followup.followup and followup.interpretation.inherited  # what was kept is stated
    assert "沿用上一问" in followup.interpretation.text and "GMV" in followup.interpretation.inherited
    assert not fresh.followup and fresh.interpretation.inherited == ()


def test_failed_and_refused_turns_never_reach_the_model(fake, planner):
    conversation = Conversation()
    fake.script(
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["category"]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["channel"]}),
        tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "time_words": "上个月"}),
    )
    planner.plan("各大区的GMV", as_of=AS_OF, conversation=conversation)
    refused = planner.plan("用户的平均身高是多少", as_of=AS_OF, conversation=conversation)
    assert refused.intent == "refuse"
    after_refusal = planner.plan("那按渠道呢", as_of=AS_OF, conversation=conversation)
    assert conversation_of(fake.chat_requests[2]) == "(none)" and not after_refusal.followup
    conversation.mark_last(failed=True)  # the answer to "按渠道" was an error
    planner.plan("那上个月呢", as_of=AS_OF, conversation=conversation)
    assert conversation_of(fake.chat_requests[3]) == "(none)"
    for request in fake.chat_requests:
        assert "身高" not in conversation_of(request)


def test_an_answer_to_a_clarifying_question_sees_it(fake, planner):
    conversation = Conversation()
    fake.script(tool_reply("ask_clarification", {"candidates": ["gmv", "order_count"]}),
                tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["region"],
                                          "time_words": "上个月"}))
    first = planner.plan("上个月各大区的表现", as_of=AS_OF, conversation=conversation)
    assert first.intent == "clarify"
    planner.plan("GMV", as_of=AS_OF, conversation=conversation)
    context = conversation_of(fake.chat_requests[1])
    assert "Q: 上个月各大区的表现" in context and "ask_clarification" in context
    assert first.message not in context  # the product's clarifying text is not replayed
