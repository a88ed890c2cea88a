"""``chatbi import olist DIR``: load the public Olist CSV files into the raw tables.

The files are staged and checked first (required files, columns, parsable timestamps and
amounts, known order statuses), all problems at once; only then is a new warehouse written
and swapped in with ``atomic_replace``. The mapping rules are in ``olist_sql.py`` and
``olist_mapping.yaml`` and documented in docs/import.md; ``GAPS`` lists what Olist has no
counterpart for, and is written to the warehouse's ``import_gaps`` table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from chatbi.errors import UserInputError
from chatbi.warehouse.connection import write_connection
from chatbi.warehouse.files import atomic_replace, ensure_writable_dir
from chatbi.warehouse.importers import olist_mapping, olist_sql
from chatbi.warehouse.importers.report import ImportInvalidError, ImportReport
from chatbi.warehouse.importers.staging import Staging, one_row, quote_str
from chatbi.warehouse.importers.validate import TableRules, check_table
from chatbi.warehouse.importers.writer import Gap, create_empty, row_counts, write_import_info
from chatbi.warehouse.schema import create_table_sql

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class OlistFile:
    """One Olist CSV file: staged table name, file name, the columns read and their checks."""

    name: str
    file: str
    types: dict[str, str]
    rules: TableRules = field(default_factory=TableRules)
    required: bool = True


def _files() -> tuple[OlistFile, ...]:
    statuses = tuple(olist_mapping.load_mapping().order_statuses)
    v = "VARCHAR"
    return (
        OlistFile("orders", "olist_orders_dataset.csv",
                  {"order_id": v, "customer_id": v, "order_status": v,
                   "order_purchase_timestamp": "TIMESTAMP"},
                  TableRules(not_null=("order_id", "customer_id", "order_status",
                                       "order_purchase_timestamp"),
                             unique=("order_id",), allowed={"order_status": statuses})),
        OlistFile("order_items", "olist_order_items_dataset.csv",
                  {"order_id": v, "order_item_id": "INTEGER", "product_id": v, "seller_id": v,
                   "price": "DECIMAL(12,2)", "freight_value": "DECIMAL(12,2)"},
                  TableRules(not_null=("order_id", "product_id", "seller_id", "price"))),
        OlistFile("payments", "olist_order_payments_dataset.csv",
                  {"order_id": v, "payment_sequential": "INTEGER", "payment_type": v,
                   "payment_value": "DECIMAL(12,2)"},
                  TableRules(not_null=("order_id", "payment_value"))),
        OlistFile("customers", "olist_customers_dataset.csv",
                  {"customer_id": v, "customer_unique_id": v, "customer_city": v,
                   "customer_state": v},
                  TableRules(not_null=("customer_id", "customer_unique_id"),
                             unique=("customer_id",))),
        OlistFile("sellers", "olist_sellers_dataset.csv",
                  {"seller_id": v, "seller_city": v, "seller_state": v},
                  TableRules(not_null=("seller_id",), unique=("seller_id",))),
        OlistFile("products", "olist_products_dataset.csv",
                  {"product_id": v, "product_category_name": v},
                  TableRules(not_null=("product_id",), unique=("product_id",))),
        OlistFile("reviews", "olist_order_reviews_dataset.csv",
                  {"review_id": v, "order_id": v, "review_score": "INTEGER",
                   "review_comment_title": v, "review_comment_message": v,
                   "review_creation_date": "TIMESTAMP"},
                  TableRules(ranges={"review_score": (1, 5)}), required=False),
        OlistFile("translation", "product_category_name_translation.csv",
                  {"product_category_name": v, "product_category_name_english": v},
                  required=False),
    )


# What Olist has no counterpart for (also documented in docs/import.md).
GAPS: tuple[Gap, ...] = (
    ("users", "user_name", "Olist has no buyer names"),
    ("users", "phone", "Olist has no phone numbers"),
    ("users", "gender", "Olist has no gender"),
    ("users", "birth_year", "Olist has no age or birth year"),
    ("users", "signup_channel", "Olist has no acquisition channel"),
    ("users", "signup_date", "derived: date of the buyer's first order (Olist has no sign-up date)"),
    ("merchants", "merchant_name", "synthetic: 'seller-' + the first 8 characters of seller_id"),
    ("merchants", "join_date", "derived: date of the seller's first order"),
    ("merchants", "is_certified", "Olist has no certification flag (NULL)"),
    ("products", "brand", "Olist has no brands"),
    ("products", "title", "synthetic: Chinese category + ' #' + first 8 characters of product_id"),
    ("products", "style", "Olist has no style"),
    ("products", "item_condition", "Olist has no item condition"),
    ("products", "list_price", "derived: average price the product sold at"),
    ("products", "listed_at", "Olist has no listing dates (NULL)"),
    ("orders", "channel", "Olist has no traffic source (NULL)"),
    ("orders", "device", "Olist has no device (NULL)"),
    ("orders", "coupon_id", "1 when the order has a voucher payment; Olist does not identify vouchers"),
    ("orders", "is_disputed", "Olist has no disputes (always false)"),
    ("orders", "status", "Olist has no returns or refunds: only completed and cancelled occur"),
    ("reviews", "content", "Portuguese text (content_lang = 'pt'); sentiment should use the rating"),
    ("events", None, "Olist has no clickstream"),
    ("campaigns", None, "Olist has no marketing campaigns"),
    ("campaign_touches", None, "Olist has no campaign touches"),
    ("follows", None, "Olist has no follows"),
    ("kols", None, "Olist has no KOLs"),
)
EMPTY_TABLES = ("events", "campaigns", "campaign_touches", "follows", "kols")


def _find(source_dir: Path, file_name: str) -> Path | None:
    """The file named ``file_name`` (case-insensitive, also .gz) in ``source_dir``."""
    wanted = {file_name.lower(), file_name.lower() + ".gz"}
    for path in sorted(source_dir.iterdir()):
        if path.is_file() and path.name.lower() in wanted:
            return path
    return None


def import_olist(source_dir: Path, db_path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Load the Olist CSV files in ``source_dir`` into a new warehouse at ``db_path``.

    Raises ImportInvalidError (a UserInputError, code ``import_invalid``) listing every
    problem, before the warehouse at ``db_path`` is touched.
    """
    started = time.perf_counter()
    report = progress or (lambda _step, _fraction: None)
    source_dir, db_path = Path(source_dir), Path(db_path)
    if not source_dir.is_dir():
        raise UserInputError(f"目录不存在 / not a folder: {source_dir}", code="import_invalid")
    ensure_writable_dir(db_path)
    specs = _files()
    problems: list[str] = []
    found: dict[str, Path] = {}
    for spec in specs:
        path = _find(source_dir, spec.file)
        if path is not None:
            found[spec.name] = path
        elif spec.required:
            problems.append(f"缺少 Olist 文件 / missing Olist file `{spec.file}`")
    notes: list[str] = [f"未提供 / not provided: {s.file}" for s in specs
                        if not s.required and s.name not in found]
    with Staging(db_path.parent) as staging:
        assert staging.con is not None
        for i, spec in enumerate(s for s in specs if s.name in found):
            report(f"读取 / reading {found[spec.name].name}", 0.3 * i / len(found))
            problem = staging.load(spec.name, found[spec.name])
            if problem:
                problems.append(problem)
                continue
            problems.extend(check_table(staging.con, staging.tables[spec.name], spec.types,
                                        spec.rules))
        if problems:
            raise ImportInvalidError(problems, source_dir)
        staging.close()
        assert staging.path is not None
        with atomic_replace(db_path) as tmp:
            with write_connection(tmp) as con:
                con.execute(f"ATTACH {quote_str(str(staging.path))} AS src (READ_ONLY)")
                facts = _transform(con, has_reviews="reviews" in found,
                                   has_translation="translation" in found, report=report)
                con.execute("DETACH src")
                create_empty(con, EMPTY_TABLES + (() if "reviews" in found else ("reviews",)))
                counts = row_counts(con)
                notes.extend(_notes(facts))
                empty = [t for t, n in counts.items() if n == 0]
                write_import_info(con, source="olist", source_dir=source_dir, counts=counts,
                                  notes=notes, empty_tables=empty, gaps=GAPS, currency="BRL")
    report("完成 / done", 1.0)
    return ImportReport(source="olist", source_dir=source_dir, db_path=db_path,
                        row_counts=counts, notes=tuple(notes), skipped_tables=tuple(empty),
                        elapsed_seconds=round(time.perf_counter() - started, 3),
                        files={name: p.name for name, p in found.items()})


def _transform(con: duckdb.DuckDBPyConnection, *, has_reviews: bool, has_translation: bool,
               report: Progress) -> dict[str, int]:
    """Run the mapping SQL on ``con`` (source attached as ``src``); returns the check counts."""
    olist_mapping.register(con)
    if has_translation:
        con.execute("""CREATE TEMP TABLE s_translation AS
                       SELECT DISTINCT lower(trim(product_category_name)) AS pt,
                              trim(product_category_name_english) AS en
                       FROM src.translation WHERE nullif(trim(product_category_name), '') IS NOT NULL
                       QUALIFY row_number() OVER (PARTITION BY pt ORDER BY coalesce(en, '')) = 1""")
    else:
        con.execute("CREATE TEMP TABLE s_translation (pt VARCHAR, en VARCHAR)")
    steps = olist_sql.STAGE_SQL
    for i, (name, sql) in enumerate(steps):
        report(f"转换 / mapping {name[2:]}", 0.35 + 0.3 * i / len(steps))
        con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
    for i, (table, sql) in enumerate(olist_sql.INSERT_SQL):
        report(f"写入 / writing {table}", 0.65 + 0.25 * i / len(olist_sql.INSERT_SQL))
        _create(con, table)
        con.execute(sql)
    if has_reviews:
        report("写入 / writing reviews", 0.92)
        _create(con, "reviews")
        con.execute(olist_sql.REVIEWS_SQL)
    return {key: one_row(con, sql)[0] for sql, key in olist_sql.CHECK_SQL}


def _create(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(create_table_sql(table))
    for col, typ in olist_sql.EXTRA_COLUMNS.get(table, {}).items():
        con.execute(f"ALTER TABLE {table} ADD COLUMN {col} {typ}")


def _notes(f: dict[str, int]) -> list[str]:
    """Plain-language notes from the check counts (only the ones that apply)."""
    notes = [
        "没有对应数据 / no counterpart in Olist: events, campaigns, campaign_touches, follows, "
        "kols (empty tables); orders.channel/device, users.gender/birth_year/phone/user_name/"
        "signup_channel, products.brand/style/item_condition/listed_at (NULL); see import_gaps",
        "Olist 没有退货或纠纷 / Olist has no returns, refunds or disputes: return_rate and "
        "dispute_rate are 0 by construction",
        "金额单位为巴西雷亚尔 / amounts are in Brazilian reais (BRL, import_info.currency)",
    ]
    if f["in_flight"]:
        notes.append(f"{f['in_flight']} 个在途订单（shipped/invoiced/processing/approved/created）"
                     f"记为 completed / in-flight orders stored as completed (source_status keeps "
                     f"the Olist status)")
    if f["multi_seller_orders"]:
        notes.append(f"{f['multi_seller_orders']} 个订单含多个卖家，orders.merchant_id 取金额最大的卖家 "
                     f"/ orders with several sellers: orders.merchant_id is the seller with the "
                     f"largest item value; order_items keep each line's seller")
    if f["orders_without_items"]:
        notes.append(f"{f['orders_without_items']} 个订单没有商品明细 / orders have no items "
                     f"(merchant_id NULL)")
    if f["orders_without_payments"]:
        notes.append(f"{f['orders_without_payments']} 个订单没有支付记录，pay_amount 取商品价+运费 / "
                     f"orders have no payments: pay_amount = item prices + freight")
    if f["orders_without_customer"]:
        notes.append(f"{f['orders_without_customer']} 个订单找不到顾客 / orders have no customer "
                     f"(user_id NULL)")
    if f["items_without_order"]:
        notes.append(f"{f['items_without_order']} 行订单明细的订单不在订单文件中，已跳过 / order items "
                     f"whose order is not in the orders file were skipped")
    if f["sellers_not_in_file"]:
        notes.append(f"{f['sellers_not_in_file']} 个卖家不在卖家文件中（无所在地）/ sellers missing "
                     f"from the sellers file (no location)")
    if f["unknown_categories"]:
        notes.append(f"{f['unknown_categories']} 个商品的品类不在映射表中，保留原名 / products have a "
                     f"category unknown to the mapping (kept as is)")
    if f["uncategorized_products"]:
        notes.append(f"{f['uncategorized_products']} 个商品没有品类，记为「未分类」/ products without "
                     f"a category are stored as 未分类 (uncategorized)")
    if f["unknown_states"]:
        notes.append(f"{f['unknown_states']} 个州代码无法识别 / unknown state codes (region NULL)")
    if f["orders_kept"] < f["orders_in_file"]:
        notes.append(f"{f['orders_in_file'] - f['orders_kept']} 行订单重复或缺少 order_id，已跳过 / "
                     f"duplicate or id-less order rows were skipped")
    return notes
