"""Dimension filters (``WHERE``) and metric filters (``HAVING``) as sqlglot conditions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlglot import exp

from chatbi.errors import CompileError
from chatbi.semantic.models import Dimension
from chatbi.semantic.query import Filter, MetricFilter
from chatbi.semantic.sqlexpr import literal

_TRUE_WORDS = {"true", "1", "yes", "y", "是", "有", "t"}
_FALSE_WORDS = {"false", "0", "no", "n", "否", "无", "f"}


def _bad(dim: Dimension, message: str) -> CompileError:
    return CompileError(f"筛选条件「{dim.label}」({dim.name}) 无效：{message} / invalid filter on "
                        f"{dim.name}: {message}")


def coerce(dim: Dimension, value: Any) -> Any:
    """A filter value converted to the dimension's type (dates for time dimensions)."""
    if value is None:
        return None
    if isinstance(value, str) and dim.value_labels:
        by_label = {label: raw for raw, label in dim.value_labels.items()}
        value = by_label.get(value.strip(), value)  # 一线 -> 1, 小程序 -> mini_program
    kind = "date" if dim.type == "time" else dim.data_type
    try:
        if kind == "date":
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            return date.fromisoformat(str(value).strip()[:10])
        if kind == "integer":
            if isinstance(value, bool):
                return int(value)
            return int(float(str(value).strip()))
        if kind == "number":
            return float(str(value).strip())
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            word = str(value).strip().casefold()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
            raise ValueError(value)
        if kind == "string":
            return str(value)
    except (TypeError, ValueError) as exc:
        raise _bad(dim, f"值 {value!r} 不是 {kind} / value {value!r} is not a {kind}") from exc
    return value


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def operand(tree: exp.Expression) -> exp.Expression:
    """``tree`` ready to be the left side of an operator: a boolean expression is parenthesized.

    A dimension defined by a predicate (``coupon_id IS NOT NULL``) compared with ``= FALSE``
    must render ``(NOT x IS NULL) = FALSE``; sqlglot's generator does not add the parentheses
    itself, and without them the text means something else (or does not parse).
    """
    # a boolean expression (AND / OR / NOT / comparison / IS / IN / LIKE…); arithmetic binds
    # tighter than every operator a filter puts around it, so it needs no parentheses
    if isinstance(tree, exp.Connector | exp.Not | exp.Predicate):
        return exp.Paren(this=tree)
    return tree


def dimension_condition(flt: Filter, target: exp.Expression, dim: Dimension) -> exp.Expression:
    """The ``WHERE`` condition for one dimension filter over the dimension's expression."""
    op = flt.op
    target = operand(target)
    if dim.type == "tag":
        values = [str(v) for v in _as_list(flt.value) if v is not None]
        if not values:
            raise _bad(dim, "没有标签值 / no tag given")
        checks = [exp.ArrayContains(this=target.copy(), expression=literal(v)) for v in values]
        tag_cond: exp.Expression = checks[0] if len(checks) == 1 else exp.Paren(this=exp.or_(*checks))
        if op in ("has_tag", "eq", "in"):
            return tag_cond
        if op in ("ne", "not_in"):
            return exp.Not(this=tag_cond)
        raise _bad(dim, f"标签维度不支持 {op} / operator {op} does not apply to tags")
    if op == "has_tag":
        raise _bad(dim, "has_tag 只用于标签维度 / has_tag applies only to tag dimensions")
    if op in ("in", "not_in"):
        values = [coerce(dim, v) for v in _as_list(flt.value)]
        if not values:
            return exp.false() if op == "in" else exp.true()
        non_null = [v for v in values if v is not None]
        parts: list[exp.Expression] = []
        if non_null:
            parts.append(exp.In(this=target.copy(), expressions=[literal(v) for v in non_null]))
        if len(non_null) < len(values):
            parts.append(exp.Is(this=target.copy(), expression=exp.Null()))
        cond: exp.Expression = parts[0] if len(parts) == 1 else exp.Paren(this=exp.or_(*parts))
        return cond if op == "in" else exp.Not(this=cond)
    if op == "between":
        values = _as_list(flt.value)
        if len(values) != 2 or None in values:
            raise _bad(dim, "between 需要两个值 / between needs two values")
        low, high = (coerce(dim, v) for v in values)
        return exp.Between(this=target, low=literal(low), high=literal(high))
    if isinstance(flt.value, list | tuple):
        raise _bad(dim, f"{op} 需要单个值 / {op} needs a single value")
    if op == "contains":
        return exp.GT(this=exp.StrPosition(this=exp.cast(target, "VARCHAR"),
                                           substr=exp.Literal.string(str(flt.value))),
                      expression=exp.Literal.number(0))
    value = coerce(dim, flt.value)
    if value is None:
        if op == "eq":
            return exp.Is(this=target, expression=exp.Null())
        if op == "ne":
            return exp.Not(this=exp.Is(this=target, expression=exp.Null()))
        raise _bad(dim, f"{op} 不能和空值比较 / {op} cannot compare with null")
    return comparison(op, target, literal(value))


def comparison(op: str, left: exp.Expression, right: exp.Expression) -> exp.Expression:
    """``left <op> right`` for eq, ne, gt, gte, lt, lte."""
    cls = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
    return cast(exp.Expression, cls(this=operand(left), expression=right))


def metric_condition(flt: MetricFilter, target: exp.Expression) -> exp.Expression:
    """The condition of a metric filter over the metric's value."""
    return comparison(flt.op, target, exp.Literal.number(flt.value))
