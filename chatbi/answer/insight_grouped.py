"""The why-analysis in a few grouped scans instead of one query per dimension and period.

``collect`` (``insight_data``) asks its ``Runner`` for the metric by each candidate dimension
in the base and the current period, plus the totals: 20–28 statements, each a scan of the
orders. ``GroupedRunner`` answers those requests from one ``GROUP BY GROUPING SETS``
statement (``compile_query(grouping_sets=…, periods=…)``): every set is one candidate's
breakdown, ``()`` the total, and both periods are aggregated side by side in the same scan
when they have the same filters and do not overlap (else one statement per period).
Requests it cannot answer so go to the ordinary ``Runner``.

The numbers are the same as the separate statements': candidates are grouped only when
their separate statements would read the same measures from the same models
(``measure_sources``; GMV by region reads ``orders``, by category the allocated
``order_lines``), so each set aggregates exactly the rows its own statement would; each set's
rows keep that statement's order and row limit; its rows are turned into a frame by the same
``QueryResult.to_frame``. A grouped statement that cannot be compiled or guarded (a
dimension the role may not read), that the guard gives a per-group condition (a merchant
role's minimum number of users per group, which would then also drop the sets without user
columns), or whose result is cut off falls back to the separate statements, which skip such
a dimension with a note as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from chatbi.answer.insight_data import Runner
from chatbi.answer.insight_plan import USER_COHORT, InsightPlan, period_filters
from chatbi.errors import ChatBIError
from chatbi.semantic.compiler import (
    GROUPING_COLUMN,
    PERIOD_COLUMN,
    compile_query,
    grouping_mask,
    measure_sources,
)
from chatbi.semantic.query import Filter, SemanticQuery, TimeRange
from chatbi.sql.engines import guard_options
from chatbi.sql.executor import QueryResult
from chatbi.sql.guard import guard_sql

_Key = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[date, date] | None]


def _key(metrics: list[str], dimensions: list[str], filters: list[Filter], period: TimeRange | None) -> _Key:
    return (tuple(metrics), tuple(dimensions), tuple(f.model_dump_json() for f in filters),
            (period.start, period.end) if period is not None else None)


@dataclass
class _Pending:
    """Breakdowns a grouped scan may answer: of one period, or of both periods of a plan when
    they have the same filters and do not overlap (one scan, a ``period_label`` per row)."""

    metrics: list[str]
    periods: list[tuple[TimeRange, list[Filter]]]
    sets: list[tuple[str, ...]]
    fetched: bool = False


def _disjoint(a: TimeRange, b: TimeRange) -> bool:
    return a.end < b.start or b.end < a.start


@dataclass
class GroupedRunner(Runner):
    """A ``Runner`` that serves a plan's per-dimension breakdowns from grouped scans."""

    _pending: dict[_Key, _Pending] = field(default_factory=dict)
    _served: dict[_Key, tuple[pd.DataFrame, bool]] = field(default_factory=dict)

    def expect(self, plan: InsightPlan, *, with_totals: bool = True) -> None:
        """Register the breakdowns ``collect`` will ask for (and, ``with_totals``, the totals),
        so the first of them fetches all of them at once."""
        metrics = [plan.shape.metric] + ([plan.shape.weight_metric] if plan.shape.weight_metric else [])
        sets = [tuple(c.columns) for c in plan.candidates if c.name != USER_COHORT]
        sets = list(dict.fromkeys(sets)) + ([()] if with_totals else [])
        base, current = plan.periods.base, plan.periods.current
        periods = [(base, period_filters(plan, base)), (current, period_filters(plan, current))]
        same_filters = [f.model_dump_json() for f in periods[0][1]] == [f.model_dump_json() for f in periods[1][1]]
        groups = [periods] if same_filters and _disjoint(base, current) else [[p] for p in periods]
        for group in groups:
            pending = _Pending(metrics, group, sets)
            for period, filters in group:
                for grouping_set in sets:
                    self._pending.setdefault(_key(metrics, list(grouping_set), filters, period), pending)

    def frame(self, query: SemanticQuery) -> tuple[pd.DataFrame, bool]:
        key = _key(list(query.metrics), list(query.dimensions), list(query.filters), query.time_range)
        pending = self._pending.get(key)
        if pending is not None and not pending.fetched and not query.comparison and not query.limit:
            pending.fetched = True
            self._fetch(pending)
        served = self._served.pop(key, None)
        if served is not None:
            return served
        return super().frame(query)

    # -- grouped scans ----------------------------------------------------------------------
    def _fetch(self, pending: _Pending) -> None:
        """Run one grouped statement per group of breakdowns that read the same rows."""
        partitions: dict[Any, list[tuple[str, ...]]] = {}
        period, filters = pending.periods[0]
        for grouping_set in pending.sets:
            query = SemanticQuery(metrics=pending.metrics, dimensions=list(grouping_set), filters=filters,
                                  time_range=period)
            try:
                sources = measure_sources(query, self.layer, as_of=self.as_of)
            except ChatBIError:
                continue  # asked separately: its own statement raises and is skipped with a note
            partitions.setdefault(sources, []).append(grouping_set)
        for sets in partitions.values():
            if len(sets) * len(pending.periods) == 1:
                continue  # a single breakdown of a single period is its own statement, unchanged
            if len(pending.periods) > 1 and self._grouped(pending, sets, pending.periods):
                continue
            for one in pending.periods:  # each period apart (e.g. a snapshot measure)
                if len(sets) > 1:
                    self._grouped(pending, sets, [one])

    def _grouped(self, pending: _Pending, sets: list[tuple[str, ...]],
                 periods: list[tuple[TimeRange, list[Filter]]]) -> bool:
        """One statement for ``sets`` in ``periods``; False when it could not be used."""
        dimensions = list(dict.fromkeys(d for s in sets for d in s))
        filters = periods[0][1]
        labels = [f"p{i}" for i in range(len(periods))]
        span = TimeRange(start=min(p.start for p, _ in periods), end=max(p.end for p, _ in periods))
        query = SemanticQuery(metrics=pending.metrics, dimensions=dimensions, filters=filters,
                              time_range=periods[0][0] if len(periods) == 1 else span)
        labelled = [(label, p) for label, (p, _) in zip(labels, periods, strict=True)] if len(periods) > 1 else None
        limit = self.max_rows * len(sets) * len(periods)
        try:
            options = guard_options(self.executor)
            compiled = compile_query(query, self.layer, as_of=self.as_of, dialect=options["engine"],
                                     grouping_sets=[list(s) for s in sets], periods=labelled)
            policy = dataclasses.replace(self.policy, max_rows=limit)
            guarded = guard_sql(compiled.sql, policy, self.role, **options)
        except ChatBIError:
            return False  # e.g. a dimension this role may not read: the separate statements decide
        if guarded.sql.upper().count("HAVING") > compiled.sql.upper().count("HAVING"):
            return False  # a per-group rule of the role (at least N users a group) would apply to every set
        result = self.executor.run(guarded.sql, max_rows=limit)
        self.sql.append(guarded.sql)
        if result.truncated:  # some set may be cut short: ask each separately
            return True
        columns = list(result.columns)
        where = {name: i for i, name in enumerate(columns)}
        lead = [PERIOD_COLUMN] if labelled else []
        mask_at, label_at = where[GROUPING_COLUMN], where.get(PERIOD_COLUMN)
        by_key: dict[tuple[str, int], list[tuple]] = {}
        for row in result.rows:
            label = str(row[label_at]) if label_at is not None else labels[0]
            by_key.setdefault((label, int(row[mask_at])), []).append(row)
        metrics = list(dict.fromkeys(pending.metrics))
        for label, (period, period_filters_) in zip(labels, periods, strict=True):
            for grouping_set in sets:
                wanted = list(dict.fromkeys(grouping_set)) + metrics
                picks = [where[name] for name in wanted]
                mask = grouping_mask(lead + dimensions, lead + list(grouping_set))
                rows = [tuple(row[i] for i in picks) for row in by_key.get((label, mask), [])]
                part = QueryResult(wanted, rows[: self.max_rows], len(rows) > self.max_rows, 0.0)
                key = _key(pending.metrics, list(grouping_set), period_filters_, period)
                self._served[key] = (part.to_frame(), part.truncated)
        return True
