"""Facts first: every number a finding may state, computed from the result frame.

``compute_facts`` reads only the frame and the context; ``Facts.numbers`` lists every
number derived from it (cell values, totals, shares, changes, growth rates, trend ends),
which is what ``findings.check_finding`` accepts in a text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from chatbi.answer.context import (
    ChartContext,
    ResultColumns,
    classify,
    prepare_frame,
    result_columns,
)
from chatbi.answer.numbers import format_period, period_end, to_date

MAX_ROWS_AS_FACTS = 500
FLAT_THRESHOLD = 0.03  # relative change over the range below which a trend is "flat"
OUTLIER_Z = 3.5

FactKind = Literal["amount", "ratio", "multiple"]
_NUMERIC_TEXT = re.compile(r"[+\-]?[\d,]*\.?\d+")


@dataclass(frozen=True)
class Item:
    """A labelled value (a row of the result, or a period of a trend)."""

    label: str
    value: float


@dataclass(frozen=True)
class GrowthItem:
    """A row's growth over the comparison period."""

    label: str
    growth: float
    current: float | None
    previous: float | None


@dataclass(frozen=True)
class Trend:
    """How a metric moved over the periods of a time series."""

    direction: Literal["up", "down", "flat"]
    first: Item
    last: Item
    change: float
    growth: float | None
    peak: Item
    trough: Item
    periods: int


@dataclass(frozen=True)
class MetricFacts:
    """The facts about one metric column."""

    name: str
    label: str
    format: str
    unit: str | None
    higher_is_better: bool
    additive: bool
    count: int
    total: float | None = None
    mean: float | None = None
    median: float | None = None
    max: Item | None = None
    min: Item | None = None
    top_share: float | None = None
    current: float | None = None  # overall comparison: this period, previous, change, growth
    previous: float | None = None
    change: float | None = None
    growth: float | None = None
    fastest: GrowthItem | None = None
    slowest: GrowthItem | None = None
    declining: int = 0  # rows with negative growth
    trend: Trend | None = None
    leader_last: Item | None = None  # with several series: the top series in the last period
    leader_period: str | None = None
    outliers: tuple[Item, ...] = ()


@dataclass(frozen=True)
class FactNumber:
    """A number the data produced. ``ratio`` numbers are written as percentages,
    ``multiple`` ones as 倍/times (1 + growth, largest / smallest)."""

    value: float
    kind: FactKind


@dataclass(frozen=True)
class Facts:
    """Everything a finding may say about a result, computed before any text is written."""

    language: str
    shape: str
    row_count: int
    truncated: bool = False
    limited: bool = False  # top-N or truncated: totals and shares of the shown rows only
    dimension: str | None = None
    dimension_label: str | None = None
    dimensions: tuple[str, ...] = ()
    time_column: str | None = None
    grain: str | None = None
    metrics: tuple[MetricFacts, ...] = ()
    correlation: float | None = None
    series_count: int = 0
    time_start: date | None = None
    time_end: date | None = None
    time_label: str | None = None
    time_text: str | None = None
    comparison: str | None = None
    filters: tuple[tuple[str, str, str], ...] = ()  # (dimension label, op, value text)
    numbers: tuple[FactNumber, ...] = ()
    labels: tuple[str, ...] = ()  # texts whose digits are names, not numbers (华东1区, 18-24岁)
    windows: tuple[tuple[date, date], ...] = ()  # dates a text may name
    counts: tuple[int, ...] = ()  # small integers a text may name (rows, top N, series…)
    rank_max: int = 0

    @property
    def empty(self) -> bool:
        return self.shape == "empty"

    def metric(self, name: str) -> MetricFacts | None:
        return next((m for m in self.metrics if m.name == name), None)


def compute_facts(df: pd.DataFrame, ctx: ChartContext) -> Facts:
    """Compute totals, extremes, shares, growth, trend and outliers from the frame alone."""
    frame = prepare_frame(df)
    cols = result_columns(frame, ctx)
    shape = classify(frame, ctx, cols)
    start, end, label = ctx.time_bounds()
    limited = bool(ctx.truncated or ctx.query.limit is not None)
    row_labels = _row_labels(frame, cols, ctx.language) if len(frame) else []
    collector = _Numbers()
    metrics: list[MetricFacts] = []
    if shape != "empty":
        for name in cols.metrics:
            metrics.append(_metric_facts(frame, cols, name, ctx, row_labels, limited, collector))
    correlation = None
    if len(cols.metrics) >= 2 and len(frame) >= 3:
        pair = frame[list(cols.metrics[:2])].apply(pd.to_numeric, errors="coerce").dropna()
        if len(pair) >= 3 and pair.iloc[:, 0].std() > 0 and pair.iloc[:, 1].std() > 0:
            correlation = float(pair.iloc[:, 0].corr(pair.iloc[:, 1]))
            collector.add(correlation, "amount")
    series = int(frame[cols.dimension].nunique()) if cols.dimension and len(frame) else 0
    periods = int(frame[cols.time].nunique()) if cols.time and len(frame) else 0
    counts = {len(frame), series, periods, len(cols.metrics)}
    if ctx.query.limit:
        counts.add(ctx.query.limit)
    for m in metrics:
        counts.update({m.declining, m.count - m.declining, len(m.outliers)})
    for having in ctx.query.having:
        collector.add(having.value, "amount")
    labels, filters = _labels(frame, cols, ctx, collector)
    return Facts(
        language=ctx.language, shape=shape, row_count=len(frame), truncated=ctx.truncated,
        limited=limited, dimension=cols.dimension,
        dimension_label=ctx.dimension_title(cols.dimension) if cols.dimension else None,
        dimensions=cols.dimensions, time_column=cols.time, grain=ctx.query.grain or cols.time,
        metrics=tuple(metrics), correlation=correlation, series_count=series,
        time_start=start, time_end=end, time_label=label, time_text=ctx.time_text,
        comparison=ctx.query.comparison, filters=filters, numbers=collector.freeze(),
        labels=labels, windows=_windows(frame, cols, ctx, start, end),
        counts=tuple(sorted(c for c in counts if c >= 0)),
        rank_max=max(len(frame), ctx.query.limit or 0),
    )


class _Numbers:
    def __init__(self) -> None:
        self.items: dict[tuple[float, str], FactNumber] = {}

    def add(self, value: Any, kind: FactKind) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        if math.isnan(number) or math.isinf(number):
            return
        key = (round(number, 9), kind)
        self.items.setdefault(key, FactNumber(number, kind))

    def add_all(self, values: Any, kind: FactKind) -> None:
        for value in list(values)[:MAX_ROWS_AS_FACTS]:
            self.add(value, kind)

    def freeze(self) -> tuple[FactNumber, ...]:
        return tuple(self.items.values())


def _row_labels(df: pd.DataFrame, cols: ResultColumns, language: str) -> list[str]:
    parts: list[list[str]] = []
    blank = "(blank)" if language == "en" else "（空）"
    for dim in cols.dimensions:
        parts.append([blank if _isna(v) else str(v) for v in df[dim]])
    if cols.time and (not parts or df[cols.time].nunique() > 1):
        parts.append([format_period(v, cols.time, language) for v in df[cols.time]])
    if not parts:
        return [str(i + 1) for i in range(len(df))]
    return [" / ".join(p) for p in zip(*parts, strict=True)]


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def _metric_facts(df: pd.DataFrame, cols: ResultColumns, name: str, ctx: ChartContext,
                  row_labels: list[str], limited: bool, numbers: _Numbers) -> MetricFacts:
    meta = ctx.metric(name)
    kind: FactKind = "ratio" if meta.format == "percent" else "amount"
    values = _numeric(df[name])
    valid = values.dropna()
    numbers.add_all(valid, kind)
    out: dict[str, Any] = {"count": int(valid.size)}
    additive = meta.additive
    if valid.size:
        if additive and not limited:
            out["total"] = float(valid.sum())
        out["mean"] = float(valid.mean())
        out["median"] = float(valid.median())
        for key in ("total", "mean", "median"):
            numbers.add(out.get(key), kind)
    if cols.time and df[cols.time].nunique() >= 2:
        out.update(_trend_facts(df, cols, name, values, additive, ctx.language, numbers, kind))
    elif valid.size:
        imax, imin = int(values.idxmax()), int(values.idxmin())
        out["max"] = Item(row_labels[imax], float(values[imax]))
        out["min"] = Item(row_labels[imin], float(values[imin]))
        if values[imin] > 0:
            numbers.add(values[imax] / values[imin], "multiple")
        out["outliers"] = _outliers(values, row_labels)
        share_col = cols.share.get(name)
        if share_col:
            shares = _numeric(df[share_col])
            numbers.add_all(shares.dropna(), "ratio")
            out["top_share"] = None if _isna(shares[imax]) else float(shares[imax])
        elif out.get("total") and (valid >= 0).all():
            shares = values / out["total"]
            numbers.add_all(shares.dropna(), "ratio")
            out["top_share"] = float(shares[imax])
    out.update(_comparison_facts(df, cols, name, values, additive, limited, row_labels, numbers, kind))
    return MetricFacts(name=name, label=meta.title(ctx.language), format=meta.format,
                       unit=meta.unit, higher_is_better=meta.higher_is_better,
                       additive=additive, **out)


def _comparison_facts(df: pd.DataFrame, cols: ResultColumns, name: str, values: pd.Series,
                      additive: bool, limited: bool, row_labels: list[str], numbers: _Numbers,
                      kind: FactKind) -> dict[str, Any]:
    prev_col, growth_col = cols.previous.get(name), cols.growth.get(name)
    if not prev_col and not growth_col:
        return {}
    out: dict[str, Any] = {}
    previous = _numeric(df[prev_col]) if prev_col else pd.Series([np.nan] * len(df))
    if growth_col:
        growth = _numeric(df[growth_col])
    else:
        growth = (values / previous.where(previous != 0)) - 1
    change = values - previous
    numbers.add_all(previous.dropna(), kind)
    numbers.add_all(change.dropna(), kind)
    numbers.add_all(growth.dropna(), "ratio")
    numbers.add_all(growth.dropna() + 1, "multiple")
    if len(df) == 1:
        out.update(current=_f(values[0]), previous=_f(previous[0]), change=_f(change[0]),
                   growth=_f(growth[0]))
    elif additive and not limited and previous.notna().any():
        cur, prev = float(values.sum()), float(previous.sum())
        out.update(current=cur, previous=prev, change=cur - prev,
                   growth=(cur / prev - 1) if prev else None)
    for key in ("current", "previous", "change"):
        numbers.add(out.get(key), kind)
    numbers.add(out.get("growth"), "ratio")
    if out.get("growth") is not None:
        numbers.add(out["growth"] + 1, "multiple")
    valid = growth.dropna()
    if valid.size:
        hi, lo = int(valid.idxmax()), int(valid.idxmin())
        out["fastest"] = GrowthItem(row_labels[hi], float(growth[hi]), _f(values[hi]), _f(previous[hi]))
        out["slowest"] = GrowthItem(row_labels[lo], float(growth[lo]), _f(values[lo]), _f(previous[lo]))
        out["declining"] = int((valid < 0).sum())
    return out


def _trend_facts(df: pd.DataFrame, cols: ResultColumns, name: str, values: pd.Series,
                 additive: bool, language: str, numbers: _Numbers, kind: FactKind) -> dict[str, Any]:
    time_col = cols.time
    assert time_col is not None
    frame = pd.DataFrame({"t": df[time_col].map(to_date), "v": values,
                          "label": [str(v) for v in (df[cols.dimension] if cols.dimension else [""] * len(df))]})
    frame = frame.dropna(subset=["t"])
    out: dict[str, Any] = {}
    if cols.dimensions:
        last_t = frame["t"].max()
        last = frame[frame["t"] == last_t].dropna(subset=["v"])
        if len(last):
            row = last.loc[last["v"].idxmax()]
            out["leader_last"] = Item(str(row["label"]), float(row["v"]))
            out["leader_period"] = format_period(last_t, time_col, language)
        if not additive:
            return out
        series = frame.groupby("t")["v"].sum(min_count=1).sort_index()
    else:
        series = frame.groupby("t")["v"].first().sort_index()
    series = series.dropna()
    numbers.add_all(series, kind)
    if len(series) < 2:
        return out
    labels = [format_period(t, time_col, language) for t in series.index]
    first, last_v = float(series.iloc[0]), float(series.iloc[-1])
    change = last_v - first
    growth = (last_v / first - 1) if first else None
    slope = float(np.polyfit(np.arange(len(series)), series.to_numpy(dtype=float), 1)[0])
    mean = float(series.abs().mean())
    relative = slope * (len(series) - 1) / mean if mean else 0.0
    direction: Literal["up", "down", "flat"] = (
        "up" if relative > FLAT_THRESHOLD else "down" if relative < -FLAT_THRESHOLD else "flat")
    ipeak, itrough = int(np.argmax(series.to_numpy())), int(np.argmin(series.to_numpy()))
    numbers.add(change, kind)
    numbers.add(growth, "ratio")
    if growth is not None:
        numbers.add(growth + 1, "multiple")
    out["trend"] = Trend(direction=direction, first=Item(labels[0], first),
                         last=Item(labels[-1], last_v), change=change, growth=growth,
                         peak=Item(labels[ipeak], float(series.iloc[ipeak])),
                         trough=Item(labels[itrough], float(series.iloc[itrough])),
                         periods=len(series))
    out["max"], out["min"] = out["trend"].peak, out["trend"].trough
    out["outliers"] = _outliers(series.reset_index(drop=True), labels)
    return out


def _outliers(values: pd.Series, labels: list[str]) -> tuple[Item, ...]:
    """Values far from the median (robust z-score over the MAD), with five values or more."""
    valid = values.dropna()
    if valid.size < 5:
        return ()
    median = float(valid.median())
    mad = float((valid - median).abs().median())
    if mad == 0:
        return ()
    z = (valid - median).abs() / (1.4826 * mad)
    return tuple(Item(labels[int(i)], float(values[i])) for i in z[z > OUTLIER_Z].index)


def _f(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _labels(df: pd.DataFrame, cols: ResultColumns, ctx: ChartContext, numbers: _Numbers
            ) -> tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]]:
    """Texts whose digits are part of a name (labels, dimension and filter values)."""
    texts: set[str] = set()
    for dim in cols.dimensions:
        for value in df[dim].dropna().unique()[:MAX_ROWS_AS_FACTS]:
            if isinstance(value, int | float | np.number) and not isinstance(value, bool):
                numbers.add(value, "amount")  # numeric ids: the text may name them
            else:
                texts.add(str(value))
    filters = []
    for flt in ctx.query.filters:
        values = flt.value if isinstance(flt.value, list | tuple) else [flt.value]
        for value in values:
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers.add(value, "amount")
            else:
                texts.add(str(value))
        filters.append((ctx.dimension_title(flt.dimension), flt.op, "、".join(str(v) for v in values)))
    for meta in list(ctx.metrics.values()) + list(ctx.dimensions.values()):
        if meta.name in ctx.query.metrics or meta.name in cols.dimensions or \
                meta.name in [f.dimension for f in ctx.query.filters]:
            texts.update(t for t in (meta.label, meta.label_en, meta.name) if t)
    _, _, time_label = ctx.time_bounds()
    if time_label:
        texts.add(time_label)
    keep = tuple(sorted((t for t in texts if any(ch.isdigit() for ch in t)
                         and not _NUMERIC_TEXT.fullmatch(t.strip())), key=len, reverse=True))
    return keep, tuple(filters)


def _windows(df: pd.DataFrame, cols: ResultColumns, ctx: ChartContext, start: date | None,
             end: date | None) -> tuple[tuple[date, date], ...]:
    windows: list[tuple[date, date]] = []
    if start and end:
        windows.append((start, end))
        previous = comparison_window(start, end, ctx.query.comparison)
        if previous:
            windows.append(previous)
    if cols.time and len(df):
        for value in df[cols.time].dropna().unique()[:MAX_ROWS_AS_FACTS]:
            day = to_date(value)
            if day:
                windows.append((day, period_end(day, cols.time)))
    return tuple(windows)


def comparison_window(start: date, end: date, comparison: str | None) -> tuple[date, date] | None:
    """The period a comparison compares with: the one before, or the same one last year."""
    if comparison == "same_period_last_year":
        return _minus_year(start), _minus_year(end)
    if comparison != "previous_period":
        return None
    after = end + timedelta(days=1)
    if start.day == 1 and after.day == 1:  # whole months: shift by months
        months = (after.year - start.year) * 12 + after.month - start.month
        index = start.year * 12 + start.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), start - timedelta(days=1)
    length = end - start + timedelta(days=1)
    return start - length, start - timedelta(days=1)


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
