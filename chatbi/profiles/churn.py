"""Churn risk: a gradient-boosted model trained on past cut-offs and validated on a later one.

Label at a cut-off T: 1 when the user places no valid order in (T, T + 90 days].
Train on T1 = as_of − 180 days (labels from T1..T1+90), validate on T2 = as_of − 90 days
(labels T2..as_of), compare with a recency-only baseline on the same held-out customers,
then fit the same recipe on T2 (the latest labelled period) and score every user at the
as-of date, and at each month end the customers not yet 流失 (the only users whose
month-end tags depend on churn risk).
Features come from ``_uf`` (SQL); only fit/predict run in Python, on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from chatbi.profiles import rules
from chatbi.profiles.features import MODEL_FEATURES
from chatbi.profiles.staging import sql_date

MODEL_NAME = "HistGradientBoostingClassifier"
_MIN_ROWS = 100
_MIN_CLASS = 10


@dataclass(frozen=True)
class ChurnResult:
    """How the churn model was trained and how well it did on the held-out period."""

    method: str
    train_cutoff: date
    valid_cutoff: date
    train_rows: int = 0
    valid_rows: int = 0
    auc: float | None = None
    baseline_auc: float | None = None
    auc_all_users: float | None = None
    churn_rate: float | None = None
    note: str | None = None


def _model() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.15, max_leaf_nodes=31, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=15, random_state=0,
    )


def _matrix(cols: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    out = np.empty((len(cols[names[0]]) if names else 0, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        arr = cols[name]
        out[:, j] = np.ma.filled(np.ma.asarray(arr, dtype=np.float64), np.nan)
    return out


def _fetch(con: duckdb.DuckDBPyConnection, cutoff: date, *, labelled: bool,
           alive_only: bool = False) -> dict[str, np.ndarray]:
    feats = ", ".join(f"CAST(f.{c} AS DOUBLE) AS {c}" for c in MODEL_FEATURES)
    label = ", CAST(l.user_id IS NULL AS INTEGER) AS churned" if labelled else ""
    join = ("LEFT JOIN _churn_labels l ON l.cutoff = f.cutoff AND l.user_id = f.user_id"
            if labelled else "")
    where = f"f.cutoff = {sql_date(cutoff)}"
    if alive_only:   # customers not yet 流失: the only ones whose tags depend on churn_risk
        where += f" AND f.has_ordered = 1 AND f.recency_days < {rules.SILENT_DAYS}"
    return con.execute(
        f"SELECT f.user_id, {feats}{label} FROM _uf f {join} WHERE {where} ORDER BY f.user_id"
    ).fetchnumpy()


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    ok = ~np.isnan(score)
    y, score = y[ok], score[ok]
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, score))


def train_and_score(con: duckdb.DuckDBPyConnection, t1: date, t2: date) -> ChurnResult:
    """Fit, validate and score; writes ``_churn_scores(cutoff, user_id, churn_risk)``.

    scikit-learn runs single-threaded: its OpenMP workers spin and slow down by an order of
    magnitude on a shared, busy machine, and one thread is fast enough here.
    """
    with threadpool_limits(limits=1):
        return _train_and_score(con, t1, t2)


def _train_and_score(con: duckdb.DuckDBPyConnection, t1: date, t2: date) -> ChurnResult:
    window = rules.CHURN_WINDOW_DAYS
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _churn_labels AS
        SELECT c.cutoff, o.user_id, count(*) AS future_orders
        FROM _orders o JOIN _cutoffs c
          ON c.is_train AND o.d > c.cutoff AND o.d <= c.cutoff + {window}
        GROUP BY ALL
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE _churn_scores "
                "(cutoff DATE, user_id BIGINT, churn_risk DOUBLE)")
    train = _fetch(con, t1, labelled=True)
    valid = _fetch(con, t2, labelled=True)
    y1, y2 = train["churned"].astype(int), valid["churned"].astype(int)
    result = ChurnResult(method="unavailable", train_cutoff=t1, valid_cutoff=t2,
                         train_rows=len(y1), valid_rows=len(y2))
    if len(y1) < _MIN_ROWS or min(y1.sum(), len(y1) - y1.sum()) < _MIN_CLASS:
        return replace(result, note="训练数据不足（用户或流失/留存样本太少），churn_risk 为空")
    # features that are entirely missing (e.g. no events table) carry no signal: drop them
    names = tuple(n for n in MODEL_FEATURES
                  if not np.all(np.isnan(_matrix(train, (n,)))))
    x1, x2 = _matrix(train, names), _matrix(valid, names)
    held_out = _model().fit(x1, y1)
    p2 = held_out.predict_proba(x2)[:, 1] if len(y2) else np.empty(0)
    customers = valid["has_ordered"] == 1 if len(y2) else np.zeros(0, dtype=bool)
    auc = _auc(y2[customers], p2[customers])
    baseline = _auc(y2[customers], np.asarray(valid["recency_days"][customers], dtype=float))
    final = _model().fit(x2, y2)   # the same recipe, one period later
    _score(con, final, names)
    return replace(
        result, method=MODEL_NAME, auc=auc, baseline_auc=baseline, auc_all_users=_auc(y2, p2),
        churn_rate=float(y2[customers].mean()) if customers.any() else None,
        valid_rows=int(customers.sum()),
    )


def _score(con: duckdb.DuckDBPyConnection, model: HistGradientBoostingClassifier,
           names: tuple[str, ...]) -> None:
    cutoffs = con.execute(
        "SELECT cutoff, is_asof FROM _cutoffs WHERE is_asof OR is_snapshot ORDER BY cutoff"
    ).fetchall()
    for cutoff, is_asof in cutoffs:
        cols = _fetch(con, cutoff, labelled=False, alive_only=not is_asof)
        if len(cols["user_id"]) == 0:
            continue
        risk = model.predict_proba(_matrix(cols, names))[:, 1]
        batch = pa.table({"user_id": np.asarray(cols["user_id"], dtype=np.int64),
                          "churn_risk": np.round(risk, 4)})
        con.register("_churn_batch", batch)
        con.execute(f"INSERT INTO _churn_scores SELECT {sql_date(cutoff)}, user_id, churn_risk "
                    "FROM _churn_batch")
        con.unregister("_churn_batch")

