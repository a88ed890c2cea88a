"""Charts chosen by the result's shape: Vega-Lite v5 specs built with Altair, data inline.

``choose_chart`` maps the shape (``context.classify``) to a chart kind; ``build_chart`` makes
the spec and says why a chart was left out; ``chart_png`` renders a spec with vl-convert and
a registered CJK font. Nothing here executes generated code: specs are plain data.

Altair 6 emits Vega-Lite v6 specs; the specs here use only features Vega-Lite 5 has, are
stamped with the v5 ``$schema`` (``VEGA_LITE_SCHEMA``) and rendered with vl-convert's
Vega-Lite ``VL_VERSION``, which is what INTERFACES.md promises.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import altair as alt
import pandas as pd

from chatbi.answer.context import (
    ChartContext,
    DimensionMeta,
    MetricMeta,
    ResultColumns,
    classify,
    describe_time,
    has_cjk,
    prepare_frame,
    result_columns,
)
from chatbi.answer.fonts import (
    FONT_STACK,
    MissingCJKFontError,
    missing_font_message,
    register_cjk_font,
)
from chatbi.answer.numbers import (
    axis_format,
    format_percent,
    format_value,
    is_missing,
    tooltip_format,
)
from chatbi.answer.types import json_value
from chatbi.errors import ChatBIError

__all__ = [
    "ChartChoice", "ChartContext", "ChartError", "ChartExportError", "ChartResult",
    "DimensionMeta", "MetricMeta", "build_chart", "chart_png", "chart_svg", "choose_chart",
    "make_chart", "VEGA_LITE_SCHEMA", "VL_VERSION",
]

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.20.1.json"
VL_VERSION = "5.20"  # the vl-convert Vega-Lite bundle that matches the schema above
WIDTH = 560
MAX_BARS = 30
MAX_SLICES = 8  # donut slices / colours before the rest becomes 其他 / Other
MAX_SERIES = 8
GOOD, BAD, NEUTRAL = "#2a9d8f", "#e76f51", "#4c78a8"

ChartKind = Literal["big_number", "line", "bar", "diverging_bar", "donut", "stacked_bar",
                    "scatter", "histogram", "none"]
_UTC_UNITS: dict[str, Any] = {"day": "utcyearmonthdate", "week": "utcyearmonthdate", "month": "utcyearmonth",
              "quarter": "utcyearquarter", "year": "utcyear"}
_TIME_FORMATS = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


class ChartError(ChatBIError):
    """A chart could not be made or rendered."""

    code = "chart_error"


class ChartExportError(ChartError):
    """A chart image could not be rendered or written (disk full, no permission…)."""

    code = "chart_export_failed"


@dataclass(frozen=True)
class ChartChoice:
    """The chart kind for a result, and why."""

    kind: ChartKind
    reason: str


@dataclass(frozen=True)
class ChartResult:
    """A spec (or None) with the choice and notes for the user (e.g. why there is no chart)."""

    spec: dict[str, Any] | None
    choice: ChartChoice
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------
# Choosing
# ---------------------------------------------------------------------------------------

def choose_chart(df: pd.DataFrame, ctx: ChartContext) -> ChartChoice:
    """Pick the chart kind from the result's shape and the query."""
    df = prepare_frame(df)
    cols = result_columns(df, ctx)
    shape = classify(df, ctx, cols)
    en = ctx.en
    if shape == "empty":
        return ChartChoice("none", "The result is empty, so there is nothing to chart." if en
                           else "查询结果为空，没有可以画的图。")
    if shape == "table":
        return ChartChoice("none", "The result has no numeric column to chart." if en
                           else "结果中没有可以作图的数值列。")
    if shape == "single":
        return ChartChoice("big_number", "a single value" if en else "单个数值")
    if shape == "trend":
        return ChartChoice("line", "a time series" if en else "时间序列")
    if shape == "growth":
        return ChartChoice("diverging_bar", "growth by group, sorted" if en else "各组增长率，排序")
    if shape == "share":
        values = pd.to_numeric(df[cols.metrics[0]], errors="coerce")
        if (values < 0).any():
            return ChartChoice("bar", "shares with negative values" if en else "占比含负值，用条形图")
        if len(cols.dimensions) >= 2:
            return ChartChoice("stacked_bar", "share of total by two groups" if en else "两个维度的占比")
        return ChartChoice("donut", "share of total" if en else "占比")
    if shape == "scatter":
        return ChartChoice("scatter", "two measures" if en else "两个指标的关系")
    if shape == "distribution":
        return ChartChoice("histogram", "the distribution of many values" if en else "大量数值的分布")
    if shape == "breakdown":
        values = pd.to_numeric(df[cols.metrics[0]], errors="coerce")
        if not (values < 0).any():
            return ChartChoice("stacked_bar", "a metric by two groups" if en else "两个维度的拆分")
    return ChartChoice("bar", "a ranking" if en else "排名")


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------

def make_chart(df: pd.DataFrame, ctx: ChartContext) -> dict[str, Any] | None:
    """The Vega-Lite v5 spec for the result, or None when no chart fits (see ``build_chart``)."""
    return build_chart(df, ctx).spec


def build_chart(df: pd.DataFrame, ctx: ChartContext) -> ChartResult:
    """The spec, the choice and notes; a chart that cannot be made is omitted with a note."""
    choice = choose_chart(df, ctx)
    if choice.kind == "none":
        return ChartResult(None, choice, (_omitted(ctx, choice.reason),))
    builder = _Builder(prepare_frame(df), ctx)
    try:
        chart = getattr(builder, f"_{choice.kind}")()
        spec = _finish(chart, ctx)
    except (ValueError, KeyError, TypeError, IndexError, alt.utils.schemapi.SchemaValidationError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        return ChartResult(None, choice, tuple(builder.notes) + (_omitted(ctx, reason),))
    return ChartResult(spec, choice, tuple(builder.notes))


def _omitted(ctx: ChartContext, reason: str) -> str:
    return f"No chart: {reason}" if ctx.en else f"未生成图表：{reason}"


def _finish(chart: alt.TopLevelMixin, ctx: ChartContext) -> dict[str, Any]:
    chart = chart.configure(font=FONT_STACK).configure_view(stroke=None)
    spec = chart.to_dict()
    spec["$schema"] = VEGA_LITE_SCHEMA
    return spec


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


class _Builder:
    def __init__(self, df: pd.DataFrame, ctx: ChartContext):
        self.df, self.ctx = df, ctx
        self.cols: ResultColumns = result_columns(df, ctx)
        self.lang = ctx.language
        self.notes: list[str] = []

    # -- labels ----------------------------------------------------------------------------
    def metric_meta(self, name: str) -> MetricMeta:
        return self.ctx.metric(name)

    def metric_title(self, name: str) -> str:
        meta = self.metric_meta(name)
        label = meta.title(self.lang)
        unit = {"currency": "¥" if self.ctx.en else "元", "percent": "%",
                "days": "days" if self.ctx.en else "天"}.get(meta.format, meta.unit or "")
        if not unit or (self.ctx.en and has_cjk(unit)):
            return label
        return f"{label} ({unit})" if self.ctx.en else f"{label}（{unit}）"

    def dim_title(self, column: str) -> str:
        return self.ctx.dimension_title(column)

    def title(self, *parts: str) -> alt.TitleParams:
        start, end, label = self.ctx.time_bounds()
        joiner = " by " if self.ctx.en else " · 按"
        text = parts[0] + (joiner + parts[1] if len(parts) > 1 and parts[1] else "")
        return alt.TitleParams(text=text, subtitle=describe_time(start, end, label, self.lang),
                               anchor="start")

    def metric_axis(self, name: str, values: pd.Series, **extra: Any) -> alt.Axis:
        meta = self.metric_meta(name)
        max_abs = float(pd.to_numeric(values, errors="coerce").abs().max() or 0)
        props: dict[str, Any] = {"title": self.metric_title(name),
                                 **axis_format(meta.format, max_abs, self.lang), **extra}
        return alt.Axis(**props)

    def tooltip(self, name: str, field: str | None = None) -> alt.Tooltip:
        meta = self.metric_meta(name)
        return alt.Tooltip(field or name, type="quantitative", title=self.metric_title(name),
                           format=tooltip_format(meta.format))

    def top_categories(self, frame: pd.DataFrame, dim: str, metric: str, keep: int
                       ) -> tuple[pd.DataFrame, bool]:
        """Keep the ``keep`` largest categories; fold the rest into 其他 / Other when additive."""
        totals = frame.groupby(dim, dropna=False)[metric].sum(min_count=1).sort_values(ascending=False)
        if len(totals) <= keep + 1:
            return frame, False
        top = set(totals.index[:keep])
        other = "Other" if self.ctx.en else "其他"
        if not self.metric_meta(metric).additive:
            return frame[frame[dim].isin(top)], True
        frame = frame.copy()
        frame[dim] = frame[dim].where(frame[dim].isin(top), other)
        keys = [c for c in frame.columns if c not in _numeric_columns(frame)]
        return frame.groupby(keys, dropna=False, sort=False).sum(numeric_only=True).reset_index(), True

    # -- kinds -----------------------------------------------------------------------------
    def _big_number(self) -> alt.TopLevelMixin:
        row = self.df.iloc[0]
        cards = []
        for name in self.cols.metrics[:4]:
            meta = self.metric_meta(name)
            value = row[name]
            record: dict[str, Any] = {
                "metric": name, "label": meta.title(self.lang), "value": json_value(value),
                "value_text": format_value(value, meta.format, self.lang, unit=meta.unit),
                "comparison_text": "", "direction": "none",
            }
            growth = row[self.cols.growth[name]] if name in self.cols.growth else None
            previous = row[self.cols.previous[name]] if name in self.cols.previous else None
            if growth is not None and not is_missing(growth):
                record.update(self._comparison(meta, float(growth), previous))
            cards.append(record)
        context = " · ".join(str(row[d]) for d in self.cols.dimensions)
        base = alt.Chart(alt.Data(values=cards))
        y = alt.Y("label:N", axis=None, sort=None)
        label = base.mark_text(align="left", baseline="bottom", dy=-22, fontSize=14, color="#555").encode(
            x=alt.value(8), y=y, text="label:N")
        value = base.mark_text(align="left", baseline="middle", fontSize=36, fontWeight="bold").encode(
            x=alt.value(8), y=y, text="value_text:N")
        comparison = base.mark_text(align="left", baseline="top", dy=24, fontSize=14).encode(
            x=alt.value(8), y=y, text="comparison_text:N",
            color=alt.Color("direction:N", legend=None,
                            scale=alt.Scale(domain=["good", "bad", "none"], range=[GOOD, BAD, "#555"])))
        title = self.title(" · ".join(c["label"] for c in cards) + (f"（{context}）" if context and not self.ctx.en
                                                                   else f" ({context})" if context else ""))
        return alt.layer(label, value, comparison).properties(
            width=360, height=110 * len(cards), title=title)

    def _comparison(self, meta: MetricMeta, growth: float, previous: Any) -> dict[str, Any]:
        kind = self.ctx.query.comparison or "previous_period"
        good = (growth >= 0) == meta.higher_is_better
        prev = format_value(previous, meta.format, self.lang, unit=meta.unit)
        pct = format_percent(growth, signed=True)
        if self.ctx.en:
            word = "vs previous period" if kind == "previous_period" else "year over year"
            text = f"{pct} {word}" + (f" (was {prev})" if not is_missing(previous) else "")
        else:
            word = "环比" if kind == "previous_period" else "同比"
            text = f"{word} {pct}" + (f"（上期 {prev}）" if not is_missing(previous) else "")
        return {"comparison_text": text, "growth": growth, "previous": json_value(previous),
                "direction": "none" if growth == 0 else "good" if good else "bad"}

    def _line(self) -> alt.TopLevelMixin:
        time_col = self.cols.time
        assert time_col is not None
        metric = self.cols.metrics[0]
        frame = self.df
        dim = self.cols.dimension
        if dim:
            frame, cut = self.top_categories(frame, dim, metric, MAX_SERIES)
            if cut:
                self.notes.append(f"Only the top {MAX_SERIES} series are drawn." if self.ctx.en
                                  else f"图中只画出前 {MAX_SERIES} 个系列。")
        grain = self.ctx.query.grain or time_col
        fmt = _TIME_FORMATS.get(grain, "%Y 年 Q%q" if not self.ctx.en else "%Y Q%q")
        if grain == "quarter":
            fmt = "%Y Q%q" if self.ctx.en else "%Y年Q%q"
        x = alt.X(f"{time_col}:T", timeUnit=_UTC_UNITS.get(grain, "utcyearmonthdate"),
                  title=self.dim_title(time_col), axis=alt.Axis(format=fmt, labelAngle=0))
        y = alt.Y(f"{metric}:Q", axis=self.metric_axis(metric, frame[metric]))
        tooltip = [alt.Tooltip(f"{time_col}:T", timeUnit=_UTC_UNITS.get(grain, "utcyearmonthdate"),
                               title=self.dim_title(time_col), format=fmt), self.tooltip(metric)]
        encoding: dict[str, Any] = {"x": x, "y": y}
        if dim:
            encoding["color"] = alt.Color(f"{dim}:N", title=self.dim_title(dim))
            tooltip.insert(1, alt.Tooltip(f"{dim}:N", title=self.dim_title(dim)))
        points = frame[time_col].nunique() <= 36
        chart = alt.Chart(alt.Data(values=_records(frame))).mark_line(point=points).encode(
            tooltip=tooltip, **encoding)
        return chart.properties(width=WIDTH, height=300,
                                title=self.title(self.metric_meta(metric).title(self.lang)))

    def _bar(self) -> alt.TopLevelMixin:
        metric = self.cols.metrics[0]
        dims = list(self.cols.dimensions)
        frame = self.df
        if len(dims) > 1:
            label_col = "label"
            frame = frame.assign(label=frame[dims].astype(str).agg(" / ".join, axis=1))
        else:
            label_col = dims[0]
        frame = self._limit_bars(frame, metric)
        y_title = " / ".join(self.dim_title(d) for d in dims)
        y = alt.Y(f"{label_col}:N", sort="-x", title=y_title)
        x = alt.X(f"{metric}:Q", axis=self.metric_axis(metric, frame[metric]))
        tooltip = [alt.Tooltip(f"{label_col}:N", title=y_title), self.tooltip(metric)]
        if metric in self.cols.share:
            tooltip.append(alt.Tooltip(f"{self.cols.share[metric]}:Q", format=".1%",
                                       title="占比" if not self.ctx.en else "Share"))
        chart = alt.Chart(alt.Data(values=_records(frame))).mark_bar(color=NEUTRAL).encode(
            x=x, y=y, tooltip=tooltip)
        return chart.properties(width=WIDTH, height=_bar_height(len(frame)),
                                title=self.title(self.metric_meta(metric).title(self.lang),
                                                 " / ".join(self.dim_title(d) for d in dims)))

    def _limit_bars(self, frame: pd.DataFrame, metric: str, column: str | None = None) -> pd.DataFrame:
        if len(frame) <= MAX_BARS:
            return frame
        key = pd.to_numeric(frame[column or metric], errors="coerce").abs()
        self.notes.append(f"Only the {MAX_BARS} largest of {len(frame)} rows are drawn." if self.ctx.en
                          else f"图中只画出 {len(frame)} 行中最大的 {MAX_BARS} 行。")
        return frame.loc[key.sort_values(ascending=False).index[:MAX_BARS]]

    def _diverging_bar(self) -> alt.TopLevelMixin:
        metric = self.cols.metrics[0]
        growth = self.cols.growth[metric]
        dims = list(self.cols.dimensions)
        frame = self.df.copy()
        label_col = dims[0]
        if len(dims) > 1:
            label_col = "label"
            frame["label"] = frame[dims].astype(str).agg(" / ".join, axis=1)
        frame = frame[pd.to_numeric(frame[growth], errors="coerce").notna()]
        frame = self._limit_bars(frame, metric, growth)
        up, down = ("Growth", "Decline") if self.ctx.en else ("增长", "下降")
        frame["direction"] = [up if v >= 0 else down for v in pd.to_numeric(frame[growth])]
        meta = self.metric_meta(metric)
        colours = [GOOD, BAD] if meta.higher_is_better else [BAD, GOOD]
        kind = self.ctx.query.comparison or "previous_period"
        growth_title = (f"{meta.title(self.lang)} growth ({'vs previous period' if kind == 'previous_period' else 'YoY'}, %)"
                        if self.ctx.en else
                        f"{meta.title(self.lang)}{'环比' if kind == 'previous_period' else '同比'}增长率（%）")
        base = alt.Chart(alt.Data(values=_records(frame)))
        y_title = " / ".join(self.dim_title(d) for d in dims)
        y = alt.Y(f"{label_col}:N", sort="-x", title=y_title)
        tooltip = [alt.Tooltip(f"{label_col}:N", title=y_title),
                   alt.Tooltip(f"{growth}:Q", format="+.1%", title=growth_title), self.tooltip(metric)]
        if metric in self.cols.previous:
            previous_title = "Previous" if self.ctx.en else "上期"
            tooltip.append(alt.Tooltip(f"{self.cols.previous[metric]}:Q", title=previous_title,
                                       format=tooltip_format(meta.format)))
        bars = base.mark_bar().encode(
            x=alt.X(f"{growth}:Q", axis=alt.Axis(title=growth_title, format="+.0~%")),
            y=y,
            color=alt.Color("direction:N", title=None,
                            scale=alt.Scale(domain=[up, down], range=colours)),
            tooltip=tooltip)
        rule = base.mark_rule(color="#333").encode(x=alt.datum(0))
        return alt.layer(bars, rule).properties(
            width=WIDTH, height=_bar_height(len(frame)),
            title=self.title(growth_title.replace("（%）", "").replace(", %)", ")"),
                             " / ".join(self.dim_title(d) for d in dims)))

    def _donut(self) -> alt.TopLevelMixin:
        metric = self.cols.metrics[0]
        dim = self.cols.dimensions[0]
        frame = self.df[[dim, metric]].copy()
        frame, cut = self.top_categories(frame, dim, metric, MAX_SLICES)
        total = pd.to_numeric(frame[metric], errors="coerce").sum()
        share_col = f"{metric}_share"
        frame[share_col] = pd.to_numeric(frame[metric], errors="coerce") / total if total else None
        if cut:
            self.notes.append(f"Groups after the top {MAX_SLICES} are combined into Other." if self.ctx.en
                              else f"前 {MAX_SLICES} 名以外合并为“其他”。")
        other = "Other" if self.ctx.en else "其他"
        frame = frame.assign(_last=frame[dim].astype(str) == other).sort_values(
            ["_last", metric], ascending=[True, False]).drop(columns="_last")
        share_title = "Share" if self.ctx.en else "占比"
        frame["_order"] = range(len(frame))
        base = alt.Chart(alt.Data(values=_records(frame))).encode(
            theta=alt.Theta(f"{metric}:Q", stack=True),
            color=alt.Color(f"{dim}:N", title=self.dim_title(dim), sort=list(frame[dim].astype(str))),
            order=alt.Order("_order:Q"),
            tooltip=[alt.Tooltip(f"{dim}:N", title=self.dim_title(dim)), self.tooltip(metric),
                     alt.Tooltip(f"{share_col}:Q", format=".1%", title=share_title)])
        arcs = base.mark_arc(innerRadius=70, outerRadius=130)
        labels = base.mark_text(radius=150, fontSize=12).encode(
            text=alt.Text(f"{share_col}:Q", format=".0%"))
        return alt.layer(arcs, labels).properties(
            width=340, height=320,
            title=self.title(f"{self.metric_meta(metric).title(self.lang)}{' share' if self.ctx.en else '占比'}",
                             self.dim_title(dim)))

    def _stacked_bar(self) -> alt.TopLevelMixin:
        metric = self.cols.metrics[0]
        dim1, dim2 = self.cols.dimensions[0], self.cols.dimensions[1]
        frame = self.df[[dim1, dim2, metric]].copy()
        frame, cut = self.top_categories(frame, dim2, metric, MAX_SLICES)
        if cut:
            self.notes.append(f"Colours after the top {MAX_SLICES} are combined into Other." if self.ctx.en
                              else f"颜色只区分前 {MAX_SLICES} 名，其余合并为“其他”。")
        share = self.ctx.query.share_of_total or bool(self.cols.share)
        axis = (alt.Axis(title="Share (%)" if self.ctx.en else "占比（%）", format=".0%") if share
                else self.metric_axis(metric, frame.groupby(dim1)[metric].sum()))
        x = alt.X(f"{metric}:Q", stack="normalize" if share else "zero", axis=axis)
        if not share:
            x = alt.X(f"sum({metric}):Q", stack="zero", axis=axis)
        chart = alt.Chart(alt.Data(values=_records(frame))).mark_bar().encode(
            x=x,
            y=alt.Y(f"{dim1}:N", sort="-x", title=self.dim_title(dim1)),
            color=alt.Color(f"{dim2}:N", title=self.dim_title(dim2)),
            tooltip=[alt.Tooltip(f"{dim1}:N", title=self.dim_title(dim1)),
                     alt.Tooltip(f"{dim2}:N", title=self.dim_title(dim2)), self.tooltip(metric)])
        n = frame[dim1].nunique()
        return chart.properties(width=WIDTH, height=_bar_height(n),
                                title=self.title(self.metric_meta(metric).title(self.lang),
                                                 f"{self.dim_title(dim1)} / {self.dim_title(dim2)}"))

    def _scatter(self) -> alt.TopLevelMixin:
        m1, m2 = self.cols.metrics[0], self.cols.metrics[1]
        dims = list(self.cols.dimensions)
        frame = self.df
        tooltip = [alt.Tooltip(f"{d}:N", title=self.dim_title(d)) for d in dims]
        tooltip += [self.tooltip(m1), self.tooltip(m2)]
        base = alt.Chart(alt.Data(values=_records(frame))).encode(
            x=alt.X(f"{m1}:Q", axis=self.metric_axis(m1, frame[m1])),
            y=alt.Y(f"{m2}:Q", axis=self.metric_axis(m2, frame[m2])),
            tooltip=tooltip)
        points = base.mark_circle(size=80, color=NEUTRAL, opacity=0.8)
        layers = [points]
        if dims and len(frame) <= 20:
            layers.append(base.mark_text(align="left", dx=7, fontSize=11).encode(text=f"{dims[0]}:N"))
        title = (f"{self.metric_meta(m1).title(self.lang)} vs {self.metric_meta(m2).title(self.lang)}"
                 if self.ctx.en else
                 f"{self.metric_meta(m1).title(self.lang)}与{self.metric_meta(m2).title(self.lang)}")
        return alt.layer(*layers).properties(width=WIDTH, height=340, title=self.title(title))

    def _histogram(self) -> alt.TopLevelMixin:
        metric = self.cols.metrics[0]
        dim = self.cols.dimension
        count_title = (f"Number of {self.dim_title(dim) if dim else 'rows'}" if self.ctx.en
                       else f"{self.dim_title(dim) if dim else '记录'}数")
        frame = self.df[[metric]]
        chart = alt.Chart(alt.Data(values=_records(frame))).mark_bar(color=NEUTRAL).encode(
            x=alt.X(f"{metric}:Q", bin=alt.Bin(maxbins=20), axis=self.metric_axis(metric, frame[metric])),
            y=alt.Y("count():Q", title=count_title),
            tooltip=[alt.Tooltip(f"{metric}:Q", bin=alt.Bin(maxbins=20), title=self.metric_title(metric)),
                     alt.Tooltip("count():Q", title=count_title)])
        title = (f"Distribution of {self.metric_meta(metric).title(self.lang)}" if self.ctx.en
                 else f"{self.metric_meta(metric).title(self.lang)}分布")
        return chart.properties(width=WIDTH, height=280, title=self.title(title))


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]


def _bar_height(n: int) -> int:
    return max(120, min(22 * n, 22 * MAX_BARS))


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

def _spec_text(spec: Any) -> Sequence[str]:
    if isinstance(spec, dict):
        return [t for v in spec.values() for t in _spec_text(v)]
    if isinstance(spec, list):
        return [t for v in spec for t in _spec_text(v)]
    return [spec] if isinstance(spec, str) else []


def _with_font(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of the spec whose font is the registered CJK font (when the text needs one)."""
    needs_cjk = any(has_cjk(t) for t in _spec_text(spec))
    font = register_cjk_font()
    if font is None:
        if needs_cjk:
            raise MissingCJKFontError(missing_font_message("zh") + " / " + missing_font_message("en"))
        return spec
    out = dict(spec)
    config = dict(out.get("config") or {})
    config["font"] = f"{font.family}, sans-serif"
    out["config"] = config
    return out


def chart_svg(spec: dict[str, Any]) -> str:
    """Render a spec to SVG text with vl-convert (Vega-Lite ``VL_VERSION``)."""
    import vl_convert

    try:
        return vl_convert.vegalite_to_svg(_with_font(spec), vl_version=VL_VERSION)
    except ChatBIError:
        raise
    except Exception as exc:  # vl-convert raises ValueError and its own errors
        raise ChartExportError(f"图表渲染失败 / Chart rendering failed: {exc}") from exc


def chart_png(spec: dict[str, Any], path: Path, *, scale: float = 2.0) -> Path:
    """Render a spec to a PNG file with CJK fonts registered; the file is replaced atomically.

    Raises ``MissingCJKFontError`` when the chart has Chinese text and no CJK font exists,
    ``ChartExportError`` when rendering or writing fails (with the reason, e.g. disk full).
    """
    import vl_convert

    path = Path(path)
    try:
        data = vl_convert.vegalite_to_png(_with_font(spec), vl_version=VL_VERSION, scale=scale)
    except ChatBIError:
        raise
    except Exception as exc:
        raise ChartExportError(f"图表渲染失败 / Chart rendering failed: {exc}") from exc
    try:
        if path.exists() and not path.is_file():  # /dev/stdout, /dev/full, a FIFO: write into it
            with open(path, "wb") as target:  # (renaming over it would replace the device)
                target.write(data)
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ChartExportError(_write_error(path, exc), detail=str(exc)) from exc
    return path


def _write_error(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        reason_zh, reason_en = "磁盘空间不足", "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason_zh, reason_en = "没有写入权限", "permission denied"
    elif exc.errno in (errno.ENOTDIR, errno.ENOENT):
        reason_zh, reason_en = "目录不存在或不是目录", "the folder does not exist or is not a folder"
    else:
        reason_zh = reason_en = exc.strerror or type(exc).__name__
    return (f"无法保存图表图片 {path}：{reason_zh}。 / Could not save the chart image {path}: "
            f"{reason_en}.")
