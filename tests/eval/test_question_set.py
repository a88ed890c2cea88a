"""The shipped question set on the tiny demo warehouse: gold sanity, then the accuracy goal.

The set's gold SQL assumes a demo warehouse with the default end date (as-of 2026-09-30),
which the session ``tiny_db`` fixture is (tiny scale, seed 7). The goal for the offline
planner is >= 95% execution accuracy and <= 2% wrong answers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chatbi.eval import EvalReport, load_question_set, run_eval
from chatbi.eval.runner import GoldRunner

EVAL_DIR = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow  # the whole set through the pipeline: ~1 minute on tiny

MIN_ACCURACY = 0.95
MAX_WRONG = 0.02


@pytest.fixture(scope="module")
def question_set() -> Any:
    return load_question_set(EVAL_DIR)


def test_every_gold_query_runs_and_has_data_on_tiny(question_set: Any, tiny_pipeline: Any) -> None:
    gold = GoldRunner(tiny_pipeline.executor)
    problems = []
    for case in question_set.cases:
        for index, turn in enumerate(case.turns, start=1):
            if not turn.gold_sql:
                continue
            result = gold.run(turn.gold_sql)
            if result.error:
                problems.append(f"{case.id}#{index}: {result.error}")
            elif not any(any(v is not None for v in row) for row in result.rows):
                problems.append(f"{case.id}#{index}: no data on tiny")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def report(question_set: Any, tiny_pipeline: Any) -> EvalReport:
    return run_eval(question_set, tiny_pipeline)


def failures_text(report: EvalReport) -> str:
    return "\n".join(f"{r.case_id}#{r.turn} [{r.outcome}] {r.question}: {r.detail}" for r in report.failures())


def test_no_product_errors(report: EvalReport) -> None:
    errors = [r for r in report.results if r.outcome == "error"]
    assert not errors, "\n".join(f"{r.case_id}#{r.turn} {r.question}: {r.detail}" for r in errors)


def test_accuracy_goal_on_tiny(report: EvalReport) -> None:
    summary = report.summary()
    assert summary["execution_accuracy"] >= MIN_ACCURACY and summary["wrong_rate"] <= MAX_WRONG, (
        f"accuracy {summary['execution_accuracy']:.1%} (goal >= {MIN_ACCURACY:.0%}), "
        f"wrong {summary['wrong_rate']:.1%} (goal <= {MAX_WRONG:.0%}); not correct:\n{failures_text(report)}"
    )


def test_no_ties_at_a_top_n_cut_on_tiny(question_set: Any, tiny_pipeline: Any) -> None:
    """A top-N gold whose N-th and (N+1)-th rows tie on the ranking column has no single
    right answer: such questions must rank by something that does not tie."""
    gold = GoldRunner(tiny_pipeline.executor)
    ties = []
    for case in question_set.cases:
        for index, turn in enumerate(case.turns, start=1):
            found = re.search(r"\bLIMIT\s+(\d+)\s*$", turn.gold_sql or "", re.IGNORECASE)
            if not found or not turn.order_key:
                continue
            limit = int(found[1])
            full = gold.run(turn.gold_sql[: found.start()])  # type: ignore[index]
            key = full.columns.index(turn.order_key[0])
            if len(full.rows) > limit and full.rows[limit - 1][key] == full.rows[limit][key]:
                ties.append(f"{case.id}#{index}: {full.rows[limit - 1]} ties {full.rows[limit]}")
    assert not ties, "\n".join(ties)
