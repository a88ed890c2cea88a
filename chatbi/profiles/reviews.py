"""``review_sentiment``: one row per review, from the text classifier when it is installed.

The classifier is ``chatbi.profiles.sentiment.classify_texts(texts) -> [(label, score)]``
(built separately). When it cannot be imported, or fails, the label comes from the rating
(≥ 4 positive, 3 neutral, ≤ 2 negative; score = (rating − 1) / 4) and the build report says
so. Text without Chinese characters (e.g. Portuguese Olist reviews, emoji-only) is rated by
the rule too. Rows classified by an earlier build with the same method and the same text
are reused.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from chatbi.profiles.background import BackgroundStep
from chatbi.profiles.staging import scalar, sql_date

LABELS = ("positive", "neutral", "negative")
RULE_METHOD = "rating_rule"
BATCH = 2000
Classifier = Callable[[list[str]], list[tuple[str, float]]]


@dataclass(frozen=True)
class SentimentResult:
    method: str
    reviews: int
    classified: int = 0
    reused: int = 0
    note: str | None = None
    distinct_texts: int = 0  # texts the classifier ran on (identical texts run once)


def load_classifier() -> tuple[Classifier | None, str]:
    """The text classifier and its method name, or (None, reason) when unavailable."""
    try:
        mod = importlib.import_module("chatbi.profiles.sentiment")
    except Exception as exc:  # noqa: BLE001 - ImportError or a broken optional module
        return None, f"chatbi.profiles.sentiment 不可用 ({type(exc).__name__})"
    fn = getattr(mod, "classify_texts", None)
    if not callable(fn):
        return None, "chatbi.profiles.sentiment 没有 classify_texts"
    version = getattr(mod, "MODEL_VERSION", None) or getattr(mod, "__version__", None)
    return fn, "classifier:chatbi.profiles.sentiment" + (f"@{version}" if version else "")


def _scope(con: duckdb.DuckDBPyConnection, as_of: date) -> str:
    """Reviews up to the as-of date, one row per review_id, with a ``chinese`` flag.

    Only Chinese text goes to the (Chinese) classifier: content with at least one Han
    character, and — when the importer recorded a ``content_lang`` column — a zh language.
    """
    has_lang = scalar(con, "SELECT count(*) FROM information_schema.columns WHERE "
                           "table_name = 'reviews' AND column_name = 'content_lang'")
    lang = " AND coalesce(content_lang, 'zh') ILIKE 'zh%'" if has_lang else ""
    return (f"SELECT DISTINCT ON (review_id) review_id, coalesce(content, '') AS content, rating, "
            f"regexp_matches(coalesce(content, ''), '\\p{{Han}}'){lang} AS chinese "
            f"FROM reviews WHERE review_id IS NOT NULL "
            f"AND (review_ts IS NULL OR review_ts < {sql_date(as_of)} + 1)")


def _create(con: duckdb.DuckDBPyConnection, select_sql: str) -> None:
    con.execute("DROP TABLE IF EXISTS review_sentiment")
    con.execute(f"CREATE TABLE review_sentiment AS {select_sql}")


def _rule_rows(source: str) -> str:
    """Rating-rule rows for the reviews of ``source`` (a query with review_id, content, rating)."""
    return f"""
        SELECT review_id,
               CASE WHEN rating >= 4 THEN 'positive' WHEN rating <= 2 THEN 'negative'
                    ELSE 'neutral' END AS sentiment,
               CASE WHEN rating IS NULL THEN 0.5
                    ELSE least(greatest((rating - 1) / 4.0, 0.0), 1.0) END AS sentiment_score,
               '{RULE_METHOD}' AS sentiment_method, md5(content) AS content_hash
        FROM ({source})"""


def _previous(con: duckdb.DuckDBPyConnection) -> bool:
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = 'review_sentiment'").fetchall()}
    return {"review_id", "sentiment", "sentiment_score", "sentiment_method",
            "content_hash"} <= cols


class Cancelled(Exception):
    """The build stopped while the classifier was still running."""


def _classify(con: duckdb.DuckDBPyConnection, as_of: date, classify: Classifier, method: str,
              progress: Callable[[float], None], cancel: threading.Event | None) -> SentimentResult:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rv_all AS {_scope(con, as_of)}")
    con.execute("CREATE OR REPLACE TEMP TABLE _rv AS SELECT review_id, content, "
                "md5(content) AS content_hash FROM _rv_all WHERE chinese")
    if _previous(con):
        reuse = (f"SELECT p.review_id, p.sentiment, p.sentiment_score, p.sentiment_method, "
                 f"p.content_hash FROM review_sentiment p JOIN _rv USING (review_id, content_hash) "
                 f"WHERE p.sentiment_method = '{method}'")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _rv_old AS {reuse}")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _rv_old (review_id BIGINT, sentiment VARCHAR, "
                    "sentiment_score DOUBLE, sentiment_method VARCHAR, content_hash VARCHAR)")
    # identical texts get identical labels: classify each distinct text once (shopping
    # reviews repeat a lot — "好评", "质量很好" — and the demo's repeat from templates)
    con.execute("CREATE OR REPLACE TEMP TABLE _rv_pending AS "
                "SELECT review_id, content_hash FROM _rv ANTI JOIN _rv_old USING (review_id)")
    total = scalar(con, "SELECT count(DISTINCT content_hash) FROM _rv_pending")
    pending = con.execute("SELECT content_hash, any_value(content) FROM _rv "
                          "SEMI JOIN _rv_pending USING (review_id) "
                          "GROUP BY content_hash ORDER BY content_hash")
    hashes: list[str] = []
    labels: list[str] = []
    scores: list[float] = []
    while rows := pending.fetchmany(BATCH):      # stream: never all texts in memory at once
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        chunk = [str(text) for _, text in rows]
        out = list(classify(chunk))
        if len(out) != len(chunk):
            raise ValueError(f"classify_texts returned {len(out)} results for {len(chunk)} texts")
        for label, score in out:
            if label not in LABELS or not 0.0 <= float(score) <= 1.0:
                raise ValueError(f"classify_texts returned an invalid result ({label!r}, {score!r})")
            labels.append(label)
            scores.append(float(score))
        hashes.extend(str(content_hash) for content_hash, _ in rows)
        progress(min(1.0, len(hashes) / max(total, 1)))
    batch = pa.table({
        "content_hash": pa.array(hashes, pa.string()), "sentiment": pa.array(labels, pa.string()),
        "sentiment_score": pa.array(scores, pa.float64()),
    })
    con.register("_rv_new", batch)
    _create(con, f"""
        SELECT review_id, sentiment, sentiment_score, sentiment_method, content_hash FROM _rv_old
        UNION ALL
        SELECT r.review_id, n.sentiment, n.sentiment_score, '{method}', r.content_hash
        FROM _rv_pending r JOIN _rv_new n USING (content_hash)
        UNION ALL
        {_rule_rows("SELECT * FROM _rv_all WHERE NOT chinese")}
        ORDER BY review_id""")
    con.unregister("_rv_new")
    classified = scalar(con, "SELECT count(*) FROM _rv_pending")
    reused = scalar(con, "SELECT count(*) FROM _rv_old")
    by_rule = scalar(con, "SELECT count(*) FROM _rv_all WHERE NOT chinese")
    note = f"{by_rule} 条非中文评论按评分规则判定 / non-Chinese reviews rated by rule" if by_rule else None
    return SentimentResult(method=method, reviews=reused + classified + by_rule,
                           classified=classified, reused=reused, note=note,
                           distinct_texts=len(hashes))


def build_review_sentiment(con: duckdb.DuckDBPyConnection, as_of: date,
                           progress: Callable[[float], None] | None = None,
                           classifier: tuple[Classifier | None, str] | None = None,
                           cancel: threading.Event | None = None) -> SentimentResult:
    """Create ``review_sentiment`` for the reviews written up to the as-of date."""
    report = progress or (lambda _f: None)
    classify, method = classifier if classifier is not None else load_classifier()
    if classify is not None:
        try:
            return _classify(con, as_of, classify, method, report, cancel)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing classifier must not fail the build
            note = f"分类器出错，改用评分规则: {type(exc).__name__}: {exc}"
    else:
        note = f"{method}，按评分规则判定（≥4 正面，3 中性，≤2 负面）"
    _create(con, _rule_rows(_scope(con, as_of)) + " ORDER BY review_id")
    n = scalar(con, "SELECT count(*) FROM review_sentiment")
    return SentimentResult(method=RULE_METHOD, reviews=n, note=note)


class BackgroundSentiment(BackgroundStep[SentimentResult]):
    """Runs :func:`build_review_sentiment` in a thread on its own DuckDB cursor.

    The classifier is Python-bound while most other steps run inside DuckDB (which releases
    the GIL), so classifying reviews alongside them shortens the build. ``result()`` waits
    for it; ``cancel()`` stops it between batches (used when the build fails).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of: date,
                 classifier: tuple[Classifier | None, str]):
        self._stop = threading.Event()
        super().__init__(con, lambda cursor: build_review_sentiment(
            cursor, as_of, classifier=classifier, cancel=self._stop), name="review-sentiment")

    def cancel(self) -> None:
        self._stop.set()
        super().cancel()
