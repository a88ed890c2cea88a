"""Snapshot tests of generated SQL (input query -> expected SQL per dialect), as sqlglot and
MetricFlow do. Regenerate with ``UPDATE_SNAPSHOTS=1`` and review the diff."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml

from chatbi.semantic.compiler import SUPPORTED_DIALECTS, compile_query
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery

SNAPSHOTS = Path(__file__).parent / "snapshots"
CASES: dict[str, dict] = yaml.safe_load((SNAPSHOTS / "cases.yaml").read_text(encoding="utf-8"))
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
AS_OF = date(2026, 9, 30)


_RENDERED: dict[str, dict[str, str]] = {}


def _compile_all(name: str, layer: SemanticLayer) -> dict[str, str]:
    spec = dict(CASES[name])
    as_of = spec.pop("as_of", AS_OF)
    query = SemanticQuery.model_validate(spec)
    compiled = compile_query(query, layer, as_of=as_of)
    return {d: compiled.sql if d == "duckdb" else compiled.to_dialect(d) for d in SUPPORTED_DIALECTS}


def _render(name: str, layer: SemanticLayer) -> dict[str, str]:
    if name not in _RENDERED:
        _RENDERED[name] = _compile_all(name, layer)
    return _RENDERED[name]


def _write(path: Path, rendered: dict[str, str]) -> None:
    parts = [f"-- dialect: {d}\n{sql}\n" for d, sql in rendered.items()]
    path.write_text("\n".join(parts), encoding="utf-8")


def _read(path: Path) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- dialect: "):
            current = out.setdefault(line.split(": ", 1)[1].strip(), [])
        elif current is not None:
            current.append(line)
    return {d: "\n".join(lines).strip() for d, lines in out.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sql_matches_snapshot(name: str, layer: SemanticLayer) -> None:
    path = SNAPSHOTS / f"{name}.sql"
    rendered = _render(name, layer)
    if UPDATE or not path.exists():
        _write(path, rendered)
        if not UPDATE:
            pytest.fail(f"snapshot {path.name} was missing and has been written; review and rerun")
        return
    expected = _read(path)
    for dialect, sql in rendered.items():
        assert sql.strip() == expected.get(dialect), f"{name} [{dialect}] differs from {path.name}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_dialect_parses_back(name: str, layer: SemanticLayer) -> None:
    for dialect, sql in _render(name, layer).items():
        assert sqlglot.parse_one(sql, read=dialect) is not None


@pytest.mark.parametrize("name", sorted(CASES))
def test_duckdb_snapshot_runs(name: str, layer: SemanticLayer, warehouse: duckdb.DuckDBPyConnection) -> None:
    sql = _render(name, layer)["duckdb"]
    cursor = warehouse.execute(sql)
    assert cursor.description is not None


def test_compiling_again_gives_identical_sql(layer: SemanticLayer) -> None:
    for name in sorted(CASES)[:5]:
        assert _compile_all(name, layer) == _render(name, layer)


def test_dialect_argument_matches_to_dialect(layer: SemanticLayer) -> None:
    spec = dict(CASES["monthly_gmv_yoy"])
    query = SemanticQuery.model_validate(spec)
    for dialect in SUPPORTED_DIALECTS:
        assert compile_query(query, layer, as_of=AS_OF, dialect=dialect).sql == _render("monthly_gmv_yoy", layer)[dialect]
