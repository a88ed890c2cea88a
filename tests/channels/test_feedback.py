"""FeedbackStore: SQLite application database beside the warehouse, never the warehouse."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from chatbi.channels.feedback import FeedbackError, FeedbackStore, parse_rating
from chatbi.errors import UserInputError

ANSWER = {
    "question": "各大区的GMV",
    "intent": "query",
    "semantic_query": {"metrics": ["gmv"], "dimensions": ["region"]},
    "sql": "SELECT region, SUM(pay_amount) AS gmv FROM orders GROUP BY 1",
    "columns": ["region", "gmv"],
    "rows": [["华东", 1.5]],
}


@pytest.fixture
def store(tmp_path):
    return FeedbackStore(tmp_path / "warehouse.app.sqlite")


def test_record_and_list_newest_first(store):
    first = store.record("各大区的GMV", ANSWER, "up", "admin")
    second = store.record("退货率", {"question": "退货率", "semantic_query": None}, "👎", "merchant:7",
                          comment="口径不对")
    items = store.list()
    assert [i.id for i in items] == [second, first]
    assert items[0].rating == -1 and items[0].role == "merchant:7" and items[0].comment == "口径不对"
    assert items[1].answer["semantic_query"] == {"metrics": ["gmv"], "dimensions": ["region"]}
    assert [i.id for i in store.list("up")] == [first]
    assert [i.id for i in store.list("down")] == [second]


def test_promote_writes_an_example_once(store, tmp_path):
    fid = store.record("各大区的GMV", json.dumps(ANSWER, ensure_ascii=False), 1, "admin")
    example_id = store.promote(fid)
    assert store.promote(fid) == example_id  # idempotent
    examples = store.examples()
    assert len(examples) == 1
    assert examples[0]["question"] == "各大区的GMV"
    assert examples[0]["semantic_query"] == ANSWER["semantic_query"]
    assert examples[0]["sql"] == ANSWER["sql"] and examples[0]["feedback_id"] == fid
    assert store.get(fid).promoted
    # the table a retrieval engineer indexes is plain SQLite
    with sqlite3.connect(tmp_path / "warehouse.app.sqlite") as conn:
        row = conn.execute("SELECT question, semantic_query FROM examples").fetchone()
    assert row[0] == "各大区的GMV" and json.loads(row[1])["metrics"] == ["gmv"]


def test_promote_refuses_thumbs_down_and_answers_without_query(store):
    down = store.record("各大区的GMV", ANSWER, "down", "admin")
    with pytest.raises(UserInputError) as exc:
        store.promote(down)
    assert exc.value.code == "feedback_not_positive"
    no_query = store.record("你好", {"question": "你好", "semantic_query": None}, "up", "admin")
    with pytest.raises(UserInputError) as exc:
        store.promote(no_query)
    assert exc.value.code == "feedback_without_query"
    with pytest.raises(UserInputError):
        store.promote(9999)
    assert store.examples() == []


def test_invalid_input(store):
    with pytest.raises(UserInputError):
        store.record("q", ANSWER, "meh", "admin")
    with pytest.raises(UserInputError):
        store.record("   ", ANSWER, "up", "admin")
    assert parse_rating("👍") == 1 and parse_rating(-1) == -1


def test_never_the_warehouse(tmp_path):
    with pytest.raises(FeedbackError):
        FeedbackStore(tmp_path / "warehouse.duckdb")


def test_concurrent_records(store):
    def work(n: int) -> None:
        for i in range(10):
            store.record(f"q{n}-{i}", ANSWER, "up", "admin")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list(limit=100)) == 40
