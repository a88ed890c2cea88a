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

Prints a Markdown section for docs/benchmarks.md. ``make bench`` runs the same as its
``engines`` section (``run``): the evaluation set on the medium demo from DuckDB and from
PostgreSQL, the planned queries on the smallest scale of the run, and every 10th of them on
Spark; it skips, saying why, without PostgreSQL's server binaries (or pyspark and Java).
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

from benchmarks.common import Context, Goal, Section, fmt_ms, fmt_s, loadavg, percentile

ROOT = Path(__file__).resolve().parents[1]
Q3 = {"start": "2026-07-01", "end": "2026-09-30"}
# the benchmark's server: durability off like the tests' cluster, memory like a small warehouse
# server rather than the tests' 64 MB (Debian's defaults are shared_buffers 128MB, work_mem 4MB)
BENCH_PG_SETTINGS = {"shared_buffers": "1GB", "work_mem": "64MB", "effective_cache_size": "4GB"}
SPARK_EVERY, SPARK_EVERY_QUICK, PLANNED_EVERY_QUICK = 10, 100, 20


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


# --- `make bench`: the "engines" section -------------------------------------------------


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be benchmarked here (None: it can)."""
    from tests.pg_cluster import bin_dir

    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg 3 is not installed"
    if bin_dir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    return None


def spark_unavailable() -> str | None:
    """Why Spark cannot be benchmarked here (None: it can)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed"
    if shutil.which("java") is None:
        return "no Java runtime: apt-get install openjdk-17-jre-headless"
    return None


def ask_eval(settings: Any, gold: Any, max_cases: int | None = None) -> dict[str, Any]:
    """The evaluation set through a warmed ``Pipeline.ask`` (as a running server would be), gold
    SQL on ``gold`` (the DuckDB file): accuracy, errors and answer latency."""
    from chatbi.answer.pipeline import Pipeline
    from chatbi.eval import load_question_set, run_eval

    question_set = load_question_set(ROOT / "tests" / "eval")
    if max_cases:
        question_set = question_set.select(case.id for case in question_set.cases[:max_cases])
    pipeline = Pipeline(settings)
    try:
        _ = pipeline.planner  # dimension values and the as-of date, read from the engine
        pipeline.ask("各大区的GMV")
        report = run_eval(question_set, pipeline, gold_executor=gold)
    finally:
        pipeline.close()
    summary = report.summary()
    results = [r for r in report.results if r.timings_ms]
    totals = [r.timings_ms.get("total", 0.0) for r in results]
    sqls = [r.timings_ms["sql"] for r in results if r.timings_ms.get("sql")]
    codes: dict[str, int] = {}
    for r in report.results:
        code = (r.error or {}).get("code") if r.error else ("exception" if r.outcome == "error" else None)
        if code:
            codes[code] = codes.get(code, 0) + 1
    slowest = sorted(results, key=lambda r: -r.timings_ms.get("total", 0.0))[:5]
    return {"questions": len(report.results), "accuracy": summary["execution_accuracy"],
            "wrong": summary["wrong_rate"], "error_codes": codes,
            "p50_ms": statistics.median(totals) if totals else float("nan"),
            "p95_ms": percentile(totals, 0.95),
            "sql_p50_ms": statistics.median(sqls) if sqls else float("nan"),
            "sql_p95_ms": percentile(sqls, 0.95),
            "slowest": [(r.question, r.timings_ms.get("total", 0.0)) for r in slowest],
            "failures": [f"{r.case_id}#{r.turn} [{r.outcome}] {r.question}: {r.detail[:100]}"
                         for r in report.failures()],
            "wrong_questions": [f"{r.case_id}#{r.turn} {r.question}" for r in report.results
                                if r.outcome == "wrong"],
            "seconds": report.duration_s}


def _publish(db: Path, url: str, schema: str) -> tuple[float, int]:
    """Every table of ``db`` into ``schema``: (seconds, rows)."""
    import duckdb

    from chatbi.warehouse.postgres import publish_tables

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main'").fetchall()]
    finally:
        con.close()
    started = time.perf_counter()
    counts = publish_tables(db, url, schema=schema, tables=tables)
    return time.perf_counter() - started, sum(counts.values())


def _spark_planned(layer: Any, db: Path, every: int) -> dict[str, Any]:
    """Every ``every``-th planned query on a local Spark session over ``db`` as Parquet.
    A session this process already had is left running."""
    import tempfile

    from chatbi.sql import spark as spark_module
    from chatbi.sql.executor import Executor
    from chatbi.warehouse.spark import export_parquet

    had_session = spark_module._SESSION is not None
    with tempfile.TemporaryDirectory(prefix="chatbi-spark-") as folder:
        export_parquet(db, Path(folder))
        duck = Executor(db, timeout_s=60)
        started = time.perf_counter()
        try:
            result = run_planned(layer, duck, spark_module.SparkExecutor(folder, timeout_s=300), "spark", every)
        finally:
            duck.close()
            if not had_session:
                spark_module.stop_session()
    result["seconds"] = time.perf_counter() - started
    return result


def _goal_counts(name: str, result: dict[str, Any] | None, reason: str) -> Goal:
    goal = Goal(name, "matched = ran = planned")
    if result is None:
        goal.measured = f"not measured: {reason}"
        return goal
    goal.measured = f"{result['matched']} / {result['ran']} / {result['planned']}"
    goal.passed = result["matched"] == result["ran"] == result["planned"] and result["planned"] > 0
    if not goal.passed and result["mismatches"]:
        goal.limit = "; ".join(result["mismatches"][:2])[:400]
    return goal


def run(ctx: Context, *, cluster: Any = None, spark: bool = True, planned_every: int | None = None) -> Section:
    """The ``engines`` section of ``make bench``. ``cluster``: a running ``PgCluster`` to use
    (the tests pass theirs); ``spark=False`` leaves Spark out; ``planned_every``: run every
    N-th planned query (default all, every 20th with --quick)."""
    import dataclasses

    from chatbi.config import Settings
    from chatbi.semantic.loader import load_semantic_layer
    from chatbi.sql.executor import Executor
    from chatbi.sql.postgres import PostgresExecutor
    from tests.pg_cluster import PgCluster, bin_dir

    section = Section("engines", "Warehouse engines: DuckDB, PostgreSQL, Spark (issue 17)")
    q_scale, p_scale = ctx.primary, ctx.scales[0]
    section.intro = (
        f"The evaluation set (tests/eval, offline planner) through a warmed `Pipeline.ask` on the {q_scale} demo "
        f"from DuckDB (the embedded file) and from PostgreSQL (every table of the same file published into a "
        f"throw-away cluster, `tests/pg_cluster.py`, read as the SELECT-only role `chatbi_reader`; no indexes; "
        f"server settings " + ", ".join(f"{k}={v}" for k, v in BENCH_PG_SETTINGS.items()) + ", durability "
        "off), one after the other in this process, gold SQL always on the DuckDB file; the query time "
        "limit is the product's (`CHATBI_QUERY_TIMEOUT`). *Answer latency* is `Answer.timings_ms['total']`. "
        f"Planned queries (on the {p_scale} demo): every metric alone (last quarter) and by every non-time "
        "dimension it can use, plus a filter of every operator, every grain, period comparisons, shares and "
        "a HAVING/top-N, compiled and guarded for each engine; *ran* = no error on the engine, *matched* = "
        "the same table as DuckDB's (same columns, the same rows as a multiset, numbers within 1e-6 "
        "relative). DuckDB is the reference (its row compares DuckDB with itself).")
    pg_reason, spark_reason = postgres_unavailable(), (spark_unavailable() if spark else "left out of this run")
    section.data = {"postgres_skipped": pg_reason, "spark_skipped": spark_reason}
    g_acc = Goal(f"PostgreSQL answers the evaluation set like DuckDB ({q_scale})", "the same execution accuracy")
    if pg_reason is not None:
        section.notes.append(f"PostgreSQL not measured: {pg_reason}.")
        g_acc.measured = f"not measured: {pg_reason}"
        section.goals = [g_acc, _goal_counts(f"PostgreSQL planned queries ({p_scale})", None, pg_reason),
                         _goal_counts(f"Spark planned queries ({p_scale})", None, spark_reason or pg_reason)]
        return section
    layer = load_semantic_layer()
    q_db, p_db = ctx.warehouse(q_scale), ctx.warehouse(p_scale)
    own = cluster is None
    if own:
        folder = bin_dir()
        assert folder is not None
        cluster = PgCluster(folder).start(BENCH_PG_SETTINGS)
    executors: list[Any] = []
    try:
        import psycopg

        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        server = str(row[0] if row else "?").split()[0]
        published: dict[str, tuple[float, int]] = {}
        schemas = {q_scale: f"bench_{q_scale}", p_scale: f"bench_{p_scale}"}
        readers = {}
        for scale, schema in schemas.items():
            readers[scale] = cluster.create_reader(schema)  # before publishing: default privileges
            ctx.log(f"  engines: publishing the {scale} demo into PostgreSQL {server}")
            published[scale] = _publish(ctx.warehouse(scale), cluster.url(), schema)
        every = planned_every or (PLANNED_EVERY_QUICK if ctx.quick else 1)
        p_duck = Executor(p_db, timeout_s=60)
        p_pg = PostgresExecutor(readers[p_scale], schema=schemas[p_scale], timeout_s=60)
        q_duck = Executor(q_db, timeout_s=60)
        executors += [p_duck, p_pg, q_duck]
        ctx.log(f"  engines: planned queries on {p_scale} (every {every})")
        planned = {}
        for name, executor, dialect in (("DuckDB (reference)", p_duck, "duckdb"),
                                        (f"PostgreSQL {server}", p_pg, "postgres")):
            started = time.perf_counter()
            planned[name] = run_planned(layer, p_duck, executor, dialect, every)
            planned[name]["seconds"] = time.perf_counter() - started
        spark_result = None
        if spark_reason is None:
            spark_every = SPARK_EVERY_QUICK if ctx.quick else SPARK_EVERY
            ctx.log(f"  engines: every {spark_every}th planned query on Spark")
            try:
                spark_result = _spark_planned(layer, p_db, spark_every)
                planned[f"Spark (local[2], Parquet; every {spark_every}th planned query)"] = spark_result
            except Exception as exc:  # noqa: BLE001 - Spark failing to start must not lose PostgreSQL's figures
                spark_reason = f"Spark failed: {type(exc).__name__}: {str(exc)[:200]}"
        base = dataclasses.replace(Settings.from_env(db_path=q_db), planner="offline", openai_api_key=None)
        pg_settings = dataclasses.replace(base, engine="postgres", warehouse_url=readers[q_scale],
                                          warehouse_schema=schemas[q_scale],
                                          db_path=Path(cluster.root) / "app.duckdb")
        load_start = loadavg()
        ctx.log(f"  engines: the evaluation set on {q_scale}, DuckDB")
        questions = {"DuckDB (embedded file)": ask_eval(base, q_duck, ctx.max_cases)}
        ctx.log(f"  engines: the evaluation set on {q_scale}, PostgreSQL")
        questions[f"PostgreSQL {server} (`chatbi_reader`)"] = ask_eval(pg_settings, q_duck, ctx.max_cases)
        load_end = loadavg()
    finally:
        for executor in executors:
            executor.close()
        if own:
            cluster.stop()
    section.header = ["engine", "questions", "execution accuracy", "wrong", "not answered (codes)",
                      "p50 answer", "p95 answer", "SQL p50 / p95"]
    for name, q in questions.items():
        errors = ", ".join(f"{n} {code}" for code, n in sorted(q["error_codes"].items())) or "–"
        section.rows.append([f"{name}, {q_scale}", str(q["questions"]), f"{q['accuracy']:.1%}", f"{q['wrong']:.1%}",
                             errors, fmt_ms(q["p50_ms"]), fmt_ms(q["p95_ms"]),
                             f"{fmt_ms(q['sql_p50_ms'])} / {fmt_ms(q['sql_p95_ms'])}"])
    lines = ["| engine | matched | ran | planned | time |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in planned.items():
        lines.append(f"| {name}, {p_scale} | {r['matched']} | {r['ran']} | {r['planned']} | "
                     f"{fmt_s(r.get('seconds'))} |")
    if spark_reason is not None:
        lines.append(f"\nSpark not measured: {spark_reason}.")
    section.markdown = "\n".join(lines)
    for name, r in planned.items():
        section.notes += [f"{name}: {line}" for line in r["mismatches"][:5]]
    for name, q in questions.items():
        section.notes.append(f"{name}: {q['questions']} questions in {fmt_s(q['seconds'])}; slowest: " + "; ".join(
            f"{text} ({fmt_ms(ms)})" for text, ms in q["slowest"]))
        if q["wrong_questions"]:
            section.notes.append(f"{name}: answered wrong: " + "; ".join(q["wrong_questions"][:12]))
    for scale, (seconds, rows) in published.items():
        section.notes.append(f"Publishing every table of the {scale} demo ({rows:,} rows) into PostgreSQL "
                             f"{server}: {fmt_s(seconds)} (not part of any figure above).")
    section.notes.append(f"Load average (1/5 min) while the questions ran: {load_start} at the start, "
                         f"{load_end} at the end.")
    duck_q, pg_q = questions["DuckDB (embedded file)"], questions[f"PostgreSQL {server} (`chatbi_reader`)"]
    g_acc.measured = (f"{pg_q['accuracy']:.1%} vs {duck_q['accuracy']:.1%} (p50 {fmt_ms(pg_q['p50_ms'])} vs "
                      f"{fmt_ms(duck_q['p50_ms'])}, p95 {fmt_ms(pg_q['p95_ms'])} vs {fmt_ms(duck_q['p95_ms'])})")
    g_acc.passed = pg_q["accuracy"] >= duck_q["accuracy"]
    if not g_acc.passed:
        g_acc.limit = "; ".join(pg_q["failures"][:3])[:400]
    section.goals = [g_acc, _goal_counts(f"PostgreSQL planned queries ({p_scale})", planned[f"PostgreSQL {server}"], ""),
                     _goal_counts(f"Spark planned queries ({p_scale}, a sample)", spark_result, spark_reason or "")]
    section.data.update({"server_version": server, "questions": questions, "planned": planned,
                         "publish_s": {k: v[0] for k, v in published.items()},
                         "publish_rows": {k: v[1] for k, v in published.items()}})
    return section


if __name__ == "__main__":
    main()
