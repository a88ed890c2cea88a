"""Turn a plan into an Answer: route by intent, run the query, add chart and finding."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chatbi.answer.types import Answer
from chatbi.errors import RefusedError
from chatbi.sql.policy import Role

if TYPE_CHECKING:
    import pandas as pd

    from chatbi.answer.pipeline import Pipeline, _Timer
    from chatbi.semantic.query import SemanticQuery


def respond(pipeline: Pipeline, text: str, *, conversation: Any, role: Role, as_of: Any,
            timer: _Timer, answer: Answer) -> Answer:
    """Plan the question and fill ``answer`` according to the plan's intent."""
    from chatbi.answer.alerts import is_alerts_question

    started = time.perf_counter()
    refuse_other_merchant(text, role)
    if _relation(pipeline, text, conversation=conversation, role=role, as_of=as_of, timer=timer, answer=answer):
        return answer
    if _transition(pipeline, text, role=role, as_of=as_of, timer=timer, answer=answer):
        return answer
    planner = pipeline.planner
    if getattr(planner, "name", "offline") == "llm":
        plan = planner.plan(text, as_of=as_of, conversation=conversation, role=role)
    else:
        plan = planner.plan(text, as_of=as_of, conversation=conversation, role=role)
    started = timer.stage("plan", started)
    refuse_other_merchant("", role, plan)  # a shop said by its name is another merchant too
    answer.planner = getattr(plan, "planner", "offline")
    for key, value in (getattr(plan, "llm_stats", None) or {}).items():
        timer.timings[key] = float(value)
    answer.language = plan.language
    answer.intent = plan.intent
    answer.time_range_text = plan.time_text
    answer.notes.extend(getattr(plan, "notes", ()) or ())
    answer.interpretation = interpretation_of(plan, pipeline.layer)
    if plan.intent in ("clarify", "query") and _asks_for_alerts(plan, text, is_alerts_question):
        _alerts(pipeline, plan, role=role, answer=answer)
    elif plan.intent in ("clarify", "refuse"):
        code = "refused" if plan.intent == "refuse" else "unclear_question"
        answer.error = {"code": code, "message": plan.message or ""}
        answer.finding = plan.message
        answer.followups = pipeline.starter_questions(plan.language)[:3]
    elif plan.intent == "definition":
        _definitions(pipeline, plan, answer)
    elif plan.intent == "why":
        _why(pipeline, plan, text, role=role, as_of=as_of, answer=answer)
    elif plan.intent == "copy" and plan.copy_request is not None:
        _copy(pipeline, plan, role=role, as_of=as_of, answer=answer)
    elif plan.intent == "query" and getattr(plan, "sql", None):
        # the model writes DuckDB SQL (prompts/plan_system.md); the guard writes it for the engine
        respond_sql(pipeline, plan.sql, role=role, timer=timer, answer=answer, dialect="duckdb")
    elif plan.query is not None:
        from chatbi.answer.followups import suggest_followups

        run_query(pipeline, plan.query, role=role, as_of=as_of, timer=timer, answer=answer)
        answer.followups = suggest_followups(plan.query, pipeline.layer, answer.language)
    if "sql" not in timer.timings:  # why/copy/alerts: their queries count as SQL time
        timer.stage("sql", started)
    return answer


def interpretation_of(plan: Any, layer: Any) -> dict[str, Any] | None:
    """The plan's interpretation as JSON (built from its query when the planner gave none)."""
    from chatbi.planner.interpretation import interpret

    found = getattr(plan, "interpretation", None)
    if found is None and getattr(plan, "intent", None) in ("query", "why", "copy", "definition"):
        found = interpret(plan, layer)
    return found.to_dict() if found is not None and found.text else None


def refuse_other_merchant(text: str, role: Role, plan: Any = None) -> None:
    """A merchant role naming another merchant is refused with the reason (the guard would
    only show the caller's own rows, which would read as the other merchant's numbers).
    The ids are found as the planner finds them (``chatbi.planner.merchant_refs``), and in
    the merchant filters of ``plan`` (a shop said by its name)."""
    from chatbi.planner.merchant_refs import find_merchant_refs

    if not role.is_merchant:
        return
    numbers = [ref.merchant_id for ref in find_merchant_refs(text)]
    query = getattr(plan, "query", None)
    for f in getattr(query, "filters", None) or ():
        if f.dimension == "merchant_id" and f.op in ("eq", "in"):
            numbers.extend(v for v in (f.value if isinstance(f.value, list) else [f.value]) if isinstance(v, int))
    for number in numbers:
        if number != role.merchant_id:
            raise RefusedError(
                f"你的角色是商户 {role.merchant_id}，只能查看自己店铺的数据，不能查看商户 {number} 的数据。 / "
                f"As merchant {role.merchant_id} you can only see your own shop's data, not merchant {number}'s.",
                code="other_merchant_refused",
            )


def _relation(pipeline: Pipeline, text: str, *, conversation: Any, role: Role, as_of: Any, timer: _Timer,
              answer: Answer) -> bool:
    """Graph, recommendation and journey questions have their own typed intent. They are
    recorded in the conversation; a follow-up right after one is applied to it (按地区呢
    after a funnel) or answered with a clarifying question, never applied to an older turn."""
    from chatbi.planner.types import Plan
    from chatbi.relations.followup import clarify_message, relation_followup
    from chatbi.relations.intents import detect_relation_question

    started = time.perf_counter()
    values = pipeline.dimension_values()
    request = detect_relation_question(text, answer.language, values)
    previous = conversation.last_relation() if conversation is not None else None
    if request is None and previous is not None and _followup_shaped(pipeline, text, as_of):
        request = relation_followup(previous, text, as_of=as_of, language=answer.language, values=values)
        if request is None:
            message = clarify_message(previous, answer.language)
            conversation.add(text, Plan(intent="clarify", language=answer.language, message=message))  # type: ignore[arg-type]
            answer.intent = "clarify"
            answer.error = {"code": "unclear_question", "message": message}
            answer.finding = message
            answer.followups = pipeline.starter_questions(answer.language)[:3]
            timer.stage("plan", started)
            return True
    if request is None:
        return False
    started = timer.stage("plan", started)
    if conversation is not None:  # recorded first: a follow-up of a refused one is still about it
        conversation.add(text, Plan(intent="query", language=answer.language), relation=request)  # type: ignore[arg-type]
    from chatbi.relations.answers import answer_relation, fill_answer

    result = answer_relation(request, executor=pipeline.executor, policy=pipeline.policy, role=role,
                             layer=pipeline.layer, as_of=as_of, language=request.language)
    fill_answer(answer, result)
    answer.intent = "query"
    timer.stage("sql", started)
    return True


def _transition(pipeline: Pipeline, text: str, *, role: Role, as_of: Any, timer: _Timer,
                answer: Answer) -> bool:
    """"上个月有多少用户从活跃变成沉默": counted from the tag history's month-end snapshots."""
    from chatbi.answer.transitions import (
        answer_transition,
        detect_transition,
        may_be_transition,
        tag_catalog,
    )

    if not may_be_transition(text):  # most questions: no read of the tag history at all
        return False
    started = time.perf_counter()
    try:
        tags, snapshots = tag_catalog(pipeline.executor)
    except Exception:  # noqa: BLE001 - no tag history (not built yet): the planner answers
        return False
    request = detect_transition(text, tags, snapshots, as_of)
    if request is None:
        return False
    started = timer.stage("plan", started)
    frame, finding, sql = answer_transition(request, executor=pipeline.executor,
                                            policy=pipeline.policy, role=role, language=answer.language)
    answer.intent = "query"
    _fill_table(answer, frame)
    answer.finding, answer.sql = finding, sql
    answer.time_range_text = f"{request.start.isoformat()} 至 {request.end.isoformat()}"
    timer.stage("sql", started)
    return True


def _followup_shaped(pipeline: Pipeline, text: str, as_of: Any) -> bool:
    """The offline planner's reading (also behind the LLM planner): 那…呢, 按地区, and by region?"""
    planner = pipeline.planner
    offline = planner if hasattr(planner, "is_followup_text") else getattr(planner, "fallback", None)
    return bool(offline is not None and offline.is_followup_text(text, as_of=as_of))


def _asks_for_alerts(plan: Any, text: str, is_alerts_question: Any) -> bool:
    if is_alerts_question(text):
        return True
    query = plan.query
    return bool(query is not None and list(query.metrics) == ["alert_count"] and not query.dimensions)


def _fill_table(answer: Answer, frame: pd.DataFrame) -> None:
    answer.columns = [str(c) for c in frame.columns]
    answer.rows = [list(row) for row in frame.itertuples(index=False)]


def _alerts(pipeline: Pipeline, plan: Any, *, role: Role, answer: Answer) -> None:
    from chatbi.answer.alerts import answer_alerts, sql_for_alerts

    frame, finding, chart = answer_alerts(executor=pipeline.executor, policy=pipeline.policy,
                                          role=role, language=plan.language, layer=pipeline.layer)
    answer.intent, answer.error = "query", None
    _fill_table(answer, frame)
    answer.finding, answer.chart = finding, chart
    answer.sql = ";\n\n".join(sql_for_alerts(pipeline.policy, role, executor=pipeline.executor))


def _why(pipeline: Pipeline, plan: Any, text: str, *, role: Role, as_of: Any, answer: Answer) -> None:
    from chatbi.answer.insight import detect_cohort, explain_change, time_was_given

    result = explain_change(
        plan.why_request or plan.query, layer=pipeline.layer, policy=pipeline.policy, role=role,
        executor=pipeline.executor, as_of=as_of, language=plan.language, catalog=pipeline.catalog_,
        dimensions=plan.query.dimensions if plan.query else None,
        cohort=detect_cohort(text, plan), time_given=time_was_given(plan),
    )
    _fill_table(answer, result.table())
    answer.sql, answer.chart, answer.finding = result.sql_text, result.chart, result.finding
    answer.definitions, answer.semantic_query = list(result.definitions), result.query
    answer.time_range_text = result.time_text(plan.language)
    if not time_was_given(plan) and result.query.time_range != getattr(plan.why_request, "time_range", None):
        answer.notes = [n for n in answer.notes if n not in (getattr(plan, "notes", ()) or ())]  # not 默认按本月
        if plan.query is not None and answer.interpretation is not None:  # "I read this as" names that period
            import dataclasses

            reread = dataclasses.replace(plan, interpretation=None,
                                         query=plan.query.model_copy(update={"time_range": result.query.time_range}))
            answer.interpretation = interpretation_of(reread, pipeline.layer) or answer.interpretation
    answer.notes.extend(result.notes)


def _copy(pipeline: Pipeline, plan: Any, *, role: Role, as_of: Any, answer: Answer) -> None:
    from chatbi.answer.copywriter import write_copy

    settings = pipeline.settings
    result = write_copy(plan.copy_request, layer=pipeline.layer, policy=pipeline.policy, role=role,
                        executor=pipeline.executor, as_of=as_of, language=plan.language,
                        catalog=pipeline.catalog_,
                        brand=settings.brand_en if plan.language == "en" else settings.brand)
    _fill_table(answer, result.profile_table(plan.language))
    answer.copy, answer.finding = list(result.items), result.finding
    answer.sql, answer.semantic_query = result.sql_text, result.query
    answer.notes.extend(result.notes)


def _definitions(pipeline: Pipeline, plan: Any, answer: Answer) -> None:
    names = list(plan.definitions)
    answer.definitions = [pipeline.catalog_.metric_definition(name) for name in names]
    if answer.language == "en":
        parts = [f"{d.label}: {d.description} ({d.sql})" for d in answer.definitions]
    else:
        parts = [f"{d.label}：{d.description}（{d.sql}）" for d in answer.definitions]
    answer.finding = "\n".join(parts) if parts else None


def run_query(pipeline: Pipeline, query: SemanticQuery, *, role: Role, as_of: Any,
              timer: _Timer, answer: Answer) -> pd.DataFrame:
    """Compile, guard, execute; then chart and finding. Returns the result frame."""
    from chatbi.answer.charts import build_chart
    from chatbi.answer.context import ChartContext
    from chatbi.answer.findings import finding_for
    from chatbi.answer.labels import label_frame
    from chatbi.semantic.compiler import compile_query
    from chatbi.sql.run import run_guarded

    started = time.perf_counter()
    from chatbi.sql.engines import dialect_of

    compiled = compile_query(query, pipeline.layer, as_of=as_of, dialect=dialect_of(pipeline.executor))
    guarded, result = run_guarded(compiled.sql, executor=pipeline.executor, policy=pipeline.policy,
                                  role=role, max_rows=pipeline.settings.max_rows)
    started = timer.stage("sql", started)
    answer.semantic_query = query
    answer.sql = guarded.sql
    if guarded.probe_sql:  # groups below the minimum size left out: say so (issue 18)
        answer.notes.extend(n for n in guarded.notes if "fewer than" in n)
    answer.columns = list(result.columns)
    answer.rows = [list(row) for row in result.rows]
    answer.truncated = result.truncated
    answer.definitions = [pipeline.catalog_.metric_definition(m) for m in query.metrics]
    answer.notes.extend(getattr(compiled, "notes", ()) or ())
    frame = label_frame(result.to_frame(), pipeline.layer, answer.language)
    ctx = ChartContext.from_layer(pipeline.layer, query=query, language=answer.language,
                                  time_text=answer.time_range_text, truncated=result.truncated)
    chart = build_chart(frame, ctx)
    answer.chart = chart.spec
    answer.notes.extend(chart.notes)
    started = timer.stage("chart", started)
    candidate = None
    if getattr(pipeline.planner, "text_enabled", False):
        from chatbi.answer.facts import compute_facts

        candidate = pipeline.planner.write_finding_text(
            compute_facts(frame, ctx), question=answer.question, language=answer.language)
    answer.finding = finding_for(frame, ctx, candidate=candidate)
    timer.stage("finding", started)
    return frame


def respond_sql(pipeline: Pipeline, sql: str, *, role: Role, timer: _Timer, answer: Answer,
                dialect: str | None = None) -> Answer:
    """Guard and run hand-written SQL (in ``dialect``, default the engine's); no planner, no
    semantic query. For merchant roles an engine error is not quoted (it could show a value
    from a row the merchant may not see)."""
    from chatbi.sql.run import run_guarded

    started = time.perf_counter()
    guarded, result = run_guarded(sql, executor=pipeline.executor, policy=pipeline.policy, role=role,
                                  max_rows=pipeline.settings.max_rows, dialect=dialect)
    timer.stage("sql", started)
    answer.sql = guarded.sql
    answer.columns = list(result.columns)
    answer.rows = [list(row) for row in result.rows]
    answer.truncated = result.truncated
    answer.notes.extend(guarded.notes)
    return answer
