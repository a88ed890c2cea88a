"""Predicted audiences: "可能购买户外装备的用户" / "users likely to buy outdoor gear".

A category said right after a likely-to-buy phrase (可能 / 预计 / 有望 / 大概率 + 买 / 购买…,
likely / expected / predicted to buy…), before 的潜在用户, or next to the predicted-category
dimension's own words (预测品类为户外装备) names the users the recommender predicts will buy
that category next: the value becomes a ``has_tag`` filter on ``predicted_next_category``
(the top-3 predicted categories of ``user_predictions``), not ``category = X`` (buyers of X).

``find_predicted`` runs on the lexicon's matches: the phrase words are then blocked (so
"purchase" in "expected to purchase" is not read as a metric) and ``predicted_entry`` gives
the value's new meaning. Inactive when the layer has no tag dimension of that name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbi.planner.lexicon import Entry, Lexicon, Match

PREDICTED_DIMENSION = "predicted_next_category"
#: dimensions whose values are category names (the predicted list holds the same names)
CATEGORY_DIMENSIONS = ("category", "favorite_category", "merchant_main_category")
Span = tuple[int, int]


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


#: the prediction horizon (下个月, next month): part of the phrase, never a time range
HORIZON = _c(
    r"下个?月|下周|下个?季度|下半年|未来\s*(?:\d+|[一二两三四五六七八九十]+)\s*(?:天|周|个月|日)|未来一段时间|未来|接下来|近期|即将|"
    r"\bnext (?:month|week|quarter|(?:\d+|few|couple of) (?:days|weeks|months))\b|"
    r"\bin the (?:next|coming) (?:month|week|quarter|\d+ (?:days|weeks|months))\b|\bsoon\b"
)
_H = r"(?:下个?月|下周|下个?季度|未来\s*\d*\s*(?:天|周|个月)?|接下来|近期)?"
_DET = r"(?:some |more |new |an? |the )?"
#: text right before the category (…可能购买 / …likely to buy); ``ent`` is an entity word kept
#: readable for the planner (potential buyers of X)
_BEFORE = _c(
    rf"(?:很|最|更)?(?:可能|预计|有望|大概率|倾向于?)\s*(?:会|将|要)?\s*(?:在\s*)?{_H}\s*(?:会|将|要)?\s*"
    r"(?:再次|再)?\s*(?:购买|买|下单|入手|选购|复购)\s*(?:了)?\s*$|"
    r"潜在(?:的)?\s*$|"
    rf"\b(?:(?:most|more|very) )?(?:likely|expected|predicted|set|going) to (?:buy|purchase|order|shop for|get)\s+{_DET}$|"
    rf"\bwill (?:likely |probably )?(?:buy|purchase)\s+{_DET}$|"
    r"\bpotential (?P<ent>buyers|customers|shoppers|users) (?:of|for)\s+(?:the )?$"
)
#: English entity words before the phrase, kept in the segment's span (users likely to buy X)
_LEAD = _c(r"\b(?:users|customers|buyers|shoppers|people)\s+(?:(?:who|that)\s+are\s+|who're\s+)?$")
#: text right after the category: 户外装备的潜在用户 (only 潜在 is the phrase)
_AFTER = _c(r"\s*(?:的)?\s*潜在(?=\s*(?:买家|客户|用户|消费者|人群))")
#: between the dimension's own words and the value (预测品类为户外装备 / 户外装备是预测品类)
_GAP = _c(r"^\s*(?:为|是|=|:|属于|的|包含|含有?|有|包括|includes?|contains?|is|of)?\s*$")


@dataclass(frozen=True)
class PredictedHit:
    """A category value said as a predicted audience."""

    value: Span  # where the value itself was matched
    span: Span  # the audience as said (phrase, value, English entity word before it)
    phrase: tuple[Span, ...]  # the phrase words: blocked from the lexicon (not metrics)


def enabled(lexicon: Lexicon) -> bool:
    return lexicon.dimension_type(PREDICTED_DIMENSION) == "tag"


def find_predicted(norm: str, matches: Sequence[Match], lexicon: Lexicon) -> list[PredictedHit]:
    """The category values in ``matches`` said as a predicted audience (empty when inactive)."""
    if not enabled(lexicon):
        return []
    dim_spans = [(m.start, m.end) for m in matches
                 if any(e.kind == "dimension" and e.name == PREDICTED_DIMENSION for e in m.entries)]
    found: list[PredictedHit] = []
    for match in matches:
        if _category_value(match.entries) is None:
            continue
        start, end = match.start, match.end
        before = _BEFORE.search(norm, max(0, start - 40), start)
        after = _AFTER.match(norm, end)
        if before:
            phrase = _without(before.span(), before.span("ent") if before["ent"] else None)
            lead = _LEAD.search(norm, max(0, before.start() - 30), before.start())
            found.append(PredictedHit((start, end), (lead.start() if lead else before.start(), end), phrase))
            continue
        if after:
            found.append(PredictedHit((start, end), (start, after.end()), (after.span(),)))
            continue
        near = [(s, e) for s, e in dim_spans
                if (e <= start and _GAP.match(norm[e:start])) or (s >= end and _GAP.match(norm[end:s]))]
        if near:
            span = (min(start, *(s for s, _ in near)), max(end, *(e for _, e in near)))
            found.append(PredictedHit((start, end), span, ()))
    return found


def blocked_spans(norm: str, hits: Sequence[PredictedHit]) -> list[Span]:
    """Phrase words and the prediction horizon (下个月): neither a metric nor a time range."""
    if not hits:
        return []
    values = [h.value for h in hits]
    horizon = [m.span() for m in HORIZON.finditer(norm)
               if not any(m.start() < e and s < m.end() for s, e in values)]
    return [span for h in hits for span in h.phrase if span[0] < span[1]] + horizon


def predicted_entry(entries: Sequence[Entry]) -> Entry | None:
    """The ``has_tag`` entry replacing a category value's meanings."""
    value = _category_value(entries)
    return None if value is None else Entry("value", PREDICTED_DIMENSION, value, tag=True, rank=0)


def _category_value(entries: Sequence[Entry]) -> object | None:
    by_name = {e.name: e.value for e in entries if e.kind == "value"}
    for name in (PREDICTED_DIMENSION, *CATEGORY_DIMENSIONS):
        if name in by_name:
            return by_name[name]
    return None


def _without(span: Span, hole: Span | None) -> tuple[Span, ...]:
    if hole is None:
        return (span,)
    return tuple(s for s in ((span[0], hole[0]), (hole[1], span[1])) if s[0] < s[1])
