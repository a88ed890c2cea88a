"""Tag transitions ("上个月有多少用户从活跃变成沉默") are counted from the tag history."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from chatbi.answer.transitions import detect_transition

TAGS = {"活跃": "user", "沉默": "user", "流失": "user", "高复购型": "merchant"}
SNAPSHOTS = [date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30)]
AS_OF = date(2026, 9, 30)


@pytest.mark.parametrize("question, expected", [
    ("上个月有多少用户从活跃变成沉默", ("活跃", "沉默", date(2026, 7, 31), date(2026, 8, 31))),
    ("how many users moved from 活跃 to 沉默 last month?", ("活跃", "沉默", date(2026, 7, 31), date(2026, 8, 31))),
    ("从活跃转为流失的用户有多少", ("活跃", "流失", date(2026, 8, 31), date(2026, 9, 30))),
    ("上个季度从活跃变成沉默的用户", ("活跃", "沉默", date(2026, 6, 30), date(2026, 6, 30))),
])
def test_transition_questions_are_recognised(question, expected):
    found = detect_transition(question, TAGS, SNAPSHOTS, AS_OF)
    if expected[2] >= expected[3]:     # no snapshot before the period: not answerable this way
        assert found is None
        return
    assert found is not None
    assert (found.from_tag, found.to_tag, found.from_date, found.to_date) == expected


@pytest.mark.parametrize("question", [
    "上个月活跃用户有多少", "从北京到上海的订单", "从活跃变成高复购型",   # different entity kinds
    "GMV from last month to this month", "沉默用户从哪里来",
])
def test_other_questions_are_not_transitions(question):
    assert detect_transition(question, TAGS, SNAPSHOTS, AS_OF) is None


def test_transition_answer_matches_an_independent_count(tiny_pipeline, tiny_db):
    answer = tiny_pipeline.ask("上个月有多少用户从活跃变成沉默")
    assert answer.error is None and "tag_history" in (answer.sql or "")
    row = dict(zip(answer.columns, answer.rows[0], strict=True))
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        before = {r[0] for r in con.execute(
            "SELECT entity_id FROM tag_history WHERE entity_type = 'user' AND tag = '活跃' "
            "AND snapshot_date = DATE '2026-07-31'").fetchall()}
        after = {r[0] for r in con.execute(
            "SELECT entity_id FROM tag_history WHERE entity_type = 'user' AND tag = '沉默' "
            "AND snapshot_date = DATE '2026-08-31'").fetchall()}
    assert len(before) > 0 and len(before & after) > 0
    assert (row["start_count"], row["moved_count"]) == (len(before), len(before & after))
    assert f"{len(before & after)} 个" in answer.finding and "沉默" in answer.finding


def test_a_merchant_role_sees_no_user_transitions(tiny_pipeline):
    answer = tiny_pipeline.ask("上个月有多少用户从活跃变成沉默", role="merchant:3")
    row = dict(zip(answer.columns, answer.rows[0], strict=True)) if answer.rows else {}
    assert answer.error is not None or row.get("start_count") == 0
