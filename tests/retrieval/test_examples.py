"""Worked examples: the YAML ones compile against the real layer; promoted ones are indexed."""

from __future__ import annotations

import datetime as dt
import re

from chatbi.channels.feedback import FeedbackStore
from chatbi.retrieval.examples import (
    SOURCE_APP_DB,
    example_problem,
    load_app_examples,
    load_yaml_examples,
    usable_examples,
)
from chatbi.retrieval.retriever import Retriever
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.query import SemanticQuery

AS_OF = dt.date(2026, 9, 30)


def test_at_least_forty_examples_in_both_languages(layer):
    examples = load_yaml_examples()
    assert len(examples) >= 40
    chinese = [e for e in examples if re.search(r"[\u4e00-\u9fff]", e.question)]
    assert len(chinese) >= 20 and len(examples) - len(chinese) >= 10
    assert len({e.question for e in examples}) == len(examples)


def test_every_example_validates_and_compiles(layer):
    for example in load_yaml_examples():
        assert example_problem(example, layer) is None, example.question
        compile_query(SemanticQuery.model_validate(example.semantic_query), layer, as_of=AS_OF)
    assert len(usable_examples(layer, None)) == len(load_yaml_examples())


def test_an_example_naming_an_unknown_metric_is_skipped(layer, tmp_path):
    path = tmp_path / "examples.yaml"
    path.write_text(
        "- {question: 利润率, semantic_query: {metrics: [profit_margin]}}\n"
        "- {question: GMV, semantic_query: {metrics: [gmv]}}\n"
        "- {question: 没有查询}\n", encoding="utf-8")
    assert [e.question for e in usable_examples(layer, None, path)] == ["GMV"]


def test_promoted_feedback_becomes_an_example_hit(retriever, layer, tmp_path):
    app_db = tmp_path / "app.sqlite"
    assert load_app_examples(app_db) == []  # no database yet: no examples, no error
    store = FeedbackStore(app_db)
    question = "抖音来的女性买家上个月买了多少钱"
    query = SemanticQuery(metrics=["gmv"], filters=[
        {"dimension": "channel", "op": "eq", "value": "抖音"},
        {"dimension": "gender", "op": "eq", "value": "女"}])
    feedback = store.record(question, {"semantic_query": query.model_dump(mode="json"), "sql": "SELECT 1"},
                            "up", "admin")
    index_dir = tmp_path / "index"
    with_db = Retriever(layer, index_dir=index_dir, values=retriever.values, app_db_path=app_db)
    try:
        assert with_db.ensure_index() is True
        assert with_db.ensure_index() is False
        store.promote(feedback)
        # no ensure_index call: the next search sees the database changed and rebuilds
        top = with_db.examples("上个月抖音女性买家的GMV", k=3)
        assert with_db.ensure_index() is False
        promoted = [h for h in top if h.source == SOURCE_APP_DB]
        assert promoted and promoted[0].payload["question"] == question
        assert SemanticQuery.model_validate(promoted[0].payload["semantic_query"]) == query
        assert with_db.search(question, k=1, kinds=["example"])[0].score >= 2  # same question
    finally:
        with_db.close()
