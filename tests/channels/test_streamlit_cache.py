"""The Streamlit app's shared Pipeline is keyed by the warehouse file's identity and the
settings: a rebuilt (replaced) warehouse or a settings change gets a new Pipeline."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from chatbi.channels.web import pipeline_key
from chatbi.config import Settings

from .conftest import REPO_ROOT

APP = str(REPO_ROOT / "streamlit_app.py")


def _sidebar_text(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_key_changes_with_the_file_and_the_settings(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"version 1")
    settings = Settings.from_env(db)
    key = pipeline_key(settings)
    assert pipeline_key(Settings.from_env(db)) == key  # stable while nothing changes

    replacement = tmp_path / "new.duckdb"
    replacement.write_bytes(b"version 1")  # same size and content, another file
    os.replace(replacement, db)
    replaced = pipeline_key(settings)
    assert replaced != key

    db.write_bytes(b"version 22")  # rewritten in place
    rewritten = pipeline_key(settings)
    assert rewritten != replaced

    for change in ({"planner": "llm"}, {"model": "another-model"}, {"max_rows": 10}, {"openai_api_key": "sk-x"},
                   {"query_timeout_s": 1.0}, {"semantic_dir": tmp_path}):
        assert pipeline_key(dataclasses.replace(settings, **change)) != rewritten, change
    assert pipeline_key(dataclasses.replace(settings, slack_bot_token="xoxb-1")) == rewritten  # not a pipeline setting
    assert "sk-x" not in pipeline_key(dataclasses.replace(settings, openai_api_key="sk-x"))


def test_key_follows_the_semantic_layer_files(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    shutil.copytree(REPO_ROOT / "semantic_layer", layer)
    settings = dataclasses.replace(Settings.from_env(tmp_path / "w.duckdb"), semantic_dir=layer)
    key = pipeline_key(settings)
    first = sorted(layer.glob("*.yaml"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert pipeline_key(settings) != key


@pytest.fixture
def warehouse(tiny_db: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the tiny warehouse, and a rebuilt version of it whose latest order
    is 2026-08-19 (the orders of the last six weeks removed)."""
    current, rebuilt = tmp_path / "app.duckdb", tmp_path / "rebuilt.duckdb"
    shutil.copyfile(tiny_db, current)
    shutil.copyfile(tiny_db, rebuilt)
    with duckdb.connect(str(rebuilt)) as con:
        con.execute("DELETE FROM orders WHERE order_ts >= TIMESTAMP '2026-08-20'")
    return current, rebuilt


def test_the_app_serves_a_new_pipeline_after_a_rebuild_and_a_settings_change(warehouse, monkeypatch) -> None:
    current, rebuilt = warehouse
    monkeypatch.setenv("CHATBI_DB", str(current))
    monkeypatch.setenv("CHATBI_PLANNER", "offline")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert "2026-09-30" in _sidebar_text(at) and "offline" in _sidebar_text(at)

    os.replace(rebuilt, current)  # what `chatbi profiles build` / `chatbi init` do
    at.run()
    assert not at.exception, at.exception
    assert "2026-08-19" in _sidebar_text(at), _sidebar_text(at)

    monkeypatch.setenv("CHATBI_PLANNER", "llm")
    monkeypatch.setenv("CHATBI_MODEL", "model-under-test")
    at.run()
    assert not at.exception, at.exception
    assert "llm" in _sidebar_text(at) and "model-under-test" in _sidebar_text(at), _sidebar_text(at)
