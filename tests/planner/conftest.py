"""Planner fixtures: a planner over a Python-built layer, and one over the real layer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from chatbi.planner.offline import OfflinePlanner
from chatbi.semantic.models import SemanticLayer
from tests.planner.layer_fixture import VALUES, build_layer, real_layer_values

AS_OF = date(2026, 9, 30)


@pytest.fixture(scope="session")
def planner() -> OfflinePlanner:
    return OfflinePlanner(build_layer(), VALUES)


def real_layer() -> SemanticLayer:
    """semantic_layer/*.yaml, or a skip while the YAML does not load."""
    from chatbi.errors import SemanticLayerError

    try:
        from chatbi.semantic.loader import load_semantic_layer

        return load_semantic_layer()
    except (ImportError, FileNotFoundError, SemanticLayerError) as exc:  # pragma: no cover
        pytest.skip(f"real semantic layer not loadable: {exc}")


@pytest.fixture(scope="session")
def real_planner() -> OfflinePlanner:
    """The planner over semantic_layer/*.yaml (skipped while the YAML does not load)."""
    return OfflinePlanner(real_layer(), real_layer_values())


@pytest.fixture(scope="session")
def demo_planner() -> OfflinePlanner:
    """The planner over the real layer with the small demo's dimension values."""
    from tests.planner.test_eval_regressions import _demo_values

    return OfflinePlanner(real_layer(), _demo_values())


def plan_conversation(planner: OfflinePlanner, *questions: str, shown: Any = None) -> list[Any]:
    """Plan ``questions`` as the turns of one conversation; each turn is marked answered, with
    ``shown`` as the keys a top N showed."""
    from chatbi.planner.context import Conversation

    conversation = Conversation()
    plans = []
    for question in questions:
        plans.append(planner.plan(question, as_of=AS_OF, conversation=conversation))
        conversation.mark_last(shown_keys=shown)
    return plans
