"""Compare a Plan with the essentials a test expects (only the keys given are checked)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chatbi.planner.types import Plan


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def essentials(plan: Plan) -> dict[str, Any]:
    """The plan reduced to comparable facts."""
    out: dict[str, Any] = {"intent": plan.intent, "lang": plan.language, "entity_list": plan.entity_list}
    q = plan.query
    if q is not None:
        out.update(
            metrics=list(q.metrics),
            dims=set(q.dimensions),
            filters={(f.dimension, f.op, _freeze(f.value)) for f in q.filters},
            time=(q.time_range.start, q.time_range.end) if q.time_range else None,
            comparison=q.comparison,
            grain=q.grain,
            share=q.share_of_total,
            order=[(o.field, o.descending) for o in q.order_by],
            limit=q.limit,
            having={(h.metric, h.op, h.value) for h in q.having},
        )
    if plan.copy_request is not None:
        c = plan.copy_request
        out.update(channel=c.channel, count=c.count, filters={(f.dimension, f.op, _freeze(f.value)) for f in c.filters})
    if plan.why_request is not None:
        out.update(why_metric=plan.why_request.metric, direction=plan.why_request.direction)
    out["defs"] = list(plan.definitions)
    return out


def check(plan: Plan, expected: dict[str, Any]) -> None:
    got = essentials(plan)
    for key, want in expected.items():
        if key == "dims":
            want = set(want)
        if key == "filters":
            want = {(d, op, _freeze(v)) for d, op, v in want}
        if key == "has_message":
            assert bool(plan.message) == want, plan
            continue
        if key == "message_has":
            assert plan.message and want in plan.message, plan.message
            continue
        if key == "candidates_include":
            assert want in plan.candidates, plan.candidates
            continue
        if key == "time" and want is not None:
            want = (date.fromisoformat(want[0]), date.fromisoformat(want[1]))
        assert key in got, f"{key} missing from {got}"
        assert got[key] == want, f"{key}: got {got[key]!r}, want {want!r} — full plan: {got}"
