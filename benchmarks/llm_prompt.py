"""LLM mode: model calls and prompt size per question, against the scripted local server.

The "model" is tests/llm/fake_openai.py (real HTTP on 127.0.0.1). For each question of the
evaluation set the offline planner's plan is turned into the tool call a correct model would
make (plan_query / ask_clarification / refuse) and scripted as the next reply, then the LLM
pipeline answers it. The figures are what the product sends: model calls and prompt
characters (messages + tool schemas, summed over calls; ``Answer.timings_ms``). The
baseline is the prompt without retrieval: the same system prompt, tools and template
carrying every metric, dimension and table of the semantic layer.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.common import Context, Goal, Section, offline_pipeline, percentile, question_turns
from tests.llm.fake_openai import FakeOpenAI, Reply, tool_reply

TOKEN_GOAL = 4000  # chatbi/planner/llm.py: the prompt stays under 4,000 tokens


def reply_for(plan: Any) -> Reply:
    """The tool call a correct model would make for the offline planner's ``plan``."""
    from chatbi.planner.llm_context import query_args

    if plan.intent == "clarify":
        return tool_reply("ask_clarification", {"question": plan.message or "?", "candidates": list(plan.candidates)})
    if plan.intent == "refuse":
        return tool_reply("refuse", {"reason": plan.message or "refused"})
    if plan.intent == "definition":
        return tool_reply("plan_query", {"intent": "definition", "metrics": list(plan.definitions)})
    args = query_args(plan.query, plan.intent) if plan.query else {"intent": plan.intent, "metrics": ["user_count"]}
    if plan.intent == "copy" and plan.copy_request is not None:
        c = plan.copy_request
        args["filters"] = [f.model_dump(mode="json") for f in c.filters]
        args["copy"] = {"channel": c.channel, "count": c.count, "segment": c.segment_label,
                        **({"topic": c.topic} if c.topic else {})}
    return tool_reply("plan_query", args)


def baseline_chars(planner: Any, question: str, as_of: Any) -> int:
    """Characters of a prompt carrying the whole schema (system + template + tools)."""
    from chatbi.planner.llm_context import Selection
    from chatbi.prompts import render
    from chatbi.sql.policy import Role

    role = Role("admin")
    builder = planner.context
    tables = [(t, list(cols)) for t, cols in planner.policy.tables.items()]
    sel = Selection(metrics=planner.catalog.metric_names, dimensions=planner.catalog.dimension_names,
                    tables=tables, question=question)
    system = render("plan_system", planner.settings.prompts_dir, as_of=as_of.isoformat(), role=str(role))
    user = builder._render_user(sel, as_of=as_of, role=role, language="zh")  # the product's own template
    return len(system) + len(user) + len(planner.tools_json)


def measure(ctx: Context, scale: str) -> dict:
    from chatbi.planner.context import Conversation

    db = ctx.warehouse(scale)
    fake = FakeOpenAI().start()
    pipe = offline_pipeline(db, planner="llm", openai_api_key="bench-key", openai_base_url=fake.base_url,
                            model="fake-model", llm_timeout_s=20.0)
    try:
        offline = pipe.planner.fallback
        as_of = pipe.default_as_of()
        records = []
        ctx.log(f"  llm {scale}: asking the evaluation set through the scripted server")
        for turns in question_turns(ctx.max_cases):
            conv, conv_offline = pipe.new_conversation(), Conversation()
            for question in turns:
                plan = offline.plan(question, as_of=as_of, conversation=conv_offline)
                fake.reset()
                fake.script(reply_for(plan))
                answer = pipe.ask(question, conversation=conv)
                t = answer.timings_ms
                same = (answer.semantic_query == plan.query) if plan.query is not None else answer.intent == plan.intent
                records.append({"question": question, "problem": _rejection(fake),
                                "calls": int(t.get("llm_calls", len(fake.chat_requests))),
                                "chars": int(t.get("prompt_chars", 0)), "tokens": int(t.get("prompt_tokens_est", 0)),
                                "planner": answer.planner, "same": bool(same),
                                "baseline": baseline_chars(pipe.planner, question, as_of)})
    finally:
        pipe.close()
        fake.stop()
    return summarise(records)


def _rejection(fake: FakeOpenAI) -> str | None:
    """What the product told the model when it rejected the scripted call (a repair)."""
    if len(fake.chat_requests) < 2:
        return None
    tool = [m for m in fake.chat_requests[1].messages if m.get("role") == "tool"]
    return str(tool[0].get("content", ""))[:200] if tool else "second call without a tool result"


def summarise(records: list[dict]) -> dict:
    chars = [r["chars"] for r in records]
    base = [r["baseline"] for r in records]
    return {
        "questions": len(records), "calls": sum(r["calls"] for r in records),
        "one_call": sum(1 for r in records if r["calls"] == 1),
        "fallbacks": sum(1 for r in records if r["planner"] != "llm"),
        "same_plan": sum(1 for r in records if r["same"]),
        "chars_p50": statistics.median(chars), "chars_p95": percentile(chars, 0.95),
        "chars_mean": statistics.fmean(chars), "tokens_max": max(r["tokens"] for r in records),
        "baseline_p50": statistics.median(base), "baseline_mean": statistics.fmean(base),
        "repaired": [(r["question"], r["problem"]) for r in records if r["calls"] > 1],
    }


def run(ctx: Context) -> Section:
    scale = ctx.light
    section = Section("llm", f"LLM mode: model calls and prompt size ({scale} warehouse, scripted server)")
    section.intro = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    m = measure(ctx, scale)
    n = m["questions"]
    section.header = ["measure", "value"]
    section.rows = [
        ["questions", f"{n}"],
        ["model calls", f"{m['calls']} ({m['calls'] / n:.2f} per question; {m['one_call']} questions in exactly one)"],
        ["answered by the LLM planner (no fallback)", f"{n - m['fallbacks']} of {n}"],
        ["same plan as the offline planner", f"{m['same_plan']} of {n}"],
        ["prompt characters per question, p50 / p95 / mean",
         f"{m['chars_p50']:,.0f} / {m['chars_p95']:,.0f} / {m['chars_mean']:,.0f}"],
        ["largest request, estimated tokens", f"{m['tokens_max']:,}"],
        ["baseline (whole schema in the prompt), characters p50 / mean",
         f"{m['baseline_p50']:,.0f} / {m['baseline_mean']:,.0f}"],
        ["baseline ÷ product (means)", f"{m['baseline_mean'] / m['chars_mean']:.1f}×"],
    ]
    for question, problem in m["repaired"]:
        section.notes.append(f"More than one call: {question} — the product rejected the scripted call: {problem}")
    section.data = m
    one = m["one_call"] == n and not m["fallbacks"]
    section.goals = [
        Goal("LLM: one model call per question, answered by the model", f"{n} of {n} questions",
             f"{m['one_call']} of {n} in one call ({m['calls'] / n:.2f} calls per question), "
             f"{m['fallbacks']} fallbacks", one,
             "" if one else "a scripted plan copied from the offline planner was rejected by the "
             "product's checks (see the notes), so a repair call was made"),
        Goal("LLM: largest prompt", f"< {TOKEN_GOAL:,} estimated tokens", f"{m['tokens_max']:,}",
             m["tokens_max"] < TOKEN_GOAL),
    ]
    return section



