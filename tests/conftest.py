"""Shared fixtures: one tiny demo warehouse (raw data + profiles) per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.pop("OPENAI_API_KEY", None)  # tests never reach a real LLM unless they start one
os.environ.setdefault("CHATBI_PLANNER", "offline")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    """AppTest runs the app in this process, as ``make run`` does bound to 127.0.0.1: with no
    accounts in the app database the web app serves this machine in local mode (admin)."""
    from streamlit import config as streamlit_config

    streamlit_config.set_option("server.address", "127.0.0.1")


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated warehouse with profiles built (seed 7, default end date)."""
    from chatbi.profiles.build import build_profiles
    from chatbi.warehouse.demo import generate_demo

    path = tmp_path_factory.mktemp("warehouse") / "tiny.duckdb"
    generate_demo(path, scale="tiny", seed=7)
    build_profiles(path)
    return path


@pytest.fixture(scope="session")
def tiny_settings(tiny_db: Path):
    """Settings pointing at the tiny warehouse, offline planner."""
    from dataclasses import replace

    from chatbi.config import Settings

    return replace(Settings.from_env(db_path=tiny_db), planner="offline", openai_api_key=None)


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_settings):
    """One shared Pipeline over the tiny warehouse."""
    from chatbi.answer.pipeline import Pipeline

    pipeline = Pipeline(tiny_settings)
    yield pipeline
    pipeline.close()
