"""Lookups over a semantic layer for planners, retrieval, answers and the guard.

``Catalog`` answers: what is this metric/dimension, which words name it, how is a metric
defined (human-readable SQL), which dimensions can break it down, which time dimension it
runs on, and what SQL may touch (the ``AccessPolicy``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlglot
from sqlglot import exp

from chatbi.answer.types import Definition
from chatbi.semantic.contract import CONTRACT_TABLES
from chatbi.semantic.graph import JoinGraph
from chatbi.semantic.models import Dimension, Metric, SemanticLayer, SemanticModel
from chatbi.semantic.sqlexpr import columns_of, describe_measure, fill_as_of
from chatbi.semantic.validation import normalize_term
from chatbi.sql.policy import AccessPolicy
from chatbi.warehouse.schema import PII_COLUMNS


class Catalog:
    """Read-only lookups over one ``SemanticLayer``."""

    def __init__(self, layer: SemanticLayer):
        self.layer = layer
        self.graph = JoinGraph.of(layer)
        self._metrics = {m.name: m for m in layer.metrics}
        self._dims: dict[str, tuple[SemanticModel, Dimension]] = {}
        for model, dim in layer.all_dimensions():
            self._dims.setdefault(dim.name, (model, dim))
        self._terms: dict[str, tuple[str, str]] = {}
        for metric in layer.metrics:
            for word in [metric.name, metric.label, metric.label_en, *metric.synonyms]:
                if word:
                    self._terms.setdefault(normalize_term(word), ("metric", metric.name))
        for _, dim in layer.all_dimensions():
            for word in [dim.name, dim.label, dim.label_en, *dim.synonyms]:
                if word:
                    self._terms.setdefault(normalize_term(word), ("dimension", dim.name))

    # ---- lookups -------------------------------------------------------------------------
    def metric(self, name: str) -> Metric:
        return self._metrics[name]

    def dimension(self, name: str) -> Dimension:
        return self._dims[name][1]

    def get_metric(self, name: str) -> Metric | None:
        return self._metrics.get(name)

    def get_dimension(self, name: str) -> Dimension | None:
        hit = self._dims.get(name)
        return hit[1] if hit else None

    def dimension_model(self, name: str) -> SemanticModel:
        """The model that defines dimension ``name``."""
        return self._dims[name][0]

    @property
    def metric_names(self) -> list[str]:
        return list(self._metrics)

    @property
    def dimension_names(self) -> list[str]:
        return list(self._dims)

    def terms(self) -> dict[str, tuple[str, str]]:
        """Every name, label and synonym (normalised) -> ("metric"|"dimension", name)."""
        return dict(self._terms)

    def find(self, term: str) -> tuple[str, str] | None:
        """Which metric or dimension a word names (exact match on name, label or synonym)."""
        return self._terms.get(normalize_term(term))

    def find_metric(self, term: str) -> Metric | None:
        hit = self.find(term)
        return self._metrics[hit[1]] if hit and hit[0] == "metric" else None

    def find_dimension(self, term: str) -> Dimension | None:
        hit = self.find(term)
        return self._dims[hit[1]][1] if hit and hit[0] == "dimension" else None

    # ---- metric structure ----------------------------------------------------------------
    def component_metrics(self, name: str) -> list[str]:
        """The metrics a derived metric's expr uses (empty for simple and ratio)."""
        metric = self.metric(name)
        if metric.type != "derived":
            return []
        tree = sqlglot.parse_one(metric.expr or "", read="duckdb")
        nodes = [tree] if isinstance(tree, exp.Column) else list(tree.find_all(exp.Column))
        return list(dict.fromkeys(c.name for c in nodes))

    def measures_for(self, name: str, _seen: frozenset[str] = frozenset()) -> list[str]:
        """Every measure a metric reads (through derived metrics)."""
        if name in _seen:
            return []
        metric = self.metric(name)
        out = list(metric.measure_names())
        for dep in self.component_metrics(name):
            if dep in self._metrics:
                out += self.measures_for(dep, _seen | {name})
        return list(dict.fromkeys(out))

    def models_for(self, name: str) -> list[str]:
        """Models that can serve a metric's measures, in the compiler's order of preference."""
        out: list[str] = []
        for measure in self.measures_for(name):
            out += [m.name for m in self.layer.models_with_measure(measure)]
        return list(dict.fromkeys(out))

    def time_dimension_for(self, metric: str) -> str | None:
        """The time dimension a metric's time range applies to; None for snapshot metrics."""
        m = self.metric(metric)
        if m.time_dimension:
            return m.time_dimension
        if m.type == "derived":
            for dep in self.component_metrics(metric):
                if dep in self._metrics:
                    found = self.time_dimension_for(dep)
                    if found:
                        return found
            return None
        for measure in m.measure_names():
            models = self.layer.models_with_measure(measure)
            if models and models[0].default_time_dimension:
                return models[0].default_time_dimension
        return None

    def dimensions_for(self, metric: str) -> list[str]:
        """Dimensions that can break down (or filter) ``metric``, in layer order."""
        measures = self.measures_for(metric)
        if not measures:
            return []
        out = []
        for name in self._dims:
            if all(any(self.graph.resolve(model.name, name) is not None
                       for model in self.layer.models_with_measure(measure))
                   for measure in measures):
                out.append(name)
        return out

    def metrics_for_dimension(self, dimension: str) -> list[str]:
        """Metrics that ``dimension`` can break down."""
        return [m for m in self._metrics if dimension in self.dimensions_for(m)]

    # ---- definitions ---------------------------------------------------------------------
    def _measure_text(self, measure: str) -> str:
        models = self.layer.models_with_measure(measure)
        if not models:
            return measure
        model = models[0]
        m = model.measure(measure)
        assert m is not None
        return describe_measure(m, model.table or model.name)

    def definition_sql(self, name: str) -> str:
        """A metric's exact aggregate and filter, human readable."""
        metric = self.metric(name)
        if metric.type == "simple":
            return self._measure_text(metric.measure or "")
        if metric.type == "ratio":
            return (f"({self._measure_text(metric.numerator or '')}) / "
                    f"({self._measure_text(metric.denominator or '')})")
        parts = [" ".join((metric.expr or "").split())]
        for dep in self.component_metrics(name):
            if dep in self._metrics:
                parts.append(f"{dep} = {self.definition_sql(dep)}")
        return "; ".join(parts)

    def metric_definition(self, name: str) -> Definition:
        """Name, label, description and definition SQL of a metric (shown with answers).

        ``sql`` is the exact aggregate and filter; when the metric's time range applies to
        a time dimension other than its model's default, ``[time: <dimension>]`` is added.
        """
        metric = self.metric(name)
        sql = " ".join((metric.definition_sql or self.definition_sql(name)).split())
        if metric.time_dimension:
            sql += f" [time: {metric.time_dimension}]"
        return Definition(name=metric.name, label=metric.label, description=metric.description, sql=sql)

    # ---- values --------------------------------------------------------------------------
    def dimension_values_sql(self, name: str, *, as_of: date | None = None, limit: int = 300) -> str:
        """A DuckDB query for the distinct non-null values of a dimension (as text)."""
        model, dim = self._dims[name]
        source = model.table if model.table else f"({model.sql}) AS {model.name}"
        expr = fill_as_of(dim.expr, as_of)
        if dim.type == "tag":
            return (f"SELECT DISTINCT CAST(v AS VARCHAR) AS value FROM (SELECT UNNEST({expr}) AS v "
                    f"FROM {source}) AS t WHERE v IS NOT NULL ORDER BY 1 LIMIT {int(limit)}")
        return (f"SELECT DISTINCT CAST({expr} AS VARCHAR) AS value FROM {source} "
                f"WHERE ({expr}) IS NOT NULL ORDER BY 1 LIMIT {int(limit)}")

    # ---- access --------------------------------------------------------------------------
    def access_policy(self, max_rows: int = 1000) -> AccessPolicy:
        """What SQL may touch: contract tables and columns, PII, merchant security columns.

        ``security_columns``: ``merchant_id`` on every table that has one. Tables without a
        merchant column are tied to a merchant by the links of ``access.yaml`` (users: only
        buyers who ordered from the merchant, …); other tables are refused for merchants.
        Returns the guard's ``GuardPolicy`` (with ``merchant_links``) when available.
        """
        tables: dict[str, set[str]] = {t: set(cols) for t, cols in CONTRACT_TABLES.items()}
        pii: dict[str, set[str]] = {t: set(cols) for t, cols in PII_COLUMNS.items()}
        security: dict[str, str] = {}
        for model in self.layer.models:
            if not model.table:
                continue
            cols = tables.setdefault(model.table, set())
            for sql in self._model_sql(model):
                try:
                    cols |= columns_of(fill_as_of(sql, date(2000, 1, 1)))
                except sqlglot.errors.ParseError:
                    continue
            if model.security_column:
                security[model.table] = model.security_column
            marked = set(model.pii_columns)
            for dim in model.dimensions:
                if dim.pii:
                    marked |= columns_of(fill_as_of(dim.expr, date(2000, 1, 1)))
            if marked:
                pii.setdefault(model.table, set()).update(marked)
        for table, cols in tables.items():
            if "merchant_id" in cols:
                security.setdefault(table, "merchant_id")
        frozen_tables = {t: frozenset(c) for t, c in sorted(tables.items())}
        frozen_pii = {t: frozenset(c) for t, c in sorted(pii.items()) if t in frozen_tables}
        return _policy(frozen_tables, frozen_pii, dict(sorted(security.items())), max_rows,
                       self.layer)

    @staticmethod
    def _model_sql(model: SemanticModel) -> list[str]:
        out = [e.expr for e in model.entities] + [d.expr for d in model.dimensions]
        for m in model.measures:
            out += [m.expr] + [x for x in (m.filter, m.occurrence_key) if x]
        return out + list(model.local_dimensions.values())

    def to_dict(self) -> dict[str, Any]:
        """Metrics and dimensions with labels, synonyms and definitions (for APIs and docs)."""
        return {
            "metrics": [{"name": m.name, "label": m.label, "label_en": m.label_en, "type": m.type,
                         "description": m.description, "sql": self.definition_sql(m.name),
                         "synonyms": list(m.synonyms), "unit": m.unit, "format": m.format,
                         "time_dimension": self.time_dimension_for(m.name)} for m in self.layer.metrics],
            "dimensions": [{"name": d.name, "label": d.label, "label_en": d.label_en, "type": d.type,
                            "model": model.name, "description": d.description,
                            "synonyms": list(d.synonyms), "pii": d.pii}
                           for model, d in self.layer.all_dimensions()],
        }


def _policy(tables: dict[str, frozenset[str]], pii: dict[str, frozenset[str]],
            security: dict[str, str], max_rows: int, layer: SemanticLayer) -> AccessPolicy:
    """A ``GuardPolicy`` with the layer's merchant links when the guard module offers one."""
    try:
        from chatbi.sql.access import GuardPolicy, MerchantLink
    except ImportError:
        return AccessPolicy(tables=tables, pii=pii, security_columns=security, max_rows=max_rows)
    links = {
        table: MerchantLink(link.column, via_table=link.via_table, via_column=link.via_column,
                            when=(link.when[0], link.when[1]) if link.when else None)
        for table, link in layer.access.merchant_links.items()
        if table not in layer.access.merchant_forbidden_tables
    }
    try:
        small = layer.access.small_groups
        return GuardPolicy(tables=tables, pii=pii, security_columns=security, max_rows=max_rows,
                           merchant_links=links, min_group_size=small.min_group_size,
                           user_key=small.user_key,
                           merchant_people_tables=frozenset(small.merchant_people_tables))
    except TypeError:
        return AccessPolicy(tables=tables, pii=pii, security_columns=security, max_rows=max_rows)
