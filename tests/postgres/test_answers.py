"""End to end on PostgreSQL: the eval question set answered by a pipeline reading the tiny
warehouse from PostgreSQL — every other case in this process (gold SQL on the DuckDB file),
a sixth of the set (none of those) through the command line (``chatbi eval`` with
``CHATBI_ENGINE=postgres`` and no warehouse file: questions and gold SQL on PostgreSQL) — and
``chatbi ask`` with ``CHATBI_ENGINE=postgres`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatbi.eval import load_question_set, run_eval
from tests.postgres.compare import differences

EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"
MIN_ACCURACY = 0.95
MAX_WRONG = 0.02


@pytest.fixture(scope="module")
def report(pg_pipeline: Any, duck_executor: Any) -> Any:
    """Every other case of the shipped set (both languages, every capability; the DuckDB run of
    the whole set is tests/eval/test_question_set.py, the whole set on PostgreSQL is measured
    in docs/benchmarks.md), to keep the suite's time small."""
    question_set = load_question_set(EVAL_DIR)
    half = question_set.select(case.id for case in question_set.cases[::2])
    return run_eval(half, pg_pipeline, gold_executor=duck_executor)


def test_eval_set_on_postgres_meets_the_accuracy_goal(report: Any) -> None:
    summary = report.summary()
    errors = [f"{r.case_id}#{r.turn} {r.question}: {r.detail}" for r in report.results if r.outcome == "error"]
    assert not errors, "\n".join(errors)
    failures = "\n".join(f"{r.case_id}#{r.turn} [{r.outcome}] {r.question}: {r.detail}" for r in report.failures())
    assert summary["execution_accuracy"] >= MIN_ACCURACY and summary["wrong_rate"] <= MAX_WRONG, failures


def test_a_ratio_answer_is_postgres_sql_with_duckdb_numbers(report: Any, pg_pipeline: Any,
                                                            tiny_pipeline: Any) -> None:
    question = "各大区上个月的复购率"
    pg, duck = pg_pipeline.ask(question), tiny_pipeline.ask(question)
    assert pg.error is None and pg.rows and "AS DOUBLE)" not in pg.sql  # type "double" does not exist
    assert differences(pg, duck) is None
    assert pg.finding == duck.finding


def _engine_env(pg_settings: Any, tmp_path: Path) -> dict[str, str]:
    """The environment of a chatbi process on PostgreSQL; CHATBI_DB names no file (only the
    app's files would go beside it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBI_")}
    env.update(CHATBI_PLANNER="offline", ANONYMIZED_TELEMETRY="False", CHATBI_ENGINE="postgres",
               CHATBI_WAREHOUSE_URL=pg_settings.warehouse_url, CHATBI_WAREHOUSE_SCHEMA=pg_settings.warehouse_schema,
               CHATBI_DB=str(tmp_path / "local.duckdb"))
    return env


def test_chatbi_eval_with_engine_postgres(pg_settings: Any, tmp_path: Path) -> None:
    """Every sixth case (none of the in-process run's) through the CLI on PostgreSQL
    (with the in-process half, two thirds of the set run on PostgreSQL in the suite; the
    whole set on both engines is `make bench`'s engines section)."""
    import yaml

    question_set = load_question_set(EVAL_DIR)
    ids = {case.id for case in question_set.cases[1::6]}
    folder = tmp_path / "questions"
    folder.mkdir()
    for source in sorted(EVAL_DIR.glob("questions_*.yaml")):
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["cases"] = [case for case in data["cases"] if case["id"] in ids]
        (folder / source.name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    done = subprocess.run([str(Path(sys.executable).parent / "chatbi"), "eval", str(folder), "--json"],
                          capture_output=True, text=True, env=_engine_env(pg_settings, tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    summary = report["summary"]
    failures = "\n".join(f"{r['case_id']}#{r['turn']} [{r['outcome']}] {r['question']}: {r['detail']} {r['error']}"
                          for r in report["results"] if not r["correct"])
    assert summary["questions"] >= len(ids) > 40
    assert summary["error_rate"] == 0, failures
    assert summary["execution_accuracy"] >= MIN_ACCURACY and summary["wrong_rate"] <= MAX_WRONG, failures
    assert report["as_of"]["warehouse"] == "2026-09-30"  # read from PostgreSQL
    assert not (tmp_path / "local.duckdb").exists()


def _ask(question: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([str(Path(sys.executable).parent / "chatbi"), "ask", question, "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_chatbi_ask_with_engine_postgres(pg_settings: Any, tiny_pipeline: Any, tmp_path: Path) -> None:
    env = _engine_env(pg_settings, tmp_path)
    question = "各大区的GMV"
    pg = _ask(question, env)
    duck = tiny_pipeline.ask(question)
    assert pg["error"] is None and pg["rows"] and not (tmp_path / "local.duckdb").exists()

    class _Result:
        def __init__(self, data: dict[str, Any]):
            self.columns, self.rows, self.truncated = data["columns"], data["rows"], data["truncated"]

    assert differences(_Result(pg), duck) is None
    assert pg["finding"] == duck.finding
