"""Recognise relationship questions: the typed intent ``RelationRequest``.

``detect_relation_question(question, language, planner_values)`` returns a request for the
questions this package answers (graph, KOL, collaborative-filtering and journey questions)
and None for everything else, so the caller falls through to the planner. It never claims
a question the planner must refuse (SQL, data changes, prompt injection, personal data), a
definition question or a campaign-copy request (the planner's copy intent wins).
``planner_values`` are the dimension values the planner knows
(``Pipeline.dimension_values()``): categories, brands, styles, channels, KOL domains… are
recognised from them; merchants by id (商户12, merchant 12) or by a name the answer looks
up in ``merchants``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chatbi.planner import intents as planner_intents
from chatbi.planner.numbers import to_int
from chatbi.planner.text import mask_spans, normalize

RelationKind = Literal[
    "repeat_buyers", "shared_customers", "merchant_network", "communities",
    "kol_ranking", "kol_preferences", "kol_for_item",
    "also_bought", "next_audience", "user_next",
    "funnel", "dropoff", "exits", "paths", "dwell",
]
ItemType = Literal["category", "brand", "style", "merchant"]
DEFAULT_LIMIT = 10
MAX_LIMIT = 25


@dataclass(frozen=True)
class RelationRequest:
    """A relationship question, understood."""

    kind: RelationKind
    question: str
    language: str = "zh"
    merchant_id: int | None = None
    merchant_text: str | None = None  # a merchant named in words, looked up by the answer
    own: bool = False  # 我的/my: the caller's own merchant
    item_type: ItemType | None = None  # also_bought antecedent / audience category / KOL item
    item: str | None = None
    consequent_type: ItemType | None = None  # also_bought: what to list
    kol_domain: str | None = None
    dimension: str | None = None  # funnel breakdown
    with_favorite: bool = False  # funnel: include 收藏
    before_purchase: bool = False  # paths: only sessions with a purchase, up to it
    user_id: int | None = None
    per_follower: bool = False  # KOL ranking by GMV per follower
    limit: int | None = None


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


_MERCHANT_ID = _c(r"(?:商户|商家|店铺|卖家|店)\s*(?:id|编号|号)?\s*[:#]?\s*(?P<a>\d{1,9})(?!\d)|"
                  r"\b(?:merchant|seller|shop|store)\s*(?:id\s*)?[:#]?\s*(?P<b>\d{1,9})\b")
_USER_ID = _c(r"(?:用户|买家|客户)\s*(?:id|编号)?\s*[:#]?\s*(?P<a>\d{1,12})(?!\d)|"
              r"\b(?:user|customer|buyer)\s*(?:id\s*)?[:#]?\s*(?P<b>\d{1,12})\b")
_OWN = _c(r"我的|我们的|我家|本店|我店|\bmy\b|\bour\b")
_MERCHANT_WORD = planner_intents.ENTITY_WORDS["merchant"]

_KOL = _c(r"kol|博主|达人|网红|大v|\binfluencers?\b|\bcreators?\b")
_FOLLOW = _c(r"粉丝|关注|\bfollow(?:ers?|ing|s|ed)?\b|\bfans?\b|\baudience\b")
_KOL_PREFERENCE = _c(r"偏好|喜欢|爱买|买什么|买了什么|买些什么|买哪些|风格|款式|品类|类目|品牌|"
                     r"\bprefer|\blike\b|\bbuy (?:more|most)?\s*(?:of )?what|\bwhat (?:do|did) .{0,30}\bbuy|"
                     r"\bstyles?\b|\bcategor(?:y|ies)\b|\bbrands?\b|designer")
_KOL_RANK = _c(r"哪个|哪些|哪位|哪几个|最强|最多|最高|购买力|消费力|排名|排行|带货|"
               r"\bwhich\b|\bmost\b|\btop\b|\bstrongest\b|\bbest\b|\bhighest\b|\bspend|\bpurchasing power\b|\brank")
_PER_FOLLOWER = _c(r"购买力|消费力|人均|每个粉丝|\bper follower\b|\bpurchasing power\b|\bspending power\b")
_PURCHASE = _c(r"购买|买|消费|下单|成交|gmv|销售|带货|\bspend|\bbuy|\bbought\b|\bpurchas|\brevenue\b|\bsales\b|\borders?\b")
_WHO_FOLLOWS = _c(r"(?:买家|用户|客户|买的人|购买者).{0,8}(?:关注|粉丝)|关注了哪些|"
                  r"\bbuyers? of\b.{0,40}\bfollow|\bwho (?:buy|bought)\b.{0,40}\bfollow")

_ALSO_BOUGHT = _c(r"还会买|还买了|还买什么|还会购买|也买了|也会买|也买|还喜欢买|还常买|同时买|一起买|"
                  r"关联购买|搭配购买|交叉购买|连带购买|"
                  r"\balso (?:buy|bought|purchase[sd]?)\b|\bbought together\b|\bcross[- ]sell|"
                  r"\bwho (?:buy|bought)\b.{1,40}\b(?:also|buy|bought)\b")
_LIKELY = _c(r"(?:可能|有望|预计|倾向于?|大概率|预测|潜在).{0,12}(?:买|购买|下单|复购)|"
             r"潜在(?:买家|客户|用户)|"
             r"\blikely to (?:buy|purchase|order)\b|\bpredicted (?:to )?(?:buy|purchase)|"
             r"\bwill (?:buy|purchase)\b|\bpropensity\b|\bnext (?:purchase|category|buy)\b")
_RECOMMEND_USER = _c(r"推荐|接下来|下一次|下次|\brecommend|\bnext\b")

_REPEAT = _c(r"复购用户|复购客户|复购买家|回头客|老客|重复购买|"
             r"\brepeat (?:buyers|customers|purchasers)\b|\breturning customers\b|\bloyal customers\b")
_WHICH_MERCHANTS = _c(r"哪些商户|哪个商户|哪家|哪些店|哪些商家|哪个商家|哪些卖家|商户排名|商户排行|"
                      r"\bwhich (?:merchants|sellers|shops|stores)\b|\b(?:merchants|sellers|shops|stores) (?:with|having|that have)\b|"
                      r"\btop (?:\d+ )?(?:merchants|sellers|shops|stores)\b")
_SHARED = _c(r"共享(?:的)?(?:客户|买家|用户|顾客)|共同(?:的)?(?:客户|买家|用户|顾客)|(?:客户|用户|买家|客群)(?:重叠|重合|交叉)|"
             r"\bshared? (?:customers|buyers|users)\b|\bcustomer overlap\b|\boverlapping customers\b|\bcommon customers\b")
_NETWORK = _c(r"客户网络|用户网络|关系网络|关系网|关系图|关联图谱|关系图谱|网络图|图谱|"
              r"\b(?:customer|buyer|merchant|relationship) (?:network|graph)\b|\bnetwork of\b|\bnetwork\b")
_COMMUNITY = _c(r"(?:商户|商家|店铺).{0,6}(?:社群|社区|圈子|圈层|群体|聚类|分群|抱团)|社群|"
                r"\bcommunit(?:y|ies)\b|\bclusters? of (?:merchants|sellers|shops)\b|\bmerchant clusters?\b")

_FUNNEL = _c(r"漏斗|\bfunnel\b|"
             r"从浏览到(?:购买|下单)|浏览到购买|浏览.{0,2}(?:加购|收藏).{0,6}购买|"
             r"\bview(?:s|ing)? to (?:purchase|buy|order)\b")
_DROP_STEP = _c(r"(?:哪一步|哪个环节|哪个步骤|哪步|哪一环|哪个阶段|什么环节).{0,10}(?:流失|掉|离开|跳出|放弃)|"
                r"(?:流失|掉|离开|跳出).{0,6}(?:最多|最严重).{0,4}(?:的)?(?:环节|步骤|一步)|"
                r"\b(?:which|what) (?:step|stage)\b.{0,40}\b(?:drop|lose|lost|leave|abandon)|"
                r"\bwhere\b.{0,30}\b(?:drop(?:s|ped)? off|lose|lost|abandon)|\bbiggest drop[- ]?off\b")
_NON_BUYERS = _c(r"(?:没有|没|未|不)(?:购买|下单|买|成交)的?(?:用户|会话|访客|人)|"
                 r"\b(?:did not|didn't|never|don't|do not) (?:buy|purchase|order)\b|\bnon[- ]?buyers\b|"
                 r"\bwithout (?:a )?purchas")
_PATHS = _c(r"路径|行为序列|行为轨迹|访问序列|\bpaths?\b|\bjourneys?\b|\bsequences?\b|\bclickstream\b")
_BEFORE_PURCHASE = _c(r"购买前|下单前|购买之前|下单之前|成交前|转化路径|购买路径|"
                      r"\bbefore (?:a |the )?(?:purchase|buying|order)|\blead(?:s|ing)? to (?:a )?purchase|"
                      r"\bpurchase paths?\b|\bconverting\b")
_DWELL = _c(r"停留时长|停留时间|浏览时长|\bdwell\b|\btime on page\b")
_DWELL_DETAIL = _c(r"中位|分布|p90|90分位|\bmedian\b|\bdistribution\b|\bpercentile")
_FAVORITE = _c(r"收藏|\bfavou?rites?\b|完整漏斗|全部步骤|\bfull funnel\b|\ball steps\b")

_TYPE_WORDS: list[tuple[re.Pattern[str], ItemType]] = [
    (_c(r"品牌|\bbrands?\b"), "brand"),
    (_c(r"风格|款式|\bstyles?\b"), "style"),
    (_c(r"品类|类目|\bcategor(?:y|ies)\b"), "category"),
    (_c(r"商户|商家|店铺|\bmerchants?\b|\bshops?\b|\bsellers?\b"), "merchant"),
]
_FUNNEL_DIM_WORDS: list[tuple[re.Pattern[str], str]] = [
    (_c(r"(?:按|分|各|每个)\s*(?:注册渠道|拉新渠道)|\bby signup channel\b"), "signup_channel"),
    (_c(r"(?:按|分|各|每个)\s*(?:渠道|流量来源|来源)|\bby (?:channel|traffic source|source)\b|\bper channel\b|\beach channel\b"), "channel"),
    (_c(r"(?:按|分|各|每个)\s*(?:品类|类目)|\bby categor(?:y|ies)\b|\bper category\b|\beach category\b"), "category"),
    (_c(r"(?:按|分|各|每个)\s*(?:大区|地区|区域)|\bby region\b|\bper region\b|\beach region\b"), "region"),
    (_c(r"(?:按|分)\s*性别|男女|\bby gender\b"), "gender"),
    (_c(r"(?:按|分|各)\s*(?:城市等级|城市线级|线级)|\bby city tier\b"), "city_tier"),
]
FUNNEL_DIMENSION_WORDS = _FUNNEL_DIM_WORDS  # (pattern, dimension) of funnel breakdowns, for follow-ups
_NAME_PATTERNS = [
    _c(r"(?:和|与|跟)\s*(?P<name>[^\s,.?!，。？！]{2,30}?)\s*(?:之间)?(?:的)?(?:共享|共同|重叠|重合|交叉)"),
    _c(r"(?P<name>[^\s,.?!，。？！]{2,30}?)\s*的\s*(?:客户网络|用户网络|关系网络|关系图|关系网|关联图谱|关系图谱|网络)"),
    _c(r"\b(?:network|overlap|share[sd]?)\s+(?:of|with)\s+(?:merchant\s+)?(?P<name>[^?!.,]{2,40}?)\s*(?:[?!.,]|$)"),
]
_NAME_STOP = re.compile(r"^(?:商户|商家|店铺|卖家|我|我们|我店|本店|哪些|哪个|merchants?|the|a|this|that|it)$")


def _safe(norm: str) -> bool:
    """False when the planner must see the question (refusals, definitions, copy requests:
    给可能购买户外装备的用户写短信 is campaign copy for the predicted audience, not a list)."""
    if any(p.search(norm) for p in planner_intents.SQL_TEXT + planner_intents.DATA_CHANGE):
        return False
    if planner_intents.INJECTION.search(norm) or planner_intents.PII.search(norm):
        return False
    if planner_intents.COPY.search(norm):
        return False
    return not planner_intents.DEFINITION_STRONG.search(norm)


def _find_value(norm: str, values: Sequence[Any]) -> tuple[str, tuple[int, int]] | None:
    """The longest value of ``values`` found in ``norm`` (case-insensitive)."""
    best: tuple[str, tuple[int, int]] | None = None
    for value in values:
        text = str(value)
        if len(text) < 2:
            continue
        i = norm.find(normalize(text))
        if i >= 0 and (best is None or len(text) > len(best[0])):
            best = (text, (i, i + len(text)))
    return best


def _item(norm: str, values: Mapping[str, Sequence[Any]]) -> tuple[ItemType, str] | None:
    """A category, style or brand named in the question (longest match wins)."""
    found: list[tuple[int, ItemType, str]] = []
    for kind in ("category", "style", "brand"):
        hit = _find_value(norm, values.get(kind, ()))
        if hit:
            found.append((len(hit[0]), kind, hit[0]))  # type: ignore[arg-type]
    if not found:
        return None
    _, kind, value = max(found, key=lambda t: t[0])
    return kind, value


def _merchant(question: str, norm: str, values: Mapping[str, Sequence[Any]]) -> tuple[int | None, str | None]:
    m = _MERCHANT_ID.search(norm)
    if m:
        return int(m["a"] or m["b"]), None
    hit = _find_value(norm, values.get("merchant_name", ()))
    if hit:
        return None, hit[0]
    for pattern in _NAME_PATTERNS:
        m = pattern.search(norm)
        if m:
            start, end = m.span("name")
            name = question[start:end].strip().strip("「」“”\"'")
            name = re.sub(r"^(?:商户|商家|店铺|merchant)\s*", "", name)
            if name and not _NAME_STOP.match(name.lower()) and not _OWN.search(name.lower()):
                return None, name
    return None, None


def _limit(norm: str) -> int | None:
    m = planner_intents.TOP_N.search(norm)
    if not m:
        return None
    value = to_int(m["n"] or m["n2"] or m.groupdict().get("n3"))
    return max(1, min(MAX_LIMIT, value)) if value else None


def _type_word(norm: str, exclude: tuple[int, int] | None = None) -> ItemType | None:
    text = mask_spans(norm, [exclude]) if exclude else norm
    hits = [(m.start(), kind) for pattern, kind in _TYPE_WORDS for m in pattern.finditer(text)]
    return min(hits)[1] if hits else None


def detect_relation_question(question: str, language: str | None = None,
                             planner_values: Mapping[str, Sequence[Any]] | None = None
                             ) -> RelationRequest | None:
    """The relationship request in ``question``, or None when it is not one."""
    if not question or not question.strip():
        return None
    values = planner_values or {}
    norm = normalize(question)
    if not _safe(norm):
        return None
    lang = language or ("zh" if re.search(r"[\u4e00-\u9fff]", question) else "en")
    # channel names such as 知识社区 must not read as "community"
    channel_spans = []
    for value in values.get("channel", ()):
        text = normalize(str(value))
        start = norm.find(text)
        while text and start >= 0:
            channel_spans.append((start, start + len(text)))
            start = norm.find(text, start + 1)
    masked = mask_spans(norm, channel_spans)
    base = {"question": question, "language": lang, "limit": _limit(norm)}
    own = bool(_OWN.search(norm))

    request = (_journey(norm, masked, base) or _kol(norm, values, base)
               or _preference(question, norm, values, base)
               or _graph(question, norm, masked, values, base, own))
    return request


def _journey(norm: str, masked: str, base: dict[str, Any]) -> RelationRequest | None:
    dims = [dim for pattern, dim in _FUNNEL_DIM_WORDS if pattern.search(norm)]
    dimension = dims[0] if dims else None
    if _DROP_STEP.search(norm) and not _NON_BUYERS.search(norm):
        return RelationRequest("dropoff", dimension=dimension, with_favorite=bool(_FAVORITE.search(norm)), **base)
    if _NON_BUYERS.search(norm) and (_DROP_STEP.search(norm) or re.search(
            r"流失|离开|跳出|放弃|哪一步|哪里|\bdrop|\bleave|\bleft\b|\bexit|\bwhere\b", norm)):
        return RelationRequest("exits", **base)
    if _FUNNEL.search(norm):
        return RelationRequest("funnel", dimension=dimension, with_favorite=bool(_FAVORITE.search(norm)), **base)
    if _PATHS.search(masked) and re.search(
            r"常见|最多|典型|主要|排名|哪些|购买前|下单前|转化|\bcommon\b|\btop\b|\bmost\b|\btypical\b|\bbefore\b|\bfrequent", norm):
        if re.search(r"商户|商家|merchant|kol|博主", norm):
            return None
        return RelationRequest("paths", before_purchase=bool(_BEFORE_PURCHASE.search(norm)), **base)
    if _DWELL.search(norm) and _DWELL_DETAIL.search(norm):
        return RelationRequest("dwell", **base)
    return None


def _kol(norm: str, values: Mapping[str, Sequence[Any]], base: dict[str, Any]) -> RelationRequest | None:
    if not _KOL.search(norm):
        return None
    domain_hit = _find_value(norm, values.get("kol_domain", ()))
    domain = domain_hit[0] if domain_hit else None
    item = _item(norm, values)
    if _WHO_FOLLOWS.search(norm) and item and not domain:
        return RelationRequest("kol_for_item", item_type=item[0], item=item[1], **base)
    if not _FOLLOW.search(norm) and not re.search(r"带货", norm):
        return None
    if _KOL_PREFERENCE.search(norm) and (domain or not _KOL_RANK.search(norm)):
        consequent = _type_word(norm, domain_hit[1] if domain_hit else None)
        kind = consequent if consequent in ("category", "brand", "style") else "style"
        return RelationRequest("kol_preferences", kol_domain=domain, consequent_type=kind, **base)
    if (_KOL_RANK.search(norm) or _KOL_PREFERENCE.search(norm)) and _PURCHASE.search(norm):
        return RelationRequest("kol_ranking", kol_domain=domain,
                               per_follower=bool(_PER_FOLLOWER.search(norm)), **base)
    return None


def _preference(question: str, norm: str, values: Mapping[str, Sequence[Any]],
                base: dict[str, Any]) -> RelationRequest | None:
    item = _item(norm, values)
    if _ALSO_BOUGHT.search(norm) and item:
        span = _find_value(norm, [item[1]])
        tail = norm[span[1][1]:] if span else norm
        consequent = _type_word(tail) or item[0]
        consequent = consequent if consequent != "merchant" else item[0]
        return RelationRequest("also_bought", item_type=item[0], item=item[1],
                               consequent_type=consequent, **base)
    user = _USER_ID.search(norm)
    if user and (_LIKELY.search(norm) or _RECOMMEND_USER.search(norm)):
        wants: ItemType = "merchant" if re.search(r"商户|商家|店铺|\bmerchants?\b|\bshops?\b", norm) else "category"
        return RelationRequest("user_next", user_id=int(user["a"] or user["b"]), item_type=wants, **base)
    if _LIKELY.search(norm) and item and item[0] == "category" and planner_intents.ENTITY_WORDS["user"].search(norm):
        if planner_intents.COUNT.search(norm) and not planner_intents.LIST.search(norm):
            return None  # 可能购买户外装备的华东用户有多少: the planner counts it, with every filter said
        return RelationRequest("next_audience", item_type="category", item=item[1], **base)
    return None


def _graph(question: str, norm: str, masked: str, values: Mapping[str, Sequence[Any]],
           base: dict[str, Any], own: bool) -> RelationRequest | None:
    merchant_id, merchant_text = _merchant(question, norm, values)
    ref: dict[str, Any] = {"merchant_id": merchant_id, "merchant_text": merchant_text, "own": own}
    if _COMMUNITY.search(masked):
        return RelationRequest("communities", **base)
    if _SHARED.search(norm):
        return RelationRequest("shared_customers", **ref, **base)
    if _NETWORK.search(norm) and (merchant_id or merchant_text or own or _MERCHANT_WORD.search(norm)
                                  or re.search(r"客户|用户|买家|customer|buyer", norm)):
        return RelationRequest("merchant_network", **ref, **base)
    if _REPEAT.search(norm) and (_WHICH_MERCHANTS.search(norm) or re.search(
            r"大量|最多|排名|排行|\bmost\b|\blots of\b|\bmany\b", norm) and _MERCHANT_WORD.search(norm)):
        return RelationRequest("repeat_buyers", **base)
    return None
