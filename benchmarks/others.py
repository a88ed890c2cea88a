"""Figures other benchmarks produce: retrieval, recommender, and the sentiment document.

bench_retrieval.py and bench_recommender.py print a Markdown section from their ``main``;
they are imported and run on the cached warehouse and their output is included as is.
docs/sentiment.md is linked when present.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import sys
import time

from benchmarks.common import ROOT, Context, Section


def _captured(module_name: str, argv: list[str]) -> tuple[str, int | None]:
    """stdout and return code of ``module.main`` run with ``argv``."""
    module = importlib.import_module(module_name)
    out = io.StringIO()
    saved = sys.argv
    sys.argv = [module_name, *argv]  # bench_retrieval.main() parses sys.argv
    try:
        with contextlib.redirect_stdout(out):
            code = module.main(argv) if inspect.signature(module.main).parameters else module.main()
    finally:
        sys.argv = saved
    return out.getvalue(), code


def _external(ctx: Context, key: str, title: str, module: str) -> Section:
    section = Section(key, title)
    if not (ROOT / "benchmarks" / f"{module}.py").exists():
        section.markdown = f"`benchmarks/{module}.py` is not present in this checkout."
        return section
    db = ctx.warehouse(ctx.light)
    ctx.log(f"  {module} on {db.name}")
    start = time.perf_counter()
    text, code = _captured(f"benchmarks.{module}", ["--db", str(db)])
    section.seconds = time.perf_counter() - start
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]  # our own heading replaces theirs
    section.intro = f"Output of `benchmarks/{module}.py --db <cached {ctx.light} warehouse>` (exit code {code})."
    section.markdown = "\n".join(lines).strip()
    return section


def retrieval(ctx: Context) -> Section:
    return _external(ctx, "retrieval", "Retrieval (from benchmarks/bench_retrieval.py)", "bench_retrieval")


def recommender(ctx: Context) -> Section:
    return _external(ctx, "recommender", "Recommender (from benchmarks/bench_recommender.py)", "bench_recommender")


def sentiment(ctx: Context) -> Section:
    section = Section("sentiment", "Review sentiment")
    doc = ROOT / "docs" / "sentiment.md"
    section.markdown = ("Sentiment figures are in [docs/sentiment.md](sentiment.md)." if doc.exists()
                        else "docs/sentiment.md is not present in this checkout; no sentiment figures.")
    return section
