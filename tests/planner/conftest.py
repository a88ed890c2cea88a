"""Planner fixtures: a planner over a Python-built layer, and one over the real layer."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.planner.offline import OfflinePlanner
from tests.planner.layer_fixture import VALUES, build_layer, real_layer_values

AS_OF = date(2026, 9, 30)


@pytest.fixture(scope="session")
def planner() -> OfflinePlanner:
    return OfflinePlanner(build_layer(), VALUES)


@pytest.fixture(scope="session")
def real_planner() -> OfflinePlanner:
    """The planner over semantic_layer/*.yaml (skipped while the YAML does not load)."""
    from chatbi.errors import SemanticLayerError

    try:
        from chatbi.semantic.loader import load_semantic_layer

        layer = load_semantic_layer()
    except (ImportError, FileNotFoundError, SemanticLayerError) as exc:  # pragma: no cover
        pytest.skip(f"real semantic layer not loadable: {exc}")
    return OfflinePlanner(layer, real_layer_values())
