"""The Olist sample imported into the raw tables: counts and values against pandas."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from chatbi.errors import UserInputError
from chatbi.warehouse.importers import ImportInvalidError, ImportReport, import_olist
from chatbi.warehouse.importers.olist_mapping import load_mapping
from chatbi.warehouse.schema import ORDER_STATUSES, RAW_TABLES
from tests.importers.olist_reference import OlistReference

STATE_NAMES = {s.code: s.name for s in load_mapping().states}


def one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def test_report_counts_and_progress(olist_import, ref: OlistReference) -> None:
    report, db, steps = olist_import
    assert isinstance(report, ImportReport)
    assert report.source == "olist" and report.db_path == db
    assert report.row_counts["users"] == ref.customers["customer_unique_id"].nunique()
    assert report.row_counts["merchants"] == len(ref.sellers)
    assert report.row_counts["orders"] == len(ref.orders)
    assert report.row_counts["products"] == len(ref.products)
    assert report.row_counts["reviews"] == len(ref.reviews)
    assert set(report.skipped_tables) == {"events", "campaigns", "campaign_touches", "follows", "kols"}
    assert steps and steps[-1][1] == 1.0
    assert all(0.0 <= f <= 1.0 for _, f in steps)
    lines = report.summary_lines()
    assert any("events" in line for line in lines)
    assert any("in-flight" in line for line in lines)


def test_every_raw_table_has_the_contract_columns_and_types(olist_con) -> None:
    for table, columns in RAW_TABLES.items():
        have = dict(olist_con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall())
        for col, typ in columns.items():
            assert have.get(col) == typ, (table, col, have.get(col))


def test_order_items_keep_every_olist_line(olist_con, ref: OlistReference) -> None:
    assert one(olist_con, "SELECT sum(quantity) FROM order_items") == len(ref.items)
    pairs = ref.items.drop_duplicates(["order_id", "product_id", "seller_id"])
    assert one(olist_con, "SELECT count(*) FROM order_items") == len(pairs)
    total = one(olist_con, "SELECT sum(price * quantity) FROM order_items")
    assert float(total) == pytest.approx(ref.items["price"].sum(), abs=0.01)


def test_gmv_is_the_payment_value_of_valid_orders(olist_con, ref: OlistReference) -> None:
    gmv = one(olist_con, "SELECT sum(pay_amount) FROM orders WHERE status <> 'cancelled'")
    assert float(gmv) == pytest.approx(ref.gmv(), abs=0.01)
    assert float(one(olist_con, "SELECT sum(pay_amount) FROM orders")) == pytest.approx(
        ref.payments["payment_value"].sum(), abs=0.01)


def test_vouchers_become_discounts(olist_con, ref: OlistReference) -> None:
    vouchers = ref.payments[ref.payments["payment_type"] == "voucher"]
    assert float(one(olist_con, "SELECT sum(discount_amount) FROM orders")) == pytest.approx(
        vouchers["payment_value"].sum(), abs=0.01)
    assert one(olist_con, "SELECT count(*) FROM orders WHERE coupon_id IS NOT NULL") == \
        vouchers["order_id"].nunique()


def test_statuses_map_to_the_contract(olist_con, ref: OlistReference) -> None:
    rows = dict(olist_con.execute("SELECT status, count(*) FROM orders GROUP BY 1").fetchall())
    assert set(rows) <= set(ORDER_STATUSES)
    assert rows["cancelled"] == int((~ref.orders["valid"]).sum())
    assert rows["completed"] == int(ref.orders["valid"].sum())
    kept = dict(olist_con.execute(
        "SELECT source_status, count(*) FROM orders GROUP BY 1").fetchall())
    assert kept == ref.orders["order_status"].value_counts().to_dict()
    assert one(olist_con, "SELECT count(*) FROM orders WHERE is_disputed") == 0


def test_orders_per_buyer_state(olist_con, ref: OlistReference) -> None:
    rows = dict(olist_con.execute("""
        SELECT u.province, count(*) FROM orders o JOIN users u USING (user_id)
        WHERE o.status <> 'cancelled' GROUP BY 1""").fetchall())
    expected = {STATE_NAMES[s]: n for s, n in ref.valid_orders_by_state().items()}
    assert rows == expected


def test_users_are_unique_customers_with_region_and_tier(olist_con, ref: OlistReference) -> None:
    assert one(olist_con, "SELECT count(DISTINCT source_customer_unique_id) FROM users") == \
        ref.customers["customer_unique_id"].nunique()
    regions = {r for (r,) in olist_con.execute("SELECT DISTINCT region FROM users").fetchall()}
    assert regions == {"Sudeste", "Sul", "Nordeste", "Norte", "Centro-Oeste"}
    tiers = dict(olist_con.execute(
        "SELECT city, min(city_tier) FROM users WHERE city IN "
        "('São Paulo', 'Brasília', 'Campinas', 'Santos') GROUP BY 1").fetchall())
    assert tiers == {"São Paulo": 1, "Brasília": 2, "Campinas": 3, "Santos": 4}
    nulls = olist_con.execute("SELECT count(gender), count(birth_year), count(phone), "
                              "count(user_name), count(signup_channel) FROM users").fetchone()
    assert nulls == (0, 0, 0, 0, 0)
    first = ref.orders_full.groupby("customer_unique_id")["ts"].min().dt.date
    signup = dict(olist_con.execute(
        "SELECT source_customer_unique_id, signup_date FROM users").fetchall())
    assert signup == first.to_dict()


def test_merchants_are_sellers_with_their_state(olist_con, ref: OlistReference) -> None:
    rows = dict(olist_con.execute(
        "SELECT province, count(*) FROM merchants GROUP BY 1").fetchall())
    expected = ref.sellers["seller_state"].map(STATE_NAMES).value_counts().to_dict()
    assert rows == expected
    assert one(olist_con, "SELECT count(DISTINCT merchant_name) FROM merchants") == len(ref.sellers)


def test_products_have_chinese_and_english_categories(olist_con, ref: OlistReference) -> None:
    categories = load_mapping().categories
    zh_of = {c.en: c.zh for c in categories}
    en_of_untranslated = {c.pt: c.en for c in categories if c.pt not in ref.translation}
    expected = ref.products["product_category_name"].map(
        lambda pt: (ref.translation.get(pt) or en_of_untranslated[pt]) if isinstance(pt, str)
        else "uncategorized").value_counts().to_dict()
    rows = olist_con.execute("SELECT category, category_en, count(*) FROM products "
                             "GROUP BY ALL").fetchall()
    assert {en: n for _, en, n in rows} == expected
    for zh, en, _ in rows:
        assert zh == zh_of.get(en, "未分类")


def test_reviews_keep_rating_and_portuguese_text(olist_con, ref: OlistReference) -> None:
    avg = one(olist_con, "SELECT avg(rating) FROM reviews")
    assert avg == pytest.approx(ref.reviews["review_score"].mean())
    with_text = ref.reviews["review_comment_message"].notna() | \
        ref.reviews["review_comment_title"].notna()
    assert one(olist_con, "SELECT count(content) FROM reviews") == int(with_text.sum())
    assert one(olist_con, "SELECT count(*) FROM reviews WHERE content_lang = 'pt'") == \
        int(with_text.sum())
    assert one(olist_con, "SELECT count(*) FROM reviews r JOIN orders o USING (order_id) "
                          "WHERE r.user_id <> o.user_id") == 0


def test_import_info_lists_the_gaps(olist_con) -> None:
    source, empty, currency = olist_con.execute(
        "SELECT source, empty_tables, currency FROM import_info").fetchone()
    assert source == "olist" and currency == "BRL"
    assert set(empty) == {"events", "campaigns", "campaign_touches", "follows", "kols"}
    gaps = {(t, c) for t, c in olist_con.execute(
        "SELECT table_name, column_name FROM import_gaps").fetchall()}
    assert {("orders", "channel"), ("orders", "device"), ("events", None),
            ("users", "gender")} <= gaps


def test_missing_files_are_reported_and_the_warehouse_is_untouched(olist_dir: Path,
                                                                   tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("olist_orders_dataset.csv", "olist_customers_dataset.csv"):
        shutil.copy(olist_dir / name, partial / name)
    db = tmp_path / "wh.duckdb"
    db.write_bytes(b"previous warehouse")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(ImportInvalidError) as info:
        import_olist(partial, db)
    assert isinstance(info.value, UserInputError)
    assert info.value.code == "import_invalid"
    for name in ("olist_order_items_dataset.csv", "olist_order_payments_dataset.csv",
                 "olist_sellers_dataset.csv", "olist_products_dataset.csv"):
        assert name in info.value.message
    assert "olist_order_reviews_dataset.csv" not in info.value.message  # optional
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partial", "wh.duckdb"]


def test_bad_rows_are_reported_with_row_numbers(olist_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "olist"
    folder.mkdir()
    for path in olist_dir.glob("*.csv"):
        shutil.copyfile(path, folder / path.name)  # copyfile: not the read-only mode
    orders = folder / "olist_orders_dataset.csv"
    lines = orders.read_text(encoding="utf-8").splitlines(keepends=True)
    for row, field, value in ((2, 2, "lost"), (4, 3, "yesterday")):  # line index = data row
        fields = lines[row].split(",")
        fields[field] = value
        lines[row] = ",".join(fields)
    orders.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ImportInvalidError) as info:
        import_olist(folder, tmp_path / "wh.duckdb")
    message = info.value.message
    assert "`olist_orders_dataset.csv` 列 / column `order_status`" in message
    assert "data rows 2 (e.g. 'lost')" in message
    assert "`order_purchase_timestamp`: 1 个值不是 / values are not TIMESTAMP — 数据行 / " \
           "data rows 4 (e.g. 'yesterday')" in message
    assert len(info.value.problems) == 2
    assert not (tmp_path / "wh.duckdb").exists()


def test_import_is_deterministic(olist_dir: Path, olist_db: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    import_olist(olist_dir, again)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{olist_db}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{again}' AS b (READ_ONLY)")
        for table in ("users", "merchants", "products", "orders", "order_items", "reviews"):
            diff = con.execute(f"SELECT count(*) FROM (SELECT * FROM a.{table} EXCEPT ALL "
                               f"SELECT * FROM b.{table})").fetchone()[0]
            assert diff == 0, table
    finally:
        con.close()
