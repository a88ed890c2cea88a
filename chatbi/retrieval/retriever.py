"""The retriever: metric, dimension, value and example hits for a question.

Ranking, best first:

1. **exact** hits: a name, label, synonym or value occurs in the question (longest match
   wins, see ``lexical.py``), so ``GMV`` and ``复购率`` can never be missed;
2. **fuzzy** hits: a term with one typo (``复够率``);
3. everything else by reciprocal rank fusion (RRF, k = 60) of the BM25 ranking and the
   vector ranking (multilingual-e5-small in Chroma).

Inside each tier hits are ordered by the fused score, then by the shorter name (for a
value, its dimension's name: the layer gives the plain name to the general dimension,
``region`` is the buyer's region and ``merchant_region`` the merchant's). ``Hit.score`` is ``2 + fused`` for exact hits,
``1 + fused`` for fuzzy ones and ``fused`` (below 0.05) for the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatbi.retrieval import embedding
from chatbi.retrieval.documents import KINDS, Doc, build_documents, content_hash
from chatbi.retrieval.errors import RetrievalError
from chatbi.retrieval.examples import EXAMPLES_YAML, usable_examples
from chatbi.retrieval.lexical import LexicalIndex
from chatbi.retrieval.store import VALUES_FILE, ChromaStore, read_json, write_json_atomic
from chatbi.semantic.models import SemanticLayer

log = logging.getLogger(__name__)
RRF_K = 60
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
_CANDIDATES = 40


@dataclass(frozen=True)
class Hit:
    """One retrieved item.

    ``name``: the metric or dimension name, the value (``payload = {'dimension', 'value'}``)
    or the example's question (``payload = {'question', 'semantic_query'}``); ``source``:
    ``semantic_layer``, ``warehouse``, ``examples.yaml`` or ``app_db``.
    """

    kind: Literal["metric", "dimension", "value", "example"]
    name: str
    text: str
    score: float
    source: str
    payload: dict[str, Any] = field(default_factory=dict)


class Retriever:
    """Hybrid (exact + BM25 + vector) retrieval over one semantic layer.

    ``values`` are the distinct values of low-cardinality dimensions (see ``values.py``);
    when None, the values saved by the last build in ``index_dir`` are used. Examples come
    from ``examples.yaml`` and, with ``app_db_path``, from promoted 👍 answers.
    The Chroma index is checked (and built if needed) on the first search, or by
    :meth:`ensure_index`.
    """

    def __init__(self, layer: SemanticLayer, *, index_dir: Path, values: Mapping[str, Sequence[str]] | None = None,
                 app_db_path: Path | None = None, examples_path: Path = EXAMPLES_YAML):
        self.layer = layer
        self.index_dir = Path(index_dir)
        self.app_db_path = Path(app_db_path) if app_db_path else None
        self.examples_path = examples_path
        self._explicit_values = values is not None
        if values is None:
            saved = read_json(self.index_dir / VALUES_FILE)
            values = saved if isinstance(saved, dict) else {}
        self.values: dict[str, list[str]] = {str(k): [str(v) for v in vs] for k, vs in values.items()}
        self._store = ChromaStore(self.index_dir)
        self._docs: list[Doc] = []
        self._hash = ""
        self._lexical: LexicalIndex | None = None
        self._ready = False
        self._load_documents()

    # -- index ---------------------------------------------------------------------------------

    def _load_documents(self) -> None:
        examples = usable_examples(self.layer, self.app_db_path, self.examples_path)
        docs = build_documents(self.layer, self.values, examples)
        digest = content_hash(self.layer, docs, embedding.MODEL_ID)
        if digest != self._hash:
            self._docs, self._hash = docs, digest
            self._by_id = {d.id: i for i, d in enumerate(docs)}
            self._lexical = LexicalIndex(docs)

    def ensure_index(self, progress: Callable[[str, float], None] | None = None) -> bool:
        """Make the Chroma index match the layer, values and examples; True if (re)built.

        Promoted examples are re-read each time, so calling this after a promotion picks
        them up. A missing, stale or corrupt index is rebuilt.
        """
        return self._ensure(progress, force=False)

    def _ensure(self, progress: Callable[[str, float], None] | None, *, force: bool) -> bool:
        self._load_documents()
        if not force and self._store.is_current(self._hash, len(self._docs)):
            self._ready = True
            if progress:
                progress("索引已是最新 / index up to date", 1.0)
            return False
        self._store.build(self._docs, self._hash, progress)
        if self._explicit_values:
            write_json_atomic(self.index_dir / VALUES_FILE, self.values)
        self._ready = True
        return True

    @property
    def content_hash(self) -> str:
        return self._hash

    @property
    def documents(self) -> list[Doc]:
        return list(self._docs)

    def stored_document(self, doc_id: str) -> str | None:
        """The passage text the Chroma index holds for ``doc_id`` (e.g. ``metric:gmv``)."""
        if not self._ready:
            self.ensure_index()
        return self._store.stored_document(doc_id)

    def close(self) -> None:
        self._store.close()
        self._ready = False

    # -- search --------------------------------------------------------------------------------

    def search(self, question: str, *, k: int = 8, kinds: Collection[str] | None = None) -> list[Hit]:
        """The ``k`` best hits of the given kinds (all kinds when None), best first."""
        wanted = tuple(kind for kind in KINDS if kinds is None or kind in kinds)
        unknown = set(kinds or ()) - set(KINDS)
        if unknown:
            raise RetrievalError(f"未知的检索类型 / unknown hit kinds: {sorted(unknown)}", code="invalid_input")
        if not question.strip() or not wanted or k <= 0:
            return []
        if not self._ready:
            self.ensure_index()
        assert self._lexical is not None
        allowed = {i for i, d in enumerate(self._docs) if d.kind in wanted}

        tier: dict[int, int] = {}
        for match in self._lexical.matches(question):
            for i in self._lexical.docs_of(match.term):
                if i in allowed:
                    tier[i] = max(tier.get(i, 0), 1 if match.fuzzy else 2)
        lexical = self._lexical.bm25(question, allowed)
        vector = self._vector(question, wanted)

        fused: dict[int, float] = {}
        for ranking, weight in ((_dense_ranks(lexical), LEXICAL_WEIGHT), (_dense_ranks(vector), VECTOR_WEIGHT)):
            for i, rank in ranking.items():
                fused[i] = fused.get(i, 0.0) + weight / (RRF_K + rank)
        candidates = set(fused) | set(tier)
        order = sorted(candidates, key=lambda i: (-tier.get(i, 0), -fused.get(i, 0.0),
                                                  _plainness(self._docs[i]), self._docs[i].id))
        return [self._hit(i, tier.get(i, 0) + fused.get(i, 0.0)) for i in order[:k]]

    def examples(self, question: str, *, k: int = 3) -> list[Hit]:
        """The ``k`` worked examples closest to the question (for few-shot prompts)."""
        return self.search(question, k=k, kinds=("example",))

    def _vector(self, question: str, kinds: Sequence[str]) -> dict[int, float]:
        """Cosine similarity of the nearest documents of each kind."""
        counts = {kind: sum(1 for d in self._docs if d.kind == kind) for kind in kinds}
        kinds = [kind for kind in kinds if counts[kind]]
        if not kinds:
            return {}
        vector = embedding.embed_query(question)
        for attempt in (1, 2):
            try:
                found = self._store.query(vector, {kind: min(_CANDIDATES, counts[kind]) for kind in kinds})
                break
            except Exception as exc:  # noqa: BLE001 - the folder vanished or broke: rebuild once
                if attempt == 2:
                    raise RetrievalError("检索索引不可用 / the retrieval index is unavailable",
                                         detail=str(exc)) from exc
                log.warning("retrieval index failed (%s): rebuilding", exc)
                self._store.close()
                self._ensure(None, force=False)
        return {self._by_id[doc_id]: 1.0 - dist for doc_id, dist in found if doc_id in self._by_id}

    def _hit(self, i: int, score: float) -> Hit:
        doc = self._docs[i]
        return Hit(kind=doc.kind, name=doc.name, text=doc.display, score=round(score, 6),
                   source=doc.source, payload=dict(doc.payload))


def _plainness(doc: Doc) -> int:
    """Tie-break: the shorter (plainer) dimension or metric name first."""
    return len(str(doc.payload.get("dimension", doc.name)))


def _dense_ranks(scores: Mapping[int, float]) -> dict[int, int]:
    """Rank 1 for the best score; equal scores (to 1e-6) share a rank."""
    ranks: dict[int, int] = {}
    rank, last = 0, None
    for i, score in sorted(scores.items(), key=lambda item: -item[1]):
        key = round(score, 6)
        if key != last:
            rank, last = rank + 1, key
        ranks[i] = rank
    return ranks
