"""Why-analysis in grouped scans: the same frames as one statement per dimension and period,
and numbers that agree with plain pandas over the raw tables."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

import chatbi.answer.insight as insight
from chatbi.answer.insight import explain_change
from chatbi.answer.insight_data import Runner
from chatbi.config import Settings
from chatbi.planner.types import WhyRequest
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.compiler import GROUPING_COLUMN, PERIOD_COLUMN, compile_query, grouping_mask
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.query import Filter, SemanticQuery, TimeRange
from chatbi.sql.executor import Executor
from chatbi.sql.policy import Role

AS_OF = date(2026, 9, 30)
Q2 = TimeRange(start=date(2026, 4, 1), end=date(2026, 6, 30), label="上个季度")
Q1 = TimeRange(start=date(2026, 1, 1), end=date(2026, 3, 31), label="上一季度")
AUGUST = TimeRange(start=date(2026, 8, 1), end=date(2026, 8, 31), label="上个月")
JULY = TimeRange(start=date(2026, 7, 1), end=date(2026, 7, 31))

CASES = [
    ("gmv, all", WhyRequest("gmv", AUGUST, direction="down"), "admin", "all"),
    ("dispute rate (a ratio)", WhyRequest("dispute_rate", AUGUST, direction="up"), "admin", "all"),
    ("new users' conversion in South China", WhyRequest("conversion_rate", Q2, filters=(
        Filter(dimension="region", value="华南"),), direction="down"), "admin", "new_users"),
    ("order count, year over year", WhyRequest("order_count", AUGUST, comparison="same_period_last_year"),
     "admin", "all"),
    ("order count, a merchant", WhyRequest("order_count", AUGUST), "merchant:15", "all"),
]


class _OneStatementEach(Runner):
    """The previous way: every breakdown and total its own statement."""

    def expect(self, plan, *, with_totals: bool = True) -> None:
        return None


@pytest.fixture(scope="module")
def env(tiny_db):
    layer = load_semantic_layer(Settings.from_env().semantic_dir)
    catalog = Catalog(layer)
    executor = Executor(tiny_db)
    yield {"layer": layer, "catalog": catalog, "policy": catalog.access_policy(1000), "executor": executor}
    executor.close()


def _explain(env, why, role: str, cohort: str, *, language: str = "zh"):
    return explain_change(why, layer=env["layer"], policy=env["policy"], role=Role.parse(role),
                          executor=env["executor"], as_of=AS_OF, language=language, cohort=cohort,
                          catalog=env["catalog"])


@pytest.mark.parametrize(("name", "why", "role", "cohort"), CASES, ids=[c[0] for c in CASES])
def test_grouped_scans_give_the_same_analysis_as_one_statement_each(
        env, name: str, why: WhyRequest, role: str, cohort: str, monkeypatch: pytest.MonkeyPatch) -> None:
    grouped = _explain(env, why, role, cohort)
    monkeypatch.setattr(insight, "GroupedRunner", _OneStatementEach)
    separate = _explain(env, why, role, cohort)
    pd.testing.assert_frame_equal(grouped.frame, separate.frame, check_exact=True)
    assert (grouped.totals.base, grouped.totals.current) == (separate.totals.base, separate.totals.current)
    assert grouped.finding == separate.finding and grouped.notes == separate.notes
    assert grouped.chart == separate.chart
    if role == "marketer":  # groups of at least k users (small_groups) apply per set: separate statements
        assert len(grouped.sql) <= len(separate.sql), (len(grouped.sql), len(separate.sql))
    else:
        assert len(grouped.sql) < len(separate.sql), (len(grouped.sql), len(separate.sql))


def test_a_grouped_scan_per_period_matches_pandas_on_the_raw_orders(env, tiny_db) -> None:
    """GMV by channel, by device and in total for two months, from one GROUPING SETS
    statement, against pandas over the orders table read on its own."""
    why = WhyRequest("gmv", AUGUST, direction="down")
    result = _explain(env, why, "admin", "all")
    grouped = [s for s in result.sql if "GROUPING SETS" in s]
    assert grouped and len(result.sql) <= 10  # was 28 statements

    with duckdb.connect(str(tiny_db), read_only=True) as con:
        orders = con.execute("SELECT channel, device, status, pay_amount, CAST(order_ts AS DATE) AS day "
                             "FROM orders").fetchdf()
    orders["pay_amount"] = orders["pay_amount"].astype(float)
    valid = orders[orders["status"] != "cancelled"]

    def by(period: TimeRange, column: str) -> dict[str, float]:
        part = valid[(valid["day"] >= pd.Timestamp(period.start)) & (valid["day"] <= pd.Timestamp(period.end))]
        return part.groupby(column)["pay_amount"].sum().round(2).to_dict()

    frame = result.frame[result.frame["kind"] == "segment"]
    for column in ("channel", "device"):
        rows = frame[frame["dimension"] == column].set_index("value")
        assert len(rows) > 1
        for period, side in ((JULY, "base"), (AUGUST, "current")):
            expected = by(period, column)
            got = {k: float(v) for k, v in rows[side].items()}
            assert got == pytest.approx(expected, rel=1e-12, abs=0.005), (column, side)
    total = valid[(valid["day"] >= pd.Timestamp(AUGUST.start)) & (valid["day"] <= pd.Timestamp(AUGUST.end))]
    assert result.totals.current == pytest.approx(total["pay_amount"].sum(), rel=1e-12, abs=0.005)


def test_grouping_sets_sql_tells_each_rows_set(env, tiny_db) -> None:
    query = SemanticQuery(metrics=["order_count"], dimensions=["channel", "device"], time_range=Q1)
    compiled = compile_query(query, env["layer"], as_of=AS_OF, grouping_sets=[["channel"], ["device"], []])
    assert "GROUPING SETS" in compiled.sql and compiled.columns[-2:] == [GROUPING_COLUMN, "order_count"]
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        rows = con.execute(compiled.sql).fetchall()
    dims = ["channel", "device"]
    masks = {grouping_mask(dims, s) for s in (["channel"], ["device"], [])}
    assert {r[2] for r in rows} == masks == {1, 2, 3}
    total = [r[3] for r in rows if r[2] == grouping_mask(dims, [])]
    assert total == [sum(r[3] for r in rows if r[2] == grouping_mask(dims, ["channel"]))]


def test_two_periods_in_one_scan_give_each_periods_own_rows_in_order(env, tiny_db) -> None:
    """GMV by category and by brand (the allocated order lines) for July and August in one
    statement: each (period, set) slice equals that period's own statement, rows and order."""
    span = TimeRange(start=JULY.start, end=AUGUST.end)
    query = SemanticQuery(metrics=["gmv"], dimensions=["category", "brand"], time_range=span)
    combined = compile_query(query, env["layer"], as_of=AS_OF, grouping_sets=[["category"], ["brand"], []],
                             periods=[("base", JULY), ("current", AUGUST)])
    assert combined.columns == [PERIOD_COLUMN, "category", "brand", GROUPING_COLUMN, "gmv"]
    with duckdb.connect(str(tiny_db), read_only=True) as con:
        rows = con.execute(combined.sql).fetchall()
        for label, period in (("base", JULY), ("current", AUGUST)):
            for dims in (["category"], ["brand"], []):
                alone = compile_query(SemanticQuery(metrics=["gmv"], dimensions=dims, time_range=period),
                                      env["layer"], as_of=AS_OF)
                mask = grouping_mask([PERIOD_COLUMN, "category", "brand"], [PERIOD_COLUMN, *dims])
                at = [combined.columns.index(d) for d in dims] + [4]
                got = [tuple(r[i] for i in at) for r in rows if r[0] == label and r[3] == mask]
                assert got == [tuple(r) for r in con.execute(alone.sql).fetchall()], (label, dims)
