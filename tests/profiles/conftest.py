"""Fixtures: a synthetic raw warehouse (built once) and a built copy of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from chatbi.profiles import BuildReport, build_profiles
from tests.profiles.synthetic import generate


@pytest.fixture(scope="session")
def raw_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic raw warehouse (planted stories, all optional tables). Do not modify."""
    return generate(tmp_path_factory.mktemp("raw") / "raw.duckdb")


@pytest.fixture(scope="session")
def built(raw_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    """A copy of ``raw_db`` with profiles built, and its build report."""
    path = tmp_path_factory.mktemp("built") / "built.duckdb"
    shutil.copyfile(raw_db, path)
    return path, build_profiles(path)


@pytest.fixture()
def con(built: tuple[Path, BuildReport]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built synthetic warehouse."""
    connection = duckdb.connect(str(built[0]), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def small_raw_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller synthetic raw warehouse for tests of the build mechanics. Do not modify."""
    return generate(tmp_path_factory.mktemp("small") / "small.duckdb", n_users=1500,
                    n_merchants=30)


@pytest.fixture()
def raw_copy(small_raw_db: Path, tmp_path: Path) -> Path:
    """A private copy of the small raw warehouse that a test may change."""
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(small_raw_db, path)
    return path
