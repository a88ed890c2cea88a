"""Compile a ``SemanticQuery`` into SQL: a sqlglot tree, rendered for one dialect.

How (the MetricFlow way, trimmed):

1. Every requested metric is expanded into an expression over *measures* (ratios become
   ``num / NULLIF(den, 0)``, derived metrics are expanded from their component metrics).
2. Each measure is placed on the first semantic model that defines it and reaches every
   dimension the query needs (``gmv`` by region uses ``orders``; by category it uses
   ``order_lines``, where an order's amount is allocated to its items).
3. Measures are aggregated per model in one CTE each (``agg_<model>``), at the grain of
   the requested dimensions, joining only many-to-one dimension tables — so nothing is
   counted twice. Measures that count "values occurring at least N times" get their own
   two-level CTE.
4. The CTEs are joined on the dimension columns (a union of their keys, then null-safe
   left joins), metrics are computed from the measures, and the comparison period, share
   of total, metric filters, order and limit are applied on top.

Result columns (docs/semantic_layer.md): dimensions by name, the time bucket by its grain
(period-start DATE), metrics by name, ``<metric>_previous``, ``<metric>_growth``,
``<metric>_share``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import cast

import sqlglot
from sqlglot import exp

from chatbi.errors import CompileError
from chatbi.semantic.filters import dimension_condition, metric_condition, operand
from chatbi.semantic.graph import DimensionPath, Hop, JoinGraph
from chatbi.semantic.models import Measure, Metric, SemanticLayer, SemanticModel
from chatbi.semantic.periods import Shift, comparison_range, comparison_shift
from chatbi.semantic.query import SemanticQuery, TimeRange
from chatbi.semantic.sqlexpr import (
    aggregate,
    as_double,
    date_literal,
    divide,
    nullif_zero,
    parse_expr,
    parse_select,
    qualify,
    safe_divisions,
)

SUPPORTED_DIALECTS = ("duckdb", "postgres", "trino", "spark")
_COUNTING = ("count", "count_distinct")


@dataclass(frozen=True)
class CompiledQuery:
    """The SQL for one SemanticQuery, and what its result columns are.

    ``dimensions`` are the non-time dimension columns; ``time_column`` is the time bucket
    column (named after the grain) or None; ``columns`` is every result column in order.
    """

    sql: str
    dialect: str
    columns: list[str]
    metrics: list[str]
    dimensions: list[str]
    time_column: str | None
    time_range: TimeRange | None = None
    previous_range: TimeRange | None = None
    notes: tuple[str, ...] = ()
    tree: exp.Expression | None = field(default=None, repr=False, compare=False)

    def to_dialect(self, dialect: str) -> str:
        """The same query rendered for another dialect."""
        if self.tree is None:
            return sqlglot.transpile(self.sql, read=self.dialect, write=dialect, pretty=True)[0]
        return render_sql(self.tree, dialect)


@dataclass
class _Ref:
    """A measure placed on a model, with the time dimension it is filtered/bucketed by."""

    key: str
    measure: Measure
    model: SemanticModel
    time_dim: str | None
    metric: str


@dataclass
class _Group:
    """One aggregate CTE: the refs of one model and time dimension."""

    name: str
    model: SemanticModel
    time_dim: str | None
    refs: list[_Ref] = field(default_factory=list)
    special: bool = False  # a min_occurrences measure (own two-level CTE)


def _err(message_zh: str, message_en: str) -> CompileError:
    return CompileError(f"{message_zh} / {message_en}")


GROUPING_COLUMN = "grouping_id"  # with grouping sets: GROUPING(dimensions…), one value per set
PERIOD_COLUMN = "period_label"  # with labelled periods: which period a row aggregates


def grouping_mask(dimensions: list[str], grouping_set: list[str] | tuple[str, ...]) -> int:
    """The ``grouping_id`` of a set's rows: bit i (from the left) is 1 for a dimension the set
    leaves out (SQL ``GROUPING(d1, …, dn)``)."""
    n = len(dimensions)
    return sum(1 << (n - 1 - i) for i, name in enumerate(dimensions) if name not in grouping_set)


class _Compiler:
    def __init__(self, query: SemanticQuery, layer: SemanticLayer, as_of: date,
                 grouping_sets: list[list[str]] | None = None,
                 periods: list[tuple[str, TimeRange]] | None = None):
        self.q = query
        self.layer = layer
        self.as_of = as_of
        self.graph = JoinGraph.of(layer)
        self.notes: list[str] = []
        self._check_names()
        self._setup_time()
        self.grouping_sets = self._check_grouping_sets(grouping_sets)
        self.periods = self._check_periods(periods)
        self.filter_dims = [f.dimension for f in query.filters]
        self.requested = list(dict.fromkeys(query.metrics))
        extra = [h.metric for h in query.having] + [m for m in self._order_metrics() if m]
        self.hidden = [m for m in dict.fromkeys(extra) if m not in self.requested]
        self.all_metrics = self.requested + self.hidden

    # ---- checks and time set-up ----------------------------------------------------------
    def _label(self, name: str) -> str:
        try:
            return self.layer.metric(name).label
        except KeyError:
            return name

    def _dim_label(self, name: str) -> str:
        host = self.graph.host_of(name)
        return host[1].label if host else name

    def _check_names(self) -> None:
        q = self.q
        for name in list(q.metrics) + [h.metric for h in q.having]:
            if not self.layer.has_metric(name):
                raise _err(f"未知指标「{name}」", f"unknown metric {name!r}")
        for name in list(q.dimensions) + [f.dimension for f in q.filters]:
            if self.graph.host_of(name) is None:
                raise _err(f"未知维度「{name}」", f"unknown dimension {name!r}")
        if q.time_dimension is not None:
            host = self.graph.host_of(q.time_dimension)
            if host is None or host[1].type != "time":
                raise _err(f"「{q.time_dimension}」不是时间维度", f"{q.time_dimension!r} is not a time dimension")

    def _setup_time(self) -> None:
        q = self.q
        dims = list(dict.fromkeys(q.dimensions))
        time_dims = [d for d in dims if self.graph.host_of(d)[1].type == "time"]  # type: ignore[index]
        if len(time_dims) > 1:
            raise _err("一次只能按一个时间维度分组", "group by at most one time dimension")
        self.time_group_dim = time_dims[0] if time_dims else None
        self.group_dims = [d for d in dims if d not in time_dims]
        self.grain = q.grain or ("day" if self.time_group_dim else None)
        self.bucket = self.grain
        self.bucket_position = dims.index(self.time_group_dim) if self.time_group_dim else 0
        if self.bucket and self.bucket in self.group_dims:
            raise _err(f"维度名「{self.bucket}」与时间粒度冲突", f"dimension {self.bucket!r} clashes with the grain")
        check_dim = self.time_group_dim or q.time_dimension
        if check_dim and self.grain:
            grains = self.graph.host_of(check_dim)[1].grains  # type: ignore[index]
            if grains and self.grain not in grains:
                raise _err(f"时间维度「{check_dim}」不支持按 {self.grain} 汇总",
                           f"time dimension {check_dim} has no grain {self.grain}")
        if q.comparison and q.time_range is None:
            raise _err("同比/环比需要一个时间范围", "a period comparison needs a time range")
        if q.time_range is not None and q.time_range.end < q.time_range.start:
            raise _err("时间范围的结束早于开始", "the time range ends before it starts")
        self.uses_metric_time = q.time_range is not None or (self.bucket is not None and not self.time_group_dim)

    def _check_grouping_sets(self, sets: list[list[str]] | None) -> list[list[str]] | None:
        """Grouping sets over the query's dimensions (one scan for several breakdowns); only
        for plain aggregates: no time buckets, comparison, share, having, limit or tags."""
        if sets is None:
            return None
        q = self.q
        sets = [list(dict.fromkeys(s)) for s in sets]
        if q.comparison or q.share_of_total or q.having or q.limit or self.bucket:
            raise _err("分组集不能与时间粒度、同比/环比、占比、筛选条件或条数限制同用",
                       "grouping sets work only without grain, comparison, share, having or limit")
        if not self.group_dims or {d for s in sets for d in s} != set(self.group_dims):
            raise _err("分组集必须正好覆盖查询的维度", "grouping sets must cover exactly the query's dimensions")
        for name in self.group_dims:
            if self.graph.host_of(name)[1].type == "tag":  # type: ignore[index]
                raise _err(f"标签维度「{self._dim_label(name)}」不能用于分组集",
                           f"tag dimension {name} cannot be in grouping sets (its rows are unnested)")
        return sets

    def _check_periods(self, periods: list[tuple[str, TimeRange]] | None) -> list[tuple[str, TimeRange]] | None:
        """Labelled, non-overlapping periods aggregated side by side in one scan (each row's
        ``period_label`` says which), with grouping sets; the query's time range must span them."""
        if periods is None:
            return None
        ranges = sorted((p for _, p in periods), key=lambda p: p.start)
        span = self.q.time_range
        if (self.grouping_sets is None or span is None or len({label for label, _ in periods}) != len(periods)
                or any(a.end >= b.start for a, b in zip(ranges, ranges[1:], strict=False))
                or span.start > ranges[0].start or span.end < ranges[-1].end):
            raise _err("分期汇总需要分组集、不重叠的时间段和覆盖它们的时间范围",
                       "labelled periods need grouping sets, disjoint periods and a time range spanning them")
        return list(periods)

    def _order_metrics(self) -> list[str | None]:
        out: list[str | None] = []
        for item in self.q.order_by:
            out.append(item.field if self.layer.has_metric(item.field) else None)
        return out

    # ---- metric expansion ----------------------------------------------------------------
    def _choose(self, measure: str, td: str | None, metric: str) -> tuple[SemanticModel, str | None]:
        candidates = self.layer.models_with_measure(measure)
        if not candidates:
            raise _err(f"指标「{self._label(metric)}」的度量 {measure} 不存在",
                       f"metric {metric} uses unknown measure {measure}")
        first_missing: list[str] | None = None
        for model in candidates:
            time_dim = self.q.time_dimension or td or model.default_time_dimension
            needed = list(self.group_dims) + self.filter_dims
            if self.time_group_dim:
                needed.append(self.time_group_dim)
            if self.uses_metric_time and time_dim:
                needed.append(time_dim)
            missing = [d for d in dict.fromkeys(needed) if self.graph.resolve(model.name, d) is None]
            if not missing:
                return model, (time_dim if self.uses_metric_time else None)
            if first_missing is None:
                first_missing = missing
        bad = (first_missing or ["?"])[0]
        host = self.graph.host_of(bad)
        if host is not None and host[1].type == "time" and bad != self.time_group_dim:
            raise _err(f"指标「{self._label(metric)}」({metric}) 不能按时间维度「{self._dim_label(bad)}」({bad}) 筛选",
                       f"metric {metric} cannot be filtered by time dimension {bad}")
        raise _err(f"指标「{self._label(metric)}」({metric}) 不能按「{self._dim_label(bad)}」({bad}) 拆分或筛选："
                   "它们不在可以关联的数据上",
                   f"metric {metric} cannot be broken down or filtered by dimension {bad}")

    def expand(self) -> dict[str, exp.Expression]:
        """Each needed metric as a tree over measure placeholders (``__ref__.<key>``)."""
        self.refs: dict[str, _Ref] = {}
        self._ref_ids: dict[tuple[str, str, str | None], str] = {}
        return {name: self._metric_tree(name, None, name, ()) for name in self.all_metrics}

    def _metric_tree(self, name: str, inherited_td: str | None, top: str,
                     stack: tuple[str, ...]) -> exp.Expression:
        if name in stack:
            raise _err(f"派生指标循环引用：{' -> '.join(stack + (name,))}",
                       f"derived metric cycle: {' -> '.join(stack + (name,))}")
        try:
            metric: Metric = self.layer.metric(name)
        except KeyError as exc:
            raise _err(f"未知指标「{name}」", f"unknown metric {name!r}") from exc
        td = metric.time_dimension or inherited_td
        if metric.type == "simple":
            return self._ref(metric.measure or "", td, top)
        if metric.type == "ratio":
            num = self._ref(metric.numerator or "", td, top)
            den = self._ref(metric.denominator or "", td, top)
            return divide(num, den)
        tree = parse_expr(metric.expr or "")

        def replace(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table:
                inner = self._metric_tree(node.name, td, top, stack + (name,))
                return exp.Paren(this=inner) if isinstance(inner, exp.Binary) else inner
            return node

        tree = tree.transform(replace, copy=False)
        return safe_divisions(tree)

    def _ref(self, measure_name: str, td: str | None, metric: str) -> exp.Expression:
        model, time_dim = self._choose(measure_name, td, metric)
        ident = (measure_name, model.name, time_dim)
        key = self._ref_ids.get(ident)
        if key is None:
            key = measure_name
            n = 2
            while key in self.refs:
                key = f"{measure_name}_{n}"
                n += 1
            measure = model.measure(measure_name)
            assert measure is not None
            self.refs[key] = _Ref(key, measure, model, time_dim, metric)
            self._ref_ids[ident] = key
            if self.q.time_range is not None and time_dim is None:
                self.notes.append(
                    f"「{self._label(metric)}」是当前快照，未按时间范围筛选 / "
                    f"{metric} is a current snapshot; the time range was not applied")
            if self.q.comparison and time_dim is None:
                raise _err(f"指标「{self._label(metric)}」是当前快照，不能做同比/环比",
                           f"metric {metric} is a current snapshot; it cannot be compared with another period")
            if self.bucket and not self.time_group_dim and time_dim is None:
                raise _err(f"指标「{self._label(metric)}」是快照指标，没有时间维度，不能按{self.bucket}看趋势",
                           f"metric {metric} is a snapshot without a time dimension; it has no {self.bucket} trend")
        return exp.column(key, table="__ref__")

    # ---- grouping into CTEs --------------------------------------------------------------
    def groups(self, prefix: str) -> list[_Group]:
        groups: list[_Group] = []
        index: dict[tuple[str, str | None], _Group] = {}
        used: set[str] = set()

        def name_for(base: str) -> str:
            name, n = base, 2
            while name in used:
                name = f"{base}_{n}"
                n += 1
            used.add(name)
            return name

        for ref in self.refs.values():
            if ref.measure.min_occurrences:
                groups.append(_Group(name_for(f"{prefix}agg_{ref.model.name}_{ref.measure.name}"),
                                     ref.model, ref.time_dim, [ref], special=True))
                continue
            gkey = (ref.model.name, ref.time_dim)
            group = index.get(gkey)
            if group is None:
                group = _Group(name_for(f"{prefix}agg_{ref.model.name}"), ref.model, ref.time_dim)
                index[gkey] = group
                groups.append(group)
            group.refs.append(ref)
        return groups

    # ---- one aggregate CTE ---------------------------------------------------------------
    def _relation(self, model: SemanticModel) -> exp.Expression:
        if model.table:
            table = exp.to_table(model.table)
            return table if model.table == model.name else cast(exp.Expression, table.as_(model.name))
        return exp.Subquery(this=parse_select(model.sql or ""), alias=exp.TableAlias(this=exp.to_identifier(model.name)))

    def _join_on(self, hop: Hop) -> exp.Expression:
        left = self.layer.model(hop.from_model).entity(hop.entity)
        right = self.layer.model(hop.to_model).entity(hop.entity)
        assert left is not None and right is not None
        return exp.EQ(this=qualify(parse_expr(left.expr), hop.from_model),
                      expression=qualify(parse_expr(right.expr), hop.to_model))

    def _dim_tree(self, path: DimensionPath) -> exp.Expression:
        return qualify(parse_expr(path.expr, self.as_of), path.host)

    def _bucket_tree(self, time_tree: exp.Expression, shift: Shift | None) -> exp.Expression:
        assert self.grain is not None
        if self.grain == "day":
            tree: exp.Expression = exp.cast(time_tree, "DATE")
        else:
            trunc = sqlglot.parse_one(f"DATE_TRUNC('{self.grain}', __t)", read="duckdb")
            trunc = trunc.transform(lambda n: time_tree if isinstance(n, exp.Column) and n.name == "__t" else n)
            tree = exp.cast(trunc, "DATE")
        if shift is not None:
            interval = exp.Interval(this=exp.Literal.string(str(shift.amount)), unit=exp.var(shift.unit))
            tree = exp.cast(exp.Add(this=tree, expression=interval), "DATE")
        return tree

    def cte(self, group: _Group, period: TimeRange | None, shift: Shift | None) -> exp.Select:
        model = group.model
        base = model.name
        needed: list[str] = []
        if self.time_group_dim:
            needed.append(self.time_group_dim)
        needed += self.group_dims + self.filter_dims
        if group.time_dim:
            needed.append(group.time_dim)
        paths: dict[str, DimensionPath] = {}
        for name in dict.fromkeys(needed):
            path = self.graph.resolve(base, name)
            if path is None:  # _choose guarantees reachability
                raise _err(f"无法从 {base} 关联到「{name}」", f"cannot reach {name} from {base}")
            paths[name] = path
        rank = self.graph.bfs_rank(base)
        hops = sorted({hop for p in paths.values() for hop in p.hops}, key=lambda h: rank[h.to_model])
        select = exp.select().from_(self._relation(model))
        for hop in hops:
            select = select.join(self._relation(self.layer.model(hop.to_model)), on=self._join_on(hop),
                                 join_type="left", copy=False)
        keys: list[tuple[str, exp.Expression]] = []
        if self.periods is not None:
            if not group.time_dim:
                raise _err("快照指标不能分期汇总", "a snapshot measure cannot be split by period")
            when = [exp.If(this=exp.Between(this=self._dim_tree(paths[group.time_dim]), low=date_literal(p.start),
                                            high=date_literal(p.end)), true=exp.Literal.string(label))
                    for label, p in self.periods]
            keys.append((PERIOD_COLUMN, exp.Case(ifs=when)))
        if self.bucket:
            time_name = self.time_group_dim or group.time_dim
            assert time_name is not None
            keys.append((self.bucket, self._bucket_tree(self._dim_tree(paths[time_name]), shift)))
        for name in self.group_dims:
            path = paths[name]
            if path.dimension.type == "tag":
                alias = f"{name}_values"
                unnest = exp.Unnest(expressions=[self._dim_tree(path)],
                                    alias=exp.TableAlias(this=exp.to_identifier(alias),
                                                         columns=[exp.to_identifier(name)]))
                select = select.join(unnest, join_type="cross", copy=False)
                keys.append((name, exp.column(name, table=alias)))
            else:
                keys.append((name, self._dim_tree(path)))
        conds: list[exp.Expression] = []
        if self.periods is not None and group.time_dim:
            inside = [exp.Between(this=self._dim_tree(paths[group.time_dim]), low=date_literal(p.start),
                                  high=date_literal(p.end)) for _, p in self.periods]
            conds.append(exp.Paren(this=exp.or_(*inside)) if len(inside) > 1 else inside[0])
        elif period is not None and group.time_dim:
            conds.append(exp.Between(this=self._dim_tree(paths[group.time_dim]),
                                     low=date_literal(period.start), high=date_literal(period.end)))
        for flt in self.q.filters:
            path = paths[flt.dimension]
            conds.append(dimension_condition(flt, self._dim_tree(path), path.dimension))
        if group.special:
            if self.grouping_sets is not None:
                raise _err("分组集不支持按出现次数计数的指标", "grouping sets do not support repeat-count measures")
            return self._special_cte(group, select, keys, conds)
        if self.group_dims and group.refs and all(ref.measure.filter for ref in group.refs):
            # every measure here ignores the rows its filter rejects: keep them out of the
            # groups too, or a group made only of such rows (users whose orders were all
            # cancelled have no profile segment) shows up as an extra row of zeros
            filters = list(dict.fromkeys(" ".join((ref.measure.filter or "").split()) for ref in group.refs))
            trees = [qualify(parse_expr(f, self.as_of), base) for f in filters]
            conds.append(trees[0] if len(trees) == 1 else cast(exp.Expression, exp.or_(*[exp.Paren(this=t) for t in trees])))
        projections = [tree.copy().as_(name) for name, tree in keys]
        money = money_measures(self.layer)
        projections += [aggregate(ref.measure, base, self.as_of, exact=ref.measure.name in money).as_(ref.key)
                        for ref in group.refs]
        select = select.select(*projections, copy=False)
        if conds:
            select = select.where(exp.and_(*conds), copy=False)
        if self.grouping_sets is not None:
            by_name = dict(keys)
            select = select.select(exp.Grouping(expressions=[tree.copy() for _, tree in keys]).as_(GROUPING_COLUMN),
                                   copy=False)
            lead = [PERIOD_COLUMN] if self.periods is not None else []
            sets = [exp.Tuple(expressions=[by_name[name].copy() for name in lead + s]) for s in self.grouping_sets]
            return select.group_by(exp.GroupingSets(expressions=sets), copy=False)
        if keys:
            select = select.group_by(*[tree.copy() for _, tree in keys], copy=False)
        return select

    def _special_cte(self, group: _Group, select: exp.Select, keys: list[tuple[str, exp.Expression]],
                     conds: list[exp.Expression]) -> exp.Select:
        """Count values of ``expr`` occurring at least N times per group (e.g. repeat buyers)."""
        ref = group.refs[0]
        measure = ref.measure
        base = group.model.name
        value = qualify(parse_expr(measure.expr, self.as_of), base)
        if measure.filter:
            conds = conds + [qualify(parse_expr(measure.filter, self.as_of), base)]
        if measure.occurrence_key:
            occ: exp.Expression = exp.Count(this=exp.Distinct(
                expressions=[qualify(parse_expr(measure.occurrence_key, self.as_of), base)]))
        else:
            occ = exp.Count(this=exp.Star())
        inner = select.select(*[tree.copy().as_(name) for name, tree in keys],
                              value.copy().as_("counted_value"), occ.as_("occurrences_count"), copy=False)
        conds = conds + [exp.Not(this=exp.Is(this=operand(value.copy()), expression=exp.Null()))]
        inner = inner.where(exp.and_(*conds), copy=False)
        inner = inner.group_by(*[tree.copy() for _, tree in keys], value.copy(), copy=False)
        outer = exp.select(*[exp.column(name, table="occurrences").as_(name) for name, _ in keys],
                           exp.Count(this=exp.Star()).as_(ref.key))
        outer = outer.from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("occurrences"))))
        outer = outer.where(exp.GTE(this=exp.column("occurrences_count", table="occurrences"),
                                    expression=exp.Literal.number(measure.min_occurrences or 2)))
        if keys:
            outer = outer.group_by(*[exp.column(name, table="occurrences") for name, _ in keys])
        return outer

    # ---- one period: CTEs joined, metrics computed ---------------------------------------
    def key_columns(self) -> list[str]:
        cols = list(self.group_dims)
        if self.bucket:
            cols.insert(min(self.bucket_position, len(cols)), self.bucket)
        if self.periods is not None:
            cols.insert(0, PERIOD_COLUMN)
        if self.grouping_sets is not None:
            cols.append(GROUPING_COLUMN)
        return cols

    def period(self, trees: dict[str, exp.Expression], prefix: str, period: TimeRange | None,
               shift: Shift | None) -> tuple[list[tuple[str, exp.Expression]], exp.Select]:
        groups = self.groups(prefix)
        ctes: list[tuple[str, exp.Expression]] = [(g.name, self.cte(g, period, shift)) for g in groups]
        keys = self.key_columns()
        where: dict[str, exp.Expression] = {}
        for group in groups:
            for ref in group.refs:
                col: exp.Expression = exp.column(ref.key, table=group.name)
                if len(groups) > 1 and ref.measure.agg in _COUNTING:
                    col = exp.Coalesce(this=col, expressions=[exp.Literal.number(0)])
                where[ref.key] = col
        if len(groups) == 1:
            source = groups[0].name
            select = exp.select(*[exp.column(k, table=source).as_(k) for k in keys]).from_(source)
        elif keys:
            keys_name = f"{prefix}dimension_keys"
            union: exp.Expression | None = None
            for group in groups:
                part = exp.select(*[exp.column(k, table=group.name) for k in keys]).from_(group.name)
                union = part if union is None else exp.union(union, part, distinct=True)
            assert union is not None
            ctes.append((keys_name, union))
            select = exp.select(*[exp.column(k, table=keys_name).as_(k) for k in keys]).from_(keys_name)
            for group in groups:
                on = exp.and_(*[exp.NullSafeEQ(this=exp.column(k, table=keys_name),
                                               expression=exp.column(k, table=group.name)) for k in keys])
                select = select.join(group.name, on=on, join_type="left", copy=False)
        else:
            select = exp.select().from_(groups[0].name)
            for group in groups[1:]:
                select = select.join(group.name, join_type="cross", copy=False)

        def fill(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.table == "__ref__":
                return where[node.name].copy()
            return node

        for name in self.all_metrics:
            select = select.select(trees[name].copy().transform(fill).as_(name), copy=False)
        return ctes, select

    # ---- the whole statement -------------------------------------------------------------
    def result_columns(self) -> list[str]:
        """The statement's columns: a share part adds up its dimension's rows; counted
        entities leave their own dimension and metrics for the count."""
        if self.q.count_as is not None and self.q.dimensions:
            entity = self.q.dimensions[-1]
            keys = [c for c in self.key_columns() if c != entity]
            return [*keys, self.q.count_as]
        if self.q.share_part is None:
            return self.output_columns()
        keys = [c for c in self.key_columns() if c != self.q.share_part.dimension]
        return keys + [c for name in self.requested for c in (name, f"{name}_share")]

    def output_columns(self) -> list[str]:
        cols = self.key_columns()
        for name in self.requested:
            cols.append(name)
            if self.q.comparison:
                cols += [f"{name}_previous", f"{name}_growth"]
            if self.q.share_of_total:
                cols.append(f"{name}_share")
        return cols

    def _order_field(self, name: str, available: list[str]) -> str:
        first = self.requested[0]
        aliases = {"growth": f"{first}_growth", "share": f"{first}_share", "previous": f"{first}_previous"}
        if name in available:
            return name
        if name in aliases and aliases[name] in available:
            return aliases[name]
        if name == self.time_group_dim or (name in ("day", "week", "month", "quarter", "year", "time")
                                           and self.bucket):
            return self.bucket or name
        raise _err(f"不能按「{name}」排序：它不在结果里", f"cannot order by {name!r}: it is not in the result")

    def _order(self, available: list[str], table: str | None) -> list[exp.Ordered]:
        items: list[tuple[str, bool]] = []
        for item in self.q.order_by:
            items.append((self._order_field(item.field, available), item.descending))
        if not items and not self.bucket and self.requested:
            items.append((self.requested[0], True))
        names = [n for n, _ in items]
        for col in self.key_columns():
            if col not in names:
                items.append((col, False))
                names.append(col)
        return [exp.Ordered(this=exp.column(n, table=table) if table else exp.column(n),
                            desc=desc, nulls_first=False) for n, desc in items]

    def build(self) -> tuple[exp.Expression, TimeRange | None]:
        trees = self.expand()
        q = self.q
        out_cols = self.output_columns()
        keys = self.key_columns()
        previous: TimeRange | None = None
        layered = bool(q.comparison or q.share_of_total)
        if not layered:
            ctes, select = self.period(trees, "", q.time_range, None)
            if q.having:
                conds = []
                for flt in q.having:
                    expr = next(p.this for p in select.expressions if p.alias_or_name == flt.metric)
                    conds.append(metric_condition(flt, expr.copy()))
                select = select.where(exp.and_(*conds), copy=False)
            visible = [p for p in select.expressions if p.alias_or_name in out_cols]
            hidden_order = {p.alias_or_name: p.this for p in select.expressions if p.alias_or_name not in out_cols}
            select.set("expressions", visible)
            order = self._order(out_cols + list(hidden_order), None)
            for ordered in order:
                if ordered.this.name in hidden_order:
                    ordered.set("this", hidden_order[ordered.this.name].copy())
            select = select.order_by(*order, copy=False)
        else:
            ctes = []
            if q.comparison:
                assert q.time_range is not None
                shift = comparison_shift(q.time_range, q.comparison, self.grain)
                previous = comparison_range(q.time_range, q.comparison, self.grain)
                cur_ctes, cur = self.period(trees, "cur_", q.time_range, None)
                prev_ctes, prev = self.period(trees, "prev_", previous, shift if self.bucket else None)
                ctes = cur_ctes + [("current_period", cur)] + prev_ctes + [("previous_period", prev)]
                source, compared = self._compare(keys, ctes)
                ctes.append((source, compared))
            else:
                period_ctes, select_all = self.period(trees, "", q.time_range, None)
                ctes = period_ctes + [("metric_values", select_all)]
                source = "metric_values"
            if q.share_of_total:
                shares = exp.select(exp.Star()).from_(source)
                partition = [exp.column(self.bucket)] if self.bucket and self.group_dims else []
                for name in self.requested:
                    window = exp.Window(this=exp.Sum(this=exp.column(name)), partition_by=partition or None)
                    shares = shares.select(divide(exp.column(name), window)
                                           .as_(f"{name}_share"), copy=False)
                ctes.append(("shares", shares))
                source = "shares"
            select = exp.select(*[exp.column(c, table=source).as_(c) for c in out_cols]).from_(source)
            if q.having:
                select = select.where(exp.and_(*[metric_condition(f, exp.column(f.metric, table=source))
                                                 for f in q.having]), copy=False)
            select = select.order_by(*self._order(out_cols + self.hidden, source), copy=False)
        if q.limit:
            select = select.limit(q.limit, copy=False)
        for name, body in ctes:
            select = select.with_(name, as_=body, copy=False)
        return select, previous

    def _compare(self, keys: list[str], ctes: list[tuple[str, exp.Expression]]) -> tuple[str, exp.Select]:
        cur, prev = "current_period", "previous_period"
        if keys:
            union = exp.union(exp.select(*[exp.column(k, table=cur) for k in keys]).from_(cur),
                              exp.select(*[exp.column(k, table=prev) for k in keys]).from_(prev), distinct=True)
            ctes.append(("compared_keys", union))
            select = exp.select(*[exp.column(k, table="compared_keys").as_(k) for k in keys]).from_("compared_keys")
            for side in (cur, prev):
                on = exp.and_(*[exp.NullSafeEQ(this=exp.column(k, table="compared_keys"),
                                               expression=exp.column(k, table=side)) for k in keys])
                select = select.join(side, on=on, join_type="left", copy=False)
        else:
            select = exp.select().from_(cur).join(prev, join_type="cross")
        for name in self.all_metrics:
            now, before = exp.column(name, table=cur), exp.column(name, table=prev)
            select = select.select(now.as_(name), before.copy().as_(f"{name}_previous"), copy=False)
            growth = exp.Div(this=as_double(exp.Paren(this=exp.Sub(this=now.copy(), expression=before.copy()))),
                             expression=nullif_zero(before.copy()))
            select = select.select(growth.as_(f"{name}_growth"), copy=False)
        return "compared", select


def money_measures(layer: SemanticLayer) -> frozenset[str]:
    """Measures a currency metric reads (its measure, a ratio's numerator): their sums are
    computed exactly (``aggregate(exact=True)``). A derived currency metric's money parts are
    currency metrics of their own, so they are covered too."""
    cache = layer.cache()
    found = cache.get("money_measures")
    if found is None:
        names = set()
        for metric in layer.metrics:
            if metric.format != "currency":
                continue
            name = metric.measure if metric.type == "simple" else metric.numerator if metric.type == "ratio" else None
            if name:
                names.add(name)
        found = cache["money_measures"] = frozenset(names)
    return found  # type: ignore[no-any-return]


def _part_of_whole(whole: exp.Expression, query: SemanticQuery, layer: SemanticLayer,
                   columns: list[str]) -> exp.Select:
    """沉睡用户里男性占几成 / what share of orders came from 小红书: the breakdown's rows of the
    part, added up — each metric and its share of the whole."""
    part = query.share_part
    assert part is not None
    if not query.share_of_total or part.dimension not in query.dimensions or query.comparison or query.limit:
        raise CompileError("「占比」的部分必须是按它的维度拆分的占比查询 / a share part needs a share-of-total "
                           "breakdown by its dimension, without comparison or limit")
    _, dim = layer.dimension(part.dimension)
    keys = [c for c in columns if not any(c in (m, f"{m}_share") for m in query.metrics)]  # the other groups
    select = exp.select(*[exp.column(k, table="whole").as_(k) for k in keys])
    for name in query.metrics:
        for column in (name, f"{name}_share"):
            select = select.select(exp.Sum(this=exp.column(column, table="whole")).as_(column), copy=False)
    condition = dimension_condition(part, exp.column(part.dimension, table="whole"), dim)
    select = select.from_(exp.Subquery(this=whole, alias=exp.TableAlias(this=exp.to_identifier("whole"))))
    select = select.where(condition, copy=False)
    if keys:
        select = select.group_by(*[exp.column(k, table="whole") for k in keys], copy=False)
        select = select.order_by(*[exp.column(k, table="whole") for k in keys], copy=False)
    return select


def measure_sources(query: SemanticQuery, layer: SemanticLayer, *, as_of: date) -> tuple[tuple[str, str, str], ...]:
    """(measure, model, time dimension) of every measure ``query`` reads: two queries with the
    same sources and filters aggregate the same rows, so their breakdowns can share one scan
    (``grouping_sets``). Raises ``CompileError`` as ``compile_query`` would."""
    compiler = _Compiler(query, layer, as_of)
    compiler.expand()
    return tuple(sorted((ref.measure.name, ref.model.name, ref.time_dim or "") for ref in compiler.refs.values()))


def periods_in(time_range: TimeRange, grain: str) -> float:
    """How many days, weeks, months… the range spans (the divisor of a per-period average)."""
    days = (time_range.end - time_range.start).days + 1
    if grain == "day":
        return float(days)
    if grain == "week":
        return days / 7
    months = (time_range.end.year - time_range.start.year) * 12 + time_range.end.month - time_range.start.month + 1
    return {"month": float(months), "quarter": months / 3, "year": months / 12}[grain]


def _per_period(whole: exp.Expression, query: SemanticQuery, columns: list[str]) -> exp.Select:
    """平均每天卖多少钱 / orders per day on average: the range's total over its number of days
    (weeks, months…), so days without any activity count as zero."""
    if query.time_range is None or query.grain or query.comparison or query.share_of_total:
        raise CompileError("「平均每天」需要一个时间范围，且不能同时看趋势、对比或占比 / a per-period average needs "
                           "a time range, without a trend, comparison or share")
    count = periods_in(query.time_range, query.per_period or "day")
    select = exp.select(*[
        (exp.Div(this=as_double(exp.column(c, table="whole")), expression=exp.Literal.number(round(count, 6))).as_(c)
         if c in query.metrics else exp.column(c, table="whole").as_(c)) for c in columns])
    return select.from_(exp.Subquery(this=whole, alias=exp.TableAlias(this=exp.to_identifier("whole"))))


def _count_entities(whole: exp.Expression, query: SemanticQuery, columns: list[str]) -> exp.Select:
    """下单3次以上的用户有多少 / people who ordered 3+ times: the entities (the last
    dimension) whose metrics pass ``having``, counted per the other dimensions."""
    if not query.dimensions or not query.having or query.limit or query.share_of_total or query.comparison:
        raise CompileError("「满足条件的对象有多少」需要按对象分组和条件 / counting entities needs the entity "
                           "dimension and a condition, without limit, share or comparison")
    assert query.count_as is not None
    entity = query.dimensions[-1]
    keys = [c for c in columns if c not in query.metrics and c != entity]
    select = exp.select(*[exp.column(k, table="whole").as_(k) for k in keys])
    select = select.select(exp.Count(this=exp.Star()).as_(query.count_as), copy=False)
    select = select.from_(exp.Subquery(this=whole, alias=exp.TableAlias(this=exp.to_identifier("whole"))))
    if keys:
        select = select.group_by(*[exp.column(k, table="whole") for k in keys], copy=False)
        select = select.order_by(*[exp.column(k, table="whole") for k in keys], copy=False)
    return select


_NULL_KEY = "\u0001<null>\u0001"


def render_sql(tree: exp.Expression, dialect: str) -> str:
    """The statement as ``dialect`` SQL.

    PostgreSQL cannot hash-join on ``IS NOT DISTINCT FROM``: the null-safe joins of the
    per-model CTEs on their dimension keys became nested loops (repurchase rate by product on
    the tiny demo: over a minute). There the join keys are compared as text with NULL mapped
    to a marker no key holds, ``COALESCE(CAST(a AS TEXT), marker) = COALESCE(…)``, which
    means the same and hashes.
    """
    if dialect != "postgres":
        return tree.sql(dialect=dialect, pretty=True)

    def hashable(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.NullSafeEQ) and node.find_ancestor(exp.Join) is not None:
            sides = [exp.Coalesce(this=exp.cast(side.copy(), "TEXT"), expressions=[exp.Literal.string(_NULL_KEY)])
                     for side in (node.this, node.expression)]
            return exp.EQ(this=sides[0], expression=sides[1])
        return node

    return tree.copy().transform(hashable).sql(dialect=dialect, pretty=True)


def compile_query(query: SemanticQuery, layer: SemanticLayer, *, as_of: date,
                  dialect: str = "duckdb", grouping_sets: list[list[str]] | None = None,
                  periods: list[tuple[str, TimeRange]] | None = None) -> CompiledQuery:
    """Compile ``query`` to SQL for ``dialect`` (duckdb, postgres, trino, spark).

    ``grouping_sets`` (subsets of ``query.dimensions``, ``[]`` for the total) computes several
    breakdowns in one scan: ``GROUP BY GROUPING SETS``, plus a ``grouping_id`` column
    (``grouping_mask``) telling each row's set; the why-analysis reads all its segments so.
    ``periods`` (labelled, disjoint ranges inside ``query.time_range``, with ``grouping_sets``)
    aggregates each period apart in the same scan, its label in a leading ``period_label``
    column that every set also groups by (so it is the first of ``grouping_mask``'s dimensions).

    Raises ``CompileError`` (code ``compile_error``) with a user-facing message when a
    metric or dimension is unknown, a metric cannot be broken down by a dimension, etc.
    """
    if dialect not in SUPPORTED_DIALECTS:
        raise CompileError(f"不支持的 SQL 方言 {dialect} / unsupported dialect {dialect!r}")
    compiler = _Compiler(query, layer, as_of, grouping_sets, periods)
    tree, previous = compiler.build()
    if query.share_part is not None:
        tree = _part_of_whole(tree, query, layer, compiler.result_columns())
    if query.per_period is not None:
        tree = _per_period(tree, query, compiler.result_columns())
    if query.count_as is not None:
        tree = _count_entities(tree, query, compiler.output_columns())
    return CompiledQuery(
        sql=render_sql(tree, dialect),
        dialect=dialect,
        columns=compiler.result_columns(),
        metrics=list(compiler.requested),
        dimensions=list(compiler.group_dims),
        time_column=compiler.bucket,
        time_range=query.time_range,
        previous_range=previous,
        notes=tuple(dict.fromkeys(compiler.notes)),
        tree=tree,
    )
