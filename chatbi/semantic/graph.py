"""The join graph of a semantic layer: which dimensions a model reaches, and through which joins.

A model joins another model through an entity they share when the other side's entity is
``primary`` or ``unique``; every join is therefore many-to-one and never multiplies rows.
Paths are found breadth first (fewest joins; ties broken by the order of the source model's
entities, then by layer order), so the choice is deterministic.

A dimension is found, in BFS order, on the first model that
- hosts it (defines it), or
- gives it a ``local_dimensions`` expression, or
- holds the foreign key of the dimension's host when the dimension *is* the host's key
  (``merchant_id`` on ``orders`` needs no join to ``merchants``; ``channel`` on ``events``
  needs no join to the ``channels`` model).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from chatbi.semantic.models import Dimension, SemanticLayer, SemanticModel


@dataclass(frozen=True)
class Hop:
    """One many-to-one join: ``from_model`` JOIN ``to_model`` ON their ``entity``."""

    from_model: str
    entity: str
    to_model: str


@dataclass(frozen=True)
class DimensionPath:
    """How a dimension is evaluated from a source model: the joins, then ``expr`` on ``host``."""

    dimension: Dimension
    hops: tuple[Hop, ...]
    host: str  # the model whose columns ``expr`` reads (after the hops)
    expr: str


def _norm(sql: str) -> str:
    return "".join(sql.split()).lower()


class JoinGraph:
    """Reachability and join paths over one layer (cached per layer)."""

    def __init__(self, layer: SemanticLayer):
        self.layer = layer
        self._models = {m.name: m for m in layer.models}
        self._dims: dict[str, tuple[SemanticModel, Dimension]] = {}
        for model, dim in layer.all_dimensions():
            self._dims.setdefault(dim.name, (model, dim))
        self._bfs: dict[str, list[tuple[str, tuple[Hop, ...]]]] = {}
        self._paths: dict[tuple[str, str], DimensionPath | None] = {}
        self._edges: dict[str, list[Hop]] = {}

    @classmethod
    def of(cls, layer: SemanticLayer) -> JoinGraph:
        cache = layer.cache()
        graph = cache.get("join_graph")
        if graph is None:
            graph = cache["join_graph"] = cls(layer)
        return graph

    def edges(self, model_name: str) -> list[Hop]:
        """Joins out of a model, in entity order then layer order (computed once per model)."""
        cached = self._edges.get(model_name)
        if cached is not None:
            return cached
        model = self._models[model_name]
        out: list[Hop] = []
        for entity in model.entities:
            for other in self.layer.models:
                if other.name == model_name:
                    continue
                target = other.entity(entity.name)
                if target is not None and target.type in ("primary", "unique"):
                    out.append(Hop(model_name, entity.name, other.name))
        self._edges[model_name] = out
        return out

    def bfs(self, source: str) -> list[tuple[str, tuple[Hop, ...]]]:
        """Every model reachable from ``source`` with its path, nearest first."""
        if source not in self._bfs:
            order: list[tuple[str, tuple[Hop, ...]]] = [(source, ())]
            seen = {source}
            queue: deque[tuple[str, tuple[Hop, ...]]] = deque(order)
            while queue:
                name, path = queue.popleft()
                for hop in self.edges(name):
                    if hop.to_model not in seen:
                        seen.add(hop.to_model)
                        item = (hop.to_model, path + (hop,))
                        order.append(item)
                        queue.append(item)
            self._bfs[source] = order
        return self._bfs[source]

    def bfs_rank(self, source: str) -> dict[str, int]:
        return {name: i for i, (name, _) in enumerate(self.bfs(source))}

    def resolve(self, source: str, dimension: str) -> DimensionPath | None:
        """How ``dimension`` is evaluated from rows of ``source``, or None if unreachable."""
        key = (source, dimension)
        if key not in self._paths:
            self._paths[key] = self._resolve(source, dimension)
        return self._paths[key]

    def _resolve(self, source: str, dimension: str) -> DimensionPath | None:
        if dimension not in self._dims or source not in self._models:
            return None
        host, dim = self._dims[dimension]
        for name, path in self.bfs(source):
            model = self._models[name]
            if name == host.name:
                return DimensionPath(dim, path, name, dim.expr)
            if dimension in model.local_dimensions:
                return DimensionPath(dim, path, name, model.local_dimensions[dimension])
            for hop in self.edges(name):
                if hop.to_model != host.name:
                    continue
                target = host.entity(hop.entity)
                mine = model.entity(hop.entity)
                if target is not None and mine is not None and _norm(target.expr) == _norm(dim.expr):
                    return DimensionPath(dim, path, name, mine.expr)
        return None

    def reachable(self, source: str) -> list[str]:
        """Names of every dimension reachable from ``source``, in layer order."""
        return [name for name in self._dims if self.resolve(source, name) is not None]

    def host_of(self, dimension: str) -> tuple[SemanticModel, Dimension] | None:
        return self._dims.get(dimension)
