"""What every benchmark shares: the run context, results (Section, Goal), timing helpers."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCALE_ORDER = ("tiny", "small", "medium", "large")
ORDERS = {"tiny": 20_000, "small": 200_000, "medium": 2_000_000, "large": 10_000_000}
HEAVY = ("medium", "large")


@dataclass
class Goal:
    """One goal of the issue: what is wanted, what was measured, and whether it passed.

    ``passed`` is None when the figure was not measured in this run (e.g. --scales tiny).
    ``limit`` says what limits the figure when it is missed.
    """

    name: str
    target: str
    measured: str = "not measured in this run"
    passed: bool | None = None
    limit: str = ""

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("PASS" if self.passed else "MISS")

    def line(self) -> str:
        return f"[{self.verdict}] {self.name}: goal {self.target}; measured {self.measured}"


@dataclass
class Section:
    """One benchmark's results: a Markdown table, notes, goals and data for plots/JSON."""

    key: str
    title: str
    intro: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""  # extra Markdown (e.g. a table another script printed)
    seconds: float = 0.0


@dataclass
class Context:
    """Options of one run and the warehouse cache."""

    scales: list[str]
    quick: bool = False
    reps: int | None = None  # override every repetition count
    cache_dir: Path = ROOT / "data" / "bench"
    seed: int = 42
    end_date: date = date(2026, 9, 30)
    max_cases: int | None = None  # first N evaluation cases only (smoke tests)
    max_requests: int | None = None  # cap on HTTP requests per level (smoke tests)
    with_index: bool = True  # build the retrieval index of cached warehouses (as `chatbi init`)
    diagnose: bool = True  # profile what limits a missed goal (pyinstrument, -X importtime)
    log: Callable[[str], None] = print

    def repeats(self, scale: str = "tiny", *, expensive: bool = False) -> int:
        """How many runs to take the median of: 1 in --quick; 1 for expensive work at
        medium/large; else 3 (or --reps)."""
        if self.quick:
            return 1
        if self.reps is not None:
            return self.reps
        return 1 if expensive and scale in HEAVY else 3

    @property
    def primary(self) -> str:
        """The scale most figures are quoted at: medium when run, else the largest run."""
        return "medium" if "medium" in self.scales else self.scales[-1]

    @property
    def heavy(self) -> list[str]:
        """Scales for per-question figures: medium and large when run, else the largest."""
        return [s for s in self.scales if s in HEAVY] or [self.scales[-1]]

    @property
    def light(self) -> str:
        """A cheap scale for figures that do not depend on data size: small if run."""
        return "small" if "small" in self.scales else self.scales[0]

    def warehouse(self, scale: str) -> Path:
        from benchmarks.warehouses import ensure_warehouse

        return ensure_warehouse(self, scale)


def sorted_scales(names: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in SCALE_ORDER]
    if unknown:
        raise SystemExit(f"unknown scale(s) {unknown}; choose from {', '.join(SCALE_ORDER)}")
    return [s for s in SCALE_ORDER if s in names]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """Median seconds of ``reps`` calls and the last call's result."""
    times, result = [], None
    for _ in range(max(1, reps)):
        seconds, result = timed(fn)
        times.append(seconds)
    return statistics.median(times), result


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share 0.95 → p95); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def loadavg() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def fmt_s(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    if seconds < 0.1:
        return fmt_ms(seconds * 1000)
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_ms(ms: float | None) -> str:
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "–"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def fmt_gib(kib: float | None) -> str:
    return "–" if kib is None else f"{kib / 1024 ** 2:.2f} GiB"


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log(y) on log(x); None with fewer than two points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = statistics.fmean(p[0] for p in pts)
    my = statistics.fmean(p[1] for p in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return None if den == 0 else sum((x - mx) * (y - my) for x, y in pts) / den


def offline_pipeline(db: Path, **changes: Any) -> Any:
    """A Pipeline on ``db`` with the offline planner (``changes`` override Settings fields)."""
    from dataclasses import replace

    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings

    settings = replace(Settings.from_env(db_path=db), planner="offline", openai_api_key=None)
    return Pipeline(replace(settings, **changes) if changes else settings)


def question_turns(limit: int | None = None) -> list[list[str]]:
    """The evaluation set (tests/eval/questions_*.yaml) as conversations of question texts."""
    from chatbi.eval import load_question_set

    cases = load_question_set(ROOT / "tests" / "eval").cases
    turns = [[t.question for t in case.turns] for case in cases]
    return turns[:limit] if limit else turns
