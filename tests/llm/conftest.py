"""LLM planner fixtures: one scripted OpenAI-compatible server, the real layer, planners.

The server is real HTTP on 127.0.0.1; only the model's words are scripted (see
``fake_openai.py``). Planners point at it through ``Settings`` exactly as a user would
through ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``CHATBI_MODEL``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chatbi.planner.offline import OfflinePlanner
from chatbi.semantic.models import SemanticLayer
from tests.llm.fake_openai import FakeOpenAI, Recorded

AS_OF = date(2026, 9, 30)
REAL_LAYER_DIR = Path(__file__).resolve().parents[2] / "semantic_layer"


def request_tokens(request: Recorded) -> int:
    """Conservative token estimate of everything a request sent (messages and tool schemas):
    every non-ASCII character is one token, other characters one token per three."""
    text = json.dumps(request.body.get("messages"), ensure_ascii=False)
    text += json.dumps(request.body.get("tools") or [], ensure_ascii=False)
    wide = sum(1 for ch in text if ord(ch) > 127)
    return wide + -(-(len(text) - wide) // 3)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_script(fake: FakeOpenAI) -> Iterator[None]:
    fake.reset()
    yield
    fake.reset()


@pytest.fixture(scope="session")
def layer() -> SemanticLayer:
    from chatbi.semantic.loader import load_semantic_layer

    return load_semantic_layer(REAL_LAYER_DIR)


@pytest.fixture(scope="session")
def values(tiny_pipeline) -> dict[str, list[str]]:
    """Dimension values of the tiny demo warehouse (华东, 抖音, 中古包…)."""
    return tiny_pipeline.dimension_values()


@pytest.fixture(scope="session")
def offline(layer: SemanticLayer, values: dict[str, list[str]]) -> OfflinePlanner:
    return OfflinePlanner(layer, values)


@pytest.fixture(scope="session")
def llm_settings(tiny_settings, fake: FakeOpenAI):
    """Settings as ``OPENAI_API_KEY=test-key OPENAI_BASE_URL=<fake> CHATBI_MODEL=fake-model``."""
    return replace(tiny_settings, planner="llm", openai_api_key="test-key", openai_base_url=fake.base_url,
                   model="fake-model", llm_timeout_s=5.0)


@pytest.fixture(scope="session")
def make_planner(llm_settings, layer, offline, values, tiny_pipeline) -> Callable[..., Any]:
    """``make_planner(timeout=1.0, executor=True, layer=..., retriever=...)``."""
    from chatbi.planner.llm import LLMPlanner

    def make(*, timeout: float | None = None, executor: bool = True, **kwargs: Any) -> LLMPlanner:
        settings = llm_settings if timeout is None else replace(llm_settings, llm_timeout_s=timeout)
        kwargs.setdefault("values", values)
        planner = LLMPlanner(settings, kwargs.pop("layer", layer), fallback=kwargs.pop("fallback", offline),
                             policy=kwargs.pop("policy", tiny_pipeline.policy),
                             executor=tiny_pipeline.executor if executor else None, **kwargs)
        planner.warm()
        return planner

    return make


@pytest.fixture(scope="session")
def planner(make_planner):
    """The default LLM planner: 5 s timeout, DuckDB dry runs on the tiny warehouse."""
    return make_planner()
