"""SemanticQuery: the structured question both planners produce and the compiler consumes.

Names refer to the semantic layer: ``metrics`` are metric names, ``dimensions`` are
globally unique dimension names (e.g. ``region`` is the buyer's region, ``merchant_region``
the merchant's own). A time dimension in ``dimensions`` is grouped at ``grain``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Grain = Literal["day", "week", "month", "quarter", "year"]
FilterOp = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains", "has_tag"]
ComparisonKind = Literal["previous_period", "same_period_last_year"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Filter(_Frozen):
    """A filter on a dimension (``WHERE``); ``value`` is a scalar, or a list for in/between."""

    dimension: str
    op: FilterOp = "eq"
    value: Any


class MetricFilter(_Frozen):
    """A filter on an aggregated metric value (``HAVING``)."""

    metric: str
    op: Literal["gt", "gte", "lt", "lte", "eq", "ne"]
    value: float


class TimeRange(_Frozen):
    """An inclusive date range, with the words that produced it (e.g. ``上个季度``)."""

    start: date
    end: date
    label: str | None = None

    def describe(self) -> str:
        text = f"{self.start.isoformat()} 至 {self.end.isoformat()}"
        return f"{self.label} = {text}" if self.label else text


class OrderBy(_Frozen):
    """Sort by a metric, a dimension, or a derived column such as ``growth``/``share``."""

    field: str
    descending: bool = True


class SemanticQuery(_Frozen):
    """What to compute; everything needed to write the SQL, nothing about how."""

    metrics: list[str] = Field(min_length=1)
    dimensions: list[str] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list)
    having: list[MetricFilter] = Field(default_factory=list)
    time_dimension: str | None = None  # default: the metric's own time dimension
    time_range: TimeRange | None = None
    grain: Grain | None = None  # set for trends: group the time dimension at this grain
    comparison: ComparisonKind | None = None  # adds base value, comparison value, growth
    share_of_total: bool = False  # adds each row's share of the total
    share_part: Filter | None = None  # with share_of_total: the part of the whole (rows kept and added up)
    per_period: Grain | None = None  # the average per day/week/month over time_range (平均每天)
    count_as: str | None = None  # count the entities (last dimension) passing ``having``, as this column
    order_by: list[OrderBy] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)

    def with_changes(self, **changes: Any) -> SemanticQuery:
        """A copy with some fields replaced (used by follow-ups)."""
        return self.model_copy(update=changes)
