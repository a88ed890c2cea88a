"""Shared building blocks: resolve values to filters, pick default metrics, describe time,
check metric/dimension compatibility, and assemble the ``SemanticQuery`` of a question."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from chatbi.planner import intents, messages, periods
from chatbi.planner.compat import Compatibility
from chatbi.planner.lexicon import Lexicon
from chatbi.planner.snapshots import SnapshotMetrics
from chatbi.planner.time_parser import default_range, latest_complete_month
from chatbi.planner.types import Language, Plan, describe_range
from chatbi.planner.understand import Understanding, ValueHit
from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import (
    ComparisonKind,
    Filter,
    Grain,
    MetricFilter,
    OrderBy,
    SemanticQuery,
    TimeRange,
)

try:  # the compiler's comparison rules (chatbi.semantic.periods)
    from chatbi.semantic import periods as _compiler_periods
except ImportError:  # pragma: no cover - only before the compiler exists
    _compiler_periods = None  # type: ignore[assignment]

_CORE_METRICS = ("gmv", "order_count", "buyer_count", "avg_order_value", "conversion_rate", "repurchase_rate")
_COUNT_METRICS = {
    "user": ("user_count", "users", "total_users", "customer_count", "user_total"),
    "merchant": ("merchant_count", "merchants", "total_merchants", "merchant_total"),
}
_COUNT_WORDS = {"user": ("用户数", "用户数量", "user count"), "merchant": ("商户数", "商户数量", "merchant count")}
_VALUE_METRICS = ("gmv", "order_count")
_DEFAULT_ENTITY_LIMIT = 10
_TAG_WORD = re.compile(r"标签|打标|\btags?\b|\btagged\b|\blabell?ed\b", re.ASCII)
#: rates ranked across groups leave out groups with a smaller denominator (stated in a note)
MIN_RATE_BASE = 30
#: prefixes naming whose place or channel a dimension is (merchant_region, signup_channel), not a
#: preference (favorite_category)
_OWNERS = frozenset({"merchant", "seller", "shop", "store", "signup", "user", "buyer"})


@dataclass(frozen=True)
class Env:
    """What every builder needs: the layer, its lexicon and compatibility, the as-of date."""

    layer: SemanticLayer
    lexicon: Lexicon
    compat: Compatibility
    as_of: date
    snapshots: SnapshotMetrics | None = None


# ------------------------------------------------------------------ labels
def metric_label(env: Env, name: str, language: Language) -> str:
    try:
        metric = env.layer.metric(name)
    except KeyError:
        return name
    return metric.label if language == "zh" else (metric.label_en or metric.name)


def dimension_label(env: Env, name: str, language: Language) -> str:
    try:
        _, dim = env.layer.dimension(name)
    except KeyError:
        return name
    return dim.label if language == "zh" else (dim.label_en or dim.name)


def metric_exists(env: Env, name: str) -> bool:
    return any(m.name == name for m in env.layer.metrics)


def dimension_exists(env: Env, name: str) -> bool:
    return any(d.name == name for _, d in env.layer.all_dimensions())


def banded(env: Env, dim: str) -> str:
    """A breakdown by a number with a banded sibling uses the bands (age breakdown → age_band,
    not one row per year of age)."""
    band = f"{dim}_band"
    return band if env.lexicon.dimension_type(band) is not None else dim


# ------------------------------------------------------------------ values → filters
def resolve_values(
    env: Env,
    hits: Sequence[ValueHit],
    metrics: Sequence[str],
    prefer: Iterable[str] = (),
) -> tuple[list[Filter], list[str], list[tuple[str, str]]]:
    """Filters for the values said, the dimensions to group by (two values of one
    dimension = a comparison), and (metric, dimension) pairs that do not fit."""
    order = {d.name: i for i, (_, d) in enumerate(env.layer.all_dimensions())}
    preferred = set(prefer)
    per_dim: dict[str, list[tuple[Any, bool, bool]]] = {}
    problems: list[tuple[str, str]] = []
    for hit in hits:
        fitting = [e for e in hit.entries if all(env.compat.can_use(m, e.name) for m in metrics)]
        pool = list(fitting or hit.entries)
        if preferred and any(e.name in preferred for e in pool):
            pool = [e for e in pool if e.name in preferred]
        pick = min(pool, key=lambda e: (e.rank, e.tag, len(e.name), order.get(e.name, 999)))  # a plain dimension beats a tag list
        if not fitting:
            bad = next(m for m in metrics if not env.compat.can_use(m, pick.name))
            problems.append((bad, pick.name))
        per_dim.setdefault(pick.name, []).append((pick.value, hit.negated, pick.tag))
    filters: list[Filter] = []
    compare_dims: list[str] = []
    for dim, items in per_dim.items():
        if items[0][2]:  # a tag list: 有/没有 the tag
            filters.extend(Filter(dimension=dim, op="ne" if neg else "has_tag", value=v) for v, neg, _ in _unique(items))
            continue
        positive = [v for v, neg, _ in _unique(items) if not neg]
        negative = [v for v, neg, _ in _unique(items) if neg]
        if positive:
            filters.append(Filter(dimension=dim, op="eq", value=positive[0]) if len(positive) == 1
                           else Filter(dimension=dim, op="in", value=positive))
            if len(positive) > 1:
                compare_dims.append(dim)
        if negative:
            filters.append(Filter(dimension=dim, op="ne", value=negative[0]) if len(negative) == 1
                           else Filter(dimension=dim, op="not_in", value=negative))
    return filters, compare_dims, problems


def _unique(items: list[tuple[Any, bool, bool]]) -> list[tuple[Any, bool, bool]]:
    seen: list[tuple[Any, bool, bool]] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# ------------------------------------------------------------------ metrics
def entity_dimensions(env: Env, entity: str, said: Sequence[str] = ()) -> list[str]:
    """The dimensions that list an entity: its id, then the name said (merchant_name) or
    ``<entity>_name``; personal data excluded."""
    found: list[str] = []
    for name in [f"{entity}_id", *said, f"{entity}_name"]:
        if name in found or name in env.lexicon.pii_dimensions or not dimension_exists(env, name):
            continue
        if name.endswith("_name") and any(f.endswith(("_name", "_title")) for f in found):
            continue
        found.append(name)
    return found


def count_metric(env: Env, entity: str) -> str | None:
    """The metric that counts an entity (user_count, product_count…), by name or by its words."""
    for name in (*_COUNT_METRICS.get(entity, ()), f"{entity}_count"):
        if metric_exists(env, name):
            return name
    for word in _COUNT_WORDS.get(entity, ()):
        for entry in env.lexicon.entries(word):
            if entry.kind == "metric":
                return entry.name
    return None


def rate_of(env: Env, metric: str) -> str | None:
    """The ratio metric whose numerator is this count's measure (cancelled orders → the
    cancellation rate), when exactly one exists."""
    found = next((m for m in env.layer.metrics if m.name == metric), None)
    if found is None or found.type != "simple" or not found.measure:
        return None
    rates = [m.name for m in env.layer.metrics if m.type == "ratio" and m.numerator == found.measure]
    return rates[0] if len(rates) == 1 else None


def first_metric(env: Env, names: Iterable[str], dims: Iterable[str] = ()) -> str | None:
    """The first existing metric of ``names`` that can use every dimension in ``dims``."""
    dims = list(dims)
    for name in names:
        if metric_exists(env, name) and all(env.compat.can_use(name, d) for d in dims):
            return name
    return None


def candidates(env: Env, u: Understanding, dims: Iterable[str] = (), term: str | None = None) -> list[str]:
    """Up to three metrics to offer in a clarifying question, closest to what was typed."""
    dims = [d for d in dims if dimension_exists(env, d)]
    usable = [m.name for m in env.layer.metrics if all(env.compat.can_use(m.name, d) for d in dims)] or [m.name for m in env.layer.metrics]
    probe = (term or u.residue or "").lower()
    chars = frozenset(probe.replace(" ", ""))
    scored: list[tuple[float, str]] = []
    if probe:
        for name in usable:
            score = max((_similarity(chars, s) for s in env.lexicon.metric_charsets.get(name, ())), default=0.0)
            if score >= 0.3:
                scored.append((score, name))
    scored.sort(key=lambda x: -x[0])
    picked = [name for _, name in scored[:3]]
    for name in [*_CORE_METRICS, *usable]:
        if len(picked) >= 3:
            break
        if name in usable and name not in picked:
            picked.append(name)
    return picked


def _similarity(probe: frozenset[str], surface: frozenset[str]) -> float:
    """Dice coefficient of the character sets (利润率 ~ 退货率 share 率)."""
    if not probe or not surface:
        return 0.0
    return 2 * len(probe & surface) / (len(probe) + len(surface))


def describe_metrics(env: Env, names: Sequence[str], language: Language) -> str:
    """销售额（GMV）、订单数 / GMV, Orders: how metrics are offered to the user."""
    labels = []
    for name in names:
        try:
            metric = env.layer.metric(name)
        except KeyError:
            labels.append(name)
            continue
        if language == "zh":
            extra = metric.label_en if metric.label_en and metric.label_en != metric.label and metric.label_en.isupper() else None
            labels.append(f"{metric.label}（{extra}）" if extra else metric.label)
        else:
            labels.append(metric.label_en or metric.name)
    return messages.join(labels, language)


def ranking_descending(env: Env, u: Understanding, metric: str) -> bool:
    """最高/highest rank high values first; 最好/best rank the good end first, which for a
    metric whose higher_is_better is false (return rate) is the low end."""
    descending = (u.order or "desc") == "desc"
    if u.order_judged and metric_exists(env, metric) and not env.layer.metric(metric).higher_is_better:
        return not descending
    return descending


# ------------------------------------------------------------------ time
def time_text(query: SemanticQuery | None, language: Language, unit: Grain | None = None) -> str | None:
    """``上个季度 = 2026-04-01 至 2026-06-30`` plus the comparison period when there is one
    (computed by the compiler's rules when they are available, so both say the same)."""
    if query is None or query.time_range is None:
        return None
    text = describe_range(query.time_range, language)
    if query.comparison:
        start, end = comparison_period(query.time_range, query.comparison, query.grain, unit)
        if language == "zh":
            kind = "同比" if query.comparison == "same_period_last_year" else "环比"
            text += f"；{kind}对比 {start.isoformat()} 至 {end.isoformat()}"
        else:
            kind = "year over year" if query.comparison == "same_period_last_year" else "vs previous period"
            text += f"; {kind}: {start.isoformat()} to {end.isoformat()}"
    return text


def comparison_period(
    time_range: TimeRange, kind: ComparisonKind, grain: Grain | None, unit: Grain | None = None
) -> tuple[date, date]:
    """The dates the comparison reads."""
    if _compiler_periods is not None:
        found = _compiler_periods.comparison_range(time_range, kind, grain)
        return found.start, found.end
    return periods.comparison_range(time_range.start, time_range.end, kind, unit)


def default_unit(u: Understanding) -> Grain:
    if u.time and u.time.grain:
        return u.time.grain
    return "month"


def pick_grain(u: Understanding, time_range: TimeRange | None) -> Grain | None:
    if u.which_grain:
        return u.which_grain
    if u.grain:
        return u.grain
    if u.trend:
        return periods.suggest_grain(time_range.start, time_range.end) if time_range else "month"
    return None


# ------------------------------------------------------------------ compatibility
def incompatible(env: Env, metrics: Sequence[str], dims: Iterable[str]) -> tuple[str, str] | None:
    for dim in dims:
        for metric in metrics:
            if not env.compat.can_use(metric, dim):
                return metric, dim
    return None


def incompatible_plan(env: Env, metric: str, dim: str, language: Language) -> Plan:
    usable = env.compat.dimensions_for(metric) or frozenset()
    known = env.lexicon.values
    ranked = sorted(
        (i, d.name) for i, (_, d) in enumerate(env.layer.all_dimensions())
        if d.name in usable and d.type == "categorical" and d.name not in env.lexicon.pii_dimensions
    )
    ranked.sort(key=lambda item: (item[1] not in known, item[0]))
    options = [name for _, name in ranked[:5]]
    message = messages.text(
        "incompatible", language,
        metric=metric_label(env, metric, language),
        dimension=dimension_label(env, dim, language),
        options=messages.join([dimension_label(env, o, language) for o in options], language) or "-",
    )
    return Plan(intent="clarify", language=language, message=message, candidates=(metric,))


def clarify_metric(env: Env, u: Understanding, key: str = "need_metric", dims: Iterable[str] = ()) -> Plan:
    picked = candidates(env, u, dims)
    message = messages.text(key, u.language, candidates=describe_metrics(env, picked, u.language))
    return Plan(intent="clarify", language=u.language, message=message, candidates=tuple(picked))


def unknown_metric_plan(env: Env, u: Understanding, term: str) -> Plan:
    picked = candidates(env, u, term=term)
    message = messages.text("unknown_metric", u.language, term=term, candidates=describe_metrics(env, picked, u.language))
    return Plan(intent="clarify", language=u.language, message=message, candidates=tuple(picked))


def unknown_qualifier_plan(env: Env, u: Understanding, metric: str) -> Plan:
    """An unrecognised word narrows the metric (圣保罗州的GMV): ask, don't drop it."""
    term = messages.join(list(dict.fromkeys(t.strip() for t in u.qualifiers)), u.language)
    examples = [d for d in ("region", "category", "channel") if dimension_exists(env, d) and env.compat.can_use(metric, d)]
    options = messages.join([dimension_label(env, d, u.language) for d in examples], u.language) or "-"
    message = messages.text("unknown_qualifier", u.language, term=term,
                            metric=metric_label(env, metric, u.language), options=options)
    return Plan(intent="clarify", language=u.language, message=message, candidates=(metric,))


# ------------------------------------------------------------------ the query
@dataclass
class Draft:
    """A query being assembled, with the notes explaining its assumptions."""

    metrics: list[str]
    dimensions: list[str]
    filters: list[Filter]
    time_range: TimeRange | None
    comparison: ComparisonKind | None
    grain: Grain | None
    share: bool
    order_by: list[OrderBy]
    limit: int | None
    notes: list[str]
    entity_list: bool = False
    time_dimension: str | None = None


def build_query(env: Env, u: Understanding, metrics: list[str], notes: list[str]) -> Plan:
    """Assemble the SemanticQuery of a query question (metrics already chosen)."""
    lang = u.language
    entity_dims: list[str] = []
    ranked_ask = bool(u.top_n or u.order)
    compared = len({(v.start, v.end) for v in u.values}) >= 2
    inner = intents.OF_THEM.search(u.norm)
    if inner and any(start > inner.start() for start, _ in [*((h.start, h.end) for h in u.values), *((s, e) for s, e, _ in u.filter_spans), *u.boolean_spans]):
        u.share = True  # 总共多少商户 其中过了认证的有几家: the part and its share of the whole, not the part alone
    asked_rate = u.share or intents.AS_RATE.search(u.norm)
    rate = rate_of(env, metrics[0]) if asked_rate and len(metrics) == 1 and (compared or not u.values) else None
    if rate is not None:  # what % of orders got cancelled / 取消订单占比 / returns, as a rate: the rate
        notes.append(messages.text("note_fuzzy", lang, term=metric_label(env, metrics[0], lang),
                                   metric=metric_label(env, rate, lang)))
        metrics = [rate]
        u.share = False
    elif asked_rate:
        u.share = True  # how many orders (as a %) had a coupon: the part of the whole
    if ranked_ask and u.entity and not u.entity_grouped and not u.group_dims and not u.grain and not u.which_grain \
            and not compared and not u.share:
        u.entity_grouped = True  # 高客单价型的店里哪家GMV最高: the ranking is over the entity
    owned = [d for d in u.group_dims if u.entity and d.startswith(u.entity + "_") and not d.endswith(("_id", "_name"))]
    if u.entity_grouped and owned and not u.top_n and not u.list_request:
        u.entity_grouped = False  # 按商户所在大区看 哪个区的店铺评分 / sellers by where they are based: by the shop's region
    if u.entity and u.entity_grouped:
        entity_dims = entity_dimensions(env, u.entity, u.entity_dims_said)
        if not entity_dims:
            entity = {"merchant": "商户", "user": "用户", "product": "商品"}.get(u.entity, u.entity) if lang == "zh" else f"{u.entity}s"
            return Plan(intent="clarify", language=lang, message=messages.text("entity_unknown", lang, entity=entity))
    dims = list(entity_dims)
    for dim in u.group_dims:
        dim = banded(env, dim)
        if dim not in dims:
            dims.append(dim)
    tagged = _TAG_WORD.search(u.norm)  # "carry the 高流失风险 tag" / 打了…标签: the tag list, not a level
    prefer = [d for hit in u.values for d in hit.dims if env.lexicon.dimension_type(d) == "tag"] if tagged else []
    filters, compare_dims, problems = resolve_values(env, u.values, metrics, prefer=prefer)
    if problems:
        return incompatible_plan(env, problems[0][0], problems[0][1], lang)
    dims = [d for d in dims if not any(o != d and o.endswith("_" + d) for o in dims)]  # merchant region, …which region: one
    if intents.COMBINED.search(u.norm):
        compare_dims = []  # tier 1 + tier 2 cities (both together): one group, not two rows
    for dim in compare_dims:
        if dim not in dims:
            dims.append(dim)
    filters.extend(u.extra_filters)
    if u.preference and count_metric(env, "user") in metrics:  # 最常买哪些品类 按人数: people by their favourite
        dims = [preferred_sibling(env, d, metrics) for d in dims]
    dims = [compatible_sibling(env, u, d, metrics) for d in dims]
    bad = incompatible(env, metrics, [*dims, *(f.dimension for f in filters)])
    if bad:
        people = people_by(env, metrics, [*dims, *(f.dimension for f in filters)])
        if people is not None:
            notes.append(messages.text("note_people_as_buyers", lang, metric=metric_label(env, people, lang)))
            metrics = [people if m == bad[0] else m for m in metrics]
            bad = incompatible(env, metrics, [*dims, *(f.dimension for f in filters)])
    if bad:
        return incompatible_plan(env, bad[0], bad[1], lang)

    time_range = u.time.range if u.time else None
    comparison = u.time.comparison if u.time else None
    if u.growth or u.growth_generic:
        comparison = comparison or "previous_period"
    grain = pick_grain(u, time_range)
    if comparison and time_range is None:  # a comparison needs a range
        time_range = default_range("year" if grain else default_unit(u), env.as_of, lang)
        notes.append(messages.text("note_default_time", lang, label=time_range.label or ""))

    per_period = u.per_period if not grain and not comparison else None
    if per_period is not None:
        stuck = per_period_problem(env, metrics, lang)
        if stuck is not None:
            return stuck
        if time_range is None:
            time_range = latest_complete_month(env.as_of, lang)
            notes.append(messages.text("note_default_time", lang, label=time_range.label or ""))
        said = "平均每" + {"day": "天", "week": "周", "month": "月"}.get(per_period, per_period) if lang == "zh" \
            else f"per {per_period} on average"
        time_range = time_range.model_copy(update={"label": f"{time_range.label or ''}（{said}）" if lang == "zh"
                                                            else f"{time_range.label or ''} ({said})"})
    said_time = bool((u.time and (u.time.range or u.time.comparison)) or grain or per_period)
    stuck = snapshot_problem(env, metrics, said_time, lang)
    if stuck is not None:
        return stuck
    order_by: list[OrderBy] = []
    limit: int | None = None
    entity_list = bool(entity_dims) and (u.list_request or not (u.order or u.top_n or u.growth))
    ranked = bool(u.growth or u.order or u.top_n)
    if u.growth:
        order_by = [OrderBy(field=f"{metrics[0]}_growth", descending=u.growth == "up")]
    elif u.growth_generic and comparison and (u.order or u.top_n) and dims:  # regions ranked by mom growth
        order_by = [OrderBy(field=f"{metrics[0]}_growth", descending=ranking_descending(env, u, metrics[0]))]
    elif (u.order or u.top_n) and (dims or grain):
        order_by = [OrderBy(field=metrics[0], descending=ranking_descending(env, u, metrics[0]))]
    elif entity_dims:
        order_by = [OrderBy(field=metrics[0], descending=True)]
    rate_floor: MetricFilter | None = None
    if ranked and (dims or grain):
        limit = u.top_n
        if limit is None and entity_dims and not u.list_request and not u.which:  # "which … highest": the whole ranking
            limit = _DEFAULT_ENTITY_LIMIT
            notes.append(messages.text("note_default_limit", lang, n=str(limit)))
        filters = without_missing_group(env, dims, filters)
        base = rate_base(env, order_by[0].field) if order_by and dims else None
        if base is not None:  # 纠纷率最高的商户: one dispute in one order is not the top of a ranking
            rate_floor = MetricFilter(metric=base, op="gte", value=float(MIN_RATE_BASE))
            notes.append(messages.text("note_rate_floor", lang, base=metric_label(env, base, lang), n=str(MIN_RATE_BASE)))
    elif u.preference and dims:  # 沉默用户爱买啥品类: people without a favourite are not a group
        filters = without_missing_group(env, dims, filters)
    if u.share and comparison and not u.values and not dims:
        u.share = False  # 比Q1涨了百分之几: the percentage is the growth, not a share
    if ranked_ask and not dims and not grain and not u.share and not compared:
        # a ranking with nothing to rank (前5的什么？): ask, never answer it with one total
        return Plan(intent="clarify", language=lang, message=messages.text("ranking_needs_dimension", lang))
    count_as: str | None = None
    having = [h for h in u.having if h.metric in metrics]
    if rate_floor and rate_floor not in having:
        having.append(rate_floor)
    if u.min_orders:  # 下单3次以上的用户有多少: the buyers whose order count passes, counted
        counted = people_by_order_count(env, dims, metrics[0], u.min_orders)
        if counted is None:
            return Plan(intent="clarify", language=lang, message=messages.text("need_metric", lang, candidates="-"))
        dims, condition, count_as = counted
        having = [*having, condition]
        u.order, u.top_n, ranked_ask = None, None, False
    share_part = share_part_of(u, filters) if u.share and not dims and not grain else None
    if share_part is not None:  # 沉默用户里男性占几成: the part's rows of a breakdown by its dimension
        filters = [f for f in filters if f.dimension != share_part.dimension]
        dims = [share_part.dimension]
        order_by, limit = [], None
    elif u.share and not dims and not grain:
        return Plan(intent="clarify", language=lang, message=messages.text("share_needs_dimension", lang))
    time_dimension = u.time_dimension if u.time_dimension and all(env.compat.can_use(m, u.time_dimension) for m in metrics) else None
    query = SemanticQuery(
        metrics=metrics,
        dimensions=dims,
        filters=filters,
        having=having,
        count_as=count_as,
        time_dimension=time_dimension,
        time_range=time_range,
        grain=grain,
        comparison=comparison,
        share_of_total=u.share,
        share_part=share_part,
        per_period=per_period,
        order_by=order_by,
        limit=limit,
    )
    if u.qualifiers and any(q.strip() in (x.text for x in u.unknowns) for q in u.qualifiers):
        return unknown_qualifier_plan(env, u, metrics[0])  # (unknown words are asked about before this)
    if time_range is None and not notes_mention_time(notes):
        notes.append(messages.text("note_all_time", lang))
    return Plan(
        intent="query",
        language=lang,
        query=query,
        time_text=time_text(query, lang, u.time.grain if u.time else None),
        entity_list=entity_list,
        notes=tuple(_notes(env, u, notes)),
    )


def people_by_order_count(env: Env, dims: Sequence[str], metric: str,
                          n: int) -> tuple[list[str], MetricFilter, str] | None:
    """For "people who ordered n or more times": the dimensions with the user last, the
    condition on ``metric`` per user, and the column that counts them; None when ``metric``
    cannot be taken per user."""
    usable = env.compat.dimensions_for(metric)
    if not usable or "user_id" not in usable:
        return None
    return ([d for d in dims if not d.startswith("user_")] + ["user_id"],
            MetricFilter(metric=metric, op="gte", value=float(n)),
            first_metric(env, ["buyer_count"]) or "buyer_count")


def rate_base(env: Env, field: str) -> str | None:
    """The metric counting a ratio metric's denominator (dispute_rate → order_count), when
    ``field`` is a ratio metric and such a metric exists."""
    try:
        metric = env.layer.metric(field)
    except KeyError:
        return None
    if metric.type != "ratio" or not metric.denominator:
        return None
    for other in env.layer.metrics:
        if other.type == "simple" and other.measure == metric.denominator:
            return other.name
    return None


def preferred_sibling(env: Env, dim: str, metrics: Sequence[str]) -> str:
    """favorite_category for 品类 in a question about what people like or buy most, when
    the metric counts people and can use it."""
    for prefix in ("favorite_", "favourite_", "preferred_"):
        other = prefix + dim
        if dimension_exists(env, other) and all(env.compat.can_use(m, other) for m in metrics):
            return other
    return dim


def compatible_sibling(env: Env, u: Understanding, dim: str, metrics: Sequence[str]) -> str:
    """The dimension the words meant: 渠道 with new users is the signup channel, not the order
    channel — another dimension said by the same words that the metrics can use."""
    if all(env.compat.can_use(m, dim) for m in metrics):
        return dim
    for start, end in u.dimension_spans:
        entries = env.lexicon.entries(u.norm[start:end])
        if any(e.name == dim for e in entries):
            for entry in entries:
                if entry.kind == "dimension" and all(env.compat.can_use(m, entry.name) for m in metrics):
                    return entry.name
    # the same kind of place or channel owned by what is counted: region → merchant_region
    for _, other in env.layer.all_dimensions():
        owner = other.name[: -len(dim) - 1] if other.name.endswith("_" + dim) else ""
        if owner in _OWNERS and all(env.compat.can_use(m, other.name) for m in metrics):
            u.notes.append(messages.text("note_owner_dimension", u.language, said=dimension_label(env, dim, u.language),
                                         used=dimension_label(env, other.name, u.language)))
            return other.name
    return dim


def people_by(env: Env, metrics: Sequence[str], dims: Sequence[str]) -> str | None:
    """Counting people by something only orders have (品类, 商户, order channel): the people
    are the buyers. The buyer metric when it fits and the user count did not."""
    users = count_metric(env, "user")
    if users not in metrics:
        return None
    buyers = first_metric(env, ["buyer_count"], dims)
    return buyers


def per_period_problem(env: Env, metrics: Sequence[str], language: Language) -> Plan | None:
    """平均每天 works for totals (sums and counts): a rate or a distinct count per day is not
    its period value over the days."""
    for name in metrics:
        metric = env.layer.metric(name)
        models = env.layer.models_with_measure(metric.measure or "") if metric.type == "simple" else []
        measure = models[0].measure(metric.measure or "") if models else None
        if measure is None or measure.agg not in ("sum", "count") or getattr(measure, "min_occurrences", None):
            return Plan(intent="clarify", language=language, message=messages.text(
                "per_period_not_additive", language, metric=metric_label(env, name, language)))
    return None


def without_missing_group(env: Env, dims: Sequence[str], filters: list[Filter]) -> list[Filter]:
    """A ranking by a categorical dimension leaves out the rows without one (哪个分层最高,
    他们最常买什么品类: 「（空）」 is not a group that can lead a ranking)."""
    first = dims[0] if dims else None
    if first and not first.endswith(("_id", "_name", "_title")) and env.lexicon.dimension_type(first) == "categorical" \
            and not any(f.dimension == first for f in filters):
        return [*filters, Filter(dimension=first, op="ne", value=None)]
    return filters


def snapshot_problem(env: Env, metrics: Sequence[str], said_time: bool, language: Language) -> Plan | None:
    """A period or trend said with a snapshot metric (用户数 is today's count): ask, offering
    the dated metrics, instead of answering today's number for the period."""
    if not said_time or env.snapshots is None:
        return None
    for metric in metrics:
        if env.snapshots.is_snapshot(metric):
            dated = env.snapshots.dated_alternatives(env.layer, metric)
            message = messages.text("snapshot_time", language, metric=metric_label(env, metric, language),
                                    candidates=describe_metrics(env, dated, language) if dated else "-")
            return Plan(intent="clarify", language=language, message=message, candidates=tuple(dated))
    return None


def _on_dimensions(dims: tuple[str, ...], f: Filter) -> bool:
    return f.dimension in dims


def share_part_of(u: Understanding, filters: list[Filter]) -> Filter | None:
    """The part in a part-of-whole question: the value said right before the share word in
    Chinese (沉默用户里「男性」占几成), the last value in English (what share of orders came
    from 「小红书」); the other values narrow the whole. None without a value to take."""
    positive = [f for f in filters if f.op in ("eq", "in", "between")]
    yes_no = [f for f in positive if isinstance(f.value, bool)]
    if yes_no and (not u.values or max(s for s, _ in u.boolean_spans) > max(h.start for h in u.values)):
        return yes_no[-1]  # what % of orders used a coupon: the yes/no filter is the part
    said: list[tuple[int, int, Callable[[Filter], bool]]] = [
        (h.start, h.end, partial(_on_dimensions, tuple(h.dims))) for h in u.values]
    said += [(start, end, read.__eq__) for start, end, read in u.filter_spans]  # 1 and 2 star
    if not positive or not said:
        return None
    share_word = intents.SHARE.search(u.norm)
    hits = sorted(said, key=lambda h: h[0])
    if u.language == "zh" and share_word is not None:
        before = [h for h in hits if h[1] <= share_word.start()]
        hit = before[-1] if before else hits[-1]
    else:
        hit = hits[-1]
    return next((f for f in positive if hit[2](f)), None)


def notes_mention_time(notes: list[str]) -> bool:
    return any("时间" in n or "time" in n for n in notes)


def _notes(env: Env, u: Understanding, notes: list[str]) -> list[str]:
    out = [*notes, *u.notes]
    for typed, name in u.fuzzy_terms:
        label = metric_label(env, name, u.language) if metric_exists(env, name) else dimension_label(env, name, u.language)
        out.append(messages.text("note_fuzzy", u.language, term=typed, metric=label))
    for surface, metric in u.modifiers:
        out.append(messages.text("note_modifier", u.language, term=surface, metric=metric_label(env, metric, u.language)))
    return out


def looks_like_gibberish(residue: str) -> bool:
    """Keyboard mashing: no vowels, long consonant runs, or nothing at all."""
    words = re.findall(r"[a-z]+", residue.lower())
    if not residue.strip():
        return True
    if re.search(r"[\u4e00-\u9fff]", residue):
        return False
    if not words:
        return True
    return all(not re.search(r"[aeiouy]", w) or re.search(r"[^aeiouy]{5,}", w) or re.search(r"asdf|qwer|zxcv|hjkl|jkl;", w) for w in words)
