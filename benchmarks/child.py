"""Run one heavy step in a fresh process and report its time and peak memory as JSON.

    python -m benchmarks.child generate --db PATH --scale small --seed 42 --end 2026-09-30
    python -m benchmarks.child profiles --db PATH
    python -m benchmarks.child index --db PATH

The last line on stdout is a JSON object: ``seconds`` (the step itself, imports excluded),
``cpu_seconds`` (all threads), ``maxrss_kib`` (peak resident memory of this process,
``resource.getrusage(RUSAGE_SELF)``; DuckDB runs in-process so it is included),
``stages`` (seconds per stage) and ``rows`` (row counts). ``run_child`` runs it from a parent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _rss_kib() -> int:
    """Current resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0


class StageClock:
    """A progress callback that adds up the seconds spent under each stage label, and a
    sampler thread that records the peak resident memory seen under each label."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.peak_kib: dict[str, int] = {}
        self._label: str | None = None
        self._since = time.perf_counter()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            label = self._label
            if label is not None:
                self.peak_kib[label] = max(self.peak_kib.get(label, 0), _rss_kib())

    def stop(self) -> None:
        self._stop.set()

    def __call__(self, label: str, _fraction: float) -> None:
        english = label.split(" / ")[-1]
        base = re.sub(r"\s+\d.*$", "", english).strip() or english
        now = time.perf_counter()
        if self._label is not None and base != self._label:
            self.stages[self._label] = self.stages.get(self._label, 0.0) + now - self._since
        if base != self._label:
            self._label, self._since = base, now


def _generate(args: argparse.Namespace) -> dict[str, Any]:
    from chatbi.warehouse.demo import generate_demo

    clock = StageClock()
    summary = generate_demo(Path(args.db), scale=args.scale, seed=args.seed,
                            end_date=date.fromisoformat(args.end), progress=clock)
    clock.stop()
    return {"stages": clock.stages, "rows": dict(summary.row_counts), "peak_kib": clock.peak_kib}


def _profiles(args: argparse.Namespace) -> dict[str, Any]:
    from chatbi.profiles.build import build_profiles

    clock = StageClock()
    report = build_profiles(Path(args.db), progress=clock)
    clock.stop()
    return {"stages": dict(report.step_seconds), "rows": dict(report.row_counts),
            "step_cpu_seconds": dict(report.step_cpu_seconds), "peak_kib": clock.peak_kib}


def _index(args: argparse.Namespace) -> dict[str, Any]:
    from chatbi.config import Settings
    from chatbi.retrieval.index import build_index

    build_index(Settings.from_env(db_path=Path(args.db)))
    return {}


STEPS = {"generate": _generate, "profiles": _profiles, "index": _index}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--db", required=True)
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", default="2026-09-30")
    args = parser.parse_args(argv)
    start, cpu = time.perf_counter(), time.process_time()
    out = STEPS[args.step](args)
    out.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu,
               maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


def run_child(step: str, db: Path, **options: Any) -> dict[str, Any]:
    """Run ``step`` in a new Python process; its JSON report plus ``wall_seconds``."""
    cmd = [sys.executable, "-m", "benchmarks.child", step, "--db", str(db)]
    for key, value in options.items():
        cmd += [f"--{key}", str(value)]
    root = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


if __name__ == "__main__":
    raise SystemExit(main())
