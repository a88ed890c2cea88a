"""The retriever: metric, dimension, value and example hits for a question.

Ranking, best first:

1. **exact** hits: a name, label, synonym or value occurs in the question (longest match
   wins, see ``lexical.py``), so ``GMV`` and ``复购率`` can never be missed; an example
   asking the very same question;
2. **fuzzy** hits: a term with one typo (``复够率``);
3. everything else by reciprocal rank fusion (RRF, k = 60) of the BM25 ranking and the
   vector ranking (multilingual-e5-small in Chroma).

Inside each tier hits are ordered by the fused score, then by the shorter name (for a
value, its dimension's name: the layer gives the plain name to the general dimension,
``region`` is the buyer's region and ``merchant_region`` the merchant's). ``Hit.score`` is
``2 + fused`` for exact hits, ``1 + fused`` for fuzzy ones and ``fused`` (below 0.05) for
the rest.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
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

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process build lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
RRF_K = 60
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
CANDIDATES_PER_KIND = 40
EXACT, FUZZY = 2, 1


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


@dataclass(frozen=True)
class _State:
    """Documents and their lexical index, swapped as one object (searches never see a mix)."""

    docs: list[Doc]
    by_id: dict[str, int]
    lexical: LexicalIndex
    content_hash: str

    def count(self, kind: str) -> int:
        return sum(1 for d in self.docs if d.kind == kind)


class Retriever:
    """Hybrid (exact + BM25 + vector) retrieval over one semantic layer.

    ``values`` are the distinct values of low-cardinality dimensions (see ``values.py``);
    when None, the values saved by the last build in ``index_dir`` are used. Examples come
    from ``examples.yaml`` and, with ``app_db_path``, from promoted 👍 answers.
    The Chroma index is checked (and built if needed) by :meth:`ensure_index`, on the first
    search, when its folder disappeared, and when the application database changed (a
    newly promoted example is searchable at once). Safe to share between threads.
    """

    def __init__(self, layer: SemanticLayer, *, index_dir: Path, values: Mapping[str, Sequence[str]] | None = None,
                 app_db_path: Path | None = None, examples_path: Path = EXAMPLES_YAML):
        self.layer = layer
        self.index_dir = Path(index_dir)
        self.app_db_path = Path(app_db_path) if app_db_path else None
        self.examples_path = Path(examples_path)
        self._explicit_values = values is not None
        if values is None:
            saved = read_json(self.index_dir / VALUES_FILE)
            values = saved if isinstance(saved, dict) else {}
        self.values: dict[str, list[str]] = {str(k): [str(v) for v in vs] for k, vs in values.items()}
        self._store = ChromaStore(self.index_dir)
        self._lock = threading.RLock()
        self._ready = False
        self._app_db_seen = self._app_db_stamp()
        self._state = self._make_state()

    # -- index ---------------------------------------------------------------------------------

    def _app_db_stamp(self) -> tuple[int, int] | None:
        """(mtime, size) of the application database: it changes when an example is promoted."""
        try:
            stat = self.app_db_path.stat() if self.app_db_path else None
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size) if stat else None

    def _make_state(self) -> _State:
        examples = usable_examples(self.layer, self.app_db_path, self.examples_path)
        docs = build_documents(self.layer, self.values, examples)
        digest = content_hash(self.layer, docs, embedding.MODEL_ID)
        current = getattr(self, "_state", None)
        if current is not None and current.content_hash == digest:
            return current
        return _State(docs, {d.id: i for i, d in enumerate(docs)}, LexicalIndex(docs), digest)

    def ensure_index(self, progress: Callable[[str, float], None] | None = None) -> bool:
        """Make the Chroma index match the layer, values and examples; True if (re)built.

        Promoted examples are re-read each time, so calling this after a promotion picks
        them up. A missing, stale or corrupt index is rebuilt.
        """
        with self._lock, self._build_lock():
            self._app_db_seen = self._app_db_stamp()
            self._state = state = self._make_state()
            if not self._store.on_disk():
                self._store.close()
            if self._store.is_current(state.content_hash, len(state.docs)):
                self._ready = True
                if progress:
                    progress("索引已是最新 / index up to date", 1.0)
                return False
            self._store.build(state.docs, state.content_hash, progress)
            if self._explicit_values:
                write_json_atomic(self.index_dir / VALUES_FILE, self.values)
            self._ready = True
            return True

    @contextmanager
    def _build_lock(self) -> Iterator[None]:
        """Across processes, one check-or-build at a time per index folder."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        with open(self.index_dir / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def content_hash(self) -> str:
        return self._state.content_hash

    @property
    def documents(self) -> list[Doc]:
        return list(self._state.docs)

    @property
    def index_folder(self) -> Path | None:
        """The Chroma folder in use (None before the index was checked)."""
        return self._store.folder

    def stored_document(self, doc_id: str) -> str | None:
        """The passage text the Chroma index holds for ``doc_id`` (e.g. ``metric:gmv``)."""
        if not self._ready:
            self.ensure_index()
        return self._store.stored_document(doc_id)

    def close(self) -> None:
        with self._lock:
            self._store.close()
            self._ready = False

    # -- search --------------------------------------------------------------------------------

    def search(self, question: str, *, k: int = 8, kinds: Collection[str] | None = None) -> list[Hit]:
        """The ``k`` best hits of the given kinds (all kinds when None), best first."""
        unknown = set(kinds or ()) - set(KINDS)
        if unknown:
            raise RetrievalError(f"未知的检索类型 / unknown hit kinds: {sorted(unknown)}", code="invalid_input")
        wanted = tuple(kind for kind in KINDS if kinds is None or kind in kinds)
        if not question.strip() or not wanted or k <= 0:
            return []
        if not self._ready or not self._store.on_disk() or self._app_db_stamp() != self._app_db_seen:
            self.ensure_index()
        state = self._state
        allowed = {i for i, d in enumerate(state.docs) if d.kind in wanted}

        tier: dict[int, int] = {}
        for match in state.lexical.matches(question):
            for i in state.lexical.docs_of(match.term):
                if i in allowed:
                    tier[i] = max(tier.get(i, 0), FUZZY if match.fuzzy else EXACT)
        for i in state.lexical.same_question(question):
            if i in allowed:
                tier[i] = EXACT
        lexical = state.lexical.bm25(question, allowed)
        vector = self._vector(state, question, wanted)

        fused: dict[int, float] = {}
        for ranking, weight in ((_dense_ranks(lexical), LEXICAL_WEIGHT), (_dense_ranks(vector), VECTOR_WEIGHT)):
            for i, rank in ranking.items():
                fused[i] = fused.get(i, 0.0) + weight / (RRF_K + rank)
        order = sorted(set(fused) | set(tier), key=lambda i: (
            -tier.get(i, 0), -fused.get(i, 0.0), _plainness(state.docs[i]), state.docs[i].id))
        return [_hit(state.docs[i], tier.get(i, 0) + fused.get(i, 0.0)) for i in order[:k]]

    def examples(self, question: str, *, k: int = 3) -> list[Hit]:
        """The ``k`` worked examples closest to the question (for few-shot prompts)."""
        return self.search(question, k=k, kinds=("example",))

    def _vector(self, state: _State, question: str, kinds: Sequence[str]) -> dict[int, float]:
        """Cosine similarity of the nearest documents of each kind."""
        per_kind = {kind: min(CANDIDATES_PER_KIND, state.count(kind)) for kind in kinds}
        per_kind = {kind: n for kind, n in per_kind.items() if n}
        if not per_kind:
            return {}
        vector = embedding.embed_query(question)
        try:
            found = self._store.query(vector, per_kind)
        except Exception as exc:  # noqa: BLE001 - the folder vanished or broke: rebuild once
            log.warning("retrieval index failed (%s): checking and rebuilding", exc)
            with self._lock:
                self._store.close()
                self.ensure_index()
            try:
                found = self._store.query(vector, per_kind)
            except Exception as again:  # noqa: BLE001
                raise RetrievalError("检索索引不可用 / the retrieval index is unavailable",
                                     detail=str(again)) from again
        return {state.by_id[doc_id]: 1.0 - dist for doc_id, dist in found if doc_id in state.by_id}


def _hit(doc: Doc, score: float) -> Hit:
    return Hit(kind=doc.kind, name=doc.name, text=doc.display, score=round(score, 6),
               source=doc.source, payload=copy.deepcopy(doc.payload))


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
