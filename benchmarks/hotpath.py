"""Where the time goes: pyinstrument over a callable, summarised as the top functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def top_functions(fn: Callable[[], Any], n: int = 8) -> list[tuple[str, float]]:
    """Run ``fn`` under pyinstrument; the ``n`` functions with the most self time
    (``function (file:line)``, seconds), the profiler's own frames excluded."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        fn()
    finally:
        profiler.stop()
    totals: dict[str, float] = {}
    stack = [profiler.last_session.root_frame()] if profiler.last_session else []
    while stack:
        frame = stack.pop()
        if frame is None:
            continue
        stack.extend(frame.children)
        if frame.total_self_time > 0 and not frame.is_synthetic:
            key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
            totals[key] = totals.get(key, 0.0) + frame.total_self_time
    return sorted(totals.items(), key=lambda kv: -kv[1])[:n]


def render(top: list[tuple[str, float]]) -> str:
    return "; ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in top)
