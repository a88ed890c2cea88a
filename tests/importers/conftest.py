"""Fixtures: the real Olist sample imported once, its pandas reference, a tiny demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.importers.olist_reference import OlistReference

OLIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "olist_sample"


@pytest.fixture(scope="session")
def olist_dir() -> Path:
    if not (OLIST_DIR / "olist_orders_dataset.csv").is_file():
        pytest.skip(f"Olist sample not found at {OLIST_DIR} (expected ../shared/data/olist_sample "
                    f"beside the repository); Olist import tests skipped")
    return OLIST_DIR


@pytest.fixture(scope="session")
def olist_import(olist_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """(ImportReport, db path) of the Olist sample imported into a fresh warehouse."""
    from chatbi.warehouse.importers import import_olist

    db = tmp_path_factory.mktemp("olist") / "olist.duckdb"
    steps: list[tuple[str, float]] = []
    report = import_olist(olist_dir, db, progress=lambda step, frac: steps.append((step, frac)))
    return report, db, steps


@pytest.fixture(scope="session")
def olist_db(olist_import) -> Path:
    return olist_import[1]


@pytest.fixture()
def olist_con(olist_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(olist_db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def ref(olist_dir: Path) -> OlistReference:
    return OlistReference(olist_dir)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated demo warehouse (raw tables only)."""
    from chatbi.warehouse.demo import generate_demo

    path = tmp_path_factory.mktemp("demo") / "tiny.duckdb"
    generate_demo(path, scale="tiny", seed=11)
    return path
