"""Per-user history, share links and pins in the application database."""

from __future__ import annotations

import pytest

from chatbi.channels.history import CHAIN_TURNS, HistoryStore
from chatbi.errors import UserInputError


@pytest.fixture
def store(tmp_path) -> HistoryStore:
    return HistoryStore(tmp_path / "w.app.sqlite")


def answer(question: str) -> dict:
    return {"question": question, "columns": ["region", "gmv"], "rows": [["华东", 1.5]], "error": None}


def test_conversations_are_per_user(store):
    cid = store.start("alice", "各大区的GMV")
    store.add_turn("alice", cid, "t1", "各大区的GMV", answer("各大区的GMV"), "analyst", "2024-06-30")
    store.add_turn("alice", cid, "t2", "那华南呢", answer("那华南呢"), "analyst")
    other = store.start("bob", "top 10 merchants")
    [info] = store.conversations("alice")
    assert (info.id, info.title, info.turns) == (cid, "各大区的GMV", 2)
    turns = store.turns("alice", cid)
    assert [(t.seq, t.question, t.role) for t in turns] == [(1, "各大区的GMV", "analyst"), (2, "那华南呢", "analyst")]
    assert turns[0].answer["rows"] == [["华东", 1.5]] and turns[0].as_of == "2024-06-30"
    for call in (lambda: store.turns("bob", cid), lambda: store.delete("bob", cid),
                 lambda: store.add_turn("bob", cid, "t3", "q", {}, "admin"), lambda: store.share("bob", "t1")):
        with pytest.raises(UserInputError):
            call()
    assert [c.id for c in store.conversations("bob")] == [other]
    store.delete("alice", cid)
    assert store.conversations("alice") == []
    with pytest.raises(UserInputError):
        store.turns("alice", cid)


def test_share_carries_the_questions_not_the_rows(store):
    cid = store.start("alice", "q1")
    questions = [f"q{i}" for i in range(1, CHAIN_TURNS + 3)]
    for i, q in enumerate(questions):
        store.add_turn("alice", cid, f"t{i}", q, answer(q), "admin", "2024-06-30")
    token = store.share("alice", "t3")
    assert store.share("alice", "t3") == token  # one link per answer
    chain = store.shared(token)
    assert chain.questions == questions[:4] and chain.as_of == "2024-06-30"
    last = store.shared(store.share("alice", f"t{len(questions) - 1}"))
    assert last.questions == questions[-CHAIN_TURNS:]
    store.delete("alice", cid)  # deleting the conversation revokes its links
    with pytest.raises(UserInputError) as info:
        store.shared(token)
    assert info.value.code == "share_not_found"


def test_pins_are_per_user_and_rerun_on_latest_data(store):
    cid = store.start("alice", "各大区的GMV")
    store.add_turn("alice", cid, "t1", "各大区的GMV", answer("x"), "analyst", "2024-06-30")
    store.add_turn("alice", cid, "t2", "按月看", answer("y"), "analyst", "2024-06-30")
    pid = store.pin("alice", "t2")
    assert store.pin("alice", "t2") == pid
    [pin] = store.pins("alice")
    assert pin.question == "按月看" and pin.chain.questions == ["各大区的GMV", "按月看"]
    assert pin.chain.as_of is None  # pins ask on the latest data, not the date they were made
    assert store.pins("bob") == []
    with pytest.raises(UserInputError):
        store.unpin("bob", pid)
    store.unpin("alice", pid)
    assert store.pins("alice") == []
