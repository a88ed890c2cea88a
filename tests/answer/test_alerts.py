"""最近有哪些异常？: alerts from the profile build, newest and severest first, per role.

A hand-made ``alerts`` table (several build dates and severities) checks the order and the
merchant filter exactly; the tiny warehouse checks the real build's alerts end to end.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from chatbi.answer.alerts import answer_alerts, is_alerts_question, sql_for_alerts
from chatbi.config import Settings
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.contract import create_profile_table_sql
from chatbi.semantic.loader import load_semantic_layer
from chatbi.sql.executor import Executor
from chatbi.sql.policy import Role

ADMIN = Role("admin")
ROWS = [  # alert_id, detected_at, entity_type, entity_id, metric, value, baseline, severity, message
    (1, datetime(2026, 8, 31), "merchant", 7, "dispute_rate", 0.2, 0.02, "high", "商户7 八月纠纷率 20.0%"),
    (2, datetime(2026, 9, 30), "merchant", 7, "return_rate", 0.12, 0.05, "low", "商户7 九月退货率 12.0%"),
    (3, datetime(2026, 9, 30), "category", 0, "gmv", 8000.0, 10000.0, "medium", "品类「家居」GMV 下降 20%"),
    (4, datetime(2026, 9, 30), "merchant", 9, "dispute_rate", 0.3, 0.01, "high", "商户9 九月纠纷率 30.0%"),
    (5, datetime(2026, 9, 30), "region", 0, "new_user_conversion_rate", 0.29, 0.41, "medium",
     "华南大区新用户转化率下降"),
]


@pytest.fixture(scope="module")
def policy():
    return Catalog(load_semantic_layer(Settings.from_env().semantic_dir)).access_policy(1000)


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    path = tmp_path_factory.mktemp("alerts") / "alerts.duckdb"
    con = duckdb.connect(str(path))
    con.execute(create_profile_table_sql("alerts"))
    con.executemany("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    con.close()
    executor = Executor(path)
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def tiny(tiny_db):
    executor = Executor(tiny_db)
    yield executor
    executor.close()


def test_alerts_are_listed_newest_then_severest_first(hand_made, policy) -> None:
    frame, finding, chart = answer_alerts(executor=hand_made, policy=policy, role=ADMIN, language="zh")
    assert list(frame["alert_id"]) == [4, 3, 5, 2, 1]  # 09-30: high, medium (id order), low; then 08-31
    assert frame["change_vs_baseline"].iloc[0] == pytest.approx(0.3 / 0.01 - 1)
    assert "共有 5 条异常预警" in finding and "高 2 条、中 2 条、低 1 条" in finding
    assert "商户9 九月纠纷率 30.0%" in finding  # the severest alert's own message comes first
    assert finding.index("商户9") < finding.index("家居")
    assert chart is not None and "/vega-lite/v5" in chart["$schema"]


def test_limit_lists_fewer_but_counts_all(hand_made, policy) -> None:
    frame, finding, _ = answer_alerts(executor=hand_made, policy=policy, role=ADMIN, language="en", limit=2)
    assert list(frame["alert_id"]) == [4, 3]
    assert finding.startswith("5 anomaly alerts as of 2026-09-30 (2 high, 2 medium, 1 low)")
    assert "merchant 9: dispute rate 30.0% vs baseline 1.0% (high)" in finding


def test_merchant_sees_only_its_own_alerts(hand_made, policy) -> None:
    frame, finding, _ = answer_alerts(executor=hand_made, policy=policy, role=Role("merchant", 7))
    assert list(frame["alert_id"]) == [2, 1]
    assert set(frame["entity_type"]) == {"merchant"} and {int(e) for e in frame["entity_id"]} == {7}
    assert "你的店铺共有 2 条" in finding and "商户9" not in finding
    for sql in sql_for_alerts(policy, Role("merchant", 7)):
        assert "entity_type = 'merchant'" in sql and "entity_id = '7'" in sql  # alerts.entity_id is text
    empty, text, chart = answer_alerts(executor=hand_made, policy=policy, role=Role("merchant", 8))
    assert empty.empty and "没有发现你的店铺的异常预警" in text and chart is None


def test_real_build_alerts_on_the_tiny_warehouse(tiny, tiny_db, policy) -> None:
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        total = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
        severest = con.execute("SELECT message FROM alerts ORDER BY detected_at DESC, CASE severity "
                               "WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, alert_id "
                               "LIMIT 1").fetchone()
        own = con.execute("SELECT entity_id, count(*) FROM alerts WHERE entity_type = 'merchant' "
                          "GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()
    finally:
        con.close()
    frame, finding, _ = answer_alerts(executor=tiny, policy=policy, role=Role("marketer"), language="zh")
    assert len(frame) == min(total, 20)
    if total:
        assert f"共有 {total} 条" in finding and severest[0] in finding
    if own:
        mine, _, _ = answer_alerts(executor=tiny, policy=policy, role=Role("merchant", int(own[0])))
        assert len(mine) == own[1] and {str(e) for e in mine["entity_id"]} == {str(own[0])}


@pytest.mark.parametrize("question, expected", [
    ("最近有哪些异常？", True), ("有哪些预警", True), ("any alerts this week?", True),
    ("show anomalies", True), ("各大区的GMV", False), ("why did GMV fall?", False),
    ("为什么纠纷率异常升高？", False), ("why are there so many alerts", False),
    # 差评预警 is a merchant tag: questions about it are tag questions, not alert lists
    ("差评预警商户有多少个", False), ("哪些商户被打了差评预警标签", False),
    ("差评预警的商户最近有异常吗", True),
])
def test_alert_questions_are_recognised(question: str, expected: bool) -> None:
    assert is_alerts_question(question) is expected


def test_dates_in_the_finding_are_the_build_date(hand_made, policy) -> None:
    _, finding, _ = answer_alerts(executor=hand_made, policy=policy, role=ADMIN)
    assert date(2026, 9, 30).isoformat() in finding


def test_a_tag_question_is_answered_from_merchant_tags(tiny_pipeline, tiny_db) -> None:
    answer = tiny_pipeline.ask("差评预警商户有多少个")
    assert answer.error is None and answer.sql and "merchant_profile" in answer.sql
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        expected = con.execute("SELECT count(*) FROM merchant_profile "
                               "WHERE list_contains(tags, '差评预警')").fetchone()[0]
    assert expected > 0
    assert answer.columns == ["merchant_count"] and answer.rows == [[expected]]
