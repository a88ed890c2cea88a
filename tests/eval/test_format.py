"""The question-set format: loading, multi-turn cases, and validation with file and case id."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chatbi.eval.format import QuestionSetError, load_question_set

EVAL_DIR = Path(__file__).resolve().parent

VALID = """
description: a test set
as_of: 2026-09-30
cases:
  - id: one
    language: zh
    capability: value
    question: 上个月的GMV
    gold_sql: SELECT SUM(pay_amount) FROM orders
  - id: two
    language: en
    capability: refuse
    question: delete all orders
    expect: refuse
  - id: three
    language: en
    capability: followup
    turns:
      - question: GMV by region
        gold_sql: SELECT 1 AS x
        order_matters: true
        order_key: [x]
      - question: how is GMV defined
        expect: [definition]
        expect_metrics: gmv
"""


def write(tmp_path: Path, text: str, name: str = "set.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_single_and_multi_turn_cases(tmp_path: Path) -> None:
    qs = load_question_set(write(tmp_path, VALID))
    assert [c.id for c in qs.cases] == ["one", "two", "three"]
    assert qs.as_of == date(2026, 9, 30) and qs.tolerance == 0.005
    assert qs.question_count == 4
    one, two, three = qs.cases
    assert one.turns[0].has_gold and one.turns[0].question == "上个月的GMV"
    assert two.turns[0].expect == ("refuse",) and not two.turns[0].has_gold
    assert three.turns[0].order_matters and three.turns[0].order_key == ("x",)
    assert three.turns[1].expect == ("definition",) and three.turns[1].expect_metrics == ("gmv",)
    assert qs.select(["two"]).question_count == 1


def test_every_problem_is_reported_with_file_and_case_id(tmp_path: Path) -> None:
    bad = """
cases:
  - id: no-gold
    language: zh
    capability: value
    question: GMV
  - id: both
    language: zh
    capability: value
    question: GMV
    gold_sql: SELECT 1
    expect: clarify
  - id: bad-sql
    language: en
    capability: value
    question: GMV
    gold_sql: SELEC SUM(x) FRM orders
  - id: not-select
    language: en
    capability: value
    question: GMV
    gold_sql: DELETE FROM orders
  - id: bad-intent
    language: en
    capability: value
    question: GMV
    expect: query
  - id: bad-lang
    language: fr
    capability: value
    question: GMV
    expect: clarify
    colour: blue
  - id: key-without-order
    language: en
    capability: value
    question: GMV
    gold_sql: SELECT 1 AS x
    order_key: [x]
  - id: both
    language: en
    capability: value
    question: again
    expect: clarify
  - id: empty-turns
    language: en
    capability: followup
    turns: []
"""
    path = write(tmp_path, bad)
    with pytest.raises(QuestionSetError) as info:
        load_question_set(path)
    problems = info.value.problems
    text = "\n".join(problems)
    assert info.value.code == "invalid_question_set" and info.value.exit_code == 2
    for case_id, words in [
        ("no-gold", "needs `gold_sql`"), ("both", "not both"), ("bad-sql", "gold_sql"),
        ("not-select", "must be a SELECT"), ("bad-intent", "a query needs gold_sql"),
        ("bad-lang", "`language`"), ("bad-lang", "unknown key `colour`"),
        ("key-without-order", "needs `order_matters: true`"), ("both", "duplicate id"),
        ("empty-turns", "non-empty list"),
    ]:
        assert any(f"{path}: case {case_id}" in p and words in p for p in problems), (case_id, words, text)


def test_yaml_errors_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError) as info:
        load_question_set(write(tmp_path, "cases: [\n  - id: x\n", "broken.yaml"))
    assert "YAML error" in info.value.problems[0]
    with pytest.raises(QuestionSetError) as info:
        load_question_set(tmp_path / "missing.yaml")
    assert "file not found" in info.value.problems[0]
    with pytest.raises(QuestionSetError) as info:
        load_question_set(write(tmp_path, "description: nothing\n", "empty.yaml"))
    assert "`cases` must be a non-empty list" in info.value.problems[0]


def test_a_directory_merges_its_files(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID.replace("id: one", "id: four").replace("id: two", "id: five")
          .replace("id: three", "id: six"), "b.yaml")
    qs = load_question_set(tmp_path)
    assert len(qs.cases) == 6 and len(qs.sources) == 2
    write(tmp_path, VALID, "c.yaml")  # the same ids again
    with pytest.raises(QuestionSetError) as info:
        load_question_set(tmp_path)
    assert any("duplicate id" in p for p in info.value.problems)


def test_the_shipped_question_sets_are_valid_and_balanced() -> None:
    qs = load_question_set(EVAL_DIR)
    assert qs.as_of == date(2026, 9, 30)
    per_language = {lang: sum(len(c.turns) for c in qs.cases if c.language == lang) for lang in ("zh", "en")}
    assert sum(per_language.values()) >= 250
    assert abs(per_language["zh"] - per_language["en"]) <= 0.1 * sum(per_language.values()), per_language
    capabilities = {c.capability for c in qs.cases}
    assert {"value", "by_dimension", "top_n", "trend", "share", "growth", "compare", "filter", "entity_list",
            "segment_count", "definition", "why", "copy", "followup", "refuse", "clarify"} <= capabilities
    assert all(len(c.turns) >= 2 for c in qs.cases if c.capability == "followup")
