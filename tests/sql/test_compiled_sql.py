"""The compiler's SQL (the DuckDB snapshots of tests/semantic) passes the guard and runs.

An integration check with the semantic layer: every compiled query is accepted for admin,
and for marketers and merchants it is either accepted (and then runs, merchant rows only)
or refused for a documented reason (PII, a table merchants may not see).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbi.config import PROJECT_ROOT
from chatbi.errors import ChatBIError, GuardError
from chatbi.sql.access import default_policy
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy, Role

SNAPSHOTS = sorted((PROJECT_ROOT / "tests" / "semantic" / "snapshots").glob("*.sql"))
ALLOWED_REFUSALS = {
    "marketer": {"sql_pii_refused"},
    "merchant": {"sql_pii_refused", "sql_table_not_allowed"},
}


def _duckdb_section(path: Path) -> str | None:
    text = path.read_text(encoding="utf-8")
    if "-- dialect: duckdb" not in text:
        return None
    return text.split("-- dialect: duckdb", 1)[1].split("-- dialect:", 1)[0]


@pytest.fixture(scope="module")
def layer_policy() -> AccessPolicy:
    """The semantic layer's policy when it loads, else the default policy (same shape)."""
    try:
        from chatbi.semantic.catalog import Catalog
        from chatbi.semantic.loader import load_semantic_layer_uncached

        layer = load_semantic_layer_uncached(PROJECT_ROOT / "semantic_layer")
        return Catalog(layer).access_policy()
    except (ImportError, ChatBIError):
        return default_policy()


def _run(executor: Executor, sql: str) -> list[tuple] | None:
    """Rows, or None when the small test warehouse lacks a column the layer uses."""
    try:
        return executor.run(sql).rows
    except ChatBIError as exc:
        detail = (exc.detail or exc.message).lower()
        if "not found" in detail or "does not exist" in detail:
            return None
        raise


@pytest.mark.skipif(not SNAPSHOTS, reason="no compiler snapshots in this checkout")
@pytest.mark.parametrize("path", SNAPSHOTS, ids=[p.stem for p in SNAPSHOTS])
def test_compiled_sql_passes_the_guard(
    path: Path, layer_policy: AccessPolicy, executor: Executor
) -> None:
    sql = _duckdb_section(path)
    if sql is None:
        pytest.skip("no DuckDB section")
    admin = guard_sql(sql, layer_policy, Role("admin"))
    _run(executor, admin.sql)
    for key, role in (("marketer", Role("marketer")), ("merchant", Role("merchant", 1))):
        try:
            guarded = guard_sql(sql, layer_policy, role)
        except GuardError as exc:
            assert exc.code in ALLOWED_REFUSALS[key], f"{key}: {exc.code}: {exc.message}"
            continue
        _run(executor, guarded.sql)
        if key == "merchant":
            assert guarded.rewritten and "merchant_id = 1" in guarded.sql
