"""End-to-end latency of the evaluation set with the offline planner (``Pipeline.ask``).

Every case of tests/eval/questions_*.yaml is asked in its own conversation (follow-ups see
the earlier turns); the stage timings come from ``Answer.timings_ms`` (plan, sql, chart,
finding, total). The pipeline is warmed first (planner, dimension values, one question), as
a running server would be. When a goal is missed, pyinstrument profiles the ten questions
around the median (p50 and SQL-ratio goals) or the five slowest (p95 goal) again, and the
report lists the functions with the most self time.
"""

from __future__ import annotations

import statistics
from collections import Counter

from benchmarks import hotpath
from benchmarks.common import (
    Context,
    Goal,
    Section,
    fmt_ms,
    offline_pipeline,
    percentile,
    question_turns,
)

STAGES = ("plan", "sql", "chart", "finding", "total")
P50_GOAL_MS, P95_GOAL_MS, SQL_RATIO_GOAL = 150, 600, 1.5


def ask_all(pipeline, conversations: list[list[str]]) -> list[dict]:
    """One record per question: its text, intent, error code and stage timings (ms)."""
    records = []
    for turns in conversations:
        conversation = pipeline.new_conversation()
        for question in turns:
            answer = pipeline.ask(question, conversation=conversation)
            t = answer.timings_ms
            records.append({"question": question, "intent": answer.intent, "has_sql": bool(answer.sql),
                            "error": (answer.error or {}).get("code"),
                            **{k: float(t.get(k, 0.0)) for k in STAGES}})
    return records


def summarise(records: list[dict]) -> dict:
    out = {f"{k}_p50": statistics.median(r[k] for r in records) for k in STAGES}
    out.update({f"{k}_p95": percentile([r[k] for r in records], 0.95) for k in STAGES})
    with_sql = [r for r in records if r["has_sql"]]
    out["with_sql"] = len(with_sql)
    out["sql_ratio"] = (statistics.median(r["total"] for r in with_sql) / statistics.median(r["sql"] for r in with_sql)
                        if with_sql else None)
    out["questions"] = len(records)
    out["errors"] = sum(1 for r in records if r["error"])
    out["error_codes"] = dict(Counter(r["error"] for r in records if r["error"]))
    return out


def measure(ctx: Context, scale: str) -> dict:
    pipeline = offline_pipeline(ctx.warehouse(scale))
    try:
        _ = pipeline.planner  # loads the dimension values
        pipeline.ask("各大区的GMV")
        ctx.log(f"  questions {scale}: asking the evaluation set")
        records = ask_all(pipeline, question_turns(ctx.max_cases))
        stats = summarise(records)
        ranked = sorted(records, key=lambda r: -r["total"])
        stats["slowest"] = [(r["question"], r["total"]) for r in ranked[:5]]
        middle = ranked[len(ranked) // 2 - 5: len(ranked) // 2 + 5] or ranked
        if ctx.diagnose and (stats["total_p50"] > P50_GOAL_MS or (stats["sql_ratio"] or 0) > SQL_RATIO_GOAL):
            stats["hot_median"] = _hot(pipeline, [r["question"] for r in middle])
        if ctx.diagnose and stats["total_p95"] > P95_GOAL_MS:
            stats["hot_slowest"] = _hot(pipeline, [r["question"] for r in ranked[:5]])
    finally:
        pipeline.close()
    return stats


def _hot(pipeline, questions: list[str]) -> str:
    return hotpath.render(hotpath.top_functions(lambda: [pipeline.ask(q) for q in questions], n=6))


def run(ctx: Context) -> Section:
    section = Section("questions", "Questions end to end (offline planner, evaluation set)")
    section.intro = __doc__.split("\n\n", 1)[1].replace("\n", " ")
    section.header = ["scale", "questions", *(f"{k} p50 / p95" for k in STAGES),
                      "total ÷ SQL (medians, questions that ran SQL)"]
    section.notes.append("Refusals (`refused`) and clarifying questions (`unclear_question`) are the evaluation "
                         "set's deliberate out-of-scope and unsafe questions; their latency is included.")
    results = {}
    for scale in ctx.heavy:
        s = measure(ctx, scale)
        results[scale] = s
        section.rows.append([
            scale, f"{s['questions']} ({s['with_sql']} ran SQL; " + ", ".join(
                f"{n} {code}" for code, n in sorted(s["error_codes"].items())) + ")",
            *(f"{fmt_ms(s[f'{k}_p50'])} / {fmt_ms(s[f'{k}_p95'])}" for k in STAGES),
            "–" if s["sql_ratio"] is None else f"{s['sql_ratio']:.2f}×",
        ])
        section.notes.append(f"{scale}: slowest questions: " + "; ".join(
            f"{q} ({fmt_ms(ms)})" for q, ms in s["slowest"]))
        if s.get("hot_median"):
            section.notes.append(f"{scale}: pyinstrument over the ten questions around the median "
                                 f"(top self time): {s['hot_median']}")
        if s.get("hot_slowest"):
            section.notes.append(f"{scale}: pyinstrument over the five slowest (top self time): {s['hot_slowest']}")
    section.data = results
    at = "medium" if "medium" in results else next(iter(results))
    s = results[at]
    g1 = Goal(f"question latency p50 ({at})", f"≤ {P50_GOAL_MS} ms", fmt_ms(s["total_p50"]),
              s["total_p50"] <= P50_GOAL_MS)
    g2 = Goal(f"question latency p95 ({at})", f"≤ {P95_GOAL_MS} ms", fmt_ms(s["total_p95"]),
              s["total_p95"] <= P95_GOAL_MS)
    ratio = s["sql_ratio"]
    g3 = Goal(f"median total ÷ median SQL time ({at})", f"≤ {SQL_RATIO_GOAL}×",
              "–" if ratio is None else f"{ratio:.2f}× (SQL {fmt_ms(s['sql_p50'])}, total {fmt_ms(s['total_p50'])})",
              None if ratio is None else ratio <= SQL_RATIO_GOAL)
    for g in (g1, g2, g3):
        if g.passed is False:
            stages = ", ".join(f"{k} {fmt_ms(s[f'{k}_p50'])}" for k in STAGES[:-1])
            hot = s.get("hot_slowest") if g is g2 else s.get("hot_median")
            g.limit = f"median stages: {stages}" + (f"; hot path (pyinstrument): {hot}" if hot else "")
    section.goals = [g1, g2, g3]
    return section
