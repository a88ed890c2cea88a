"""The persistent Chroma index of retrieval documents, rebuilt when its content changes.

Layout of ``index_dir``::

    manifest.json        {"content_hash", "collection_dir", "count", "model", "built_at", "format"}
    values.json          dimension values used by the last build (reused when none are given)
    chroma-<hash>-<id>/  the Chroma PersistentClient folder of the current build

A build goes into a new folder; the manifest is then replaced atomically, and older folders
are removed. So a reader never sees half an index, and a corrupt or missing folder is simply
built again. The collection's metadata repeats the content hash; both must agree with the
documents' hash, or the index is rebuilt. Vectors of unchanged documents are read back from
the previous build instead of being embedded again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chatbi.retrieval import embedding
from chatbi.retrieval.documents import FORMAT_VERSION, Doc
from chatbi.retrieval.errors import RetrievalError

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
import chromadb  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402

log = logging.getLogger(__name__)
COLLECTION = "chatbi_retrieval"
MANIFEST = "manifest.json"
VALUES_FILE = "values.json"
_ADD_BATCH = 256
Progress = Callable[[str, float], None]


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False)


def _open_client(folder: Path) -> Any:
    """A PersistentClient on ``folder`` (typed Any: Chroma's generic EmbeddingFunction
    parameter is invariant, so a Documents-only function does not type-check)."""
    return chromadb.PersistentClient(path=str(folder), settings=_chroma_settings())


def _function() -> Any:
    return embedding.embedding_function()


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class ChromaStore:
    """Opens, checks, builds and queries the index in one folder."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self._client: Any = None
        self._collection: Any = None
        self._folder: Path | None = None
        self.content_hash: str | None = None
        self._lock = threading.RLock()

    # -- open / check --------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any] | None:
        data = read_json(self.index_dir / MANIFEST)
        return data if isinstance(data, dict) else None

    def is_current(self, content_hash: str, count: int) -> bool:
        """True when the index on disk holds exactly these documents and answers a query."""
        with self._lock:
            if self._collection is not None and self.content_hash == content_hash:
                return True
            manifest = self.manifest()
            if not manifest or manifest.get("content_hash") != content_hash or manifest.get("count") != count:
                return False
            folder = self.index_dir / str(manifest.get("collection_dir", ""))
            if not manifest.get("collection_dir") or not folder.is_dir():
                return False
            try:
                client = _open_client(folder)
            except Exception as exc:  # noqa: BLE001 - any failure means "rebuild"
                log.warning("retrieval index %s cannot be opened (%s): rebuilding", folder, exc)
                return False
            try:
                collection = client.get_collection(COLLECTION, embedding_function=_function())
                ok = (collection.metadata or {}).get("content_hash") == content_hash and collection.count() == count
                if ok and count:
                    probe = collection.get(limit=1, include=["embeddings"])
                    collection.query(query_embeddings=[probe["embeddings"][0]], n_results=1)
            except Exception as exc:  # noqa: BLE001
                log.warning("retrieval index %s is unreadable (%s): rebuilding", folder, exc)
                ok = False
            if not ok:
                _close(client)
                return False
            self._swap(client, collection, folder, content_hash)
            return True

    # -- build ---------------------------------------------------------------------------------

    def build(self, docs: Sequence[Doc], content_hash: str, progress: Progress | None = None) -> None:
        """Embed ``docs`` (reusing the previous build's vectors) into a new folder, then switch."""
        report = progress or (lambda _step, _fraction: None)
        with self._lock:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            report("读取旧索引 / reading the previous index", 0.02)
            known = self._previous_vectors()
            texts = [doc.text for doc in docs]
            todo = [t for t in dict.fromkeys(texts) if t not in known]
            report(f"嵌入 {len(todo)} 条 / embedding {len(todo)} documents", 0.05)
            for start in range(0, len(todo), 64):
                batch = todo[start:start + 64]
                known.update(zip(batch, embedding.embed_passages(batch), strict=True))
                done = min(start + 64, len(todo))
                report(f"嵌入 / embedding {done}/{len(todo)}", 0.05 + 0.8 * done / len(todo))
            vectors = np.stack([known[t] for t in texts]).astype(np.float32) if texts else None
            folder = self.index_dir / f"chroma-{content_hash[:12]}-{uuid.uuid4().hex[:8]}"
            report("写入 Chroma / writing Chroma", 0.9)
            try:
                client = _open_client(folder)
                collection = client.create_collection(
                    COLLECTION,
                    embedding_function=_function(),
                    metadata={"content_hash": content_hash, "model": embedding.MODEL_ID,
                              "format": FORMAT_VERSION},
                    configuration={"hnsw": {"space": "cosine"}},
                )
                for start in range(0, len(docs), _ADD_BATCH):
                    part = docs[start:start + _ADD_BATCH]
                    collection.add(
                        ids=[d.id for d in part],
                        documents=[d.text for d in part],
                        embeddings=None if vectors is None else vectors[start:start + len(part)],
                        metadatas=[{"kind": d.kind, "name": d.name, "source": d.source} for d in part],
                    )
            except Exception as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise RetrievalError("无法写入检索索引 / cannot write the retrieval index",
                                     detail=f"{folder}: {exc}") from exc
            write_json_atomic(self.index_dir / MANIFEST, {
                "content_hash": content_hash, "collection_dir": folder.name, "count": len(docs),
                "model": embedding.MODEL_ID, "format": FORMAT_VERSION,
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            })
            self._swap(client, collection, folder, content_hash)
            self._remove_old_folders()
            report("完成 / done", 1.0)

    def _previous_vectors(self) -> dict[str, np.ndarray]:
        """Passage text -> vector of the current (or last written) build, if readable."""
        known: dict[str, np.ndarray] = {}
        manifest = self.manifest() or {}
        if manifest.get("model") != embedding.MODEL_ID:
            return known
        collection = self._collection
        client = None
        try:
            if collection is None:
                folder = self.index_dir / str(manifest.get("collection_dir", ""))
                if not manifest.get("collection_dir") or not folder.is_dir():
                    return known
                client = _open_client(folder)
                collection = client.get_collection(COLLECTION, embedding_function=_function())
            data = collection.get(include=["documents", "embeddings"])
            documents, vectors = data.get("documents"), data.get("embeddings")
            if documents is not None and vectors is not None:
                for text, vector in zip(documents, vectors, strict=False):
                    if text is not None and vector is not None and len(vector) == embedding.DIM:
                        known[text] = np.asarray(vector, dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 - a broken old index is just not reused
            log.info("previous retrieval index not reusable: %s", exc)
        finally:
            if client is not None:
                _close(client)
        return known

    def _swap(self, client: Any, collection: Any, folder: Path, content_hash: str) -> None:
        old = self._client
        self._client, self._collection, self._folder = client, collection, folder
        self.content_hash = content_hash
        if old is not None and old is not client:
            _close(old)

    def _remove_old_folders(self) -> None:
        for path in self.index_dir.glob("chroma-*"):
            if path.is_dir() and path != self._folder:
                shutil.rmtree(path, ignore_errors=True)

    # -- query ---------------------------------------------------------------------------------

    @property
    def folder(self) -> Path | None:
        return self._folder

    def on_disk(self) -> bool:
        """True while the open build is still the one on disk (not deleted, not replaced
        by another process's rebuild, whose old folders are removed)."""
        folder = self._folder
        return folder is not None and folder.is_dir() and (self.index_dir / MANIFEST).is_file()

    def query(self, vector: np.ndarray, kinds: Mapping[str, int]) -> list[tuple[str, float]]:
        """``(doc id, cosine distance)`` of the nearest documents: ``kinds[kind]`` of each kind."""
        with self._lock:
            if self._collection is None:
                raise RetrievalError("检索索引未就绪 / the retrieval index is not ready")
            out: list[tuple[str, float]] = []
            for kind, n in kinds.items():
                result = self._collection.query(query_embeddings=[vector], n_results=n,
                                                where={"kind": kind}, include=["distances"])
                out += list(zip(result["ids"][0], result["distances"][0], strict=True))
            return out

    def stored_document(self, doc_id: str) -> str | None:
        """The passage text stored for ``doc_id`` (tests, diagnostics)."""
        with self._lock:
            if self._collection is None:
                return None
            got = self._collection.get(ids=[doc_id], include=["documents"])
            return got["documents"][0] if got["documents"] else None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                _close(self._client)
            self._client = self._collection = self._folder = None
            self.content_hash = None


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception as exc:  # noqa: BLE001 - closing is best effort
        log.debug("closing a Chroma client failed: %s", exc)
