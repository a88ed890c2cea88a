"""The product's compiled SQL in DuckDB vs the same computation hand-written in pandas.

For a few typical questions (group-by, top N, growth, trend) the offline planner compiles
the SQL; it runs on the warehouse file in DuckDB (read-only connection), and an equivalent
pandas computation runs on the same tables loaded into pandas first (load time reported
separately). Results are checked to agree (same keys, values within 1e-6 relative).
DuckDB uses both cores; pandas one.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from benchmarks.common import Context, Goal, Section, fmt_ms, median_time, offline_pipeline, timed


def load_tables(db) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "orders": con.execute("SELECT order_id, user_id, merchant_id, order_ts, status, "
                                  "CAST(pay_amount AS DOUBLE) AS pay_amount FROM orders").df(),
            "users": con.execute("SELECT user_id, region FROM users").df(),
            "merchants": con.execute("SELECT merchant_id, merchant_name FROM merchants").df(),
        }
    finally:
        con.close()


def _valid(t: dict[str, pd.DataFrame], start: date | None = None, end: date | None = None) -> pd.DataFrame:
    o = t["orders"]
    keep = o["status"] != "cancelled"
    if start is not None:
        keep &= (o["order_ts"] >= pd.Timestamp(start)) & (o["order_ts"] < pd.Timestamp(end + timedelta(days=1)))
    return o[keep]


def gmv_by_region(t, start=None, end=None) -> pd.DataFrame:
    o = _valid(t, start, end).merge(t["users"], on="user_id", how="left")
    return o.groupby("region", dropna=False)["pay_amount"].sum().rename("gmv").reset_index()


def top_merchants(t, start, end, n=10) -> pd.DataFrame:
    o = _valid(t, start, end).merge(t["merchants"], on="merchant_id", how="left")
    g = o.groupby(["merchant_id", "merchant_name"], dropna=False)["pay_amount"].sum().rename("gmv").reset_index()
    return g.sort_values(["gmv", "merchant_id"], ascending=[False, True]).head(n)


def region_growth(t, start, end) -> pd.DataFrame:
    prev = pd.Period(start, "Q") - 1
    cur = gmv_by_region(t, start, end).set_index("region")["gmv"]
    before = gmv_by_region(t, prev.start_time.date(), prev.end_time.date()).set_index("region")["gmv"]
    out = pd.DataFrame({"gmv": cur, "gmv_previous": before})
    out["gmv_growth"] = (out["gmv"] - out["gmv_previous"]) / out["gmv_previous"].replace(0, np.nan)
    return out.reset_index(names="region")


def monthly_gmv(t, start, end) -> pd.DataFrame:
    o = _valid(t, start, end)
    month = o["order_ts"].dt.to_period("M").dt.start_time.dt.date
    return o.groupby(month)["pay_amount"].sum().rename("gmv").rename_axis("month").reset_index()


# question, kind, key columns, pandas computation (tables, start, end)
CASES = (
    ("各大区的GMV", "group-by", ["region"], lambda t, s, e: gmv_by_region(t)),
    ("上个季度GMV最高的10个商户", "top N", ["merchant_id"], top_merchants),
    ("上个季度各大区GMV环比增长", "growth", ["region"], region_growth),
    ("今年按月的GMV趋势", "trend", ["month"], monthly_gmv),
)


def agree(sql_frame: pd.DataFrame, pandas_frame: pd.DataFrame, keys: list[str]) -> bool:
    metrics = [c for c in sql_frame.columns if c in pandas_frame.columns and c not in keys
               and pd.api.types.is_numeric_dtype(pandas_frame[c])]
    a = sql_frame.set_index(keys).sort_index()[metrics].astype(float)
    b = pandas_frame.set_index(keys).sort_index()[metrics].astype(float)
    return a.index.equals(b.index) and np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, equal_nan=True)


def measure(ctx: Context, scale: str) -> dict:
    db = ctx.warehouse(scale)
    reps = ctx.repeats(scale)
    pipeline = offline_pipeline(db)
    try:
        answers = {q: pipeline.ask(q) for q, *_ in CASES}
    finally:
        pipeline.close()
    load_s, tables = timed(lambda: load_tables(db))
    con = duckdb.connect(str(db), read_only=True)
    rows = []
    try:
        for question, kind, keys, compute in CASES:
            answer = answers[question]
            tr = answer.semantic_query.time_range if answer.semantic_query else None
            start, end = (tr.start, tr.end) if tr else (None, None)
            sql_s, sql_frame = median_time(lambda a=answer: con.execute(a.sql).df(), reps)
            pd_s, pd_frame = median_time(lambda c=compute, s=start, e=end: c(tables, s, e), reps)
            rows.append({"question": question, "kind": kind, "sql_s": sql_s, "pandas_s": pd_s,
                         "agree": agree(sql_frame, pd_frame, keys), "rows": len(sql_frame)})
    finally:
        con.close()
    return {"scale": scale, "load_s": load_s, "orders": len(tables["orders"]), "reps": reps, "cases": rows}


def run(ctx: Context) -> Section:
    scale = ctx.primary
    section = Section("sql_vs_pandas", f"Compiled SQL in DuckDB vs hand-written pandas ({scale})")
    section.intro = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    m = measure(ctx, scale)
    section.header = ["question", "kind", "DuckDB (compiled SQL)", "pandas", "pandas ÷ DuckDB", "results agree"]
    for c in m["cases"]:
        section.rows.append([c["question"], c["kind"], fmt_ms(c["sql_s"] * 1000), fmt_ms(c["pandas_s"] * 1000),
                             f"{c['pandas_s'] / c['sql_s']:.1f}×", "yes" if c["agree"] else "NO"])
    section.notes.append(f"Loading orders ({m['orders']:,} rows), users and merchants into pandas took "
                         f"{m['load_s']:.2f} s, not counted above; medians of {m['reps']}.")
    section.data = m
    ok = all(c["agree"] for c in m["cases"])
    section.goals = [Goal(f"compiled SQL and pandas agree ({scale})", "same results", "yes" if ok else "no", ok)]
    return section
