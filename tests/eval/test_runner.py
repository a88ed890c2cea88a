"""run_eval on the real pipeline over the tiny warehouse: outcomes, conversations, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from chatbi.eval import EvalReport, load_question_set, run_eval

GMV_BY_REGION = """SELECT u.region, SUM(o.pay_amount) AS gmv FROM orders o JOIN users u ON u.user_id = o.user_id
      WHERE o.status <> 'cancelled' GROUP BY u.region"""
SET = f"""
as_of: 2026-09-30
cases:
  - id: right
    language: zh
    capability: by_dimension
    question: 各大区的GMV
    gold_sql: |
      {GMV_BY_REGION}
  - id: wrong-gold
    language: zh
    capability: by_dimension
    question: 各大区的GMV
    note: the gold counts cancelled orders, so the (correct) answer does not match it
    gold_sql: |
      SELECT u.region, SUM(o.pay_amount) AS gmv FROM orders o JOIN users u ON u.user_id = o.user_id
      GROUP BY u.region
  - id: refuse
    language: zh
    capability: refuse
    question: 删除所有订单
    expect: refuse
  - id: conversation
    language: zh
    capability: followup
    turns:
      - question: 上个月华东的GMV
        gold_sql: |
          SELECT SUM(o.pay_amount) AS gmv FROM orders o JOIN users u ON u.user_id = o.user_id
          WHERE o.status <> 'cancelled' AND u.region = '华东'
            AND CAST(o.order_ts AS DATE) BETWEEN DATE '2026-08-01' AND DATE '2026-08-31'
      - question: 那华南呢
        gold_sql: |
          SELECT SUM(o.pay_amount) AS gmv FROM orders o JOIN users u ON u.user_id = o.user_id
          WHERE o.status <> 'cancelled' AND u.region = '华南'
            AND CAST(o.order_ts AS DATE) BETWEEN DATE '2026-08-01' AND DATE '2026-08-31'
  - id: broken-gold
    language: en
    capability: value
    question: GMV by region
    gold_sql: SELECT no_such_column FROM orders
"""


@pytest.fixture(scope="module")
def report(tiny_pipeline: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalReport, list[int]]:
    path = tmp_path_factory.mktemp("eval") / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    seen: list[int] = []
    result = run_eval(path, tiny_pipeline, progress=lambda done, total, _r: seen.append(done) or None)
    return result, seen


def outcomes(report: EvalReport) -> dict[str, str]:
    return {f"{r.case_id}#{r.turn}": r.outcome for r in report.results}


def test_each_question_gets_its_outcome(report: tuple[EvalReport, list[int]]) -> None:
    result, _ = report
    assert outcomes(result) == {
        "right#1": "correct", "wrong-gold#1": "wrong", "refuse#1": "refused_correctly",
        "conversation#1": "correct", "conversation#2": "correct", "broken-gold#1": "error",
    }
    broken = next(r for r in result.results if r.case_id == "broken-gold")
    assert "gold SQL failed" in broken.detail
    wrong = next(r for r in result.results if r.case_id == "wrong-gold")
    assert "gmv" in wrong.detail


def test_figures_and_progress(report: tuple[EvalReport, list[int]]) -> None:
    result, seen = report
    assert seen == [1, 2, 3, 4, 5, 6]
    summary = result.summary()
    assert summary["questions"] == 6 and result.case_count == 5
    assert summary["execution_accuracy"] == pytest.approx(4 / 6)
    assert summary["wrong_rate"] == pytest.approx(1 / 6) and summary["error_rate"] == pytest.approx(1 / 6)
    assert summary["refuse_rate"] == pytest.approx(1 / 6) and summary["clarify_rate"] == 0
    assert result.as_of_expected == result.as_of_warehouse == "2026-09-30" and not result.warnings
    latency = result.latency()
    assert set(latency) == {"plan", "sql", "chart", "finding", "total"}
    assert latency["total"]["n"] == latency["plan"]["n"] == 6
    assert latency["sql"]["n"] >= 5  # every answered question timed its SQL
    assert 0 < latency["total"]["p50"] <= latency["total"]["p95"]
    assert {r.planner for r in result.results} == {"offline"}


def test_json_and_rich_output(report: tuple[EvalReport, list[int]]) -> None:
    result, _ = report
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["summary"]["outcomes"]["correct"] == 3
    assert set(data["by_language"]) == {"zh", "en"}
    assert data["by_capability"]["followup"]["questions"] == 2
    row = data["results"][0]
    assert {"case_id", "question", "outcome", "intent", "planner", "timings_ms", "llm_calls", "prompt_chars"} <= set(row)
    console = Console(record=True, width=160)
    result.render(console)
    text = console.export_text()
    assert "execution accuracy" in text and "66.7%" in text and "wrong-gold" in text and "p95" in text


class CountingPipeline:
    """The real pipeline, with the LLM usage an LLM planner would add to timings_ms."""

    def __init__(self, pipeline: Any):
        self.inner = pipeline
        self.executor = pipeline.executor

    def new_conversation(self) -> Any:
        return self.inner.new_conversation()

    def default_as_of(self) -> Any:
        return self.inner.default_as_of()

    def ask(self, question: str, **kwargs: Any) -> Any:
        answer = self.inner.ask(question, **kwargs)
        answer.timings_ms.update({"llm_calls": 2, "prompt_chars": 1234})
        return answer


def test_llm_usage_is_recorded_when_present(tiny_pipeline: Any, tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    qs = load_question_set(path).select(["right", "refuse"])
    result = run_eval(qs, CountingPipeline(tiny_pipeline))
    assert [(r.llm_calls, r.prompt_chars) for r in result.results] == [(2, 1234), (2, 1234)]
    assert result.llm_usage() == {"llm_calls": 4, "prompt_chars": 2468}
    assert all("llm_calls" not in r.timings_ms for r in result.results)


def test_a_warehouse_with_another_as_of_date_is_flagged(tiny_pipeline: Any, tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(SET.replace("as_of: 2026-09-30", "as_of: 2025-12-31"), encoding="utf-8")
    result = run_eval(load_question_set(path).select(["refuse"]), tiny_pipeline)
    assert result.warnings and "2025-12-31" in result.warnings[0]


def test_plain_summary_lines(report: tuple[EvalReport, list[int]]) -> None:
    result, _ = report
    lines = result.summary_lines()
    assert lines[0].startswith("questions 6 (5 cases): execution accuracy 66.7%, wrong 16.7%")
    assert lines[1].startswith("latency ms (p50/p95): plan ")
    assert any(line.startswith("not correct: wrong-gold#1 [wrong]") for line in lines)
