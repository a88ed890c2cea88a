"""Follow-ups of relationship answers: "按地区呢" after a funnel, "上个月呢" after a KOL ranking.

``relation_followup(previous, text, ...)`` reads the follow-up together with the previous
relationship question (what the follow-up names replaces what the previous question said:
its time words, its breakdown, its merchant) and returns the changed request, or None when
the follow-up changes nothing the relationship answer can show (the caller then asks the
user to say the whole question, instead of applying the follow-up to an older answer).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from chatbi.planner.merchant_refs import find_merchant_refs
from chatbi.planner.text import mask_spans, normalize
from chatbi.planner.time_parser import parse_time
from chatbi.relations.intents import (
    FUNNEL_DIMENSION_WORDS,
    RelationRequest,
    detect_relation_question,
)

_KIND_LABELS = {
    "repeat_buyers": ("复购用户最多的商户", "merchants with the most repeat buyers"),
    "shared_customers": ("共享客户分析", "shared-customer analysis"),
    "merchant_network": ("商户客户网络", "merchant customer network"),
    "communities": ("商户社群", "merchant communities"),
    "kol_ranking": ("KOL 粉丝购买力排名", "KOL follower ranking"),
    "kol_preferences": ("KOL 粉丝偏好", "KOL follower preferences"),
    "kol_for_item": ("买家关注的 KOL", "KOLs followed by buyers"),
    "also_bought": ("关联购买分析", "also-bought analysis"),
    "next_audience": ("潜在买家预测", "predicted audience"),
    "user_next": ("用户下一次购买预测", "next-purchase prediction"),
    "funnel": ("转化漏斗", "conversion funnel"),
    "dropoff": ("漏斗流失环节", "funnel drop-off"),
    "exits": ("未购买用户的离开环节", "where non-buyers leave"),
    "paths": ("常见行为路径", "common behaviour paths"),
    "dwell": ("停留时长分析", "dwell-time analysis"),
}


def kind_label(kind: str, language: str) -> str:
    """转化漏斗 / conversion funnel."""
    zh, en = _KIND_LABELS.get(kind, ("关系分析", "relationship analysis"))
    return en if language == "en" else zh


def _without(question: str, spans: Sequence[tuple[int, int]]) -> str:
    """``question`` with ``spans`` removed (blanked; normalisation keeps positions)."""
    return mask_spans(question, list(spans)) if spans else question


def combined_question(previous: str, followup: str, as_of: date) -> str:
    """The previous question without what the follow-up replaces, then the follow-up."""
    spans: list[tuple[int, int]] = []
    previous_time = parse_time(previous, as_of)
    follow_time = parse_time(followup, as_of)
    if follow_time and follow_time.span and previous_time:
        spans.extend(previous_time.spans)
    norm_prev, norm_follow = normalize(previous), normalize(followup)
    if any(p.search(norm_follow) for p, _ in FUNNEL_DIMENSION_WORDS):
        spans.extend(m.span() for p, _ in FUNNEL_DIMENSION_WORDS for m in p.finditer(norm_prev))
    if find_merchant_refs(followup):
        spans.extend((r.start, r.end) for r in find_merchant_refs(previous))
    kept = re.sub(r"\s+", " ", _without(previous, spans)).strip()
    return f"{kept}；{followup.strip()}"


def _time_of(question: str, as_of: date) -> tuple[date, date] | None:
    parsed = parse_time(question, as_of)
    return (parsed.range.start, parsed.range.end) if parsed and parsed.range else None


def relation_followup(previous: RelationRequest, followup: str, *, as_of: date,
                      language: str | None = None,
                      values: Mapping[str, Sequence[Any]] | None = None) -> RelationRequest | None:
    """The relationship request ``followup`` asks for after ``previous``; None when the
    follow-up changes nothing a relationship answer can show."""
    merged = detect_relation_question(combined_question(previous.question, followup, as_of),
                                      language or previous.language, values)
    if merged is None:
        return None
    same_fields = dataclasses.replace(merged, question=previous.question, language=previous.language) == previous
    if same_fields and _time_of(merged.question, as_of) == _time_of(previous.question, as_of):
        return None
    return merged


def clarify_message(previous: RelationRequest, language: str) -> str:
    """What to say when a follow-up cannot be applied to a relationship answer."""
    label = kind_label(previous.kind, language)
    if language == "en":
        return (f"The previous answer was a {label}, and this follow-up does not change anything it can show. "
                "Please ask the whole question, e.g. \"GMV by region last month\".")
    return f"上一个回答是「{label}」，这个追问没法套用到它上面。请把问题说完整，例如“上个月各大区的GMV”。"


__all__ = ["clarify_message", "combined_question", "kind_label", "relation_followup"]
