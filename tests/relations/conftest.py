"""Fixtures: the lead's tiny warehouse (seed 7) with the recommender tables.

When the profile build already runs the recommender step, ``tiny_db`` is used as is;
otherwise a copy gets the step run on it (``build_recommendations``).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

AS_OF = date(2026, 9, 30)


@pytest.fixture(scope="session")
def rel_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        has = con.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_name = 'merchant_links'").fetchone()[0]
    finally:
        con.close()
    if has:
        return tiny_db
    from chatbi.profiles.recommender import build_recommendations

    path = tmp_path_factory.mktemp("relations") / "tiny_rel.duckdb"
    shutil.copyfile(tiny_db, path)
    build_recommendations(path)
    return path


@pytest.fixture(scope="session")
def raw(rel_db: Path):
    """A read-only DuckDB connection for independent checks."""
    con = duckdb.connect(str(rel_db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def layer():
    from chatbi.semantic.loader import load_semantic_layer

    return load_semantic_layer()


@pytest.fixture(scope="session")
def policy(layer):
    from chatbi.semantic.catalog import Catalog

    return Catalog(layer).access_policy(1000)


@pytest.fixture(scope="session")
def executor(rel_db: Path):
    from chatbi.sql.executor import Executor

    ex = Executor(rel_db)
    yield ex
    ex.close()


@pytest.fixture(scope="session")
def values(layer, executor):
    from chatbi.retrieval.values import read_dimension_values

    return read_dimension_values(layer, executor, AS_OF)


@pytest.fixture(scope="session")
def ask(executor, policy, values):
    """ask(question, role) -> RelationResult (detect + answer)."""
    from chatbi.relations import answer_relation, detect_relation_question
    from chatbi.sql.policy import Role

    def _ask(question: str, role: str = "admin"):
        request = detect_relation_question(question, None, values)
        assert request is not None, question
        return answer_relation(request, executor=executor, policy=policy, role=Role.parse(role),
                               as_of=AS_OF)

    return _ask
