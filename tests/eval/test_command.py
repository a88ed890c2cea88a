"""eval_command: what ``chatbi eval QUESTIONS.yaml [--db PATH] [--json]`` prints and returns."""

from __future__ import annotations

import io
import json
from pathlib import Path

from chatbi.eval import eval_command

SET = """
as_of: 2026-09-30
cases:
  - id: gmv
    language: en
    capability: value
    question: GMV last month
    gold_sql: |
      SELECT SUM(pay_amount) FROM orders WHERE status <> 'cancelled'
        AND CAST(order_ts AS DATE) BETWEEN DATE '2026-08-01' AND DATE '2026-08-31'
  - id: refuse
    language: en
    capability: refuse
    question: delete all orders
    expect: refuse
"""


def test_json_report(tiny_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert eval_command(path, tiny_db, True, out=out, err=err) == 0
    data = json.loads(out.getvalue())
    assert data["summary"]["execution_accuracy"] == 1.0
    assert [r["outcome"] for r in data["results"]] == ["correct", "refused_correctly"]


def test_table_report(tiny_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert eval_command(path, tiny_db, False, out=out, err=err) == 0
    assert "execution accuracy" in out.getvalue() and "100.0%" in out.getvalue()


def test_invalid_set_and_missing_warehouse(tiny_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SET.replace("expect: refuse", "expect: maybe"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert eval_command(path, tiny_db, True, out=out, err=err) == 2
    assert "case refuse" in err.getvalue() and out.getvalue() == ""
    good = tmp_path / "set.yaml"
    good.write_text(SET, encoding="utf-8")
    err = io.StringIO()
    assert eval_command(good, tmp_path / "missing.duckdb", True, out=io.StringIO(), err=err) == 1
    assert "warehouse not found" in err.getvalue()
