"""Churn model and CLV: validated on held-out periods, better than their naive baselines."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from lifetimes.utils import calibration_and_holdout_data

from chatbi.profiles import build_profiles
from chatbi.profiles.clv import MODEL_NAME, NAIVE_NAME, _summary
from chatbi.profiles.staging import create_staging


def test_churn_model_beats_recency_baseline(built) -> None:
    churn = built[1].churn
    assert churn.method == "HistGradientBoostingClassifier"
    assert churn.valid_cutoff - churn.train_cutoff == timedelta(days=90)
    assert churn.valid_cutoff == built[1].as_of - timedelta(days=90)
    assert churn.auc > churn.baseline_auc + 0.02
    assert churn.valid_rows > 500


def test_churn_risk_is_a_probability_for_everyone(con) -> None:
    row = con.execute("SELECT count(*), count(churn_risk), min(churn_risk), max(churn_risk) "
                      "FROM user_profile").fetchone()
    assert row[0] == row[1] and 0.0 <= row[2] < row[3] <= 1.0
    # recent, frequent buyers are on average far less likely to churn than lost ones
    active, lost = con.execute("""
        SELECT avg(churn_risk) FILTER (WHERE lifecycle_stage = '活跃'),
               avg(churn_risk) FILTER (WHERE lifecycle_stage = '流失' AND frequency > 0)
        FROM user_profile""").fetchone()
    assert active + 0.3 < lost


def test_too_little_history_leaves_churn_risk_empty(tmp_path: Path, raw_db: Path) -> None:
    path = tmp_path / "small.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"ATTACH '{raw_db}' AS src (READ_ONLY)")
        for table in ("users", "merchants", "products", "orders", "order_items"):
            where = "WHERE user_id <= 30" if table in ("users", "orders") else ""
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM src.{table} {where}")
    report = build_profiles(path)
    assert report.churn.method == "unavailable" and report.churn.note
    assert report.clv.method == NAIVE_NAME
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(churn_risk), count(*) FROM user_profile").fetchone() == (0, 30)
        # the naive CLV is the spend of the last 365 days
        bad = con.execute("""
            SELECT count(*) FROM user_profile p WHERE abs(p.predicted_clv - (
                SELECT coalesce(sum(pay_amount), 0) FROM orders o WHERE o.user_id = p.user_id
                AND o.status <> 'cancelled' AND o.order_ts::DATE > p.profile_date - 365)) > 0.01
        """).fetchone()[0]
        assert bad == 0


def test_clv_summary_matches_lifetimes(raw_db: Path) -> None:
    as_of, holdout = date(2026, 9, 30), 365
    cal_end = as_of - timedelta(days=holdout)
    with duckdb.connect(str(raw_db), read_only=True) as con:
        create_staging(con, as_of)
        ours = pd.DataFrame(_summary(con, cal_end, holdout)).set_index("user_id")
        tx = con.execute("SELECT user_id, order_ts::DATE AS day, CAST(pay_amount AS DOUBLE) AS amt "
                         "FROM orders WHERE status <> 'cancelled'").df()
    tx["day"] = pd.to_datetime(tx["day"])
    ref = calibration_and_holdout_data(tx, "user_id", "day", calibration_period_end=cal_end,
                                       observation_period_end=as_of, monetary_value_col="amt")
    joined = ref.join(ours, how="inner")
    assert len(joined) == len(ref) == len(ours)
    for theirs, mine in (("frequency_cal", "frequency"), ("recency_cal", "recency"),
                         ("T_cal", "t"), ("monetary_value_cal", "monetary")):
        assert np.allclose(joined[theirs], joined[mine], atol=1e-6), theirs
    hold = tx[(tx["day"] > pd.Timestamp(cal_end)) & (tx["day"] <= pd.Timestamp(as_of))]
    spend = hold.groupby("user_id")["amt"].sum().reindex(joined.index, fill_value=0.0)
    assert np.allclose(spend, joined["holdout_spend"], atol=1e-4)


def test_clv_validation_beats_naive(built, con) -> None:
    clv = built[1].clv
    assert clv.method == MODEL_NAME and clv.holdout_days == 365
    assert clv.mae < clv.naive_mae and clv.corr > clv.naive_corr
    row = con.execute("SELECT min(predicted_clv), count(*) FILTER (WHERE predicted_clv > 0), "
                      "count(*) FILTER (WHERE frequency = 0 AND predicted_clv <> 0) "
                      "FROM user_profile").fetchone()
    assert row[0] >= 0 and row[1] > 0 and row[2] == 0
