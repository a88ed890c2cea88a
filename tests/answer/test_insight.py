"""Why-analysis: the decomposition checked by hand, then end to end on the tiny warehouse.

The tiny warehouse (tests/conftest.py ``tiny_db``: seed 7, end date 2026-09-30) carries the
planted stories of docs/demo_data.md; each is asked the way a user would and must come out as
the top driver. Independent plain SQL checks the totals the semantic layer produced.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import numpy as np
import pandas as pd
import pytest

from chatbi.answer.findings import check_finding
from chatbi.answer.insight import InsightError, detect_cohort, explain_change, time_was_given
from chatbi.answer.insight_decompose import Totals, decompose_additive, decompose_ratio
from chatbi.answer.insight_plan import SNAPSHOT_DIMENSIONS, choose_candidates, metric_shape
from chatbi.config import Settings
from chatbi.planner.types import Plan, WhyRequest
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.query import Filter, SemanticQuery, TimeRange
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role

AS_OF = date(2026, 9, 30)
Q2 = TimeRange(start=date(2026, 4, 1), end=date(2026, 6, 30), label="上个季度")
AUGUST = TimeRange(start=date(2026, 8, 1), end=date(2026, 8, 31), label="上个月")
SEPTEMBER = TimeRange(start=date(2026, 9, 1), end=date(2026, 9, 30), label="本月")
SCHEMA_FILE = Path(__file__).parent / "fixtures" / "vega-lite-v5.20.1.schema.json.gz"


# ---------------------------------------------------------------------------------------
# The decomposition, by hand
# ---------------------------------------------------------------------------------------

def test_additive_contributions_are_the_segment_changes_and_add_up() -> None:
    segments = pd.DataFrame({"segment": ["A", "B", "C"], "base": [100.0, 50.0, 10.0],
                             "current": [130.0, 40.0, None]})
    out = decompose_additive(segments, Totals(160.0, 170.0))
    assert list(out["contribution"]) == [30.0, -10.0, -10.0]  # C vanished: -10
    assert out["contribution"].sum() == pytest.approx(10.0)
    assert list(out["share_of_change"]) == pytest.approx([3.0, -1.0, -1.0])
    assert (out["kind"] == "segment").all()
    # excess: beyond moving like the total (+6.25%): A 30 - 100/160*10
    assert out["excess"].iloc[0] == pytest.approx(30 - 100 / 160 * 10)
    assert out["excess"].sum() == pytest.approx(0.0)


def test_additive_overlap_or_cut_off_rows_become_one_residual_row() -> None:
    segments = pd.DataFrame({"segment": ["A", "B"], "base": [100.0, 50.0], "current": [120.0, 50.0]})
    out = decompose_additive(segments, Totals(200.0, 250.0), residual_label="其他")
    assert list(out["kind"]) == ["segment", "segment", "residual"]
    assert out.iloc[-1]["segment"] == "其他" and out.iloc[-1]["contribution"] == pytest.approx(30.0)
    assert out["contribution"].sum() == pytest.approx(50.0)


def test_ratio_rate_and_mix_effects_by_hand() -> None:
    # A: 100 users converting 50% both times; B: 100 -> 300 users, 30% -> 10%.
    # R_base = (50 + 30) / 200 = 0.4; R_cur = (50 + 30) / 400 = 0.2; change -0.2.
    segments = pd.DataFrame({"segment": ["A", "B"], "base": [0.5, 0.3], "current": [0.5, 0.1],
                             "weight_base": [100, 100], "weight_current": [100, 300]})
    out = decompose_ratio(segments, Totals(0.4, 0.2)).set_index("segment")
    # rate_i = w0 (r1 - r0): A 0.5*0 = 0; B 0.5*(0.1-0.3) = -0.1
    assert out.loc["A", "rate_effect"] == pytest.approx(0.0)
    assert out.loc["B", "rate_effect"] == pytest.approx(-0.1)
    # mix_i = (w1 - w0)(r1 - R_base): A (0.25-0.5)(0.5-0.4) = -0.025; B (0.75-0.5)(0.1-0.4) = -0.075
    assert out.loc["A", "mix_effect"] == pytest.approx(-0.025)
    assert out.loc["B", "mix_effect"] == pytest.approx(-0.075)
    assert out.loc["B", "contribution"] == pytest.approx(-0.175)
    assert out["contribution"].sum() == pytest.approx(-0.2)
    assert list(out["weight_current"]) == pytest.approx([0.25, 0.75])
    assert "residual" not in set(out["kind"])


def test_ratio_segment_present_in_one_period_only_is_pure_mix() -> None:
    segments = pd.DataFrame({"segment": ["old", "new"], "base": [0.2, None], "current": [0.2, 0.05],
                             "weight_base": [100, 0], "weight_current": [100, 100]})
    out = decompose_ratio(segments, Totals(0.2, 0.125)).set_index("segment")
    assert out.loc["new", "rate_effect"] == pytest.approx(0.0)
    assert out.loc["new", "mix_effect"] == pytest.approx(0.5 * (0.05 - 0.2))
    assert pd.isna(out.loc["new", "base"]) and pd.isna(out.loc["new", "change"])
    assert out["contribution"].sum() == pytest.approx(-0.075)


def test_ratio_parts_sum_to_the_pooled_change_on_random_segments() -> None:
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(1, 9))
        d0, d1 = rng.integers(0, 500, n).astype(float), rng.integers(0, 500, n).astype(float)
        d0[0], d1[0] = max(d0[0], 1), max(d1[0], 1)
        x0, x1 = rng.random(n) * d0, rng.random(n) * d1
        r0 = np.divide(x0, d0, out=np.full(n, np.nan), where=d0 > 0)
        r1 = np.divide(x1, d1, out=np.full(n, np.nan), where=d1 > 0)
        totals = Totals(x0.sum() / d0.sum(), x1.sum() / d1.sum())
        segments = pd.DataFrame({"segment": list("abcdefgh"[:n]), "base": r0, "current": r1,
                                 "weight_base": d0, "weight_current": d1})
        out = decompose_ratio(segments, totals)
        assert (out["kind"] == "segment").all()  # exact partition: no residual
        assert out["contribution"].sum() == pytest.approx(totals.change, abs=1e-12)
        assert (out["rate_effect"] + out["mix_effect"]).sum() == pytest.approx(totals.change, abs=1e-12)


def test_metric_shapes_come_from_the_semantic_layer(layer) -> None:
    catalog = Catalog(layer)
    assert metric_shape(catalog, "gmv").kind == "additive"
    conversion = metric_shape(catalog, "conversion_rate")
    assert (conversion.kind, conversion.weight_metric) == ("ratio", "active_users")
    aov = metric_shape(catalog, "avg_order_value")
    assert (aov.kind, aov.weight_metric) == ("ratio", "order_count")
    assert metric_shape(catalog, "dispute_rate").weight_metric == "order_count"
    with pytest.raises(InsightError) as info:
        metric_shape(catalog, "avg_churn_risk")
    assert info.value.code == "why_snapshot_metric"


def test_candidates_are_what_the_metric_reaches_minus_pinned_ones(layer) -> None:
    catalog = Catalog(layer)
    conversion = metric_shape(catalog, "conversion_rate")
    chosen, skipped = choose_candidates(catalog, conversion, (Filter(dimension="region", value="华南"),))
    names = [c.name for c in chosen]
    assert "region" not in names and "region" in skipped  # pinned to 华南
    assert "device" not in names  # an order attribute: events cannot reach it
    assert {"signup_channel", "user_cohort", "age_band"} <= set(names)
    assert not set(names) & set(SNAPSHOT_DIMENSIONS)
    named, _ = choose_candidates(catalog, metric_shape(catalog, "gmv"), (),
                                 requested=["merchant_id", "merchant_name"])
    assert [(c.name, c.label_column) for c in named] == [("merchant_id", "merchant_name")]
    fallback, _ = choose_candidates(catalog, metric_shape(catalog, "gmv"), (), requested=["order_date"])
    assert [c.name for c in fallback][:2] == ["channel", "category"]  # a time dimension splits nothing
    new_only, _ = choose_candidates(catalog, conversion, (), cohort="new_users")
    assert "user_cohort" not in [c.name for c in new_only]


def test_cohort_words_and_defaulted_time() -> None:
    assert detect_cohort("为什么华南区新用户转化率下降了？") == "new_users"
    assert detect_cohort("Why did new-user conversion drop?") == "all"  # hyphenated: not a cohort word
    assert detect_cohort("why did conversion of new users drop") == "new_users"
    assert detect_cohort("为什么新用户数下降了？") == "all"  # the new_users metric, not a cohort
    assert detect_cohort("为什么GMV下降了") == "all"
    assert not time_was_given(Plan(intent="why", language="zh", notes=("未指定时间，默认按本月。",)))
    assert time_was_given(Plan(intent="why", language="zh"))


# ---------------------------------------------------------------------------------------
# On the tiny warehouse
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def layer():
    return load_semantic_layer(Settings.from_env().semantic_dir)


@pytest.fixture(scope="module")
def env(tiny_db, layer):
    catalog = Catalog(layer)
    executor = Executor(tiny_db)
    yield {"layer": layer, "catalog": catalog, "policy": catalog.access_policy(1000),
           "executor": executor, "as_of": AS_OF}
    executor.close()


@pytest.fixture(scope="module")
def con(tiny_db):
    connection = duckdb.connect(str(tiny_db), read_only=True)
    yield connection
    connection.close()


ADMIN = Role("admin")


def explain(env, why, *, role: Role = ADMIN, language: str = "zh", **kwargs):
    return explain_change(why, layer=env["layer"], policy=env["policy"], role=role,
                          executor=env["executor"], as_of=env["as_of"], language=language,
                          catalog=env["catalog"], **kwargs)


@pytest.fixture(scope="module")
def east_gmv(env):
    why = WhyRequest("gmv", Q2, filters=(Filter(dimension="region", value="华东"),), direction="up")
    return explain(env, why)


def _each_dimension_adds_up(result) -> None:
    for dimension, part in result.frame.groupby("dimension"):
        assert part["contribution"].sum() == pytest.approx(result.change, rel=1e-9, abs=1e-9), dimension


def test_story1_east_china_growth_with_categories_names_vintage_bags(env, east_gmv, con) -> None:
    by_category = explain(env, WhyRequest("gmv", Q2, filters=(Filter(dimension="region", value="华东"),)),
                          dimensions=["category"])
    top = by_category.drivers(1).iloc[0]
    assert top["value"] == "中古包" and top["contribution"] > 0
    assert "品类「中古包」" in by_category.finding and by_category.check.ok
    _each_dimension_adds_up(by_category)
    # totals against plain SQL (valid orders of buyers in 华东)
    sql = """SELECT sum(o.pay_amount) FROM orders o JOIN users u USING (user_id)
             WHERE o.status <> 'cancelled' AND u.region = '华东'
               AND CAST(o.order_ts AS DATE) BETWEEN ? AND ?"""
    current = con.execute(sql, [Q2.start, Q2.end]).fetchone()[0]
    base = con.execute(sql, [date(2026, 1, 1), date(2026, 3, 31)]).fetchone()[0]
    assert east_gmv.totals.current == pytest.approx(float(current))
    assert east_gmv.totals.base == pytest.approx(float(base))
    # the default candidates name 中古包 among the drivers too
    drivers = east_gmv.frame[east_gmv.frame["dimension"] == "category"]
    assert drivers.sort_values("rank").iloc[0]["value"] == "中古包"
    _each_dimension_adds_up(east_gmv)


def test_story3_dispute_jump_is_the_planted_merchant(env, con) -> None:
    planted = con.execute("SELECT merchant_id FROM alerts WHERE metric = 'dispute_rate' "
                          "ORDER BY z_score DESC LIMIT 1").fetchone()[0]
    r = explain(env, WhyRequest("dispute_rate", AUGUST, direction="up"))
    assert r.change > 0
    top = r.drivers(1).iloc[0]
    assert top["dimension"] == "merchant_id" and int(top["value"]) == int(planted)
    assert f"ID {planted}" in r.finding and r.check.ok
    _each_dimension_adds_up(r)


def test_every_statement_is_compiled_and_guarded(env, east_gmv) -> None:
    assert len(east_gmv.sql) >= 4
    for sql in east_gmv.sql:
        assert sql.rstrip().upper().split()[-2] == "LIMIT"  # the guard's LIMIT
        # a grouped scan (GROUPING SETS) may return the row limit once per breakdown
        limit = int(sql.rstrip().split()[-1]) - 1
        policy = dataclasses.replace(env["policy"], max_rows=limit) if "GROUPING SETS" in sql else env["policy"]
        assert guard_sql(sql, policy, Role("admin")).sql == sql  # a fixed point of the guard
    assert east_gmv.query.metrics == ["gmv"] and east_gmv.query.comparison == "previous_period"
    assert [d.name for d in east_gmv.definitions] == ["gmv"]


def test_snapshot_profile_dimensions_are_not_default_candidates(east_gmv) -> None:
    used = set(east_gmv.frame["dimension"])
    assert {"channel", "category", "region"} - {"region"} <= used
    assert not used & {"value_tier", "lifecycle_stage", "price_sensitivity"}
    assert "region" not in used  # pinned by the filter: one segment explains nothing


def test_finding_numbers_are_checked_and_a_wrong_number_is_caught(east_gmv) -> None:
    assert east_gmv.check.ok
    tampered = east_gmv.finding.replace("上升", "上升 ¥987.6万，", 1)
    assert not check_finding(tampered, east_gmv.facts).ok


def test_chart_is_a_valid_vega_lite_v5_diverging_bar(east_gmv) -> None:
    spec = east_gmv.chart
    assert spec is not None and "/vega-lite/v5" in spec["$schema"]
    validator = jsonschema.Draft7Validator(json.loads(gzip.decompress(SCHEMA_FILE.read_bytes())))
    assert not list(validator.iter_errors(spec))
    values = spec["layer"][0]["data"]["values"] if "data" in spec["layer"][0] else spec["data"]["values"]
    assert 1 <= len(values) <= 12
    # bars in ranking order: the top driver first, then the rest of its dimension's split
    top = east_gmv.drivers(1).iloc[0]
    assert values[0]["contribution"] == pytest.approx(top["contribution"])
    assert values[0]["driver"] == f"{top['dimension_label']}：{top['segment']}"
    first_dim = east_gmv.frame[(east_gmv.frame["dimension"] == top["dimension"])
                               & (east_gmv.frame["kind"] == "segment")]
    assert len(values) >= min(len(first_dim), 8)


def test_merchant_role_sees_only_its_own_orders(env, con) -> None:
    r = explain(env, WhyRequest("gmv", AUGUST), role=Role("merchant", 15))
    sql = """SELECT sum(pay_amount) FROM orders WHERE merchant_id = 15 AND status <> 'cancelled'
             AND CAST(order_ts AS DATE) BETWEEN ? AND ?"""
    assert r.totals.current == pytest.approx(float(con.execute(sql, [AUGUST.start, AUGUST.end]).fetchone()[0]))
    assert all("merchant_id = 15" in s.replace("\n", " ") or "= 15" in s for s in r.sql)
    merchants = r.frame[r.frame["dimension"] == "merchant_id"]
    assert set(merchants["value"].dropna().astype(int)) <= {15}
    _each_dimension_adds_up(r)


def test_english_question_states_both_periods_and_a_contradicted_direction(env) -> None:
    r = explain(env, SemanticQuery(metrics=["gmv"], time_range=TimeRange(
        start=date(2026, 8, 1), end=date(2026, 8, 31), label="last month"), comparison="previous_period"),
        language="en")
    assert "2026-08-01 to 2026-08-31" in r.finding and "2026-07-01 to 2026-07-31" in r.finding
    assert r.check.ok and all("\u4e00" > ch or ch > "\u9fff" for ch in r.finding.split(":")[0])
    contradicted = explain(env, WhyRequest("gmv", AUGUST, direction="up" if r.change < 0 else "down"),
                           language="en")
    assert contradicted.finding.startswith("Note: GMV actually went")


def test_same_period_last_year_is_the_base(env, con) -> None:
    r = explain(env, WhyRequest("order_count", SEPTEMBER, comparison="same_period_last_year"),
                dimensions=["device"])
    assert (r.base.start, r.base.end) == (date(2025, 9, 1), date(2025, 9, 30))
    assert "上年同期（2025-09-01 至 2025-09-30）" in r.finding and r.check.ok
    expected = con.execute("SELECT count(*) FROM orders WHERE status <> 'cancelled' AND "
                           "CAST(order_ts AS DATE) BETWEEN '2025-09-01' AND '2025-09-30'").fetchone()[0]
    assert r.totals.base == expected
    assert set(r.frame["dimension"]) == {"device"}
    _each_dimension_adds_up(r)


def test_snapshot_metric_is_refused_with_a_reason(env) -> None:
    with pytest.raises(InsightError) as info:
        explain(env, WhyRequest("avg_churn_risk", AUGUST))
    assert info.value.code == "why_snapshot_metric" and "快照" in info.value.message


# ---------------------------------------------------------------------------------------
# Story 2 needs the small scale (docs/demo_data.md: tiny has ≈25 new 华南 users a quarter)
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_env(tmp_path_factory, layer):
    """The small demo (seed 7), raw tables only: ~15 s to build (story 2 needs no profiles)."""
    from chatbi.warehouse.demo import generate_demo

    path = tmp_path_factory.mktemp("insight_small") / "small.duckdb"
    generate_demo(path, scale="small", seed=7)
    catalog = Catalog(layer)
    executor = Executor(path)
    yield {"layer": layer, "catalog": catalog, "policy": catalog.access_policy(1000),
           "executor": executor, "as_of": AS_OF, "path": path}
    executor.close()


@pytest.fixture(scope="module")
def south_conversion(small_env):
    """为什么华南区新用户转化率下降了？ as the offline planner plans it (no time: 本月)."""
    question = "为什么华南区新用户转化率下降了？"
    why = WhyRequest("conversion_rate", SEPTEMBER, filters=(Filter(dimension="region", value="华南"),),
                     direction="down")
    return explain(small_env, why, cohort=detect_cohort(question), time_given=False)


@pytest.mark.slow
def test_story2_south_china_new_user_conversion_drop_is_driven_by_douyin(south_conversion) -> None:
    r = south_conversion
    # no time given: the last full quarter (Q2 vs Q1) moved most, so it is analysed, and said so
    assert (r.current.start, r.current.end) == (date(2026, 4, 1), date(2026, 6, 30))
    assert (r.base.start, r.base.end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert r.change < 0 and r.kind == "ratio" and r.cohort == "new_users"
    top = r.drivers(1).iloc[0]
    assert (top["dimension"], top["value"]) == ("signup_channel", "抖音")
    assert top["contribution"] < 0 and top["weight_current"] > top["weight_base"]
    assert "注册渠道「抖音」" in r.finding and r.finding.startswith("未指定时间")
    assert "2026-04-01 至 2026-06-30" in r.finding and "2026-01-01 至 2026-03-31" in r.finding
    assert r.check.ok and r.check.mentions_time
    _each_dimension_adds_up(r)


@pytest.mark.slow
def test_story2_totals_equal_plain_sql(south_conversion, small_env) -> None:
    """New 华南 users who signed up in the quarter: with a purchase event / with any event."""
    sql = """
    SELECT count(DISTINCT e.user_id) FILTER (WHERE e.event_type = 'purchase') * 1.0
           / count(DISTINCT e.user_id)
    FROM events e JOIN users u USING (user_id)
    WHERE u.region = '华南' AND u.signup_date BETWEEN ? AND ?
      AND CAST(e.event_ts AS DATE) BETWEEN ? AND ?"""
    con = duckdb.connect(str(small_env["path"]), read_only=True)
    try:
        for period, value in ((south_conversion.current, south_conversion.totals.current),
                              (south_conversion.base, south_conversion.totals.base)):
            expected = con.execute(sql, [period.start, period.end, period.start, period.end]).fetchone()[0]
            assert value == pytest.approx(float(expected))
    finally:
        con.close()
