"""Retrieval: hybrid (exact + BM25 + vector) search over the semantic layer and examples.

``Retriever`` and ``Hit`` are in ``retriever.py``; ``build_index`` (used by ``chatbi init``)
and ``open_retriever`` in ``index.py``; dimension values come from ``values.py``.
Import the submodules directly: importing this package does not load Chroma or the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatbi.retrieval.index import build_index, open_retriever
    from chatbi.retrieval.retriever import Hit, Retriever

__all__ = ["Hit", "Retriever", "build_index", "open_retriever"]


def __getattr__(name: str) -> Any:
    if name in ("Hit", "Retriever"):
        from chatbi.retrieval import retriever

        return getattr(retriever, name)
    if name in ("build_index", "open_retriever"):
        from chatbi.retrieval import index

        return getattr(index, name)
    raise AttributeError(name)
