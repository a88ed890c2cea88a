"""Frozen pydantic models of the semantic layer YAML (a trimmed dbt MetricFlow).

Names are global: a dimension name (``region``, ``merchant_region``, ``category``) is unique
across all semantic models, and so is a metric name, so a planner can refer to either without
saying which table it lives on. The loader (``loader.py``) reads ``semantic_layer/*.yaml``
into a ``SemanticLayer`` and validation collects every problem with file and line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Aggregation = Literal["sum", "count", "count_distinct", "avg", "min", "max"]
DimensionType = Literal["categorical", "time", "tag"]
MetricType = Literal["simple", "ratio", "derived"]
NumberFormat = Literal["number", "integer", "currency", "percent", "days", "score"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Entity(_Frozen):
    """A join key: ``primary`` on the model that owns it, ``foreign`` where it is referenced."""

    name: str
    type: Literal["primary", "foreign", "unique"]
    expr: str


class Dimension(_Frozen):
    """Something to group or filter by. ``expr`` is SQL over the model's table."""

    name: str
    type: DimensionType = "categorical"
    expr: str
    label: str  # Chinese label shown to users
    label_en: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    description: str = ""
    pii: bool = False
    index_values: bool = False  # low cardinality: index its distinct values for retrieval
    grains: list[str] = Field(default_factory=list)  # for time dimensions


class Measure(_Frozen):
    """An aggregation over the model's rows, with an optional SQL filter."""

    name: str
    agg: Aggregation
    expr: str = "1"
    filter: str | None = None
    description: str = ""


class SemanticModel(_Frozen):
    """One table (or profile table) with its entities, dimensions and measures."""

    name: str
    table: str
    description: str = ""
    entities: list[Entity] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    default_time_dimension: str | None = None
    security_column: str | None = None  # ties a row to a merchant (row-level security)
    pii_columns: list[str] = Field(default_factory=list)


class Metric(_Frozen):
    """A business metric users ask for by name or synonym."""

    name: str
    label: str
    label_en: str | None = None
    type: MetricType = "simple"
    measure: str | None = None  # simple
    numerator: str | None = None  # ratio: measure names
    denominator: str | None = None
    expr: str | None = None  # derived: arithmetic over other metric names
    metrics: list[str] = Field(default_factory=list)  # derived: the metrics used in expr
    synonyms: list[str] = Field(default_factory=list)
    description: str = ""
    unit: str | None = None  # e.g. 元, %, 天
    format: NumberFormat = "number"
    higher_is_better: bool = True


class SemanticLayer(_Frozen):
    """All semantic models and metrics, with lookups by global name."""

    models: list[SemanticModel]
    metrics: list[Metric]

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def dimension(self, name: str) -> tuple[SemanticModel, Dimension]:
        for model in self.models:
            for dim in model.dimensions:
                if dim.name == name:
                    return model, dim
        raise KeyError(name)

    def model(self, name: str) -> SemanticModel:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    def all_dimensions(self) -> list[tuple[SemanticModel, Dimension]]:
        return [(m, d) for m in self.models for d in m.dimensions]
