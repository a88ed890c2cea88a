"""Outcomes of one answer: correct, expected intent met, clarified/refused, wrong, error."""

from __future__ import annotations

from chatbi.answer.types import Answer, Definition
from chatbi.eval.format import Turn
from chatbi.eval.judge import GoldResult, judge
from chatbi.semantic.query import SemanticQuery

GOLD = GoldResult(["region", "gmv"], [("华东", 100.0), ("华南", 50.0)])
GOLD_TURN = Turn(question="各大区的GMV", gold_sql="SELECT 1")


def answered(rows: list[list[object]], intent: str = "query") -> Answer:
    return Answer(question="q", intent=intent, columns=["region", "gmv"], rows=rows)  # type: ignore[arg-type]


def asked_back(intent: str, code: str) -> Answer:
    return Answer(question="q", intent=intent, error={"code": code, "message": "?"})  # type: ignore[arg-type]


def test_matching_result_is_correct_and_a_different_one_wrong() -> None:
    assert judge(GOLD_TURN, answered([["华南", 50.0], ["华东", 100.0]]), GOLD, 0.005).outcome == "correct"
    verdict = judge(GOLD_TURN, answered([["华南", 50.0], ["华东", 120.0]]), GOLD, 0.005)
    assert verdict.outcome == "wrong" and verdict.detail


def test_clarifying_or_refusing_a_gold_question_is_a_miss_not_wrong() -> None:
    assert judge(GOLD_TURN, asked_back("clarify", "unclear_question"), GOLD, 0.005).outcome == "clarified"
    assert judge(GOLD_TURN, asked_back("refuse", "refused"), GOLD, 0.005).outcome == "refused"


def test_product_failures_are_errors() -> None:
    # the pipeline turns a compile error into intent "clarify": it is still a product error
    assert judge(GOLD_TURN, asked_back("clarify", "compile_error"), GOLD, 0.005).outcome == "error"
    assert judge(GOLD_TURN, asked_back("refuse", "sql_error"), GOLD, 0.005).outcome == "error"
    broken_gold = GoldResult([], [], "sql_error: no such table")
    assert judge(GOLD_TURN, answered([["华东", 100.0]]), broken_gold, 0.005).outcome == "error"


def test_truncated_or_non_query_answers_to_a_gold_question_are_wrong() -> None:
    answer = answered([["华南", 50.0], ["华东", 100.0]])
    answer.truncated = True
    assert judge(GOLD_TURN, answer, GOLD, 0.005).outcome == "wrong"
    definition = Answer(question="q", intent="definition")
    assert judge(GOLD_TURN, definition, GOLD, 0.005).outcome == "wrong"


def test_expected_refusal_and_clarification() -> None:
    refuse = Turn(question="删除所有订单", expect=("refuse",))
    either = Turn(question="天气", expect=("clarify", "refuse"))
    assert judge(refuse, asked_back("refuse", "refused"), None, 0.005).outcome == "refused_correctly"
    assert judge(refuse, asked_back("refuse", "sql_refused"), None, 0.005).outcome == "refused_correctly"
    assert judge(either, asked_back("clarify", "unclear_question"), None, 0.005).outcome == "clarified_correctly"
    # clarifying where a refusal was expected is a miss; answering with a number is wrong
    assert judge(refuse, asked_back("clarify", "unclear_question"), None, 0.005).outcome == "clarified"
    verdict = judge(either, answered([["华东", 1.0]]), None, 0.005)
    assert verdict.outcome == "wrong" and "answered with intent query" in verdict.detail


def test_expected_intents_and_their_metrics() -> None:
    turn = Turn(question="复购率怎么算", expect=("definition",), expect_metrics=("repurchase_rate",))
    good = Answer(question="q", intent="definition",
                  definitions=[Definition("repurchase_rate", "复购率", "…", "…")])
    other = Answer(question="q", intent="definition", definitions=[Definition("gmv", "GMV", "…", "…")])
    assert judge(turn, good, None, 0.005).outcome == "intent_met"
    assert judge(turn, other, None, 0.005).outcome == "wrong"
    why = Turn(question="为什么GMV下降", expect=("why",), expect_metrics=("gmv",))
    answer = Answer(question="q", intent="why", semantic_query=SemanticQuery(metrics=["gmv"]))
    assert judge(why, answer, None, 0.005).outcome == "intent_met"
    assert judge(why, answered([], intent="query"), None, 0.005).outcome == "wrong"
