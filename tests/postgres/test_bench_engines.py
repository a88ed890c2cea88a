"""Smoke test of the ``engines`` section of ``make bench`` on the session's PostgreSQL cluster
(tiny demo, a few planned queries and questions, no Spark; no timing assertions)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from benchmarks import engines
from benchmarks.common import Context
from benchmarks.warehouses import cache_path


def test_engines_section_runs_on_a_real_server(pg: Any, tiny_db: Path, tmp_path: Path) -> None:
    ctx = Context(scales=["tiny"], quick=True, cache_dir=tmp_path, seed=7, max_cases=1, with_index=False,
                  diagnose=False, log=lambda _msg: None)
    shutil.copyfile(tiny_db, cache_path(ctx, "tiny"))
    section = engines.run(ctx, cluster=pg, spark=False, planned_every=1000)
    assert section.data["postgres_skipped"] is None and section.data["spark_skipped"] == "left out of this run"
    planned = section.data["planned"]
    assert all(r["planned"] > 0 and r["matched"] == r["ran"] == r["planned"] for r in planned.values()), planned
    questions = section.data["questions"]
    assert len(questions) == 2 and all(q["questions"] >= 1 for q in questions.values())
    assert [row[0].split(",")[0] for row in section.rows][0] == "DuckDB (embedded file)"
    assert "Spark not measured" in section.markdown
    assert section.goals[0].passed is True and section.goals[1].passed is True
    assert section.goals[2].passed is None


def test_engines_section_skips_without_postgres(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tests.pg_cluster.bin_dir", lambda: None)
    ctx = Context(scales=["tiny"], quick=True, cache_dir=tmp_path, log=lambda _msg: None)
    section = engines.run(ctx)  # no warehouse is generated, no server started
    assert section.notes[0].startswith("PostgreSQL not measured:")
    assert all(goal.passed is None and goal.measured.startswith("not measured") for goal in section.goals)
    assert not list(tmp_path.iterdir())
