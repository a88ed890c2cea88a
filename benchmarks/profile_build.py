"""Profile build (``build_profiles``) at each scale: time, peak memory, orders per second,
and how time grows with the number of orders (log-log slope over the scales run)."""

from __future__ import annotations

import statistics

from benchmarks.child import run_child
from benchmarks.common import Context, Goal, Section, fmt_gib, fmt_s, loadavg, loglog_slope
from benchmarks.warehouses import ensure_warehouse

GIB_KIB = 1024 ** 2
MEDIUM_GOAL_S, LARGE_GOAL_GIB = 60, 8


def measure(ctx: Context, scale: str) -> dict:
    db = ensure_warehouse(ctx, scale, profiles=False, with_index=False)  # the first run may build them
    runs = []
    for i in range(ctx.repeats(scale, expensive=True)):
        ctx.log(f"  build profiles {scale} run {i + 1}")
        runs.append(run_child("profiles", db))
    runs.sort(key=lambda r: r["seconds"])
    mid = runs[len(runs) // 2]
    orders = _orders(db)
    return {"scale": scale, "runs": len(runs), "orders": orders,
            "seconds": statistics.median(r["seconds"] for r in runs), "cpu_seconds": mid["cpu_seconds"],
            "maxrss_kib": max(r["maxrss_kib"] for r in runs), "steps": mid["stages"],
            "users": mid["rows"].get("user_profile", 0), "load": loadavg(),
            "peak_by_step": max(runs, key=lambda r: r["maxrss_kib"]).get("peak_kib", {})}


def _orders(db) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        con.close()


def _top_steps(steps: dict[str, float], n: int = 3) -> str:
    top = sorted(steps.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {fmt_s(v)}" for k, v in top)


def run(ctx: Context) -> Section:
    section = Section("profiles", "Profile build (`build_profiles`)")
    section.intro = ("Each run is a child process rebuilding every profile table of the cached "
                     "warehouse (including the copy-then-swap of the file). Step times come from "
                     "the build report.")
    section.header = ["scale", "orders", "users profiled", "time", "CPU time", "peak RSS", "orders/s",
                      "slowest steps"]
    results = {}
    for scale in ctx.scales:
        m = measure(ctx, scale)
        results[scale] = m
        section.rows.append([
            scale, f"{m['orders']:,}", f"{m['users']:,}", f"{fmt_s(m['seconds'])} (median of {m['runs']})",
            fmt_s(m["cpu_seconds"]), fmt_gib(m["maxrss_kib"]), f"{m['orders'] / m['seconds']:,.0f}",
            _top_steps(m["steps"]),
        ])
    slope = loglog_slope([m["orders"] for m in results.values()], [m["seconds"] for m in results.values()])
    if slope is not None:
        section.notes.append(
            f"Growth: time ∝ orders^{slope:.2f} (least-squares log-log slope over {', '.join(results)}; "
            "1.0 is linear; fixed costs such as model fitting on capped samples pull it below 1 at small sizes).")
    section.data = {"scales": results, "slope": slope}
    medium = results.get("medium")
    goal = Goal("profile build, medium (2M orders)", f"≤ {MEDIUM_GOAL_S} s")
    if medium:
        goal.measured, goal.passed = fmt_s(medium["seconds"]), medium["seconds"] <= MEDIUM_GOAL_S
        if not goal.passed:
            goal.limit = (f"slowest steps: {_top_steps(medium['steps'])}; CPU {fmt_s(medium['cpu_seconds'])} "
                          f"for {fmt_s(medium['seconds'])} wall (load average {medium['load']})")
    large = results.get("large")
    goal_large = Goal("profile build, large", f"peak memory ≤ {LARGE_GOAL_GIB} GiB")
    if large:
        gib = large["maxrss_kib"] / GIB_KIB
        goal_large.measured = f"{gib:.2f} GiB ({fmt_s(large['seconds'])})"
        goal_large.passed = gib <= LARGE_GOAL_GIB
        if not goal_large.passed:
            peaks = sorted(large["peak_by_step"].items(), key=lambda kv: -kv[1])[:3]
            goal_large.limit = ("peak resident memory by step: " + ", ".join(f"{k} {fmt_gib(v)}" for k, v in peaks)
                                if peaks else f"slowest steps: {_top_steps(large['steps'])}")
    section.goals = [goal, goal_large]
    return section
