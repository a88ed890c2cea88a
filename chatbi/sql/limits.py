"""Resource limits read from the SQL text: bounded generators, string builders and distances.

The guard (``chatbi.sql.guard``, rule 2b) calls ``check_limits`` on every statement after the
allow-list check. DuckDB's ``memory_limit`` covers joins, sorts and aggregates, but not the
values one scalar function builds: ``len(range(100000000))`` builds an 800 MB list,
``repeat('x', 2000000000)`` a 2 GB string, ``damerau_levenshtein`` on two long strings a
matrix of their product, each in one call that neither the memory limit nor an interrupt
can stop. So the sizes those functions produce are bounded here, before anything runs:

- ``range`` / ``generate_series`` need constant bounds (numbers, or dates/timestamps with a
  constant interval step). As a table (``FROM range(n)``) at most ``MAX_SERIES_ROWS`` rows
  each; as a list value (``len(range(n))``, ``unnest(range(n))``) at most
  ``MAX_LIST_ELEMENTS`` elements for the whole statement.
- String builders (``repeat``, ``lpad``/``rpad``, ``printf``/``format`` widths, ``bar``,
  ``to_base``) need constant sizes, and the strings they can build, estimated from the
  sizes of their inputs, add up to at most ``MAX_BUILT_CHARS`` characters per row.
- String-distance functions (``levenshtein``, ``damerau_levenshtein``, ``jaro_*``,
  ``hamming``, ``jaccard``, ``mismatches``) take inputs of at most ``MAX_DISTANCE_CHARS``
  characters each.

Sizes are upper bounds: a literal has its own length, a warehouse text column is assumed to
hold at most ``COLUMN_CHARS`` characters (the widest demo column holds 1,445), a column named
like an alias in the statement is as large as that alias's expression, and anything that
aggregates strings or lists (``string_agg``, ``list``…) or a subquery without a known size is
unbounded. A refusal is a ``GuardError`` with code ``sql_resource_limit`` naming the function
and the limit.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from chatbi.errors import GuardError

__all__ = [
    "check_limits", "MAX_SERIES_ROWS", "MAX_LIST_ELEMENTS", "MAX_BUILT_CHARS",
    "MAX_DISTANCE_CHARS", "COLUMN_CHARS",
]

MAX_SERIES_ROWS = 1_000_000
MAX_LIST_ELEMENTS = 10_000
MAX_BUILT_CHARS = 10_000
MAX_DISTANCE_CHARS = 2_000
COLUMN_CHARS = 2_000
UNBOUNDED = 10**15  # "no bound known"; large enough that every limit refuses it

_SERIES_NAMES = frozenset({"range", "generate_series"})
_DISTANCE_NAMES = frozenset({
    "levenshtein", "damerau_levenshtein", "hamming", "jaccard", "jaro_similarity",
    "jaro_winkler_similarity", "mismatches", "editdist3",
})
_BUILDER_NAMES = frozenset({"repeat", "lpad", "rpad", "printf", "format", "bar", "to_base"})
_COLLECTING_NAMES = frozenset({
    "string_agg", "group_concat", "listagg", "list", "array_agg", "histogram", "array_concat_agg",
})
_COLLECTING_TYPES = tuple(
    cls for cls in (getattr(exp, n, None) for n in (
        "GroupConcat", "ArrayAgg", "ArrayUniqueAgg", "ArrayConcatAgg", "ListAgg",
    )) if isinstance(cls, type)
)
_SERIES_TYPES = tuple(
    cls for cls in (getattr(exp, n, None) for n in ("GenerateSeries", "ExplodingGenerateSeries"))
    if isinstance(cls, type)
)
_DISTANCE_TYPES = tuple(
    cls for cls in (getattr(exp, n, None) for n in ("Levenshtein", "JarowinklerSimilarity"))
    if isinstance(cls, type)
)
_PRINTF_WIDTH = re.compile(r"%[-+ #0]*(\d+)?(?:\.(\d+))?")
_DYNAMIC_WIDTH = re.compile(r"%[-+ #0]*(?:\*|\d*\.\*)|\{[^{}]*:[^{}]*\{")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*?:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_UNIT_MONTHS = {"month": 1, "year": 12, "quarter": 3, "decade": 120}


def _refuse(zh: str, en: str) -> GuardError:
    return GuardError(f"{zh} / {en}", code="sql_resource_limit")


def _name(node: exp.Expr) -> str:
    if isinstance(node, _SERIES_TYPES):
        return "range" if node.args.get("is_end_exclusive") else "generate_series"
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key


def check_limits(root: exp.Expr) -> None:
    """Refuse ``root`` when a generator, string builder or distance could grow without bound."""
    _check_recursion(root)
    sizes = _Sizes(root)
    list_elements = 0
    built = 0
    for node in root.walk():
        if not isinstance(node, exp.Func):
            continue
        name = _name(node)
        if isinstance(node, _SERIES_TYPES) or name in _SERIES_NAMES:
            count = _series_length(node, name)
            in_table = isinstance(node.parent, exp.Table) and node.arg_key == "this"
            if in_table and count > MAX_SERIES_ROWS:
                raise _refuse(
                    f"{name}() 最多生成 {MAX_SERIES_ROWS:,} 行，这里是 {count:,} 行",
                    f"{name}() may generate at most {MAX_SERIES_ROWS:,} rows, this one {count:,}",
                )
            if not in_table:
                list_elements += count
                if list_elements > MAX_LIST_ELEMENTS:
                    raise _refuse(
                        f"列表值最多 {MAX_LIST_ELEMENTS:,} 个元素（{name}() 生成 {count:,} 个）",
                        f"list values may hold at most {MAX_LIST_ELEMENTS:,} elements in one "
                        f"statement ({name}() makes {count:,})",
                    )
        elif (isinstance(node, exp.Repeat | exp.Pad | exp.Format | exp.Replace | exp.RegexpReplace)
              or name in _BUILDER_NAMES):
            size = sizes.growth(node)
            if size == 0:
                continue
            built = min(UNBOUNDED, built + size)
            if built > MAX_BUILT_CHARS:
                shown = "无法确定" if size >= UNBOUNDED else f"{size:,}"
                shown_en = "no known bound" if size >= UNBOUNDED else f"{size:,}"
                raise _refuse(
                    f"{name}() 生成的字符串过长（上限每行共 {MAX_BUILT_CHARS:,} 个字符，这里 {shown}），"
                    "长度参数必须是常量",
                    f"{name}() builds too long a string (at most {MAX_BUILT_CHARS:,} characters "
                    f"per row in all, this one {shown_en}); sizes must be constants",
                )
        elif isinstance(node, _DISTANCE_TYPES) or name in _DISTANCE_NAMES:
            for arg in _arguments(node):
                size = sizes.of(arg)
                if size > MAX_DISTANCE_CHARS:
                    shown = "无法确定" if size >= UNBOUNDED else f"{size:,}"
                    shown_en = "no known bound" if size >= UNBOUNDED else f"{size:,}"
                    raise _refuse(
                        f"{name}() 的输入最多 {MAX_DISTANCE_CHARS:,} 个字符（这里 {shown}）",
                        f"{name}() takes inputs of at most {MAX_DISTANCE_CHARS:,} characters "
                        f"(this one: {shown_en})",
                    )


_GROWING_TYPES = tuple(
    cls for cls in (getattr(exp, n, None) for n in (
        "DPipe", "Concat", "ConcatWs", "Repeat", "Pad", "Replace", "RegexpReplace", "Array",
        "ArrayConcat", "ArrayAgg", "GroupConcat", "Format", "ArrayToString", "Translate",
    )) if isinstance(cls, type)
)
_GROWING_NAMES = _BUILDER_NAMES | _COLLECTING_NAMES | frozenset({
    "concat", "concat_ws", "list_concat", "array_concat", "list_cat", "list_value", "array_push_back",
    "list_append", "array_append", "list_prepend", "array_prepend",
})


def _check_recursion(root: exp.Expr) -> None:
    """A recursive CTE may not build strings or lists: each step could double them
    (``s || s`` reaches 2 GB in 31 steps, faster than any interrupt)."""
    for with_ in root.find_all(exp.With):
        if not with_.args.get("recursive"):
            continue
        for cte in with_.expressions:
            for node in cte.this.walk():
                if not isinstance(node, exp.Expr):
                    continue
                if isinstance(node, _GROWING_TYPES) or (
                        isinstance(node, exp.Func) and _name(node) in _GROWING_NAMES):
                    name = _name(node)
                    raise _refuse(
                        f"递归查询中不能拼接字符串或列表（{name}），每一步都可能翻倍",
                        f"a recursive query may not build strings or lists ({name}): each step "
                        "could double them",
                    )


def _arguments(node: exp.Expr) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    for value in node.args.values():
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, exp.Expr) and not isinstance(child, exp.DataType):
                out.append(child)
    return out


# -- generators ---------------------------------------------------------------------------


def _series_length(node: exp.Func, name: str) -> int:
    """How many elements ``range``/``generate_series`` makes; refuses non-constant bounds."""
    if isinstance(node, _SERIES_TYPES):
        args = [node.args.get("start"), node.args.get("end"), node.args.get("step")]
        exclusive = bool(node.args.get("is_end_exclusive"))
        if args[0] is not None and args[1] is None:
            args = [None, args[0], args[2]]
    else:
        raw = list(node.expressions)
        exclusive = name == "range"
        args = [None, raw[0], None] if len(raw) == 1 else (raw + [None, None, None])[:3]
    values = [_constant(a) if a is not None else None for a in args]
    if any(a is not None and v is None for a, v in zip(args, values, strict=True)):
        raise _refuse(
            f"{name}() 的起止与步长必须是常量（数字或日期）",
            f"the bounds and step of {name}() must be constants (numbers or dates)",
        )
    start, end, step = values
    if end is None:
        raise _refuse(f"{name}() 缺少终点", f"{name}() needs an end")
    if isinstance(end, (date, datetime)):
        return _date_series_length(start, end, step, exclusive, name)
    if not isinstance(end, Decimal) or (start is not None and not isinstance(start, Decimal)):
        raise _refuse(f"{name}() 的起止类型不一致", f"the bounds of {name}() do not match")
    first = start if start is not None else Decimal(0)
    delta = step if step is not None else Decimal(1)
    if not isinstance(delta, Decimal) or delta == 0:
        return 0  # DuckDB refuses a zero or non-numeric step itself
    span = (end - first) / delta
    if span < 0:
        return 0
    count = math.ceil(span) if exclusive else math.floor(span) + 1
    return int(min(count, UNBOUNDED))


def _date_series_length(
    start: object, end: date, step: object, exclusive: bool, name: str
) -> int:
    if not isinstance(start, (date, datetime)) or not isinstance(step, tuple):
        raise _refuse(
            f"日期的 {name}() 需要常量起点和常量间隔（INTERVAL）",
            f"a date {name}() needs a constant start and a constant INTERVAL step",
        )
    months, seconds = step
    if months == 0 and seconds == 0:
        return 0
    if months:
        span = ((end.year - start.year) * 12 + end.month - start.month) / months
    else:
        first = start if isinstance(start, datetime) else datetime.combine(start, datetime.min.time())
        last = end if isinstance(end, datetime) else datetime.combine(end, datetime.min.time())
        span = (last - first) / timedelta(seconds=seconds)
    if span < 0:
        return 0
    return int(min(math.floor(span) + (0 if exclusive else 1), UNBOUNDED))


def _constant(node: exp.Expr) -> object | None:
    """A constant's value: Decimal, date, datetime or an interval (months, seconds); else None."""
    if isinstance(node, exp.Paren):
        return _constant(node.this)
    if isinstance(node, exp.Neg):
        inner = _constant(node.this)
        return -inner if isinstance(inner, Decimal) else None
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return Decimal(node.name)
        except InvalidOperation:
            return None
    if isinstance(node, exp.Cast | exp.TryCast) and isinstance(node.this, exp.Literal):
        kind = node.to.this
        text = node.this.name.strip()
        try:
            if kind == exp.DataType.Type.DATE:
                return date.fromisoformat(text[:10])
            if node.to.is_type(*exp.DataType.TEMPORAL_TYPES):
                return datetime.fromisoformat(text)
            if node.to.is_type(*exp.DataType.NUMERIC_TYPES):
                return Decimal(text)
        except (ValueError, InvalidOperation):
            return None
        return None
    if isinstance(node, exp.Interval):
        return _interval(node)
    return None


def _interval(node: exp.Interval) -> tuple[int, int] | None:
    this, unit = node.this, node.args.get("unit")
    text = this.name if isinstance(this, exp.Literal) else None
    if text is None:
        return None
    parts = text.strip().split()
    if unit is not None:
        parts = [parts[0] if parts else "", str(unit.name)] if len(parts) <= 1 else parts
    if len(parts) != 2:
        return None
    try:
        amount = int(parts[0])
    except ValueError:
        return None
    word = parts[1].lower().rstrip("s")
    if word in _UNIT_MONTHS:
        return (amount * _UNIT_MONTHS[word], 0)
    if word in _UNIT_SECONDS:
        return (0, amount * _UNIT_SECONDS[word])
    return None


# -- sizes of strings -----------------------------------------------------------------------


class _Sizes:
    """Upper bounds on the characters an expression's value can hold (``UNBOUNDED`` if none)."""

    def __init__(self, root: exp.Expr):
        self.aliases: dict[str, list[exp.Expr]] = {}
        for alias in root.find_all(exp.Alias):
            self.aliases.setdefault(str(alias.alias).lower(), []).append(alias.this)
        for table_alias in root.find_all(exp.TableAlias):
            source = table_alias.parent
            projections = _projections(source.this) if isinstance(source, exp.Subquery) else []
            for ident in table_alias.columns or []:
                named = str(ident.name).lower()
                self.aliases.setdefault(named, []).extend(projections or [exp.Null()])
                if not projections:
                    self.aliases[named].append(exp.Subquery())  # unknown: unbounded
        self.visiting: set[str] = set()

    def growth(self, node: exp.Expr) -> int:
        """Characters a builder may add: all it makes, or for a replacement what it adds."""
        if isinstance(node, exp.Replace | exp.RegexpReplace):
            replacement = self.of(node.args.get("replacement"))
            return 0 if replacement <= 1 else self.of(node)
        return self.of(node)

    def of(self, node: exp.Expr | None) -> int:
        if node is None:
            return 0
        return min(self._size(node), UNBOUNDED)

    def _size(self, node: exp.Expr) -> int:
        if isinstance(node, exp.Literal):
            return len(node.name) if node.is_string else max(len(node.name), 20)
        if isinstance(node, exp.Null | exp.Boolean):
            return 5
        if isinstance(node, exp.Column):
            return self._column(str(node.name).lower())
        if isinstance(node, exp.Subquery):
            inner = node.this
            projections = _projections(inner) if inner is not None else []
            return max((self.of(p) for p in projections), default=UNBOUNDED)
        name = _name(node)
        if isinstance(node, _COLLECTING_TYPES) or name in _COLLECTING_NAMES:
            return UNBOUNDED
        if isinstance(node, exp.Repeat):
            times = _count(node.args.get("times"))
            return UNBOUNDED if times is None else self.of(node.this) * times
        if isinstance(node, exp.Pad):
            width = _count(node.expression)
            return UNBOUNDED if width is None else width
        if name in ("printf", "format") or isinstance(node, exp.Format):
            return self._formatted(node)
        if name == "bar":
            args = list(node.expressions)
            width = _count(args[3]) if len(args) > 3 else 80
            return UNBOUNDED if width is None else width
        if name == "to_base":
            args = list(node.expressions)
            width = _count(args[2]) if len(args) > 2 else 0
            return UNBOUNDED if width is None else max(width, 64)
        if isinstance(node, _SERIES_TYPES) or name in _SERIES_NAMES:
            return UNBOUNDED  # a list's text: its elements are bounded by check_limits
        if isinstance(node, exp.Replace | exp.RegexpReplace):
            source = self.of(node.this)
            replacement = node.args.get("replacement")
            return source * max(1, self.of(replacement)) + self.of(replacement)
        if isinstance(node, exp.Concat | exp.ConcatWs | exp.DPipe | exp.ArrayToString):
            return sum(self.of(child) for child in _arguments(node))
        children = _arguments(node)
        return max((self.of(child) for child in children), default=20)

    def _column(self, name: str) -> int:
        if name not in self.aliases or name in self.visiting:
            return COLUMN_CHARS
        self.visiting.add(name)
        try:
            return max([COLUMN_CHARS] + [self.of(e) for e in self.aliases[name]])
        finally:
            self.visiting.discard(name)

    def _formatted(self, node: exp.Expr) -> int:
        args = _arguments(node)
        if not args or not isinstance(args[0], exp.Literal) or not args[0].is_string:
            return UNBOUNDED
        pattern = args[0].name
        if _DYNAMIC_WIDTH.search(pattern):  # a width taken from an argument: no constant size
            return UNBOUNDED
        widths = _PRINTF_WIDTH.findall(pattern) + _FORMAT_WIDTH.findall(pattern)
        padding = sum(int(w or 0) + int(p or 0) for w, p in widths)
        return len(pattern) + padding + sum(self.of(a) for a in args[1:])


def _projections(query: exp.Expr | None) -> list[exp.Expr]:
    if isinstance(query, exp.Select):
        return list(query.expressions)
    if isinstance(query, exp.Subquery):
        return _projections(query.this)
    if query is not None and hasattr(query, "left") and hasattr(query, "right"):
        return _projections(query.left) + _projections(query.right)
    return []


def _count(node: exp.Expr | None) -> int | None:
    """A constant non-negative size argument, else None."""
    value = _constant(node) if node is not None else None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return max(0, int(value))
    return None

