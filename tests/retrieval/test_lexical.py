"""Lexical matching without the model: tokens, typo distance, longest-match resolution."""

from __future__ import annotations

import pytest

from chatbi.retrieval.documents import build_documents
from chatbi.retrieval.lexical import LexicalIndex
from chatbi.retrieval.text import distance, normalize, stem, tokens


@pytest.fixture(scope="module")
def lexical(layer):
    values = {"region": ["华东", "华南"], "merchant_region": ["华东"], "channel": ["抖音"]}
    return LexicalIndex(build_documents(layer, values, []))


def test_normalize_and_stem():
    assert normalize("ＧＭＶ  按  Region") == "gmv 按 region"
    assert [stem(w) for w in ("buyers", "categories", "sales", "status", "gmv")] == [
        "buyer", "category", "sale", "status", "gmv"]


def test_tokens_keep_layer_words_whole(lexical):
    words = tokens("上季度成交额")
    assert "成交额" in words and "额" in words  # the word, and its characters
    assert tokens("How many buyers") == ["buyer"]


def test_distance_counts_swaps_as_one():
    assert distance("gvm", "gmv", 1) == 1
    assert distance("convertion", "conversion", 2) == 1
    assert distance("abcdef", "uvwxyz", 1) == 2  # capped at limit + 1


def _terms(lexical, question):
    return [(m.term, m.fuzzy) for m in lexical.matches(question)]


def test_longest_match_wins(lexical):
    assert ("人均gmv", False) in _terms(lexical, "人均GMV") and ("gmv", False) not in _terms(lexical, "人均GMV")
    assert _terms(lexical, "华东的GMV") == [("华东", False), ("gmv", False)]


def test_typos_inside_terms_only(lexical):
    assert ("复购率", True) in _terms(lexical, "复够率")
    assert ("复购用户数", True) in _terms(lexical, "复构用户数")  # beats the exact 用户数 inside
    assert not [t for t, fuzzy in _terms(lexical, "取消了多少单") if fuzzy]
    assert ("conversion rate", True) in _terms(lexical, "convertion rate by channel")


def test_single_chinese_characters_are_no_exact_hits(lexical):
    assert _terms(lexical, "按省看") == []  # 省 is a synonym of province, too ambiguous alone
    scores = lexical.bm25("按省看")
    best = max(scores, key=scores.get)
    assert lexical.docs[best].name == "province"  # but BM25 still finds it
