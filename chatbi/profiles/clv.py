"""Predicted customer lifetime value: BG/NBD (repeat purchases) × Gamma-Gamma (spend).

The per-customer summaries are computed in SQL with exactly the definitions of
``lifetimes.utils.calibration_and_holdout_data`` (daily transactions; frequency = repeat
purchase days; recency = last − first purchase day; T = period end − first purchase day;
monetary = mean spend of the repeat days). Validation: fit on data up to as_of − H, predict
spend in the H-day holdout, and compare with the naive forecast "the next H days repeat the
last H days" (Pearson correlation and mean absolute error). The final model is refit on
everything up to the as-of date and predicts the next 365 days. If fitting fails or there
are too few customers, predicted_clv falls back to the customer's spend in the last 365
days (the naive forecast), and the report says so.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pyarrow as pa
from lifetimes import BetaGeoFitter, GammaGammaFitter

from chatbi.profiles import rules
from chatbi.profiles.staging import scalar, sql_date

MODEL_NAME = "BG/NBD + Gamma-Gamma"
NAIVE_NAME = "naive: spend of the last 365 days"


@dataclass(frozen=True)
class ClvResult:
    """How predicted_clv was produced and how it validated on the holdout period."""

    method: str
    horizon_days: int
    holdout_days: int | None = None
    customers: int = 0
    corr: float | None = None
    mae: float | None = None
    naive_corr: float | None = None
    naive_mae: float | None = None
    note: str | None = None


def _summary(con: duckdb.DuckDBPyConnection, end: date, holdout: int) -> dict[str, np.ndarray]:
    """Per customer with a first purchase on or before ``end``: BG/NBD inputs and spends."""
    e = sql_date(end)
    return con.execute(f"""
        WITH daily AS (
            SELECT user_id, d, sum(pay) AS amt FROM _orders
            WHERE d <= {e} + {holdout} GROUP BY user_id, d
        ), cal AS (
            SELECT user_id,
                   CAST(count(*) - 1 AS DOUBLE) AS frequency,
                   CAST(max(d) - min(d) AS DOUBLE) AS recency,
                   CAST({e} - min(d) AS DOUBLE) AS t,
                   CASE WHEN count(*) > 1 THEN (sum(amt) - arg_min(amt, d)) / (count(*) - 1)
                        ELSE 0 END AS monetary,
                   coalesce(sum(amt) FILTER (WHERE d > {e} - {rules.CLV_HORIZON_DAYS}), 0)
                       AS last_year_spend,
                   coalesce(sum(amt) FILTER (WHERE d > {e} - {max(holdout, 1)}), 0)
                       AS last_period_spend
            FROM daily WHERE d <= {e} GROUP BY user_id
        ), hold AS (
            SELECT user_id, sum(amt) AS spend FROM daily WHERE d > {e} GROUP BY user_id
        )
        SELECT cal.*, coalesce(hold.spend, 0) AS holdout_spend
        FROM cal LEFT JOIN hold USING (user_id) ORDER BY user_id
    """).fetchnumpy()


def _sample(n: int, cap: int) -> np.ndarray:
    idx = np.arange(n)
    if n <= cap:
        return idx
    return np.sort(np.random.default_rng(0).choice(idx, cap, replace=False))


def _fit(s: dict[str, np.ndarray]) -> tuple[BetaGeoFitter, GammaGammaFitter, float]:
    """Fit both models on a sample; monetary values are scaled by their median for stability.

    Tries increasing penalizers before giving up. Returns the fitters and the money scale.
    """
    f, r, t, m = (np.asarray(s[k], dtype=float) for k in ("frequency", "recency", "t", "monetary"))
    fit_rows = _sample(len(f), rules.CLV_MAX_FIT_ROWS)
    fit_rows = fit_rows[t[fit_rows] > 0]
    repeat = fit_rows[(f[fit_rows] > 0) & (m[fit_rows] > 0)]
    if len(repeat) < 10:
        raise ValueError(f"only {len(repeat)} repeat customers")
    scale = float(np.median(m[repeat]))
    error: Exception | None = None
    for penalizer in rules.CLV_PENALIZERS:
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                bgf = BetaGeoFitter(penalizer_coef=penalizer)
                bgf.fit(f[fit_rows], r[fit_rows], t[fit_rows])
                ggf = GammaGammaFitter(penalizer_coef=penalizer)
                ggf.fit(f[repeat], m[repeat] / scale)
        except Exception as exc:  # noqa: BLE001 - ConvergenceError, LinAlgError, …
            error = exc
            continue
        params = np.concatenate([bgf.params_.to_numpy(), ggf.params_.to_numpy()])
        if np.all(np.isfinite(params)):
            return bgf, ggf, scale
        error = ValueError("non-finite parameters")
    raise error or ValueError("fit failed")


def _predict(bgf: BetaGeoFitter, ggf: GammaGammaFitter, scale: float,
             s: dict[str, np.ndarray], days: int) -> np.ndarray:
    f, r, t, m = (np.asarray(s[k], dtype=float) for k in ("frequency", "recency", "t", "monetary"))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        n = np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(days, f, r, t))
        spend = scale * np.asarray(
            ggf.conditional_expected_average_profit(f, np.where(f > 0, m / scale, 0)))
    value = n * spend
    naive = np.asarray(s["last_year_spend"], dtype=float) * days / rules.CLV_HORIZON_DAYS
    return np.where(np.isfinite(value) & (value >= 0), value, naive)


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _validate(con: duckdb.DuckDBPyConnection, as_of: date, span_days: int,
              result: ClvResult) -> ClvResult:
    """``result`` with the holdout figures filled in (or a note why there are none)."""
    holdout = rules.CLV_HORIZON_DAYS if span_days >= 2 * rules.CLV_HORIZON_DAYS else span_days // 2
    if holdout < 30:
        return replace(result, note="历史太短，未做留出验证")
    s = _summary(con, as_of - timedelta(days=holdout), holdout)
    if len(s["user_id"]) < rules.CLV_MIN_CUSTOMERS:
        return replace(result, note="客户太少，未做留出验证")
    bgf, ggf, scale = _fit(s)
    pred = _predict(bgf, ggf, scale, s, holdout)
    actual = np.asarray(s["holdout_spend"], dtype=float)
    naive = np.asarray(s["last_period_spend"], dtype=float)
    return replace(result, holdout_days=holdout, corr=_corr(pred, actual),
                   mae=float(np.mean(np.abs(pred - actual))), naive_corr=_corr(naive, actual),
                   naive_mae=float(np.mean(np.abs(naive - actual))))


def compute_clv(con: duckdb.DuckDBPyConnection, as_of: date) -> ClvResult:
    """Write ``_clv(user_id, predicted_clv)`` for every customer; return how it was done."""
    horizon = rules.CLV_HORIZON_DAYS
    first = scalar(con, "SELECT min(d) FROM _orders")
    span = (as_of - first).days if first else 0
    s = _summary(con, as_of, 0)
    n = len(s["user_id"])
    result = ClvResult(method=MODEL_NAME, horizon_days=horizon, customers=n)
    value = np.asarray(s["last_year_spend"], dtype=float)
    if n < rules.CLV_MIN_CUSTOMERS:
        result = replace(result, method=NAIVE_NAME, note=f"只有 {n} 个客户，不足以拟合 BG/NBD")
    else:
        try:
            result = _validate(con, as_of, span, result)
            bgf, ggf, scale = _fit(s)
            value = _predict(bgf, ggf, scale, s, horizon)
        except Exception as exc:  # noqa: BLE001 - any fitting failure → documented fallback
            result = ClvResult(method=NAIVE_NAME, horizon_days=horizon, customers=n,
                               note=f"BG/NBD 拟合失败，改用朴素预测: {type(exc).__name__}: {exc}")
            value = np.asarray(s["last_year_spend"], dtype=float)
    table = pa.table({"user_id": np.asarray(s["user_id"], dtype=np.int64),
                      "predicted_clv": np.round(value, 2)})
    con.register("_clv_batch", table)
    con.execute("CREATE OR REPLACE TEMP TABLE _clv AS SELECT * FROM _clv_batch")
    con.unregister("_clv_batch")
    return result
