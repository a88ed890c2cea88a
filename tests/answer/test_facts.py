"""Facts computed from hand-made frames; every expected number is worked out by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from chatbi.answer.facts import comparison_window, compute_facts

from .helpers import THIS_YEAR, ctx, growth_frame, growth_query, ranking_frame, trend_frame


def test_ranking_facts_total_extremes_and_share() -> None:
    facts = compute_facts(ranking_frame(), ctx(dimensions=["region"]))
    assert facts.shape == "ranking" and facts.row_count == 5
    gmv = facts.metric("gmv")
    assert gmv is not None
    assert gmv.total == pytest.approx(5_000_000)  # 1.71 + 1.2 + 1.1 + 0.78 + 0.21 (M)
    assert (gmv.max.label, gmv.max.value) == ("华东", 1_710_000)
    assert (gmv.min.label, gmv.min.value) == ("东北", 210_000)
    assert gmv.top_share == pytest.approx(0.342)  # 1.71 / 5.00
    assert gmv.mean == pytest.approx(1_000_000)
    assert gmv.median == pytest.approx(1_100_000)
    assert gmv.outliers == ()
    values = {round(n.value, 4) for n in facts.numbers}
    assert {5_000_000, 1_710_000, 210_000, 0.342, 0.042} <= values  # 0.21 / 5.00 = 4.2%


def test_top_n_has_no_total_or_share_unless_the_result_has_shares() -> None:
    limited = compute_facts(ranking_frame(), ctx(dimensions=["region"], limit=5))
    gmv = limited.metric("gmv")
    assert limited.limited and gmv.total is None and gmv.top_share is None
    frame = ranking_frame().assign(gmv_share=lambda d: d.gmv / 10_000_000)  # the whole market
    shared = compute_facts(frame, ctx(dimensions=["region"], limit=5, share_of_total=True))
    assert shared.metric("gmv").top_share == pytest.approx(0.171)


def test_non_additive_metric_has_no_total() -> None:
    frame = pd.DataFrame({"channel": ["app", "web", "mini"], "conversion_rate": [0.031, 0.025, 0.04]})
    facts = compute_facts(frame, ctx(metrics=["conversion_rate"], dimensions=["channel"]))
    rate = facts.metric("conversion_rate")
    assert rate.total is None and rate.top_share is None
    assert (rate.max.label, rate.max.value) == ("mini", 0.04)
    assert all(n.kind == "ratio" for n in facts.numbers if round(n.value, 3) in (0.031, 0.025, 0.04))


def test_growth_facts_fastest_slowest_and_overall() -> None:
    facts = compute_facts(growth_frame(), ctx(**growth_query()))
    assert facts.shape == "growth" and facts.comparison == "previous_period"
    gmv = facts.metric("gmv")
    assert gmv.fastest.label == "中古包" and gmv.fastest.growth == pytest.approx(0.382)
    assert gmv.fastest.current == 1_711_000 and gmv.fastest.previous == pytest.approx(1_238_060.78)
    assert gmv.slowest.label == "家居" and gmv.slowest.growth == pytest.approx(-0.065)
    assert gmv.declining == 1
    # overall: 3,111,000 now vs 2,622,820.14 before = +18.61%
    assert gmv.current == pytest.approx(3_111_000)
    assert gmv.previous == pytest.approx(2_622_820.14)
    assert gmv.change == pytest.approx(488_179.86)
    assert gmv.growth == pytest.approx(0.18613, abs=1e-4)
    # the comparison period (the quarter before) may be named too
    assert (date(2026, 1, 1), date(2026, 3, 31)) in facts.windows


def test_trend_facts_direction_ends_peak_and_trough() -> None:
    facts = compute_facts(trend_frame(), ctx(time_range=THIS_YEAR, dimensions=["order_date"], grain="month"))
    assert facts.shape == "trend"
    trend = facts.metric("gmv").trend
    assert trend.direction == "up" and trend.periods == 6
    assert (trend.first.label, trend.first.value) == ("2026-01", 100_000)
    assert (trend.last.label, trend.last.value) == ("2026-06", 170_000)
    assert trend.change == 70_000 and trend.growth == pytest.approx(0.7)
    assert trend.peak.label == "2026-06" and trend.trough.label == "2026-01"
    flat = trend_frame().assign(gmv=[100.0, 101, 99, 100, 101, 100])
    assert compute_facts(flat, ctx(time_range=THIS_YEAR, grain="month")).metric("gmv").trend.direction == "flat"
    down = trend_frame().assign(gmv=[170.0, 160, 150, 120, 110, 100])
    assert compute_facts(down, ctx(time_range=THIS_YEAR, grain="month")).metric("gmv").trend.direction == "down"


def test_multi_series_trend_sums_additive_series_and_names_the_latest_leader() -> None:
    frame = pd.DataFrame({
        "quarter": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 4, 1), date(2026, 4, 1)],
        "region": ["华东", "华南", "华东", "华南"],
        "gmv": [100.0, 50.0, 90.0, 80.0],
    })
    gmv = compute_facts(frame, ctx(time_range=THIS_YEAR, dimensions=["order_date", "region"],
                                   grain="quarter")).metric("gmv")
    assert (gmv.trend.first.value, gmv.trend.last.value) == (150.0, 170.0)  # 100+50, 90+80
    assert gmv.leader_last.label == "华东" and gmv.leader_last.value == 90.0
    assert gmv.leader_period == "2026年Q2"


def test_outliers_by_robust_z_score() -> None:
    frame = pd.DataFrame({"merchant": list("abcdef"), "gmv": [10.0, 11, 12, 10, 11, 100]})
    gmv = compute_facts(frame, ctx(dimensions=["merchant"])).metric("gmv")
    assert [(o.label, o.value) for o in gmv.outliers] == [("f", 100.0)]


def test_single_value_with_comparison() -> None:
    frame = pd.DataFrame({"gmv": [5_000_000.0], "gmv_previous": [4_000_000.0], "gmv_growth": [0.25]})
    facts = compute_facts(frame, ctx(comparison="same_period_last_year"))
    gmv = facts.metric("gmv")
    assert facts.shape == "single"
    assert (gmv.current, gmv.previous, gmv.change, gmv.growth) == (5_000_000, 4_000_000, 1_000_000, 0.25)
    assert (date(2025, 4, 1), date(2025, 6, 30)) in facts.windows  # same quarter last year


def test_empty_and_all_null_results_are_empty() -> None:
    assert compute_facts(pd.DataFrame({"gmv": []}), ctx()).shape == "empty"
    assert compute_facts(pd.DataFrame({"gmv": [None]}), ctx()).shape == "empty"


def test_labels_with_digits_and_truncation_flag() -> None:
    frame = pd.DataFrame({"region": ["华东1区", "华东2区"], "gmv": [3.0, 1.0]})
    facts = compute_facts(frame, ctx(dimensions=["region"], truncated=True))
    assert "华东1区" in facts.labels and facts.truncated and facts.limited
    assert facts.time_label == "上个季度"


def test_comparison_windows() -> None:
    assert comparison_window(date(2026, 4, 1), date(2026, 6, 30), "previous_period") == (
        date(2026, 1, 1), date(2026, 3, 31))
    assert comparison_window(date(2026, 8, 1), date(2026, 8, 31), "previous_period") == (
        date(2026, 7, 1), date(2026, 7, 31))
    assert comparison_window(date(2026, 9, 1), date(2026, 9, 30), "same_period_last_year") == (
        date(2025, 9, 1), date(2025, 9, 30))
    assert comparison_window(date(2026, 9, 1), date(2026, 9, 10), "previous_period") == (
        date(2026, 8, 22), date(2026, 8, 31))
