"""Campaign copy for a user segment, grounded in the segment's real profile.

``write_copy`` resolves the segment through the semantic layer (``CopyRequest.filters`` are
dimension filters on the user profile), summarises its profile with guarded SQL (size, top
favourite categories, average order value, coupon usage, price-sensitivity mix, preferred
channel, churn risk), refuses segments smaller than ``min_segment_size`` (so copy never
targets a handful of people) and writes copy from templates (``data/copy_templates.yaml``),
in the question's language. The texts take different angles — offer, novelty, reminder —
ordered by the segment's theme (win-back, high value, price sensitive, from its real profile),
name its favourite categories (the second one too; English names for English copy) and pick
templates by a stable hash of the segment. SMS are signed with the marketplace's brand
(``Settings.brand`` / ``brand_en``). A segment of at least ``BROAD_SHARE`` of all users is
flagged as too broad, with a narrower segment (``narrower_segment``). Every text passes
``ad_rules.check_copy``: channel limits, the SMS opt-out, no banned absolute claims.

Merchant roles are refused: the user profile is platform data computed over every merchant's
orders (``access.yaml`` forbids ``user_profile`` to merchants), so a merchant cannot select
platform users, not even its own buyers by their platform-wide profile.

An LLM writer (later) gets ``CopyResult.profile`` and the rules, and its output goes through
``check_copy``; ``fallback_items`` gives the template copy when it fails.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from chatbi.answer.ad_rules import check_copy, find_banned, rule_for
from chatbi.answer.facts import FactNumber, Facts
from chatbi.answer.findings import CheckResult, check_finding
from chatbi.answer.insight_data import Runner, value_text
from chatbi.answer.numbers import format_count, format_money, format_percent
from chatbi.answer.types import CopyItem
from chatbi.errors import CompileError, GuardError, RefusedError
from chatbi.planner.types import CopyRequest
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import Filter, OrderBy, SemanticQuery
from chatbi.sql.engines import guard_options
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy, Role

__all__ = [
    "CopyNotAllowedError", "CopyResult", "SegmentProfile", "SegmentTooSmallError",
    "export_segment_ids", "fallback_items", "segment_ids_sql", "write_copy", "write_segment_csv",
]

MIN_SEGMENT_SIZE = 50  # without a policy k (access.yaml small_groups.min_group_size)


def segment_minimum(policy: Any, given: int | None = None) -> int:
    """The smallest segment copy is written for: ``given``, else the policy's k for small
    groups (``access.yaml``, the same k that hides small groups), else ``MIN_SEGMENT_SIZE``."""
    if given is not None:
        return int(given)
    return int(getattr(policy, "min_group_size", 0) or MIN_SEGMENT_SIZE)
MAX_EXPORT_IDS = 1_000_000
BROAD_SHARE = 0.5  # a segment with at least this share of all users is too broad to target
NARROW_MAX_SHARE = 0.3  # a suggested narrower segment has at most this share
ANGLES = ("offer", "novelty", "reminder")
# The angle order by theme: what the segment's profile makes the strongest pitch.
ANGLE_ORDER = {"price_sensitive": ("offer", "novelty", "reminder"),
               "high_value": ("novelty", "reminder", "offer"),
               "winback": ("reminder", "offer", "novelty"),
               "default": ("novelty", "offer", "reminder")}
# Narrower segments tried when one is too broad, in order of preference by theme.
NARROWER = {"price_sensitive": (("price_sensitivity", "高"), ("lifecycle_stage", "沉默"), ("value_tier", "高价值")),
            "high_value": (("value_tier", "高价值"), ("price_sensitivity", "低"), ("lifecycle_stage", "活跃")),
            "winback": (("churn_risk_level", "高"), ("lifecycle_stage", "沉默"), ("price_sensitivity", "高")),
            "default": (("price_sensitivity", "高"), ("lifecycle_stage", "沉默"), ("value_tier", "高价值"))}
SMS_OPT_OUT = {"zh": "回T退订", "en": " Reply T to opt out"}
SIZE_METRIC = "user_count"
_CHANNEL_WORDS = {"sms": ("短信", "SMS"), "push": ("推送", "push"), "wechat": ("微信", "WeChat"),
                  "email": ("邮件", "email"), "xiaohongshu": ("小红书", "Xiaohongshu"),
                  "generic": ("营销", "campaign")}
_TOPIC_OK = re.compile(r"^[\w\u4e00-\u9fff·\-]{1,8}$")
_WINBACK_VALUES = {("churn_risk_level", "高"), ("value_tier", "流失风险型"), ("lifecycle_stage", "流失"),
                   ("lifecycle_stage", "沉默"), ("user_tag", "高流失风险"), ("user_tag", "流失风险型")}


class SegmentTooSmallError(RefusedError):
    """The segment is smaller than the minimum size; copy would single people out."""

    code = "segment_too_small"

    def __init__(self, message: str, *, segment_size: int, minimum: int):
        super().__init__(message)
        self.segment_size = segment_size
        self.minimum = minimum


class CopyNotAllowedError(RefusedError):
    """The role may not select users for a campaign (merchant roles)."""

    code = "copy_not_allowed"


@dataclass
class SegmentProfile:
    """The segment's real facts, every one read from the warehouse."""

    size: int
    top_categories: list[tuple[str, int, float]]  # (category, users, share of users with one)
    avg_order_value: float | None
    coupon_usage_rate: float | None  # share of the segment's valid orders that used a coupon
    price_sensitivity: dict[str, float]  # level -> share of the segment's users with a level
    preferred_channel: str | None
    preferred_channel_share: float | None
    avg_churn_risk: float | None
    value_tiers: dict[str, float]  # tier -> share of the segment's users with a tier

    @property
    def top_category(self) -> str | None:
        return self.top_categories[0][0] if self.top_categories else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment_size": self.size,
            "top_categories": [{"category": c, "users": n, "share": s} for c, n, s in self.top_categories],
            "avg_order_value": self.avg_order_value,
            "coupon_usage_rate": self.coupon_usage_rate,
            "price_sensitivity": dict(self.price_sensitivity),
            "preferred_channel": self.preferred_channel,
            "preferred_channel_share": self.preferred_channel_share,
            "avg_churn_risk": self.avg_churn_risk,
            "value_tiers": dict(self.value_tiers),
        }


@dataclass
class CopyResult:
    """Copy for one segment, with the facts it rests on and the SQL that produced them."""

    items: list[CopyItem]
    profile: dict[str, Any]
    sql: list[str]
    segment_user_ids_sql: str
    finding: str
    segment_size: int
    segment: str
    channel: str
    theme: str
    query: SemanticQuery
    check: CheckResult
    notes: list[str] = field(default_factory=list)
    base_size: int | None = None  # all users (the share of a too-broad segment)
    too_broad: bool = False
    narrower: dict[str, Any] | None = None  # {"segment": words, "size": n, "filter": (dim, value)}
    words: dict[str, str] = field(default_factory=dict)  # category/channel -> words in the language

    @property
    def sql_text(self) -> str:
        """The profile statements, then the export statement (for ``Answer.sql``)."""
        return ";\n\n".join([*self.sql, *([self.segment_user_ids_sql] if self.segment_user_ids_sql else [])])

    def profile_table(self, language: str = "zh") -> pd.DataFrame:
        """The segment's facts as (fact, value) rows for the answer's table, each value worded
        and formatted as the answer's tables format it (a count, a share, an amount, a name)."""
        from chatbi.answer.labels import format_number

        en = language == "en"
        lang = "en" if en else "zh"
        p = self.profile

        def fmt(value: Any, kind: str) -> str:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return "—"
            decimals = {"integer": 0, "percent": 1, "money": 0}[kind]
            return format_number(float(value), kind, decimals, lang)

        rows: list[tuple[str, Any]] = [("segment size" if en else "人群规模", fmt(p["segment_size"], "integer"))]
        if self.base_size:
            rows.append(("share of all users" if en else "占全部用户", fmt(p["segment_size"] / self.base_size, "percent")))
        for i, cat in enumerate(p["top_categories"], start=1):
            rows.append((f"favourite category {i}" if en else f"偏好品类{i}", self.words.get(cat["category"], cat["category"])))
            rows.append((f"share of category {i}" if en else f"偏好品类{i}占比", fmt(cat["share"], "percent")))
        channel = p["preferred_channel"]
        rows += [("average order value" if en else "平均客单价", fmt(p["avg_order_value"], "money")),
                 ("coupon order share" if en else "用券订单占比", fmt(p["coupon_usage_rate"], "percent")),
                 ("highly price-sensitive share" if en else "价格敏感度高占比",
                  fmt(p["price_sensitivity"].get("高"), "percent")),
                 ("preferred channel" if en else "常用渠道", self.words.get(channel, channel) if channel else "—"),
                 ("average churn risk" if en else "平均流失风险", fmt(p["avg_churn_risk"], "percent"))]
        return pd.DataFrame(rows, columns=["fact", "value"])


# ---------------------------------------------------------------------------------------
# The segment and its profile
# ---------------------------------------------------------------------------------------

def _refuse_merchant(role: Role, language: str) -> None:
    if role.is_merchant:
        raise CopyNotAllowedError(
            "Merchant accounts cannot select platform users for campaigns: user profiles are "
            "platform data." if language == "en" else
            "商户账号不能圈选平台用户写营销文案：用户画像属于平台数据。")


def _floats(frame: pd.DataFrame, column: str) -> float | None:
    if frame.empty or column not in frame.columns:
        return None
    value = pd.to_numeric(frame[column], errors="coerce").iloc[0]
    return float(value) if pd.notna(value) else None


def _optional(runner: Runner, query: SemanticQuery) -> pd.DataFrame:
    """A profile query that may be unavailable in this layer (then: no rows)."""
    try:
        frame, _ = runner.frame(query)
    except (CompileError, GuardError):
        return pd.DataFrame()
    return frame


def _mix(runner: Runner, dimension: str, filters: list[Filter]) -> list[tuple[str, int, float]]:
    """(value, users, share) by ``dimension``, largest first; shares are of the users that have
    a value (non-buyers have no favourite category, price sensitivity or channel)."""
    query = SemanticQuery(metrics=[SIZE_METRIC], dimensions=[dimension], filters=filters,
                          order_by=[OrderBy(field=SIZE_METRIC, descending=True)])
    frame = _optional(runner, query)
    if frame.empty:
        return []
    rows = []
    for _, row in frame.iterrows():
        value, n = row[dimension], int(row[SIZE_METRIC] or 0)
        if value is None or (isinstance(value, float) and math.isnan(value)) or n <= 0:
            continue
        rows.append((str(value), n))
    # Shares are of all users with a value, counted at once: a role that sees no group of fewer
    # than k users (marketers) would otherwise get shares of the visible groups only.
    try:
        known = segment_size(runner, [*filters, Filter(dimension=dimension, op="ne", value="")])
    except (CompileError, GuardError):
        known = 0
    known = max(known, sum(n for _, n in rows))
    return [(v, n, n / known) for v, n in rows] if known else []


def segment_size(runner: Runner, filters: list[Filter]) -> int:
    frame, _ = runner.frame(SemanticQuery(metrics=[SIZE_METRIC], filters=filters))
    value = _floats(frame, SIZE_METRIC)
    return int(value or 0)


def read_profile(runner: Runner, filters: list[Filter], size: int) -> SegmentProfile:
    """Top categories, AOV, coupon usage, price sensitivity, channel, churn risk, tiers."""
    top = _mix(runner, "favorite_category", filters)[:3]
    averages = _optional(runner, SemanticQuery(metrics=["avg_user_order_value", "avg_churn_risk"],
                                               filters=filters))
    coupons = _optional(runner, SemanticQuery(metrics=["coupon_usage_rate"], filters=filters))
    sensitivity = {k: s for k, _, s in _mix(runner, "price_sensitivity", filters)}
    channels = _mix(runner, "preferred_channel", filters)
    tiers = {k: s for k, _, s in _mix(runner, "value_tier", filters)}
    return SegmentProfile(
        size=size, top_categories=top,
        avg_order_value=_floats(averages, "avg_user_order_value"),
        coupon_usage_rate=_floats(coupons, "coupon_usage_rate"),
        price_sensitivity=sensitivity,
        preferred_channel=channels[0][0] if channels else None,
        preferred_channel_share=channels[0][2] if channels else None,
        avg_churn_risk=_floats(averages, "avg_churn_risk"),
        value_tiers=tiers,
    )


def segment_ids_sql(filters: Sequence[Filter], layer: SemanticLayer, as_of: date,
                    dialect: str = "duckdb") -> str:
    """Unguarded SQL (for ``dialect``) listing the segment's ``user_id`` only (never a PII column)."""
    query = SemanticQuery(metrics=[SIZE_METRIC], dimensions=["user_id"], filters=list(filters))
    compiled = compile_query(query, layer, as_of=as_of, dialect=dialect)
    return f"SELECT segment.user_id FROM (\n{compiled.sql}\n) AS segment ORDER BY segment.user_id"


def _guarded_ids_sql(filters: Sequence[Filter], *, layer: SemanticLayer, policy: AccessPolicy,
                     role: Role, as_of: date, rows: int, executor: Any = None) -> str:
    export_policy = dataclasses.replace(policy, max_rows=max(1, min(rows, MAX_EXPORT_IDS)))
    if getattr(export_policy, "min_group_size", 0):  # the campaign list: ids only, of a segment
        export_policy = dataclasses.replace(export_policy, min_group_size=0)  # checked >= k before
    options = guard_options(executor)
    return guard_sql(segment_ids_sql(filters, layer, as_of, options["engine"]), export_policy, role,
                     **options).sql


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def templates() -> dict[str, Any]:
    """The packaged templates (read once)."""
    text = resources.files("chatbi.answer").joinpath("data/copy_templates.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


_HIGH_VALUE_VALUES = {("value_tier", "高价值"), ("user_tag", "高价值"), ("rfm_segment", "重要价值客户"),
                      ("user_tag", "高客单价")}
_PRICE_VALUES = {("price_sensitivity", "高"), ("user_tag", "价格敏感"), ("user_tag", "优惠券偏好")}


def choose_theme(profile: SegmentProfile, filters: Sequence[Filter]) -> str:
    """winback, high_value, price_sensitive or default: what the user named first, then the
    segment's real profile (churn risk, value tiers, price sensitivity, coupon usage)."""
    named = {(f.dimension, str(v)) for f in filters
             for v in (f.value if isinstance(f.value, list | tuple) else [f.value])}
    for theme, values in (("winback", _WINBACK_VALUES), ("high_value", _HIGH_VALUE_VALUES),
                          ("price_sensitive", _PRICE_VALUES)):
        if named & values:
            return theme
    if (profile.avg_churn_risk or 0) >= 0.6:
        return "winback"
    if profile.value_tiers.get("高价值", 0) >= 0.5:
        return "high_value"
    if profile.price_sensitivity.get("高", 0) >= 0.4 or (profile.coupon_usage_rate or 0) >= 0.4:
        return "price_sensitive"
    return "default"


def _seed(filters: Sequence[Filter], channel: str, language: str) -> int:
    key = json.dumps([sorted((f.dimension, f.op, json.dumps(f.value, default=str, ensure_ascii=False))
                             for f in filters), channel, language], ensure_ascii=False)
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16)


def _pool(channel: str, language: str, angle: str) -> list[Any]:
    family = "sms" if channel == "sms" else "push"
    return list(templates().get(family, {}).get(language, {}).get(angle, []))


def _clean_topic(topic: str | None, category: str) -> str | None:
    if not topic:
        return None
    text = topic.strip().strip("《》「」\"'")
    if text == category or not _TOPIC_OK.match(text) or find_banned(text):
        return None
    return text


def signature(brand: str | None, language: str) -> str:
    """The SMS signature: the marketplace's brand (``Settings.brand`` / ``brand_en``)."""
    from chatbi.config import DEFAULT_BRAND, DEFAULT_BRAND_EN

    name = (brand or (DEFAULT_BRAND_EN if language == "en" else DEFAULT_BRAND)).strip()
    return f"[{name}] " if language == "en" else f"【{name}】"


def _uses_second(template: Any) -> bool:
    text = json.dumps(template, ensure_ascii=False) if isinstance(template, dict) else str(template)
    return "{category2}" in text


def _render(template: Any, channel: str, language: str, categories: tuple[str, str | None], topic: str | None,
            segment: str, size: int, brand: str | None = None, angle: str | None = None) -> CopyItem:
    category, second = categories
    words = {"category": category, "category2": second or category}
    if isinstance(template, dict):
        title = str(template.get("title", "")).format(**words)
        body = str(template.get("body", "")).format(**words)
    else:
        title, body = None, str(template).format(**words)
    if topic:
        body = (f"{topic}: {body}" if language == "en" else f"{topic}｜{body}")
    if channel == "sms":
        text = signature(brand, language) + body + SMS_OPT_OUT[language]
        return CopyItem(segment=segment, channel=channel, text=text, segment_size=size, angle=angle)
    if rule_for(channel).max_title is None:
        title = None
    return CopyItem(segment=segment, channel=channel, text=body, segment_size=size, title=title, angle=angle)


def angle_order(theme: str) -> tuple[str, ...]:
    """The angles in the order the segment's profile makes strongest."""
    return ANGLE_ORDER.get(theme, ANGLE_ORDER["default"])


def fallback_items(profile: SegmentProfile, *, channel: str, language: str, count: int,
                   segment: str, filters: Sequence[Filter] = (), topic: str | None = None,
                   theme: str | None = None, brand: str | None = None,
                   categories: Sequence[str] | None = None) -> list[CopyItem]:
    """Template copy for the segment: ``count`` distinct texts that pass ``check_copy``, taking
    the angles in turn (offer, novelty, reminder — ordered by the segment's theme). Templates
    with ``{category2}`` are used only when the segment has a second favourite category;
    ``categories`` are the category names in the language (English words for English copy)."""
    lang = "en" if language == "en" else "zh"
    names = list(categories) if categories is not None else [c for c, _, _ in profile.top_categories]
    category = names[0] if names else ("好物" if lang == "zh" else "picks")
    second = names[1] if len(names) > 1 and names[1] != category else None
    theme = theme or choose_theme(profile, filters)
    order = angle_order(theme)
    seed = _seed(filters, channel, lang)
    pools = {}
    for i, angle in enumerate(order):
        pool = [t for t in _pool(channel, lang, angle) if second or not _uses_second(t)]
        start = seed % len(pool) if pool else 0
        pool = pool[start:] + pool[:start]
        if second and i == 1:  # the second text reaches beyond the first favourite category
            pool.sort(key=lambda t: not _uses_second(t))
        pools[angle] = pool
    clean_topic = _clean_topic(topic, category)
    items: list[CopyItem] = []
    texts: set[str] = set()
    exhausted: set[str] = set()
    turn = 0
    while len(items) < count and len(exhausted) < len(order):
        angle = order[turn % len(order)]
        turn += 1
        if angle in exhausted:
            continue
        item = _next_item(pools[angle], channel, lang, (category, second), clean_topic, segment, profile.size,
                          brand, angle, texts)
        if item is None:
            exhausted.add(angle)
            continue
        items.append(item)
        texts.add(item.text)
    return items


def _next_item(pool: list[Any], channel: str, language: str, categories: tuple[str, str | None],
               topic: str | None, segment: str, size: int, brand: str | None, angle: str,
               texts: set[str]) -> CopyItem | None:
    """The next template of an angle's pool that renders to a new, sendable text (consumed)."""
    while pool:
        template = pool.pop(0)
        for with_topic in ([topic, None] if topic else [None]):
            item = _render(template, channel, language, categories, with_topic, segment, size, brand, angle)
            if not check_copy(item, channel) and item.text not in texts:
                return item
    return None


# ---------------------------------------------------------------------------------------
# The finding
# ---------------------------------------------------------------------------------------

def _profile_facts(profile: SegmentProfile, language: str, labels: list[str], count: int) -> Facts:
    numbers: dict[tuple[float, str], FactNumber] = {}

    def add(value: Any, kind: str) -> None:
        if value is not None and math.isfinite(float(value)):
            numbers.setdefault((round(float(value), 9), kind), FactNumber(float(value), kind))  # type: ignore[arg-type]

    add(profile.size, "amount")
    for _, n, share in profile.top_categories:
        add(n, "amount")
        add(share, "ratio")
    add(profile.avg_order_value, "amount")
    add(profile.coupon_usage_rate, "ratio")
    add(profile.avg_churn_risk, "ratio")
    add(profile.preferred_channel_share, "ratio")
    for share in list(profile.price_sensitivity.values()) + list(profile.value_tiers.values()):
        add(share, "ratio")
    texts = tuple(sorted({t for t in labels if t and any(ch.isdigit() for ch in t)}, key=len, reverse=True))
    return Facts(language=language, shape="profile", row_count=1, numbers=tuple(numbers.values()),
                 labels=texts, counts=(count, profile.size), rank_max=len(profile.top_categories))


def write_profile_finding(profile: SegmentProfile, *, segment: str, channel: str, count: int,
                          language: str, words: dict[str, str] | None = None,
                          broad: tuple[float, str, int] | None = None) -> str:
    """The segment's facts in two or three sentences, then what the copy is. ``words`` name
    categories and channels in the language; ``broad`` (share of all users, narrower segment,
    its size) adds the too-broad warning with the narrower suggestion."""
    en = language == "en"
    words = words or {}
    size = format_count(profile.size, language)
    cats = [(words.get(c, c), n, s) for c, n, s in profile.top_categories]
    channel_name = words.get(profile.preferred_channel or "", profile.preferred_channel)
    kind = _CHANNEL_WORDS.get(channel, _CHANNEL_WORDS["generic"])
    parts: list[str] = []
    warning = _broad_text(broad, segment, language) if broad else ""
    if en:
        text = f"The segment \"{segment}\" has {size} users."
        if cats:
            listed = ", ".join(f"{c} ({format_percent(s)})" for c, _, s in cats)
            parts.append(f"favourite categories {listed}")
        if profile.avg_order_value is not None:
            parts.append(f"average order value {format_money(profile.avg_order_value, 'en')}")
        if profile.coupon_usage_rate is not None:
            parts.append(f"{format_percent(profile.coupon_usage_rate)} of their orders used a coupon")
        if profile.price_sensitivity.get("高") is not None:
            parts.append(f"{format_percent(profile.price_sensitivity['高'])} are highly price-sensitive")
        if profile.preferred_channel:
            parts.append(f"preferred channel {channel_name} "
                         f"({format_percent(profile.preferred_channel_share)})")
        if parts:
            text += " Among those who have bought: " + "; ".join(parts) + "."
        return text + warning + (f" Below: {count} {kind[1]} texts, one angle each (offer, novelty, "
                                 "reminder), based on this profile and checked for length, opt-out and "
                                 "banned absolute claims.")
    text = f"「{segment}」共 {size} 人。"
    if cats:
        listed = "、".join(f"{c}（{format_percent(s)}）" for c, _, s in cats)
        parts.append(f"偏好品类依次为{listed}")
    if profile.avg_order_value is not None:
        parts.append(f"平均客单价 {format_money(profile.avg_order_value, 'zh')}")
    if profile.coupon_usage_rate is not None:
        parts.append(f"用券订单占 {format_percent(profile.coupon_usage_rate)}")
    if profile.price_sensitivity.get("高") is not None:
        parts.append(f"价格敏感度高的用户占 {format_percent(profile.price_sensitivity['高'])}")
    if profile.preferred_channel:
        parts.append(f"常用渠道是{channel_name}（{format_percent(profile.preferred_channel_share)}）")
    if parts:
        text += "其中有购买记录的用户" + "，".join(parts) + "。"
    return text + warning + (f"以下 {count} 条{kind[0]}文案分别从优惠、上新、提醒的角度据此撰写，"
                             "已检查长度、退订提示和广告法禁用的绝对化用语。")


def _broad_text(broad: tuple[float, str, int], segment: str, language: str) -> str:
    share, narrower, size = broad
    if language == "en":
        text = (f" This segment is {format_percent(share)} of all users: too broad to target.")
        return text + (f" A narrower one: \"{narrower}\" ({format_count(size, 'en')} users)." if narrower else "")
    text = f"这个人群占全部用户的 {format_percent(share)}，范围太大，不适合定向投放。"
    return text + (f"可以缩小为「{narrower}」（{format_count(size, 'zh')} 人）。" if narrower else "")


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------

def _segment_label(request: CopyRequest, catalog: Catalog, language: str) -> str:
    if request.segment_label:
        return request.segment_label
    en = language == "en"
    parts = []
    for flt in request.filters:
        dim = catalog.get_dimension(flt.dimension)
        label = ((dim.label_en or dim.name) if en else dim.label) if dim else flt.dimension
        values = flt.value if isinstance(flt.value, list | tuple) else [flt.value]
        text = "/".join(value_text(catalog, flt.dimension, v, language) for v in values)
        parts.append(f"{label} {text}" if en else f"{label}为{text}")
    if not parts:
        return "all users" if en else "所有用户"
    return "users with " + ", ".join(parts) if en else "、".join(parts) + "的用户"


def _too_small(size: int, minimum: int, segment: str, language: str) -> SegmentTooSmallError:
    message = (f"The segment \"{segment}\" has only {size} users (minimum {minimum}); copy for so "
               "few people could single them out. Widen the segment." if language == "en" else
               f"「{segment}」只有 {size} 人，少于最低 {minimum} 人，针对这么少的人写文案可能定位到个人，"
               "请放宽人群条件。")
    return SegmentTooSmallError(message, segment_size=size, minimum=minimum)


def write_copy(request: CopyRequest, *, layer: SemanticLayer, policy: AccessPolicy, role: Role,
               executor: Any, as_of: date, language: str = "zh",
               min_segment_size: int | None = None, catalog: Catalog | None = None,
               brand: str | None = None) -> CopyResult:
    """Write ``request.count`` pieces of copy for the segment ``request.filters`` describes,
    one angle each (offer, novelty, reminder), signed with ``brand`` (the marketplace's name,
    ``Settings.brand`` / ``brand_en``). Category and channel names are in the language. A
    segment of at least ``BROAD_SHARE`` of all users is flagged as too broad, with a narrower
    segment suggested from its profile (see ``narrower_segment``).

    Raises ``CopyNotAllowedError`` for merchant roles, ``SegmentTooSmallError`` (code
    ``segment_too_small``) below ``min_segment_size`` users, and the compiler's or guard's
    error when a filter is not a user dimension.
    """
    lang = "en" if language == "en" else "zh"
    _refuse_merchant(role, lang)
    min_segment_size = segment_minimum(policy, min_segment_size)
    catalog = catalog or Catalog(layer)
    filters = list(request.filters)
    segment = _segment_label(request, catalog, lang)
    runner = Runner(layer, policy, role, executor, as_of, policy.max_rows)
    size = segment_size(runner, filters)
    if size < min_segment_size:
        raise _too_small(size, min_segment_size, segment, lang)
    profile = read_profile(runner, filters, size)
    theme = choose_theme(profile, filters)
    count = max(1, int(request.count))
    words = _profile_words(profile, catalog, lang)
    categories = [words.get(c, c) for c, _, _ in profile.top_categories]
    items = fallback_items(profile, channel=request.channel, language=lang, count=count,
                           segment=segment, filters=filters, topic=request.topic, theme=theme,
                           brand=brand, categories=categories)
    notes = []
    if len(items) < count:
        notes.append(f"Only {len(items)} distinct texts fit the {request.channel} rules." if lang == "en"
                     else f"符合{request.channel}规则的不同文案只有 {len(items)} 条。")
    base_size = segment_size(runner, []) if filters else size
    narrower = None
    broad = None
    if base_size and size / base_size >= BROAD_SHARE:
        narrower = narrower_segment(runner, request, catalog, theme, lang, min_segment_size, base_size)
        broad = (size / base_size, narrower["segment"] if narrower else "", narrower["size"] if narrower else 0)
        notes.append(_broad_text(broad, segment, lang).strip())
    finding = write_profile_finding(profile, segment=segment, channel=request.channel,
                                    count=len(items), language=lang, words=words, broad=broad)
    labels = [segment] + categories + [words.get(profile.preferred_channel or "", profile.preferred_channel or "")]
    labels += [narrower["segment"]] if narrower else []
    facts = _profile_facts(profile, lang, labels, len(items))
    if broad:
        extra = [FactNumber(broad[0], "ratio")] + ([FactNumber(float(broad[2]), "amount")] if narrower else [])
        facts = dataclasses.replace(facts, numbers=facts.numbers + tuple(extra),
                                    counts=facts.counts + ((broad[2],) if narrower else ()))
    check = check_finding(finding, facts)
    try:
        ids_sql = _guarded_ids_sql(filters, layer=layer, policy=policy, role=role, as_of=as_of, rows=size)
    except GuardError:  # the role may not list user ids (marketers): the copy stands, the export is not offered
        ids_sql = ""
        notes.append("The user id list for this segment needs an admin or analyst role." if lang == "en"
                     else "导出该人群的用户ID名单需要管理员或分析师角色。")
    return CopyResult(
        items=items, profile=profile.to_dict(), sql=list(runner.sql), segment_user_ids_sql=ids_sql,
        finding=finding, segment_size=size, segment=segment, channel=request.channel, theme=theme,
        query=SemanticQuery(metrics=[SIZE_METRIC], filters=filters), check=check, notes=notes,
        base_size=base_size, too_broad=broad is not None, narrower=narrower, words=words,
    )


def _profile_words(profile: SegmentProfile, catalog: Catalog, language: str) -> dict[str, str]:
    """Category and channel names of the profile in the language (中古包 → Vintage bags)."""
    pairs = [("favorite_category", c) for c, _, _ in profile.top_categories]
    if profile.preferred_channel:
        pairs.append(("preferred_channel", profile.preferred_channel))
    return {value: value_text(catalog, dim, value, language) for dim, value in pairs}


def narrower_segment(runner: Runner, request: CopyRequest, catalog: Catalog, theme: str, language: str,
                     minimum: int, base_size: int) -> dict[str, Any] | None:
    """A narrower segment for a too-broad one: the segment plus the first trait (by theme:
    price sensitivity, dormancy, value tier…) that keeps it between ``minimum`` users and
    ``NARROW_MAX_SHARE`` of all users. Every size is counted with guarded SQL."""
    named = {f.dimension for f in request.filters}
    for dimension, value in NARROWER.get(theme, NARROWER["default"]):
        if dimension in named or catalog.get_dimension(dimension) is None:
            continue
        extra = Filter(dimension=dimension, value=value)
        try:
            size = segment_size(runner, [*request.filters, extra])
        except (CompileError, GuardError):
            continue
        if minimum <= size <= NARROW_MAX_SHARE * base_size:
            narrowed = dataclasses.replace(request, filters=(*request.filters, extra), segment_label="")
            return {"segment": _segment_label(narrowed, catalog, language), "size": size,
                    "filter": [dimension, value]}
    return None


def export_segment_ids(request: CopyRequest, *, layer: SemanticLayer, policy: AccessPolicy,
                       role: Role, executor: Any, as_of: date, language: str = "zh",
                       min_segment_size: int | None = None) -> list[int]:
    """The segment's user ids (for a campaign tool), with the same refusals as ``write_copy``."""
    lang = "en" if language == "en" else "zh"
    _refuse_merchant(role, lang)
    min_segment_size = segment_minimum(policy, min_segment_size)
    filters = list(request.filters)
    runner = Runner(layer, policy, role, executor, as_of, policy.max_rows)
    size = segment_size(runner, filters)
    segment = _segment_label(request, Catalog(layer), lang)
    if size < min_segment_size:
        raise _too_small(size, min_segment_size, segment, lang)
    rows = min(size, MAX_EXPORT_IDS)
    sql = _guarded_ids_sql(filters, layer=layer, policy=policy, role=role, as_of=as_of, rows=rows,
                           executor=executor)
    result = executor.run(sql, max_rows=rows)
    return [int(row[0]) for row in result.rows]


def write_segment_csv(ids: Sequence[int], path: str | Path) -> Path:
    """Write the ids as a one-column CSV (``user_id``) and return the path."""
    target = Path(path)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id"])
        writer.writerows([int(i)] for i in ids)
    return target
