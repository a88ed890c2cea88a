"""The interpretation: how a question was read, in words, so a misreading shows at a glance.

``interpret(plan, layer, understanding=..., previous=...)`` returns an ``Interpretation``:
one line ("我理解为：上个季度 · 大区：华南 · GMV 前 10 的商户 · 按月"), the role of each
span of the question (metric, dimension, value, segment, time, operator, unknown, near
match), and what a follow-up kept from the previous question. Built from the plan's
``SemanticQuery`` (so the LLM planner's plans get one too) and, for the offline planner,
from the spans it recognised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatbi.planner import intents

if TYPE_CHECKING:
    from chatbi.planner.types import Plan
    from chatbi.planner.understand import Understanding
    from chatbi.semantic.models import SemanticLayer
    from chatbi.semantic.query import Filter, SemanticQuery

_GRAIN = {"zh": {"day": "按天", "week": "按周", "month": "按月", "quarter": "按季度", "year": "按年"},
          "en": {"day": "by day", "week": "by week", "month": "by month", "quarter": "by quarter", "year": "by year"}}
_OPS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "=", "ne": "≠"}
_ENTITY = {"zh": {"merchant": "商户", "user": "用户", "product": "商品"}, "en": {"merchant": "merchants", "user": "users", "product": "products"}}
_OPERATOR_PATTERNS = (intents.TOP_N, intents.SHARE, intents.GROWTH_UP, intents.GROWTH_DOWN, intents.GROWTH_GENERIC,
                      intents.SUPER_DESC, intents.SUPER_ASC, intents.COMPARE, intents.TREND, intents.WHY,
                      intents.COPY, intents.DEFINITION_STRONG, *(p for p, _ in intents.GRAIN_WORDS))


@dataclass(frozen=True)
class Reading:
    """One span of the question and the role it was given."""

    text: str
    role: str  # metric | dimension | value | segment | time | operator | entity | unknown | near_match
    meaning: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "role": self.role, "meaning": self.meaning}


@dataclass(frozen=True)
class Interpretation:
    """How a question was understood: a line for people, the spans for machines."""

    text: str
    readings: tuple[Reading, ...] = ()
    inherited: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "readings": [r.to_dict() for r in self.readings], "inherited": list(self.inherited)}


class _Labels:
    def __init__(self, layer: SemanticLayer, language: str, names: dict[tuple[str, Any], str] | None = None):
        self.layer, self.zh = layer, language == "zh"
        self.names = names or {}  # (merchant_id, 179) → the shop's name, when the question named it

    def metric(self, name: str) -> str:
        try:
            metric = self.layer.metric(name)
        except KeyError:
            return name
        return metric.label if self.zh else (metric.label_en or metric.name)

    def dimension(self, name: str) -> str:
        try:
            _, dim = self.layer.dimension(name)
        except KeyError:
            return name
        return dim.label if self.zh else (dim.label_en or dim.name)

    def value(self, dimension: str, value: Any) -> Any:
        """A value in the question's language (华东 → East China in English, mini_program → 小程序
        in Chinese, True → 是/yes)."""
        if isinstance(value, bool):
            return ("是" if value else "否") if self.zh else ("yes" if value else "no")
        try:
            _, dim = self.layer.dimension(dimension)
        except KeyError:
            return value
        words = (getattr(dim, "value_labels", None) if self.zh else getattr(dim, "value_labels_en", None)) or {}
        if isinstance(value, list):
            return [words.get(str(v), v) for v in value]
        return words.get(str(value), value)

    def field(self, name: str) -> str:
        for suffix, zh, en in (("_growth", "增长率", "growth"), ("_share", "占比", "share")):
            if name.endswith(suffix):
                return f"{self.metric(name[: -len(suffix)])}{zh if self.zh else ' ' + en}"
        return self.metric(name)


def _value_text(value: Any, zh: bool) -> str:
    if isinstance(value, list):
        shown = ("、" if zh else ", ").join(str(v) for v in value[:4])
        if len(value) > 4:
            shown += f" 等 {len(value)} 个" if zh else f" … ({len(value)} in all)"
        return shown
    return str(value)


def filter_text(f: Filter, labels: _Labels) -> str:
    """大区：华南 / 年龄 25–35 / 标签含 高复购型 (English words for values where the layer has them)."""
    dim, zh = labels.dimension(f.dimension), labels.zh
    value = _value_text(labels.value(f.dimension, f.value), zh)
    name = labels.names.get((f.dimension, f.value)) if f.op == "eq" and not isinstance(f.value, list) else None
    if name is not None:  # 商户：台州·青柠首饰铺小铺（179）
        return f"{labels.dimension('merchant_name')}：{name}（{value}）" if zh else f"{labels.dimension('merchant_name')}: {name} ({value})"
    if f.op == "eq":
        return f"{dim}：{value}" if zh else f"{dim}: {value}"
    if f.op == "in":
        return f"{dim}：{value}" if zh else f"{dim} in {value}"
    if f.op == "ne" and f.value is None:
        return f"{dim}已知" if zh else f"{dim} known"
    if f.op in ("ne", "not_in"):
        return f"{dim}不是{value}" if zh else f"{dim} not {value}"
    if f.op == "between" and isinstance(f.value, list) and len(f.value) == 2:
        return f"{dim} {f.value[0]}–{f.value[1]}"
    if f.op == "has_tag":
        return f"标签：{value}" if zh else f"tag {value}"
    if f.op == "contains":
        return f"{dim}含「{value}」" if zh else f"{dim} contains \"{value}\""
    return f"{dim} {_OPS.get(f.op, f.op)} {value}"


def _entity_of(dimensions: list[str]) -> str | None:
    for name in dimensions:
        match = re.fullmatch(r"([a-z]+)_(?:id|name|title)", name)
        if match:
            return match[1]
    return None


def query_parts(query: SemanticQuery, labels: _Labels) -> list[str]:
    """The parts of the line for a query: time · filters · what is measured · grouping · grain."""
    zh = labels.zh
    parts: list[str] = []
    if query.time_range is not None:
        r = query.time_range
        dates = f"{r.start.isoformat()}–{r.end.isoformat()}"
        parts.append(f"{r.label}（{dates}）" if r.label and zh else (f"{r.label} ({dates})" if r.label else dates))
    else:
        parts.append("全部时间" if zh else "all time")
    if query.comparison:
        parts.append(("同比" if zh else "vs same period last year") if query.comparison == "same_period_last_year"
                     else ("环比上一期" if zh else "vs previous period"))
    parts.extend(filter_text(f, labels) for f in query.filters if not (f.op == "ne" and f.value is None))
    measured = ("、" if zh else ", ").join(labels.metric(m) for m in query.metrics)
    if query.share_part is not None:
        part = filter_text(query.share_part, labels)
        parts.append(f"{part} 占{measured}的比例" if zh else f"share of {measured} from {part}")
        if query.grain:
            parts.append(_GRAIN["zh" if zh else "en"][query.grain])
        return parts
    if query.share_of_total:
        measured += " 占比" if zh else " share of total"
    for h in query.having:
        parts.append(f"{labels.metric(h.metric)} {_OPS.get(h.op, h.op)} {h.value:g}")
    entity = _entity_of(list(query.dimensions))
    others = [labels.dimension(d) for d in query.dimensions if not re.fullmatch(r"[a-z]+_(?:id|name|title)", d)]
    order = query.order_by[0] if query.order_by else None
    ranked_by = labels.field(order.field) if order is not None else None
    if entity is not None:
        noun = _ENTITY["zh" if zh else "en"].get(entity, entity)
        if query.limit and order is not None:
            end = ("前" if order.descending else "后") if zh else ("top" if order.descending else "bottom")
            parts.append(f"{ranked_by} {end} {query.limit} 的{noun}" if zh else f"{end} {query.limit} {noun} by {ranked_by}")
            if ranked_by != measured:
                parts.append(f"看{measured}" if zh else f"showing {measured}")
        else:
            parts.append(f"各{noun}的{measured}" if zh else f"{measured} per {entity}")
    else:
        parts.append(measured)
    if others:
        parts.append(("按" + "、".join(others)) if zh else ("by " + ", ".join(others)))
    if entity is None and order is not None and (query.limit or order.field != query.metrics[0] or others):
        if query.limit:
            end = ("前" if order.descending else "后") if zh else ("top" if order.descending else "bottom")
            parts.append(f"{ranked_by} {end} {query.limit}" if zh else f"{end} {query.limit} by {ranked_by}")
        else:
            parts.append(f"按{ranked_by}{'从高到低' if order.descending else '从低到高'}" if zh
                         else f"ranked by {ranked_by}, {'highest' if order.descending else 'lowest'} first")
    if query.grain:
        parts.append(_GRAIN["zh" if zh else "en"][query.grain])
    return parts


def _inherited(query: SemanticQuery, previous: SemanticQuery | None, labels: _Labels) -> tuple[str, ...]:
    """What a follow-up kept from the previous question."""
    if previous is None:
        return ()
    kept: list[str] = []
    if query.time_range is not None and query.time_range == previous.time_range:
        kept.append(query.time_range.label or f"{query.time_range.start}–{query.time_range.end}")
    kept.extend(labels.metric(m) for m in query.metrics if m in previous.metrics)
    kept.extend(filter_text(f, labels) for f in query.filters if f in previous.filters)
    kept.extend(labels.dimension(d) for d in query.dimensions
                if d in previous.dimensions and not re.fullmatch(r"[a-z]+_(?:id|name|title)", d))
    return tuple(dict.fromkeys(kept))


def _readings(u: Understanding, layer: SemanticLayer) -> tuple[Reading, ...]:
    """Each recognised span of the question with its role, in the order they were said."""
    labels = _Labels(layer, u.language)
    spans: list[tuple[int, int, str, str]] = []
    if u.time is not None and u.time.range is not None and u.time.span:
        r = u.time.range
        spans.append((*u.time.span, "time", f"{r.start.isoformat()}–{r.end.isoformat()}"))
    metric_names = iter(u.metrics)
    for start, end in u.metric_spans:
        spans.append((start, end, "metric", labels.metric(next(metric_names, ""))))
    for start, end in u.dimension_spans:
        spans.append((start, end, "dimension", ""))
    for hit in u.values:
        entry = hit.entries[0]
        role = "segment" if entry.tag or entry.name.endswith(("_stage", "_tier", "_tag", "_tags")) else "value"
        spans.append((hit.start, hit.end, role, f"{labels.dimension(entry.name)}：{entry.value}"))
    for unknown in u.unknowns:
        spans.append((unknown.start, unknown.end, "unknown", ""))
    taken = [False] * len(u.norm)
    for start, end, *_ in spans:
        for i in range(max(start, 0), min(end, len(taken))):
            taken[i] = True
    for pattern in _OPERATOR_PATTERNS:
        for found in pattern.finditer(u.norm):
            if found.end() > found.start() and not any(taken[found.start() : found.end()]):
                spans.append((found.start(), found.end(), "operator", ""))
                for i in range(found.start(), found.end()):
                    taken[i] = True
    readings = []
    for start, end, role, meaning in sorted(spans):
        text = u.question[start:end].strip()
        if text:
            readings.append(Reading(text, role, meaning))
    for typed, name in u.fuzzy_terms:
        readings.append(Reading(typed, "near_match", name))
    for typed, full in u.shorthand:
        readings.append(Reading(typed, "shorthand", full))
    return tuple(readings)


def interpret(plan: Plan, layer: SemanticLayer, *, understanding: Understanding | None = None,
              previous: Plan | None = None) -> Interpretation | None:
    """The interpretation of ``plan``; None for plans with nothing to show (empty question)."""
    lang = plan.language
    named = getattr(understanding, "entity_names", None) or {}
    labels = _Labels(layer, lang, {("merchant_id", i): n for i, n in named.items()})
    zh = lang == "zh"
    readings = _readings(understanding, layer) if understanding is not None else ()
    inherited: tuple[str, ...] = ()
    if plan.intent in ("query", "why") and plan.query is not None:
        parts = query_parts(plan.query, labels)
        if plan.intent == "why":
            parts.insert(0, "分析变化原因" if zh else "explain the change")
        if plan.followup and previous is not None:
            inherited = _inherited(plan.query, previous.query, labels)
    elif plan.intent == "copy" and plan.copy_request is not None:
        request = plan.copy_request
        segment = request.segment_label or ("、".join(filter_text(f, labels) for f in request.filters))
        parts = [f"为「{segment}」写 {request.count} 条{request.channel}文案" if zh
                 else f"{request.count} {request.channel} texts for \"{segment}\""]
        if request.topic:
            parts.append(f"推广：{request.topic}" if zh else f"promoting {request.topic}")
    elif plan.intent == "definition":
        parts = [("口径：" if zh else "definition of ") + ("、" if zh else ", ").join(labels.metric(m) for m in plan.definitions)]
    else:
        unknown = [r.text for r in readings if r.role == "unknown"]
        if not unknown:
            return Interpretation("", readings) if readings else None
        parts = [("没认出：" if zh else "not recognised: ") + ("、" if zh else ", ").join(unknown)]
    head = "我理解为：" if zh else "I read this as: "
    line = head + " · ".join(p for p in parts if p)
    if inherited:
        line += ("（沿用上一问：" + "、".join(inherited) + "）") if zh else f" (kept from the previous question: {', '.join(inherited)})"
    return Interpretation(line, readings, inherited)
