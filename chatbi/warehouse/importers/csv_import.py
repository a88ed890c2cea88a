"""``chatbi import csv DIR``: load CSV/Parquet files named after the raw tables.

Every file is staged as text in a scratch database, checked against DATA_CONTRACT.md
(required tables, columns, types with row numbers, keys, contract values), and only when
nothing is wrong is a new warehouse written and swapped in with ``atomic_replace``. Any
problem raises ``ImportInvalidError`` (code ``import_invalid``) listing all of them; the
existing warehouse is not touched. Columns beyond the contract are kept (typed from their
values); absent optional tables are created empty.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import duckdb

from chatbi.errors import UserInputError
from chatbi.warehouse.connection import write_connection
from chatbi.warehouse.files import atomic_replace, ensure_writable_dir
from chatbi.warehouse.importers.report import ImportInvalidError, ImportReport
from chatbi.warehouse.importers.staging import (
    StagedTable,
    Staging,
    file_kind,
    one_row,
    quote_ident,
    quote_str,
)
from chatbi.warehouse.importers.validate import TableRules, bad_sql, cast_sql, check_table
from chatbi.warehouse.importers.writer import create_empty, row_counts, write_import_info
from chatbi.warehouse.schema import EVENT_TYPES, ORDER_STATUSES, RAW_TABLES, create_table_sql

Progress = Callable[[str, float], None]

REQUIRED_TABLES = ("users", "merchants", "products", "orders", "order_items")
OPTIONAL_TABLES = tuple(t for t in RAW_TABLES if t not in REQUIRED_TABLES)
PRODUCT_STATUSES = ("on_sale", "sold", "withdrawn")

RULES: dict[str, TableRules] = {
    "users": TableRules(not_null=("user_id",), unique=("user_id",), ranges={"city_tier": (1, 5)}),
    "merchants": TableRules(not_null=("merchant_id",), unique=("merchant_id",)),
    "products": TableRules(not_null=("product_id",), unique=("product_id",),
                           allowed={"status": PRODUCT_STATUSES}),
    "orders": TableRules(not_null=("order_id", "user_id", "order_ts", "pay_amount", "status"),
                         unique=("order_id",), allowed={"status": ORDER_STATUSES}),
    "order_items": TableRules(not_null=("order_id", "product_id")),
    "events": TableRules(allowed={"event_type": EVENT_TYPES}),
    "reviews": TableRules(ranges={"rating": (1, 5)}),
    "follows": TableRules(allowed={"target_type": ("merchant", "kol")}),
}

# Types an extra (non-contract) column may get, tried in this order on its text values.
_EXTRA_CANDIDATES = ("BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP")
_SCALAR_TYPES = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "BOOLEAN",
                 "DATE", "TIMESTAMP", "VARCHAR"}

# Orphan references reported as notes (they do not block the import).
_REFERENCES = (
    ("orders", "user_id", "users", "user_id"),
    ("orders", "merchant_id", "merchants", "merchant_id"),
    ("order_items", "order_id", "orders", "order_id"),
    ("order_items", "product_id", "products", "product_id"),
    ("reviews", "order_id", "orders", "order_id"),
)


def _table_of(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".csv.gz", ".tsv.gz", ".csv", ".tsv", ".parquet", ".pq"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def discover(source_dir: Path) -> tuple[dict[str, Path], list[str], list[str]]:
    """Files per raw table, problems (duplicates, missing required tables), ignored files."""
    found: dict[str, list[Path]] = defaultdict(list)
    ignored: list[str] = []
    for path in sorted(source_dir.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        table = _table_of(path)
        if file_kind(path) is None or table not in RAW_TABLES:
            ignored.append(path.name)
            continue
        found[table].append(path)
    problems: list[str] = []
    for table, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.append(f"表 `{table}` 有多个文件 / several files for table `{table}`: {names}")
    for table in REQUIRED_TABLES:
        if table not in found:
            problems.append(f"缺少必需的表 / missing required table `{table}` "
                            f"(expected {table}.csv or {table}.parquet)")
    return {t: ps[0] for t, ps in found.items() if len(ps) == 1}, problems, ignored


def _extra_types(con: duckdb.DuckDBPyConnection, staged: StagedTable,
                 extras: list[str]) -> dict[str, str]:
    """A DuckDB type for each extra column: the Parquet type, else inferred from the text."""
    types: dict[str, str] = {}
    to_infer = []
    for key in extras:
        source = staged.source_types.get(key, "text").upper()
        if source in _SCALAR_TYPES or source.startswith("DECIMAL"):
            types[key] = source
        else:
            to_infer.append(key)
    if not to_infer:
        return types
    parts: list[str] = []
    for key in to_infer:
        ref = quote_ident(staged.columns[key])
        parts.append(f"count(nullif(trim({ref}), '')) AS n_{len(parts)}")
        for cand in _EXTRA_CANDIDATES:
            cond = bad_sql(ref, cand)
            if cand == "DATE":
                cond = f"({cond} OR length(trim({ref})) > 10)"
            parts.append(f"count_if({cond}) AS bad")
    row = one_row(con, f"SELECT {', '.join(parts)} FROM {quote_ident(staged.name)}")
    width = 1 + len(_EXTRA_CANDIDATES)
    for i, key in enumerate(to_infer):
        non_null, *bad = row[i * width:(i + 1) * width]
        types[key] = "VARCHAR"
        if non_null:
            types[key] = next((c for c, b in zip(_EXTRA_CANDIDATES, bad, strict=True) if b == 0),
                              "VARCHAR")
    return types


def _orphan_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    notes = []
    for child, col, parent, key in _REFERENCES:
        n = one_row(con, f"SELECT count(*) FROM {child} c WHERE c.{col} IS NOT NULL AND NOT "
                         f"EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{col})")[0]
        if n:
            notes.append(f"{child}.{col}: {n} 行引用了 {parent} 中不存在的 {key} / rows reference "
                         f"a {key} missing from {parent}")
    return notes


def import_csv(source_dir: Path, db_path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Load ``<table>.csv`` / ``<table>.parquet`` files from ``source_dir`` into a new warehouse.

    Raises ImportInvalidError (a UserInputError, code ``import_invalid``) listing every
    problem, before the warehouse at ``db_path`` is touched.
    """
    started = time.perf_counter()
    report = progress or (lambda _step, _fraction: None)
    source_dir, db_path = Path(source_dir), Path(db_path)
    if not source_dir.is_dir():
        raise UserInputError(f"目录不存在 / not a folder: {source_dir}", code="import_invalid")
    ensure_writable_dir(db_path)
    report("查找文件 / finding files", 0.0)
    files, problems, ignored = discover(source_dir)
    notes = [f"已忽略的文件 / ignored files: {', '.join(ignored)}"] if ignored else []
    with Staging(db_path.parent) as staging:
        assert staging.con is not None
        for i, (table, path) in enumerate(sorted(files.items())):
            report(f"读取 / reading {path.name}", 0.05 + 0.45 * i / max(len(files), 1))
            problem = staging.load(table, path)
            if problem:
                problems.append(problem)
        report("检查列和类型 / checking columns and types", 0.5)
        extras: dict[str, dict[str, str]] = {}
        for table, staged in staging.tables.items():
            problems.extend(check_table(staging.con, staged, RAW_TABLES[table], RULES.get(table)))
            names = [k for k in staged.columns if k not in RAW_TABLES[table] and k != "rowid"]
            extras[table] = _extra_types(staging.con, staged, names)
        if problems:
            raise ImportInvalidError(problems, source_dir)
        for table, staged in staging.tables.items():
            if staged.rows == 0:
                notes.append(f"`{staged.path.name}` 没有数据行 / has no data rows")
            if extras[table]:
                notes.append(f"{table}: 保留了契约之外的列 / kept extra columns: "
                             + ", ".join(staged.columns[k] for k in extras[table]))
        staging.close()
        assert staging.path is not None
        report("写入数据仓库 / writing the warehouse", 0.7)
        empty = [t for t in OPTIONAL_TABLES if t not in staging.tables]
        with atomic_replace(db_path) as tmp:
            with write_connection(tmp) as con:
                con.execute(f"ATTACH {quote_str(str(staging.path))} AS src (READ_ONLY)")
                for table, staged in staging.tables.items():
                    _write_table(con, table, staged, extras[table])
                con.execute("DETACH src")
                create_empty(con, empty)
                notes.extend(_orphan_notes(con))
                counts = row_counts(con)
                write_import_info(con, source="csv", source_dir=source_dir, counts=counts,
                                  notes=notes, empty_tables=empty,
                                  gaps=[(t, None, "not in the source folder") for t in empty])
    report("完成 / done", 1.0)
    return ImportReport(source="csv", source_dir=source_dir, db_path=db_path, row_counts=counts,
                        notes=tuple(notes), skipped_tables=tuple(empty),
                        elapsed_seconds=round(time.perf_counter() - started, 3),
                        files={t: p.name for t, p in files.items()})


def _write_table(con: duckdb.DuckDBPyConnection, table: str, staged: StagedTable,
                 extras: dict[str, str]) -> None:
    con.execute(create_table_sql(table))
    names = list(RAW_TABLES[table])
    selects = [f"{cast_sql(quote_ident(staged.columns[c]), t)} AS {c}"
               for c, t in RAW_TABLES[table].items()]
    for key, typ in extras.items():
        name = staged.columns[key]
        con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(name)} {typ}")
        names.append(quote_ident(name))
        selects.append(cast_sql(quote_ident(name), typ))
    con.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selects)} "
                f"FROM src.main.{quote_ident(table)} ORDER BY rowid")
