"""Lexicon, numbers, text normalisation and the data-driven vocabulary."""

from __future__ import annotations

import pytest

from chatbi.planner.lexicon import Lexicon
from chatbi.planner.numbers import to_int
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.text import language_of, normalize
from chatbi.semantic.models import Metric, SemanticLayer
from tests.planner.conftest import AS_OF
from tests.planner.layer_fixture import VALUES, build_layer


@pytest.mark.parametrize(("text", "value"), [("三", 3), ("十", 10), ("十五", 15), ("二十", 20), ("两", 2), ("一百零五", 105), ("12", 12), ("ten", 10), ("three", 3), ("abc", None)])
def test_numbers(text: str, value: int | None) -> None:
    assert to_int(text) == value


def test_normalize_keeps_length() -> None:
    text = "ＧＭＶ，２０２５年？"
    assert normalize(text) == "gmv,2025年?"
    assert len(normalize(text)) == len(text)
    assert language_of("GMV by region") == "en" and language_of("各大区GMV") == "zh"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon(build_layer(), VALUES)


def _kinds(lexicon: Lexicon, text: str) -> list[tuple[str, str, object]]:
    return [(e.kind, e.name, e.value) for m in lexicon.scan(normalize(text)) for e in m.entries[:1]]


def test_longest_match(lexicon: Lexicon) -> None:
    assert _kinds(lexicon, "新用户数") == [("metric", "new_users", None)]
    assert _kinds(lexicon, "一线城市") == [("value", "city_tier", 1)]  # not 城市 (city)
    assert _kinds(lexicon, "净销售额") == [("metric", "net_sales", None)]  # not 销售额 (gmv)


def test_value_followed_by_its_dimension_is_one_filter(lexicon: Lexicon) -> None:
    matches = lexicon.scan(normalize("华东大区"))
    assert len(matches) == 1 and {e.name for e in matches[0].entries} == {"region"}
    matches = lexicon.scan(normalize("商户所在大区为华东"))
    assert len(matches) == 1 and {e.name for e in matches[0].entries} == {"merchant_region"}


def test_weak_values_need_their_dimension(lexicon: Lexicon) -> None:
    assert _kinds(lexicon, "最高") == []  # 高 alone is not price_sensitivity
    assert _kinds(lexicon, "价格敏感度高") == [("value", "price_sensitivity", "高")]
    assert _kinds(lexicon, "一般来说") == []  # 一般 (value tier) needs 价值分层


def test_english_is_case_insensitive_with_word_boundaries(lexicon: Lexicon) -> None:
    assert _kinds(lexicon, "Net Sales") == [("metric", "net_sales", None)]
    assert _kinds(lexicon, "salesman") == []  # no match inside a word
    assert _kinds(lexicon, "categories") == [("dimension", "category", None)]  # plural


def test_fuzzy_english_typos(lexicon: Lexicon) -> None:
    text = normalize("convresion rate")
    found = lexicon.fuzzy(text, [])
    assert found and found[0].entries[0].name == "conversion_rate"
    assert lexicon.fuzzy(normalize("the weather"), []) == []


def test_vocabulary_comes_from_the_layer() -> None:
    """A synonym added to the layer is understood; a value not in DimensionValues is not."""
    base = build_layer()
    extra = Metric(name="gmv_per_buyer", label="人均消费", label_en="GMV per buyer", type="derived",
                   expr="gmv / buyer_count", metrics=["gmv", "buyer_count"], synonyms=["ARPU"])
    layer = SemanticLayer(models=base.models, metrics=[*base.metrics, extra])
    planner = OfflinePlanner(layer, {k: v for k, v in VALUES.items() if k not in ("region", "merchant_region")})
    plan = planner.plan("各大区的人均消费", as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == ["gmv_per_buyer"]
    plan = planner.plan("ARPU by region", as_of=AS_OF)
    assert plan.query is not None and plan.query.metrics == ["gmv_per_buyer"]
    plan = planner.plan("华东的GMV", as_of=AS_OF)  # region values not supplied: no invented filter,
    assert plan.intent == "clarify" and plan.query is None  # and no total GMV passed off as 华东's
    assert plan.message and "华东" in plan.message  # the user is told which word was not known


def test_销量_is_not_gmv() -> None:
    """销量 means units: it maps only to what the layer declares, never silently to GMV."""
    planner = OfflinePlanner(build_layer(), VALUES)
    assert planner.plan("上个月销量", as_of=AS_OF).intent == "clarify"
