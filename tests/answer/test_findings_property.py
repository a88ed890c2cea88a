"""Property: whatever the numbers, the template finding passes its own checker and never
states a number the frame did not produce."""

from __future__ import annotations

from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbi.answer.charts import build_chart
from chatbi.answer.facts import compute_facts
from chatbi.answer.findings import check_finding, write_finding

from .helpers import THIS_YEAR, ctx

amounts = st.one_of(
    st.floats(min_value=0.01, max_value=99.0),
    st.floats(min_value=100.0, max_value=99_999.0),
    st.floats(min_value=1e5, max_value=5e9),
    st.integers(min_value=0, max_value=10**9).map(float),
)
growths = st.floats(min_value=-0.95, max_value=5.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(amounts, min_size=2, max_size=12), language=st.sampled_from(["zh", "en"]),
       metric=st.sampled_from(["gmv", "orders", "conversion_rate"]))
def test_ranking_template_always_checks(values: list[float], language: str, metric: str) -> None:
    if metric == "conversion_rate":
        values = [v / (max(values) or 1) for v in values]
    frame = pd.DataFrame({"region": [f"区{i}" for i in range(len(values))], metric: values})
    c = ctx(language, metrics=[metric], dimensions=["region"])
    facts = compute_facts(frame, c)
    text = write_finding(facts, c)
    result = check_finding(text, facts)
    assert result.ok and result.mentions_time, (text, result.unmatched)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(amounts, growths), min_size=2, max_size=8),
       language=st.sampled_from(["zh", "en"]),
       comparison=st.sampled_from(["previous_period", "same_period_last_year"]))
def test_growth_template_always_checks(rows: list[tuple[float, float]], language: str,
                                       comparison: str) -> None:
    frame = pd.DataFrame({
        "category": [f"c{i}" for i in range(len(rows))],
        "gmv": [v * (1 + g) for v, g in rows],
        "gmv_previous": [v for v, _ in rows],
        "gmv_growth": [g for _, g in rows],
    })
    c = ctx(language, dimensions=["category"], comparison=comparison)
    facts = compute_facts(frame, c)
    text = write_finding(facts, c)
    result = check_finding(text, facts)
    assert result.ok, (text, result.unmatched)
    assert build_chart(frame, c).choice.kind == "diverging_bar"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(amounts, min_size=2, max_size=9), language=st.sampled_from(["zh", "en"]),
       grain=st.sampled_from(["month", "quarter"]))
def test_trend_template_always_checks(values: list[float], language: str, grain: str) -> None:
    step = 1 if grain == "month" else 3
    starts = [date(2024 + (i * step) // 12, (i * step) % 12 + 1, 1) for i in range(len(values))]
    frame = pd.DataFrame({grain: starts, "gmv": values})
    c = ctx(language, THIS_YEAR, dimensions=["order_date"], grain=grain)
    facts = compute_facts(frame, c)
    text = write_finding(facts, c)
    result = check_finding(text, facts)
    assert result.ok, (text, result.unmatched)
