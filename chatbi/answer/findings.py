"""Findings: two or three sentences, in the question's language, stating the time range,
built from ``Facts``; and the checker that accepts a text (template or model-written) only
when every number in it is one the data produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from chatbi.answer.context import ChartContext, describe_time
from chatbi.answer.facts import Facts, MetricFacts, compute_facts
from chatbi.answer.numbers import NumberToken, extract_numbers, format_percent, format_value
from chatbi.answer.text_safety import unsafe_reason

_CMP_ZH = {"previous_period": "环比", "same_period_last_year": "同比"}
_CMP_EN = {"previous_period": "vs the previous period", "same_period_last_year": "year over year"}
_GRAIN_ZH = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年"}
_GRAIN_EN = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}
_OPS_ZH = {"eq": "为", "ne": "不为", "in": "为", "not_in": "不为", "gt": "大于", "gte": "不低于",
           "lt": "小于", "lte": "不高于", "between": "介于", "contains": "包含", "has_tag": "带有标签"}
_OPS_EN = {"eq": "=", "ne": "≠", "in": "in", "not_in": "not in", "gt": ">", "gte": "≥", "lt": "<",
           "lte": "≤", "between": "between", "contains": "contains", "has_tag": "tagged"}
_HAVING_EN = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "=", "ne": "≠"}


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

def write_finding(facts: Facts, ctx: ChartContext) -> str:
    """The template finding: 2–3 sentences with the time range, numbers only from ``facts``."""
    writer = _Writer(facts, ctx)
    return writer.write()


class _Writer:
    def __init__(self, facts: Facts, ctx: ChartContext):
        self.facts, self.ctx = facts, ctx
        self.en = ctx.language == "en"

    # -- pieces --------------------------------------------------------------------------
    def when(self) -> str:
        """上个季度（2026-04-01 至 2026-06-30） / last quarter (2026-04-01 to 2026-06-30)."""
        f = self.facts
        return describe_time(f.time_start, f.time_end, f.time_label, self.ctx.language)

    def where(self) -> str:
        """大区为华东、性别为女 / region = 华东, gender = 女."""
        parts = []
        for label, op, value in self.facts.filters:
            if op == "ne" and value in (None, "None", "（空）", "(empty)"):  # a ranking leaves rows without a group out
                continue
            if self.en:
                parts.append(f"{label} {_OPS_EN.get(op, op)} {value}")
            else:
                parts.append(f"{label}{_OPS_ZH.get(op, op)}{value}")
        for having in self.ctx.query.having:
            meta = self.ctx.metric(having.metric)
            value = format_value(having.value, meta.format, self.ctx.language, unit=meta.unit)
            op = _HAVING_EN.get(having.op, having.op)
            parts.append(f"{meta.title(self.ctx.language)} {op} {value}")
        return (", " if self.en else "、").join(parts)

    def v(self, m: MetricFacts, value: float | None, ref: float | None = None) -> str:
        return format_value(value, m.format, self.ctx.language, unit=m.unit, ref=ref)

    def g(self, ratio: float | None, signed: bool = False) -> str:
        return format_percent(ratio if ratio is None or signed else abs(ratio), signed=signed)

    def zh_prefix(self) -> str:
        """上个季度（…），大区为华东的"""
        where = self.where()
        return f"{self.when()}，{where}的" if where else f"{self.when()}，"

    def en_scope(self, m: MetricFacts, by: str | None = None) -> str:
        """GMV by region, last quarter (…), where region = 华东"""
        if by and len(by) > 1 and by[1].islower():
            by = by[0].lower() + by[1:]
        head = m.label + (f" by {by}" if by else "")
        where = self.where()
        return f"{head}, {self.when()}" + (f", where {where}" if where else "")

    # -- shapes --------------------------------------------------------------------------
    def write(self) -> str:
        shape = self.facts.shape
        handler = getattr(self, f"_{shape}", None)
        text = handler() if handler and self.facts.metrics else None
        if text is None:
            text = self._empty() if shape == "empty" else self._table()
        return text + self._truncation()

    def _truncation(self) -> str:
        if not self.facts.truncated:
            return ""
        n = self.facts.row_count
        return (f" (The result was truncated; this is based on the first {n} rows.)" if self.en
                else f"（结果已截断，以上基于前 {n} 行。）")

    def _empty(self) -> str:
        names = [self.ctx.metric(m).title(self.ctx.language) for m in self.ctx.query.metrics]
        metric = (", " if self.en else "、").join(names)
        where = self.where()
        if self.en:
            scope = f" for {where}" if where else ""
            return (f"No {metric} data{scope} in {self.when()}: the query returned no rows. "
                    "Try a wider time range or fewer filters.")
        scope = f"{where}时" if where else ""
        return (f"{self.when()}，{scope}没有{metric}的数据（查询结果为空）。"
                "可以放宽时间范围或减少筛选条件再试。")

    def _table(self) -> str:
        n = self.facts.row_count
        if self.en:
            return f"{n} rows, {self.when()}."
        return f"{self.when()}，共返回 {n} 行。"

    def _single(self) -> str:
        part = self.ctx.query.share_part
        if part is not None and self.facts.metrics:
            text = self._part_of_whole(part)
            if text:
                return text
        parts, cmp_parts = [], []
        for m in self.facts.metrics[:3]:
            value = m.current if m.current is not None else (m.max.value if m.max else None)
            if self.en:
                parts.append(f"{m.label} was {self.v(m, value)}")
            else:
                parts.append(f"{m.label}为 {self.v(m, value)}")
            if m.growth is not None and m.previous is not None:
                cmp_parts.append(self._change_clause(m, m.growth, m.previous, value))
        subject = self._single_subject()
        if self.en:
            when = self.when()
            text = f"{'; '.join(parts)} {subject}{when if when.startswith('across') else 'over ' + when}"
            where = self.where()
            text += (f", where {where}" if where else "") + "."
            if cmp_parts:
                text += " " + "; ".join(cmp_parts) + "."
            return text[0].upper() + text[1:]
        text = self.zh_prefix() + subject + "，".join(parts) + "。"
        if cmp_parts:
            text += "；".join(cmp_parts) + "。"
        return text

    def _part_of_whole(self, part: Any) -> str | None:
        """沉默用户里男性占几成: the part's share of the whole, then its amount."""
        m = self.facts.metrics[0]
        share = next((n.value for n in self.facts.numbers if n.kind == "ratio"), None)
        value = m.current if m.current is not None else (m.max.value if m.max else None)
        if share is None or value is None:
            return None
        dim = self.ctx.dimension_title(part.dimension)
        values = part.value if isinstance(part.value, list) else [part.value]
        yes_no = {True: ("是", "yes"), False: ("否", "no")}
        said = ("、" if not self.en else ", ").join(
            yes_no[v][1 if self.en else 0] if isinstance(v, bool) else str(v) for v in values)
        where = self.where()
        if self.en:
            scope = f", where {where}" if where else ""
            return (f"{self.when()[0].upper()}{self.when()[1:]}{scope}: {dim} {said} makes up "
                    f"{format_percent(share)} of {m.label} ({self.v(m, value)}).")
        scope = f"{where}的" if where else ""
        return f"{self.when()}，{scope}{m.label}中{dim}为{said}的占 {format_percent(share)}（{self.v(m, value)}）。"

    def _single_subject(self) -> str:
        if not self.facts.metrics or not self.facts.dimensions or not self.facts.metrics[0].max:
            return ""
        label = self.facts.metrics[0].max.label
        return f"for {label} " if self.en else f"{label}的"

    def _change_clause(self, m: MetricFacts, growth: float, previous: float | None,
                       current: float | None) -> str:
        cmp_key = self.facts.comparison or "previous_period"
        ref = max(abs(previous or 0), abs(current or 0))
        arrow = f"{self.v(m, previous, ref)} → {self.v(m, current, ref)}"
        if self.en:
            word = "up" if growth > 0 else "down" if growth < 0 else "unchanged"
            return f"{m.label} {word} {self.g(growth)} {_CMP_EN[cmp_key]} ({arrow})"
        word = "增长" if growth > 0 else "下降" if growth < 0 else "持平，变化"
        return f"{_CMP_ZH[cmp_key]}{word} {self.g(growth)}（{arrow}）"

    def _ranking(self) -> str:
        f, m = self.facts, self.facts.metrics[0]
        if not m.max or not m.min:
            return self._table()
        dim = f.dimension_label or ""
        ref = m.total if m.total is not None else max(abs(m.max.value), abs(m.min.value))
        if m.max.value == m.min.value:
            if self.en:
                return f"{self.en_scope(m, dim)}: all {m.count} rows are {self.v(m, m.max.value)}."
            return f"{self.zh_prefix()}{m.label}按{dim}看，{m.count} 个{dim or '结果'}均为 {self.v(m, m.max.value)}。"
        share = ""
        if m.top_share is not None and m.total is not None:
            share = (f", {self.g(m.top_share)} of the total {self.v(m, m.total, ref)}" if self.en
                     else f"，占合计 {self.v(m, m.total, ref)} 的 {self.g(m.top_share)}")
        elif m.top_share is not None:
            share = (f", {self.g(m.top_share)} of the total" if self.en
                     else f"，占总体的 {self.g(m.top_share)}")
        if self._ascending():  # 订单最少的3个省 / bottom 4: the headline names the low end first
            if self.en:
                first = (f"{self.en_scope(m, dim)}: {m.min.label} is lowest at {self.v(m, m.min.value, ref)}; "
                         f"{m.max.label} is highest of these at {self.v(m, m.max.value, ref)}.")
            else:
                first = (f"{self.zh_prefix()}{m.label}按{dim}看，{m.min.label}最低，为 {self.v(m, m.min.value, ref)}；"
                         f"其中{m.max.label}最高，为 {self.v(m, m.max.value, ref)}。")
            return first + self._second_sentence(m)
        if self.en:
            first = (f"{self.en_scope(m, dim)}: {m.max.label} leads with {self.v(m, m.max.value, ref)}"
                     f"{share}; {m.min.label} is lowest at {self.v(m, m.min.value, ref)}.")
        else:
            first = (f"{self.zh_prefix()}{m.label}按{dim}看，{m.max.label}最高，为 "
                     f"{self.v(m, m.max.value, ref)}{share}；{m.min.label}最低，为 "
                     f"{self.v(m, m.min.value, ref)}。")
        return first + self._second_sentence(m)

    def _ascending(self) -> bool:
        """The question ranked from the low end (bottom N, 最少, biggest drop)."""
        order = self.ctx.query.order_by
        return bool(order) and not order[0].descending

    _share = _ranking
    _breakdown = _ranking

    def _second_sentence(self, m: MetricFacts) -> str:
        f = self.facts
        outliers = [o for o in m.outliers if o.label not in (m.max.label if m.max else "",)]
        if outliers:
            o = outliers[0]
            return (f" {o.label} ({self.v(m, o.value)}) stands out from the rest." if self.en
                    else f"{o.label}（{self.v(m, o.value)}）明显偏离其他{f.dimension_label or ''}。")
        if self.ctx.query.limit and f.row_count >= self.ctx.query.limit:
            n = self.ctx.query.limit
            if self._ascending():
                return (f" Only the bottom {n} are listed." if self.en else f"仅列出后 {n} 名。")
            return (f" Only the top {n} are listed." if self.en else f"仅列出前 {n} 名。")
        if f.row_count > 2:
            return (f" {f.row_count} rows in all." if self.en
                    else f"共 {f.row_count} 个{f.dimension_label or '结果'}。")
        return ""

    def _growth(self) -> str:
        f, m = self.facts, self.facts.metrics[0]
        if not m.fastest or not m.slowest:
            return self._ranking()
        dim = f.dimension_label or ""
        cmp_key = f.comparison or "previous_period"
        fast, slow = m.fastest, m.slowest
        if self._ascending() and slow.growth is not None and slow.growth < 0:
            return self._biggest_drop(m, dim, cmp_key, fast, slow)
        ref = max(abs(fast.current or 0), abs(fast.previous or 0))
        arrow = f"{self.v(m, fast.previous, ref)} → {self.v(m, fast.current, ref)}"
        if self.en:
            lead = "grew fastest" if fast.growth > 0 else "fell least"
            word = "up" if fast.growth >= 0 else "down"
            text = (f"{self.en_scope(m, dim)}: {fast.label} {lead}, {word} {self.g(fast.growth)} "
                    f"{_CMP_EN[cmp_key]} ({arrow})")
            if slow.label != fast.label:
                word = "down" if slow.growth < 0 else "up"
                text += f"; {slow.label} was {word} {self.g(slow.growth)}"
            text += "."
        else:
            cmp = _CMP_ZH[cmp_key]
            if fast.growth > 0:
                text = (f"{self.zh_prefix()}{m.label}增长最快的{dim}是{fast.label}，{cmp}增长 "
                        f"{self.g(fast.growth)}（{arrow}）")
            else:
                text = (f"{self.zh_prefix()}{m.label}{cmp}全部下降或持平，降幅最小的{dim}是{fast.label}，"
                        f"{cmp}下降 {self.g(fast.growth)}（{arrow}）")
            if slow.label != fast.label:
                word = "下降" if slow.growth < 0 else "增长最慢，增长"
                text += f"；{slow.label}{word} {self.g(slow.growth)}"
            text += "。"
        if m.growth is not None and m.previous is not None and m.current is not None:
            clause = self._change_clause(m, m.growth, m.previous, m.current)
            text += f" Overall, {clause}." if self.en else f"整体{clause}。"
        return text

    def _biggest_drop(self, m: MetricFacts, dim: str, cmp_key: str, fast: Any, slow: Any) -> str:
        """降得最多的大区 / biggest drop: the headline is the steepest fall."""
        ref = max(abs(slow.current or 0), abs(slow.previous or 0))
        arrow = f"{self.v(m, slow.previous, ref)} → {self.v(m, slow.current, ref)}"
        if self.en:
            text = f"{self.en_scope(m, dim)}: {slow.label} fell most, down {self.g(slow.growth)} {_CMP_EN[cmp_key]} ({arrow})"
            if fast.label != slow.label:
                word = "up" if fast.growth >= 0 else "down"
                text += f"; {fast.label} did best, {word} {self.g(fast.growth)}"
            text += "."
        else:
            text = f"{self.zh_prefix()}{m.label}降幅最大的{dim}是{slow.label}，{_CMP_ZH[cmp_key]}下降 {self.g(slow.growth)}（{arrow}）"
            if fast.label != slow.label:
                word = "增长" if fast.growth >= 0 else "下降"
                text += f"；表现最好的是{fast.label}，{word} {self.g(fast.growth)}"
            text += "。"
        if m.growth is not None and m.previous is not None and m.current is not None:
            clause = self._change_clause(m, m.growth, m.previous, m.current)
            text += f" Overall, {clause}." if self.en else f"整体{clause}。"
        return text

    def _trend(self) -> str:
        f, m = self.facts, self.facts.metrics[0]
        grain = f.grain or "month"
        t = m.trend
        if t is None:
            if m.leader_last is None:
                return self._table()
            if self.en:
                return f"{self.en_scope(m)}, by {_GRAIN_EN.get(grain, grain)}: {self._leader(m)}"
            return f"{self.zh_prefix()}{m.label}按{_GRAIN_ZH.get(grain, grain)}看，{self._leader(m)}"
        ref = max(abs(t.first.value), abs(t.last.value), abs(t.peak.value))
        growth = f"{self.g(t.growth, signed=True)}" if t.growth is not None else ""
        if self.en:
            word = {"up": "trending up", "down": "trending down", "flat": "roughly flat"}[t.direction]
            text = (f"{self.en_scope(m)}, by {_GRAIN_EN.get(grain, grain)}: {word}, from "
                    f"{self.v(m, t.first.value, ref)} in {t.first.label} to {self.v(m, t.last.value, ref)} "
                    f"in {t.last.label}" + (f" ({growth})." if growth else "."))
            text += f" The peak was {t.peak.label} at {self.v(m, t.peak.value, ref)}"
            if t.trough.label != t.first.label and t.trough.label != t.last.label:
                text += f", the low {t.trough.label} at {self.v(m, t.trough.value, ref)}"
            text += "."
        else:
            word = {"up": "呈上升趋势", "down": "呈下降趋势", "flat": "基本持平"}[t.direction]
            text = (f"{self.zh_prefix()}{m.label}按{_GRAIN_ZH.get(grain, grain)}看{word}，从 "
                    f"{t.first.label} 的 {self.v(m, t.first.value, ref)} 到 {t.last.label} 的 "
                    f"{self.v(m, t.last.value, ref)}" + (f"（{growth}）。" if growth else "。"))
            text += f"峰值在 {t.peak.label}（{self.v(m, t.peak.value, ref)}）"
            if t.trough.label != t.first.label and t.trough.label != t.last.label:
                text += f"，低谷在 {t.trough.label}（{self.v(m, t.trough.value, ref)}）"
            text += "。"
        if m.leader_last is not None:
            text += (" " + self._leader(m)) if self.en else self._leader(m)
        return text

    def _leader(self, m: MetricFacts) -> str:
        leader = m.leader_last
        assert leader is not None
        if self.en:
            return (f"in the latest period ({m.leader_period}) {leader.label} is highest at "
                    f"{self.v(m, leader.value)}.")
        return f"最近一期（{m.leader_period}）{leader.label}最高，为 {self.v(m, leader.value)}。"

    def _scatter(self) -> str:
        f = self.facts
        m1, m2 = f.metrics[0], f.metrics[1]
        n, dim = f.row_count, f.dimension_label or ""
        text = self._ranking_top_only(m1)
        if f.correlation is None:
            return text
        r = f.correlation
        strength_en = ("strongly" if abs(r) >= 0.7 else "moderately" if abs(r) >= 0.4 else "weakly")
        strength_zh = ("强" if abs(r) >= 0.7 else "中等" if abs(r) >= 0.4 else "弱")
        if self.en:
            sign = "positively" if r > 0 else "negatively"
            return (f"{m1.label} and {m2.label} across {n} {_plural(dim or 'row')}, {self.when()}: "
                    f"{strength_en} {sign} correlated (r = {r:.2f}). " + text)
        sign = "正" if r > 0 else "负"
        return (f"{self.zh_prefix()}{n} 个{dim}的{m1.label}与{m2.label}呈{strength_zh}{sign}相关"
                f"（相关系数 {r:.2f}）。" + text)

    def _ranking_top_only(self, m: MetricFacts) -> str:
        if not m.max:
            return ""
        if self.en:
            return f"{m.max.label} has the highest {m.label} at {self.v(m, m.max.value)}."
        return f"{m.label}最高的是{m.max.label}（{self.v(m, m.max.value)}）。"

    def _distribution(self) -> str:
        f, m = self.facts, self.facts.metrics[0]
        if m.median is None or not m.max or not m.min:
            return self._table()
        ref = max(abs(m.max.value), abs(m.min.value))
        what = f.dimension_label or ("row" if self.en else "条记录")
        if self.en:
            return (f"{self.en_scope(m)}: across {f.row_count} {_plural(what)}, the median is "
                    f"{self.v(m, m.median, ref)}; the highest is {m.max.label} at "
                    f"{self.v(m, m.max.value, ref)}, the lowest {m.min.label} at "
                    f"{self.v(m, m.min.value, ref)}.")
        unit = "个" if f.dimension_label else ""
        return (f"{self.zh_prefix()}{m.label}在 {f.row_count} {unit}{what}中的中位数为 "
                f"{self.v(m, m.median, ref)}；最高的是{m.max.label}（{self.v(m, m.max.value, ref)}），"
                f"最低的是{m.min.label}（{self.v(m, m.min.value, ref)}）。")


def _plural(label: str) -> str:
    """region → regions, category → categories (English labels only)."""
    if not label or not label.isascii():
        return label
    word = label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


# ---------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckResult:
    """Whether every number in a text is one the data produced."""

    ok: bool
    numbers: tuple[str, ...]  # every number found, as written
    unmatched: tuple[str, ...]  # the ones that match no fact
    mentions_time: bool  # the text names the time range (or there is none)
    unsafe: str | None = None  # a link, contact detail, markup or instruction (text_safety)


def check_finding(text: str, facts: Facts) -> CheckResult:
    """Extract every number (¥1.24M, 171.1万, 38.2%, 1,234, 2026年Q2, 三个…) and verify it."""
    cleaned = text
    for label in facts.labels:
        cleaned = cleaned.replace(label, " ")
    tokens = extract_numbers(cleaned)
    unmatched = [tok.text for tok in tokens if not _matches(tok, facts)]
    unsafe = unsafe_reason(cleaned)  # the writer's own words; labels from the data are data
    return CheckResult(ok=not unmatched and unsafe is None, numbers=tuple(t.text for t in tokens),
                       unmatched=tuple(unmatched), mentions_time=_mentions_time(text, tokens, facts),
                       unsafe=unsafe)


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol + 1e-9 * max(1.0, abs(a), abs(b))


def _tolerance(tok: NumberToken) -> float:
    return max(tok.tolerance, 0.01 * abs(tok.value)) if tok.approximate else tok.tolerance


def _matches(tok: NumberToken, facts: Facts) -> bool:
    if tok.kind == "date":
        return _date_ok(tok, facts)
    tol = _tolerance(tok)
    if tok.kind in ("percent", "pp"):
        return any(_number_ok(tok, n.value * 100, tol) for n in facts.numbers if n.kind == "ratio")
    if tok.kind == "multiple":
        return any(_number_ok(tok, n.value, tol) for n in facts.numbers if n.kind == "multiple")
    if tok.kind == "rank" and 1 <= tok.value <= facts.rank_max and float(tok.value).is_integer():
        return True
    candidates = [n.value for n in facts.numbers if n.kind == "amount"]
    if tok.kind != "money":
        candidates += [float(c) for c in facts.counts]
        candidates += [n.value * 100 for n in facts.numbers if n.kind == "ratio"]
    if any(_number_ok(tok, c, tol) for c in candidates):
        return True
    if tok.maybe_year:
        year = int(tok.value)
        return any(start.year <= year <= end.year for start, end in facts.windows)
    return False


def _number_ok(tok: NumberToken, fact: float, tol: float) -> bool:
    if tok.signed:
        return _close(tok.value, fact, tol)
    return _close(abs(tok.value), abs(fact), tol)


def _date_ok(tok: NumberToken, facts: Facts) -> bool:
    if tok.period is not None:
        start, end = tok.period
        return any(start <= w_end and w_start <= end for w_start, w_end in facts.windows)
    return any(_months_overlap(tok.months, w) for w in facts.windows)


def _months_overlap(months: tuple[int, ...], window: tuple[date, date]) -> bool:
    start, end = window
    if (end.year - start.year) * 12 + end.month - start.month >= 11:
        return True
    index, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return any(i % 12 + 1 in months for i in range(index, last + 1))


def _mentions_time(text: str, tokens: list[NumberToken], facts: Facts) -> bool:
    if facts.time_start is None or facts.time_end is None:
        return True
    if facts.time_label and facts.time_label in text:
        return True
    main = (facts.time_start, facts.time_end)
    return any(tok.kind == "date" and tok.period is not None
               and tok.period[0] <= main[1] and main[0] <= tok.period[1] for tok in tokens)


# ---------------------------------------------------------------------------------------
# The finding of an answer
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FindingOutcome:
    """The finding chosen for an answer, where it came from, and the check of the candidate."""

    text: str
    source: str  # "candidate" or "template"
    check: CheckResult | None


def choose_finding(df: pd.DataFrame, ctx: ChartContext, candidate: str | None = None) -> FindingOutcome:
    """Use ``candidate`` when every number checks out and it names the time range."""
    facts = compute_facts(df, ctx)
    check = None
    if candidate and candidate.strip():
        check = check_finding(candidate, facts)
        if check.ok and check.mentions_time:
            return FindingOutcome(candidate.strip(), "candidate", check)
    return FindingOutcome(write_finding(facts, ctx), "template", check)


def finding_for(df: pd.DataFrame, ctx: ChartContext, candidate: str | None = None) -> str:
    """The finding text: the checked candidate (e.g. LLM-written) or the template text."""
    return choose_finding(df, ctx, candidate).text
