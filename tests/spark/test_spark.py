"""Spark (local session over Parquet): the compiler's Spark SQL gives DuckDB's results,
including the three defects found on Spark; the executor's time limit cancels the job group."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chatbi.errors import ChatBIError
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery
from chatbi.sql.access import default_policy
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role
from chatbi.sql.spark import SparkExecutor
from tests.postgres.compare import differences

AS_OF = date(2026, 9, 30)
POLICY = default_policy()
pytestmark = pytest.mark.slow  # a JVM and a Spark session (~15 s on a quiet 2-core machine)


@pytest.fixture(scope="module")
def layer() -> SemanticLayer:
    return load_semantic_layer()


@pytest.fixture(scope="module")
def duck(tiny_db: Path) -> Any:
    executor = Executor(tiny_db, timeout_s=30)
    yield executor
    executor.close()


def _both(query: SemanticQuery, layer: SemanticLayer, duck: Any, spark: SparkExecutor,
          as_of: date = AS_OF, role: str = "admin") -> tuple[Any, Any]:
    out = []
    for executor, engine in ((duck, "duckdb"), (spark, "spark")):
        compiled = compile_query(query, layer, as_of=as_of, dialect=engine)
        guarded = guard_sql(compiled.sql, POLICY, Role.parse(role), dialect=engine)
        out.append(executor.run(guarded.sql, max_rows=1000))
    return out[0], out[1]


def test_growth_is_a_float_division_on_spark(layer: SemanticLayer, duck: Any,
                                             spark_executor: SparkExecutor) -> None:
    """Spark divided decimals into decimal(38,6): growth 0.0852602878… came back 0.085260."""
    query = SemanticQuery(metrics=["gmv"], dimensions=["region"], comparison="previous_period",
                          time_range={"start": date(2026, 7, 1), "end": date(2026, 9, 30)})
    ref, got = _both(query, layer, duck, spark_executor)
    assert got.rows and differences(ref, got) is None, differences(ref, got)


def test_the_other_spark_defects_are_fixed(layer: SemanticLayer, duck: Any, spark_executor: SparkExecutor) -> None:
    # calendar days: Spark's DATEDIFF(DAY, ts, ts) alone counts 24-hour periods
    naive = spark_executor.scalar("SELECT DATEDIFF(DAY, TIMESTAMP '2026-07-01 20:00:00', TIMESTAMP '2026-07-02 08:00:00')")
    assert naive == 0
    ref, got = _both(SemanticQuery(metrics=["avg_days_to_sell"]), layer, duck, spark_executor)
    assert differences(ref, got) is None
    # the pay allocation is a double, not decimal(38,6)
    from pyspark.sql.types import DoubleType

    from chatbi.sql.spark import spark_session

    model_sql = compile_query(SemanticQuery(metrics=["gmv"], dimensions=["category"]), layer, as_of=AS_OF,
                              dialect="spark").to_dialect("spark")
    assert "AS DOUBLE) AS allocated_amount" in model_sql
    schema = spark_session().sql(_spark_model_sql(layer)).schema
    assert isinstance(schema["allocated_amount"].dataType, DoubleType)
    # a predicate dimension in IN / NOT IN filters parses and means the same
    for op, value in (("in", [True]), ("not_in", [True, None]), ("eq", False)):
        query = SemanticQuery(metrics=["gmv", "order_count"], filters=[{"dimension": "used_coupon", "op": op, "value": value}])
        ref, got = _both(query, layer, duck, spark_executor)
        assert differences(ref, got) is None, (op, differences(ref, got))


def _spark_model_sql(layer: SemanticLayer) -> str:
    from chatbi.semantic.sqlexpr import parse_select

    return parse_select(layer.model("order_lines").sql or "").sql(dialect="spark")


def test_merchant_rows_on_spark(layer: SemanticLayer, duck: Any, spark_executor: SparkExecutor) -> None:
    query = SemanticQuery(metrics=["gmv", "order_count"], dimensions=["channel"])
    ref, got = _both(query, layer, duck, spark_executor, role="merchant:3")
    assert got.rows and differences(ref, got) is None


def test_time_limit_cancels_the_job_group(spark_folder: Path) -> None:
    executor = SparkExecutor(str(spark_folder), timeout_s=2)
    started = time.perf_counter()
    with pytest.raises(ChatBIError) as err:
        executor.run("SELECT SUM(id * id % 7) FROM range(100000000000)")  # hours of work
    assert err.value.code == "query_timeout" and time.perf_counter() - started < 60
    # really cancelled: no job of the session is still running
    from chatbi.sql.spark import spark_session

    tracker = spark_session().sparkContext.statusTracker()
    deadline = time.perf_counter() + 10
    while tracker.getActiveJobsIds() and time.perf_counter() < deadline:
        time.sleep(0.2)
    assert not tracker.getActiveJobsIds()
    assert executor.scalar("SELECT COUNT(*) FROM orders") > 0  # the session is usable again


def test_truncation_and_errors(spark_executor: SparkExecutor) -> None:
    result = spark_executor.run("SELECT order_id FROM orders ORDER BY order_id", max_rows=5)
    assert len(result.rows) == 5 and result.truncated
    for sql, code in (("SELECT nope FROM orders", "warehouse_incomplete"),
                      ("SELECT * FROM no_such_table", "warehouse_incomplete"),
                      ("INSERT INTO orders SELECT * FROM orders", "sql_not_select")):
        with pytest.raises(ChatBIError) as err:
            spark_executor.run(sql)
        assert err.value.code == code, sql
