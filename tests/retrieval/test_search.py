"""Search over the session index: exact, fuzzy, value and example hits, and the API."""

from __future__ import annotations

import dataclasses

import pytest

from chatbi.retrieval.errors import RetrievalError
from chatbi.semantic.query import SemanticQuery


def _names(hits):
    return [h.name for h in hits]


@pytest.mark.parametrize(("question", "metric"), [
    ("GMV", "gmv"),
    ("上季度GMV是多少", "gmv"),
    ("gmv per region", "gmv"),
    ("复购率", "repurchase_rate"),
    ("华东大区上个月的复购率", "repurchase_rate"),
    ("人均GMV", "gmv_per_buyer"),  # the longer synonym wins over the GMV inside it
    ("AOV by channel", "avg_order_value"),
])
def test_exact_synonym_hits_rank_first(retriever, question, metric):
    top = retriever.search(question, k=3, kinds=["metric"])[0]
    assert top.name == metric
    assert top.score >= 2  # exact tier
    assert top.kind == "metric" and top.source == "semantic_layer"
    assert top.payload["label"]


def test_latin_terms_match_whole_words_only(retriever):
    hits = retriever.search("separate groups", k=5, kinds=["metric"])
    assert all(h.score < 2 for h in hits)  # "rate"/"roup" inside words are no hits


def test_a_longer_term_hides_the_shorter_one_inside_it(retriever):
    dims = retriever.search("城市等级", k=3, kinds=["dimension"])
    assert dims[0].name == "city_tier" and dims[0].score >= 2
    assert all(h.score < 2 for h in dims if h.name == "city")


@pytest.mark.parametrize(("question", "metric"), [
    ("复够率", "repurchase_rate"),
    ("差平率", "negative_review_share"),
    ("convertion rate", "conversion_rate"),
    ("GVM", "gmv"),
])
def test_one_typo_is_forgiven(retriever, question, metric):
    top = retriever.search(question, k=3, kinds=["metric"])[0]
    assert top.name == metric
    assert 1 <= top.score < 2  # fuzzy tier


def test_grammar_after_a_term_stem_is_no_typo(retriever):
    # 取消了 is not 取消率, 退货了 is not 退货率 (成交 alone is a GMV synonym now, so it is no example)
    for question, metric in (("取消了多少单", "cancel_rate"), ("退货了几单", "return_rate")):
        hits = {h.name: h.score for h in retriever.search(question, k=10, kinds=["metric"])}
        assert hits.get(metric, 0) < 1


def test_value_hits_name_their_dimension(retriever):
    hits = retriever.search("华东的GMV", k=5, kinds=["value"])
    assert hits[0].payload == {"dimension": "region", "value": "华东"}  # buyer region first
    assert hits[0].name == "华东" and hits[0].source == "warehouse" and hits[0].score >= 2
    assert {"dimension": "merchant_region", "value": "华东"} in [h.payload for h in hits]


def test_value_labels_are_searchable(retriever):
    top = retriever.search("小程序的订单数", k=1, kinds=["value"])[0]
    assert top.payload == {"dimension": "device", "value": "mini_program"}
    tier = retriever.search("一线城市的销售额", k=1, kinds=["value"])[0]
    assert tier.payload == {"dimension": "city_tier", "value": "1"}


def test_no_values_of_pii_dimensions(retriever):
    dims = {d.payload.get("dimension") for d in retriever.documents if d.kind == "value"}
    assert not dims & {"phone", "user_name"}


def test_example_hits_carry_a_semantic_query(retriever):
    hits = retriever.examples("上个季度华东哪个品类卖得最好", k=3)
    assert len(hits) == 3 and all(h.kind == "example" for h in hits)
    assert "上个季度华东大区哪个品类的销售额增长最快？" in _names(hits)
    for hit in hits:
        assert hit.payload["question"] == hit.name
        SemanticQuery.model_validate(hit.payload["semantic_query"])
    english = retriever.examples("top categories by number of orders", k=3)
    assert "top 10 categories by orders" in _names(english)


def test_search_mixes_kinds_and_respects_k(retriever):
    hits = retriever.search("华东的复购率 by channel", k=8)
    assert len(hits) == 8
    assert {"metric", "dimension", "value"} <= {h.kind for h in hits}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert retriever.search("GMV", k=2, kinds={"dimension", "metric"})[0].name == "gmv"


def test_hits_are_frozen_and_payloads_are_copies(retriever):
    hit = retriever.examples("GMV by region", k=1)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.score = 0  # type: ignore[misc]
    hit.payload["semantic_query"]["metrics"].append("x")
    assert retriever.examples("GMV by region", k=1)[0].payload["semantic_query"]["metrics"] == ["gmv"]


def test_empty_and_invalid_requests(retriever):
    assert retriever.search("   ") == []
    assert retriever.search("GMV", k=0) == []
    with pytest.raises(RetrievalError) as err:
        retriever.search("GMV", kinds=["table"])
    assert err.value.code == "invalid_input"
