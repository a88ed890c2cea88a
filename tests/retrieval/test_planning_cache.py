"""The planning cache in the index folder: same layer and values as computed, refreshed on change."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from chatbi.retrieval import planning_cache
from chatbi.semantic.loader import load_semantic_layer

REAL_LAYER_DIR = Path(__file__).resolve().parents[2] / "semantic_layer"


@pytest.fixture()
def warehouse(tiny_db: Path, tmp_path: Path) -> Path:
    """A copy of the tiny warehouse with an (empty) index folder beside it."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(tiny_db, db)
    (tmp_path / "w.index").mkdir()
    return db


def _pipeline(settings, db: Path):
    from chatbi.answer.pipeline import Pipeline

    return Pipeline(replace(settings, db_path=db))


def test_values_and_as_of_come_from_the_cache_until_the_warehouse_changes(
        tiny_settings, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatbi.retrieval import values as values_module

    first = _pipeline(tiny_settings, warehouse)
    expected = values_module.read_dimension_values(first.layer, first.executor, first.default_as_of())
    assert first.dimension_values() == expected
    as_of = first.default_as_of()
    first.close()
    index = warehouse.parent / "w.index"
    assert (index / planning_cache.PLANNING_FILE).is_file() and (index / planning_cache.LAYER_FILE).is_file()

    reads: list[int] = []
    real = values_module.read_dimension_values

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(values_module, "read_dimension_values", counting)
    second = _pipeline(tiny_settings, warehouse)
    assert second.dimension_values() == expected and second.default_as_of() == as_of
    assert second.planner.lexicon.values.keys() >= expected.keys()
    second.close()
    assert reads == []  # answered from planning.json

    stat = warehouse.stat()
    os.utime(warehouse, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # "rebuilt"
    third = _pipeline(tiny_settings, warehouse)
    assert third.dimension_values() == expected
    third.close()
    assert reads == [1]  # read again for the new file version


def test_cached_layer_equals_the_validated_one_and_follows_yaml_edits(tmp_path: Path) -> None:
    layer_dir = tmp_path / "layer"
    shutil.copytree(REAL_LAYER_DIR, layer_dir)
    index = tmp_path / "w.index"
    index.mkdir()
    fresh = load_semantic_layer(layer_dir)
    assert planning_cache.load_layer(layer_dir, index) == fresh  # computed and saved
    assert (index / planning_cache.LAYER_FILE).is_file()
    assert planning_cache.load_layer(layer_dir, index) == fresh  # read back

    path = sorted(layer_dir.glob("*.yaml"))[0]
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    key = planning_cache.layer_key(layer_dir)
    assert planning_cache.load_layer(layer_dir, index) == fresh  # same content, re-validated
    assert planning_cache._read(index / planning_cache.LAYER_FILE)["key"] == key


def test_nothing_is_written_without_an_index_folder(tmp_path: Path) -> None:
    index = tmp_path / "missing.index"
    assert planning_cache.load_layer(REAL_LAYER_DIR, index) == load_semantic_layer(REAL_LAYER_DIR)
    assert not index.exists()  # the retriever still sees no index and builds one


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    index = tmp_path / "w.index"
    index.mkdir()
    (index / planning_cache.LAYER_FILE).write_text("{not json", encoding="utf-8")
    (index / planning_cache.PLANNING_FILE).write_text('{"format": 1, "warehouse": 3}', encoding="utf-8")
    assert planning_cache.load_layer(REAL_LAYER_DIR, index) == load_semantic_layer(REAL_LAYER_DIR)
    assert planning_cache.load_planning(index, (1, 2, 3, 4), load_semantic_layer(REAL_LAYER_DIR)) is None


def test_warm_writes_both_caches_for_the_next_process(tiny_settings, warehouse: Path) -> None:
    planning_cache.warm(replace(tiny_settings, db_path=warehouse))
    index = warehouse.parent / "w.index"
    assert (index / planning_cache.LAYER_FILE).is_file() and (index / planning_cache.PLANNING_FILE).is_file()
