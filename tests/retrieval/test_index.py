"""The persistent index: built once, reused when unchanged, rebuilt on change or damage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import chromadb
import pytest
import yaml

from chatbi.retrieval import embedding
from chatbi.retrieval.retriever import Retriever
from chatbi.retrieval.store import COLLECTION, MANIFEST, VALUES_FILE
from chatbi.semantic.loader import load_semantic_layer
from tests.retrieval.conftest import REAL_LAYER_DIR

NEW_SYNONYM = "北极星指标"


def _fresh(layer, values, index_dir: Path, **kwargs) -> Retriever:
    return Retriever(layer, index_dir=index_dir, values=values, **kwargs)


def test_build_index_writes_a_persistent_chroma_index(built, tiny_settings):
    retriever, seconds = built
    manifest = json.loads((tiny_settings.index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["content_hash"] == retriever.content_hash
    assert manifest["count"] == len(retriever.documents)
    folder = tiny_settings.index_dir / manifest["collection_dir"]
    client = chromadb.PersistentClient(path=str(folder), settings=chromadb.config.Settings(anonymized_telemetry=False))
    try:
        collection = client.get_collection(COLLECTION)
        assert collection.metadata["content_hash"] == retriever.content_hash
        assert collection.count() == len(retriever.documents)
        kinds = {m["kind"] for m in collection.get(include=["metadatas"])["metadatas"]}
        assert kinds == {"metric", "dimension", "value", "example"}
    finally:
        client.close()
    # values come from the warehouse: the tiny demo has Chinese regions and channels
    assert "华东" in retriever.values["region"] and "抖音" in retriever.values["channel"]
    assert json.loads((tiny_settings.index_dir / VALUES_FILE).read_text(encoding="utf-8")) == retriever.values
    assert seconds < 300


def test_no_rebuild_when_nothing_changed(retriever, layer, tiny_settings):
    assert retriever.ensure_index() is False
    again = Retriever(layer, index_dir=tiny_settings.index_dir, app_db_path=tiny_settings.app_db_path)
    try:
        assert again.values == retriever.values  # the values saved by the build are reused
        assert again.ensure_index() is False
        assert again.search("GMV", k=1, kinds=["metric"])[0].name == "gmv"
    finally:
        again.close()


def _layer_with_new_synonym(tmp_path: Path):
    target = tmp_path / "layer"
    shutil.copytree(REAL_LAYER_DIR, target)
    for path in sorted(target.glob("*.yaml")):  # the file that defines the gmv metric
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        gmv = next((m for m in data.get("metrics") or [] if m.get("name") == "gmv"), None)
        if gmv is not None:
            gmv.setdefault("synonyms", []).append(NEW_SYNONYM)
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
            return load_semantic_layer(target)
    raise AssertionError("no YAML file defines the gmv metric")


def test_rebuild_when_the_yaml_changes(retriever, layer, tmp_path):
    index_dir = tmp_path / "index"
    first = _fresh(layer, retriever.values, index_dir)
    assert first.ensure_index() is True
    before = first.search(NEW_SYNONYM, k=3, kinds=["metric"])
    assert not before or before[0].score < 2  # not an exact hit yet
    first.close()

    changed = _fresh(_layer_with_new_synonym(tmp_path), retriever.values, index_dir)
    try:
        assert changed.content_hash != first.content_hash
        assert changed.ensure_index() is True
        assert NEW_SYNONYM in (changed.stored_document("metric:gmv") or "")
        top = changed.search(f"上个月的{NEW_SYNONYM}", k=3, kinds=["metric"])[0]
        assert (top.name, top.score >= 2) == ("gmv", True)
        assert changed.ensure_index() is False
        assert len(list(index_dir.glob("chroma-*"))) == 1  # the old build was removed
    finally:
        changed.close()


def test_a_rebuild_reuses_the_vectors_of_unchanged_documents(retriever, layer, tmp_path):
    index_dir = tmp_path / "index"
    _fresh(layer, retriever.values, index_dir).ensure_index()
    changed = _fresh(_layer_with_new_synonym(tmp_path), retriever.values, index_dir)
    with embedding.cache_disabled():
        before = embedding.stats()["passages_embedded"]
        assert changed.ensure_index() is True
        embedded = embedding.stats()["passages_embedded"] - before
    changed.close()
    assert embedded == 1  # only the gmv document changed


def test_a_missing_index_is_built_automatically(retriever, layer, tmp_path):
    index_dir = tmp_path / "never-built"
    fresh = _fresh(layer, retriever.values, index_dir)
    try:
        # no ensure_index call: the first search builds it
        hits = fresh.search("复购率", k=1, kinds=["metric"])
        assert hits[0].name == "repurchase_rate"
        assert (index_dir / MANIFEST).exists()
        # the folder disappears under a running retriever: the next search rebuilds it
        shutil.rmtree(index_dir)
        assert fresh.search("GMV by region", k=1, kinds=["dimension"])[0].name == "region"
        assert (index_dir / MANIFEST).exists()
    finally:
        fresh.close()


@pytest.mark.parametrize("damage", ["sqlite", "manifest", "folder"])
def test_a_corrupt_index_is_rebuilt(retriever, layer, tmp_path, damage):
    index_dir = tmp_path / "index"
    first = _fresh(layer, retriever.values, index_dir)
    first.ensure_index()
    folder = first.index_folder
    first.close()
    assert folder is not None
    if damage == "sqlite":
        (folder / "chroma.sqlite3").write_bytes(b"not a database" * 100)
    elif damage == "manifest":
        (index_dir / MANIFEST).write_text("{broken", encoding="utf-8")
    else:
        shutil.rmtree(folder)
    again = _fresh(layer, retriever.values, index_dir)
    try:
        assert again.ensure_index() is True
        assert again.search("GMV", k=1, kinds=["metric"])[0].name == "gmv"
        assert again.ensure_index() is False
    finally:
        again.close()
