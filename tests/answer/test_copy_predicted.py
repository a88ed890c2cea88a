"""A predicted audience (可能购买户外装备的用户) as the segment of campaign copy and of counts,
end to end through ``Pipeline.ask`` on the tiny demo (tests/conftest.py ``tiny_pipeline``).

Expected sizes come from plain SQL over ``user_predictions`` (``list_contains``), never from
the compiler; merchant roles are refused.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from chatbi.answer.copywriter import MIN_SEGMENT_SIZE
from chatbi.relations import detect_relation_question
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role

OUTDOOR = "户外装备"
COPY_ZH = "给可能购买户外装备的用户写三条短信文案"
COPY_EN = "write SMS copy for users likely to buy outdoor gear"


@pytest.fixture(scope="module")
def raw(tiny_db: Path):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def _audience(raw: duckdb.DuckDBPyConnection, category: str, region: str | None = None) -> int:
    sql = "SELECT count(*) FROM user_predictions p WHERE list_contains(p.predicted_next_categories, ?)"
    params = [category]
    if region is not None:
        sql += " AND p.user_id IN (SELECT user_id FROM users WHERE region = ?)"
        params.append(region)
    return int(raw.execute(sql, params).fetchone()[0])


def test_copy_for_the_predicted_audience(tiny_pipeline, raw) -> None:
    expected = _audience(raw, OUTDOOR)
    assert expected >= MIN_SEGMENT_SIZE  # tiny demo, seed 7: 户外装备 is a big enough audience
    answer = tiny_pipeline.ask(COPY_ZH)
    assert answer.error is None, answer.error
    assert answer.intent == "copy"
    assert len(answer.copy) == 3
    assert {item.segment_size for item in answer.copy} == {expected}
    assert {item.segment for item in answer.copy} == {"可能购买户外装备的用户"}
    assert answer.rows[0][1] == f"{expected:,}"  # 人群规模, formatted as the table shows it
    assert answer.semantic_query is not None
    assert [(f.dimension, f.op, f.value) for f in answer.semantic_query.filters] == [
        ("predicted_next_category", "has_tag", OUTDOOR)]
    assert "user_predictions" in answer.sql and "predicted_next_categories" in answer.sql
    assert f"{expected}" in answer.finding


def test_copy_in_english_and_for_a_marketer(tiny_pipeline, raw) -> None:
    expected = _audience(raw, OUTDOOR)
    answer = tiny_pipeline.ask(COPY_EN, role="marketer")
    assert answer.error is None, answer.error
    assert answer.intent == "copy" and answer.language == "en"
    assert {item.segment_size for item in answer.copy} == {expected}
    assert all(item.text.endswith("Reply T to opt out") for item in answer.copy)


def test_a_too_small_predicted_audience_is_refused(tiny_pipeline, raw) -> None:
    """The smallest (category, region) audience on the demo is below the minimum."""
    category, region, size = raw.execute("""
        SELECT c, u.region, count(*) AS n
        FROM (SELECT user_id, unnest(predicted_next_categories) AS c FROM user_predictions) p
        JOIN users u USING (user_id)
        WHERE u.region IS NOT NULL GROUP BY ALL ORDER BY n, c, u.region LIMIT 1""").fetchone()
    assert 0 < size < MIN_SEGMENT_SIZE
    assert _audience(raw, category, region) == size
    answer = tiny_pipeline.ask(f"给可能购买{category}的{region}用户写三条短信文案")
    assert answer.error is not None and answer.error["code"] == "segment_too_small", answer.error
    assert f"只有 {size} 人" in answer.error["message"]
    assert not answer.copy


def test_merchants_cannot_target_the_predicted_audience(tiny_pipeline) -> None:
    answer = tiny_pipeline.ask(COPY_ZH, role="merchant:3")
    assert answer.error is not None and answer.error["code"] == "copy_not_allowed", answer.error
    assert not answer.copy and not answer.rows


def test_counting_the_predicted_audience_keeps_every_filter(tiny_pipeline, raw) -> None:
    expected = _audience(raw, OUTDOOR, "华东")
    assert expected != _audience(raw, OUTDOOR)  # the region filter matters
    answer = tiny_pipeline.ask("下个月可能购买户外装备的华东用户有多少", role="marketer")
    assert answer.error is None, answer.error
    assert answer.intent == "query"
    assert answer.rows == [[expected]]
    refused = tiny_pipeline.ask("下个月可能购买户外装备的华东用户有多少", role="merchant:3")
    assert refused.error is not None and refused.error["code"] == "sql_table_not_allowed", refused.error


def test_list_questions_stay_with_the_relations_answer(tiny_pipeline, raw) -> None:
    answer = tiny_pipeline.ask("which users are likely to buy 户外装备 next month?")
    assert answer.error is None, answer.error
    assert "audience_size" in answer.columns
    assert len(answer.rows) == _audience(raw, OUTDOOR)


@pytest.mark.parametrize("question", [
    COPY_ZH, "write SMS copy for users likely to buy 户外装备", "给下个月可能购买腕表的用户写两条推送文案",
    "下个月可能购买户外装备的用户有多少",
])
def test_the_relations_detector_leaves_copy_and_counts_to_the_planner(tiny_pipeline, question) -> None:
    assert detect_relation_question(question, None, tiny_pipeline.dimension_values()) is None


def test_the_guard_allows_the_predictions_to_platform_roles_only(tiny_pipeline) -> None:
    sql = ("SELECT count(DISTINCT user_id) AS n FROM user_predictions "  # no user ids for marketers
           "WHERE list_contains(predicted_next_categories, '户外装备')")
    for role in ("admin", "analyst", "marketer"):
        assert "user_predictions" in guard_sql(sql, tiny_pipeline.policy, Role.parse(role)).sql
    from chatbi.errors import GuardError

    with pytest.raises(GuardError) as refused:
        guard_sql(sql, tiny_pipeline.policy, Role.parse("merchant:3"))
    assert refused.value.code == "sql_table_not_allowed"
