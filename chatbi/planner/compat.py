"""Which dimensions a metric can be grouped or filtered by, from the layer's entities.

A metric's measures live on semantic models. From a model the planner may reach models
that share its primary entity (1:1) or whose primary entity the model references as a
foreign key (many-to-one), transitively; their dimensions are usable. This is the
planner's conservative view; the compiler has the final word.
"""

from __future__ import annotations

from functools import cached_property

from chatbi.semantic.models import SemanticLayer, SemanticModel


class Compatibility:
    """Answers ``dimensions_for(metric)`` and ``can_use(metric, dimension)`` for a layer."""

    def __init__(self, layer: SemanticLayer):
        self.layer = layer
        self._measure_model: dict[str, SemanticModel] = {}
        for model in layer.models:
            for measure in model.measures:
                self._measure_model.setdefault(measure.name, model)
        self._cache: dict[str, frozenset[str] | None] = {}

    @cached_property
    def _primary(self) -> dict[str, list[SemanticModel]]:
        owners: dict[str, list[SemanticModel]] = {}
        for model in self.layer.models:
            for entity in model.entities:
                if entity.type in ("primary", "unique"):
                    owners.setdefault(entity.name, []).append(model)
        return owners

    def _reachable_models(self, start: SemanticModel) -> list[SemanticModel]:
        seen = {start.name: start}
        todo = [start]
        while todo:
            model = todo.pop()
            for entity in model.entities:
                for other in self._primary.get(entity.name, []):
                    if other.name not in seen:
                        seen[other.name] = other
                        todo.append(other)
        return list(seen.values())

    def _models_of(self, metric_name: str, depth: int = 0) -> list[SemanticModel] | None:
        try:
            metric = self.layer.metric(metric_name)
        except KeyError:
            return None
        if metric.type == "derived":
            if depth > 5 or not metric.metrics:
                return None
            models: list[SemanticModel] = []
            for part in metric.metrics:
                found = self._models_of(part, depth + 1)
                if found is None:
                    return None
                models.extend(found)
            return models
        names = [metric.measure] if metric.type == "simple" else [metric.numerator, metric.denominator]
        models = []
        for name in names:
            if not name or name not in self._measure_model:
                return None
            models.append(self._measure_model[name])
        return models

    def dimensions_for(self, metric_name: str) -> frozenset[str] | None:
        """Names of usable dimensions; None when unknown (then anything is allowed)."""
        if metric_name in self._cache:
            return self._cache[metric_name]
        models = self._models_of(metric_name)
        result: frozenset[str] | None = None
        if models:
            sets = [
                {d.name for m in self._reachable_models(model) for d in m.dimensions} for model in models
            ]
            result = frozenset(set.intersection(*sets))
        self._cache[metric_name] = result
        return result

    def can_use(self, metric_name: str, dimension: str) -> bool:
        dims = self.dimensions_for(metric_name)
        return dims is None or dimension in dims

    def entity_models(self, entity: str) -> list[SemanticModel]:
        """Models whose primary entity is ``entity`` (user, merchant…)."""
        return list(self._primary.get(entity, []))

    def entity_dimensions(self, entity: str) -> set[str]:
        """Dimensions that describe an entity: those on the models it is primary in."""
        return {d.name for m in self.entity_models(entity) for d in m.dimensions}
