"""Which dimensions a metric can be grouped or filtered by.

A metric reads measures; a measure lives on one or more semantic models; a dimension is
usable when, for every measure, some model holding it reaches the dimension through
many-to-one joins. The compiler's ``JoinGraph`` answers reachability when it is available
(so planner and compiler agree); otherwise entities are followed the same way here.
"""

from __future__ import annotations

from chatbi.semantic.models import Metric, SemanticLayer, SemanticModel

try:  # the compiler's join graph (chatbi.semantic.graph), the single source of truth
    from chatbi.semantic.graph import JoinGraph
except ImportError:  # pragma: no cover - only before the compiler exists
    JoinGraph = None  # type: ignore[assignment,misc]


class Compatibility:
    """Answers ``dimensions_for(metric)`` and ``can_use(metric, dimension)`` for a layer."""

    def __init__(self, layer: SemanticLayer):
        self.layer = layer
        self._graph = JoinGraph.of(layer) if JoinGraph is not None and hasattr(layer, "cache") else None
        self._dim_names = [d.name for _, d in layer.all_dimensions()]
        self._cache: dict[str, frozenset[str] | None] = {}

    # ------------------------------------------------------------------ reachability
    def _primary_owners(self, entity: str) -> list[SemanticModel]:
        return [m for m in self.layer.models if any(e.name == entity and e.type in ("primary", "unique") for e in m.entities)]

    def _reachable_dims(self, model: SemanticModel) -> set[str]:
        if self._graph is not None:
            return set(self._graph.reachable(model.name))
        seen = {model.name: model}
        todo = [model]
        while todo:
            current = todo.pop()
            for entity in current.entities:
                for other in self._primary_owners(entity.name):
                    if other.name not in seen:
                        seen[other.name] = other
                        todo.append(other)
        return {d.name for m in seen.values() for d in m.dimensions}

    def _measure_models(self, measure: str) -> list[SemanticModel]:
        return [m for m in self.layer.models if any(x.name == measure for x in m.measures)]

    def _measures(self, metric: Metric, depth: int = 0) -> list[str] | None:
        if metric.type == "simple":
            return [metric.measure] if metric.measure else None
        if metric.type == "ratio":
            return [n for n in (metric.numerator, metric.denominator) if n] or None
        if depth > 5 or not metric.metrics:
            return None
        out: list[str] = []
        for part in metric.metrics:
            try:
                found = self._measures(self.layer.metric(part), depth + 1)
            except KeyError:
                return None
            if found is None:
                return None
            out.extend(found)
        return out

    def dimensions_for(self, metric_name: str) -> frozenset[str] | None:
        """Names of usable dimensions; None when unknown (then anything is allowed)."""
        if metric_name in self._cache:
            return self._cache[metric_name]
        result: frozenset[str] | None = None
        try:
            measures = self._measures(self.layer.metric(metric_name))
        except KeyError:
            measures = None
        if measures:
            usable: set[str] | None = None
            for measure in measures:
                models = self._measure_models(measure)
                if not models:
                    usable = None
                    break
                dims = set().union(*(self._reachable_dims(m) for m in models))
                usable = dims if usable is None else usable & dims
            result = frozenset(usable) if usable is not None else None
        self._cache[metric_name] = result
        return result

    def can_use(self, metric_name: str, dimension: str) -> bool:
        dims = self.dimensions_for(metric_name)
        return dims is None or dimension in dims

    # ------------------------------------------------------------------ entities
    def entity_models(self, entity: str) -> list[SemanticModel]:
        """Models whose primary entity is ``entity`` (user, merchant…)."""
        return [m for m in self.layer.models if any(e.name == entity and e.type == "primary" for e in m.entities)]

    def entity_dimensions(self, entity: str) -> set[str]:
        """Dimensions that describe an entity: those on the models it is primary in."""
        return {d.name for m in self.entity_models(entity) for d in m.dimensions}
