"""Check the raw tables the profile build reads, and stand in for missing optional ones.

Required: users, merchants, products, orders, order_items (the commerce core every import
provides). Optional: events, reviews, follows. A missing optional table is replaced by an
empty temporary table with the contract's columns, and the columns derived from it are
NULL (not 0) in the profiles, because "unknown" is not "none". Every problem is collected
and raised as one WarehouseError.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from chatbi.errors import WarehouseError
from chatbi.warehouse.schema import RAW_TABLES, create_table_sql

REQUIRED_TABLES = ("users", "merchants", "products", "orders", "order_items")
OPTIONAL_TABLES = ("events", "reviews", "follows")

_FAMILIES = {
    "BIGINT": "number", "INTEGER": "number", "DECIMAL(12,2)": "number",
    "VARCHAR": "text", "DATE": "time", "TIMESTAMP": "time", "BOOLEAN": "bool",
}


@dataclass(frozen=True)
class InputInfo:
    """Which optional tables exist (True) or were replaced by an empty stand-in (False)."""

    has_events: bool
    has_reviews: bool
    has_follows: bool

    @property
    def missing_optional(self) -> tuple[str, ...]:
        flags = {"events": self.has_events, "reviews": self.has_reviews,
                 "follows": self.has_follows}
        return tuple(name for name, present in flags.items() if not present)


def _family(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith(("DECIMAL", "NUMERIC")) or t in {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL",
    }:
        return "number"
    if t.startswith(("TIMESTAMP", "DATE")):
        return "time"
    if t == "BOOLEAN":
        return "bool"
    if t == "VARCHAR":
        return "text"
    return t.lower()


def check_inputs(con: duckdb.DuckDBPyConnection) -> InputInfo:
    """Validate raw tables on ``con``; create empty stand-ins for missing optional tables."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main'"
    ).fetchall()
    present: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        present.setdefault(table.lower(), {})[column.lower()] = dtype
    problems: list[str] = []
    for table in REQUIRED_TABLES + OPTIONAL_TABLES:
        if table not in present:
            if table in REQUIRED_TABLES:
                problems.append(f"缺少表 missing table `{table}`")
            continue
        missing = [c for c in RAW_TABLES[table] if c not in present[table]]
        if missing:
            problems.append(f"表 `{table}` 缺少列 missing columns: {', '.join(missing)}")
        for col, want in RAW_TABLES[table].items():
            have = present[table].get(col)
            if have is not None and _family(have) != _FAMILIES[want]:
                problems.append(f"`{table}.{col}` 类型应为 should be {want}, 实际 is {have}")
    if problems:
        raise WarehouseError(
            "原始表缺失或不完整，无法构建画像 / raw tables are missing or incomplete: "
            + "; ".join(problems),
            code="raw_tables_invalid",
            detail="\n".join(problems),
        )
    flags = {}
    for table in OPTIONAL_TABLES:
        flags[table] = table in present
        if not flags[table]:
            con.execute(create_table_sql(table).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    return InputInfo(has_events=flags["events"], has_reviews=flags["reviews"],
                     has_follows=flags["follows"])
