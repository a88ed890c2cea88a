"""Demo generation (``generate_demo``) at each scale: time and peak memory in a child process.

Each run generates a fresh warehouse in a child process (``benchmarks.child generate``);
the first output at a scale becomes the cached warehouse when none is cached yet.
"""

from __future__ import annotations

import statistics

from benchmarks.child import run_child
from benchmarks.common import Context, Goal, Section, fmt_gib, fmt_s, loadavg
from benchmarks.warehouses import cache_path

GIB_KIB = 1024 ** 2
SMALL_GOAL_S, LARGE_GOAL_S, LARGE_GOAL_GIB = 30, 600, 8


def measure(ctx: Context, scale: str) -> dict:
    """Median time and max peak RSS over the repetitions at one scale."""
    target = cache_path(ctx, scale)
    target.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    for i in range(ctx.repeats(scale, expensive=True)):
        tmp = target.with_name(f"gen-{scale}-{i}.duckdb")
        ctx.log(f"  generate {scale} run {i + 1}")
        runs.append(run_child("generate", tmp, scale=scale, seed=ctx.seed, end=ctx.end_date.isoformat()))
        if target.exists():
            tmp.unlink()
        else:
            tmp.rename(target)
    runs.sort(key=lambda r: r["seconds"])
    mid = runs[len(runs) // 2]
    return {"scale": scale, "runs": len(runs), "seconds": statistics.median(r["seconds"] for r in runs),
            "cpu_seconds": mid["cpu_seconds"], "maxrss_kib": max(r["maxrss_kib"] for r in runs),
            "rows": mid["rows"], "stages": mid["stages"], "load": loadavg()}


def _top_stages(stages: dict[str, float], n: int = 3) -> str:
    top = sorted(stages.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {fmt_s(v)}" for k, v in top)


def _limit(m: dict) -> str:
    return (f"slowest stages: {_top_stages(m['stages'])}; CPU {fmt_s(m['cpu_seconds'])} for "
            f"{fmt_s(m['seconds'])} wall (load average {m['load']} on 2 cores)")


def run(ctx: Context) -> Section:
    section = Section("generation", "Demo generation (`chatbi init --demo`, `generate_demo`)")
    section.intro = ("Each run is a fresh child process; time is the `generate_demo` call, peak memory "
                     "is the child's `ru_maxrss` (DuckDB runs in-process, so it is included). Stages are "
                     "timed from the generator's progress reports; 'counting rows' also holds the final "
                     "CHECKPOINT and the atomic rename.")
    section.header = ["scale", "orders", "events", "time", "CPU time", "peak RSS", "orders/s",
                      "slowest stages"]
    results = {}
    for scale in ctx.scales:
        m = measure(ctx, scale)
        results[scale] = m
        rows = m["rows"]
        section.rows.append([
            scale, f"{rows.get('orders', 0):,}", f"{rows.get('events', 0):,}",
            f"{fmt_s(m['seconds'])} (median of {m['runs']})", fmt_s(m["cpu_seconds"]),
            fmt_gib(m["maxrss_kib"]), f"{rows.get('orders', 0) / m['seconds']:,.0f}",
            _top_stages(m["stages"]),
        ])
    section.data = results
    small = results.get("small")
    goal = Goal("generation, small", f"≤ {SMALL_GOAL_S} s")
    if small:
        goal.measured, goal.passed = fmt_s(small["seconds"]), small["seconds"] <= SMALL_GOAL_S
        goal.limit = "" if goal.passed else _limit(small)
    large = results.get("large")
    goal_large = Goal("generation, large", f"≤ {LARGE_GOAL_S // 60} min and peak memory ≤ {LARGE_GOAL_GIB} GiB")
    if large:
        gib = large["maxrss_kib"] / GIB_KIB
        goal_large.measured = f"{fmt_s(large['seconds'])}, {gib:.2f} GiB"
        goal_large.passed = large["seconds"] <= LARGE_GOAL_S and gib <= LARGE_GOAL_GIB
        goal_large.limit = "" if goal_large.passed else _limit(large)
    section.goals = [goal, goal_large]
    return section
