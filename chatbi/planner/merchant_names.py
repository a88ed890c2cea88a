"""Merchants named the way people name them: "台州·青柠首饰铺小铺", "青柠首饰铺小铺" (no city),
"木子奢品寄卖" (no generic suffix), "潍坊的拾光古着店", "青柠首饰铺小普" (a typo).

The warehouse's merchant names are read with the other dimension values
(``read_merchant_names``, kept in the planning cache under ``NAMES_KEY`` as "id<TAB>name")
and indexed here by the forms people type:

- the name without its city prefix (the text before ``·``): a city said before the rest of
  the name, glued or with any separator (台州青柠首饰铺小铺, 台州 青柠…, 台州的青柠…), narrows
  the candidates to that city's shops;
- the rest without generic suffixes (小铺, 小店, 店, 工作室, 寄卖行, 寄卖, 严选…, stripped one
  after the other) and without a trailing "(2号店)" annotation.

A name read this way is a filter on the merchant id (``MerchantNames.find``): the same filter
as "商户179", so the row-level guard and every other code path behave alike. A form shared by
several shops is never guessed between: the planner asks which one, listing them
(``ShopHit.candidates``), and the reply (an id, a name, 潍坊那家, 第二家) completes the pending
question (``shop_reply``). Typos are tried only where a question has words nobody recognised
(``MerchantNames.near``): one edit in a form of five or more characters, two in nine or more,
never between two shops.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from chatbi.planner.text import at_word_boundary, normalize

if TYPE_CHECKING:
    from chatbi.planner.understand import Understanding

#: key of the merchant directory in the dimension-values mapping (not a dimension name)
NAMES_KEY = "merchant_name@merchant_id"
MAX_NAMES = 50_000
MAX_LISTED = 6

_SEPARATORS = str.maketrans({c: "·" for c in "•・･‧∙⋅"})
_CITY_GAP = ("", "·", " ", ".", "-", "的", "·的")
_GENERIC_SUFFIXES = tuple(sorted(
    (normalize(s) for s in (
        "寄卖行", "工作室", "旗舰店", "专卖店", "官方店", "体验店", "小铺", "小店", "店铺", "网店", "严选", "寄卖",
        "寄售", "优品", "店", " shop", " store", " studio")),
    key=len, reverse=True))
_ANNOTATION = re.compile(r"\s*\([^()]{1,12}\)\s*$")
_TYPABLE = re.compile(r"[\u4e00-\u9fffa-z0-9]")
_MIN_FORM = 3  # characters a partial form keeps (青柠首饰, not 青柠)


def canonical(text: str) -> str:
    """Normalised text (half-width, lower case, same length) with dot-like separators as ``·``."""
    return normalize(text).translate(_SEPARATORS)


@dataclass(frozen=True)
class Shop:
    merchant_id: int
    name: str  # as in the warehouse
    city: str  # normalised prefix before ·, or ""


@dataclass(frozen=True)
class ShopHit:
    """A merchant name said at ``[start, end)`` of the question; one candidate when it is
    unambiguous, several when the form is shared (the planner asks which)."""

    start: int
    end: int
    candidates: tuple[Shop, ...]
    confirmed: bool = True  # False: a city was said that none of the candidates is in (asked about)

    @property
    def shop(self) -> Shop | None:
        return self.candidates[0] if len(self.candidates) == 1 and self.confirmed else None


def read_merchant_names(layer: Any, executor: Any) -> dict[str, list[str]]:
    """``{NAMES_KEY: ["179\\t台州·青柠首饰铺小铺", …]}`` from the warehouse, when the layer has
    both merchant_id and merchant_name on one model; {} otherwise or when the read fails."""
    from chatbi.errors import ChatBIError
    from chatbi.sql.engines import dialect_of, render

    try:
        id_model, id_dim = layer.dimension("merchant_id")
        name_model, name_dim = layer.dimension("merchant_name")
    except KeyError:
        return {}
    if id_model.name != name_model.name or not id_model.table or name_dim.pii:
        return {}
    sql = (f"SELECT DISTINCT CAST({id_dim.expr} AS BIGINT) AS id, CAST({name_dim.expr} AS VARCHAR) AS name "
           f"FROM {id_model.table} WHERE ({id_dim.expr}) IS NOT NULL AND ({name_dim.expr}) IS NOT NULL "
           f"ORDER BY 1 LIMIT {MAX_NAMES}")
    try:
        result = executor.run(render(sql, dialect_of(executor)), max_rows=MAX_NAMES)
    except ChatBIError:
        return {}
    rows = [f"{int(r[0])}\t{r[1]}" for r in result.rows if r[0] is not None and str(r[1]).strip()]
    return {NAMES_KEY: rows} if rows else {}


def _strip_suffixes(rest: str) -> list[str]:
    """青柠首饰铺小铺 → [青柠首饰铺]; 拾光古着店店 → [拾光古着店, 拾光古着]."""
    forms: list[str] = []
    current = rest
    for _ in range(3):
        for suffix in _GENERIC_SUFFIXES:
            if current.endswith(suffix) and len(current) - len(suffix) >= _MIN_FORM:
                current = current[: -len(suffix)].rstrip(" ·-")
                forms.append(current)
                break
        else:
            break
    return forms


class MerchantNames:
    """The merchant directory, indexed by the forms people type (built once per planner)."""

    def __init__(self, shops: Iterable[tuple[int, str]], reserved: Iterable[str] = ()):
        reserved_set = {canonical(w).strip() for w in reserved}
        self.shops: dict[int, Shop] = {}
        self._cities: set[str] = set()
        forms: dict[str, dict[int, int]] = defaultdict(dict)  # form → merchant id → rank (0 exact, 1 branch, 2 stripped)
        for merchant_id, name in shops:
            text = canonical(str(name)).strip()
            if not text:
                continue
            city, _, rest = text.partition("·") if 0 < text.find("·") <= 6 else ("", "", text)
            shop = Shop(int(merchant_id), str(name), city.strip())
            self.shops[shop.merchant_id] = shop
            if shop.city:
                self._cities.add(shop.city)
            rest = rest.strip()
            variants = [(rest, 0)]
            base = _ANNOTATION.sub("", rest)
            if base != rest:  # 上海·Echo户外工作室(2号店): a branch, said without its number
                variants.append((base, 1))
            for form, _rank in list(variants):
                variants.extend((stripped, 2) for stripped in _strip_suffixes(form))
            for form, rank in variants:
                if len(form) < _MIN_FORM or (rank and form in reserved_set) or not _TYPABLE.match(form):
                    continue
                old = forms[form].get(shop.merchant_id)
                forms[form][shop.merchant_id] = rank if old is None else min(old, rank)
        self._forms: dict[str, tuple[tuple[int, int], ...]] = {f: tuple(ids.items()) for f, ids in forms.items()}
        self._lengths = sorted({len(f) for f in self._forms}, reverse=True)
        self._first = {f[0] for f in self._forms}
        self._bigrams: dict[str, list[str]] = defaultdict(list)  # for typos
        for form in self._forms:
            if len(form) >= 5:
                for gram in {form[i : i + 2] for i in range(len(form) - 1)}:
                    self._bigrams[gram].append(form)

    @classmethod
    def from_values(cls, values: Mapping[str, Sequence[Any]] | None, reserved: Iterable[str] = ()) -> MerchantNames | None:
        """The directory kept under ``NAMES_KEY`` in the dimension values, or None."""
        rows = (values or {}).get(NAMES_KEY) or []
        shops = []
        for row in rows:
            merchant_id, _, name = str(row).partition("\t")
            if merchant_id.strip().isdigit() and name.strip():
                shops.append((int(merchant_id), name.strip()))
        return cls(shops, reserved) if shops else None

    def __len__(self) -> int:
        return len(self.shops)

    def name_of(self, merchant_id: int) -> str | None:
        shop = self.shops.get(merchant_id)
        return shop.name if shop else None

    # ------------------------------------------------------------------ exact forms
    def find(self, norm: str, blocked: Iterable[tuple[int, int]] = ()) -> list[ShopHit]:
        """Merchant names in normalised ``norm`` (longest form first, outside ``blocked``)."""
        text = norm.translate(_SEPARATORS)
        taken = [False] * len(text)
        for start, end in blocked:
            for i in range(max(start, 0), min(end, len(text))):
                taken[i] = True
        hits: list[ShopHit] = []
        i = 0
        while i < len(text):
            if taken[i] or text[i] not in self._first:
                i += 1
                continue
            hit = self._hit_at(text, i, taken)
            if hit is None:
                i += 1
                continue
            hits.append(hit)
            for k in range(hit.start, hit.end):
                taken[k] = True
            i = hit.end
        return hits

    def _hit_at(self, text: str, i: int, taken: list[bool]) -> ShopHit | None:
        for length in self._lengths:
            end = i + length
            if end > len(text):
                continue
            ids = self._forms.get(text[i:end])
            if ids is None or any(taken[i:end]) or not at_word_boundary(text, i, end):
                continue
            return self._narrow(text, i, end, ids, taken)
        return None

    def _narrow(self, text: str, start: int, end: int, ids: tuple[tuple[int, int], ...],
                taken: list[bool]) -> ShopHit:
        """The candidates of a form: those whose city is said right before it (the span then
        includes the city), else those the form names exactly, else all."""
        best_start, in_city = start, []
        for merchant_id, rank in ids:
            city = self.shops[merchant_id].city
            if not city:
                continue
            for gap in _CITY_GAP:
                left = start - len(gap) - len(city)
                if left >= 0 and text[left:start] == city + gap and not any(taken[left:start]) \
                        and at_word_boundary(text, left, start):
                    in_city.append((merchant_id, rank))
                    best_start = min(best_start, left)
                    break
        chosen = in_city or [(m, 0 if rank == 1 else rank) for m, rank in ids]  # branches tie unless the city is said
        top = min(rank for _, rank in chosen)
        shops = tuple(sorted((self.shops[m] for m, r in chosen if r == top), key=lambda s: s.merchant_id))
        if in_city:
            return ShopHit(best_start, end, shops)
        other_city = self._city_said(text, start, taken)
        if other_city is not None:  # 台州的木子奢品寄卖 when no such shop is in 台州: asked, never another city's
            return ShopHit(other_city, end, shops, confirmed=False)
        return ShopHit(start, end, shops)

    def _city_said(self, text: str, start: int, taken: list[bool]) -> int | None:
        """Where a merchant city said right before ``start`` begins (上海·, 上海的, 上海), or None."""
        for gap in _CITY_GAP:
            for size in range(2, 7):
                left = start - len(gap) - size
                if left >= 0 and text[left + size:start] == gap and text[left:left + size] in self._cities \
                        and not any(taken[left:start]) and at_word_boundary(text, left, start):
                    return left
        return None

    # ------------------------------------------------------------------ typos
    def near(self, norm: str, spans: Iterable[tuple[int, int]]) -> ShopHit | None:
        """A shop name typed with a small typo overlapping one of ``spans`` (the words nobody
        recognised): one edit in forms of 5+ characters, two in 9+; the closest form wins, and
        two shops equally close are returned as candidates (never guessed between)."""
        from rapidfuzz.distance import Levenshtein

        text = norm.translate(_SEPARATORS)
        found: list[tuple[int, int, int, str]] = []  # (distance, start, end, form)
        for span_start, span_end in spans:
            lo, hi = max(0, span_start - 8), min(len(text), span_end + 8)
            region = text[lo:hi]
            shared: dict[str, int] = defaultdict(int)
            for gram in {region[k : k + 2] for k in range(len(region) - 1)}:
                for form in self._bigrams.get(gram, ()):
                    shared[form] += 1
            for form, count in shared.items():
                allowed = 2 if len(form) >= 9 else 1
                if count < len(form) - 1 - 2 * allowed or count < 2:
                    continue
                for size in range(len(form) - allowed, len(form) + allowed + 1):
                    for a in range(lo, hi - size + 1):
                        b = a + size
                        if b <= span_start or a >= span_end or not at_word_boundary(text, a, b):
                            continue
                        distance = Levenshtein.distance(text[a:b], form, score_cutoff=allowed)
                        if 0 < distance <= allowed:
                            found.append((distance, a, b, form))
        if not found:
            return None
        best = min(d for d, *_ in found)
        closest = [f for f in found if f[0] == best]
        _, start, end, _form = min(closest, key=lambda f: (-(f[2] - f[1]), f[1]))
        for extra in range(3, 0, -1):  # 青柠首饰铺小铺 read up to the end of its generic suffix
            if text[end:end + extra].isalpha() and text[start:end + extra].endswith(_GENERIC_SUFFIXES):
                end += extra
                break
        ids = tuple({(m, 0): None for *_, form in closest for m, _ in self._forms[form]})
        return self._narrow(text, start, end, ids, [False] * len(text))


# ------------------------------------------------------------------ texts
def describe(shop: Shop, language: str) -> str:
    return f"商户{shop.merchant_id}「{shop.name}」" if language == "zh" else f"merchant {shop.merchant_id} ({shop.name})"


def listed(shops: Sequence[Shop], language: str) -> str:
    """商户248「潍坊·拾光古着店小铺」、商户257「重庆·拾光古着店店」 (at most MAX_LISTED, then 等 N 家)."""
    shown = [describe(s, language) for s in shops[:MAX_LISTED]]
    text = ("、" if language == "zh" else ", ").join(shown)
    if len(shops) > MAX_LISTED:
        text += f" 等 {len(shops)} 家" if language == "zh" else f" and {len(shops) - MAX_LISTED} more"
    return text


def reference(merchant_id: int, language: str) -> str:
    """How a chosen shop is written back into a question: 商户179 / merchant 179."""
    return f" 商户{merchant_id} " if language == "zh" else f" merchant {merchant_id} "


def without_shop_words(u: Understanding) -> Understanding:
    """``u`` with the words that named a shop blanked in ``norm`` (a copy; ``u`` itself when no
    shop was named): "179这家店" names a shop, it does not point back at an earlier answer."""
    if not u.shop_spans:
        return u
    from dataclasses import replace

    from chatbi.planner.text import mask_spans

    return replace(u, norm=mask_spans(u.norm, u.shop_spans))


def which_shop_plan(u: Understanding) -> Any:
    """The clarifying question for a name several shops share, listing them."""
    from chatbi.planner import messages
    from chatbi.planner.types import Plan

    assert u.shop_choices is not None, "only asked when a name matched several shops"
    said, _, shops = u.shop_choices
    example = shops[0].merchant_id
    message = messages.text("which_shop_name", u.language, term=said, candidates=listed(shops, u.language), example=str(example))
    return Plan(intent="clarify", language=u.language, message=message)


# ------------------------------------------------------------------ replies to "which shop?"
_BARE_ID = re.compile(r"^\s*(?:是|就是|选|要|看)?\s*(?:第)?\s*#?\s*(\d{1,7})\s*(?:号|这家|那家|这个|那个)?\s*(?:吧|啊|呀)?\s*[.!?]?\s*$")
_ORDINAL = re.compile(r"^\s*(?:是|就是|选|要|看)?\s*第\s*([1-9一二三四五六七八九])\s*(?:个|家)\s*(?:吧|啊|呀)?\s*[.!?]?\s*$")
_PICK_FILLER = re.compile(r"那家|这家|那个|这个|那一家|这一家|就是|的|是|吧|啊|呀|店铺|商户|那|这|\bthe\b|\bone\b|\bin\b", re.ASCII)
_PICK_TOKEN = re.compile(r"[\u4e00-\u9fff]{2,}|[a-z0-9]{3,}")
_ZH_DIGITS = "一二三四五六七八九"


def _ordinal(text: str) -> int | None:
    found = _ORDINAL.match(text)
    if not found:
        return None
    digit = found[1]
    return int(digit) if digit.isdigit() else _ZH_DIGITS.index(digit) + 1


def asks_which_shop(pending: Understanding) -> bool:
    """Was the pending (clarified) question waiting for a shop: a name shared by several
    shops, or 我们店/my shop without a merchant role and without a merchant named?"""
    from chatbi.planner import intents

    if pending.shop_choices is not None:
        return True
    named = any(f.dimension == "merchant_id" for f in pending.extra_filters)
    return not named and not pending.unknowns and bool(intents.MY_SHOP.search(pending.norm))


def _picked(pending: Understanding, reply: Understanding) -> int | None:
    """The merchant a reply names: 179, 是商户179, 店铺id是179, a shop's name, or — among the
    candidates asked about — 第二家 / 潍坊那家 / 小铺那个."""
    ids = [f.value for f in reply.extra_filters if f.dimension == "merchant_id" and f.op == "eq"]
    if len(ids) == 1 and isinstance(ids[0], int):
        return ids[0]
    bare = _BARE_ID.match(reply.norm)
    if bare:
        return int(bare[1])
    choices = pending.shop_choices
    if choices is None:
        return None
    candidates = choices[2]
    if reply.shop_choices is not None:  # a shorter name again shared: the shops both name
        common = [s for s in candidates if s in reply.shop_choices[2]]
        if len(common) == 1:
            return common[0].merchant_id
    number = _ordinal(reply.norm)
    if number is not None:
        return candidates[number - 1].merchant_id if number <= len(candidates) else None
    tokens = _PICK_TOKEN.findall(_PICK_FILLER.sub(" ", canonical(reply.question)))
    matching = {s.merchant_id for s in candidates for t in tokens if t in canonical(s.name)}
    return matching.pop() if len(matching) == 1 else None


def shop_reply(last_turn: Any, reply: Understanding) -> str | None:
    """The question a clarifying "which shop?" (``last_turn``) left pending, completed with the
    shop the reply names ("店铺id是179" after "我们店上个月卖了多少" → 我们店上个月卖了多少
    商户179), or None when the reply is a question of its own (it names a metric, a dimension,
    a value or a segment) or the last turn asked something else."""
    pending = getattr(last_turn, "pending", None)
    if getattr(getattr(last_turn, "plan", None), "intent", None) != "clarify" or not hasattr(pending, "shop_choices"):
        return None
    pending = cast("Understanding", pending)  # the understanding a clarification was asked about
    if not asks_which_shop(pending):
        return None
    others = [f for f in reply.extra_filters if f.dimension != "merchant_id"]
    if reply.metrics or reply.group_dims or others or reply.copy or reply.why or reply.definition_strong:
        return None
    if reply.values and pending.shop_choices is None:
        return None
    merchant_id = _picked(pending, reply)
    if merchant_id is None:
        return None
    language = pending.language
    if pending.shop_choices is not None:
        _, (start, end), _ = pending.shop_choices
        question = pending.question[:start] + reference(merchant_id, language) + pending.question[end:]
    else:
        question = pending.question.rstrip() + reference(merchant_id, language)
    return question.strip()


__all__ = ["NAMES_KEY", "MerchantNames", "Shop", "ShopHit", "asks_which_shop", "canonical", "describe", "listed",
           "read_merchant_names", "reference", "shop_reply", "which_shop_plan",
           "without_shop_words"]
