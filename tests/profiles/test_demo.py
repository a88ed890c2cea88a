"""The profile build on the tiny demo warehouse (generate_demo, seed 7; tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from chatbi.profiles.contract import (
    LIFECYCLE_STAGES,
    PROFILE_CONTRACT,
    RFM_SEGMENTS,
    VALUE_TIERS,
)

pytest.importorskip("chatbi.warehouse.demo")


@pytest.fixture()
def demo(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def test_contract_columns_and_types(demo) -> None:
    for table, columns in PROFILE_CONTRACT.items():
        actual = dict(demo.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ?", [table]).fetchall())
        wrong = {c: actual.get(c) for c, t in columns.items()
                 if actual.get(c) not in (t, t.replace(",", ", "))}
        assert not wrong, f"{table}: {wrong}"


def test_churn_model_beats_recency_baseline(demo) -> None:
    auc, base = demo.execute("SELECT churn_auc, baseline_auc FROM profile_build_info").fetchone()
    assert auc > base > 0.5


def test_planted_dispute_jump_is_the_top_alert(demo) -> None:
    # the merchant with the highest dispute rate in the last 30 days (≥ 30 orders), from raw data
    worst = demo.execute("""
        WITH a AS (SELECT max(order_ts)::DATE AS a FROM orders)
        SELECT merchant_id FROM orders, a
        WHERE status <> 'cancelled' AND order_ts::DATE > a - 30
        GROUP BY merchant_id HAVING count(*) >= 30
        ORDER BY avg(CASE WHEN is_disputed THEN 1 ELSE 0 END) DESC LIMIT 1""").fetchone()[0]
    top = demo.execute("SELECT entity_type, entity_id, metric, message FROM alerts "
                       "ORDER BY alert_id LIMIT 1").fetchone()
    assert top[:3] == ("merchant", str(worst), "dispute_rate")
    assert "纠纷率" in top[3]
    assert demo.execute("SELECT count(*) FROM alerts").fetchone()[0] <= 3


def test_segments_tiers_and_history(demo) -> None:
    def values(sql: str) -> set[str]:
        return {r[0] for r in demo.execute(sql).fetchall()}

    assert values("SELECT DISTINCT rfm_segment FROM user_profile WHERE rfm_segment IS NOT NULL") \
        == set(RFM_SEGMENTS)
    assert values("SELECT DISTINCT value_tier FROM user_profile") == set(VALUE_TIERS)
    assert values("SELECT DISTINCT lifecycle_stage FROM user_profile") == set(LIFECYCLE_STAGES)
    snaps = demo.execute("SELECT count(DISTINCT snapshot_date), max(snapshot_date) "
                         "FROM tag_history").fetchone()
    assert snaps[0] == 12 and snaps[1] == demo.execute(
        "SELECT max(order_ts)::DATE FROM orders").fetchone()[0]
    merchant_tags = values("SELECT DISTINCT unnest(tags) FROM merchant_profile")
    assert {"高频上新型", "高客单价型", "滞销风险型", "高复购型"} <= merchant_tags
