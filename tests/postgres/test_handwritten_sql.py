"""SQL the code writes by hand (DuckDB text rendered or guarded for the engine) answers on
PostgreSQL as on DuckDB: dimension values, the as-of date, tag transitions, alerts, relation
answers (funnel, shared customers, repeat buyers, paths), tag questions, why-questions and the
segment size of campaign copy. None of these is in the evaluation set."""

from __future__ import annotations

from typing import Any

import pytest

from chatbi.sql.postgres import PostgresExecutor
from tests.postgres.compare import differences

QUESTIONS = [
    ("上个月有多少用户从活跃变成沉默", "admin"),       # transitions.py: tag_history
    ("最近有哪些异常？", "admin"),                     # alerts.py
    ("上个月从浏览到购买的转化漏斗", "admin"),         # relations: funnel over events
    ("和商户12共享客户最多的商户", "analyst"),         # relations: merchant links
    ("哪些商户拥有大量复购用户？", "admin"),           # relations: user_merchant_relation
    ("most common paths before a purchase", "admin"),  # relations: journeys
    ("差评预警商户有多少个", "admin"),                 # merchant tags
    ("上个月GMV为什么下降", "admin"),                  # insight: grouped scans
]


def test_the_pipeline_reads_values_and_as_of_from_postgres(pg_pipeline: Any, tiny_pipeline: Any) -> None:
    assert isinstance(pg_pipeline.executor, PostgresExecutor)
    assert pg_pipeline.default_as_of() == tiny_pipeline.default_as_of()
    pg_values, duck_values = pg_pipeline.dimension_values(), tiny_pipeline.dimension_values()
    assert pg_values.keys() == duck_values.keys() and len(pg_values) > 10
    for name, values in duck_values.items():
        assert sorted(pg_values[name]) == sorted(values), name


@pytest.mark.parametrize("question, role", QUESTIONS)
def test_hand_written_sql_answers_like_duckdb(question: str, role: str, pg_pipeline: Any,
                                               tiny_pipeline: Any) -> None:
    pg, duck = pg_pipeline.ask(question, role=role), tiny_pipeline.ask(question, role=role)
    assert duck.error is None and duck.rows, (question, duck.error)
    assert pg.error is None, (question, pg.error)
    assert pg.intent == duck.intent and pg.columns == duck.columns
    assert differences(duck, pg) is None, (question, differences(duck, pg))
    assert pg.finding == duck.finding


def test_campaign_copy_counts_the_segment_on_postgres(pg_pipeline: Any, tiny_pipeline: Any) -> None:
    question = "给流失风险高的女性用户写三条短信文案"
    pg, duck = pg_pipeline.ask(question), tiny_pipeline.ask(question)
    assert pg.error is None and pg.copy and duck.copy
    assert [c.segment_size for c in pg.copy] == [c.segment_size for c in duck.copy]
    assert pg.copy[0].segment_size > 0
