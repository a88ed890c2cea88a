"""Second-hand (consignment) phrasing: the shipped classifier reads it as a buyer means it.

The model charlex-1 read 几乎看不出使用痕迹 as negative (negation + 使用痕迹, bad in new-goods
corpora), so 差评预警 fired for most demo merchants. These tests pin the fix: the consignment
supplement in training and negation past a bridge character (没有瑕疵, 看不出使用痕迹).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest

from chatbi.profiles import rules
from chatbi.profiles.sentiment import analyze, classify_texts, load_model, score_texts, text_key

SUPPLEMENT = Path(__file__).resolve().parents[2] / "chatbi" / "profiles" / "sentiment_model" / \
    "consignment_zh.txt"

# Written for these tests: none of them is a training line (checked below).
POSITIVE = ["相机几乎看不出使用痕迹，很满意", "九九新，没有划痕也没有污渍", "鞋子一点都不脏，跟新买的一样",
            "有明显使用痕迹但价格实惠，可以接受", "鉴定是正品，和描述一致", "没有瑕疵，成色很好",
            "几乎全新，看不出用过", "没有磨损，五金也没有氧化", "表带没有划痕，走时很准"]
NEGATIVE = ["和描述不符，成色差很多", "有划痕没说明，很失望", "鉴定是假的，要求退款",
            "说是九五新，其实磨损很严重", "一点都不新，还有异味", "不是正品，卖家不给退",
            "有明显使用痕迹，图片里没拍出来", "成色虚标，实际很旧"]
# (a defect stated, the same defect negated)
PAIRS = [("有使用痕迹", "看不出使用痕迹"), ("有瑕疵", "没有瑕疵"), ("衣服很脏", "衣服不脏"),
         ("有划痕", "没有划痕"), ("有异味", "没有异味")]


def _supplement_lines() -> list[tuple[str, str]]:
    lines = SUPPLEMENT.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line.strip() and not line.startswith("#")]


def test_test_phrases_are_not_training_lines() -> None:
    keys = np.array([text_key(t) for t in POSITIVE + NEGATIVE + [p for pair in PAIRS for p in pair]],
                    np.uint64)
    assert not np.isin(keys, load_model().train_keys).any()


def test_secondhand_positive_phrases_read_positive() -> None:
    labels = [label for label, _ in classify_texts(POSITIVE)]
    assert labels == ["positive"] * len(POSITIVE), list(zip(POSITIVE, labels, strict=True))


def test_secondhand_negative_phrases_read_negative() -> None:
    labels = [label for label, _ in classify_texts(NEGATIVE)]
    assert labels == ["negative"] * len(NEGATIVE), list(zip(NEGATIVE, labels, strict=True))


def test_a_negated_defect_scores_higher_than_the_defect() -> None:
    scores = score_texts([p for pair in PAIRS for p in pair]).reshape(-1, 2)
    for (stated, negated), (s_stated, s_negated) in zip(PAIRS, scores, strict=True):
        assert s_negated > s_stated + 0.1, (stated, s_stated, negated, s_negated)
        assert s_stated < 0.5, stated


def test_negation_reaches_past_a_bridge_character() -> None:
    grams = set(analyze("几乎看不出使用痕迹，没有瑕疵，不是正品"))
    assert {"¬使用痕迹", "¬瑕疵", "¬正品", "¬出使用痕", "¬有瑕疵"} <= grams
    assert "¬痕迹" not in set(analyze("使用痕迹很明显"))


def test_demo_review_texts_follow_their_rating() -> None:
    """Every text the demo generator composes (opener × noun × ending) for 5★, 4★ and 1–2★."""
    from chatbi.warehouse import demo_reference as ref
    from chatbi.warehouse.demo_catalog import REVIEW_NOUNS

    nouns = list(dict.fromkeys(REVIEW_NOUNS))

    def texts(openers, endings) -> list[str]:
        return list(dict.fromkeys(o.replace("{n}", n) + "，" + e
                                  for o in openers for n in nouns for e in endings))

    five = [label for label, _ in classify_texts(texts(ref.REVIEW_POSITIVE, ref.REVIEW_POSITIVE_END))]
    four = [label for label, _ in classify_texts(texts(ref.REVIEW_GOOD, ref.REVIEW_GOOD_END))]
    bad = [label for label, _ in classify_texts(
        texts([p for group in ref.REVIEW_COMPLAINTS for p in group], ref.REVIEW_COMPLAINT_END))]
    assert five.count("positive") == len(five)
    assert four.count("negative") <= 0.02 * len(four) and four.count("positive") >= 0.8 * len(four)
    assert bad.count("positive") == 0 and bad.count("negative") >= 0.99 * len(bad)


def test_supplement_is_well_formed_and_excluded_from_evaluation() -> None:
    from chatbi.warehouse.demo_catalog import REVIEW_NOUNS
    from chatbi.warehouse.demo_reviews import ENDINGS, OPENERS, SPECIALS

    lines = _supplement_lines()
    labels = [label for label, _ in lines]
    assert len(lines) >= 400 and {"0", "1", "m"} == set(labels)
    assert min(labels.count("0"), labels.count("1")) >= 150
    texts = [text for _, text in lines]
    assert len(set(texts)) == len(texts)
    # hand-written, not the demo generator's phrases
    demo = {o.replace("{n}", n) for o in OPENERS for n in REVIEW_NOUNS} | set(ENDINGS) | set(SPECIALS)
    assert not [t for t in texts if t in demo or set(t.split("，")) & demo]
    keys = np.array([text_key(t) for t in texts], np.uint64)
    assert np.isin(keys, load_model().train_keys).all()


@pytest.fixture()
def demo(tiny_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def test_review_text_agrees_with_rating_on_the_tiny_demo(demo) -> None:
    happy_negative, unhappy_negative = demo.execute("""
        SELECT avg((sentiment = 'negative')::INT) FILTER (WHERE rating >= 4),
               avg((sentiment = 'negative')::INT) FILTER (WHERE rating <= 2)
        FROM reviews JOIN review_sentiment USING (review_id)
        WHERE sentiment_method LIKE 'classifier:%'""").fetchone()
    assert happy_negative < 0.01      # charlex-1: 6.8 %
    assert unhappy_negative > 0.95


def test_bad_review_tag_fires_for_the_bad_merchants_only(demo) -> None:
    rows = demo.execute("""
        SELECT p.merchant_id, p.review_count, list_contains(p.tags, '差评预警') AS tagged,
               avg((r.rating <= 2)::INT) AS bad_rating_share
        FROM merchant_profile p JOIN reviews r USING (merchant_id)
        GROUP BY ALL""").fetchall()
    n_merchants = demo.execute("SELECT count(*) FROM merchant_profile").fetchone()[0]
    tagged = {m for m, _, t, _ in rows if t}
    assert len(tagged) <= 0.3 * n_merchants       # charlex-1 tagged 38 of 60
    # merchants planted with poor quality: by their ratings alone (1–2★) over the threshold
    planted = {m for m, n, _, share in rows
               if n >= rules.TAG_MIN_REVIEWS and share >= rules.TAG_BAD_REVIEW_SHARE}
    assert planted and planted <= tagged
    eligible = [(t, share) for _, n, t, share in rows if n >= rules.TAG_MIN_REVIEWS]
    tagged_share = np.mean([s for t, s in eligible if t])
    other_share = np.mean([s for t, s in eligible if not t])
    assert tagged_share > 1.5 * other_share


def test_supplement_parser(tmp_path: Path) -> None:
    from chatbi.profiles.sentiment_train import load_supplement

    path = tmp_path / "supplement.txt"
    path.write_text("# comment\n1\t成色很好\n\n0\t和描述不符\nm\t一般般\n", encoding="utf-8")
    texts, targets = load_supplement(path)
    assert texts == ["成色很好", "和描述不符", "一般般"] and targets.tolist() == [1.0, 0.0, 0.5]
    path.write_text("+\t成色很好\n", encoding="utf-8")
    with pytest.raises(ValueError, match="supplement.txt:1"):
        load_supplement(path)
