"""Side-by-side benchmarks: the four RFM implementations and SQL vs pandas must agree."""

from __future__ import annotations

import pandas as pd

from benchmarks import rfm, sql_vs_pandas


def test_rfm_four_ways_agree(bench_ctx):
    section = rfm.run(bench_ctx)
    m = section.data["tiny"]
    assert m["transactions"] > 10_000 and m["customers"] > 500
    assert m["agree"] == {"pandas": None, "product": None, "bare": None}
    assert set(m["seconds"]) == {"lifetimes", "pandas", "product", "bare"}
    assert section.goals[-1].passed is True


def test_disagreement_is_detected():
    a = pd.DataFrame({"frequency": [1.0, 0.0], "recency": [3.0, 0.0], "T": [9.0, 4.0], "monetary": [5.0, 0.0]},
                     index=pd.Index([1, 2], name="user_id"))
    assert rfm.disagreement(a, a.copy()) is None
    b = a.copy()
    b.loc[1, "monetary"] = 5.5
    assert "monetary" in rfm.disagreement(a, b)
    assert "customers" in rfm.disagreement(a, a.iloc[:1])


def test_compiled_sql_and_pandas_agree(bench_ctx):
    section = sql_vs_pandas.run(bench_ctx)
    cases = section.data["cases"]
    assert [c["kind"] for c in cases] == ["group-by", "top N", "growth", "trend"]
    assert all(c["agree"] for c in cases), cases
    assert section.goals[0].passed is True
