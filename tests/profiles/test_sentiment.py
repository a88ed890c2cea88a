"""review_sentiment: the text classifier when available, the rating rule otherwise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from chatbi.profiles.reviews import RULE_METHOD, build_review_sentiment, load_classifier

AS_OF = date(2026, 9, 30)


def keyword_classifier(calls: list[int]):
    """A small real classifier: Chinese keywords decide the label."""

    def classify(texts: list[str]) -> list[tuple[str, float]]:
        calls.append(len(texts))
        out = []
        for text in texts:
            if any(w in text for w in ("满意", "很好", "推荐")):
                out.append(("positive", 0.9))
            elif any(w in text for w in ("失望", "差", "假货")):
                out.append(("negative", 0.1))
            else:
                out.append(("neutral", 0.5))
        return out

    return classify


@pytest.fixture()
def rw(raw_copy: Path):
    connection = duckdb.connect(str(raw_copy))
    yield connection
    connection.close()


def test_rating_rule(rw) -> None:
    result = build_review_sentiment(rw, AS_OF, classifier=(None, "missing"))
    assert result.method == RULE_METHOD and "missing" in result.note
    bad = rw.execute("""
        SELECT count(*) FROM review_sentiment s JOIN reviews r USING (review_id)
        WHERE s.sentiment <> CASE WHEN r.rating >= 4 THEN 'positive' WHEN r.rating = 3 THEN 'neutral'
                                   ELSE 'negative' END
           OR abs(s.sentiment_score - (r.rating - 1) / 4.0) > 1e-9""").fetchone()[0]
    assert bad == 0
    assert result.reviews == rw.execute("SELECT count(*) FROM reviews").fetchone()[0]


def test_classifier_is_used_and_results_reused(rw) -> None:
    calls: list[int] = []
    first = build_review_sentiment(rw, AS_OF, classifier=(keyword_classifier(calls), "kw@1"))
    assert first.method == "kw@1" and first.classified == first.reviews > 0 and first.reused == 0
    # each distinct text is classified once, and every review of that text gets its label
    distinct = rw.execute("SELECT count(DISTINCT content) FROM reviews").fetchone()[0]
    assert sum(calls) == first.distinct_texts == distinct < first.reviews
    assert rw.execute("SELECT count(*) FROM review_sentiment").fetchone()[0] == first.reviews
    per_text = rw.execute("""SELECT count(DISTINCT s.sentiment) FROM review_sentiment s
                             JOIN reviews r USING (review_id) GROUP BY r.content
                             ORDER BY 1 DESC LIMIT 1""").fetchone()[0]
    assert per_text == 1
    labels = dict(rw.execute("SELECT sentiment, count(*) FROM review_sentiment GROUP BY 1").fetchall())
    assert set(labels) == {"positive", "neutral", "negative"}
    text_check = rw.execute("""SELECT count(*) FROM review_sentiment s JOIN reviews r USING (review_id)
                               WHERE r.content LIKE '%假货%' AND s.sentiment <> 'negative'""").fetchone()[0]
    assert text_check == 0
    # a rebuild classifies only the reviews whose text changed
    rw.execute("UPDATE reviews SET content = '很满意' WHERE review_id = 1")
    calls.clear()
    second = build_review_sentiment(rw, AS_OF, classifier=(keyword_classifier(calls), "kw@1"))
    assert (second.classified, second.reused) == (1, first.reviews - 1) and calls == [1]
    # another method version reclassifies everything
    third = build_review_sentiment(rw, AS_OF, classifier=(keyword_classifier(calls), "kw@2"))
    assert third.classified == first.reviews


def test_text_without_chinese_is_rated_by_the_rule(rw) -> None:
    rw.execute("UPDATE reviews SET content = 'muito bom, recomendo', rating = 1 WHERE review_id <= 3")
    result = build_review_sentiment(rw, AS_OF, classifier=(keyword_classifier([]), "kw@1"))
    assert result.method == "kw@1" and result.note and result.reviews == result.classified + 3
    rows = rw.execute("SELECT sentiment, sentiment_method FROM review_sentiment "
                      "WHERE review_id <= 3").fetchall()
    assert rows == [("negative", RULE_METHOD)] * 3


@pytest.mark.parametrize("bad_output", [
    lambda texts: [("happy", 0.5)] * len(texts),
    lambda texts: [("positive", 1.5)] * len(texts),
    lambda texts: [],
])
def test_broken_classifier_falls_back_to_rating_rule(rw, bad_output) -> None:
    result = build_review_sentiment(rw, AS_OF, classifier=(bad_output, "broken"))
    assert result.method == RULE_METHOD and "分类器出错" in result.note
    assert rw.execute("SELECT count(*) FROM review_sentiment").fetchone()[0] == result.reviews


def test_build_reports_the_method_it_used(built) -> None:
    classify, method = load_classifier()
    expected = RULE_METHOD if classify is None else method
    assert built[1].sentiment_method == expected
