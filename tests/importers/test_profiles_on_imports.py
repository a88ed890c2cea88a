"""``build_profiles`` on imported warehouses that lack events, campaigns, follows and KOLs.

The churn model once failed on all-NaN feature columns (no events, no birth year or gender);
the build now drops such columns, so these builds must succeed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from chatbi.profiles.build import build_profiles
from chatbi.warehouse.importers import import_csv


def test_profiles_build_on_the_olist_import(olist_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "olist.duckdb"
    shutil.copy(olist_db, db)
    report = build_profiles(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        users = con.execute("SELECT count(*) FROM users").fetchone()[0]
        assert report.row_counts["user_profile"] == users
        # Portuguese text: sentiment must come from the rating, not a Chinese classifier.
        mismatched = con.execute("""
            SELECT count(*) FROM review_sentiment s JOIN reviews r USING (review_id)
            WHERE r.content_lang = 'pt' AND s.sentiment <> CASE WHEN r.rating >= 4 THEN 'positive'
                  WHEN r.rating <= 2 THEN 'negative' ELSE 'neutral' END""").fetchone()[0]
        assert mismatched == 0
    finally:
        con.close()


def test_profiles_build_without_optional_tables(demo_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "core"
    folder.mkdir()
    con = duckdb.connect(str(demo_db), read_only=True)
    for table in ("users", "merchants", "products", "orders", "order_items"):
        con.execute(f"COPY {table} TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
    con.close()
    db = tmp_path / "core.duckdb"
    import_csv(folder, db)
    report = build_profiles(db)
    assert set(report.missing_optional_tables) <= {"events", "reviews", "follows"}
    assert report.row_counts["user_profile"] > 0
