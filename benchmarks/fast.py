"""Fast from the first question (issue 20): one-shot answers, why-questions, the same numbers.

Each figure stands beside its anchor, the bare DuckDB time of the same SQL: the statement the
answer reports run on a read-only connection in this process (median of 3, after one
unmeasured run), and, when a ``duckdb`` command-line shell is available, that shell running
it (``.timer on``, median of 3 in one session). pip's ``duckdb`` has no shell; the
``duckdb-cli`` wheel on PyPI (1.5.x) reads only storage versions up to 68 while the
warehouses are written by DuckDB 2.0 (69), so the shell gets a copy of the warehouse in
storage version v1.4.0 (made once, not timed). Set ``CHATBI_BENCH_DUCKDB_CLI`` to the shell,
else ``duckdb`` on PATH is used; without one the shell column says so.

- one-shot: ``chatbi ask QUESTION --json --db X`` in a fresh process per question (20
  questions, each once, after one unmeasured ask that also writes the planning cache in the
  index folder as ``chatbi init`` does); wall time from launch to exit and the child's CPU time.
- why-questions: a warm pipeline asks each why-question 3 times; its total time, its
  statements and their bare DuckDB time, next to the previous way (one statement per
  dimension and period).
- the same numbers: GMV by category asked on 4 fresh pipelines in turn and 4 in threads.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    Context,
    Goal,
    Section,
    fmt_ms,
    fmt_s,
    offline_pipeline,
    percentile,
)

ONE_SHOT = (
    "各大区的GMV", "上个季度各大区的GMV", "今年按月的GMV趋势", "上个季度GMV最高的10个商户", "各渠道GMV占比",
    "上个季度各大区GMV环比增长", "高价值用户有多少？", "各品类的订单数", "上个月的客单价", "各城市等级的买家数",
    "GMV by region", "monthly GMV trend this year", "top 10 merchants by GMV last quarter",
    "order count by channel last month", "各品类的GMV", "上个月各下单设备的订单数", "本月退货率",
    "上个季度各性别的GMV", "各年龄段的买家数", "去年各季度的GMV",
)
WHY = (
    "上个月GMV为什么下降", "why did GMV drop last month", "纠纷率为什么上升了",
    "what drove the increase in dispute rate last month?", "为什么华南区新用户转化率下降了？",
    "上个季度华东大区GMV为什么增长",
)
SAME_NUMBERS = "各品类的GMV"
GOALS_S = {"small": 1.0, "medium": 1.5}
WHY_P95_S = {"medium": 1.0, "large": 3.0}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATBI_"))}
    env.update(ANONYMIZED_TELEMETRY="False", CHATBI_PLANNER="offline")
    return env


def ask_process(db: Path, question: str) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, child CPU seconds, answer JSON) of one ``chatbi ask --json``."""
    cmd = [str(Path(sys.executable).parent / "chatbi"), "ask", question, "--json", "--db", str(db)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode not in (0, 2) or not lines:  # an internal error: recorded, not fatal
        return wall, cpu, {"error": {"code": "internal_error", "message": proc.stderr[-300:]}}
    return wall, cpu, json.loads(lines[-1])


def statements(sql: str | None) -> list[str]:
    return [s for s in (sql or "").split(";\n\n") if s.strip()]


def bare_duckdb_ms(db: Path, sqls: list[str], reps: int = 3) -> float:
    """Median milliseconds of running all of ``sqls`` on one read-only connection (warm)."""
    import duckdb

    if not sqls:
        return 0.0
    con = duckdb.connect(str(db), read_only=True)
    try:
        times = []
        for i in range(reps + 1):
            start = time.perf_counter()
            for sql in sqls:
                con.execute(sql).fetchall()
            if i:  # the first run warms the buffers, as the product's own runs were warm
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)
    finally:
        con.close()


# -- the duckdb shell -----------------------------------------------------------------------

def duckdb_cli() -> str | None:
    return os.environ.get("CHATBI_BENCH_DUCKDB_CLI") or shutil.which("duckdb")


def cli_copy(db: Path, cli: str) -> Path | None:
    """A warehouse the shell can open: ``db`` itself, or a copy in storage version v1.4.0."""
    probe = subprocess.run([cli, "-readonly", str(db), "-c", "SELECT 1"], capture_output=True, text=True,
                           timeout=120, check=False)
    if probe.returncode == 0 and "Error" not in probe.stdout + probe.stderr:
        return db
    copy = db.parent / f"{db.stem}.v1_4.duckdb"
    if not copy.exists() or copy.stat().st_mtime < db.stat().st_mtime:
        import duckdb

        tmp = copy.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
            con.execute(f"ATTACH '{tmp}' AS dst (STORAGE_VERSION 'v1.4.0')")
            con.execute("COPY FROM DATABASE src TO dst")
        finally:
            con.close()
        os.replace(tmp, copy)
    return copy


def cli_ms(cli: str, db: Path, sqls: list[str], reps: int = 3) -> float | None:
    """Median milliseconds the shell reports (``.timer on``) for all of ``sqls``; None on error."""
    if not sqls:
        return 0.0
    script = ".timer on\n.mode trash\n" + "".join(
        "".join(s.rstrip().rstrip(";") + ";\n" for s in sqls) for _ in range(reps + 1))
    proc = subprocess.run([cli, "-readonly", str(db)], input=script, capture_output=True, text=True,
                          timeout=600, check=False)
    times = [float(line.split()[4]) * 1000 for line in proc.stdout.splitlines() + proc.stderr.splitlines()
             if line.startswith("Run Time (s): real")]
    if proc.returncode != 0 or len(times) != len(sqls) * (reps + 1):
        return None
    per_run = [sum(times[i * len(sqls):(i + 1) * len(sqls)]) for i in range(1, reps + 1)]
    return statistics.median(per_run)


# -- measurements --------------------------------------------------------------------------

def one_shot(ctx: Context, db: Path, cli: str | None) -> dict[str, Any]:
    questions = ONE_SHOT[: max(1, ctx.max_cases // 3)] if ctx.max_cases else ONE_SHOT  # smoke test: one
    ask_process(db, questions[0])  # warm-up: page cache and the index folder's planning cache
    cli_db = cli_copy(db, cli) if cli else None
    rows: list[dict[str, Any]] = []
    for question in questions:
        wall, cpu, answer = ask_process(db, question)
        sqls = statements(answer.get("sql"))
        rows.append({"question": question, "wall_s": wall, "cpu_s": cpu, "statements": len(sqls),
                     "pipeline_ms": float((answer.get("timings_ms") or {}).get("total", 0.0)),
                     "bare_ms": bare_duckdb_ms(db, sqls),
                     "cli_ms": cli_ms(cli, cli_db, sqls) if cli and cli_db else None,
                     "error": (answer.get("error") or {}).get("code")})
    failed = [f"{r['question']} ({r['error']})" for r in rows if r["error"] == "internal_error"]
    cli_times = [r["cli_ms"] for r in rows if r["cli_ms"] is not None]
    return {"rows": rows, "wall_p50": statistics.median(r["wall_s"] for r in rows),
            "wall_p95": percentile([r["wall_s"] for r in rows], 0.95),
            "cpu_p50": statistics.median(r["cpu_s"] for r in rows),
            "pipeline_p50_ms": statistics.median(r["pipeline_ms"] for r in rows),
            "bare_p50_ms": statistics.median(r["bare_ms"] for r in rows),
            "cli_p50_ms": statistics.median(cli_times) if cli_times else None, "failed": failed}


def why_questions(ctx: Context, db: Path, cli: str | None) -> dict[str, Any]:
    import chatbi.answer.insight as insight
    from chatbi.answer.insight_data import Runner

    class OneStatementEach(Runner):
        """The previous way, for comparison."""

        def expect(self, plan: Any, *, with_totals: bool = True) -> None:
            return None

    questions = WHY[: max(1, ctx.max_cases // 3)] if ctx.max_cases else WHY
    reps = 1 if ctx.quick else 3
    pipeline = offline_pipeline(db)
    grouped_runner = insight.GroupedRunner
    cli_db = cli_copy(db, cli) if cli else None
    rows = []
    try:
        pipeline.ask("各大区的GMV")  # warm: planner, values, connection
        for question in questions:
            row: dict[str, Any] = {"question": question}
            for mode, runner in (("grouped", grouped_runner), ("separate", OneStatementEach)):
                insight.GroupedRunner = runner  # type: ignore[misc,assignment]
                totals, answer = [], None
                for _ in range(reps):
                    answer = pipeline.ask(question)
                    totals.append(float(answer.timings_ms["total"]))
                sqls = statements(answer.sql if answer else None)
                row[mode] = {"total_ms": statistics.median(totals), "statements": len(sqls),
                             "sql_ms": float(answer.timings_ms.get("sql", 0.0)) if answer else 0.0,
                             "bare_ms": bare_duckdb_ms(db, sqls, reps=1 if ctx.quick else 3),
                             "finding": answer.finding if answer else None}
                if mode == "grouped":
                    row[mode]["cli_ms"] = cli_ms(cli, cli_db, sqls) if cli and cli_db else None
            row["same_finding"] = row["grouped"]["finding"] == row["separate"]["finding"]
            rows.append(row)
    finally:
        insight.GroupedRunner = grouped_runner  # type: ignore[misc]
        pipeline.close()
    return {"rows": rows, "p95_ms": percentile([r["grouped"]["total_ms"] for r in rows], 0.95),
            "separate_p95_ms": percentile([r["separate"]["total_ms"] for r in rows], 0.95),
            "reps": reps}


def same_numbers(db: Path, each: int = 4) -> dict[str, Any]:
    """Distinct results of one money question over ``each`` fresh pipelines in turn and
    ``each`` in threads."""
    results: list[Any] = []
    errors: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        pipeline = offline_pipeline(db, query_timeout_s=300.0)  # 4 at once on 2 cores: no timeouts
        try:
            answer = pipeline.ask(SAME_NUMBERS)
        finally:
            pipeline.close()
        with lock:
            if answer.error:
                errors.append(str(answer.error.get("code")))
            else:
                results.append([tuple(r) for r in answer.rows])

    for _ in range(each):
        ask()
    threads = [threading.Thread(target=ask) for _ in range(each)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    distinct = {json.dumps(r, default=str) for r in results}
    return {"asks": len(results) + len(errors), "distinct": len(distinct), "errors": errors,
            "sample": results[0][:3] if results else []}


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.0f}×" if a and b else "–"


def run(ctx: Context) -> Section:
    section = Section("fast", "Fast from the first question (issue 20)")
    section.intro = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    cli = duckdb_cli()
    section.header = ["scale", "measure", "product", "bare DuckDB (same SQL)", "duckdb shell (same SQL)", "note"]
    results: dict[str, Any] = {"cli": cli}
    scales = [s for s in ctx.scales if s in ("small", "medium", "large")] or [ctx.scales[-1]]
    for scale in scales:
        ctx.log(f"  fast answers {scale}")
        db = ctx.warehouse(scale)
        m: dict[str, Any] = {"one_shot": one_shot(ctx, db, cli)}
        if scale != "small" or len(scales) == 1:
            m["why"] = why_questions(ctx, db, cli)
        m["same"] = same_numbers(db, 2 if ctx.max_cases else 4)  # smoke test: 2 + 2
        results[scale] = m
        o = m["one_shot"]
        section.rows.append([scale, f"one-shot `chatbi ask --json`, p50 of {len(o['rows'])} questions",
                             f"{fmt_s(o['wall_p50'])} wall ({fmt_s(o['cpu_p50'])} CPU; pipeline "
                             f"{fmt_ms(o['pipeline_p50_ms'])})", fmt_ms(o["bare_p50_ms"]),
                             fmt_ms(o["cli_p50_ms"]) if o["cli_p50_ms"] is not None else "no shell",
                             f"wall ÷ bare {_ratio(o['wall_p50'] * 1000, o['bare_p50_ms'])}; p95 {fmt_s(o['wall_p95'])}"])
        if "why" in m:
            for r in m["why"]["rows"]:
                g, s = r["grouped"], r["separate"]
                section.rows.append([scale, f"why: {r['question']}",
                                     f"{fmt_ms(g['total_ms'])}, {g['statements']} statements",
                                     fmt_ms(g["bare_ms"]),
                                     fmt_ms(g.get("cli_ms")) if g.get("cli_ms") is not None else "no shell",
                                     f"was {fmt_ms(s['total_ms'])}, {s['statements']} statements (bare "
                                     f"{fmt_ms(s['bare_ms'])}); same finding: {'yes' if r['same_finding'] else 'NO'}"])
        if o["failed"]:
            section.notes.append(f"{scale}: internal errors (counted in the wall times): {', '.join(o['failed'])}")
        sm = m["same"]
        section.rows.append([scale, f"{SAME_NUMBERS}: distinct results in {sm['asks']} asks", str(sm["distinct"]),
                             "", "", f"{sm['asks'] // 2} fresh pipelines in turn, as many in threads" +
                             (f"; errors: {', '.join(sm['errors'])}" if sm.get("errors") else "")])
    if not cli:
        section.notes.append("No `duckdb` shell was found (set CHATBI_BENCH_DUCKDB_CLI): the shell anchor "
                             "is not measured. `pip install duckdb-cli` into a separate venv gives one.")
    section.notes.append("Commands: `.venv/bin/python -m benchmarks.run --only fast --scales small,medium "
                         "--update`; by hand: `time .venv/bin/chatbi ask \"各大区的GMV\" --json --db "
                         "data/medium.duckdb`, profile with `.venv/bin/pyinstrument -m chatbi.channels.cli ask …` "
                         "and `python -X importtime -m chatbi.channels.cli ask …`.")
    section.data = results
    for scale, goal in GOALS_S.items():
        got = results.get(scale, {}).get("one_shot")
        section.goals.append(Goal(f"one-shot `chatbi ask`, p50 of 20 questions ({scale})", f"≤ {goal:.1f} s",
                                  f"{fmt_s(got['wall_p50'])} wall, {fmt_s(got['cpu_p50'])} CPU" if got else
                                  "not measured in this run", (got["wall_p50"] <= goal) if got else None))
    for scale, goal in WHY_P95_S.items():
        got = results.get(scale, {}).get("why")
        section.goals.append(Goal(f"why-questions p95, warm ({scale})", f"≤ {goal:.0f} s",
                                  f"{fmt_ms(got['p95_ms'])} (was {fmt_ms(got['separate_p95_ms'])})" if got else
                                  "not measured in this run", (got["p95_ms"] <= goal * 1000) if got else None))
    same = [results[s]["same"] for s in scales if s in results]
    section.goals.append(Goal("the same money question, the same numbers", "1 distinct result",
                              ", ".join(f"{s['distinct']} in {s['asks']} asks" for s in same),
                              all(s["distinct"] == 1 and not s.get("errors") for s in same) if same else None))
    for missed in section.goals:
        if missed.passed is False:
            missed.limit = "see the rows above; the machine's load average is in the header"
    return section
