"""Turn a plan into an Answer: route by intent, run the query, add chart and finding."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chatbi.answer.types import Answer
from chatbi.sql.policy import Role

if TYPE_CHECKING:
    from chatbi.answer.pipeline import Pipeline, _Timer
    from chatbi.semantic.query import SemanticQuery


def respond(pipeline: Pipeline, text: str, *, conversation: Any, role: Role, as_of: Any,
            timer: _Timer, answer: Answer) -> Answer:
    """Plan the question and fill ``answer`` according to the plan's intent."""
    started = time.perf_counter()
    plan = pipeline.planner.plan(text, as_of=as_of, conversation=conversation)
    timer.stage("plan", started)
    answer.language = plan.language
    answer.intent = plan.intent
    answer.time_range_text = plan.time_text
    answer.notes.extend(getattr(plan, "notes", ()) or ())
    if plan.intent in ("clarify", "refuse"):
        code = "refused" if plan.intent == "refuse" else "unclear_question"
        answer.error = {"code": code, "message": plan.message or ""}
        answer.finding = plan.message
        answer.followups = pipeline.starter_questions(plan.language)[:3]
    elif plan.intent == "definition":
        _definitions(pipeline, plan, answer)
    elif plan.intent in ("query", "why", "copy") and plan.query is not None:
        run_query(pipeline, plan.query, role=role, as_of=as_of, timer=timer, answer=answer)
    return answer


def _definitions(pipeline: Pipeline, plan: Any, answer: Answer) -> None:
    names = list(plan.definitions)
    answer.definitions = [pipeline.catalog_.metric_definition(name) for name in names]
    if answer.language == "en":
        parts = [f"{d.label}: {d.description} ({d.sql})" for d in answer.definitions]
    else:
        parts = [f"{d.label}：{d.description}（{d.sql}）" for d in answer.definitions]
    answer.finding = "\n".join(parts) if parts else None


def run_query(pipeline: Pipeline, query: SemanticQuery, *, role: Role, as_of: Any,
              timer: _Timer, answer: Answer) -> Any:
    """Compile, guard, execute; then chart and finding. Returns the result frame."""
    from chatbi.answer.charts import build_chart
    from chatbi.answer.context import ChartContext
    from chatbi.answer.findings import finding_for
    from chatbi.semantic.compiler import compile_query
    from chatbi.sql.guard import guard_sql

    started = time.perf_counter()
    compiled = compile_query(query, pipeline.layer, as_of=as_of)
    guarded = guard_sql(compiled.sql, pipeline.policy, role)
    result = pipeline.executor.run(guarded.sql, max_rows=pipeline.settings.max_rows)
    started = timer.stage("sql", started)
    answer.semantic_query = query
    answer.sql = guarded.sql
    answer.columns = list(result.columns)
    answer.rows = [list(row) for row in result.rows]
    answer.truncated = result.truncated
    answer.definitions = [pipeline.catalog_.metric_definition(m) for m in query.metrics]
    frame = result.to_frame()
    ctx = ChartContext.from_layer(pipeline.layer, query=query, language=answer.language,
                                  time_text=answer.time_range_text, truncated=result.truncated)
    chart = build_chart(frame, ctx)
    answer.chart = chart.spec
    answer.notes.extend(chart.notes)
    started = timer.stage("chart", started)
    answer.finding = finding_for(frame, ctx)
    timer.stage("finding", started)
    return frame


def respond_sql(pipeline: Pipeline, sql: str, *, role: Role, timer: _Timer, answer: Answer) -> Answer:
    """Guard and run hand-written SQL; no planner, no semantic query."""
    from chatbi.sql.guard import guard_sql

    started = time.perf_counter()
    guarded = guard_sql(sql, pipeline.policy, role)
    result = pipeline.executor.run(guarded.sql, max_rows=pipeline.settings.max_rows)
    timer.stage("sql", started)
    answer.sql = guarded.sql
    answer.columns = list(result.columns)
    answer.rows = [list(row) for row in result.rows]
    answer.truncated = result.truncated
    answer.notes.extend(guarded.notes)
    return answer
