"""Recommender benchmark: the collaborative-filtering model against popularity on a later
time split; prints a Markdown snippet for docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_recommender.py [--db PATH] [--scale small] [--holdout 30 90]

Without ``--db`` a demo warehouse (seed 7) is generated and its profiles built in a
temporary folder. For each item kind (next category: hit rate@3 of 12 categories; next
merchant: hit rate@10) the model is trained on interactions up to ``as_of − holdout`` and
tested on the purchases after it, against the most-bought items of the 90 days before the
cut-off (chatbi.relations.recommend.evaluate). The step time is the whole profile-build step
(chatbi.profiles.recommender.create_recommendations) on a copy of the warehouse.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import duckdb  # noqa: E402

from chatbi.profiles.staging import resolve_as_of  # noqa: E402
from chatbi.relations import recommend  # noqa: E402

KINDS = (("category", 3), ("merchant", 10))


def _warehouse(args: argparse.Namespace, work: Path) -> Path:
    if args.db:
        return Path(args.db)
    from chatbi.profiles.build import build_profiles
    from chatbi.warehouse.demo import generate_demo

    path = work / "bench.duckdb"
    generate_demo(path, scale=args.scale, seed=7)
    build_profiles(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an existing warehouse (default: generate one)")
    parser.add_argument("--scale", default="small", help="demo scale when generating (default small)")
    parser.add_argument("--holdout", type=int, nargs="+", default=[30, 90], help="holdout days")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = _warehouse(args, work)
        copy = work / "step.duckdb"
        shutil.copyfile(db, copy)
        con = duckdb.connect(str(copy))
        con.execute("SET enable_progress_bar = false")
        as_of = resolve_as_of(con, None)
        users = con.execute("SELECT count(*) FROM users").fetchone()[0]
        rows = []
        for kind, k in KINDS:
            for days in args.holdout:
                start = time.perf_counter()
                r = recommend.evaluate(con, kind, as_of, k=k, holdout_days=days)  # type: ignore[arg-type]
                rows.append((r, time.perf_counter() - start))
        from chatbi.profiles.recommender import create_recommendations

        start = time.perf_counter()
        report = create_recommendations(con, as_of)
        step_seconds = time.perf_counter() - start
        con.close()
    label = args.db or f"demo {args.scale} (seed 7)"
    print("### Recommender (collaborative filtering vs popularity)\n")
    print(f"Warehouse: {label}, {users:,} users, as-of {as_of}; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}.\n")
    print("| predicts | metric | holdout | train cut-off | test users | model | popularity | "
          "model recall@k | popularity recall@k | fit + eval |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r, seconds in rows:
        what = "next category" if r.kind == "category" else "next merchant"
        print(f"| {what} | hit rate@{r.k} of {r.items} | {(r.as_of - r.cutoff).days} d | {r.cutoff} | "
              f"{r.users:,} | **{r.hit_rate:.3f}** | {r.baseline_hit_rate:.3f} | {r.recall:.3f} | "
              f"{r.baseline_recall:.3f} | {seconds:.1f} s |")
    counts = ", ".join(f"{t} {n:,}" for t, n in report.row_counts.items())
    print(f"\nWhole profile-build step (links, communities, rules, predictions, evaluation): "
          f"{step_seconds:.1f} s; rows: {counts}.")
    beaten = all(r.hit_rate > r.baseline_hit_rate for r, _ in rows)
    return 0 if beaten else 1


if __name__ == "__main__":
    raise SystemExit(main())
