"""Judge one answer: its outcome, given the turn's gold result or expected intent.

Outcomes:

- ``correct``: the result matches the gold result;
- ``clarified_correctly`` / ``refused_correctly`` / ``intent_met``: an expected clarify,
  refuse, or definition/why/copy intent was met (with the expected metrics, when given);
- ``clarified`` / ``refused``: asked back or refused although an answer (or another intent)
  was expected — a miss, but not a wrong number;
- ``wrong``: answered with a result that does not match the gold, or answered where a
  clarification or refusal was expected — a confident wrong answer;
- ``error``: the product failed (an exception, a compile or SQL error, a timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatbi.eval.compare import compare_results
from chatbi.eval.format import Turn

CORRECT_OUTCOMES = ("correct", "clarified_correctly", "refused_correctly", "intent_met")
OUTCOMES = (*CORRECT_OUTCOMES, "clarified", "refused", "wrong", "error")
#: error codes that mean the product broke, not that it chose to clarify or refuse
PRODUCT_ERROR_CODES = frozenset({
    "internal_error", "compile_error", "sql_error", "sql_parse_error", "query_timeout",
    "warehouse_error", "semantic_layer_invalid", "llm_error",
})


@dataclass(frozen=True)
class GoldResult:
    """The gold query's result (or the reason it could not run)."""

    columns: list[str]
    rows: list[tuple]
    error: str | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: str
    detail: str = ""


def judge(turn: Turn, answer: Any, gold: GoldResult | None, tolerance: float) -> Verdict:
    """The outcome of ``answer`` (a chatbi Answer) for ``turn``."""
    intent = getattr(answer, "intent", None)
    error = getattr(answer, "error", None) or None
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    if code in PRODUCT_ERROR_CODES:
        return Verdict("error", f"{code}: {message}")
    if turn.has_gold:
        return _judge_gold(turn, answer, gold, intent, tolerance, message)
    return _judge_expected(turn, answer, intent, message)


def _judge_gold(turn: Turn, answer: Any, gold: GoldResult | None, intent: str | None,
                tolerance: float, message: str) -> Verdict:
    if gold is None or gold.error is not None:
        return Verdict("error", f"gold SQL failed: {gold.error if gold else 'not run'}")
    if intent == "clarify":
        return Verdict("clarified", message)
    if intent == "refuse":
        return Verdict("refused", message)
    if intent not in ("query", "why"):
        return Verdict("wrong", f"answered with intent {intent}, expected a result")
    if getattr(answer, "truncated", False):
        return Verdict("wrong", f"the answer was truncated at {len(answer.rows)} rows")
    verdict = compare_results(
        gold.columns, gold.rows, list(answer.columns), list(answer.rows),
        order_matters=turn.order_matters, order_key=turn.order_key, tolerance=tolerance,
    )
    if verdict.ok:
        return Verdict("correct")
    return Verdict("wrong", verdict.reason)


def _judge_expected(turn: Turn, answer: Any, intent: str | None, message: str) -> Verdict:
    expected = turn.expect
    if intent in expected:
        missing = _missing_metrics(turn, answer, intent)
        if missing:
            return Verdict("wrong", f"{intent} about {missing[1]}, expected {list(turn.expect_metrics)}")
        if intent == "clarify":
            return Verdict("clarified_correctly", message)
        if intent == "refuse":
            return Verdict("refused_correctly", message)
        return Verdict("intent_met")
    if intent == "clarify":
        return Verdict("clarified", f"expected {'/'.join(expected)}; clarified: {message}")
    if intent == "refuse":
        return Verdict("refused", f"expected {'/'.join(expected)}; refused: {message}")
    return Verdict("wrong", f"expected {'/'.join(expected)}, answered with intent {intent}")


def _missing_metrics(turn: Turn, answer: Any, intent: str) -> tuple[list[str], list[str]] | None:
    """(expected, got) when the definition/why answer is about other metrics."""
    if not turn.expect_metrics:
        return None
    if intent == "definition":
        got = [getattr(d, "name", None) for d in getattr(answer, "definitions", []) or []]
    else:
        query = getattr(answer, "semantic_query", None)
        got = list(query.metrics) if query is not None else []
    if all(m in got for m in turn.expect_metrics):
        return None
    return list(turn.expect_metrics), [g for g in got if g]
