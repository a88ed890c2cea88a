"""Which metrics are snapshots (a current count, no time dimension): a period or a trend
said with one cannot be applied, so the planner asks instead of answering the snapshot as if
it were the period's figure (用户数 in 2025 is not the users of 2025)."""

from __future__ import annotations

from datetime import date

from chatbi.semantic.models import SemanticLayer

_PROBE_DAY = date(2026, 1, 31)


class SnapshotMetrics:
    """``is_snapshot(metric)``, decided once per metric by the compiler's own rules."""

    def __init__(self, layer: SemanticLayer):
        self.layer = layer
        self._known: dict[str, bool] = {}

    def is_snapshot(self, metric: str) -> bool:
        if metric not in self._known:
            from chatbi.errors import CompileError
            from chatbi.semantic.compiler import compile_query
            from chatbi.semantic.query import SemanticQuery

            try:
                compile_query(SemanticQuery(metrics=[metric], grain="month"), self.layer, as_of=_PROBE_DAY)
                self._known[metric] = False
            except CompileError as exc:
                self._known[metric] = "snapshot" in str(exc)
        return self._known[metric]

    def dated_alternatives(self, layer: SemanticLayer, metric: str, limit: int = 3) -> list[str]:
        """Metrics with a time dimension whose names share a word with ``metric`` (user_count →
        new_users): what can be asked for a period instead."""
        stem = metric.split("_")[0]
        found = [m.name for m in layer.metrics if m.name != metric and stem in m.name and not self.is_snapshot(m.name)]
        return found[:limit]
