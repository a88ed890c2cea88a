"""Turn a question into an ``Understanding``: everything recognised, before routing.

The lexicon finds metrics, dimensions and values; the time parser finds the range and
comparison; intent patterns (on the text left after masking those) find the question's
shape: ranking, trend, share, growth, list, count, why, copy, definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from chatbi.planner import intents, predicted
from chatbi.planner.lexicon import Entry, Lexicon, Match
from chatbi.planner.merchant_names import reference
from chatbi.planner.merchant_refs import find_merchant_refs
from chatbi.planner.numbers import to_int
from chatbi.planner.period_pairs import pair_periods
from chatbi.planner.text import language_of, mask_spans, normalize
from chatbi.planner.time_parser import parse_time
from chatbi.planner.types import TimeParse
from chatbi.planner.unknown import Unknown, find_unknowns, is_filler
from chatbi.semantic.query import Filter, Grain, MetricFilter

_STOP = re.compile(
    r"请问|请|帮我|帮忙|给我|我想|我要|想知道|知道|看一下|看下|看看|查一下|查询|查|统计|一下|分析|情况|数据|表现|"
    r"整体|总体|全平台|平台|全站|全网|全国|大盘|整个|公司|总的|合计|总计|累计|一共|总共|实际|目前|当前|现在|最近|近期|"
    r"多少|是多少|什么|怎么样|如何|不同|以外|之外|超过|所有|全部|各|给|写|看|人|区|月|的|了|吗|呢|吧|啊|是|和|与|及|跟|在|里|中|对|把|从|到|为|有|个|我们|我的|咱们|"
    r"\b(?:please|show|me|tell|give|what|what's|whats|is|are|was|were|the|a|an|of|for|from|in|on|at|to|by|and|or|with|how|much|many|did|do|does|had|has|have|i|we|our|my|want|see|get|can|you|it|its|data|numbers?|please|there|here|all|than|then|which|who|total|overall|entire|whole|platform|platform-wide|company|current|currently|actual|recent|recently|any|"
    r"each|every|per|across|between|during|within|so|far|ever|sum|amount|value|values|figure|figures|"
    r"day|days|week|weeks|month|months|quarter|quarters|year|years|period|periods|time|date)\b|"
    r"[\s\d,.?!:;()\[\]'\"/\\+*=<>%&-]",
    re.ASCII,
)
_WHICH_GRAIN: list[tuple[re.Pattern[str], Grain]] = [
    (re.compile(r"哪一?天|\bwhich day\b|\bwhat day\b", re.ASCII), "day"),
    (re.compile(r"哪一?周|\bwhich week\b", re.ASCII), "week"),
    (re.compile(r"哪(?:一个|个|一)?月|\bwhich month\b|\bwhat month\b", re.ASCII), "month"),
    (re.compile(r"哪(?:一个|个)?季度|\bwhich quarter\b", re.ASCII), "quarter"),
    (re.compile(r"哪一?年|\bwhich year\b|\bwhat year\b", re.ASCII), "year"),
]
_GROUP_MARK = re.compile(r"(?:按照?|各|每个|每一个|每家|分|\bby\b|\bper\b|\beach\b|\bacross\b|\bevery\b|哪个|哪些|哪家|哪几个|哪几|哪一个|\bwhich\b)\s*$", re.ASCII)
_ENTITY_BEFORE = re.compile(
    r"(?:哪些|哪个|哪家|哪几家|哪几个|各|每个|每家|按|列出|列一下|(?:前|后|倒数)\s*(?:\d+|[一二两三四五六七八九十]+)\s*(?:个|家|名|位)?|\d+\s*(?:个|家|名|位)|[一二两三四五六七八九十百]+\s*(?:个|家|名|位)|最[高低多少大小好差快慢]的?|排名前\d*|"
    r"\bwhich\b|\bby\b|\bper\b|\beach\b|\blist(?: the| all)?\b|\bshow(?: me)?(?: the| all)?\b|\btop\s*\d*\b|\bbottom\s*\d*\b)\s*的?\s*$",
    re.ASCII,
)
_EACH_OF = re.compile(r"\b(?:each|every one|all) of\b[^,.;?!]*$", re.ASCII)  # each of this year's 618 campaigns
_ENTITY_AFTER = re.compile(r"^\s*(?:有哪些|是哪些|都有哪些|都是谁|有谁|名单|清单|排名|排行|列表|分别|各自|\beach\b|\bwith the\b|\branked\b|\branking\b|\bwhose\b|\bthat\b|\bwhich\b)", re.ASCII)
_RANKED_BEFORE = re.compile(  # 前5的省 / 订单最少的3个省: a one-character dimension word after a ranking
    r"(?:(?:前|后|倒数|哪)\s*(?:\d+|[一二两俩仨三四五六七八九十]+)\s*(?:个|名|家|位)?|最[高低多少大小好差快慢](?:的\s*(?:\d+|[一二两三四五六七八九十]+\s*(?:个|名|家|位)|[俩仨]|\d+\s*(?:个|名|家|位)))?)\s*的?\s*$"
)
_LIST_BEFORE = re.compile(r"列出|列一下|列举|\blist\b|\bshow me\b", re.ASCII)
_MY = re.compile(r"我的|我家|我们的|本店|\bmy\b|\bour\b", re.ASCII)
_BUYER_WORD = re.compile(r"买家|购买用户|\bbuyers?\b|\bshoppers?\b", re.ASCII)


@dataclass
class ValueHit:
    """A dimension value said in the question, with the dimensions it may belong to."""

    entries: tuple[Entry, ...]
    start: int
    end: int
    negated: bool = False

    @property
    def dims(self) -> list[str]:
        return [e.name for e in self.entries]


@dataclass
class Understanding:
    """What the offline planner recognised in one question."""

    question: str
    norm: str
    language: Literal["zh", "en"]
    time: TimeParse | None = None
    metrics: list[str] = field(default_factory=list)
    group_dims: list[str] = field(default_factory=list)
    entity_dims_said: list[str] = field(default_factory=list)  # id/name dims named in the text
    entity_metrics: list[str] = field(default_factory=list)  # metrics named only by an entity word (users)
    entity_metric_spans: list[tuple[int, int]] = field(default_factory=list)
    values: list[ValueHit] = field(default_factory=list)
    extra_filters: list[Filter] = field(default_factory=list)  # age and similar
    filter_spans: list[tuple[int, int, Filter]] = field(default_factory=list)  # where an extra filter was said
    having: list[MetricFilter] = field(default_factory=list)
    having_spans: list[tuple[int, int]] = field(default_factory=list)  # "超过100万" / "above 1 million"
    time_dimension: str | None = None
    grain: Grain | None = None
    trend: bool = False
    share: bool = False
    growth: Literal["up", "down"] | None = None
    growth_generic: bool = False
    order: Literal["desc", "asc"] | None = None
    order_judged: bool = False  # the order was said as good/bad (best/worst/最好/最差), not high/low
    top_n: int | None = None
    which: bool = False
    which_grain: Grain | None = None
    entity: Literal["merchant", "user"] | None = None
    entity_grouped: bool = False
    list_request: bool = False
    count_request: bool = False
    compare: bool = False
    preference: bool = False
    mainly: bool = False
    mine: bool = False
    buyers_said: bool = False
    why: bool = False
    copy: bool = False
    definition_strong: bool = False
    definition_weak: bool = False
    direction: Literal["up", "down"] | None = None
    residual: str = ""  # text left after masking time and lexicon matches
    entity_text: str = ""  # text with time, metric and dimension words masked (values kept)
    dimension_spans: list[tuple[int, int]] = field(default_factory=list)  # where dimension words were said
    residue: str = ""  # meaningful characters nobody recognised
    masked: str = ""  # the question with every recognised, intent and stop word blanked (positions kept)
    unknowns: list = field(default_factory=list)  # chatbi.planner.unknown.Unknown: words nobody claimed
    shorthand: list[tuple[str, str]] = field(default_factory=list)  # (typed, written out): yr → year
    boolean_spans: list[tuple[int, int]] = field(default_factory=list)  # yes/no dimensions said as filters
    per_period: Grain | None = None  # 平均每天 / per day on average
    min_orders: int | None = None  # 下单3次以上的用户 / people who ordered 3+ times
    segment_said: str = ""  # the copy segment taken from an earlier answer (给他们写短信)
    unparsed_time: list[str] = field(default_factory=list)  # time words the parser could not read
    people_counted: bool = False  # 触达了多少人: the people count was read as the action's metric
    pointed_dims: list[str] = field(default_factory=list)  # "in that channel" / 这个渠道: the earlier answer's top one
    other_periods: list = field(default_factory=list)  # a second period that is not the first's previous/last year's
    metric_spans: list[tuple[int, int]] = field(default_factory=list)  # where metric words were said
    qualifiers: list[str] = field(default_factory=list)  # unrecognised words qualifying a metric (竞争对手的GMV)
    notes: list[str] = field(default_factory=list)
    fuzzy_terms: list[tuple[str, str]] = field(default_factory=list)  # (typed, metric/dim name)
    modifiers: list[tuple[str, str]] = field(default_factory=list)  # (surface, metric kept)
    pii_dims: list[str] = field(default_factory=list)
    shop_choices: tuple | None = None  # (said, (start, end), shops): a name several shops share (asked about)
    entity_names: dict[int, str] = field(default_factory=dict)  # merchant id → its name (for the interpretation)
    shop_spans: list[tuple[int, int]] = field(default_factory=list)  # where a shop was named (商户179, 179这家店, its name)

    @property
    def recognised(self) -> bool:
        return bool(
            self.metrics or self.group_dims or self.values or self.extra_filters or self.time
            or self.trend or self.grain or self.entity or self.why or self.copy or self.share
            or self.definition_strong
        )


def understand(question: str, as_of: date, lexicon: Lexicon, *, _typos: int = 2) -> Understanding:
    """Recognise metrics, dimensions, values, time and intent words in ``question``."""
    u = _understand(question, as_of, lexicon)
    if u.unknowns and lexicon.merchant_names is not None and _typos > 0:  # 青柠首饰铺小普: a shop's name mistyped
        return _shop_typo(u, as_of, lexicon, _typos) or u
    return u


def _shop_typo(u: Understanding, as_of: date, lexicon: Lexicon, typos: int) -> Understanding | None:
    """The question re-read with a mistyped shop name as that shop (stated as a near match);
    a typo two shops are equally near is asked about."""
    names = lexicon.merchant_names
    hit = names.near(u.norm, [(x.start, x.end) for x in u.unknowns]) if names is not None else None
    if hit is None:
        return None
    typed = u.question[hit.start:hit.end].strip()
    if hit.shop is None:
        u.shop_choices = (typed, (hit.start, hit.end), hit.candidates)
        u.unknowns = [x for x in u.unknowns if x.end <= hit.start or x.start >= hit.end]
        return u
    fixed = u.question[:hit.start] + reference(hit.shop.merchant_id, u.language) + u.question[hit.end:]
    again = understand(fixed.strip(), as_of, lexicon, _typos=typos - 1)
    again.fuzzy_terms.append((typed, hit.shop.name))
    return again


def _understand(question: str, as_of: date, lexicon: Lexicon) -> Understanding:
    norm = normalize(question)
    u = Understanding(question=question, norm=norm, language=language_of(question))  # type: ignore[arg-type]
    merchant_spans = _merchant_ids(u, norm, lexicon)
    u.shop_spans = list(merchant_spans)
    rest = mask_spans(question, merchant_spans)
    if merchant_spans and re.search(r"[A-Za-z]{2,}|[\u4e00-\u9fff]", rest):  # a shop's Chinese name in an English question
        u.language = language_of(rest)  # type: ignore[assignment]
    u.time = _parse_time_outside_names(mask_spans(question, merchant_spans), mask_spans(norm, merchant_spans), as_of, lexicon)
    u.time = _second_period(u.time, mask_spans(question, merchant_spans), as_of, u.other_periods)
    if u.time is not None and u.time.listed:  # 一季度和二季度分别: one row per period listed
        u.grain = u.time.grain
    blocked: list[tuple[int, int]] = [*(u.time.spans if u.time else ()), *merchant_spans]
    blocked.extend(_ages(u, norm, as_of, lexicon))
    for said in lexicon.unit_values.read(norm, blocked):  # 1 and 2 star, 4星及以上
        u.extra_filters.append(said.filter)
        u.filter_spans.append((said.start, said.end, said.filter))
        blocked.append((said.start, said.end))
    at_least = intents.ordered_at_least(norm)
    if at_least is not None:  # 下单3次以上的用户: counted by how often they ordered
        u.min_orders = at_least[0]
        blocked.append(at_least[1])
    matches, covered = _scan(norm, blocked, lexicon)
    audience = predicted.find_predicted(norm, matches, lexicon)
    if audience:  # 可能购买户外装备: the phrase is neither a metric nor a time range
        blocked.extend(predicted.blocked_spans(norm, audience))
        matches, covered = _scan(norm, blocked, lexicon)
    u.dimension_spans = [(m.start, m.end) for m in matches if m.of_kind("dimension") and not m.of_kind("value")]
    _read_matches(u, matches, lexicon)
    _predicted_audience(u, audience)
    u.residual = mask_spans(norm, blocked + covered + u.having_spans)
    u.entity_text = mask_spans(
        norm,
        blocked + [(m.start, m.end) for m in matches if not m.of_kind("value") and (m.start, m.end) not in u.entity_metric_spans],
    )
    _read_shape(u)
    if audience:  # potential buyers of X / 可能购买X的买家: the predicted audience counts users
        u.buyers_said = False
        if u.entity == "user" and u.metrics and all(m in u.entity_metrics for m in u.metrics):
            u.metrics, u.entity_metrics = [], []
    _both_ways(u)
    u.residue = _STOP.sub("", _strip_intent_words(u.residual))
    u.masked = _blank(_STOP, _positional_strip(u.residual))
    u.unknowns = find_unknowns(u, u.masked)
    u.unknowns.extend(x for x in _empty_value_slots(u) if not any(x.start < k.end and k.start < x.end for k in u.unknowns))
    u.qualifiers = _unknown_qualifiers(u, blocked)
    u.unparsed_time = _unparsed_time(u, blocked + covered + u.having_spans)
    u.pointed_dims = _pointed_dimensions(u, matches)
    return u


_POINTING = re.compile(r"(?:这个|那个|该|这家|那家|这一|那一|\bthat\b|\bthis\b|\bthe same\b|\bthe top\b)\s*$", re.ASCII)


def _pointed_dimensions(u: Understanding, matches: list[Match]) -> list[str]:
    """Dimension words right after that/this/这个/该 (in that channel, 这个品类): they point at
    one value of an earlier answer, not at a breakdown."""
    found = []
    for match in matches:
        dims = match.of_kind("dimension")
        if dims and not match.of_kind("value") and _POINTING.search(u.norm[max(0, match.start - 8):match.start]):
            found.append(dims[0].name)
    return found


_VALUE_SLOT = re.compile(r"\s*(?:为|是|=|:|属于|is|equals?)\s*")
_SLOT_TEXT = re.compile(r"[\u4e00-\u9fff]{2,8}|[a-z][a-z'-]{2,}")


def _empty_value_slots(u: Understanding) -> list[Unknown]:
    """地区为话中 / region is sothern: a dimension word, a connector, then text nobody claimed —
    a value the question meant, even when its characters are stop words."""
    found: list[Unknown] = []
    for _start, end in u.dimension_spans:
        slot = _VALUE_SLOT.match(u.norm, end)
        if slot is None or slot.end() == end:
            continue
        text = _SLOT_TEXT.match(u.residual, slot.end())
        if text is None:
            continue
        run_end = text.end()
        if u.language == "zh":  # up to the next 的 / punctuation
            cut = re.search(r"的|[,，。?？\s]", u.residual[slot.end():run_end])
            run_end = slot.end() + cut.start() if cut else run_end
        said = u.residual[slot.end():run_end]
        if run_end - slot.end() >= 2 and _positional_strip(said).strip() and not is_filler(said):
            found.append(Unknown(u.question[slot.end():run_end], slot.end(), run_end))
    return found


_TIME_HINT = re.compile(
    r"(?:\d{1,4}|[一二两三四五六七八九十]{1,3})\s*(?:年|个月|月份|月|日|号|周|天|个季度|季度)(?![均度])|"
    r"昨天|前天|今天|明天|上上周|上周|本周|这周|下周|周末|月初|月底|月末|年初|年底|年末|季初|季末|年中|开年|春节|国庆|双十一|双11|双十二|双12|618|黑五|"
    r"\b(?:yesterday|today|tonight|weekend|(?:last|past|previous|this|next|coming)\s+(?:\d+\s+|few\s+|couple(?: of)?\s+)?"
    r"(?:days?|weeks?|months?|quarters?|years?|weekend))\b|\b(?:19|20)\d{2}\b|\bq[1-4]\b|\bh[12]\b|"
    r"\b(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)(?:uary|ruary|ch|il|e|y|ust|tember|ober|ember)?\b",
    re.ASCII,
)


def _unparsed_time(u: Understanding, taken: list[tuple[int, int]]) -> list[str]:
    """Time words the parser did not read (they would otherwise vanish with the stop words and
    the answer would silently cover all dates)."""
    text = mask_spans(u.norm, taken)
    for pattern, _ in intents.GRAIN_WORDS:
        text = _blank(pattern, text)
    text = _blank(intents.PER_PERIOD, text)
    return [u.question[m.start() : m.end()] for m in _TIME_HINT.finditer(text) if m[0].strip()]


# ------------------------------------------------------------------ pieces
def _scan(norm: str, blocked: list[tuple[int, int]], lexicon: Lexicon) -> tuple[list[Match], list[tuple[int, int]]]:
    """Lexicon matches outside ``blocked`` (English typos included) and the spans they cover."""
    matches = lexicon.scan(norm, blocked)
    covered = [(m.start, m.end) for m in matches]
    if re.search(r"[a-z]{4}", mask_spans(norm, blocked + covered)):
        fuzzy = lexicon.fuzzy(norm, blocked + covered)
        matches = sorted(matches + fuzzy, key=lambda m: m.start)
        covered += [(m.start, m.end) for m in fuzzy]
    return matches, covered


def _parse_time_outside_names(question: str, norm: str, as_of: date, lexicon: Lexicon) -> TimeParse | None:
    """Time words inside a longer metric or dimension name (近30天上新数) belong to the name."""
    parsed = parse_time(question, as_of)
    if parsed is None or not parsed.spans:
        return parsed
    names = [
        (m.start, m.end) for m in lexicon.scan(norm)
        if (m.of_kind("metric") or m.of_kind("dimension"))
        and any(m.start <= s and e <= m.end and (m.end - m.start) > (e - s) for s, e in parsed.spans)
    ]
    if not names:
        return parsed
    return parse_time(mask_spans(question, names), as_of)


def _second_period(parsed: TimeParse | None, question: str, as_of: date, unmatched: list) -> TimeParse | None:
    """Two or more periods said (今年Q2比Q1, Q3 vs Q3 of last year, 一季度和二季度分别):
    compared, broken down, or returned in ``unmatched`` (``period_pairs``)."""
    return pair_periods(parsed, question, as_of, unmatched)


def _merchant_ids(u: Understanding, norm: str, lexicon: Lexicon) -> list[tuple[int, int]]:
    """商户15 / 15号商户 / merchant 15 / a shop's name (台州·青柠首饰铺小铺, 青柠首饰铺) → a filter
    on the merchant id dimension (two ids: an ``in`` filter grouped by merchant, so they are
    compared); a name several shops share is kept in ``shop_choices``. Returns the spans read."""
    dimension = "merchant_id"
    if lexicon.dimension_type(dimension) is None:
        return []
    names = lexicon.merchant_names
    hits = names.find(norm) if names is not None else []
    named = [(h.start, h.end) for h in hits]
    refs = [r for r in find_merchant_refs(norm) if not any(s < r.end and r.start < e for s, e in named)]
    said = sorted([(r.start, r.merchant_id) for r in refs] + [(h.start, h.shop.merchant_id) for h in hits if h.shop])
    for hit in hits:
        if hit.shop is None and u.shop_choices is None:
            u.shop_choices = (u.question[hit.start:hit.end].strip(), (hit.start, hit.end), hit.candidates)
    ids = list(dict.fromkeys(merchant_id for _, merchant_id in said))
    if names is not None:
        u.entity_names.update({i: n for i in ids if (n := names.name_of(i)) is not None})
    if not ids:
        return named
    if len(ids) == 1:
        u.extra_filters.append(Filter(dimension=dimension, op="eq", value=ids[0]))
    else:
        u.extra_filters.append(Filter(dimension=dimension, op="in", value=ids))
        u.group_dims.append(dimension)
    return [(ref.start, ref.end) for ref in refs] + named


def _ages(u: Understanding, norm: str, as_of: date, lexicon: Lexicon) -> list[tuple[int, int]]:
    """25-35岁 / 30岁以上 / 90后 → a filter on ``age`` (or overlapping ``age_band`` values)."""
    spans: list[tuple[int, int]] = []
    has_age = lexicon.dimension_type("age") is not None
    has_birth = lexicon.dimension_type("birth_year") is not None
    for m in intents.AGE_RANGE.finditer(norm):
        low, high = int(m["a"] or m["a2"]), int(m["b"] or m["b2"])
        if low <= high and _age_filter(u, lexicon, low, high, has_age):
            spans.append(m.span())
            u.filter_spans.append((*m.span(), u.extra_filters[-1]))  # 25到29岁这批买家贡献了多少比例: the part
    for m in intents.AGE_OPEN.finditer(norm):
        n = int(m["n"] or m["n2"])
        direction = m["dir"] or m["dir2"]
        above = direction in ("以上", "及以上", "之后", "over", "above", "older than")
        low, high = (n, 200) if above else (0, n)
        if has_age:
            if above:  # 40岁以上 includes 40; over/above/older than 40 does not
                op = "gt" if direction in ("over", "above", "older than") else "gte"
            else:
                op = "lte" if direction in ("及以下", "以内") else "lt"
            u.extra_filters.append(Filter(dimension="age", op=op, value=n))  # type: ignore[arg-type]
            spans.append(m.span())
        elif _age_filter(u, lexicon, low, high, False):
            spans.append(m.span())
    for m in intents.GENERATION.finditer(norm):
        decade = int(m["g"])
        start_year = (1900 if decade >= 30 else 2000) + decade
        if has_birth:
            u.extra_filters.append(Filter(dimension="birth_year", op="between", value=[start_year, start_year + 9]))
            spans.append(m.span())
        else:
            low, high = as_of.year - start_year - 9, as_of.year - start_year
            if _age_filter(u, lexicon, low, high, has_age):
                spans.append(m.span())
    return spans


def _age_filter(u: Understanding, lexicon: Lexicon, low: int, high: int, has_age: bool) -> bool:
    if has_age:
        u.extra_filters.append(Filter(dimension="age", op="between", value=[low, high]))
        return True
    bands = []
    for value in lexicon.values.get("age_band", []):
        numbers = [int(x) for x in re.findall(r"\d+", str(value))]
        if not numbers:
            continue
        band_low = numbers[0]
        band_high = numbers[1] if len(numbers) > 1 else (200 if re.search(r"\+|以上|及以上|above|over", str(value)) else band_low)
        if re.search(r"以下|under|below|<", str(value)):
            band_low, band_high = 0, numbers[0]
        if band_low <= high and band_high >= low:
            bands.append(value)
    if not bands:
        return False
    u.extra_filters.append(Filter(dimension="age_band", op="in" if len(bands) > 1 else "eq", value=bands if len(bands) > 1 else bands[0]))
    return True


def _both_ways(u: Understanding) -> None:
    """certified vs non-certified / 用了券的跟没用券的: a yes/no dimension said both ways is
    compared, i.e. grouped by, not filtered twice."""
    by_dim: dict[str, set[object]] = {}
    for f in u.extra_filters:
        if f.op == "eq" and isinstance(f.value, bool):
            by_dim.setdefault(f.dimension, set()).add(f.value)
    for dim, said in by_dim.items():
        if said == {True, False}:
            u.extra_filters = [f for f in u.extra_filters if f.dimension != dim]
            if dim not in u.group_dims:
                u.group_dims.append(dim)


def _entity_of(dim_name: str) -> str | None:
    """merchant_name → merchant, user_id → user, product_title → product."""
    for suffix in ("_id", "_name", "_title"):
        if dim_name.endswith(suffix):
            prefix = dim_name[: -len(suffix)]
            return prefix if prefix and "_" not in prefix else None
    return None


def _read_matches(u: Understanding, matches: list[Match], lexicon: Lexicon) -> None:
    norm = u.norm
    entity_metrics: list[tuple[Match, str]] = []  # "users"/"商户数"-like words that also name an entity
    for i, match in enumerate(matches):
        metrics = match.of_kind("metric")
        values = match.of_kind("value")
        dims = match.of_kind("dimension")
        times = match.of_kind("time")
        nxt = matches[i + 1] if i + 1 < len(matches) else None
        glued_to_metric = (
            nxt is not None and nxt.of_kind("metric") and not norm[match.end : nxt.start].strip(" 的")
            and not (" " in norm[match.end : nxt.start] and not match.surface[-1:].isascii())  # 多少条评价 平均几分: two asks
            and not (metrics and lexicon.is_ratio(metrics[0].name))  # 打开率点击率: two rates listed, not one qualifying the other
        )
        if metrics and values and glued_to_metric:
            metrics = ()  # 新客 转化率: the first surface qualifies the second
        before = norm[max(0, match.start - 12) : match.start]
        after = norm[match.end : match.end + 8]
        if metrics:
            entity = _entity_word(match.surface)
            if entity is not None:
                entity_metrics.append((match, entity))
                continue
            if glued_to_metric:
                u.modifiers.append((u.question[match.start : match.end], nxt.of_kind("metric")[0].name))  # type: ignore[union-attr]
                continue
            u.metric_spans.append((match.start, match.end))
            for entry in metrics:
                if entry.name not in u.metrics:
                    u.metrics.append(entry.name)
            if match.fuzzy:
                u.fuzzy_terms.append((u.question[match.start : match.end], metrics[0].name))
            _having(u, match, metrics[0].name)
            continue
        if values:
            u.values.append(ValueHit(values, match.start, match.end, bool(intents.NEGATION.search(before))))
            continue
        if dims:
            entry = dims[0]
            if entry.name in lexicon.pii_dimensions:
                u.pii_dims.append(entry.name)
                continue
            if entry.tag:
                continue  # a tag list is filtered by its values, not grouped
            prev = matches[i - 1] if i > 0 else None
            if match.fuzzy and prev is not None and prev.of_kind("value") and not norm[prev.end : match.start].strip():
                u.fuzzy_terms.append((u.question[match.start : match.end], entry.name))
                continue  # tier-1 cites: a (mistyped) noun right after a value names it, it does not group
            if len(match.surface) == 1 and not _GROUP_MARK.search(before[-3:]) and not _RANKED_BEFORE.search(before):
                continue  # 区 / 市 alone: only next to a value or after 按/各
            if entry.name in lexicon.boolean_dimensions and not _GROUP_MARK.search(before[-4:]) \
                    and not re.match(r"\s*(?:是否|有没有|whether)", norm[max(0, match.start - 3) : match.end]) \
                    and not match.surface.startswith(("是否", "whether")):
                # 用券的订单 / orders with a coupon: a yes/no dimension said as a qualifier filters on it
                u.extra_filters.append(Filter(dimension=entry.name, op="eq", value=not intents.NEGATION.search(before)))
                u.boolean_spans.append((match.start, match.end))
                continue
            entity = _entity_of(entry.name)
            if entity is not None:
                u.entity_dims_said.append(entry.name)
                u.entity = u.entity or entity  # type: ignore[assignment]
                if (_ENTITY_BEFORE.search(before) or _ENTITY_AFTER.search(after) or _GROUP_MARK.search(before[-4:])
                        or _EACH_OF.search(norm[max(0, match.start - 40) : match.start])
                        or _listed(u, match.start, match.end)):
                    u.entity = entity  # type: ignore[assignment]
                    u.entity_grouped = True
                continue
            if match.fuzzy:
                u.fuzzy_terms.append((u.question[match.start : match.end], entry.name))
            if entry.name not in u.group_dims:
                u.group_dims.append(entry.name)
            continue
        if times:
            u.time_dimension = times[0].name
    # "users", "merchants", "用户": a metric only when nothing else is measured
    for match, entity in entity_metrics:
        u.entity_metric_spans.append((match.start, match.end))
        if u.metrics and not _joined_to_metric(u, match):
            continue
        for entry in match.of_kind("metric"):
            if entry.name not in u.metrics:
                u.metrics.append(entry.name)
                u.entity_metrics.append(entry.name)
        u.entity = u.entity or entity  # type: ignore[assignment]


_CONJUNCTION = re.compile(
    r"^[\s,;，、；]*(?:和|与|及|以及|还有|跟|加上|\band\b|\bplus\b|&)?[\s,;，、；]*(?:\bhow many\b|\bthe number of\b|多少|有多少)?\s*$", re.ASCII)


def _joined_to_metric(u: Understanding, match: Match) -> bool:
    """"orders and buyers" / 订单数和买家数: an entity word listed beside a metric is a
    metric too (two asks in one), not the entity the metric is about."""
    for start, end in u.metric_spans:
        gap = u.norm[end : match.start] if end <= match.start else u.norm[match.end : start]
        if gap.strip() and _CONJUNCTION.match(gap):
            return True
    return False


def _predicted_audience(u: Understanding, audience: list[predicted.PredictedHit]) -> None:
    """可能购买户外装备的用户 / users likely to buy outdoor gear: the category value becomes the
    predicted audience (``chatbi.planner.predicted``), its span the audience as said."""
    for hit in audience:
        for value in u.values:
            entry = predicted.predicted_entry(value.entries)
            if (value.start, value.end) == hit.value and entry is not None:
                value.entries = (entry,)
                value.start, value.end = hit.span


def _entity_word(surface: str) -> str | None:
    for entity, pattern in intents.ENTITY_WORDS.items():
        found = pattern.fullmatch(surface.strip())
        if found:
            return entity
    return None


def _having(u: Understanding, match: Match, metric: str) -> None:
    m = intents.HAVING.match(u.norm[match.end :])
    if not m:
        return
    value = float(m["num"])
    unit = (m["unit"] or "").strip()
    if unit in intents.UNIT_SCALE:
        value *= intents.UNIT_SCALE[unit]
    op = intents.HAVING_OPS.get(m["op"], "gt")
    u.having.append(MetricFilter(metric=metric, op=op, value=value))  # type: ignore[arg-type]
    u.having_spans.append((match.end + m.start("op"), match.end + m.end()))


def _read_shape(u: Understanding) -> None:
    text, norm = u.residual, u.norm
    u.why = bool(intents.WHY.search(norm))
    u.copy = bool(intents.COPY.search(norm))
    u.definition_strong = bool(intents.DEFINITION_STRONG.search(text) or intents.DEFINITION_DIFFERENCE.search(norm))
    u.definition_weak = bool(intents.DEFINITION_WEAK.search(text))
    u.direction = intents.direction_of(text)
    u.trend = bool(intents.TREND.search(text))
    u.per_period = intents.per_period_of(norm)
    for pattern, grain in intents.GRAIN_WORDS:
        if pattern.search(text) and not u.per_period:
            u.grain = grain
            break
    for pattern, grain in _WHICH_GRAIN:
        if pattern.search(text):
            u.which_grain = grain
            break
    u.share = bool(intents.SHARE.search(text))
    if intents.GROWTH_DOWN.search(text):
        u.growth = "down"
    elif intents.GROWTH_UP.search(text):
        u.growth = "up"
    u.growth_generic = bool(intents.GROWTH_GENERIC.search(text))
    desc, asc = intents.SUPER_DESC.search(text), intents.SUPER_ASC.search(text)
    if not (desc or asc):  # 粉丝最多的3个kol: the ranking word is inside a metric's synonym
        said = " ".join(norm[s:e] for s, e in u.metric_spans)
        desc, asc = intents.SUPER_DESC.search(said), intents.SUPER_ASC.search(said)
    if desc or asc:
        u.order = "asc" if asc and (not desc or asc.start() <= desc.start() or desc[0] in ("排名", "rank", "ranking", "ranked")) else "desc"
    decisive = (asc if u.order == "asc" else desc) if u.order else None
    u.order_judged = bool(decisive and intents.JUDGED_ORDER.fullmatch(decisive[0]))
    top = intents.TOP_N.search(text)
    if top:
        n = to_int(top["n"] or top["n2"] or top["n3"] or top["n4"] or top["n5"] or "")
        has_rank_word = bool(top["n"]) or desc or asc
        if n and 0 < n <= 1000 and has_rank_word and not u.copy:
            u.top_n = n
            lead = top[0]
            neutral = desc is not None and desc[0] in ("排名", "rank", "ranking", "ranked", "排行", "排行榜")
            if u.order is None or (neutral and not asc):  # 排名后九: the rank word is neutral, 后 decides
                u.order = "asc" if re.match(r"bottom|worst|后|倒数|最[低少小差]|lowest", lead) else "desc"
                u.order_judged = bool(re.match(r"best|worst|最[好差]", lead))
    u.which = bool(intents.WHICH.search(text))
    u.list_request = bool(intents.LIST.search(text))
    for entity, pattern in ([] if u.entity_grouped else intents.ENTITY_WORDS.items()):
        for found in pattern.finditer(u.entity_text):
            if u.entity_metrics and u.group_dims and any(s <= found.start() < e for s, e in u.entity_metric_spans):
                continue  # "regions by buyers": the word is the measure here
            u.entity = u.entity or entity  # type: ignore[assignment]
            offset = max(0, found.start() - 12)
            before = u.entity_text[offset : found.start()]
            after = u.entity_text[found.end() : found.end() + 8]
            if _owns_next_dimension(u, found.end()):
                continue  # 按买家所在大区看: the entity word says whose region, it is not grouped
            if _groups_entity(u, before, offset, found.start()) or _ENTITY_AFTER.search(after) or _listed(u, found.start(), found.end()):
                u.entity = entity  # type: ignore[assignment]
                u.entity_grouped = True
                break
        if u.entity_grouped:
            break
    if u.entity is None and intents.WHICH_SHOP.search(text):
        u.entity, u.entity_grouped = "merchant", True  # 其中哪家动销率最高: 家 counts shops
    if u.entity and not u.entity_grouped and u.having:
        u.entity_grouped = True  # 纠纷率超过5%的商户: a filter on entities
    u.count_request = bool(intents.COUNT.search(text))
    u.compare = bool(intents.COMPARE.search(text))
    u.preference = bool(intents.PREFERENCE.search(text))
    u.mainly = bool(intents.MAINLY.search(text))
    u.mine = bool(_MY.search(norm))
    u.buyers_said = bool(_BUYER_WORD.search(norm))


_OWNER_GAP = re.compile(r"^\s*(?:所在的?|所属的?|的|\s)\s*$|^'s\s*$")


def _owns_next_dimension(u: Understanding, end: int) -> bool:
    """买家所在大区 / 商户的省份 / buyer's region: the entity word names whose dimension it is."""
    return any(0 < start - end <= 4 and _OWNER_GAP.match(u.norm[end:start]) for start, _ in u.dimension_spans)


def _groups_entity(u: Understanding, before: str, offset: int, entity_start: int) -> bool:
    """各/每个/前3名的 right before the entity word: unless a dimension word sits between
    them (各价值分层用户: 各 groups the value tiers, not the users)."""
    mark = _ENTITY_BEFORE.search(before)
    if mark is None:
        return False
    mark_end = offset + mark.start() + len(mark[0].rstrip(" 的"))
    return not any(mark_end <= s and e <= entity_start for s, e in u.dimension_spans)


def _listed(u: Understanding, entity_start: int, entity_end: int) -> bool:
    """列出所有高复购型商户 / list all merchants: a list word shortly before the entity
    word (not a count word like 商户数, not across a dimension word)."""
    if any(s <= entity_start and entity_end < e for s, e in u.entity_metric_spans):
        return False  # 列出…用户数: the word is a measure
    offset = max(0, entity_start - 16)
    marks = list(_LIST_BEFORE.finditer(u.norm[offset:entity_start]))
    if not marks:
        return False
    mark_end = offset + marks[-1].end()
    return not any(mark_end <= s and e <= entity_start for s, e in u.dimension_spans)


_INTENT_PATTERNS = [
    intents.TOP_N, intents.NEGATION_WORDS, intents.WHY, intents.COPY, intents.DEFINITION_STRONG, intents.DEFINITION_WEAK, intents.TREND,
    intents.SHARE, intents.GROWTH_UP, intents.GROWTH_DOWN, intents.GROWTH_GENERIC, intents.SUPER_DESC,
    intents.SUPER_ASC, intents.LIST, intents.COUNT, intents.COMPARE, intents.WHICH,
    intents.PREFERENCE, intents.MAINLY, intents.DIRECTION_DOWN, intents.DIRECTION_UP,
    intents.FOLLOWUP_START, intents.FOLLOWUP_END, intents.REPLACE_METRIC, intents.REMOVE_FILTER,
    *(p for p, _ in intents.GRAIN_WORDS), *(p for p, _ in intents.COPY_CHANNELS),
    *intents.ENTITY_WORDS.values(), intents.COPY_COUNT,
]


def _strip_intent_words(text: str) -> str:
    for pattern in _INTENT_PATTERNS:
        text = pattern.sub(" ", text)
    return text


def _blank(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: " " * len(m[0]), text)


_UNKNOWN_ZH = re.compile(r"[\u4e00-\u9fff]{2,}")
_UNKNOWN_EN = re.compile(r"[a-z][a-z'-]{3,}(?:\s+[a-z][a-z'-]{2,})*")
_ZH_GAP = re.compile(r"^[\s的之]*$")
_EN_AFTER_METRIC = re.compile(r"^\s*(?:of|for|from|in|at|among)\s+(?:the\s+|our\s+|all\s+)?$", re.ASCII)
_EN_POSSESSIVE = re.compile(r"^'s?\s*$", re.ASCII)


def _unknown_qualifiers(u: Understanding, blocked: list[tuple[int, int]]) -> list[str]:
    """Unrecognised words that say *whose* or *which* metric: 竞争对手上个月的销售额,
    圣保罗州的GMV, GMV of vintage bags. Dropping them would answer another question."""
    if not u.metric_spans:
        return []
    text = _positional_strip(u.residual)
    skippable = [*blocked, *u.dimension_spans]
    found: list[str] = []
    for run in _UNKNOWN_ZH.finditer(text):  # X的<metric>
        start, end = _trim_stop_words(text, *run.span())
        if end - start < 2:
            continue
        for m_start, _ in u.metric_spans:
            gap = "".join(c for i, c in enumerate(u.norm[end:m_start], start=end)
                          if not any(s <= i < e for s, e in skippable))
            if m_start >= end and _ZH_GAP.match(gap):
                found.append(u.question[start:end])
                break
    for run in _UNKNOWN_EN.finditer(_blank(_STOP, text)):
        start, end = run.span()
        for m_start, m_end in u.metric_spans:
            if (m_end <= start and _EN_AFTER_METRIC.match(u.norm[m_end:start])) or (  # <metric> of X
                    m_start >= end and _EN_POSSESSIVE.match(u.norm[end:m_start])):  # X's <metric>
                found.append(u.question[start:end])
                break
    return found


def _trim_stop_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The run without leading/trailing filler (请问, 我们的, 的)."""
    changed = True
    while changed and start < end:
        changed = False
        head = _STOP.match(text, start, end)
        if head and head.end() > start:
            start, changed = head.end(), True
        for tail in _STOP.finditer(text, start, end):
            if tail.end() == end and tail.start() > start:
                end, changed = tail.start(), True
                break
    return start, end


def _positional_strip(text: str) -> str:
    """Intent words blanked with spaces of the same length (positions kept)."""
    for pattern in _INTENT_PATTERNS:
        text = _blank(pattern, text)
    return text

