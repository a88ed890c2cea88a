"""Determinism and atomic replacement of the demo warehouse file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from chatbi.errors import WarehouseError
from chatbi.warehouse.demo import DemoSummary, generate_demo
from tests.warehouse.conftest import SEED, table_hashes


def test_same_seed_scale_and_end_date_give_identical_tables(demo_tiny: DemoSummary, tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    again = generate_demo(tmp_path / "again.duckdb", scale="tiny", seed=SEED,
                          end_date=datetime(2026, 9, 30, 18, 30), progress=lambda s, f: seen.append((s, f)))
    assert again.end_date == date(2026, 9, 30)
    assert table_hashes(again.path) == table_hashes(demo_tiny.path)
    assert again.row_counts == demo_tiny.row_counts
    # progress goes from 0 to 1 in many described steps
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len(seen) > 20 and all(isinstance(s, str) and s for s, _ in seen)


def test_another_seed_gives_other_data(demo_tiny: DemoSummary, tmp_path: Path) -> None:
    other = generate_demo(tmp_path / "other.duckdb", scale="tiny", seed=SEED + 1)
    mine, theirs = table_hashes(demo_tiny.path), table_hashes(other.path)
    for table in ("users", "orders", "order_items", "products", "events", "reviews"):
        assert mine[table] != theirs[table], table


def test_failure_midway_keeps_the_old_file_and_rerun_replaces_it(tmp_path: Path) -> None:
    target = tmp_path / "warehouse.duckdb"
    target.write_bytes(b"previous warehouse")

    def explode(step: str, fraction: float) -> None:
        if fraction > 0.5:
            raise RuntimeError("disk full (simulated)")

    with pytest.raises(RuntimeError, match="simulated"):
        generate_demo(target, scale="tiny", seed=1, progress=explode)
    assert target.read_bytes() == b"previous warehouse"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]

    summary = generate_demo(target, scale="tiny", seed=1)
    assert summary.path == target
    con = duckdb.connect(str(target), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == summary.row_counts["orders"]
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_unwritable_location_raises_warehouse_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(WarehouseError) as err:
        generate_demo(blocker / "w.duckdb", scale="tiny")
    assert err.value.code == "path_not_writable"
