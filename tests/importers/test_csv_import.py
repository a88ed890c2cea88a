"""``import_csv``: round trips of a demo warehouse, and a broken folder reported all at once."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from chatbi.errors import UserInputError
from chatbi.warehouse.importers import ImportInvalidError, import_csv
from chatbi.warehouse.schema import RAW_TABLES

OPTIONAL = {"events", "reviews", "campaigns", "campaign_touches", "follows", "kols"}


def export(db: Path, folder: Path, formats: dict[str, str]) -> Path:
    """Write each raw table of ``db`` to ``folder`` as ``<table>.<format>``."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, fmt in formats.items():
            target = folder / f"{table}.{fmt}"
            option = "(FORMAT parquet)" if fmt == "parquet" else "(HEADER)"
            con.execute(f"COPY {table} TO '{target}' {option}")
    finally:
        con.close()
    return folder


def assert_same_tables(original: Path, imported: Path) -> None:
    """Same contract columns, types and rows (as multisets) in both warehouses."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{original}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{imported}' AS b (READ_ONLY)")
        for table, columns in RAW_TABLES.items():
            types = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = 'b' AND table_name = ?", [table]).fetchall()
            assert {c: t for c, t in types if c in columns} == columns, table
            cols = ", ".join(columns)
            counts = [con.execute(f"SELECT count(*) FROM {db}.{table}").fetchone()[0]
                      for db in ("a", "b")]
            assert counts[0] == counts[1], (table, counts)
            diff = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM a.{table} "
                               f"EXCEPT ALL SELECT {cols} FROM b.{table})").fetchone()[0]
            assert diff == 0, (table, diff)  # equal counts + nothing missing = same rows
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_csv_with_parquet_events(demo_db: Path, tmp_path: Path) -> None:
    formats = {t: "csv" for t in RAW_TABLES} | {"events": "parquet"}
    folder = export(demo_db, tmp_path / "src", formats)
    steps: list[float] = []
    report = import_csv(folder, tmp_path / "wh.duckdb", progress=lambda _s, f: steps.append(f))
    demo = duckdb.connect(str(demo_db), read_only=True)
    expected = {t: demo.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in RAW_TABLES}
    demo.close()
    assert dict(report.row_counts) == expected
    assert report.skipped_tables == ()
    assert report.files["events"] == "events.parquet"
    assert steps[-1] == 1.0
    assert_same_tables(demo_db, tmp_path / "wh.duckdb")


def test_round_trip_parquet(demo_db: Path, tmp_path: Path) -> None:
    folder = export(demo_db, tmp_path / "src", {t: "parquet" for t in RAW_TABLES})
    import_csv(folder, tmp_path / "wh.duckdb")
    assert_same_tables(demo_db, tmp_path / "wh.duckdb")


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def minimal_folder(folder: Path) -> Path:
    """The five required tables, a few hand-written rows, two extra columns on users."""
    folder.mkdir()
    write(folder / "users.csv",
          "user_id,user_name,phone,gender,birth_year,province,city,city_tier,region,"
          "signup_date,signup_channel,vip_level,memo\n"
          "1,张三,13800000000,男,1990,浙江,杭州,2,华东,2024-01-05,抖音,3,老客户\n"
          "2,李四,,女,,广东,深圳,1,华南,2024-02-01,微信,,\n")
    write(folder / "merchants.csv",
          "merchant_id,merchant_name,main_category,province,city,region,join_date,is_certified\n"
          "7,小店,中古包,上海,上海,华东,2023-12-01,true\n")
    write(folder / "products.csv",
          "product_id,merchant_id,category,brand,title,style,item_condition,list_price,"
          "listed_at,status,sold_at\n"
          "100,7,中古包,LV,包,经典款,九成新,1999.00,2024-01-01 09:00:00,sold,2024-01-10 10:00:00\n"
          "101,7,中古包,Gucci,包,普通,八成新,899.5,2024-01-02 09:00:00,on_sale,\n")
    write(folder / "orders.csv",
          "order_id,user_id,merchant_id,order_ts,pay_amount,discount_amount,coupon_id,channel,"
          "device,status,is_disputed\n"
          "1000,1,7,2024-01-10 10:00:00,1899.00,100.00,5,抖音,app,completed,false\n")
    write(folder / "order_items.csv",
          "order_id,product_id,merchant_id,price,quantity\n1000,100,7,1999.00,1\n")
    return folder


def test_optional_tables_absent_are_created_empty(tmp_path: Path, demo_db: Path) -> None:
    folder = minimal_folder(tmp_path / "src")
    write(folder / "readme.txt", "not a table")
    db = tmp_path / "wh.duckdb"
    shutil.copy(demo_db, db)  # an existing warehouse is replaced as a whole
    report = import_csv(folder, db)
    assert set(report.skipped_tables) == OPTIONAL
    assert report.row_counts["users"] == 2 and report.row_counts["events"] == 0
    assert any("readme.txt" in n for n in report.notes)
    assert any("vip_level" in n and "memo" in n for n in report.notes)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in OPTIONAL:
            cols = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = ?", [table]).fetchall()
            assert dict(cols) == RAW_TABLES[table]
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        extra = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'users' AND column_name IN "
                                 "('vip_level', 'memo')").fetchall())
        assert extra == {"vip_level": "BIGINT", "memo": "VARCHAR"}
        row = con.execute("SELECT phone, birth_year, signup_date, vip_level FROM users "
                          "WHERE user_id = 2").fetchone()
        assert row[0] is None and row[1] is None and str(row[2]) == "2024-02-01" and row[3] is None
        assert con.execute("SELECT list_price FROM products WHERE product_id = 101"
                           ).fetchone()[0] == pytest.approx(899.5)
        empty = con.execute("SELECT empty_tables FROM import_info").fetchone()[0]
        assert set(empty) == OPTIONAL
        tables = {t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        assert "user_profile" not in tables  # the old warehouse's derived tables are gone
    finally:
        con.close()


def broken_folder(folder: Path) -> Path:
    """One of every kind of problem."""
    folder.mkdir()
    write(folder / "users.csv",  # no `region` column
          "user_id,user_name,phone,gender,birth_year,province,city,city_tier,signup_date,"
          "signup_channel\n"
          "1,a,1,女,1990,浙江,杭州,2,2024-01-01,抖音\n"
          "2,b,2,男,19x0,浙江,杭州,7,yesterday,抖音\n"
          "2,c,3,男,1980,浙江,杭州,1,2024-02-30,抖音\n")
    write(folder / "orders.csv",
          "order_id,user_id,merchant_id,order_ts,pay_amount,discount_amount,coupon_id,channel,"
          "device,status,is_disputed\n"
          "1,1,1,2024-01-01 10:00:00,10.5,0,,抖音,app,completed,false\n"
          "2,1,1,2024-13-45 10:00:00,abc,0,,抖音,app,shipped,maybe\n"
          "3,1,1,not a date,3.5,0,1.5,抖音,app,completed,true\n"
          "4,,1,2024-01-02 10:00:00,3.5,0,,抖音,app,completed,true\n")
    write(folder / "order_items.csv", "order_id,product_id,merchant_id,price,quantity\n1,1,1,10.5,1\n")
    write(folder / "kols.csv", "kol_id\n1\n")
    write(folder / "kols.parquet", "x")
    write(folder / "events.parquet", "not parquet")
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM (VALUES
        (1::BIGINT, 1::BIGINT, 'c', NULL, 't', NULL, NULL, 1.0, TIMESTAMP '2024-01-01', 'sold', NULL),
        (1::BIGINT, 1::BIGINT, 'c', NULL, 't', NULL, NULL, 1.0, TIMESTAMP '2024-01-01', 'gone', NULL))
        t(product_id, merchant_id, category, brand, title, style, item_condition, list_price,
          listed_at, status, sold_at)) TO '{folder / "products.parquet"}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT 1::BIGINT AS review_id, 1::BIGINT AS order_id, 1::BIGINT AS user_id,
        1::BIGINT AS merchant_id, TIMESTAMP '2024-01-01' AS review_ts, true AS rating,
        'x' AS content) TO '{folder / "reviews.parquet"}' (FORMAT parquet)""")
    con.close()
    return folder  # and no merchants file at all


def test_broken_folder_reports_every_problem_and_keeps_the_warehouse(
        tmp_path: Path, demo_db: Path) -> None:
    folder = broken_folder(tmp_path / "src")
    target = tmp_path / "wh"
    target.mkdir()
    db = target / "warehouse.duckdb"
    shutil.copy(demo_db, db)
    before = sha256(db)
    with pytest.raises(ImportInvalidError) as info:
        import_csv(folder, db)
    err = info.value
    assert isinstance(err, UserInputError) and err.code == "import_invalid"
    assert err.exit_code == 2
    expected = [
        "missing required table `merchants`",
        "several files for table `kols`",
        "`events.parquet`: 无法读取 / cannot be read",
        "`users.csv`: 缺少列 / missing columns: region",
        "`users.csv` 列 / column `birth_year`: 1 个值不是 / values are not INTEGER — 数据行 / data rows 2 ",
        "`users.csv` 列 / column `city_tier`: 1 个值超出 / values outside 1–5 — 数据行 / data rows 2 ",
        "`users.csv` 列 / column `signup_date`: 2 个值不是 / values are not DATE — 数据行 / data rows 2, 3 ",
        "`users.csv` 列 / column `user_id`: 1 个重复的主键值",
        "`orders.csv` 列 / column `order_ts`: 2 个值不是 / values are not TIMESTAMP — 数据行 / data rows 2, 3 ",
        "`orders.csv` 列 / column `pay_amount`: 1 个值不是 / values are not DECIMAL(12,2) — 数据行 / data rows 2 ",
        "`orders.csv` 列 / column `coupon_id`: 1 个值不是 / values are not BIGINT — 数据行 / data rows 3 ",
        "`orders.csv` 列 / column `is_disputed`: 1 个值不是 / values are not BOOLEAN",
        "`orders.csv` 列 / column `status`: 1 个值不在允许范围",
        "`orders.csv` 列 / column `user_id`: 1 个空值 / empty values — 数据行 / data rows 4",
        "`products.parquet` 列 / column `status`: 1 个值不在允许范围",
        "`products.parquet` 列 / column `product_id`: 1 个重复的主键值",
        "`reviews.parquet` 列 / column `rating`: 1 个值不是 / values are not INTEGER（文件中的类型 / type in file: BOOLEAN）",
    ]
    for fragment in expected:
        assert fragment in err.message, fragment
    assert len(err.problems) == len(expected)
    assert sha256(db) == before
    assert [p.name for p in target.iterdir()] == ["warehouse.duckdb"]


def test_first_rows_are_listed_when_many_are_bad(tmp_path: Path) -> None:
    folder = minimal_folder(tmp_path / "src")
    rows = "".join(f"{2000 + i},1,7,bad-{i},1.00,0,,抖音,app,completed,false\n" for i in range(20))
    with (folder / "orders.csv").open("a", encoding="utf-8") as handle:
        handle.write(rows)
    with pytest.raises(ImportInvalidError) as info:
        import_csv(folder, tmp_path / "wh.duckdb")
    assert "20 个值不是 / values are not TIMESTAMP — 数据行 / data rows 2, 3, 4, 5, 6 …" in \
        info.value.message
    assert not (tmp_path / "wh.duckdb").exists()


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UserInputError):
        import_csv(tmp_path / "missing", tmp_path / "wh.duckdb")
