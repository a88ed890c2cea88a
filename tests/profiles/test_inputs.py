"""Bad input: missing tables or columns, wrong types, missing optional tables, empty tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from chatbi.errors import WarehouseError
from chatbi.profiles import PROFILE_TABLES, build_profiles
from chatbi.warehouse.schema import RAW_TABLES, create_table_sql


def _alter(path: Path, *statements: str) -> None:
    with duckdb.connect(str(path)) as con:
        for sql in statements:
            con.execute(sql)


def test_missing_tables_and_columns_are_listed_in_one_error(raw_copy: Path) -> None:
    _alter(raw_copy, "DROP TABLE orders", "DROP TABLE merchants",
           "ALTER TABLE users DROP COLUMN region", "ALTER TABLE users DROP COLUMN signup_date",
           "ALTER TABLE events DROP COLUMN event_type")
    with pytest.raises(WarehouseError) as info:
        build_profiles(raw_copy)
    err = info.value
    assert err.code == "raw_tables_invalid"
    for needle in ("`orders`", "`merchants`", "region", "signup_date", "`events`", "event_type"):
        assert needle in err.message, needle


def test_wrong_column_type_is_reported(raw_copy: Path) -> None:
    _alter(raw_copy, "ALTER TABLE orders ALTER COLUMN order_ts SET DATA TYPE VARCHAR")
    with pytest.raises(WarehouseError) as info:
        build_profiles(raw_copy)
    assert "orders.order_ts" in info.value.message


def test_missing_optional_tables_give_null_columns(raw_copy: Path) -> None:
    _alter(raw_copy, "DROP TABLE events", "DROP TABLE follows", "DROP TABLE reviews",
           "DROP TABLE campaigns", "DROP TABLE campaign_touches", "DROP TABLE kols")
    report = build_profiles(raw_copy)
    assert set(report.missing_optional_tables) == {"events", "follows", "reviews"}
    assert report.row_counts["user_profile"] > 0 and report.churn.auc is not None
    with duckdb.connect(str(raw_copy), read_only=True) as con:
        rel = con.execute("SELECT count(*), count(view_count), count(follows), "
                          "count(favorite_count) FROM user_merchant_relation").fetchone()
        prof = con.execute("SELECT count(views_30d), count(review_count) FROM user_profile").fetchone()
        merchant = con.execute("SELECT count(avg_rating), count(review_count) "
                               "FROM merchant_profile").fetchone()
        sentiment = con.execute("SELECT count(*) FROM review_sentiment").fetchone()[0]
    assert rel[0] > 0 and rel[1:] == (0, 0, 0)
    assert prof == (0, 0) and merchant == (0, 0) and sentiment == 0


def test_empty_tables_give_empty_profiles(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    _alter(path, *(create_table_sql(t) for t in RAW_TABLES))
    report = build_profiles(path)
    assert all(report.row_counts[t] == 0 for t in PROFILE_TABLES)
    assert report.churn.auc is None and report.notes


def test_users_without_any_order(tmp_path: Path) -> None:
    path = tmp_path / "users_only.duckdb"
    _alter(path, *(create_table_sql(t) for t in RAW_TABLES),
           "INSERT INTO users SELECT range, 'u', '1', '女', 1990, '广东', '广州', 1, '华南', "
           "DATE '2026-01-01' + CAST(range AS INTEGER), '抖音' FROM range(1, 101)")
    report = build_profiles(path)
    assert report.row_counts["user_profile"] == 100
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT frequency, rfm_segment, value_tier FROM user_profile").fetchall()
        stages = {r[0] for r in con.execute("SELECT DISTINCT lifecycle_stage FROM user_profile").fetchall()}
    assert rows == [(0, None, "一般")]
    assert stages <= {"新客", "沉默", "流失"}
