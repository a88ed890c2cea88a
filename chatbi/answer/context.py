"""What charts and findings know about a result: the query, labels, language, time range.

``ChartContext`` is built once per answer (``ChartContext.from_layer``) and passed to
``charts`` and ``findings``. ``result_columns`` sorts a result frame's columns into time,
dimension and metric columns following the result-column naming of docs/semantic_layer.md
(``<grain>``, ``<dimension>``, ``<metric>``, ``<metric>_previous|_growth|_share``).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from chatbi.semantic.query import SemanticQuery

if TYPE_CHECKING:
    from chatbi.semantic.models import SemanticLayer

GRAINS = ("day", "week", "month", "quarter", "year")
ADDITIVE_AGGS = ("sum", "count")
_CJK = re.compile(r"[\u3400-\u9fff]")


def has_cjk(text: str) -> bool:
    """True when the text holds a CJK ideograph."""
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class MetricMeta:
    """How to label and format one metric. ``format`` follows ``Metric.format``.

    ``additive``: the metric's values over groups may be summed to a total (sum/count
    measures); ratios, averages and distinct counts are not. Percent metrics hold ratios
    (0.12 = 12%), like ``_growth`` and ``_share`` columns.
    """

    name: str
    label: str
    label_en: str | None = None
    unit: str | None = None
    format: str = "number"
    higher_is_better: bool = True
    additive: bool = True

    def title(self, language: str) -> str:
        return (self.label_en or self.name) if language == "en" else self.label

    @classmethod
    def from_layer(cls, layer: SemanticLayer) -> dict[str, MetricMeta]:
        """Every metric of the semantic layer, by name."""
        aggs = {m.name: m.agg for model in layer.models for m in model.measures}
        out: dict[str, MetricMeta] = {}
        for metric in layer.metrics:
            additive = (metric.type == "simple" and aggs.get(metric.measure or "") in ADDITIVE_AGGS
                        and metric.format not in ("percent", "score", "days"))
            out[metric.name] = cls(
                name=metric.name, label=metric.label, label_en=metric.label_en,
                unit=metric.unit, format=metric.format,
                higher_is_better=metric.higher_is_better, additive=additive,
            )
        return out


@dataclass(frozen=True)
class DimensionMeta:
    """How to label one dimension."""

    name: str
    label: str
    label_en: str | None = None

    def title(self, language: str) -> str:
        return (self.label_en or self.name) if language == "en" else self.label

    @classmethod
    def from_layer(cls, layer: SemanticLayer) -> dict[str, DimensionMeta]:
        """Every dimension of the semantic layer, by name."""
        return {dim.name: cls(name=dim.name, label=dim.label, label_en=dim.label_en)
                for _, dim in layer.all_dimensions()}


GRAIN_LABELS = {
    "day": ("日期", "Day"), "week": ("周", "Week"), "month": ("月份", "Month"),
    "quarter": ("季度", "Quarter"), "year": ("年份", "Year"),
}


@dataclass(frozen=True)
class ChartContext:
    """Everything charts and findings need besides the result frame."""

    query: SemanticQuery
    metrics: Mapping[str, MetricMeta] = field(default_factory=dict)
    dimensions: Mapping[str, DimensionMeta] = field(default_factory=dict)
    language: str = "zh"
    time_text: str | None = None
    truncated: bool = False

    @classmethod
    def from_layer(cls, layer: SemanticLayer, *, query: SemanticQuery, language: str = "zh",
                   time_text: str | None = None, truncated: bool = False) -> ChartContext:
        return cls(query=query, metrics=MetricMeta.from_layer(layer),
                   dimensions=DimensionMeta.from_layer(layer), language=language,
                   time_text=time_text, truncated=truncated)

    @property
    def en(self) -> bool:
        return self.language == "en"

    def metric(self, name: str) -> MetricMeta:
        return self.metrics.get(name) or MetricMeta(name=name, label=name, label_en=name)

    def dimension_title(self, column: str) -> str:
        if column in GRAIN_LABELS:
            zh, en = GRAIN_LABELS[column]
            return en if self.en else zh
        meta = self.dimensions.get(column)
        return meta.title(self.language) if meta else column

    def time_bounds(self) -> tuple[date | None, date | None, str | None]:
        """(start, end, label) of the time range, from the query or the time text."""
        tr = self.query.time_range
        if tr is not None:
            return tr.start, tr.end, tr.label
        return parse_time_text(self.time_text)


_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:至|到|to|~|–|-{1,2})\s*(\d{4}-\d{2}-\d{2})")


def parse_time_text(text: str | None) -> tuple[date | None, date | None, str | None]:
    """Parse "上个季度 = 2026-04-01 至 2026-06-30" into (start, end, label)."""
    if not text:
        return None, None, None
    match = _RANGE.search(text)
    if not match:
        return None, None, text.strip() or None
    label = text[:match.start()].strip().rstrip("=:：").strip() or None
    return date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2)), label


@dataclass(frozen=True)
class ResultColumns:
    """The roles of a result frame's columns."""

    time: str | None
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]  # base metric columns, in query order
    previous: Mapping[str, str]  # metric -> its _previous column
    growth: Mapping[str, str]
    share: Mapping[str, str]

    @property
    def dimension(self) -> str | None:
        return self.dimensions[0] if self.dimensions else None


def result_columns(df: pd.DataFrame, ctx: ChartContext) -> ResultColumns:
    """Sort the frame's columns into time, dimensions and metrics (docs/semantic_layer.md naming)."""
    cols = [str(c) for c in df.columns]
    time_col: str | None = None
    if ctx.query.grain and ctx.query.grain in cols:
        time_col = ctx.query.grain
    else:
        time_col = next((c for c in cols if c in GRAINS), None)
    metrics = [m for m in ctx.query.metrics if m in cols]
    previous: dict[str, str] = {}
    growth: dict[str, str] = {}
    share: dict[str, str] = {}
    derived: set[str] = set()
    for m in ctx.query.metrics:
        for suffix, target in (("_previous", previous), ("_growth", growth), ("_share", share)):
            if f"{m}{suffix}" in cols:
                target[m] = f"{m}{suffix}"
                derived.add(f"{m}{suffix}")
    # Columns from hand-written SQL: numeric columns that are not dimensions become metrics.
    rest = [c for c in cols if c != time_col and c not in metrics and c not in derived]
    dims = []
    for c in rest:
        if c in ctx.query.dimensions or c in ctx.dimensions or not _is_numeric(df[c]):
            dims.append(c)
        else:
            metrics.append(c)
    return ResultColumns(time=time_col, dimensions=tuple(dims), metrics=tuple(metrics),
                         previous=previous, growth=growth, share=share)


def prepare_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with a fresh index and DECIMAL (object) columns as floats."""
    out = df.reset_index(drop=True)
    for column in out.columns:
        series = out[column]
        if series.dtype == object:
            values = series.dropna()
            if len(values) and all(isinstance(v, decimal.Decimal | int | float) and not isinstance(v, bool)
                                   for v in values):
                out[column] = pd.to_numeric(series, errors="coerce").astype(float)
    return out


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


Shape = str  # empty|single|trend|growth|share|scatter|distribution|ranking|breakdown|table
DISTRIBUTION_MIN_ROWS = 50


def classify(df: pd.DataFrame, ctx: ChartContext, cols: ResultColumns | None = None) -> Shape:
    """The shape of a result, which decides both the chart and the finding's template."""
    cols = cols or result_columns(df, ctx)
    if len(df) == 0 or (cols.metrics and df[list(cols.metrics)].isna().all().all()):
        return "empty"
    if not cols.metrics:
        return "table"
    if cols.time and df[cols.time].nunique(dropna=True) >= 2:
        return "trend"
    if len(df) == 1:
        return "single"
    if cols.growth and cols.dimensions:
        return "growth"
    if (cols.share or ctx.query.share_of_total) and cols.dimensions:
        return "share"
    if len(cols.metrics) >= 2 and cols.dimensions and len(df) >= 3:
        return "scatter"
    if not cols.dimensions:
        return "distribution"
    if (len(cols.dimensions) == 1 and len(df) > DISTRIBUTION_MIN_ROWS and not ctx.query.limit
            and not ctx.query.order_by):
        return "distribution"
    if len(cols.dimensions) == 1:
        return "ranking"
    return "breakdown"


def describe_time(start: date | None, end: date | None, label: str | None, language: str) -> str:
    """上个季度（2026-04-01 至 2026-06-30） / last quarter (2026-04-01 to 2026-06-30)."""
    if start and end:
        if language == "en":
            span = f"{start.isoformat()} to {end.isoformat()}"
            return f"{label} ({span})" if label and not has_cjk(label) else span
        span = f"{start.isoformat()} 至 {end.isoformat()}"
        return f"{label}（{span}）" if label else span
    if label:
        return label
    return "across all dates" if language == "en" else "全部时间范围内"
