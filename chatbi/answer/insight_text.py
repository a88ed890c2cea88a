"""The why-analysis finding (facts first, every number checked) and its diverging-bar chart.

``insight_facts`` lists every number the drivers frame and the totals produced (as
``chatbi.answer.facts.Facts``), ``write_insight`` writes two or three sentences from them in
the question's language, and ``findings.check_finding`` verifies the text against the facts.
``insight_chart`` draws the top contributions as a diverging bar (Altair, Vega-Lite v5) in the
style of ``chatbi.answer.charts``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from chatbi.answer.charts import BAD, GOOD, VEGA_LITE_SCHEMA, WIDTH
from chatbi.answer.context import describe_time
from chatbi.answer.facts import FactNumber, Facts
from chatbi.answer.fonts import FONT_STACK
from chatbi.answer.insight_decompose import Totals
from chatbi.answer.numbers import axis_format, format_money, format_percent, format_value
from chatbi.answer.types import json_value
from chatbi.semantic.query import TimeRange

_NUMERIC = re.compile(r"[+\-]?[\d,]*\.?\d+")
MAX_CHART_BARS = 12
MAX_FIRST_DIMENSION_BARS = 8
MAX_DRIVERS = 3
OFFSET_SHARE = 0.25
FLAT_CHANGE = 0.01  # a relative change below 1% is "flat": no single driver is named  # mention an offsetting segment when it cancels ≥ 25% of the change


@dataclass(frozen=True)
class MetricText:
    """How to name and format the analysed metric."""

    name: str
    label: str
    format: str
    unit: str | None
    higher_is_better: bool
    ratio: bool  # decomposed as a ratio: contributions are in the metric's own units

    @property
    def percent(self) -> bool:
        return self.format == "percent"


def value_kind(metric: MetricText) -> str:
    """The fact kind of the metric's values and contributions (percent metrics are ratios)."""
    return "ratio" if metric.percent else "amount"


# ---------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------

def insight_facts(frame: pd.DataFrame, totals: Totals, metric: MetricText, *, current: TimeRange,
                  base: TimeRange, language: str, labels: list[str]) -> Facts:
    """Every number a why-finding may state, with the labels and dates it may name."""
    numbers: dict[tuple[float, str], FactNumber] = {}

    def add(value: Any, kind: str) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        if math.isfinite(number):
            numbers.setdefault((round(number, 9), kind), FactNumber(number, kind))  # type: ignore[arg-type]

    kind = value_kind(metric)
    for value in (totals.base, totals.current, totals.change):
        add(value, kind)
    if totals.base:
        add(totals.change / totals.base, "ratio")
    for column in ("base", "current", "change", "contribution", "rate_effect", "mix_effect"):
        if column in frame.columns:
            for value in frame[column].to_numpy()[:500]:
                add(value, kind)
    for column in ("weight_base", "weight_current", "share_of_change"):
        if column in frame.columns:
            for value in frame[column].to_numpy()[:500]:
                add(value, "ratio")
    texts = {t for t in labels if t and any(ch.isdigit() for ch in t)
             and not _NUMERIC.fullmatch(t.strip())}
    return Facts(
        language=language, shape="insight", row_count=len(frame),
        metrics=(), time_start=current.start, time_end=current.end, time_label=current.label,
        comparison=None, numbers=tuple(numbers.values()),
        labels=tuple(sorted(texts, key=len, reverse=True)),
        windows=((current.start, current.end), (base.start, base.end)),
        counts=tuple(sorted({len(frame), MAX_DRIVERS})), rank_max=len(frame),
    )


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

class _Words:
    def __init__(self, metric: MetricText, language: str):
        self.m, self.en = metric, language == "en"

    def value(self, value: float, ref: float | None = None) -> str:
        return format_value(value, self.m.format, "en" if self.en else "zh", unit=self.m.unit, ref=ref)

    def amount(self, value: float) -> str:
        """An unsigned change or contribution: 2.3 个百分点 / 2.3 pp / ¥1.20万 / 1,234单."""
        size = abs(value)
        if self.m.percent:
            text = f"{size * 100:.1f}" if size * 100 >= 0.1 else f"{size * 100:.2f}"
            return f"{text} pp" if self.en else f"{text} 个百分点"
        if self.m.format == "currency":
            return format_money(size, "en" if self.en else "zh")
        return self.value(size)

    def push(self, value: float) -> str:
        if self.en:
            return "pushed it up by" if value > 0 else "pulled it down by"
        return "拉高" if value > 0 else "拉低"


def _drivers(frame: pd.DataFrame, change: float) -> list[pd.Series]:
    """Up to three drivers from different dimensions, best dimension first: in each, the
    segment with the largest contribution in the direction of the change."""
    rows = frame[(frame["kind"] == "segment") & frame["contribution"].notna()]
    if change:
        rows = rows[np.sign(rows["contribution"]) == np.sign(change)]
    out: list[pd.Series] = []
    for dimension in dict.fromkeys(rows["dimension"]):
        part = rows[rows["dimension"] == dimension]
        out.append(part.loc[part["contribution"].abs().idxmax()])
        if len(out) >= MAX_DRIVERS:
            break
    return out


def _offset(frame: pd.DataFrame, top: pd.Series, change: float) -> pd.Series | None:
    """The largest segment of the top driver's dimension that moved against the change."""
    rows = frame[(frame["dimension"] == top["dimension"]) & (frame["kind"] == "segment")]
    rows = rows[np.sign(rows["contribution"]) == -np.sign(change)]
    if rows.empty or not change:
        return None
    row = rows.loc[rows["contribution"].abs().idxmax()]
    return row if abs(row["contribution"]) >= OFFSET_SHARE * abs(change) else None


def write_insight(frame: pd.DataFrame, totals: Totals, metric: MetricText, *, current: TimeRange,
                  base: TimeRange, language: str, scope: str = "", direction: str | None = None,
                  with_drivers: bool = True) -> str:
    """Two or three sentences: the change with both periods, then the top drivers
    (``with_drivers=False``: the change only)."""
    en = language == "en"
    w = _Words(metric, language)
    when = describe_time(current.start, current.end, current.label, language)
    before = describe_time(base.start, base.end, base.label, language)
    if not (math.isfinite(totals.base) and math.isfinite(totals.current)):
        return (f"No {metric.label} data{(' for ' + scope) if scope else ''} in {when} or {before}."
                if en else f"{when}或{before}，{scope}没有{metric.label}的数据，无法分析变化原因。")
    change = totals.change
    growth = format_percent(change / totals.base, signed=True) if totals.base else None
    ref = max(abs(totals.base), abs(totals.current))
    head = _head(w, metric, totals, when, before, scope, growth, ref, en)
    actual = "up" if change > 0 else "down" if change < 0 else None
    if direction and actual and direction != actual:
        head = (f"Note: {metric.label} actually went {actual}, not {direction}. " if en else
                f"注意：{metric.label}实际是{'上升' if actual == 'up' else '下降'}，"
                f"并非{'上升' if direction == 'up' else '下降'}。") + head
    if change == 0 or not with_drivers:
        return head
    if totals.base and abs(change / totals.base) < FLAT_CHANGE:
        return head + _flat(w, frame, en)
    drivers = _drivers(frame, change)
    if not drivers:
        tail = (" No single segment stands out." if en else "没有哪个分组明显驱动了这一变化。")
        return head + tail
    text = head + _main_driver(w, metric, drivers[0], en)
    if len(drivers) > 1:
        parts = [_short(w, d, en) for d in drivers[1:]]
        text += (f" Next: {' and '.join(parts)}." if en else f"其次是{'和'.join(parts)}。")
    offset = _offset(frame, drivers[0], change)
    if offset is not None:
        text += (f" Partly offset by {offset['dimension_label']} \"{offset['segment']}\" "
                 f"({w.push(offset['contribution'])} {w.amount(offset['contribution'])})." if en else
                 f"{offset['dimension_label']}「{offset['segment']}」反向{w.push(offset['contribution'])} "
                 f"{w.amount(offset['contribution'])}，抵消了一部分。")
    return text


def _flat(w: _Words, frame: pd.DataFrame, en: bool) -> str:
    """A small total change: name the largest segment moves in each direction."""
    rows = frame[(frame["kind"] == "segment") & frame["contribution"].notna()]
    parts: list[str] = []
    for dimension in dict.fromkeys(rows["dimension"]):  # the most explanatory dimension first
        part = rows[rows["dimension"] == dimension]
        ups, downs = part[part["contribution"] > 0], part[part["contribution"] < 0]
        if not ups.empty and not downs.empty:
            parts = [_short(w, p.loc[p["contribution"].abs().idxmax()], en) for p in (ups, downs)]
            break
    if not parts:
        return ""
    if en:
        return f" The change is small; segment moves largely offset each other: {' vs '.join(parts)}."
    return f"变化很小，各分组的变化大体相互抵消：{'，'.join(parts)}。"


def _head(w: _Words, metric: MetricText, totals: Totals, when: str, before: str, scope: str,
          growth: str | None, ref: float, en: bool) -> str:
    cur, prev = w.value(totals.current, ref), w.value(totals.base, ref)
    change = totals.change
    if en:
        where = f" for {scope}" if scope else ""
        name = metric.label[:1].upper() + metric.label[1:]
        if change == 0:
            return f"{name}{where} was {cur} in {when}, unchanged from {before}."
        verb = "up" if change > 0 else "down"
        pct = f", {growth}" if growth and not metric.percent else ""
        return (f"{name}{where} was {cur} in {when} vs {prev} in {before}: "
                f"{verb} {w.amount(change)}{pct}.")
    where = f"{scope}的" if scope else ""
    if change == 0:
        return f"{when}，{where}{metric.label}为 {cur}，与{before}持平。"
    verb = "上升" if change > 0 else "下降"
    pct = f"（{growth}）" if growth and not metric.percent else ""
    return f"{when}，{where}{metric.label}为 {cur}，{before}为 {prev}，{verb} {w.amount(change)}{pct}。"


def _main_driver(w: _Words, metric: MetricText, row: pd.Series, en: bool) -> str:
    contribution = float(row["contribution"])
    share = row.get("share_of_change")
    share_text = format_percent(share) if share is not None and pd.notna(share) else None
    detail = _detail(w, metric, row, en)
    if en:
        share_part = f" ({share_text} of the change)" if share_text else ""
        return (f" The main driver is {row['dimension_label']} \"{row['segment']}\", which "
                f"{w.push(contribution)} {w.amount(contribution)}{share_part}{detail}.")
    share_part = f"，占变化的 {share_text}" if share_text else ""
    return (f"主要驱动是{row['dimension_label']}「{row['segment']}」：{w.push(contribution)} "
            f"{w.amount(contribution)}{share_part}{detail}。")


def _detail(w: _Words, metric: MetricText, row: pd.Series, en: bool) -> str:
    """Ratio: weight a → b and rate c → d, with the larger effect named; additive: base → current."""
    if metric.ratio and pd.notna(row.get("mix_effect")):
        w0, w1 = format_percent(row["weight_base"]), format_percent(row["weight_current"])
        has_rates = pd.notna(row.get("base")) and pd.notna(row.get("current"))
        rates = f"{w.value(row['base'])} → {w.value(row['current'])}" if has_rates else None
        mix, rate = float(row["mix_effect"]), float(row["rate_effect"])
        if en:
            lead = "mostly its changed share" if abs(mix) >= abs(rate) else f"mostly its own {metric.label}"
            rate_part = f", {metric.label} {rates}" if rates else ""
            return (f"; {lead}: share {w0} → {w1}{rate_part}; mix effect {w.amount(mix)}, "
                    f"rate effect {w.amount(rate)}")
        lead = "主要来自占比变化" if abs(mix) >= abs(rate) else f"主要来自其自身{metric.label}变化"
        rate_part = f"，{metric.label} {rates}" if rates else ""
        return (f"（{lead}：占比 {w0} → {w1}{rate_part}；结构效应 {w.amount(mix)}，"
                f"{metric.label}效应 {w.amount(rate)}）")
    ref = max(abs(float(row["base"] or 0)), abs(float(row["current"] or 0)))
    if en:
        return f"; {w.value(row['base'], ref)} → {w.value(row['current'], ref)}"
    return f"（{w.value(row['base'], ref)} → {w.value(row['current'], ref)}）"


def _short(w: _Words, row: pd.Series, en: bool) -> str:
    c = float(row["contribution"])
    if en:
        return f"{row['dimension_label']} \"{row['segment']}\" ({'+' if c > 0 else '-'}{w.amount(c)})"
    return f"{row['dimension_label']}「{row['segment']}」（{w.push(c)} {w.amount(c)}）"


# ---------------------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------------------

def _chart_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """In ranking order: the top dimension's segments (its whole split, ≤ 8), then the top
    segment of each further dimension, ``MAX_CHART_BARS`` at most."""
    rows = frame[(frame["kind"] == "segment") & frame["contribution"].notna()]
    if rows.empty:
        return rows
    dims = list(dict.fromkeys(rows["dimension"]))
    first = rows[rows["dimension"] == dims[0]].head(MAX_FIRST_DIMENSION_BARS)
    others = [rows[rows["dimension"] == d].head(1) for d in dims[1:]]
    return pd.concat([first, *others]).head(MAX_CHART_BARS)


def insight_chart(frame: pd.DataFrame, metric: MetricText, *, current: TimeRange, base: TimeRange,
                  language: str) -> dict[str, Any] | None:
    """A diverging bar of the largest contributions (good/bad colours as in charts.py)."""
    en = language == "en"
    rows = _chart_rows(frame)
    if rows.empty:
        return None
    scale = 100.0 if metric.percent else 1.0
    up, down = ("Raised", "Lowered") if en else ("拉高", "拉低")
    records = []
    for _, row in rows.iterrows():
        c = float(row["contribution"])
        records.append({
            "driver": f"{row['dimension_label']}: {row['segment']}" if en
            else f"{row['dimension_label']}：{row['segment']}",
            "contribution": json_value(c * scale),
            "share_of_change": json_value(row["share_of_change"]),
            "direction": up if c >= 0 else down,
            "base": json_value(row["base"]), "current": json_value(row["current"]),
        })
    good_up = metric.higher_is_better
    colours = [GOOD, BAD] if good_up else [BAD, GOOD]
    unit = ("pp" if en else "个百分点") if metric.percent else ""
    x_title = (f"Contribution to the change ({unit})" if en else f"对变化的贡献（{unit}）") if unit \
        else ("Contribution to the change" if en else "对变化的贡献")
    y_title = "Segment" if en else "分组"
    fmt = "+,.2f" if metric.percent else "+,.0f"
    max_abs = max(abs(float(r["contribution"] or 0)) for r in records)
    axis: dict[str, Any] = ({"format": "+,.1f"} if metric.percent
                            else axis_format(metric.format, max_abs, "en" if en else "zh"))
    base_chart = alt.Chart(alt.Data(values=records))
    bars = base_chart.mark_bar().encode(
        x=alt.X("contribution:Q", axis=alt.Axis(title=x_title, **axis)),
        y=alt.Y("driver:N", sort=None, title=y_title, axis=alt.Axis(labelLimit=320)),  # whole segment names
        color=alt.Color("direction:N", title=None, scale=alt.Scale(domain=[up, down], range=colours)),
        tooltip=[alt.Tooltip("driver:N", title=y_title),
                 alt.Tooltip("contribution:Q", title=x_title, format=fmt),
                 alt.Tooltip("share_of_change:Q", title="Share of change" if en else "占变化比例",
                             format=".1%")],
    )
    rule = base_chart.mark_rule(color="#333").encode(x=alt.datum(0))
    title = f"What drove the change in {metric.label}" if en else f"{metric.label}变化的驱动因素"
    subtitle = (f"{describe_time(current.start, current.end, current.label, language)} vs "
                f"{describe_time(base.start, base.end, base.label, language)}")
    chart = alt.layer(bars, rule).properties(
        width=WIDTH, height=max(120, 22 * len(records)),
        title=alt.TitleParams(text=title, subtitle=subtitle, anchor="start"),
    ).configure(font=FONT_STACK).configure_view(stroke=None)
    spec = chart.to_dict()
    spec["$schema"] = VEGA_LITE_SCHEMA
    return spec
