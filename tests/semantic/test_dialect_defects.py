"""Compiler defects that showed on other engines (and partly on DuckDB): predicate
dimensions in filters, calendar-day differences, and the type of the pay allocation."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from chatbi.semantic.compiler import compile_query
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery
from chatbi.semantic.sqlexpr import parse_select
from tests.semantic.conftest import AS_OF, ROWS, Runner

_ORDER_COLS = ["order_id", "user_id", "merchant_id", "order_ts", "pay_amount", "discount_amount",
               "coupon_id", "channel", "device", "status", "is_disputed"]


def _gmv_where(keep) -> float:  # noqa: ANN001 - a predicate over order dicts
    orders = [dict(zip(_ORDER_COLS, row, strict=True)) for row in ROWS["orders"]]
    return float(sum(o["pay_amount"] for o in orders if o["status"] != "cancelled" and keep(o)))


@pytest.mark.parametrize(("flt", "keep"), [
    ({"dimension": "used_coupon", "op": "eq", "value": False}, lambda o: o["coupon_id"] is None),
    ({"dimension": "used_coupon", "op": "eq", "value": True}, lambda o: o["coupon_id"] is not None),
    ({"dimension": "used_coupon", "op": "ne", "value": True}, lambda o: o["coupon_id"] is None),
    ({"dimension": "used_coupon", "op": "in", "value": [True]}, lambda o: o["coupon_id"] is not None),
    ({"dimension": "used_coupon", "op": "not_in", "value": [True]}, lambda o: o["coupon_id"] is None),
    ({"dimension": "used_coupon", "op": "not_in", "value": [True, None]}, lambda o: o["coupon_id"] is None),
])
def test_filter_on_a_predicate_dimension_keeps_its_meaning(run: Runner, flt: dict, keep) -> None:  # noqa: ANN001
    rows = run(metrics=["gmv"], filters=[flt])
    assert float(rows[0]["gmv"] or 0) == pytest.approx(_gmv_where(keep))
    by_category = run(metrics=["gmv"], dimensions=["category"], filters=[flt])  # order_lines
    assert sum(float(r["gmv"] or 0) for r in by_category) == pytest.approx(_gmv_where(keep))


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark", "trino"])
def test_predicate_dimension_is_parenthesized_in_every_dialect(layer: SemanticLayer, dialect: str) -> None:
    query = SemanticQuery(metrics=["gmv"], filters=[{"dimension": "used_coupon", "op": "not_in",
                                                     "value": [True, None]}])
    sql = compile_query(query, layer, as_of=AS_OF, dialect=dialect).sql
    tree = sqlglot.parse_one(sql, read=dialect)
    ins = list(tree.find_all(exp.In))
    assert ins and all(isinstance(node.this, exp.Paren) for node in ins), sql
    assert "IS NULL IN" not in " ".join(sql.split())


def test_date_diff_counts_calendar_days_in_every_dialect(layer: SemanticLayer) -> None:
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE products (product_id BIGINT, merchant_id BIGINT, category VARCHAR, "
                "brand VARCHAR, title VARCHAR, style VARCHAR, item_condition VARCHAR, "
                "list_price DECIMAL(12,2), listed_at TIMESTAMP, status VARCHAR, sold_at TIMESTAMP)")
    # listed in the evening, sold the next morning: 1 calendar day, 0 whole 24-hour periods
    con.execute("INSERT INTO products VALUES (1, 10, '箱包', 'LV', 't', 's', 'c', 100, "
                "'2026-07-01 20:00:00', 'sold', '2026-07-02 08:00:00')")
    compiled = compile_query(SemanticQuery(metrics=["avg_days_to_sell"]), layer, as_of=AS_OF)
    assert con.execute(compiled.sql).fetchone()[0] == 1
    assert compiled.tree is not None
    diffs = list(compiled.tree.find_all(exp.DateDiff))
    assert diffs
    for node in diffs:
        for arg in (node.this, node.expression):
            assert isinstance(arg, exp.Cast) and arg.to.is_type(exp.DataType.Type.DATE), node.sql()
    spark = " ".join(compiled.to_dialect("spark").split())
    assert re.search(r"DATEDIFF\(DAY, CAST\([\w.]+ AS DATE\), CAST\([\w.]+ AS DATE\)\)", spark), spark


def test_pay_allocation_is_a_double_on_every_engine(layer: SemanticLayer, warehouse: duckdb.DuckDBPyConnection) -> None:
    for model_name, column in (("order_lines", "allocated_amount"), ("campaign_orders", "attributed_amount")):
        model = layer.model(model_name)
        select = parse_select(model.sql or "")
        projection = next(p for p in select.expressions if p.alias_or_name == column)
        assert isinstance(projection.this, exp.Cast), projection.sql()
        assert projection.this.to.is_type(exp.DataType.Type.DOUBLE)
        for dialect, word in (("spark", "DOUBLE"), ("postgres", "DOUBLE PRECISION")):
            rendered = projection.sql(dialect)
            assert rendered.startswith("CAST(") and rendered.endswith(f" AS {word}) AS {column}"), rendered
    # DuckDB: the allocation still adds up to each order's pay amount, as a DOUBLE
    rows = warehouse.execute(f"SELECT order_id, typeof(allocated_amount), SUM(allocated_amount) "
                             f"FROM ({layer.model('order_lines').sql}) GROUP BY ALL").fetchall()
    pay = {row[0]: row[4] for row in ROWS["orders"]}
    for order_id, kind, total in rows:
        assert kind == "DOUBLE"
        assert total == pytest.approx(float(Decimal(pay[order_id])))



@pytest.mark.parametrize("spec", [
    {"metrics": ["avg_order_value", "return_rate", "campaign_roi"]},  # ratio metrics
    {"metrics": ["gmv"], "dimensions": ["region"], "share_of_total": True},
    {"metrics": ["gmv"], "dimensions": ["region"], "comparison": "previous_period",
     "time_range": {"start": "2026-07-01", "end": "2026-09-30"}},
])
def test_every_division_is_a_float_division(layer: SemanticLayer, spec: dict) -> None:
    """Spark divides decimals into decimal(38,6) (a growth of 0.0852602… became 0.085260):
    every dividend the compiler writes is CAST AS DOUBLE, so all engines agree with DuckDB."""
    compiled = compile_query(SemanticQuery.model_validate(spec), layer, as_of=AS_OF, dialect="spark")
    assert compiled.tree is not None
    divisions = list(compiled.tree.find_all(exp.Div))
    assert divisions
    def double(node: exp.Expression) -> bool:
        return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DOUBLE)

    for node in divisions:  # a float dividend, or inside a model's SQL whose result is cast
        assert double(node.this) or any(double(a) for a in _ancestors(node)), node.sql()


def _ancestors(node: exp.Expression) -> list[exp.Expression]:
    out = []
    while node.parent is not None:
        node = node.parent
        out.append(node)
    return out
