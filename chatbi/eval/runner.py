"""Run a question set through a pipeline and judge every answer.

``run_eval(path_or_set, pipeline)`` asks every case's turns in one conversation (so
follow-ups see the earlier turns), runs each gold SQL on the same warehouse, judges the
answers (chatbi.eval.judge) and returns an ``EvalReport``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatbi.errors import ChatBIError
from chatbi.eval.format import Case, QuestionSet, Turn, load_question_set
from chatbi.eval.judge import GoldResult, Verdict, judge
from chatbi.eval.report import LLM_KEYS, EvalReport, QuestionResult

#: progress(done, total, result): called after each scored question
Progress = Callable[[int, int, QuestionResult], None]
GOLD_MAX_ROWS = 100_000


class GoldRunner:
    """Runs gold SQL on the warehouse (read-only), once per distinct statement."""

    def __init__(self, executor: Any):
        self.executor = executor
        self._cache: dict[str, GoldResult] = {}

    def run(self, sql: str) -> GoldResult:
        """Gold SQL is DuckDB text; it is rendered for the executor's engine through sqlglot."""
        if sql not in self._cache:
            try:
                from chatbi.sql.engines import dialect_of, render

                result = self.executor.run(render(sql, dialect_of(self.executor)), max_rows=GOLD_MAX_ROWS)
            except ChatBIError as exc:
                self._cache[sql] = GoldResult([], [], f"{exc.code}: {exc.message}")
            else:
                error = f"more than {GOLD_MAX_ROWS} rows" if result.truncated else None
                self._cache[sql] = GoldResult(list(result.columns), [tuple(r) for r in result.rows], error)
        return self._cache[sql]


def run_eval(path_or_set: str | Path | QuestionSet, pipeline: Any, *,
             progress: Progress | None = None, gold_executor: Any = None) -> EvalReport:
    """Evaluate ``pipeline`` (``Pipeline.ask``) on a question set file, directory or object.

    Gold SQL runs on ``gold_executor`` (default: the pipeline's own), e.g. on the DuckDB file
    while the pipeline answers from the same data loaded into PostgreSQL."""
    question_set = path_or_set if isinstance(path_or_set, QuestionSet) else load_question_set(path_or_set)
    started = time.perf_counter()
    gold = GoldRunner(gold_executor or _gold_executor(pipeline))
    report = EvalReport(results=[], sources=list(question_set.sources), case_count=len(question_set.cases))
    report.as_of_expected = question_set.as_of.isoformat() if question_set.as_of else None
    warehouse_as_of = _warehouse_as_of(pipeline)
    report.as_of_warehouse = warehouse_as_of.isoformat() if warehouse_as_of else None
    if question_set.as_of and warehouse_as_of and question_set.as_of != warehouse_as_of:
        report.warnings.append(
            f"the warehouse's as-of date {warehouse_as_of} differs from the {question_set.as_of} the gold SQL "
            "assumes: questions with relative time words cannot match"
        )
    _warm_up(pipeline)
    total = question_set.question_count
    for case in question_set.cases:
        for result in _run_case(case, pipeline, gold, question_set.tolerance):
            report.results.append(result)
            if progress is not None:
                progress(len(report.results), total, result)
    report.duration_s = time.perf_counter() - started
    return report


def _run_case(case: Case, pipeline: Any, gold: GoldRunner, tolerance: float) -> list[QuestionResult]:
    conversation = pipeline.new_conversation() if hasattr(pipeline, "new_conversation") else None
    results = []
    for index, turn in enumerate(case.turns, start=1):
        results.append(_run_turn(case, index, turn, pipeline, conversation, gold, tolerance))
    return results


def _run_turn(case: Case, index: int, turn: Turn, pipeline: Any, conversation: Any,
              gold: GoldRunner, tolerance: float) -> QuestionResult:
    result = QuestionResult(
        case_id=case.id, turn=index, question=turn.question, language=case.language,
        capability=case.capability, group=case.group, style=case.style, expected="gold" if turn.has_gold else "/".join(turn.expect),
        outcome="error",
    )
    started = time.perf_counter()
    try:
        answer = pipeline.ask(turn.question, conversation=conversation)
    except Exception as exc:  # the product failed: record it and go on with the set
        result.detail = f"{type(exc).__name__}: {exc}"
        result.timings_ms = {"total": (time.perf_counter() - started) * 1000}
        return result
    gold_result = gold.run(turn.gold_sql) if turn.gold_sql else None
    verdict: Verdict = judge(turn, answer, gold_result, tolerance)
    result.outcome, result.detail = verdict.outcome, verdict.detail
    _record_answer(result, answer)
    return result


def _record_answer(result: QuestionResult, answer: Any) -> None:
    result.intent = getattr(answer, "intent", None)
    result.planner = getattr(answer, "planner", None)
    result.columns = list(getattr(answer, "columns", []) or [])
    result.row_count = len(getattr(answer, "rows", []) or [])
    query = getattr(answer, "semantic_query", None)
    if query is not None and hasattr(query, "model_dump"):
        result.semantic_query = query.model_dump(mode="json", exclude_defaults=True)
    result.error = getattr(answer, "error", None)
    timings = dict(getattr(answer, "timings_ms", {}) or {})
    for key in LLM_KEYS:
        value = timings.pop(key, None)
        if value is None:
            value = getattr(answer, key, None)
        if value is not None:
            setattr(result, key, int(value))
    result.timings_ms = {k: float(v) for k, v in timings.items() if isinstance(v, int | float)}


def _gold_executor(pipeline: Any) -> Any:
    executor = getattr(pipeline, "executor", None)
    if executor is not None:
        return executor
    from chatbi.sql.engines import open_executor

    return open_executor(pipeline.settings)


def _warm_up(pipeline: Any) -> None:
    """Load what the pipeline loads on first use (planner, dimension values), so the first
    question's timings measure answering, not start-up."""
    try:
        getattr(pipeline, "planner", None)
    except ChatBIError:
        pass  # the first question will report it


def _warehouse_as_of(pipeline: Any) -> Any:
    default = getattr(pipeline, "default_as_of", None)
    if default is None:
        return None
    try:
        return default()
    except ChatBIError:
        return None
