"""Warehouse engines: the same planned queries and the same questions on DuckDB and PostgreSQL.

``python -m benchmarks.engines [--db data/small.duckdb]`` publishes every table of the
DuckDB warehouse into a throw-away PostgreSQL cluster (``tests/pg_cluster.py``; Debian's
server binaries), then

1. **planned queries**: every metric alone (last quarter), every metric by every non-time
   dimension it can use, a filter of every operator, every grain, period comparisons and
   shares; each compiled and guarded for each engine and run on both. *ran* = ran without an
   error on the engine, *matched* = the same table as DuckDB's (tests/postgres/compare.py);
2. **questions**: the shipped evaluation set (tests/eval) through ``Pipeline.ask`` on each
   engine, gold SQL always on the DuckDB file: execution accuracy, p50/p95 answer latency.

Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Q3 = {"start": "2026-07-01", "end": "2026-09-30"}


def planned_queries(layer: Any) -> list[dict[str, Any]]:
    """Every metric alone and by every non-time dimension it can use, plus operators, grains,
    comparisons, shares."""
    from chatbi.semantic.catalog import Catalog
    from tests.postgres.test_results_match import sweep

    catalog = Catalog(layer)
    queries: list[dict[str, Any]] = []
    for metric in catalog.metric_names:
        queries.append({"metrics": [metric], "time_range": Q3})
        for dim in catalog.dimensions_for(metric):
            if layer.dimension(dim)[1].type != "time":
                queries.append({"metrics": [metric], "dimensions": [dim]})
    extra = [q for q in sweep(layer) if "filters" in q or "grain" in q or "comparison" in q
             or "share_of_total" in q or "having" in q]
    return queries + extra


def run_planned(layer: Any, duck: Any, engine_executor: Any, engine: str, every: int = 1) -> dict[str, Any]:
    from chatbi.errors import ChatBIError
    from chatbi.semantic.compiler import compile_query
    from chatbi.semantic.query import SemanticQuery
    from chatbi.sql.access import default_policy
    from chatbi.sql.guard import guard_sql
    from chatbi.sql.policy import Role
    from tests.postgres.compare import differences

    policy, admin, as_of = default_policy(), Role.parse("admin"), date(2026, 9, 30)
    planned = planned_queries(layer)[::every]
    ran = matched = compiled_count = 0
    mismatches: list[str] = []
    for index, spec in enumerate(planned):
        if index % 200 == 0:
            print(f"  {engine}: {index}/{len(planned)}", file=sys.stderr, flush=True)
        query = SemanticQuery.model_validate(spec)
        try:
            ref_sql = guard_sql(compile_query(query, layer, as_of=as_of).sql, policy, admin).sql
            sql = guard_sql(compile_query(query, layer, as_of=as_of, dialect=engine).sql, policy, admin,
                            dialect=engine, schema=getattr(engine_executor, "schema", None)).sql
        except ChatBIError:
            continue  # the layer cannot answer this combination (on any engine)
        compiled_count += 1
        try:
            reference = duck.run(ref_sql, max_rows=1000)
        except ChatBIError:
            continue
        try:
            result = engine_executor.run(sql, max_rows=1000)
        except ChatBIError as exc:
            mismatches.append(f"{spec}: {exc.code} {exc.message[:120]}")
            continue
        ran += 1
        problem = differences(reference, result)
        if problem is None:
            matched += 1
        else:
            mismatches.append(f"{spec}: {problem}")
    return {"planned": compiled_count, "ran": ran, "matched": matched, "mismatches": mismatches[:10]}


def run_questions(settings: Any, duck: Any) -> dict[str, Any]:
    from chatbi.answer.pipeline import Pipeline
    from chatbi.eval import load_question_set, run_eval

    pipeline = Pipeline(settings)
    try:
        report = run_eval(load_question_set(ROOT / "tests" / "eval"), pipeline, gold_executor=duck)
    finally:
        pipeline.close()
    summary = report.summary()
    totals = sorted(r.timings_ms.get("total", 0.0) for r in report.results if r.timings_ms)
    p95 = totals[min(len(totals) - 1, int(round(0.95 * (len(totals) - 1))))] if totals else 0.0
    return {"accuracy": summary["execution_accuracy"], "wrong": summary["wrong_rate"],
            "questions": len(report.results), "p50_ms": statistics.median(totals) if totals else 0.0,
            "p95_ms": p95}


def main() -> None:
    import duckdb

    from chatbi.config import Settings
    from chatbi.semantic.loader import load_semantic_layer
    from chatbi.sql.executor import Executor
    from chatbi.sql.postgres import PostgresExecutor
    from chatbi.warehouse.postgres import publish_tables
    from tests.pg_cluster import PgCluster, bin_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "data" / "small.duckdb"), help="warehouse for the questions")
    parser.add_argument("--planned-db", help="warehouse for the planned queries (default: --db)")
    parser.add_argument("--skip-questions", action="store_true")
    parser.add_argument("--skip-planned", action="store_true")
    parser.add_argument("--spark-only", type=int, metavar="N", help="only Spark: every N-th planned query "
                        "on --planned-db exported to Parquet (a local session)")
    args = parser.parse_args()
    db = Path(args.db)
    planned_db = Path(args.planned_db or args.db)
    folder = bin_dir()
    if folder is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    layer = load_semantic_layer()
    if args.spark_only:
        spark_planned(layer, planned_db, args.spark_only)
        return
    cluster = PgCluster(folder).start()
    try:
        publish_s: dict[str, float] = {}
        for path, schema in ((db, "shop"), (planned_db, "plan")):
            reader = cluster.create_reader(schema)
            con = duckdb.connect(str(path), read_only=True)
            tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
            con.close()
            started = time.perf_counter()
            publish_tables(path, cluster.url(), schema=schema, tables=tables)
            publish_s[path.name] = time.perf_counter() - started
        duck = Executor(db, timeout_s=60)
        plan_duck = Executor(planned_db, timeout_s=60)
        plan_pg = PostgresExecutor(reader, schema="plan", timeout_s=60)
        planned = {} if args.skip_planned else {
            "duckdb": run_planned(layer, plan_duck, plan_duck, "duckdb"),
            "postgres": run_planned(layer, plan_duck, plan_pg, "postgres")}
        questions: dict[str, Any] = {}
        if not args.skip_questions:
            base = dataclasses.replace(Settings.from_env(db_path=db), planner="offline", openai_api_key=None)
            questions["duckdb"] = run_questions(base, duck)
            questions["postgres"] = run_questions(dataclasses.replace(
                base, engine="postgres", warehouse_url=reader, warehouse_schema="shop",
                db_path=Path(cluster.root) / "app.duckdb"), duck)
        print(f"Planned queries on {planned_db.name}, questions on {db.name}; publish to PostgreSQL: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in publish_s.items()) + "\n")
        print("| engine | matched | ran | planned |")
        print("| --- | ---: | ---: | ---: |")
        for name, r in planned.items():
            print(f"| {name} | {r['matched']} | {r['ran']} | {r['planned']} |")
        for name, r in planned.items():
            for line in r["mismatches"]:
                print(f"- {name}: {line}")
        if questions:
            print("\n| engine | questions | execution accuracy | wrong | p50 ms | p95 ms |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            for name, q in questions.items():
                print(f"| {name} | {q['questions']} | {q['accuracy']:.1%} | {q['wrong']:.1%} | "
                      f"{q['p50_ms']:.0f} | {q['p95_ms']:.0f} |")
        for executor in (duck, plan_duck, plan_pg):
            executor.close()
    finally:
        cluster.stop()


def spark_planned(layer: Any, db: Path, every: int) -> None:
    """Every ``every``-th planned query on Spark (Parquet export of ``db``) vs DuckDB."""
    import tempfile

    from chatbi.sql.executor import Executor
    from chatbi.sql.spark import SparkExecutor, stop_session
    from chatbi.warehouse.spark import export_parquet

    with tempfile.TemporaryDirectory(prefix="chatbi-spark-") as folder:
        export_parquet(db, Path(folder))
        duck = Executor(db, timeout_s=60)
        started = time.perf_counter()
        result = run_planned(layer, duck, SparkExecutor(folder, timeout_s=300), "spark", every)
        took = time.perf_counter() - started
        stop_session()
        duck.close()
    print(f"Spark (local[2], every {every}th planned query on {db.name}, {took / 60:.1f} min)\n")
    print("| engine | matched | ran | planned |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| spark | {result['matched']} | {result['ran']} | {result['planned']} |")
    for line in result["mismatches"]:
        print(f"- spark: {line}")


if __name__ == "__main__":
    main()
