"""Small helpers that turn the semantic layer's SQL snippets into sqlglot trees.

Snippets in the YAML are DuckDB SQL over one model's columns (unqualified). The compiler
qualifies their columns with the model's alias and fills ``{as_of}`` / ``{as_of_year}``.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, cast

import sqlglot
from sqlglot import exp

from chatbi.semantic.models import Measure

READ_DIALECT = "duckdb"


def fill_as_of(sql: str, as_of: date | None) -> str:
    """Replace ``{as_of}`` and ``{as_of_year}`` (used by e.g. the age band)."""
    if "{as_of" not in sql:
        return sql
    day = as_of or date.today()
    return sql.replace("{as_of_year}", str(day.year)).replace("{as_of}", f"DATE '{day.isoformat()}'")


def _is_date(tree: exp.Expression) -> bool:
    return isinstance(tree, exp.Cast) and tree.to.is_type(exp.DataType.Type.DATE)


def calendar_days(tree: exp.Expression) -> exp.Expression:
    """Make ``date_diff('day', a, b)`` count calendar days in every dialect.

    DuckDB counts day boundaries crossed; Spark's ``DATEDIFF(DAY, ts, ts)`` counts whole
    24-hour periods (a product listed at 20:00 and sold at 08:00 the next day is 1 day on
    DuckDB, 0 on Spark). Comparing the two dates (``CAST(… AS DATE)``) means the same on
    every engine.
    """
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DateDiff) and str(node.unit.name if node.unit else "day").lower() == "day":
            for key in ("this", "expression"):
                arg = node.args.get(key)
                if arg is not None and not _is_date(arg):
                    node.set(key, exp.cast(arg, exp.DataType.build("DATE")))
        return node

    return tree.transform(fix, copy=False)


@functools.lru_cache(maxsize=4096)
def _parse(sql: str) -> exp.Expression:
    return calendar_days(cast(exp.Expression, sqlglot.parse_one(sql, read=READ_DIALECT)))


def parse_expr(sql: str, as_of: date | None = None) -> exp.Expression:
    """A fresh tree for a SQL expression (raises sqlglot.errors.ParseError)."""
    return _parse(fill_as_of(sql, as_of)).copy()


def parse_select(sql: str) -> exp.Expression:
    """A fresh tree for a model's ``sql:`` SELECT."""
    tree = _parse(sql.strip().rstrip(";")).copy()
    return tree


def _inside_subquery(node: exp.Expression, root: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None and parent is not root:
        if isinstance(parent, exp.Select | exp.Lambda):
            return True
        parent = parent.parent
    return False


def qualify(tree: exp.Expression, alias: str) -> exp.Expression:
    """Give every unqualified column (outside subqueries and lambdas) the table ``alias``."""
    if isinstance(tree, exp.Column) and not tree.table:
        return exp.column(tree.name, table=alias, quoted=tree.this.quoted or None)
    for column in list(tree.find_all(exp.Column)):
        if not column.table and not _inside_subquery(column, tree):
            column.set("table", exp.to_identifier(alias))
    return tree


def columns_of(sql: str) -> set[str]:
    """Unqualified column names an expression reads (outside subqueries and lambdas)."""
    tree = parse_expr(sql)
    lambda_vars: set[str] = set()
    for lam in tree.find_all(exp.Lambda):
        lambda_vars.update(e.name for e in lam.expressions)
    out = set()
    nodes = [tree] if isinstance(tree, exp.Column) else list(tree.find_all(exp.Column))
    for col in nodes:
        if not _inside_subquery(col, tree) and col.name not in lambda_vars:
            out.add(col.name)
    return out


def literal(value: Any) -> exp.Expression:
    """A Python value as a SQL literal (dates become DATE literals)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    return exp.Literal.string(str(value))


def date_literal(day: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.build("DATE"))


def nullif_zero(tree: exp.Expression) -> exp.Expression:
    """``NULLIF(x, 0)``: a divisor that yields NULL instead of a division-by-zero error."""
    if isinstance(tree, exp.Nullif):
        return tree
    if isinstance(tree, exp.Literal) and tree.is_number and float(tree.this) != 0:
        return tree
    return exp.Nullif(this=tree, expression=exp.Literal.number(0))


def as_double(tree: exp.Expression) -> exp.Expression:
    """``CAST(tree AS DOUBLE)``: a dividend, so ``/`` is a float division on every engine.

    DuckDB divides decimals into a double; Spark keeps a decimal rounded to 6 places
    (a growth of 0.085260287… became 0.085260) and PostgreSQL a numeric.
    """
    if isinstance(tree, exp.Cast) and tree.to.is_type(exp.DataType.Type.DOUBLE):
        return tree
    return exp.cast(tree, exp.DataType.build("DOUBLE"))


def divide(num: exp.Expression, den: exp.Expression) -> exp.Div:
    """``CAST(num AS DOUBLE) / NULLIF(den, 0)``."""
    return exp.Div(this=as_double(num), expression=nullif_zero(den))


def safe_divisions(tree: exp.Expression) -> exp.Expression:
    """Make every division a float division by NULLIF(…, 0)."""
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Div):
            node.set("this", as_double(node.this))
            node.set("expression", nullif_zero(node.expression))
        return node

    return tree.transform(fix, copy=False)


MONEY_TYPE = "DECIMAL(38, 6)"  # exact sums: the same total whatever order rows are added in
MONEY_RESULT = "DECIMAL(38, 2)"  # a money total in cents, as the warehouse stores amounts


def aggregate(measure: Measure, alias: str, as_of: date | None = None, *, exact: bool = False) -> exp.Expression:
    """The aggregate of a measure over rows of ``alias``, its filter as a CASE inside.

    ``exact`` (money): a SUM or AVG adds ``DECIMAL(38, 6)`` values, so the result does not
    depend on the order parallel threads add rows in (floating-point sums of allocated
    amounts came back as 283189381.0 one time and 283189380.99999994 the next); the sum is
    given in cents (allocated amounts have sub-cent parts that add up to whole cents)."""
    value = qualify(parse_expr(measure.expr, as_of), alias)
    is_star = measure.expr.strip() == "1"
    if measure.filter:
        cond = qualify(parse_expr(measure.filter, as_of), alias)
        value = exp.Case(ifs=[exp.If(this=cond, true=value)])
        is_star = False
    if exact and measure.agg in ("sum", "avg"):
        value = exp.cast(value, exp.DataType.build(MONEY_TYPE))
    if measure.agg == "count":
        return exp.Count(this=exp.Star()) if is_star else exp.Count(this=value)
    if measure.agg == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    func = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}[measure.agg]
    if exact and measure.agg == "sum":
        return exp.cast(func(this=value), exp.DataType.build(MONEY_RESULT))
    return cast(exp.Expression, func(this=value))


def describe_measure(measure: Measure, source: str) -> str:
    """A human-readable definition: ``SUM(pay_amount) FROM orders WHERE status <> 'cancelled'``."""
    expr = measure.expr.strip()
    if measure.agg == "count":
        head = "COUNT(*)" if expr == "1" else f"COUNT({expr})"
    elif measure.agg == "count_distinct":
        head = f"COUNT(DISTINCT {expr})"
    else:
        head = f"{measure.agg.upper()}({expr})"
    text = f"{head} FROM {source}"
    if measure.filter:
        text += f" WHERE {' '.join(measure.filter.split())}"
    if measure.min_occurrences:
        key = f"COUNT(DISTINCT {measure.occurrence_key})" if measure.occurrence_key else "COUNT(*)"
        text += f" (only {expr} values with {key} >= {measure.min_occurrences})"
    return text
