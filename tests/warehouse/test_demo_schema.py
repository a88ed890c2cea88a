"""The demo writes every contract table with exactly the contract's columns and types."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.errors import UserInputError
from chatbi.warehouse.demo import (
    DEFAULT_END_DATE,
    SCALES,
    DemoSummary,
    generate_demo,
    resolve_scale,
)
from chatbi.warehouse.schema import RAW_TABLES
from tests.warehouse.conftest import rows


def test_every_contract_table_has_exactly_the_contract_columns(con) -> None:
    tables = {r[0] for r in rows(con, "SELECT table_name FROM information_schema.tables")}
    assert set(RAW_TABLES) <= tables
    for table, columns in RAW_TABLES.items():
        described = rows(con, f"DESCRIBE {table}")
        assert [(r[0], r[1]) for r in described] == list(columns.items()), table


def test_every_table_has_rows_near_the_tiny_targets(demo_tiny: DemoSummary) -> None:
    counts = demo_tiny.row_counts
    assert set(counts) == set(RAW_TABLES)
    assert all(counts[t] > 0 for t in RAW_TABLES), counts
    tiny = SCALES["tiny"]
    assert counts["orders"] == tiny.orders
    assert 0.9 * tiny.users <= counts["users"] <= 1.2 * tiny.users
    assert counts["merchants"] == tiny.merchants
    assert 0.7 * tiny.events <= counts["events"] <= 1.3 * tiny.events
    assert counts["kols"] == tiny.kols and counts["campaigns"] == tiny.campaigns
    assert counts["order_items"] > counts["orders"]
    assert counts["products"] > counts["order_items"]


def test_summary_describes_the_build(demo_tiny: DemoSummary) -> None:
    assert demo_tiny.scale == "tiny" and demo_tiny.seed == 7
    assert demo_tiny.end_date == DEFAULT_END_DATE == date(2026, 9, 30)
    assert demo_tiny.start_date == date(2023, 10, 1)
    assert demo_tiny.path.exists()
    assert 0 < demo_tiny.elapsed_seconds < 30
    assert demo_tiny.planted["dispute_merchant_id"].isdigit()
    lines = demo_tiny.summary_lines()
    assert "tiny" in lines[0] and "2023-10-01..2026-09-30" in lines[0]
    assert f"orders {demo_tiny.row_counts['orders']:,}" in lines[1]
    assert "dispute_merchant_id" in lines[2]


def test_data_covers_the_36_months_up_to_the_end_date(con) -> None:
    first, last = rows(con, "SELECT min(order_ts), max(order_ts) FROM orders")[0]
    assert first.date() >= date(2023, 10, 1) and first.date() < date(2023, 10, 8)
    assert last.date() <= date(2026, 9, 30) and last.date() > date(2026, 9, 20)
    months = rows(con, "SELECT count(DISTINCT date_trunc('month', order_ts)) FROM orders")[0][0]
    assert months == 36
    ev_first, ev_last = rows(con, "SELECT min(event_ts), max(event_ts) FROM events")[0]
    assert ev_first.date() >= date(2023, 10, 1) and ev_last.date() <= date(2026, 9, 30)


def test_unknown_scale_is_a_user_error_listing_the_choices() -> None:
    with pytest.raises(UserInputError) as err:
        resolve_scale("huge")
    for name in ("tiny", "small", "medium", "large"):
        assert name in err.value.message
    assert err.value.code == "invalid_scale"


def test_unknown_scale_fails_before_touching_the_path(tmp_path) -> None:
    target = tmp_path / "w.duckdb"
    with pytest.raises(UserInputError):
        generate_demo(target, scale="enormous")
    assert not target.exists()


def test_scales_grow_in_size() -> None:
    names = ["tiny", "small", "medium", "large"]
    assert list(SCALES) == names
    for a, b in zip(names, names[1:], strict=False):
        assert SCALES[a].orders < SCALES[b].orders and SCALES[a].events < SCALES[b].events
    assert SCALES["large"].orders == 10_000_000 and SCALES["large"].events == 60_000_000
