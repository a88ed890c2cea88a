"""Entry point used by ``chatbi init`` / imports: build the index from a warehouse.

Reads the distinct values of low-cardinality dimensions with the read-only executor, then
makes the Chroma index match (rebuilding only when something changed).
"""

from __future__ import annotations

from collections.abc import Callable

from chatbi.config import Settings
from chatbi.retrieval.retriever import Retriever
from chatbi.retrieval.values import read_dimension_values
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.models import SemanticLayer

Progress = Callable[[str, float], None]


def build_index(settings: Settings, progress: Progress | None = None,
                layer: SemanticLayer | None = None) -> Retriever:
    """Read dimension values from the warehouse and (re)build the index when it is stale."""
    from chatbi.sql.engines import open_executor

    report = progress or (lambda _step, _fraction: None)
    report("读取语义层 / loading the semantic layer", 0.0)
    layer = layer or load_semantic_layer(settings.semantic_dir)
    report("读取维度取值 / reading dimension values", 0.01)
    executor = open_executor(settings)
    try:
        values = read_dimension_values(layer, executor)
    finally:
        executor.close()
    retriever = Retriever(layer, index_dir=settings.index_dir, values=values,
                          app_db_path=settings.app_db_path)
    retriever.ensure_index(progress)
    return retriever


def open_retriever(settings: Settings, layer: SemanticLayer | None = None) -> Retriever:
    """A retriever over the index at ``settings.index_dir`` with the values of its last build
    (no warehouse read); the index is checked, and rebuilt if needed, on the first search."""
    layer = layer or load_semantic_layer(settings.semantic_dir)
    return Retriever(layer, index_dir=settings.index_dir, app_db_path=settings.app_db_path)
