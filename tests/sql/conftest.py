"""Fixtures for the SQL tests: a small real warehouse, executors and the default policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatbi.sql.access import default_policy
from chatbi.sql.executor import Executor
from chatbi.sql.policy import AccessPolicy, Role

from .warehouse import build_warehouse

ROLES = {
    "admin": Role("admin"),
    "analyst": Role("analyst"),
    "marketer": Role("marketer"),
    "merchant": Role("merchant", 1),
}


@pytest.fixture(scope="session")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def executor(warehouse_path: Path) -> Iterator[Executor]:
    ex = Executor(warehouse_path, timeout_s=10.0, memory_limit="512MB", threads=2)
    yield ex
    ex.close()


@pytest.fixture(scope="session")
def policy() -> AccessPolicy:
    return default_policy(max_rows=1000)
