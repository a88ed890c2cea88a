"""Vega-Lite v5 specs for relationship answers: network pictures, funnels, rankings.

A network is drawn as layered marks: edges as ``rule`` marks between node positions, nodes
as ``circle`` marks sized by one metric and coloured by another, and text labels. Positions
come from networkx's spring layout with a fixed seed (``graph.spring_positions``), so the
picture is the same for the same data. At most ``MAX_NODES`` nodes are drawn. The specs
use the same font stack and schema as ``chatbi.answer.charts`` and render to PNG with
``chatbi.answer.charts.chart_png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd

from chatbi.answer.charts import NEUTRAL, VEGA_LITE_SCHEMA, WIDTH
from chatbi.answer.fonts import FONT_STACK
from chatbi.answer.types import json_value
from chatbi.relations.graph import spring_positions

MAX_NODES = 25
MAX_BARS = 25
HIGHLIGHT = "#e76f51"


@dataclass(frozen=True)
class Node:
    """One node of a network picture."""

    key: object
    label: str
    size: float  # drives the circle area
    color: float | str | None  # a metric (number) or a group (text)
    tooltip: dict[str, Any] = field(default_factory=dict)
    highlight: bool = False


@dataclass(frozen=True)
class Edge:
    a: object
    b: object
    weight: float
    tooltip: dict[str, Any] = field(default_factory=dict)
    secondary: bool = False  # drawn fainter (e.g. links between the neighbours of an ego network)


def _finish(chart: alt.TopLevelMixin) -> dict[str, Any]:
    spec = chart.configure(font=FONT_STACK).configure_view(stroke=None).to_dict()
    spec["$schema"] = VEGA_LITE_SCHEMA
    return spec


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def network_spec(nodes: Sequence[Node], edges: Sequence[Edge], *, title: str, subtitle: str = "",
                 size_title: str, color_title: str, edge_title: str) -> dict[str, Any]:
    """A network picture of at most ``MAX_NODES`` nodes (the largest by size are kept)."""
    kept = sorted(nodes, key=lambda n: (not n.highlight, -float(n.size or 0)))[:MAX_NODES]
    keys = {n.key for n in kept}
    kept_edges = [e for e in edges if e.a in keys and e.b in keys and e.a != e.b]
    center = next((n.key for n in kept if n.highlight), None)
    layout_edges = [e for e in kept_edges if not e.secondary] or kept_edges
    pos = spring_positions([n.key for n in kept], [(e.a, e.b, e.weight) for e in layout_edges],
                           center=center)
    node_rows = []
    for n in kept:
        nx_, ny_ = pos.get(n.key, (0.0, 0.0))
        node_rows.append({"key": str(n.key), "label": n.label, "x": nx_, "y": ny_,
                          "size": float(n.size or 0), "color": n.color,
                          "highlight": n.highlight, **{k: json_value(v) for k, v in n.tooltip.items()}})
    edge_rows = []
    for e in kept_edges:
        (ax, ay), (bx, by) = pos[e.a], pos[e.b]
        edge_rows.append({"x": ax, "y": ay, "x2": bx, "y2": by, "weight": float(e.weight),
                          "opacity": 0.18 if e.secondary else 0.6,
                          **{k: json_value(v) for k, v in e.tooltip.items()}})
    scale = alt.Scale(domain=[-1.25, 1.25], nice=False, zero=False)
    x = alt.X("x:Q", axis=None, scale=scale)
    y = alt.Y("y:Q", axis=None, scale=scale)
    numeric = all(isinstance(r["color"], int | float) or r["color"] is None for r in node_rows)
    color = (alt.Color("color:Q", title=color_title, scale=alt.Scale(scheme="teals"))
             if numeric else alt.Color("color:N", title=color_title, scale=alt.Scale(scheme="tableau10")))
    node_tips = [alt.Tooltip("label:N", title=" ")] + [
        alt.Tooltip(f"{k}:{'Q' if isinstance(v, int | float) else 'N'}", title=k)
        for k, v in (kept[0].tooltip.items() if kept else [])]
    layers = []
    if edge_rows:
        edge_tips = [alt.Tooltip(f"{k}:{'Q' if isinstance(v, int | float) else 'N'}", title=k)
                     for k, v in kept_edges[0].tooltip.items()]
        layers.append(alt.Chart(alt.Data(values=edge_rows)).mark_rule(color="#8a96a3")
                      .encode(x=x, y=y, x2="x2:Q", y2="y2:Q",
                              opacity=alt.Opacity("opacity:Q", scale=None, legend=None),
                              strokeWidth=alt.StrokeWidth("weight:Q", title=edge_title,
                                                          scale=alt.Scale(range=[0.5, 7])),
                              tooltip=edge_tips or alt.Undefined))
    base = alt.Chart(alt.Data(values=node_rows))
    layers.append(base.mark_circle(opacity=0.92, stroke="white", strokeWidth=1.2).encode(
        x=x, y=y, color=color,
        size=alt.Size("size:Q", title=size_title, scale=alt.Scale(range=[60, 1800])),
        tooltip=node_tips))
    if any(r["highlight"] for r in node_rows):
        layers.append(base.transform_filter("datum.highlight").mark_circle(
            fill=None, stroke=HIGHLIGHT, strokeWidth=3).encode(
            x=x, y=y, size=alt.Size("size:Q", title=size_title, scale=alt.Scale(range=[60, 1800]))))
    layers.append(base.mark_text(dy=-13, fontSize=11, color="#222").encode(x=x, y=y, text="label:N"))
    chart = alt.layer(*layers).resolve_scale(size="shared").properties(
        width=WIDTH, height=440, title=alt.TitleParams(text=title, subtitle=subtitle or alt.Undefined,
                                                       anchor="start"))
    return _finish(chart)


def funnel_spec(frame: pd.DataFrame, *, title: str, subtitle: str, users_title: str,
                dimension: str | None = None, dimension_title: str | None = None,
                language: str = "zh") -> dict[str, Any]:
    """Horizontal funnel bars in step order, labelled with users and conversion."""
    frame = frame.copy()
    frame["text"] = [
        f"{int(u):,}" + ("" if pd.isna(c) else f" ({c * 100:.1f}%)")
        for u, c in zip(frame["users"], frame["overall_conversion"], strict=True)]
    order = list(dict.fromkeys(frame.sort_values("step_no")["step_label"]))
    y = alt.Y("step_label:N", sort=order, title=None)
    x = alt.X("users:Q", title=users_title)
    tips = [alt.Tooltip("step_label:N", title="步骤" if language != "en" else "Step"),
            alt.Tooltip("users:Q", title=users_title, format=","),
            alt.Tooltip("step_conversion:Q", format=".1%",
                        title="步骤转化率" if language != "en" else "Step conversion"),
            alt.Tooltip("overall_conversion:Q", format=".1%",
                        title="整体转化率" if language != "en" else "Overall conversion")]
    base = alt.Chart(alt.Data(values=_records(frame)))
    if dimension:
        tips.insert(0, alt.Tooltip(f"{dimension}:N", title=dimension_title or dimension))
        bars = base.mark_bar().encode(
            x=x, y=y, yOffset=alt.YOffset(f"{dimension}:N"),
            color=alt.Color(f"{dimension}:N", title=dimension_title or dimension), tooltip=tips)
        height = max(160, 18 * len(frame))
        chart = bars
    else:
        bars = base.mark_bar(color=NEUTRAL).encode(x=x, y=y, tooltip=tips)
        text = base.mark_text(align="left", dx=4, fontSize=12).encode(x=x, y=y, text="text:N")
        chart = alt.layer(bars, text)
        height = 60 * len(frame) + 40
    chart = chart.properties(width=WIDTH - 80, height=height,
                             title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"))
    return _finish(chart)


def bar_spec(frame: pd.DataFrame, *, label: str, value: str, title: str, subtitle: str,
             value_title: str, value_format: str = ",.0f", color: str | None = None,
             color_title: str | None = None, tooltip: Sequence[str] = ()) -> dict[str, Any]:
    """A horizontal ranking bar chart (top ``MAX_BARS`` rows, in frame order)."""
    frame = frame.head(MAX_BARS).copy()
    frame[label] = frame[label].astype(str)
    order = list(dict.fromkeys(frame[label]))
    tips = [alt.Tooltip(f"{label}:N", title=" "),
            alt.Tooltip(f"{value}:Q", title=value_title, format=value_format)]
    tips += [alt.Tooltip(f"{c}:{'Q' if pd.api.types.is_numeric_dtype(frame[c]) else 'N'}", title=c)
             for c in tooltip if c in frame.columns]
    encoding: dict[str, Any] = {
        "x": alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format=value_format)),
        "y": alt.Y(f"{label}:N", sort=order, title=None),
        "tooltip": tips,
    }
    mark: dict[str, Any] = {}
    if color and color in frame.columns:
        encoding["color"] = alt.Color(f"{color}:N", title=color_title or color)
    else:
        mark["color"] = NEUTRAL
    chart = alt.Chart(alt.Data(values=_records(frame))).mark_bar(**mark).encode(**encoding)
    return _finish(chart.properties(width=WIDTH, height=max(120, 22 * len(frame)),
                                    title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start")))
