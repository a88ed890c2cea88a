"""The same semantic layer on PostgreSQL and DuckDB: compiled for each engine, guarded for
each engine, run on each, the results must be the same tables.

(a1) the SQL snapshot cases; (a2) a generated sweep of planned queries: every metric alone
and by every dimension it can use (a deterministic sample), every filter operator, every time
grain, comparisons and shares."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatbi.errors import ChatBIError
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery
from chatbi.sql.access import default_policy
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role
from tests.postgres.compare import differences

AS_OF = date(2026, 9, 30)
CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "semantic" / "snapshots" / "cases.yaml")
                       .read_text(encoding="utf-8"))
ADMIN = Role.parse("admin")
POLICY = default_policy()
Q3 = {"start": "2026-07-01", "end": "2026-09-30"}


@pytest.fixture(scope="module")
def layer() -> SemanticLayer:
    return load_semantic_layer()


def run_both(query: SemanticQuery, layer: SemanticLayer, duck: Any, pg: Any, *, role: Role = ADMIN,
             as_of: date = AS_OF) -> tuple[Any, Any]:
    """(DuckDB result, PostgreSQL result) of one query compiled and guarded per engine."""
    results = []
    for executor, engine in ((duck, "duckdb"), (pg, "postgres")):
        compiled = compile_query(query, layer, as_of=as_of, dialect=engine)
        guarded = guard_sql(compiled.sql, POLICY, role, dialect=engine, schema=getattr(executor, "schema", None))
        results.append(executor.run(guarded.sql, max_rows=1000))
    return results[0], results[1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot_case_gives_the_same_rows(name: str, layer: SemanticLayer, duck_executor: Any,
                                           pg_executor: Any) -> None:
    spec = dict(CASES[name])
    as_of = spec.pop("as_of", AS_OF)
    duck, pg = run_both(SemanticQuery.model_validate(spec), layer, duck_executor, pg_executor, as_of=as_of)
    problem = differences(duck, pg)
    assert problem is None, f"{name}: {problem}"


def sweep(layer: SemanticLayer) -> list[dict[str, Any]]:
    """Planned queries: each metric with the time range, by a sample of its dimensions, with a
    filter of each operator, by each grain; plus comparisons and shares."""
    catalog = Catalog(layer)
    queries: list[dict[str, Any]] = []
    for index, metric in enumerate(catalog.metric_names):
        if index % 2 == 0:
            queries.append({"metrics": [metric], "time_range": Q3})
        dims = [d for d in catalog.dimensions_for(metric) if layer.dimension(d)[1].type != "time"]
        for dim in dims[index % 5::9][:1]:  # a different sample per metric
            queries.append({"metrics": [metric], "dimensions": [dim]})
    filters = [
        {"dimension": "region", "op": "eq", "value": "华东"},
        {"dimension": "region", "op": "ne", "value": "华东"},
        {"dimension": "region", "op": "in", "value": ["华东", "华南"]},
        {"dimension": "region", "op": "not_in", "value": ["华东", None]},
        {"dimension": "city_tier", "op": "gte", "value": 2},
        {"dimension": "city_tier", "op": "lt", "value": 3},
        {"dimension": "age", "op": "between", "value": [25, 40]},
        {"dimension": "category", "op": "contains", "value": "包"},
        {"dimension": "used_coupon", "op": "eq", "value": False},
        {"dimension": "used_coupon", "op": "not_in", "value": [True]},
        {"dimension": "user_tag", "op": "has_tag", "value": "优惠券偏好"},
        {"dimension": "gender", "op": "eq", "value": None},
    ]
    for flt in filters:
        queries.append({"metrics": ["gmv", "order_count"], "filters": [flt]})
    for grain in ("day", "week", "month", "quarter", "year"):
        queries.append({"metrics": ["gmv", "buyer_count"], "grain": grain,
                        "time_range": {"start": "2026-01-01", "end": "2026-09-30"}})
    for metric, comparison in itertools.product(("gmv", "conversion_rate", "avg_order_value"),
                                                ("previous_period", "same_period_last_year")):
        queries.append({"metrics": [metric], "dimensions": ["region"], "time_range": Q3,
                        "comparison": comparison})
    queries.append({"metrics": ["gmv"], "dimensions": ["category"], "share_of_total": True,
                    "grain": "quarter", "time_range": {"start": "2026-01-01", "end": "2026-09-30"}})
    queries.append({"metrics": ["gmv"], "dimensions": ["merchant_id"], "limit": 5,
                    "order_by": [{"field": "gmv", "descending": True}], "having": [
                        {"metric": "order_count", "op": "gte", "value": 2}]})
    return queries


def test_generated_sweep_gives_the_same_rows(layer: SemanticLayer, duck_executor: Any, pg_executor: Any) -> None:
    planned = sweep(layer)
    ran = matched = nonempty = 0
    problems: list[str] = []
    for spec in planned:
        try:
            query = SemanticQuery.model_validate(spec)
            duck, pg = run_both(query, layer, duck_executor, pg_executor)
        except ChatBIError as exc:  # a combination the layer cannot answer: both engines alike
            if exc.code not in ("compile_error",):
                problems.append(f"{spec}: {exc.code} {exc.message[:200]}")
            continue
        ran += 1
        nonempty += bool(duck.rows)
        problem = differences(duck, pg)
        if problem is None:
            matched += 1
        else:
            problems.append(f"{spec}: {problem}")
    assert ran >= 0.9 * len(planned), f"only {ran} of {len(planned)} planned queries compiled"
    assert nonempty >= 0.8 * ran, f"only {nonempty} of {ran} queries had rows on tiny: too little compared"
    assert not problems, f"{matched}/{ran} matched of {len(planned)} planned:\n" + "\n".join(problems[:20])


def test_null_keys_still_pair_in_postgres_joins(pg_tiny: dict[str, Any]) -> None:
    """PostgreSQL gets hashable key comparisons instead of IS NOT DISTINCT FROM (which only
    nested-loops); NULL must still pair with NULL, and values only with equal values."""
    import psycopg
    import sqlglot

    from chatbi.semantic.compiler import render_sql

    tree = sqlglot.parse_one(
        "SELECT a.k AS k, b.v AS v FROM (SELECT * FROM (VALUES (NULL), (1), (2)) AS t(k)) AS a "
        "LEFT JOIN (SELECT * FROM (VALUES (NULL, 'n'), (1, 'one'), (3, 'three')) AS t(k, v)) AS b "
        "ON a.k IS NOT DISTINCT FROM b.k", read="duckdb")
    sql = render_sql(tree, "postgres")
    assert "DISTINCT FROM" not in sql
    with psycopg.connect(pg_tiny["admin_url"], autocommit=True) as conn:
        rows = conn.execute(sql).fetchall()
    assert sorted(rows, key=repr) == sorted([(None, "n"), (1, "one"), (2, None)], key=repr)
