"""Faults: a missing, corrupt or locked warehouse, a broken semantic layer, a full disk.

Each gives a clear message in every channel and never a traceback: the CLI exits 1 (2 for a
bad request) with one error line, the API answers JSON (503 / 500), the Slack bot posts a
warning in the thread, the Streamlit app shows a friendly error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from chatbi.answer.charts import ChartExportError, chart_png
from chatbi.answer.pipeline import Pipeline
from chatbi.channels.api import create_app
from chatbi.channels.cli import app as cli_app
from chatbi.channels.slack import SlackBot
from chatbi.errors import WarehouseError
from chatbi.sql.policy import Role

from .conftest import REPO_ROOT

QUESTION = "各大区的GMV"
APP = str(REPO_ROOT / "streamlit_app.py")
KEY = "k-reliability-admin"
FAULTS = {  # fault -> (error code, words of the message)
    "missing": ("warehouse_missing", "not found"),
    "corrupt-header": ("warehouse_corrupt", "corrupt"),
    "corrupt-block": ("warehouse_corrupt", "corrupt"),
    "truncated": ("warehouse_corrupt", "corrupt"),
    "empty-file": ("warehouse_corrupt", "corrupt"),
    "locked": ("warehouse_locked", "locked"),
}


def make_fault(kind: str, source: Path, target: Path) -> None:
    if kind == "missing":
        return
    if kind == "empty-file":
        target.write_bytes(b"")
        return
    data = bytearray(source.read_bytes())
    if kind == "corrupt-header":
        data[:4096] = b"\x00garbage!" * 455 + b"\x00"
    elif kind == "corrupt-block":  # headers intact, data blocks overwritten: checksums fail
        start, end = len(data) // 4, len(data) * 9 // 10
        data[start:end] = b"\xab" * (end - start)
    elif kind == "truncated":
        del data[300_000:]
    target.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def faulty(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """One damaged warehouse per fault; ``locked`` is held open for writing by another process."""
    folder = tmp_path_factory.mktemp("faults")
    paths = {}
    for kind in FAULTS:
        paths[kind] = folder / f"{kind}.duckdb"
        if kind == "locked":
            shutil.copyfile(tiny_db, paths[kind])
        else:
            make_fault(kind, tiny_db, paths[kind])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
                               "con = duckdb.connect(sys.argv[1])\nprint('locked', flush=True)\ntime.sleep(600)",
         str(paths["locked"])], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield paths
    finally:
        holder.kill()
        holder.wait(timeout=30)


def one_error_line(stderr: str, words: str) -> None:
    """A clear error on stderr: no traceback; the first line says what is wrong."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert lines and "Traceback" not in stderr, stderr
    assert words.lower() in lines[0].lower(), lines
    assert len(lines) <= 2, lines  # the error, and at most one "what to do next" line


# ---------------------------------------------------------------------------- damaged warehouse

@pytest.mark.parametrize("kind", FAULTS)
def test_pipeline_raises_a_clear_warehouse_error(kind, faulty, tiny_settings) -> None:
    code, words = FAULTS[kind]
    pipeline = Pipeline(dataclasses.replace(tiny_settings, db_path=faulty[kind]))
    with pytest.raises(WarehouseError) as info:
        pipeline.ask(QUESTION)
    pipeline.close()
    assert info.value.code == code and words in info.value.message.lower()
    assert str(faulty[kind]) in info.value.message  # names the file


@pytest.mark.parametrize("kind", FAULTS)
def test_cli_exits_1_with_one_line(kind, faulty) -> None:
    code, words = FAULTS[kind]
    result = CliRunner().invoke(cli_app, ["ask", QUESTION, "--db", str(faulty[kind])])
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.stdout.strip() == ""
    one_error_line(result.stderr, words)
    as_json = CliRunner().invoke(cli_app, ["ask", QUESTION, "--json", "--db", str(faulty[kind])])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["code"] == code


@pytest.mark.parametrize("kind", FAULTS)
def test_api_answers_json_503(kind, faulty, tiny_settings) -> None:
    code, _ = FAULTS[kind]
    settings = dataclasses.replace(tiny_settings, db_path=faulty[kind], api_keys={KEY: "admin"})
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["error"]["code"] == code
    response = client.post("/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == code and "Traceback" not in response.text


@pytest.mark.parametrize("kind", FAULTS)
def test_slack_posts_a_warning(kind, faulty, tiny_settings, fake_slack, slack_client) -> None:
    _, words = FAULTS[kind]
    bot = SlackBot(Pipeline(dataclasses.replace(tiny_settings, db_path=faulty[kind])),
                   roles={"UADMIN": Role("admin")}, render_png=None)
    bot.on_mention({"channel": "CF", "ts": "1.1", "user": "UADMIN", "text": f"<@UBOT> {QUESTION}"}, slack_client)
    [reply] = fake_slack.of("chat.postMessage")
    assert reply["text"].startswith(":warning:") and words in reply["text"].lower()
    assert "Traceback" not in json.dumps(reply, ensure_ascii=False)
    bot.pipeline.close()


@pytest.mark.parametrize("kind", FAULTS)
def test_streamlit_shows_a_friendly_error(kind, faulty, monkeypatch) -> None:
    _, words = FAULTS[kind]
    monkeypatch.setenv("CHATBI_DB", str(faulty[kind]))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    if kind != "missing":  # the app opens; the first question reports the damage
        at.chat_input[0].set_value(QUESTION).run()
        assert not at.exception, at.exception
    shown = " ".join(e.value for e in [*at.error, *at.warning, *at.info]).lower()
    assert words in shown and "traceback" not in shown, shown


# ---------------------------------------------------------------------------- broken semantic layer

@pytest.fixture(scope="module")
def broken_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the semantic layer with a YAML syntax error in 10_orders.yaml."""
    folder = tmp_path_factory.mktemp("broken") / "semantic_layer"
    shutil.copytree(REPO_ROOT / "semantic_layer", folder)
    with open(folder / "10_orders.yaml", "a", encoding="utf-8") as handle:
        handle.write("\n  broken: [unclosed, list\n")
    return folder


def test_broken_layer_cli(broken_layer, tiny_db) -> None:
    env = {"CHATBI_SEMANTIC_DIR": str(broken_layer)}
    result = CliRunner().invoke(cli_app, ["ask", QUESTION, "--db", str(tiny_db)], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    first = result.stderr.strip().splitlines()[0]
    assert "semantic layer" in first
    assert "10_orders.yaml:" in result.stderr and "YAML syntax error" in result.stderr  # file and line
    as_json = CliRunner().invoke(cli_app, ["ask", QUESTION, "--json", "--db", str(tiny_db)], env=env)
    assert json.loads(as_json.stdout)["error"]["code"] == "semantic_layer_invalid"


def test_broken_layer_api(broken_layer, tiny_settings) -> None:
    settings = dataclasses.replace(tiny_settings, semantic_dir=broken_layer, api_keys={KEY: "admin"})
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    assert client.get("/health").json()["error"]["code"] == "semantic_layer_invalid"
    response = client.post("/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "semantic_layer_invalid" and "10_orders.yaml:" in error["message"]


def test_broken_layer_slack_does_not_start(broken_layer, tiny_db) -> None:
    tokens = {"SLACK_BOT_TOKEN": "xoxb-reliability-SECRET-bot", "SLACK_APP_TOKEN": "xapp-reliability-SECRET-app"}
    result = CliRunner().invoke(cli_app, ["slack", "--db", str(tiny_db)],
                                env={"CHATBI_SEMANTIC_DIR": str(broken_layer), **tokens})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "10_orders.yaml:" in result.stderr
    assert not any(token in result.output for token in tokens.values())


def test_broken_layer_streamlit(broken_layer, warehouse_copy, monkeypatch) -> None:
    monkeypatch.setenv("CHATBI_SEMANTIC_DIR", str(broken_layer))
    monkeypatch.setenv("CHATBI_DB", str(warehouse_copy))  # a path no earlier app run has cached
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert at.error and "10_orders.yaml:" in at.error[0].value and at.info


# ---------------------------------------------------------------------------- full disk on export

@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A path whose writes fail with ENOSPC: a link to /dev/full (a link, so a bug that renames
    over the target replaces the link in tmp_path, never the machine's /dev/full)."""
    link = tmp_path / "export.png"
    link.symlink_to("/dev/full")
    yield link
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_chart_png_on_a_full_disk(tiny_pipeline, full_disk) -> None:
    spec = tiny_pipeline.ask(QUESTION).chart
    assert spec
    with pytest.raises(ChartExportError) as info:
        chart_png(spec, full_disk)
    assert "disk is full" in info.value.message and "磁盘空间不足" in info.value.message
    assert full_disk.is_symlink()  # written through, not replaced


def test_cli_chart_png_on_a_full_disk(tiny_db, full_disk) -> None:
    result = CliRunner().invoke(cli_app, ["ask", QUESTION, "--json", "--db", str(tiny_db),
                                          "--chart-png", str(full_disk)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] is None  # the answer itself was printed
    one_error_line(result.stderr, "disk is full")
    assert full_disk.is_symlink()


def test_cli_csv_on_a_full_disk(tmp_path) -> None:
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review\n质量很好，推荐\n有瑕疵，不满意\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["sentiment", str(reviews), "--text-column", "review",
                                          "--out", "/dev/full"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "No space left on device" in result.stderr


def test_slack_answer_survives_a_chart_that_cannot_be_written(tiny_pipeline, full_disk, fake_slack,
                                                              slack_client, all_logs) -> None:
    bot = SlackBot(tiny_pipeline, roles={"UADMIN": Role("admin")},
                   render_png=lambda spec: chart_png(spec, full_disk).read_bytes())
    bot.on_mention({"channel": "CD", "ts": "2.1", "user": "UADMIN", "text": f"<@UBOT> {QUESTION}"}, slack_client)
    [reply] = fake_slack.of("chat.postMessage")
    assert not reply["text"].startswith(":warning:") and "华东" in json.dumps(reply, ensure_ascii=False)
    assert "files.getUploadURLExternal" not in fake_slack.methods()
    assert "chart upload failed" in all_logs.text and "disk is full" in all_logs.text
