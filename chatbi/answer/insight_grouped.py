"""The why-analysis in a few grouped scans instead of one query per dimension and period.

``collect`` (``insight_data``) asks its ``Runner`` for the metric by each candidate dimension
in the base and the current period, plus the totals: 20–28 statements, each a scan of the
orders. ``GroupedRunner`` answers those requests from one ``GROUP BY GROUPING SETS``
statement per period (``compile_query(grouping_sets=…)``): every set is one candidate's
breakdown, ``()`` the total. Requests it cannot answer so go to the ordinary ``Runner``.

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
from chatbi.semantic.compiler import GROUPING_COLUMN, compile_query, grouping_mask, measure_sources
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
    """The breakdowns of one period that a grouped scan may answer."""

    metrics: list[str]
    filters: list[Filter]
    period: TimeRange
    sets: list[tuple[str, ...]]
    fetched: bool = False


@dataclass
class GroupedRunner(Runner):
    """A ``Runner`` that serves a plan's per-dimension breakdowns from grouped scans."""

    _pending: dict[_Key, _Pending] = field(default_factory=dict)
    _served: dict[_Key, tuple[pd.DataFrame, bool]] = field(default_factory=dict)

    def expect(self, plan: InsightPlan, *, with_totals: bool = True) -> None:
        """Register the breakdowns ``collect`` will ask for (and, ``with_totals``, the totals),
        so the first of them fetches all of a period at once."""
        metrics = [plan.shape.metric] + ([plan.shape.weight_metric] if plan.shape.weight_metric else [])
        sets = [tuple(c.columns) for c in plan.candidates if c.name != USER_COHORT]
        sets = list(dict.fromkeys(sets)) + ([()] if with_totals else [])
        for period in (plan.periods.base, plan.periods.current):
            filters = period_filters(plan, period)
            pending = _Pending(metrics, filters, period, sets)
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
        for grouping_set in pending.sets:
            query = SemanticQuery(metrics=pending.metrics, dimensions=list(grouping_set),
                                  filters=pending.filters, time_range=pending.period)
            try:
                sources = measure_sources(query, self.layer, as_of=self.as_of)
            except ChatBIError:
                continue  # asked separately: its own statement raises and is skipped with a note
            partitions.setdefault(sources, []).append(grouping_set)
        for sets in partitions.values():
            if len(sets) > 1:  # a single breakdown is its own statement, unchanged
                self._grouped(pending, sets)

    def _grouped(self, pending: _Pending, sets: list[tuple[str, ...]]) -> None:
        dimensions = list(dict.fromkeys(d for s in sets for d in s))
        query = SemanticQuery(metrics=pending.metrics, dimensions=dimensions, filters=pending.filters,
                              time_range=pending.period)
        limit = self.max_rows * len(sets)
        try:
            options = guard_options(self.executor)
            compiled = compile_query(query, self.layer, as_of=self.as_of, dialect=options["engine"],
                                     grouping_sets=[list(s) for s in sets])
            policy = dataclasses.replace(self.policy, max_rows=limit)
            guarded = guard_sql(compiled.sql, policy, self.role, **options)
        except ChatBIError:
            return  # e.g. a dimension this role may not read: the separate statements decide
        if guarded.sql.upper().count("HAVING") > compiled.sql.upper().count("HAVING"):
            return  # a per-group rule of the role (at least N users a group) would apply to every set
        result = self.executor.run(guarded.sql, max_rows=limit)
        self.sql.append(guarded.sql)
        if result.truncated:  # some set may be cut short: ask each separately
            return
        columns = list(result.columns)
        where = {name: i for i, name in enumerate(columns)}
        mask_at = where[GROUPING_COLUMN]
        by_mask: dict[int, list[tuple]] = {}
        for row in result.rows:
            by_mask.setdefault(int(row[mask_at]), []).append(row)
        for grouping_set in sets:
            wanted = list(dict.fromkeys(grouping_set)) + list(dict.fromkeys(pending.metrics))
            picks = [where[name] for name in wanted]
            rows = [tuple(row[i] for i in picks) for row in by_mask.get(grouping_mask(dimensions, grouping_set), [])]
            part = QueryResult(wanted, rows[: self.max_rows], len(rows) > self.max_rows, 0.0)
            key = _key(pending.metrics, list(grouping_set), pending.filters, pending.period)
            self._served[key] = (part.to_frame(), part.truncated)
