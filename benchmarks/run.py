"""``make bench``: run every benchmark, print each goal PASS/MISS, write docs/benchmarks.md.

    python -m benchmarks.run                              # full: tiny, small, medium, large
    python -m benchmarks.run --scales tiny,small --quick  # CI smoke / quick dev run
    python -m benchmarks.run --only rfm,questions --scales medium

Warehouses are cached in data/bench/ (see benchmarks/warehouses.py). A full run writes
docs/benchmarks.md and docs/benchmarks/*.png; a --quick run writes data/bench/quick/
unless --out is given. The exit code is 1 when a benchmark failed to run (a missed goal is
reported, not an error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.pop("OPENAI_API_KEY", None)  # the offline figures never reach a real model

from benchmarks import (  # noqa: E402
    cold_start,
    concurrency,
    engines,
    fast,
    generation,
    llm_prompt,
    others,
    plots,
    profile_build,
    questions,
    report,
    rfm,
    sql_vs_pandas,
)
from benchmarks.common import ROOT, SCALE_ORDER, Context, Goal, Section, sorted_scales  # noqa: E402
from benchmarks.warehouses import clear  # noqa: E402

BENCHMARKS: dict[str, Callable[[Context], Section]] = {
    "generation": generation.run,
    "profiles": profile_build.run,
    "rfm": rfm.run,
    "questions": questions.run,
    "engines": engines.run,
    "sql_vs_pandas": sql_vs_pandas.run,
    "cold_start": cold_start.run,
    "fast": fast.run,
    "llm": llm_prompt.run,
    "concurrency": concurrency.run,
    "retrieval": others.retrieval,
    "recommender": others.recommender,
    "sentiment": others.sentiment,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--scales", default=",".join(SCALE_ORDER), help="comma-separated (default: all four)")
    p.add_argument("--quick", action="store_true", help="one repetition of everything, fewer HTTP requests")
    p.add_argument("--reps", type=int, help="repetitions of every timing (default 3; 1 for medium/large builds)")
    p.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    p.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    p.add_argument("--cache-dir", default=str(ROOT / "data" / "bench"), help="warehouse cache folder")
    p.add_argument("--fresh", action="store_true", help="delete the warehouse cache first")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--end-date", default="2026-09-30", help="last day of the demo data")
    p.add_argument("--update", action="store_true",
                   help="re-run only the selected benchmarks and keep the other sections (and their "
                        "machine/date line) from the previous results.json")
    p.add_argument("--out", help="Markdown file to write (default docs/benchmarks.md; "
                                 "with --quick data/bench/quick/benchmarks.md)")
    return p.parse_args(argv)


def selected(args: argparse.Namespace) -> list[str]:
    names = [n for n in (args.only.split(",") if args.only else BENCHMARKS) if n]
    skip = {n for n in args.skip.split(",") if n}
    unknown = [n for n in [*names, *skip] if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    return [n for n in names if n not in skip]


def run_one(name: str, ctx: Context) -> tuple[Section, bool]:
    """Run one benchmark; a crash becomes a Section saying so (and a failed goal)."""
    ctx.log(f"[{name}] started")
    start = time.perf_counter()
    try:
        section, ok = BENCHMARKS[name](ctx), True
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others
        section, ok = Section(name, f"{name} (failed)"), False
        section.markdown = f"This benchmark failed: `{type(exc).__name__}: {exc}`"
        section.goals = [Goal(f"{name} ran", "completes", f"failed: {type(exc).__name__}", False)]
        traceback.print_exc()
    section.seconds = time.perf_counter() - start
    ctx.log(f"[{name}] done in {section.seconds:.0f} s")
    for goal in section.goals:
        ctx.log("    " + goal.line() + (f" — limited by: {goal.limit}" if goal.limit else ""))
    return section, ok


def _with_previous(out: Path, fresh: dict[str, Section], info: dict[str, str]) -> dict[str, Section]:
    """The previous run's sections (from results.json beside ``out``) with ``fresh`` ones
    replacing theirs, in the usual order; ``info`` says which sections come from when."""
    path = out.parent / "benchmarks" / "results.json"
    if not path.is_file():
        return fresh
    previous = json.loads(path.read_text(encoding="utf-8"))
    kept = {}
    for name, raw in previous.get("sections", {}).items():
        if name in fresh or name not in BENCHMARKS:
            continue
        goals = [Goal(**g) for g in raw.pop("goals", [])]
        kept[name] = Section(**raw, goals=goals)
    if kept:
        prior = previous.get("machine", {})
        info["sections re-measured in this run"] = ", ".join(fresh)
        info["other sections"] = (f"kept from the run of {prior.get('date', '?')} "
                                  f"(commit {str(prior.get('git commit', '?'))[:12]})")
    merged = {**kept, **fresh}
    return {name: merged[name] for name in BENCHMARKS if name in merged}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ctx = Context(scales=sorted_scales([s.strip() for s in args.scales.split(",") if s.strip()]),
                  quick=args.quick, reps=args.reps, cache_dir=Path(args.cache_dir), seed=args.seed,
                  end_date=date.fromisoformat(args.end_date),
                  log=lambda msg: print(msg, flush=True))
    if args.fresh:
        clear(ctx)
    out = Path(args.out) if args.out else (
        ctx.cache_dir / "quick" / "benchmarks.md" if args.quick else ROOT / "docs" / "benchmarks.md")
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    info = report.machine()
    info["load average (1/5 min) at start"] = "{:.1f}/{:.1f}".format(*os.getloadavg()[:2])
    started = time.perf_counter()
    sections, failures = {}, 0
    for name in selected(args):
        section, ok = run_one(name, ctx)
        sections[name] = section
        failures += not ok
    info["load average (1/5 min) at end"] = "{:.1f}/{:.1f}".format(*os.getloadavg()[:2])
    if args.update:
        sections = _with_previous(out, sections, info)
    charts = plots.charts(sections, out.parent / "benchmarks")
    generated = report.render(list(sections.values()), charts, info, command.strip(), out,
                              time.perf_counter() - started)
    report.write(out, generated)
    (out.parent / "benchmarks").mkdir(parents=True, exist_ok=True)
    (out.parent / "benchmarks" / "results.json").write_text(json.dumps(
        {"machine": info, "command": command.strip(), "results": {k: s.data for k, s in sections.items()},
         "sections": {k: asdict(s) for k, s in sections.items()}}, indent=1, default=str))
    print(f"\nwrote {out}" + (f" and {len(charts)} plots" if charts else ""))
    print("\nGoals:")
    for section in sections.values():
        for goal in section.goals:
            print("  " + goal.line() + (f"\n      limited by: {goal.limit}" if goal.limit else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
