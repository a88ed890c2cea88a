"""Follow-ups: change the previous plan with what a short question says.

"那华南呢" replaces the region filter, "按月看" sets a month grain, "只看女性" adds a filter,
"换成订单数" replaces the metric, "and last year?" replaces the time range, "top 5
instead" changes the limit. Works on query, why and copy plans.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dateutil.relativedelta import relativedelta

from chatbi.planner import intents, messages
from chatbi.planner.build import (
    Env,
    default_unit,
    entity_dimensions,
    first_metric,
    incompatible,
    incompatible_plan,
    pick_grain,
    ranking_descending,
    resolve_values,
    snapshot_problem,
    time_text,
    without_missing_group,
)
from chatbi.planner.numbers import to_int
from chatbi.planner.period_pairs import asks_same_period_only, moved_a_year_back
from chatbi.planner.time_parser import default_range
from chatbi.planner.types import CopyRequest, Plan
from chatbi.planner.understand import Understanding
from chatbi.semantic.query import Filter, OrderBy, TimeRange

#: ok / so / 好 / 嗯 said before the words that make a follow-up (ok now only the app orders)
_LEAD_IN = r"^\s*(?:(?:ok(?:ay)?|so|alright|right|cool|thanks|great|好的?|嗯|行|哦)\b[\s,，.!。]*)*"
_STRONG_START = re.compile(
    _LEAD_IN + r"(?:那么?|那如果|如果换成|换成|换为|改成|改为|改看|换个|只看|只要|仅看|就看|再看|去掉|不看|加上|再加|再来|再写|"
    r"and\b|what about\b|how about\b|only\b|just\b|switch to\b|change to\b|same for\b|same but\b|instead\b|now\b|remove\b)",
    re.ASCII,
)
_WEAK_START = re.compile(_LEAD_IN + r"(?:按照?|看看|分别|by\b|split by\b|break (?:it )?down by\b|per\b|monthly\b|weekly\b|daily\b)", re.ASCII)
_ADD_METRIC = re.compile(r"加上|再加|还有|以及|同时看|\balso\b|\badd\b|\bplus\b|\bas well\b|\btoo\b", re.ASCII)
_VALUE_QUESTION = re.compile(
    r"多少|几个|几家|几位|有几|\bwhat(?:'s| is| are| was| were)\b|\bhow (?:many|much)\b|\bshow\b|\bgive me\b", re.ASCII
)
_REPLACE_DIMS = re.compile(r"换成|改成|换为|改为|\binstead\b|\bswitch\b|\bchange\b", re.ASCII)


def _own_metrics(u: Understanding) -> list[str]:
    """Metrics named as such ("only female users" names an entity, not user_count)."""
    return [m for m in u.metrics if m not in u.entity_metrics]


_REFERS_BACK = re.compile(
    r"其中|他们|她们|它们|这些|那些|这几[个家位款类]|那几[个家位款类]|这两[个家位款类种]|那两[个家位款类种]|这部分|这批|那批|这群|那群|这类|那类|这家店|那家店|该店|这个店|同期|同一时期|这段时间|那段时间|"
    r"\bthem\b|\bthey\b|\bthose\b|\bthese\b|\bof them\b|\bthat (?:group|segment|cohort)\b|\bthis (?:group|segment|cohort)\b|"
    r"\bthe (?:shop|store|merchant|seller)(?!'s\s+own\b)(?:'s)?\b(?!\s*own\b)|\b(?:that|this) (?:shop|store|merchant|seller)\b|\b(?:in )?the same (?:period|time|months?|quarter)\b(?!\s+(?:of\s+|in\s+)?(?:last|the previous|previous|prior|a)\s+year)",
    re.ASCII,
)


def _no_subject(u: Understanding) -> bool:
    """Only a measure is said: no period, value, grouping, entity, ranking or other intent."""
    return not (u.values or u.group_dims or u.time or u.entity or u.extra_filters or u.having or u.top_n
                or u.order or u.share or u.grain or u.trend or u.which_grain or u.why or u.copy
                or u.definition_strong or u.definition_weak or u.per_period or u.min_orders or u.growth)


_EACH = re.compile(rf"各自|{intents.PER_GROUP}|同样的拆分|一样的拆分|\bevery\b|\bsame (?:split|breakdown|cut)\b", re.ASCII)
_DEMONSTRATIVE = re.compile(r"[这那]")
#: a character a describing phrase ends with (not a verb or preposition that points: 只看这几个, 给那批人)
_NAMING_CHAR = re.compile(r"[\u4e00-\u9fff0-9a-z](?<![看要只是把给对和跟与在了从让替帮向])")
_CLAUSE_BREAK = re.compile(r"[,，;；。?？!！]|\s+and\s+(?=how|what|which|who)|\s+(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\s+")
_DESCRIBED = re.compile(r"\s*(?:who|that|which|whose)\b", re.ASCII)


def points_back(norm: str, said: list[tuple[int, int]] | None = None,
                subject: list[tuple[int, int]] | None = None) -> bool:
    """A word that points at an earlier answer (其中, 他们, those). Not when it is described
    right there (对价格敏感的那批人, 618年中大促那几个活动, those who bought twice), nor when a
    later clause points at an earlier clause of the same question (滞销风险型的商户有几家
    它们库存周转平均多少天). ``said``: the spans of values, periods and shops read."""
    spans = said or []
    for found in _REFERS_BACK.finditer(norm):
        if any(s <= found.start() and found.end() <= e for s, e in spans):
            continue  # 同期 inside 去年同期: part of a period the question names
        before = norm[: found.start()].rstrip()
        if before.endswith("的") or _DESCRIBED.match(norm, found.end()):
            continue
        if _DEMONSTRATIVE.match(found[0]) and before == norm[: found.start()] and _NAMING_CHAR.search(before[-1:]):
            continue  # 高价值那拨人 / 618年中大促那几个活动: the demonstrative follows what names the group
        clause = max((m.end() for m in _CLAUSE_BREAK.finditer(norm, 0, found.start())), default=0)
        if clause and any(end <= clause for _, end in [*spans, *(subject or [])]):
            continue  # the subject was named in an earlier clause of this question
        return True
    return False


_ONLY = re.compile(_LEAD_IN + r"(?:now\s+)?(?:只看|只要|仅看|就看|only\b|just\b)", re.ASCII)


def _after_a_value(u: Understanding, span: tuple[int, int]) -> bool:
    """Does this metric word follow a value directly (app orders, 小程序下的单)?"""
    return any(0 <= span[0] - v.end <= 3 and not u.norm[v.end:span[0]].strip(" 的下") for v in u.values)


def said_spans(u: Understanding) -> list[tuple[int, int]]:
    """Where the question names a group itself: values, periods, shops and extra filters."""
    spans = [(v.start, v.end) for v in u.values] + [(s, e) for s, e, _ in u.filter_spans]
    spans += list(u.time.spans if u.time else ()) + list(getattr(u, "shop_spans", []) or [])
    return spans


def _only_time_said(u: Understanding) -> bool:
    """A measure and a period, nothing else: no value, grouping, entity, ranking or other intent."""
    if not (u.time and u.time.range) or u.time.comparison:
        return False
    rest = Understanding(**{**u.__dict__, "time": None})
    return _no_subject(rest)


def _about_one_entity(previous: Plan) -> bool:
    """The earlier question was about one shop, user or KOL (an equality filter on an id or name)."""
    query = previous.query
    return query is not None and not query.dimensions and any(
        f.op == "eq" and f.dimension.endswith(("_id", "_name")) for f in query.filters)


def refers_back_to_earlier(u: Understanding) -> bool:
    """其中 / 他们 / them / those / that channel: the question points at an earlier answer.
    Not 同期 in a comparison of the question's own period (今年客单价 跟去年同期比)."""
    subject = [*u.metric_spans, *u.entity_metric_spans, *u.dimension_spans]
    return bool(points_back(u.norm, said_spans(u), subject) or u.pointed_dims)


def is_followup(u: Understanding, previous: Plan | None) -> bool:
    """Does this question change ``previous`` rather than start afresh? A word that points
    back (其中, 他们, them, those) makes it one even with a metric of its own."""
    if previous is None or previous.intent not in ("query", "why", "copy", "definition"):
        return False
    norm = u.norm
    strong = bool(_STRONG_START.search(norm) or intents.FOLLOWUP_END.search(norm) or refers_back_to_earlier(u)
                  or _SHIFT_BACK_START.match(norm))
    weak = bool(_WEAK_START.search(norm))
    if previous.intent == "definition":
        return strong and bool(u.metrics) and not _asks_for_values(u)
    if u.definition_strong or (u.why and previous.intent != "why") or (u.copy and previous.intent != "copy"):
        return False
    if strong:
        return True
    if _own_metrics(u) and previous.intent == "query" and _no_subject(u):
        return True  # 触达了多少人 / and orders? after a question: the same subject, another measure
    if _own_metrics(u) and previous.intent == "query" and _only_time_said(u) and _about_one_entity(previous):
        return True  # 商户42的粉丝多少 → 今年新增关注多少: the conversation stays on that shop
    if u.count_request and (u.metrics or u.entity):
        return False  # 高价值用户有多少: a complete question of its own
    changes = bool(
        u.values or u.group_dims or u.time or u.grain or u.trend or u.share or u.top_n or u.extra_filters
        or u.growth or (u.entity and u.entity_grouped) or u.order
    )
    return not _own_metrics(u) and (weak or changes)


_ANY_QUERY = Plan(intent="query", language="zh")


def looks_like_followup(u: Understanding) -> bool:
    """Would this question change an earlier query rather than stand on its own (那华南呢,
    按地区呢, and last year?)? For answers that have no plan to change (relationship
    answers), where the caller decides what the follow-up applies to."""
    return is_followup(u, _ANY_QUERY)


def _asks_for_values(u: Understanding) -> bool:
    """After a definition, "那今年的复购率是多少" asks for a number, not another definition:
    the question adds a time range, a value, a grouping or a filter, or is complete on its
    own (its own metric and a question word)."""
    if u.definition_strong or u.definition_weak and not _VALUE_QUESTION.search(u.norm):
        return False
    adds = bool(
        u.time or u.values or u.group_dims or u.extra_filters or u.having or u.grain or u.trend or u.share
        or u.top_n or u.order or u.growth or (u.entity and u.entity_grouped)
    )
    return adds or bool(_own_metrics(u) and _VALUE_QUESTION.search(u.norm))


_SHIFT_BACK = re.compile(
    r"(?:再?往前|前一|上一|再前一)个?\s*(?P<zh>天|周|星期|月|季度|季|年)|"
    r"\bthe (?P<en>day|week|month|quarter|year) (?:before|prior|earlier)\b|\b(?:previous|prior|preceding|earlier) (?P<en2>day|week|month|quarter|year)\b",
    re.ASCII,
)
_SHIFT_BACK_START = re.compile(r"\s*(?:and\s+)?(?:for\s+)?the (?:day|week|month|quarter|year) (?:before|prior|earlier)\b", re.ASCII)
_SHIFT_UNITS = {"天": "days", "周": "weeks", "星期": "weeks", "月": "months", "季度": "quarters", "季": "quarters",
                "年": "years", "day": "days", "week": "weeks", "month": "months", "quarter": "quarters", "year": "years"}


def _shifted_back(u: Understanding, previous: TimeRange | None) -> TimeRange | None:
    """"and the quarter before?" / 上一个季度呢 after a period: that period moved back one unit."""
    found = _SHIFT_BACK.search(u.norm)
    if found is None or previous is None:
        return None
    unit = _SHIFT_UNITS[found["zh"] or found["en"] or found["en2"]]
    step = relativedelta(months=3) if unit == "quarters" else relativedelta(**{unit: 1})
    start = previous.start - step
    end = previous.start - relativedelta(days=1)
    if unit == "days":
        start, end = previous.start - relativedelta(days=1), previous.start - relativedelta(days=1)
    said = u.question[found.start() : found.end()]
    label = f"{previous.label or previous.start.isoformat()}的{said}" if u.language == "zh" else f"{said} {previous.label or ''}".strip()
    return TimeRange(start=start, end=end, label=label)


def apply_followup(env: Env, u: Understanding, previous: Plan,
                   shown: tuple[str, tuple[object, ...]] | None = None) -> Plan:
    """The previous plan changed by the follow-up ``u``. ``shown`` is the (dimension, values)
    of the entities a previous top/bottom N showed: a change of grain or breakdown keeps
    those same entities instead of cutting the finer result at N rows."""
    lang = u.language
    if previous.intent == "definition":
        return Plan(intent="definition", language=lang, definitions=tuple(u.metrics), followup=True)
    if previous.intent == "copy" and previous.copy_request is not None:
        return _copy_followup(env, u, previous)
    assert previous.query is not None
    query = previous.query
    metrics = list(query.metrics)
    if u.min_orders:  # How many of them bought twice or more: the earlier subject, counted by order count
        return _ordered_at_least(env, u, previous)
    said = _own_metrics(u)
    if said and _ONLY.match(u.norm) and u.values and all(_after_a_value(u, span) for span in u.metric_spans):
        said = []  # only app orders / 只看小程序下的单: the word names what is filtered, not a new measure
    if not said and u.entity_metrics and not (u.values or u.group_dims or u.extra_filters or u.entity_grouped):
        said = list(u.entity_metrics)  # what about buyers / 那买家数呢: the entity word is the new measure
    if not said and intents.SPEND.search(u.norm) and not intents.CAMPAIGN_WORDS.search(u.norm):
        paid = first_metric(env, ["gmv"], list(query.dimensions))
        said = [paid] if paid else []  # 他们今年花了多少钱: what the earlier subject paid
    if said and query.count_as:  # after "how many bought twice", a metric of its own asks about the subject again
        query = query.with_changes(count_as=None, having=[], metrics=said,
                                   dimensions=[d for d in query.dimensions if d != query.dimensions[-1]])
        metrics = list(said)
    if said:
        metrics = [*metrics, *(m for m in said if m not in metrics)] if _ADD_METRIC.search(u.norm) else said
    filters = list(query.filters)
    dims = list(query.dimensions)
    for dim in u.pointed_dims:  # "which age group led in that channel": the earlier answer's top channel
        if shown and shown[0] == dim and shown[1]:
            filters = _replace_filter(filters, Filter(dimension=dim, op="eq", value=shown[1][0]))
            dims = [d for d in dims if d != dim]
            u.group_dims = [d for d in u.group_dims if d != dim]

    # filters: a value replaces the filter on its dimension; 去掉华东 drops it from an ``in``
    new_filters, compare_dims, problems = resolve_values(env, u.values, metrics, prefer=[f.dimension for f in filters])
    if problems:
        return incompatible_plan(env, problems[0][0], problems[0][1], lang)
    for new in [*new_filters, *u.extra_filters]:
        filters = _replace_filter(filters, new)
    removed = _removed_dims(u) if intents.REMOVE_FILTER.search(u.norm) else []
    filters = [f for f in filters if f.dimension not in removed]

    if u.preference and u.group_dims:  # 他们最常买什么品类: people by their favourite category
        from chatbi.planner.build import count_metric, preferred_sibling

        people = count_metric(env, "user")
        if people and people in metrics or not said and people in query.metrics:
            siblings = [preferred_sibling(env, d, [people]) for d in u.group_dims]
            if siblings != u.group_dims:
                metrics = [people]
                u.group_dims = siblings
            else:  # 她们最常在哪个渠道买: no favourite channel on the profile, their orders by channel
                orders = first_metric(env, ["order_count"], u.group_dims)
                metrics = [orders] if orders else metrics
    # dimensions: "avg turnover days for them" asks about the subject as a whole
    if refers_back_to_earlier(u) and said and not (u.group_dims or u.grain or u.trend or u.entity_grouped
                                                   or _EACH.search(u.norm)):
        dims = []
        query = query.with_changes(grain=None, order_by=[], limit=None, share_of_total=False, share_part=None,
                                   having=[])
    new_dims = list(u.group_dims)
    if u.entity and u.entity_grouped:
        new_dims = [*entity_dimensions(env, u.entity, u.entity_dims_said), *new_dims]
    new_dims = [d for d in new_dims if d not in removed]
    if new_dims:
        dims = new_dims if _REPLACE_DIMS.search(u.norm) else [*dims, *(d for d in new_dims if d not in dims)]
    dims = [d for d in dims if d not in removed]
    for dim in compare_dims:
        if dim not in dims:
            dims.append(dim)
    bad = incompatible(env, metrics, [*dims, *(f.dimension for f in filters)])
    if bad:
        return incompatible_plan(env, bad[0], bad[1], lang)

    notes = [messages.text("note_followup", lang)]
    regrouped = bool(u.grain or u.trend or u.which_grain or set(dims) - set(query.dimensions))
    pointed = refers_back_to_earlier(u)  # 这几个城市的客单价呢 / those shops' AOV: the same entities
    keep_shown = bool(shown and query.limit and (regrouped or pointed) and not (u.top_n or u.order or u.growth)
                      and shown[0] in dims)
    if shown and keep_shown:
        filters = [f for f in filters if f.dimension != shown[0]]
        filters.append(Filter(dimension=shown[0], op="in", value=list(shown[1])))
        notes.append(messages.text("note_same_entities", lang, n=str(len(shown[1]))))
    said_time = bool((u.time and (u.time.range or u.time.comparison)) or u.grain or u.trend or u.which_grain)
    inherited_time = bool(query.time_range or query.grain or query.comparison)
    if said and inherited_time and not said_time and env.snapshots is not None \
            and all(env.snapshots.is_snapshot(m) for m in metrics):
        # 其中哪家动销率最高 after a question about the last 30 days: a snapshot metric of its own
        # is today's figure; the earlier period is dropped (and said), never asked about
        query = query.with_changes(time_range=None, grain=None, comparison=None)
        inherited_time = False
        notes.append(messages.text("note_snapshot_now", lang))
    stuck = snapshot_problem(env, metrics, said_time or inherited_time, lang)
    if stuck is not None:
        return stuck
    changes: dict[str, object] = {"metrics": metrics, "filters": filters, "dimensions": dims}
    shifted = _shifted_back(u, query.time_range)
    if shifted is not None:
        changes["time_range"] = shifted
    elif u.time and u.time.range:
        changes["time_range"] = u.time.range
    if u.time and u.time.comparison == "same_period_last_year" and not u.time.range and "time_range" not in changes \
            and query.time_range is not None and not query.comparison and asks_same_period_only(u.norm):
        changes["time_range"] = moved_a_year_back(query.time_range, lang)  # 去年同期呢 / same period last year?: those periods a year back
    elif u.time and u.time.comparison:
        changes["comparison"] = u.time.comparison
    if (changes.get("comparison") or query.comparison) and not changes.get("time_range", query.time_range):
        changes["time_range"] = default_range(default_unit(u), env.as_of, lang)  # a comparison needs a range
        notes.append(messages.text("note_default_time", lang, label=changes["time_range"].label or ""))  # type: ignore[attr-defined]
    grain = pick_grain(u, changes.get("time_range", query.time_range))  # type: ignore[arg-type]
    if grain:
        changes["grain"] = grain
    if u.share:
        changes["share_of_total"] = True
        said_filters = [*new_filters, *u.extra_filters]
        if said_filters and not new_dims and not query.share_part:  # 其中30到34岁的占几成: the part of the previous whole
            part = said_filters[-1]
            changes["share_part"] = part
            changes["filters"] = [f for f in filters if f != part]
            changes["dimensions"] = [part.dimension]
    order_by = [_rename_order(o, query.metrics, metrics) for o in query.order_by]
    if u.growth:
        changes["comparison"] = changes.get("comparison") or query.comparison or "previous_period"
        order_by = [OrderBy(field=f"{metrics[0]}_growth", descending=u.growth == "up")]
    elif u.order or u.top_n:
        field = order_by[0].field if order_by else metrics[0]
        base = next((m for m in metrics if field == m or field.startswith(m + "_")), metrics[0])
        order_by = [OrderBy(field=field, descending=ranking_descending(env, u, base))]
    changes["order_by"] = [] if changes.get("share_part") else order_by
    if (order_by or u.preference) and not changes.get("share_part"):
        kept: list[Filter] = changes["filters"]  # type: ignore[assignment]
        changes["filters"] = without_missing_group(env, dims, kept)
    if changes.get("share_part"):
        changes["limit"] = None
    elif u.top_n:
        changes["limit"] = u.top_n
    elif keep_shown:
        changes["limit"] = None  # the same N entities, every row of them
    changes["having"] = [h for h in query.having if h.metric in metrics] + [h for h in u.having if h.metric in metrics]
    new_query = query.with_changes(**changes)
    text = time_text(new_query, lang)
    if previous.intent == "why" and previous.why_request is not None:
        why = replace(
            previous.why_request,
            metric=metrics[0],
            time_range=new_query.time_range,
            comparison=new_query.comparison or previous.why_request.comparison,
            filters=tuple(new_query.filters),
            time_defaulted=previous.why_request.time_defaulted and not (u.time and u.time.range),
        )
        return Plan(intent="why", language=lang, query=new_query, why_request=why, time_text=text, notes=tuple(notes), followup=True)
    entity_list = previous.entity_list and set(dims) >= set(previous.query.dimensions)
    return Plan(intent="query", language=lang, query=new_query, time_text=text, entity_list=entity_list, notes=tuple(notes), followup=True)


def _ordered_at_least(env: Env, u: Understanding, previous: Plan) -> Plan:
    """The earlier question's subject (filters, period) with its people counted by how often
    they ordered."""
    from chatbi.planner.build import first_metric, people_by_order_count

    assert previous.query is not None and u.min_orders
    orders = first_metric(env, ["order_count"])
    query = previous.query
    counted = people_by_order_count(env, query.dimensions, orders, u.min_orders) if orders else None
    if counted is None:
        return incompatible_plan(env, "order_count", "user_id", u.language)
    dims, condition, count_as = counted
    time_range = u.time.range if u.time and u.time.range else query.time_range
    new_query = query.with_changes(
        metrics=[orders], dimensions=dims, filters=[*query.filters, *u.extra_filters], time_range=time_range,
        grain=None, comparison=None, share_of_total=False, share_part=None, order_by=[], limit=None,
        per_period=None, having=[condition], count_as=count_as)
    return Plan(intent="query", language=u.language, query=new_query, time_text=time_text(new_query, u.language),
                notes=(messages.text("note_followup", u.language),), followup=True)


def _replace_filter(filters: list[Filter], new: Filter) -> list[Filter]:
    if new.op in ("ne", "not_in"):
        excluded = new.value if isinstance(new.value, list) else [new.value]
        out: list[Filter] = []
        handled = False
        for f in filters:
            if f.dimension == new.dimension and f.op == "in":
                kept = [v for v in f.value if v not in excluded]
                handled = True
                if len(kept) > 1:
                    out.append(Filter(dimension=f.dimension, op="in", value=kept))
                elif kept:
                    out.append(Filter(dimension=f.dimension, op="eq", value=kept[0]))
            elif f.dimension == new.dimension and f.op == "eq" and f.value in excluded:
                handled = True
            else:
                out.append(f)
        return out if handled else [*out, new]
    if new.op == "has_tag":
        return [*filters, new] if new not in filters else filters
    return [f for f in filters if f.dimension != new.dimension or f.op == "has_tag"] + [new]


def _removed_dims(u: Understanding) -> list[str]:
    """Dimensions a 去掉/remove follow-up names without a value (去掉大区筛选)."""
    return [d for d in u.group_dims]


def _rename_order(order: OrderBy, old: list[str], new: list[str]) -> OrderBy:
    for before, after in zip(old, new, strict=False):
        if order.field == before or order.field.startswith(before + "_"):
            return OrderBy(field=after + order.field[len(before):], descending=order.descending)
    return order


def _copy_followup(env: Env, u: Understanding, previous: Plan) -> Plan:
    request = previous.copy_request
    assert request is not None
    channel = request.channel
    for pattern, name in intents.COPY_CHANNELS:
        if pattern.search(u.norm):
            channel = name  # type: ignore[assignment]
            break
    count = request.count
    found = intents.COPY_COUNT.search(u.norm)
    if found:
        count = max(1, min(10, to_int(found["n"] or found["n2"] or "") or count))
    filters = list(request.filters)
    new_filters, _, _ = resolve_values(env, u.values, [])
    for new in [*new_filters, *u.extra_filters]:
        filters = _replace_filter(filters, new)
    label = request.segment_label
    if new_filters or u.extra_filters:
        label = _segment_words(u) or label
    new_request = CopyRequest(filters=tuple(filters), channel=channel, count=count, segment_label=label, topic=request.topic)
    return Plan(intent="copy", language=u.language, copy_request=new_request, notes=(messages.text("note_followup", u.language),), followup=True)


def _segment_words(u: Understanding) -> str:
    if not u.values:
        return ""
    return u.question[min(v.start for v in u.values) : max(v.end for v in u.values)]

