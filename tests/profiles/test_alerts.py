"""alerts: planted anomalies fire with readable messages; a quiet warehouse stays quiet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
from scipy.stats import binom

from chatbi.profiles import build_profiles
from chatbi.profiles.alerts import Period, p_values, quarters
from chatbi.profiles.contract import SEVERITIES
from tests.profiles.synthetic import DISPUTE_MERCHANT, generate


def test_quarters_follow_the_team_definition_of_last_quarter() -> None:
    recent, prev = quarters(date(2026, 9, 30))
    assert recent == Period(date(2026, 4, 1), date(2026, 6, 30)) and recent.label == "2026Q2"
    assert prev == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert quarters(date(2026, 2, 10))[0] == Period(date(2025, 10, 1), date(2025, 12, 31))


def test_p_values_are_exact_binomial_tails() -> None:
    test = np.array(["rate_up", "count_down", "proportion_down"])
    x1, n1 = np.array([8.0, 9.0, 4.0]), np.array([42.0, 400.0, 72.0])
    x0, n0 = np.array([10.0, 60.0, 18.0]), np.array([303.0, 1200.0, 79.0])
    p = p_values(test, x1, n1, x0, n0)
    assert abs(p[0] - binom.sf(7, 18, 42 / 345)) < 1e-12
    assert abs(p[1] - binom.cdf(9, 69, 400 / 1600)) < 1e-12
    assert 0 < p[2] < 0.01


def test_planted_anomalies_fire(con) -> None:
    rows = con.execute("SELECT entity_type, entity_id, metric, severity, value, baseline, message "
                       "FROM alerts ORDER BY alert_id").fetchall()
    found = {(r[0], r[1], r[2]): r for r in rows}
    dispute = found[("merchant", str(DISPUTE_MERCHANT), "dispute_rate")]
    assert dispute[3] == "high" and dispute[4] > 4 * dispute[5]
    assert "纠纷率" in dispute[6] and f"{100 * dispute[4]:.1f}%" in dispute[6]
    category = found[("category", "家居", "gmv")]
    assert "下降" in category[6] and category[4] < 0.5 * category[5]
    region = found[("region", "华南", "new_user_conversion_rate")]
    assert "2026Q2" in region[6] and "抖音" in region[6]
    assert all(r[3] in SEVERITIES for r in rows)
    assert len(rows) <= 6


def test_alert_columns(con) -> None:
    row = con.execute("""SELECT count(*), count(DISTINCT alert_id), min(detected_at)::DATE,
                                count(*) FILTER (WHERE p_value >= 0.05 / tested)
                         FROM alerts""").fetchone()
    assert row[0] == row[1] > 0 and row[2] == date(2026, 9, 30) and row[3] == 0


def test_quiet_warehouse_raises_few_alerts(tmp_path: Path) -> None:
    path = generate(tmp_path / "quiet.duckdb", planted=False, seed=11)
    report = build_profiles(path)
    with duckdb.connect(str(path), read_only=True) as con:
        fired = con.execute("SELECT message FROM alerts").fetchall()
    assert report.alert_count <= 1, fired


WHY_QUESTIONS = {
    ("merchant", "dispute_rate"): "为什么纠纷率上升了？",
    ("merchant", "return_rate"): "为什么退货率上升了？",
    ("category", "gmv"): "为什么{0}品类GMV下降了？",
    ("region", "new_user_conversion_rate"): "为什么{0}新用户转化率下降了？",
    ("channel", "new_user_conversion_rate"): "为什么注册渠道{0}的新用户转化率下降了？",
    ("region_channel", "new_user_conversion_rate"): "为什么{0}注册渠道{1}的新用户转化率下降了？",
}


def test_each_alerts_why_question_reports_its_period_and_numbers(built) -> None:
    """Asked without a time, the why-question about an alert compares the alert's window with
    its baseline and states the alert's two numbers: a rate as it is, a category's GMV against
    the baseline's daily average over 30 days (as the alert message says)."""
    from dataclasses import replace

    from chatbi.answer.numbers import format_money, format_percent
    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings

    path = built[0]
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute("SELECT * FROM alerts ORDER BY alert_id")
        names = [d[0] for d in cur.description]
        alerts = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    pipeline = Pipeline(replace(Settings.from_env(db_path=path), planner="offline", openai_api_key=None))
    checked = set()
    try:
        for alert in alerts:
            question = WHY_QUESTIONS.get((alert["entity_type"], alert["metric"]))
            if question is None:
                continue
            role = f"merchant:{alert['merchant_id']}" if alert["entity_type"] == "merchant" else "admin"
            answer = pipeline.ask(question.format(*str(alert["entity_id"]).split("/")), role=role)
            assert answer.ok, answer.error
            for start, end in (("window_start", "window_end"), ("baseline_start", "baseline_end")):
                assert f"{alert[start]} 至 {alert[end]}" in answer.time_range_text, answer.time_range_text
            words = format_money if alert["metric"] == "gmv" else format_percent
            now, before = words(alert["value"]), words(alert["baseline"])
            assert now in alert["message"] and before in alert["message"], alert["message"]  # same words
            first = answer.finding.split("主要驱动")[0]
            assert now in first and before in first and first.index(now) < first.index(before), (
                alert["message"], answer.finding)
            assert any(f"#{alert['alert_id']}" in n for n in answer.notes), answer.notes
            checked.add(alert["entity_type"])
    finally:
        pipeline.close()
    assert {"merchant", "category", "region"} <= checked, checked  # the planted stories
