"""Charts chosen by the result's shape: Vega-Lite v5 specs as plain dicts, data inline.

``choose_chart`` maps the shape (``context.classify``) to a chart kind; ``build_chart`` makes
the spec and says why a chart was left out; ``chart_png`` renders a spec with vl-convert and
a registered CJK font. Nothing here executes generated code: specs are plain data.

The specs are built as dicts (the shape Altair's ``to_dict`` produces) rather than through
Altair, whose object building, deep copies and schema validation cost more than the query
on a typical answer; tests/answer/test_charts.py validates them against the Vega-Lite v5
JSON schema instead. They use only Vega-Lite 5 features, are stamped with the v5
``$schema`` (``VEGA_LITE_SCHEMA``) and rendered with vl-convert's Vega-Lite ``VL_VERSION``,
which is what INTERFACES.md promises.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
        spec = _finish(getattr(builder, f"_{choice.kind}")())
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        return ChartResult(None, choice, tuple(builder.notes) + (_omitted(ctx, reason),))
    return ChartResult(spec, choice, tuple(builder.notes))


def _omitted(ctx: ChartContext, reason: str) -> str:
    return f"No chart: {reason}" if ctx.en else f"未生成图表：{reason}"


# ---- plain Vega-Lite dicts ------------------------------------------------------------
# Specs are built as plain dicts, the shape Altair's ``to_dict`` gave (tests/answer validates
# them against the Vega-Lite v5 JSON schema): no schema objects, deep copies or validation
# on the answering path.

_TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}


def channel(shorthand: str, **props: Any) -> dict[str, Any]:
    """An encoding channel from Altair-style shorthand: ``"gmv:Q"``, ``"sum(gmv):Q"``,
    ``"count():Q"``; keyword properties are added as given (None is JSON null)."""
    name, _, kind = shorthand.rpartition(":") if shorthand[-2:-1] == ":" else (shorthand, "", "")
    out: dict[str, Any] = {}
    if name.endswith(")") and "(" in name:
        aggregate, _, inner = name[:-1].partition("(")
        out["aggregate"] = aggregate
        if inner:
            out["field"] = inner
    else:
        out["field"] = name
    if kind:
        out["type"] = _TYPES[kind]
    out.update(props)
    return out


def title_params(text: str, subtitle: str | None = None) -> dict[str, Any]:
    """A chart title anchored at the start, with an optional subtitle."""
    out: dict[str, Any] = {"text": text, "anchor": "start"}
    if subtitle is not None:
        out["subtitle"] = subtitle
    return out


def view(mark: str, encoding: dict[str, Any], **mark_props: Any) -> dict[str, Any]:
    """One unit view (mark and encoding, no data)."""
    return {"mark": {"type": mark, **mark_props}, "encoding": encoding}


def top_level(data: list[dict[str, Any]], body: dict[str, Any] | list[dict[str, Any]], *,
              width: int, height: int, title: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A top-level spec: one view (``body`` a dict) or a layer of views (a list), data inline."""
    spec: dict[str, Any] = {}
    if isinstance(body, list):
        spec["layer"] = body
        spec["data"] = {"values": data}
    else:
        spec["data"] = {"values": data}
        spec.update(body)
    spec.update(extra)
    spec.update({"height": height, "title": title, "width": width})
    return spec


def _finish(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the shared config (CJK font stack, no view border) and the v5 ``$schema``."""
    return {"config": {"view": {"continuousWidth": 300, "continuousHeight": 300, "stroke": None},
                       "font": FONT_STACK},
            **spec, "$schema": VEGA_LITE_SCHEMA}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in df.columns]
    return [{k: json_value(v) for k, v in zip(columns, row, strict=True)}
            for row in df.itertuples(index=False, name=None)]


class _Builder:
    def __init__(self, df: pd.DataFrame, ctx: ChartContext):
        self.df, self.ctx = df, ctx
        self.cols: ResultColumns = result_columns(df, ctx)
        self.lang = ctx.language
        self.notes: list[str] = []

    # -- labels: every title and field title passes through these ---------------------------
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
        title = self.ctx.dimension_title(column)  # an axis or legend header, as the tables write it
        return title[:1].upper() + title[1:] if self.ctx.en else title

    def title(self, *parts: str) -> dict[str, Any]:
        start, end, label = self.ctx.time_bounds()
        joiner = " by " if self.ctx.en else " · 按"
        text = parts[0] + (joiner + parts[1] if len(parts) > 1 and parts[1] else "")
        return title_params(text, describe_time(start, end, label, self.lang))

    def metric_axis(self, name: str, values: pd.Series, **extra: Any) -> dict[str, Any]:
        meta = self.metric_meta(name)
        max_abs = float(pd.to_numeric(values, errors="coerce").abs().max() or 0)
        return {"title": self.metric_title(name), **axis_format(meta.format, max_abs, self.lang), **extra}

    def tooltip(self, name: str, field: str | None = None) -> dict[str, Any]:
        meta = self.metric_meta(name)
        return channel(field or name, type="quantitative", title=self.metric_title(name),
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
    def _big_number(self) -> dict[str, Any]:
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

        def text(field: str, **extra: Any) -> dict[str, Any]:
            return {"text": channel(f"{field}:N"), "x": {"value": 8},
                    "y": channel("label:N", axis=None, sort=None), **extra}

        direction = channel("direction:N", legend=None,
                            scale={"domain": ["good", "bad", "none"], "range": [GOOD, BAD, "#555"]})
        layers = [
            view("text", text("label"), align="left", baseline="bottom", color="#555", dy=-22, fontSize=14),
            view("text", text("value_text"), align="left", baseline="middle", fontSize=36, fontWeight="bold"),
            view("text", text("comparison_text", color=direction), align="left", baseline="top", dy=24,
                 fontSize=14),
        ]
        title = self.title(" · ".join(c["label"] for c in cards) + (f"（{context}）" if context and not self.ctx.en
                                                                   else f" ({context})" if context else ""))
        return top_level(cards, layers, width=360, height=110 * len(cards), title=title)

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

    def _line(self) -> dict[str, Any]:
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
        unit = _UTC_UNITS.get(grain, "utcyearmonthdate")
        tooltip = [channel(f"{time_col}:T", timeUnit=unit, title=self.dim_title(time_col), format=fmt),
                   self.tooltip(metric)]
        encoding: dict[str, Any] = {
            "x": channel(f"{time_col}:T", timeUnit=unit, title=self.dim_title(time_col),
                         axis={"format": fmt, "labelAngle": 0}),
            "y": channel(f"{metric}:Q", axis=self.metric_axis(metric, frame[metric])),
        }
        if dim:
            encoding["color"] = channel(f"{dim}:N", title=self.dim_title(dim))
            tooltip.insert(1, channel(f"{dim}:N", title=self.dim_title(dim)))
        encoding["tooltip"] = tooltip
        points = bool(frame[time_col].nunique() <= 36)
        return top_level(_records(frame), view("line", encoding, point=points), width=WIDTH, height=300,
                         title=self.title(self.metric_meta(metric).title(self.lang)))

    def _bar(self) -> dict[str, Any]:
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
        tooltip = [channel(f"{label_col}:N", title=y_title), self.tooltip(metric)]
        if metric in self.cols.share:
            tooltip.append(channel(f"{self.cols.share[metric]}:Q", format=".1%",
                                   title="占比" if not self.ctx.en else "Share"))
        encoding = {"x": channel(f"{metric}:Q", axis=self.metric_axis(metric, frame[metric])),
                    "y": channel(f"{label_col}:N", sort="-x", title=y_title), "tooltip": tooltip}
        return top_level(_records(frame), view("bar", encoding, color=NEUTRAL), width=WIDTH,
                         height=_bar_height(len(frame)),
                         title=self.title(self.metric_meta(metric).title(self.lang),
                                          " / ".join(self.dim_title(d) for d in dims)))

    def _limit_bars(self, frame: pd.DataFrame, metric: str, column: str | None = None) -> pd.DataFrame:
        if len(frame) <= MAX_BARS:
            return frame
        key = pd.to_numeric(frame[column or metric], errors="coerce").abs()
        self.notes.append(f"Only the {MAX_BARS} largest of {len(frame)} rows are drawn." if self.ctx.en
                          else f"图中只画出 {len(frame)} 行中最大的 {MAX_BARS} 行。")
        return frame.loc[key.sort_values(ascending=False).index[:MAX_BARS]]

    def _diverging_bar(self) -> dict[str, Any]:
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
        y_title = " / ".join(self.dim_title(d) for d in dims)
        tooltip = [channel(f"{label_col}:N", title=y_title),
                   channel(f"{growth}:Q", format="+.1%", title=growth_title), self.tooltip(metric)]
        if metric in self.cols.previous:
            previous_title = "Previous" if self.ctx.en else "上期"
            tooltip.append(channel(f"{self.cols.previous[metric]}:Q", title=previous_title,
                                   format=tooltip_format(meta.format)))
        bars = view("bar", {
            "x": channel(f"{growth}:Q", axis={"title": growth_title, "format": "+.0~%"}),
            "y": channel(f"{label_col}:N", sort="-x", title=y_title),
            "color": channel("direction:N", title=None, scale={"domain": [up, down], "range": colours}),
            "tooltip": tooltip})
        rule = view("rule", {"x": {"datum": 0}}, color="#333")
        return top_level(_records(frame), [bars, rule], width=WIDTH, height=_bar_height(len(frame)),
                         title=self.title(growth_title.replace("（%）", "").replace(", %)", ")"),
                                          " / ".join(self.dim_title(d) for d in dims)))

    def _donut(self) -> dict[str, Any]:
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

        def encoding(**extra: Any) -> dict[str, Any]:
            return {
                "theta": channel(f"{metric}:Q", stack=True),
                "color": channel(f"{dim}:N", title=self.dim_title(dim), sort=list(frame[dim].astype(str))),
                "order": channel("_order:Q"),
                "tooltip": [channel(f"{dim}:N", title=self.dim_title(dim)), self.tooltip(metric),
                            channel(f"{share_col}:Q", format=".1%", title=share_title)],
                **extra,
            }

        arcs = view("arc", encoding(), innerRadius=70, outerRadius=130)
        labels = view("text", encoding(text=channel(f"{share_col}:Q", format=".0%")), fontSize=12, radius=150)
        return top_level(_records(frame), [arcs, labels], width=340, height=320,
                         title=self.title(f"{self.metric_meta(metric).title(self.lang)}"
                                          f"{' share' if self.ctx.en else '占比'}", self.dim_title(dim)))

    def _stacked_bar(self) -> dict[str, Any]:
        metric = self.cols.metrics[0]
        dim1, dim2 = self.cols.dimensions[0], self.cols.dimensions[1]
        frame = self.df[[dim1, dim2, metric]].copy()
        frame, cut = self.top_categories(frame, dim2, metric, MAX_SLICES)
        if cut:
            self.notes.append(f"Colours after the top {MAX_SLICES} are combined into Other." if self.ctx.en
                              else f"颜色只区分前 {MAX_SLICES} 名，其余合并为“其他”。")
        share = self.ctx.query.share_of_total or bool(self.cols.share)
        axis = ({"title": "Share (%)" if self.ctx.en else "占比（%）", "format": ".0%"} if share
                else self.metric_axis(metric, frame.groupby(dim1)[metric].sum()))
        additive = self.metric_meta(metric).additive
        if share:
            x = channel(f"{metric}:Q", stack="normalize", axis=axis)
        elif additive:
            x = channel(f"sum({metric}):Q", stack="zero", axis=axis)
        else:  # a rate or an average: bars side by side, never stacked into a meaningless sum
            x = channel(f"{metric}:Q", stack=None, axis=self.metric_axis(metric, frame[metric]))
        encoding = {
            "x": x,
            "y": channel(f"{dim1}:N", sort="-x", title=self.dim_title(dim1)),
            "color": channel(f"{dim2}:N", title=self.dim_title(dim2)),
            **({} if share or additive else {"yOffset": channel(f"{dim2}:N")}),
            "tooltip": [channel(f"{dim1}:N", title=self.dim_title(dim1)),
                        channel(f"{dim2}:N", title=self.dim_title(dim2)), self.tooltip(metric)],
        }
        n = frame[dim1].nunique()
        return top_level(_records(frame), view("bar", encoding), width=WIDTH, height=_bar_height(n),
                         title=self.title(self.metric_meta(metric).title(self.lang),
                                          f"{self.dim_title(dim1)} / {self.dim_title(dim2)}"))

    def _scatter(self) -> dict[str, Any]:
        m1, m2 = self.cols.metrics[0], self.cols.metrics[1]
        dims = list(self.cols.dimensions)
        frame = self.df
        tooltip = [channel(f"{d}:N", title=self.dim_title(d)) for d in dims]
        tooltip += [self.tooltip(m1), self.tooltip(m2)]

        def encoding(**extra: Any) -> dict[str, Any]:
            return {"x": channel(f"{m1}:Q", axis=self.metric_axis(m1, frame[m1])),
                    "y": channel(f"{m2}:Q", axis=self.metric_axis(m2, frame[m2])),
                    "tooltip": tooltip, **extra}

        layers = [view("circle", encoding(), color=NEUTRAL, opacity=0.8, size=80)]
        if dims and len(frame) <= 20:
            layers.append(view("text", encoding(text=channel(f"{dims[0]}:N")), align="left", dx=7, fontSize=11))
        title = (f"{self.metric_meta(m1).title(self.lang)} vs {self.metric_meta(m2).title(self.lang)}"
                 if self.ctx.en else
                 f"{self.metric_meta(m1).title(self.lang)}与{self.metric_meta(m2).title(self.lang)}")
        return top_level(_records(frame), layers, width=WIDTH, height=340, title=self.title(title))

    def _histogram(self) -> dict[str, Any]:
        metric = self.cols.metrics[0]
        dim = self.cols.dimension
        count_title = (f"Number of {self.dim_title(dim) if dim else 'rows'}" if self.ctx.en
                       else f"{self.dim_title(dim) if dim else '记录'}数")
        frame = self.df[[metric]]
        encoding = {
            "x": channel(f"{metric}:Q", bin={"maxbins": 20}, axis=self.metric_axis(metric, frame[metric])),
            "y": channel("count():Q", title=count_title),
            "tooltip": [channel(f"{metric}:Q", bin={"maxbins": 20}, title=self.metric_title(metric)),
                        channel("count():Q", title=count_title)],
        }
        title = (f"Distribution of {self.metric_meta(metric).title(self.lang)}" if self.ctx.en
                 else f"{self.metric_meta(metric).title(self.lang)}分布")
        return top_level(_records(frame), view("bar", encoding, color=NEUTRAL), width=WIDTH, height=280,
                         title=self.title(title))


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
