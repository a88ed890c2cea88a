"""Checks of staged (all-text) tables against expected columns and DuckDB types.

Every check is one set-based query per table; each returns problem strings, never raises,
so an import can report every problem at once. The same SQL expressions that decide a value
is bad (``bad_sql``) or turn it into its type (``cast_sql``) are used by the writers, so what
passed the checks loads exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from chatbi.warehouse.importers.staging import StagedTable, one_row, quote_ident, quote_str

MAX_ROWS_SHOWN = 5


def _text(col_sql: str) -> str:
    return f"nullif(trim({col_sql}), '')"


def cast_sql(col_sql: str, duck_type: str) -> str:
    """SQL turning the text column ``col_sql`` into ``duck_type`` (NULL when empty/invalid)."""
    t = duck_type.upper()
    v = _text(col_sql)
    if t == "VARCHAR":
        return col_sql
    if t == "DATE":
        return f"TRY_CAST({v} AS DATE)"
    if t == "BOOLEAN":
        return f"TRY_CAST(lower({v}) AS BOOLEAN)"
    return f"TRY_CAST({v} AS {t})"


def bad_sql(col_sql: str, duck_type: str) -> str:
    """SQL that is true when the text column holds a value that is not a valid ``duck_type``."""
    t = duck_type.upper()
    v = _text(col_sql)
    if t == "VARCHAR":
        return "false"
    bad = f"({v} IS NOT NULL AND {cast_sql(col_sql, t)} IS NULL)"
    if t in ("BIGINT", "INTEGER", "SMALLINT"):  # TRY_CAST rounds 3.5 to 4: refuse fractions
        bad = f"({bad} OR TRY_CAST({v} AS DOUBLE) <> TRY_CAST({v} AS {t}))"
    return bad


@dataclass(frozen=True)
class TableRules:
    """What one staged table must satisfy beyond column types."""

    not_null: Sequence[str] = ()
    unique: Sequence[str] = ()
    allowed: Mapping[str, Sequence[str]] = field(default_factory=dict)  # text values
    ranges: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # inclusive


def _rows(rows: list[int] | None, total: int) -> str:
    shown = ", ".join(str(r) for r in sorted(rows or [])[:MAX_ROWS_SHOWN])
    more = " …" if total > MAX_ROWS_SHOWN else ""
    return f"数据行 / data rows {shown}{more}"


def _example(value: object) -> str:
    text = str(value)
    return quote_str(text if len(text) <= 40 else text[:37] + "...")


def missing_columns(staged: StagedTable, expected: Sequence[str]) -> list[str]:
    """Expected column names absent from the staged file."""
    return [c for c in expected if c.lower() not in staged.columns]


def check_table(con: duckdb.DuckDBPyConnection, staged: StagedTable, types: Mapping[str, str],
                rules: TableRules | None = None) -> list[str]:
    """Problems of one staged table: missing columns, bad values, nulls, duplicates, domains."""
    rules = rules or TableRules()
    label = f"`{staged.path.name}`"
    problems: list[str] = []
    missing = missing_columns(staged, list(types))
    if missing:
        problems.append(f"{label}: 缺少列 / missing columns: {', '.join(missing)}")
    present = {c: t for c, t in types.items() if c.lower() in staged.columns}
    checks: list[tuple[str, str, str]] = []  # (column, kind, condition SQL)
    for col, typ in present.items():
        ref = quote_ident(staged.columns[col.lower()])
        if typ.upper() != "VARCHAR":
            checks.append((col, "type", bad_sql(ref, typ)))
        if col in rules.not_null:
            checks.append((col, "null", f"{_text(ref)} IS NULL"))
        if col in rules.allowed:
            values = ", ".join(quote_str(v) for v in rules.allowed[col])
            checks.append((col, "allowed",
                           f"({_text(ref)} IS NOT NULL AND {_text(ref)} NOT IN ({values}))"))
        if col in rules.ranges:
            lo, hi = rules.ranges[col]
            num = cast_sql(ref, "BIGINT")
            checks.append((col, "range", f"({num} IS NOT NULL AND {num} NOT BETWEEN {lo} AND {hi})"))
    if checks:
        problems.extend(_run_checks(con, staged, present, checks, rules, label))
    for col in rules.unique:
        if col.lower() in staged.columns:
            problems.extend(_duplicates(con, staged, col, label))
    return problems


def _run_checks(con: duckdb.DuckDBPyConnection, staged: StagedTable, types: Mapping[str, str],
                checks: list[tuple[str, str, str]], rules: TableRules, label: str) -> list[str]:
    selects = []
    for i, (col, _kind, cond) in enumerate(checks):
        ref = quote_ident(staged.columns[col.lower()])
        selects.append(f"count_if({cond}) AS n{i}, min(rowid + 1, {MAX_ROWS_SHOWN}) "
                       f"FILTER (WHERE {cond}) AS r{i}, arg_min({ref}, rowid) FILTER "
                       f"(WHERE {cond}) AS v{i}")
    row = one_row(con, f"SELECT {', '.join(selects)} FROM {quote_ident(staged.name)}")
    problems = []
    for i, (col, kind, _cond) in enumerate(checks):
        count, rows, value = row[3 * i], row[3 * i + 1], row[3 * i + 2]
        if not count:
            continue
        where = f"{label} 列 / column `{col}`"
        if kind == "type":
            source = staged.source_types.get(col.lower(), "text")
            typ = types[col]
            hint = f"（文件中的类型 / type in file: {source}）" if source != "text" else ""
            problems.append(f"{where}: {count} 个值不是 / values are not {typ}{hint} — "
                            f"{_rows(rows, count)} (e.g. {_example(value)})")
        elif kind == "null":
            problems.append(f"{where}: {count} 个空值 / empty values — {_rows(rows, count)}")
        elif kind == "allowed":
            allowed = ", ".join(rules.allowed[col])
            problems.append(f"{where}: {count} 个值不在允许范围 / values not in ({allowed}) — "
                            f"{_rows(rows, count)} (e.g. {_example(value)})")
        else:
            lo, hi = rules.ranges[col]
            problems.append(f"{where}: {count} 个值超出 / values outside {lo}–{hi} — "
                            f"{_rows(rows, count)} (e.g. {_example(value)})")
    return problems


def _duplicates(con: duckdb.DuckDBPyConnection, staged: StagedTable, col: str,
                label: str) -> list[str]:
    ref = _text(quote_ident(staged.columns[col.lower()]))
    row = one_row(con, f"""
        SELECT count(*), sum(n), min(first_row, {MAX_ROWS_SHOWN}), arg_min(v, first_row)
        FROM (SELECT {ref} AS v, count(*) AS n, min(rowid + 1) AS first_row
              FROM {quote_ident(staged.name)} WHERE {ref} IS NOT NULL
              GROUP BY 1 HAVING count(*) > 1)""")
    keys, rows, first_rows, example = row
    if not keys:
        return []
    return [f"{label} 列 / column `{col}`: {keys} 个重复的主键值（共 {rows} 行）/ duplicate key "
            f"values ({rows} rows) — first at {_rows(first_rows, keys)} (e.g. {_example(example)})"]
