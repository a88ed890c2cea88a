"""Reliability fixtures: warehouse values that must never leak, private warehouse copies,
the fake Slack and OpenAI servers, and a CLI that reuses the session pipeline.

The tiny warehouse (``tiny_db``, ``tiny_settings``, ``tiny_pipeline``) comes from
tests/conftest.py; tests that damage, lock or rebuild a warehouse work on a copy.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.conftest import FakeSlack
from tests.llm.fake_openai import FakeOpenAI
from tests.reliability.hostile import Secrets

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def secrets(tiny_pipeline) -> Secrets:
    """Phone numbers, user names and other merchants' totals of the tiny warehouse."""
    found = Secrets.read(tiny_pipeline.executor)
    assert len(found.phones) > 100 and len(found.names) > 100 and 15 in found.merchants
    return found


@pytest.fixture
def warehouse_copy(tiny_db: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny warehouse (for tests that damage, lock or rebuild it)."""
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_db, target)
    return target


class SharedPipeline:
    """The session pipeline for the CLI: ``close()`` (called after each command) is a no-op."""

    def __init__(self, pipeline: Any):
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)

    def close(self) -> None:
        pass


@pytest.fixture
def cli_on_session_pipeline(tiny_pipeline, monkeypatch) -> None:
    """``chatbi ask`` answers with the session pipeline instead of opening a new one per call
    (argument parsing, roles, JSON output and exit codes are the real CLI's)."""
    import chatbi.channels.cli as cli

    monkeypatch.setattr(cli, "load_pipeline", lambda settings: SharedPipeline(tiny_pipeline))


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def slack_client(fake_slack: FakeSlack) -> Any:
    from slack_sdk import WebClient

    fake_slack.clear()
    return WebClient(token="xoxb-reliability-test-token", base_url=fake_slack.base_url)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at DEBUG and above, from every logger (chatbi, httpx, openai, slack)."""
    caplog.set_level(logging.DEBUG)
    return caplog
