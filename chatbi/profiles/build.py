"""``build_profiles``: derive every profile table from the raw tables, then swap atomically.

The build works on a copy of the warehouse (``atomic_replace(copy_existing=True)``): readers
keep seeing the previous file until the new one is complete, and a failure at any step
leaves the previous file untouched. Every step is set-based DuckDB SQL; Python only fits
and applies the churn and CLV models on arrays. The review classifier (Python-bound) runs in
a background thread on its own cursor while the SQL steps proceed, and is joined before the
merchant step needs its labels. When ``chatbi.profiles.recommender`` is installed, its
tables are built in the same run: on warehouses with up to ``OVERLAP_MAX_ROWS`` order items
plus events in a second background thread started before the sentiment step (it reads only
raw tables; step ``recommender`` waits for it and reports its own duration, as for
sentiment), on larger ones last and alone, so the two do not compete for DuckDB's memory.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb

from chatbi.errors import WarehouseError
from chatbi.profiles import (
    alerts,
    churn,
    clv,
    features,
    history,
    merchants,
    relations,
    reviews,
    users,
)
from chatbi.profiles.background import BackgroundStep
from chatbi.profiles.inputs import InputInfo, check_inputs
from chatbi.profiles.report import BuildReport
from chatbi.profiles.staging import create_staging, resolve_as_of, scalar, training_cutoffs
from chatbi.warehouse.files import atomic_replace

Progress = Callable[[str, float], None]

PROFILE_TABLES = ("user_profile", "merchant_profile", "user_merchant_relation",
                  "review_sentiment", "tag_history", "alerts")
MEMORY_LIMIT = "4GB"
OVERLAP_MAX_ROWS = 40_000_000  # order items + events: the recommender overlaps the other steps

# (key, label shown to the user, share of the total progress bar)
STEPS = (
    ("check", "检查原始表 / checking raw tables", 0.02),
    ("staging", "准备订单与行为数据 / staging orders and events", 0.06),
    ("sentiment", "评论情感 / review sentiment", 0.10),
    ("features", "用户特征 / user features", 0.12),
    ("churn", "流失模型 / churn model", 0.14),
    ("user_state", "RFM、生命周期与价值分层 / RFM, lifecycle, value tiers", 0.06),
    ("clv", "客户终身价值 / customer lifetime value", 0.10),
    ("user_profile", "用户画像 / user profile", 0.06),
    ("merchants", "商户画像 / merchant profile", 0.08),
    ("relations", "用户-商户关系 / user-merchant relations", 0.08),
    ("tag_history", "标签历史 / tag history", 0.06),
    ("alerts", "异常预警 / alerts", 0.04),
    ("recommender", "关系与推荐 / relations and recommendations", 0.06),
    ("finish", "写入构建信息 / build info", 0.02),
)


class _Steps:
    """Times each step and reports progress as the cumulative share of finished work."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.started = time.perf_counter()
        self._done = 0.0
        self._steps = {key: (label, share) for key, label, share in STEPS}

    @contextmanager
    def step(self, key: str) -> Iterator[Callable[[float], None]]:
        label, share = self._steps[key]

        def partial(fraction: float) -> None:
            if self.progress:
                self.progress(label, min(1.0, self._done + share * fraction))

        partial(0.0)
        start, cpu = time.perf_counter(), time.process_time()
        yield partial
        self.seconds[key] = round(time.perf_counter() - start, 3)
        self.cpu_seconds[key] = round(time.process_time() - cpu, 3)
        self._done += share
        partial(0.0)


def build_profiles(db_path: Path, *, as_of: date | None = None,
                   progress: Progress | None = None) -> BuildReport:
    """Rebuild the profile tables of the warehouse at ``db_path`` as of ``as_of``.

    ``as_of`` defaults to the date of the latest order. ``progress(step_label, fraction)``
    is called as the build advances (fraction 0..1). Raises WarehouseError when raw
    tables or columns are missing (all of them listed in one message).
    """
    db_path = Path(db_path)
    if not db_path.exists():
        raise WarehouseError(
            f"数据仓库不存在 / warehouse not found: {db_path}. Run `chatbi init --demo` first.",
            code="warehouse_missing",
        )
    with atomic_replace(db_path, copy_existing=True) as tmp:
        try:
            con = duckdb.connect(str(tmp))
        except duckdb.Error as exc:
            raise WarehouseError(f"无法打开数据仓库 / cannot open warehouse {db_path}: {exc}",
                                 code="warehouse_unreadable") from exc
        try:
            report = _build(con, as_of, _Steps(progress))
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return report


def _build(con: duckdb.DuckDBPyConnection, as_of: date | None, steps: _Steps) -> BuildReport:
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET enable_progress_bar = false")
    with steps.step("check"):
        info = check_inputs(con)
        as_of = resolve_as_of(con, as_of)
        # free the previous build's blocks first, so the file does not grow on every rebuild
        # (review_sentiment stays: its rows are reused when the text is unchanged)
        for table in (*PROFILE_TABLES, "profile_build_info"):
            if table != "review_sentiment":
                con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("CHECKPOINT")
    with steps.step("staging"):
        create_staging(con, as_of)
    # the recommender reads only raw tables: on warehouses up to OVERLAP_MAX_ROWS it runs
    # beside every other step; above that both would compete for DuckDB's memory limit, so
    # it runs last, alone
    recommender = (BackgroundStep(con, lambda cur: _run_recommender(cur, as_of, info),
                                  name="recommender")
                   if _interaction_rows(con, info) <= OVERLAP_MAX_ROWS else None)
    job: reviews.BackgroundSentiment | None = None
    senti: reviews.SentimentResult | None = None
    try:
        with steps.step("sentiment") as partial:
            classifier = reviews.load_classifier()
            if classifier[0] is not None and info.has_reviews:
                job = reviews.BackgroundSentiment(con, as_of, classifier)  # overlaps the next steps
            else:
                senti = reviews.build_review_sentiment(con, as_of, partial, classifier=classifier)
        report = _build_rest(con, as_of, info, steps, job, senti, recommender)
    finally:
        if job is not None:
            job.cancel()
        if recommender is not None:
            recommender.cancel()
    return report


def _interaction_rows(con: duckdb.DuckDBPyConnection, info: InputInfo) -> int:
    """Rows the recommender aggregates: order items plus events."""
    events = scalar(con, "SELECT count(*) FROM events") if info.has_events else 0
    return int(scalar(con, "SELECT count(*) FROM order_items") or 0) + int(events or 0)


def _build_rest(con: duckdb.DuckDBPyConnection, as_of: date, info: InputInfo, steps: _Steps,
                job: reviews.BackgroundSentiment | None,
                senti: reviews.SentimentResult | None,
                recommender: BackgroundStep[tuple[dict[str, int], str | None]] | None
                ) -> BuildReport:
    with steps.step("features"):
        features.create_user_features(con, info)
    with steps.step("churn"):
        t1, t2 = training_cutoffs(as_of)
        churn_result = churn.train_and_score(con, t1, t2)
    with steps.step("user_state"):
        users.create_user_state(con)
    with steps.step("clv"):
        clv_result = clv.compute_clv(con, as_of)
    with steps.step("user_profile"):
        users.create_user_profile(con, as_of)
    with steps.step("merchants"):
        if job is not None:          # merchant review shares need the sentiment labels
            senti = job.result()
            steps.seconds["sentiment"] = job.seconds
        assert senti is not None
        merchants.create_merchant_state(con, info)
        merchants.create_merchant_profile(con, as_of)
    with steps.step("relations"):
        relations.create_relations(con, as_of, info)
    with steps.step("tag_history"):
        history.create_tag_history(con)
    with steps.step("alerts"):
        alert_count = alerts.create_alerts(con, as_of)
    with steps.step("recommender"):     # in the background: started before the sentiment step
        if recommender is None:
            extra_counts, extra_note = _run_recommender(con, as_of, info)
        else:
            extra_counts, extra_note = recommender.result()
    if recommender is not None:
        steps.seconds["recommender"] = recommender.seconds
    with steps.step("finish"):
        counts = {t: scalar(con, f"SELECT count(*) FROM {t}") for t in PROFILE_TABLES}
        notes = tuple(n for n in (churn_result.note, clv_result.note, senti.note, extra_note) if n)
        report = BuildReport(
            as_of=as_of, row_counts=counts, churn=churn_result, clv=clv_result,
            sentiment_method=senti.method, alert_count=alert_count,
            step_seconds=dict(steps.seconds), missing_optional_tables=info.missing_optional,
            notes=notes, extra_row_counts=extra_counts,
            elapsed_seconds=round(time.perf_counter() - steps.started, 3),
        )
        _write_build_info(con, report)
    return replace(report, step_seconds=dict(steps.seconds),
                   step_cpu_seconds=dict(steps.cpu_seconds),
                   elapsed_seconds=round(time.perf_counter() - steps.started, 3))


def _run_recommender(con: duckdb.DuckDBPyConnection, as_of: date,
                     info: InputInfo) -> tuple[dict[str, int], str | None]:
    """Run ``chatbi.profiles.recommender`` (built separately) when it is installed.

    Its tables are extras: a failure there is reported in the notes and does not stop the
    profile tables from being swapped in.
    """
    try:
        module = importlib.import_module("chatbi.profiles.recommender")
    except ImportError:
        return {}, None
    try:
        result = module.create_recommendations(con, as_of, info)
    except Exception as exc:  # noqa: BLE001 - optional step; the core profiles still land
        return {}, f"推荐步骤失败，推荐表未更新 / recommender step failed: {type(exc).__name__}: {exc}"
    return dict(getattr(result, "row_counts", {}) or {}), None


def _write_build_info(con: duckdb.DuckDBPyConnection, report: BuildReport) -> None:
    c, v = report.churn, report.clv
    con.execute("""
        CREATE OR REPLACE TABLE profile_build_info (
            built_at TIMESTAMP, as_of DATE, churn_model VARCHAR, churn_auc DOUBLE,
            baseline_auc DOUBLE, churn_train_cutoff DATE, churn_valid_cutoff DATE,
            clv_method VARCHAR, clv_corr DOUBLE, clv_mae DOUBLE, clv_naive_corr DOUBLE,
            clv_naive_mae DOUBLE, sentiment_method VARCHAR, alert_count INTEGER,
            user_count BIGINT, merchant_count BIGINT, elapsed_seconds DOUBLE,
            report_json VARCHAR)
    """)
    con.execute(
        "INSERT INTO profile_build_info VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [datetime.now().replace(microsecond=0), report.as_of, c.method, c.auc, c.baseline_auc,
         c.train_cutoff, c.valid_cutoff, v.method, v.corr, v.mae, v.naive_corr, v.naive_mae,
         report.sentiment_method, report.alert_count, report.row_counts["user_profile"],
         report.row_counts["merchant_profile"], report.elapsed_seconds, report.to_json()],
    )
