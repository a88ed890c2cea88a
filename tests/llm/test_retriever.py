"""The planner with a real ``Retriever`` (Chroma + the offline embedding model).

The index is built over a slice of the real layer (orders, users, channels) so the build
takes seconds; the planner must put what retrieval found, and only that, into the prompt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbi.semantic.catalog import Catalog
from chatbi.semantic.models import SemanticLayer
from tests.llm.conftest import AS_OF, request_tokens
from tests.llm.fake_openai import tool_reply

KEEP_MODELS = ("orders", "users", "channels")


def _slice(layer: SemanticLayer) -> SemanticLayer:
    """The models in KEEP_MODELS and every metric computable from them alone."""
    catalog = Catalog(layer)
    models = [m for m in layer.models if m.name in KEEP_MODELS]
    measures = {ms.name for m in models for ms in m.measures}
    metrics = [m for m in layer.metrics if catalog.measures_for(m.name)
               and set(catalog.measures_for(m.name)) <= measures]
    names = {m.name for m in metrics}
    metrics = [m for m in metrics if set(m.metrics) <= names]
    return SemanticLayer(models=models, metrics=metrics, access=layer.access)


@pytest.fixture(scope="module")
def small_layer(layer: SemanticLayer) -> SemanticLayer:
    sliced = _slice(layer)
    assert {"gmv", "order_count"} <= {m.name for m in sliced.metrics}
    return sliced


@pytest.fixture(scope="module")
def retriever(small_layer: SemanticLayer, values: dict[str, list[str]], tmp_path_factory):
    from chatbi.retrieval.retriever import Retriever

    wanted = {d: values[d] for d in ("region", "channel", "device") if d in values}
    found = Retriever(small_layer, index_dir=Path(tmp_path_factory.mktemp("llm-index")), values=wanted)
    found.ensure_index()
    yield found
    found.close()


def test_prompt_is_built_from_retrieval(fake, make_planner, small_layer, retriever, offline):
    planner = make_planner(layer=small_layer, retriever=retriever, values=None, executor=False)
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["gmv"], "dimensions": ["channel"],
                                          "filters": [{"dimension": "region", "value": "华东"}],
                                          "time_words": "上个季度"}))
    plan = planner.plan("上个季度华东大区各渠道的销售额", as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None and plan.query.dimensions == ["channel"]
    request = fake.chat_requests[0]
    prompt = request.messages[1]["content"]
    assert "- gmv |" in prompt and "- channel |" in prompt and "- region = 华东" in prompt
    examples = prompt.split("<examples>")[1].split("</examples>")[0]
    assert examples.count("Q: ") >= 1 and "plan_query {" in examples
    listed = [m.name for m in small_layer.metrics if f"- {m.name} |" in prompt]
    assert len(listed) <= 8
    assert request_tokens(request) < 4000
