"""Round trip: random valid ``SemanticQuery`` → Chinese/English wording → offline plan.

Issue 16 §4 asks for a check that does not flatter: sample valid queries from the semantic
layer, say each one the way a person would (labels and synonyms of the layer, several word
orders, a share of typos), plan the words back with the offline planner and compare what
came back with what was sampled.

- ``Sampler`` draws a :class:`Spec` (a metric; optionally a dimension the metric can be
  broken down by — :class:`~chatbi.planner.compat.Compatibility` —, a filter on one of the
  warehouse's real dimension values, a time phrase whose dates are fixed here, top/bottom
  N, a monthly grain) and turns it into a ``SemanticQuery`` that compiles.
- ``Renderer`` words a spec in ``zh`` or ``en`` from the layer's labels and synonyms with
  several templates; ``typo`` swaps or drops a letter of an English word, or replaces one
  character of a Chinese word by a common character with the same toneless pinyin
  (``pypinyin``; skipped when it is not installed).
- ``compare`` puts a plan in one of four outcomes: ``match``; ``mismatch`` (a query that
  differs in metrics, dimensions, filters, time range, grain, ranking or limit — a confident
  wrong); ``clarified`` / ``refused`` (not wrong, not matched).

The wording is written from the layer's words, not from the planner's rules: a mismatch is
a finding about the planner (or the layer's synonyms), never tuned away here.

``python -m chatbi.eval.roundtrip --db PATH --n 500 --seed 1 [--typo-share 0.3] [--json]``
(also ``chatbi eval-roundtrip``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from chatbi.semantic.models import Dimension, Metric, SemanticLayer
from chatbi.semantic.query import Filter, OrderBy, SemanticQuery, TimeRange

CONSTRUCTIONS = ("total", "breakdown", "top", "trend")
OUTCOMES = ("match", "mismatch", "clarified", "refused", "error")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_ASCII_WORD = re.compile(r"[A-Za-z]{4,}")
# synonyms that are question fragments rather than names (多少用户, 几线城市, 是否用券)
_NOT_A_NAME = re.compile(r"多少|几|是否|变化|分布")


# ====================================================================== time phrases
@dataclass(frozen=True)
class TimePhrase:
    """A time expression with the dates it means and how it is said in each language."""

    key: str
    start: date
    end: date
    zh: tuple[str, ...]
    en: tuple[str, ...]
    long: bool = False  # spans several months (fit for a monthly trend)


_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_ZH_QUARTERS = ("一", "二", "三", "四")


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def time_phrases(as_of: date, rng: random.Random | None = None) -> list[TimePhrase]:
    """The time phrases the generator uses, with their dates relative to ``as_of``.

    Only phrases whose meaning is not in doubt: calendar months, quarters and years
    (weeks start on Monday), "this …" running up to the as-of date; absolute months,
    quarters and years only when they are over.
    """
    rng = rng or random.Random(0)
    y, m = as_of.year, as_of.month
    out: list[TimePhrase] = []
    lm_end = date(y, m, 1) - timedelta(days=1)
    out.append(TimePhrase("last_month", lm_end.replace(day=1), lm_end,
                          ("上个月", "上月"), ("last month", "the previous month")))
    out.append(TimePhrase("this_month", date(y, m, 1), as_of, ("本月", "这个月"), ("this month",)))
    out.append(TimePhrase("this_year", date(y, 1, 1), as_of, ("今年", "本年"), ("this year",), long=m >= 3))
    out.append(TimePhrase("last_year", date(y - 1, 1, 1), date(y - 1, 12, 31), ("去年",), ("last year",), long=True))
    q = (m - 1) // 3  # 0-based current quarter
    lq_year, lq = (y, q - 1) if q > 0 else (y - 1, 3)
    out.append(TimePhrase("last_quarter", date(lq_year, 3 * lq + 1, 1), _month_end(lq_year, 3 * lq + 3),
                          ("上个季度", "上季度"), ("last quarter", "the previous quarter"), long=True))
    monday = as_of - timedelta(days=as_of.weekday())
    out.append(TimePhrase("last_week", monday - timedelta(days=7), monday - timedelta(days=1),
                          ("上周", "上个星期"), ("last week",)))
    year = y - 1 - rng.randrange(2)
    out.append(TimePhrase("year", date(year, 1, 1), date(year, 12, 31), (f"{year}年", f"{year}年全年"),
                          (f"in {year}", f"{year}"), long=True))
    # a finished month of the last 18 months, not the last one (that is 上个月)
    back = rng.randrange(2, 18)
    mm, yy = m - back, y
    while mm <= 0:
        mm, yy = mm + 12, yy - 1
    out.append(TimePhrase("month", date(yy, mm, 1), _month_end(yy, mm), (f"{yy}年{mm}月",),
                          (f"{_EN_MONTHS[mm - 1]} {yy}", f"in {_EN_MONTHS[mm - 1]} {yy}")))
    # a finished quarter before the last one
    qq, qy = lq - 1 - rng.randrange(3), lq_year
    while qq < 0:
        qq, qy = qq + 4, qy - 1
    out.append(TimePhrase("quarter", date(qy, 3 * qq + 1, 1), _month_end(qy, 3 * qq + 3),
                          (f"{qy}年第{_ZH_QUARTERS[qq]}季度", f"{qy}年Q{qq + 1}"),
                          (f"Q{qq + 1} {qy}", f"in Q{qq + 1} {qy}"), long=True))
    return out


# ====================================================================== spec and sampler
@dataclass(frozen=True)
class Spec:
    """What a sampled question asks, in the layer's names (rendered and compiled from here)."""

    construction: str  # total | breakdown | top | trend
    metric: str
    dimension: str | None = None  # group by
    filter_dim: str | None = None
    filter_value: str | None = None
    filter_tag: bool = False  # a tag dimension: has_tag
    time: TimePhrase | None = None
    top_n: int | None = None
    descending: bool = True
    grain: str | None = None  # month

    def query(self) -> SemanticQuery:
        filters = []
        if self.filter_dim is not None:
            filters.append(Filter(dimension=self.filter_dim, op="has_tag" if self.filter_tag else "eq",
                                  value=self.filter_value))
        time_range = None
        if self.time is not None:
            time_range = TimeRange(start=self.time.start, end=self.time.end, label=self.time.key)
        order_by = [OrderBy(field=self.metric, descending=self.descending)] if self.top_n else []
        return SemanticQuery(metrics=[self.metric], dimensions=[self.dimension] if self.dimension else [],
                             filters=filters, time_range=time_range, grain=self.grain,  # type: ignore[arg-type]
                             order_by=order_by, limit=self.top_n)

    def features(self) -> list[str]:
        out = []
        if self.filter_dim:
            out.append("filter")
        if self.time:
            out.append("time")
        if self.dimension:
            out.append("dimension")
        return out


class Sampler:
    """Draws valid specs from a semantic layer and the warehouse's dimension values."""

    def __init__(self, layer: SemanticLayer, values: Mapping[str, Sequence[Any]], as_of: date,
                 rng: random.Random, *, check: Callable[[SemanticQuery], bool] | None = None,
                 metrics: Sequence[str] | None = None):
        from chatbi.planner.compat import Compatibility
        from chatbi.semantic.catalog import Catalog

        self.layer = layer
        self.rng = rng
        self.as_of = as_of
        self.catalog = Catalog(layer)
        self.compat = Compatibility(layer)
        self.check = check
        self.dims: dict[str, Dimension] = {d.name: d for _, d in layer.all_dimensions()}
        self.values = {k: [str(v) for v in vs] for k, vs in values.items()
                       if vs and k in self.dims and not self.dims[k].pii}
        self.metrics = list(metrics) if metrics else [m.name for m in layer.metrics]
        self.times = time_phrases(as_of, random.Random(rng.random()))
        self.rejected = 0

    # -------------------------------------------------------------- building blocks
    def usable_dims(self, metric: str) -> list[str]:
        """Dimensions with known values that can break ``metric`` down (no personal data)."""
        return [name for name in self.values if self.compat.can_use(metric, name)
                and self.dims[name].type != "time"]

    def has_month(self, metric: str) -> bool:
        td = self.catalog.time_dimension_for(metric)
        if not td or td not in self.dims:
            return False
        grains = self.dims[td].grains
        return not grains or "month" in grains

    def sample(self) -> Spec:
        """One valid spec (resampled until it compiles when a ``check`` was given)."""
        for _ in range(200):
            spec = self._draw()
            if spec is not None and (self.check is None or self.check(spec.query())):
                return spec
            self.rejected += 1
        raise RuntimeError("could not sample a valid query in 200 tries")

    def _draw(self) -> Spec | None:
        rng = self.rng
        metric = rng.choice(self.metrics)
        timed = self.catalog.time_dimension_for(metric) is not None
        dims = self.usable_dims(metric)
        group_dims = [d for d in dims if self.dims[d].type == "categorical"]
        choices = ["total"] + (["breakdown", "top"] if group_dims else []) + (["trend"] if self.has_month(metric) else [])
        construction = rng.choice(choices)
        dimension = None
        top_n = None
        descending = True
        grain = None
        if construction in ("breakdown", "top"):
            dimension = rng.choice(group_dims)
        if construction == "top":
            top_n = rng.randint(3, 10)
            descending = rng.random() < 0.6
        if construction == "trend":
            grain = "month"
            if group_dims and rng.random() < 0.25:
                dimension = rng.choice(group_dims)
        filter_dim = filter_value = None
        tag = False
        if rng.random() < 0.5:
            options = [d for d in dims if d != dimension]
            if options:
                filter_dim = rng.choice(options)
                filter_value = rng.choice(self.values[filter_dim])
                tag = self.dims[filter_dim].type == "tag"
        phrase = None
        if timed and (construction == "trend" or rng.random() < 0.6):
            pool = [t for t in self.times if t.long] if construction == "trend" else self.times
            if construction != "trend" or rng.random() < 0.8:
                phrase = rng.choice(pool)
        return Spec(construction=construction, metric=metric, dimension=dimension,
                    filter_dim=filter_dim, filter_value=filter_value, filter_tag=tag, time=phrase,
                    top_n=top_n, descending=descending, grain=grain)


# ====================================================================== typos
def english_typo(word: str, rng: random.Random) -> str:
    """Swap two neighbouring letters or drop one (never the first letter)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]] | None:
    """Toneless pinyin → common characters with that reading, most frequent first.

    Frequencies are jieba's single-character dictionary counts, so a substitute is what a
    pinyin input method offers near the top. None when pypinyin (or jieba) is missing.
    """
    try:
        import jieba
        from pypinyin import Style, pinyin
    except ImportError:
        return None
    freq: dict[str, int] = {}
    dict_path = Path(jieba.__file__).parent / "dict.txt"
    with dict_path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) >= 2 and len(parts[0]) == 1 and _CJK.match(parts[0]):
                freq[parts[0]] = int(parts[1])
    table: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for ch, count in freq.items():
        if count < 500 or not _in_gb2312(ch):  # common simplified characters only
            continue
        reading = pinyin(ch, style=Style.NORMAL, heteronym=False)[0][0]  # the usual reading only
        table[reading].append((count, ch))
    return {k: [ch for _, ch in sorted(v, reverse=True)] for k, v in table.items()}


def chinese_homophone(word: str, rng: random.Random, top: int = 6) -> str | None:
    """Replace one character of a 2+ character Chinese run by a frequent character with the
    same toneless pinyin (大区 → 大曲); None when there is none or pypinyin is missing."""
    table = _homophones()
    if table is None:
        return None
    from pypinyin import Style, pinyin

    spots = [(m.start() + i) for m in _CJK_RUN.finditer(word) for i in range(m.end() - m.start())]
    rng.shuffle(spots)
    for pos in spots:
        ch = word[pos]
        readings = [r for r in pinyin(ch, style=Style.NORMAL, heteronym=False)[0]]
        pool = [c for r in readings for c in table.get(r, [])[:top] if c != ch]
        if pool:
            return word[:pos] + rng.choice(pool) + word[pos + 1:]
    return None


def pypinyin_available() -> bool:
    return _homophones() is not None


# ====================================================================== rendering
@dataclass
class Rendered:
    question: str
    language: str
    typo: str | None = None  # "大区 → 大曲" when one was made


_ZH_NUM = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十")


def _plural(word: str) -> str:
    if not word.isascii() or not word or word[-1] == "s":
        return word
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("x", "ch", "sh")):
        return word + "es"
    return word + "s"


def _tidy(text: str, language: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if language == "zh":
        text = re.sub(r"(?<=[\u4e00-\u9fff，]) (?=[\u4e00-\u9fff，])", "", text)
        text = re.sub(r"，\s*，", "，", text)
        text = re.sub(r"的的", "的", text)
        text = re.sub(r"^[，的\s]+|[，\s]+$", "", text)
        text = text.replace("，？", "？").replace("查一下的", "查一下")
    else:
        text = re.sub(r"\s+([,?])", r"\1", text)
        text = re.sub(r",\s*,", ",", text)
        text = re.sub(r"^[,\s]+|[,\s]+$", "", text)
    return text


class Renderer:
    """Says a spec the way a person would, from the semantic layer's words."""

    def __init__(self, layer: SemanticLayer, values: Mapping[str, Sequence[Any]], rng: random.Random):
        from chatbi.planner.compat import Compatibility

        self.layer = layer
        self.rng = rng
        self.compat = Compatibility(layer)
        self.dims: dict[str, Dimension] = {d.name: d for _, d in layer.all_dimensions()}
        self.metrics: dict[str, Metric] = {m.name: m for m in layer.metrics}
        self.values = {k: [str(v) for v in vs] for k, vs in values.items() if vs}
        self._owners: dict[str, set[str]] = defaultdict(set)
        for dim, vals in self.values.items():
            for v in vals:
                self._owners[v].add(dim)

    # -------------------------------------------------------------- words from the layer
    def _names(self, label: str, label_en: str | None, synonyms: Iterable[str], language: str) -> list[str]:
        if language == "zh":
            words = [s for s in synonyms if not s.isascii() and not _NOT_A_NAME.search(s)]
            return [label, *words]
        words = [s for s in synonyms if s.isascii()]
        return [label_en or label, *words]

    def _pick(self, names: list[str]) -> str:
        """The label half of the time, else any synonym."""
        if len(names) == 1 or self.rng.random() < 0.5:
            return names[0]
        return self.rng.choice(names[1:])

    def metric_word(self, name: str, language: str) -> str:
        m = self.metrics[name]
        return self._pick(self._names(m.label, m.label_en, m.synonyms, language))

    def dim_word(self, name: str, language: str) -> str:
        d = self.dims[name]
        return self._pick(self._names(d.label, d.label_en, d.synonyms, language))

    def value_word(self, dim: str, value: str, language: str) -> str:
        labels = self.dims[dim].value_labels or {}
        label = labels.get(value) or labels.get(str(value))
        if language == "zh" and label and self.rng.random() < 0.6:
            return str(label)
        return value

    def needs_dimension(self, metric: str, dim: str, value: str) -> bool:
        """Name the dimension when the bare value would not say which one (华东: buyer's or
        merchant's region) or says nothing on its own (3, 0-99)."""
        owners = {d for d in self._owners.get(value, ()) if self.compat.can_use(metric, d)}
        if owners - {dim}:
            return True
        return not _CJK.search(value)  # codes (sold, app, 3, 0-99) say nothing on their own

    # -------------------------------------------------------------- phrases
    def filter_phrase(self, spec: Spec, language: str, slots: list[str]) -> str:
        if spec.filter_dim is None or spec.filter_value is None:
            return ""
        value = self.value_word(spec.filter_dim, spec.filter_value, language)
        if len(value) > 10 and _CJK.search(value):  # a name (campaign): quoted, as people paste it
            value = f"「{value}」" if language == "zh" else f'"{value}"'
        named = self.needs_dimension(spec.metric, spec.filter_dim, spec.filter_value) or self.rng.random() < 0.4
        dim = self.dim_word(spec.filter_dim, language) if named else ""
        if dim:
            slots.append(dim)
        if _CJK.search(value) and len(value) <= 10:
            slots.append(value)
        rng = self.rng
        if language == "zh":
            if spec.filter_tag:
                return rng.choice([f"{dim}为{value}的" if dim else f"{value}", f"带{value}{dim or '标签'}的"])
            if not dim:
                return value
            forms = [f"{dim}为{value}的", f"{dim}是{value}的", f"{dim}{value}"]
            if _CJK.search(value):
                forms.append(f"{value}{dim}")
            return rng.choice(forms)
        if spec.filter_tag:
            return rng.choice([f"with {dim or 'tag'} {value}", f"tagged {value}"])
        if not dim:
            return rng.choice([f"for {value}", f"in {value}"])
        return rng.choice([f"where {dim} is {value}", f"for {dim} {value}", f"with {dim} {value}",
                           f"where {dim} = {value}"])

    def render(self, spec: Spec, language: str, typo_share: float = 0.0) -> Rendered:
        rng = self.rng
        slots: list[str] = []
        m = self.metric_word(spec.metric, language)
        slots.append(m)
        d = self.dim_word(spec.dimension, language) if spec.dimension else ""
        if d:
            slots.append(d)
        f = self.filter_phrase(spec, language, slots)
        t = rng.choice(getattr(spec.time, language)) if spec.time else ""
        if language == "zh":  # keep 2026年Q1 and 35-39岁 apart, as anyone typing would
            t = t + " " if t[-1:].isascii() and t[-1:].isalnum() else t
            f = f + " " if f[-1:].isascii() and f[-1:].isalnum() else f
        n = spec.top_n or 0
        text = (self._zh if language == "zh" else self._en)(spec, m, d, f, t, n)
        text = _tidy(text, language)
        typo = None
        if typo_share > 0 and rng.random() < typo_share:
            text, typo = self._typo(text, slots, language)
        return Rendered(question=text, language=language, typo=typo)

    def _typo(self, text: str, slots: list[str], language: str) -> tuple[str, str | None]:
        rng = self.rng
        order = list(dict.fromkeys(s for s in slots if s and s in text))
        rng.shuffle(order)
        for slot in order:
            changed = None
            if language == "zh" and _CJK_RUN.search(slot):
                changed = chinese_homophone(slot, rng)
            if changed is None and _ASCII_WORD.search(slot):
                words = _ASCII_WORD.findall(slot)
                word = rng.choice(words)
                new = english_typo(word, rng)
                if new != word:
                    changed = slot.replace(word, new, 1)
            if changed and changed != slot:
                return text.replace(slot, changed, 1), f"{slot} → {changed}"
        return text, None

    # -------------------------------------------------------------- templates
    def _zh(self, spec: Spec, m: str, d: str, f: str, t: str, n: int) -> str:
        rng = self.rng
        if spec.construction == "total":
            return rng.choice([
                f"{t}{f}的{m}", f"{t}{f}{m}是多少", f"{f}{t}的{m}是多少？", f"{m}，{t}，{f}",
                f"{f}{m} {t}", f"查一下{t}{f}的{m}", f"{t}{f}{m}多少",
            ])
        if spec.construction == "breakdown":
            return rng.choice([
                f"{t}{f}各{d}的{m}", f"按{d}看{t}{f}的{m}", f"{t}{f}{m}按{d}分", f"{f}不同{d}的{m} {t}",
                f"{f}{m}分{d}统计，{t}", f"{t}{f}每个{d}的{m}是多少", f"{f}{m}，按{d}拆分，{t}",
            ])
        if spec.construction == "top":
            num = rng.choice([str(n), _ZH_NUM[n]]) if n <= 10 else str(n)
            if spec.descending:
                return rng.choice([
                    f"{t}{f}{m}最高的{num}个{d}", f"{t}{f}{m}排名前{num}的{d}", f"{f}{d}{m}前{num}名 {t}",
                    f"{t}{f}{m} top{n} 的{d}", f"{f}{t}哪{num}个{d}的{m}最高",
                ])
            return rng.choice([
                f"{t}{f}{m}最低的{num}个{d}", f"{f}{m}倒数{num}的{d} {t}", f"{t}{f}{d}里{m}最低的{num}个",
                f"{f}{t}哪{num}个{d}的{m}最低", f"{t}{f}{m}排名后{num}的{d}",
            ])
        # trend
        if d:
            return rng.choice([f"{t}{f}各{d}每月的{m}", f"按月按{d}看{f}{m} {t}", f"{t}{f}{m}按{d}按月拆分"])
        return rng.choice([
            f"{t}{f}每月的{m}", f"{t}{f}{m}按月趋势", f"{f}{m}月度走势 {t}", f"{t}每个月{f}的{m}",
            f"按月看{t}{f}{m}", f"{t}{f}{m}的月度变化",
        ])

    def _en(self, spec: Spec, m: str, d: str, f: str, t: str, n: int) -> str:
        rng = self.rng
        ds = _plural(d)
        if spec.construction == "total":
            return rng.choice([
                f"{m} {f} {t}", f"what was the {m} {f} {t}?", f"{t}, {m} {f}", f"show me {m} {f} {t}",
                f"{m} {t} {f}",
            ])
        if spec.construction == "breakdown":
            return rng.choice([
                f"{m} by {d} {f} {t}", f"{t} {m} per {d} {f}", f"break down {m} by {d} {t} {f}",
                f"{m} for each {d} {f} {t}", f"show {m} split by {d} {f} {t}",
            ])
        if spec.construction == "top":
            if spec.descending:
                return rng.choice([
                    f"top {n} {ds} by {m} {f} {t}", f"which {n} {ds} had the highest {m} {f} {t}?",
                    f"{t} top {n} {ds} by {m} {f}", f"{n} {ds} with the highest {m} {f} {t}",
                ])
            return rng.choice([
                f"bottom {n} {ds} by {m} {f} {t}", f"which {n} {ds} had the lowest {m} {f} {t}?",
                f"{n} {ds} with the lowest {m} {f} {t}", f"{t} lowest {n} {ds} by {m} {f}",
            ])
        if d:
            return rng.choice([f"monthly {m} by {d} {f} {t}", f"{m} by {d} and month {f} {t}"])
        return rng.choice([
            f"monthly {m} {f} {t}", f"{m} by month {f} {t}", f"{m} trend per month {f} {t}",
            f"month by month {m} {f} {t}", f"{m} each month {f} {t}",
        ])


# ====================================================================== comparison
def _filters(query: SemanticQuery) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    for f in query.filters:
        if f.op == "ne" and f.value is None:
            continue  # a ranking leaving out rows without a group: the same question
        op: str = f.op
        value = f.value
        if isinstance(value, (list, tuple)):
            if len(value) == 1 and op in ("in", "not_in"):
                op, value = ("eq" if op == "in" else "ne"), value[0]
            else:
                value = tuple(sorted(str(v) for v in value))
        out.add((f.dimension, op, str(value)))
    return out


def _span(query: SemanticQuery) -> tuple[date, date] | None:
    return (query.time_range.start, query.time_range.end) if query.time_range else None


def _show(span: tuple[date, date] | None) -> str:
    return f"{span[0]}..{span[1]}" if span else "none"


def _entity_names(dims: set[str]) -> set[str]:
    """campaign_id + campaign_name group exactly like campaign_name: the id is how an
    entity list is keyed, not another breakdown."""
    return {d for d in dims if not (d.endswith("_id") and d[:-3] + "_name" in dims)}


def compare(expected: SemanticQuery, plan: Any, time_dims: Iterable[str] = (),
            equivalent: Callable[[SemanticQuery, SemanticQuery], bool] | None = None) -> tuple[str, list[str]]:
    """(outcome, what differs): ``match`` / ``mismatch`` / ``clarified`` / ``refused``.

    Compared: metrics, dimensions (time dimensions aside: the grain says those), filters
    (dimension, op, value), the time range's dates, grain, period comparison, share of total,
    the ranking direction and the limit. When only the filters differ, as many on each side,
    and ``equivalent`` says both queries give the same rows (an age band said as an age
    range), it is a match (the difference is kept, marked ``equivalent``).
    """
    intent = getattr(plan, "intent", None)
    if intent == "clarify":
        return "clarified", []
    if intent == "refuse":
        return "refused", []
    got: SemanticQuery | None = getattr(plan, "query", None)
    if intent != "query" or got is None:
        return "mismatch", [f"intent {intent}"]
    skip = set(time_dims)
    diffs: list[str] = []
    if sorted(got.metrics) != sorted(expected.metrics):
        diffs.append(f"metrics {got.metrics} ≠ {expected.metrics}")
    got_dims = _entity_names({d for d in got.dimensions if d not in skip})
    exp_dims = _entity_names({d for d in expected.dimensions if d not in skip})
    if got_dims != exp_dims:
        diffs.append(f"dimensions {sorted(got_dims)} ≠ {sorted(exp_dims)}")
    if _filters(got) != _filters(expected):
        diffs.append(f"filters {sorted(_filters(got))} ≠ {sorted(_filters(expected))}")
    if _span(got) != _span(expected):
        diffs.append(f"time {_show(_span(got))} ≠ {_show(_span(expected))}")
    if got.grain != expected.grain:
        diffs.append(f"grain {got.grain} ≠ {expected.grain}")
    if got.comparison != expected.comparison:
        diffs.append(f"comparison {got.comparison} ≠ {expected.comparison}")
    if got.share_of_total != expected.share_of_total:
        diffs.append("share of total")
    if got.limit != expected.limit:
        diffs.append(f"limit {got.limit} ≠ {expected.limit}")
    if expected.order_by:
        want = expected.order_by[0]
        have = got.order_by[0] if got.order_by else None
        if have is None or have.field != want.field or have.descending != want.descending:
            shown = f"{have.field} {'desc' if have.descending else 'asc'}" if have else "none"
            diffs.append(f"order {shown} ≠ {want.field} {'desc' if want.descending else 'asc'}")
    if (diffs and equivalent is not None and all(d.startswith("filters ") for d in diffs)
            and len(got.filters) == len(expected.filters)):  # a dropped or added filter never is
        if equivalent(expected, got):
            return "match", [f"equivalent {d}" for d in diffs]
    return ("match" if not diffs else "mismatch"), diffs


def diff_kinds(diffs: Iterable[str]) -> list[str]:
    return [d.split(" ", 1)[0] for d in diffs]


# ====================================================================== running
@dataclass
class Case:
    index: int
    question: str
    language: str
    construction: str
    features: list[str]
    typo: str | None
    expected: SemanticQuery
    outcome: str = ""
    diffs: list[str] = field(default_factory=list)
    planned: SemanticQuery | None = None
    intent: str | None = None
    message: str | None = None
    plan_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "question": self.question, "language": self.language,
            "construction": self.construction, "features": self.features, "typo": self.typo,
            "outcome": self.outcome, "diffs": self.diffs, "intent": self.intent,
            "message": self.message, "plan_ms": round(self.plan_ms, 2),
            "expected": self.expected.model_dump(mode="json", exclude_defaults=True),
            "planned": self.planned.model_dump(mode="json", exclude_defaults=True) if self.planned else None,
        }


def _rates(cases: Sequence[Case]) -> dict[str, Any]:
    counts = Counter(c.outcome for c in cases)
    total = len(cases)
    out: dict[str, Any] = {"n": total}
    for outcome in OUTCOMES:
        out[outcome] = counts.get(outcome, 0)
    out["match_rate"] = round(counts["match"] / total, 4) if total else None
    out["mismatch_rate"] = round(counts["mismatch"] / total, 4) if total else None
    return out


def summarize(cases: Sequence[Case], *, seed: int, typo_share: float, as_of: date,
              db: str | None = None, examples: int = 12, rejected: int = 0) -> dict[str, Any]:
    """The report: overall rates, per language / typo / construction / feature, examples."""
    def group(key: Callable[[Case], Iterable[str]]) -> dict[str, Any]:
        buckets: dict[str, list[Case]] = defaultdict(list)
        for c in cases:
            for k in key(c):
                buckets[k].append(c)
        return {k: _rates(v) for k, v in sorted(buckets.items())}

    times = sorted(c.plan_ms for c in cases)
    mismatches = [c for c in cases if c.outcome == "mismatch"]
    clarified = [c for c in cases if c.outcome in ("clarified", "refused")]
    return {
        "db": db, "as_of": as_of.isoformat(), "seed": seed, "typo_share": typo_share,
        "pypinyin": pypinyin_available(), "rejected_samples": rejected,
        "overall": _rates(cases),
        "by_language": group(lambda c: [c.language]),
        "by_typo": group(lambda c: ["typo" if c.typo else "no_typo"]),
        "by_language_typo": group(lambda c: [f"{c.language}/{'typo' if c.typo else 'no_typo'}"]),
        "by_construction": group(lambda c: [c.construction]),
        "by_feature": group(lambda c: c.features or ["none"]),
        "mismatch_kinds": dict(Counter(k for c in mismatches for k in set(diff_kinds(c.diffs))).most_common()),
        "plan_ms": {"p50": times[len(times) // 2] if times else None,
                    "p95": times[min(len(times) - 1, int(len(times) * 0.95))] if times else None},
        "mismatch_examples": [c.to_dict() for c in mismatches[:examples]],
        "clarified_examples": [c.to_dict() for c in clarified[: max(3, examples // 3)]],
        "cases": [c.to_dict() for c in cases],
    }


def run_roundtrip(layer: SemanticLayer, values: Mapping[str, Sequence[Any]], planner: Any, as_of: date,
                  *, n: int = 500, seed: int = 1, typo_share: float = 0.3, zh_share: float = 0.5,
                  check: Callable[[SemanticQuery], bool] | None = None,
                  equivalent: Callable[[SemanticQuery, SemanticQuery], bool] | None = None,
                  db: str | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Sample ``n`` queries, word them, plan them back, and return the report (a dict)."""
    rng = random.Random(seed)
    sampler = Sampler(layer, values, as_of, random.Random(rng.random()), check=check)
    renderer = Renderer(layer, values, random.Random(rng.random()))
    time_dims = {d.name for _, d in layer.all_dimensions() if d.type == "time"}
    cases: list[Case] = []
    for i in range(n):
        spec = sampler.sample()
        language = "zh" if rng.random() < zh_share else "en"
        words = renderer.render(spec, language, typo_share)
        expected = spec.query()
        case = Case(index=i, question=words.question, language=language, construction=spec.construction,
                    features=spec.features(), typo=words.typo, expected=expected)
        started = time.perf_counter()
        try:
            plan = planner.plan(words.question, as_of=as_of)
        except Exception as exc:  # noqa: BLE001 - a crash is an outcome of its own
            case.outcome, case.diffs = "error", [f"{type(exc).__name__}: {exc}"]
        else:
            case.outcome, case.diffs = compare(expected, plan, time_dims, equivalent)
            case.planned, case.intent, case.message = plan.query, plan.intent, plan.message
        case.plan_ms = (time.perf_counter() - started) * 1000
        cases.append(case)
        if progress is not None:
            progress(i + 1, n)
    return summarize(cases, seed=seed, typo_share=typo_share, as_of=as_of, db=db, rejected=sampler.rejected)


def compile_check(layer: SemanticLayer, as_of: date) -> Callable[[SemanticQuery], bool]:
    """A sampled query is valid when the compiler accepts it."""
    from chatbi.errors import ChatBIError
    from chatbi.semantic.compiler import compile_query

    def ok(query: SemanticQuery) -> bool:
        try:
            compile_query(query, layer, as_of=as_of)
        except ChatBIError:
            return False
        return True

    return ok


def same_rows(layer: SemanticLayer, executor: Any, as_of: date) -> Callable[[SemanticQuery, SemanticQuery], bool]:
    """Two queries are equivalent when both run and give the same non-empty rows."""
    from chatbi.semantic.compiler import compile_query
    from chatbi.sql.engines import dialect_of

    def rows(query: SemanticQuery) -> list[tuple[str, ...]]:
        compiled = compile_query(query, layer, as_of=as_of, dialect=dialect_of(executor))  # for the engine
        result = executor.run(compiled.sql, max_rows=5000)
        return sorted(tuple(repr(round(v, 6)) if isinstance(v, float) else repr(v) for v in row)
                      for row in result.rows)

    def equivalent(a: SemanticQuery, b: SemanticQuery) -> bool:
        try:
            left, right = rows(a), rows(b)
        except Exception:  # noqa: BLE001 - a query that does not run is not equivalent
            return False
        return bool(left) and left == right

    return equivalent


def run_on_pipeline(pipeline: Any, **kwargs: Any) -> dict[str, Any]:
    """Round trip against a pipeline's layer and warehouse values, with the offline planner
    built as the pipeline builds it (whatever ``CHATBI_PLANNER`` says)."""
    from chatbi.planner.offline import OfflinePlanner

    values = pipeline.dimension_values()
    as_of = pipeline.default_as_of()
    planner = OfflinePlanner(pipeline.layer, values)
    return run_roundtrip(pipeline.layer, values, planner, as_of,
                         check=compile_check(pipeline.layer, as_of),
                         equivalent=same_rows(pipeline.layer, pipeline.executor, as_of), **kwargs)


# ====================================================================== text report
def format_report(report: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    def row(name: str, r: dict[str, Any]) -> str:
        return (f"  {name:<22} n={r['n']:<4} match {pct(r['match_rate']):>6}  mismatch {pct(r['mismatch_rate']):>6}"
                f"  clarified {r['clarified']:<3} refused {r['refused']:<3} error {r['error']}")

    lines = [f"round trip on {report['db']} (as of {report['as_of']}, seed {report['seed']}, "
             f"typo share {report['typo_share']}, pypinyin {'yes' if report['pypinyin'] else 'no'})",
             row("overall", report["overall"])]
    for key in ("by_language", "by_typo", "by_language_typo", "by_construction", "by_feature"):
        lines.append(key.replace("_", " ") + ":")
        lines += [row(name, r) for name, r in report[key].items()]
    lines.append(f"mismatch kinds: {report['mismatch_kinds']}")
    lines.append(f"planning ms p50 {report['plan_ms']['p50']:.1f}, p95 {report['plan_ms']['p95']:.1f}")
    lines.append("mismatch examples:")
    for c in report["mismatch_examples"]:
        lines.append(f"  [{c['language']}/{c['construction']}{'/typo ' + c['typo'] if c['typo'] else ''}] {c['question']}")
        lines += [f"      {d}" for d in c["diffs"]]
    return "\n".join(lines)


def roundtrip_command(db: str | Path | None, n: int = 500, seed: int = 1, typo_share: float = 0.3,
                      as_json: bool = False, out_path: str | Path | None = None, *, out: Any = None,
                      err: Any = None) -> int:
    """The CLI: run, print the text report (or JSON), optionally write the JSON to a file."""
    from chatbi.answer.pipeline import Pipeline
    from chatbi.config import Settings
    from chatbi.errors import ChatBIError

    out = out or sys.stdout
    err = err or sys.stderr
    settings = Settings.from_env(db_path=db)
    if settings.engine == "duckdb" and not Path(settings.db_path).is_file():  # other engines: no file
        err.write(f"仓库文件不存在 / warehouse not found: {settings.db_path}\n")
        return 2
    settings = replace(settings, planner="offline", openai_api_key=None)
    pipeline = Pipeline(settings)
    try:
        report = run_on_pipeline(pipeline, n=n, seed=seed, typo_share=typo_share, db=str(settings.db_path))
    except ChatBIError as exc:
        err.write(exc.message + "\n")
        return exc.exit_code
    finally:
        pipeline.close()
    if out_path:
        Path(out_path).write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n",
                                  encoding="utf-8")
    if as_json:
        out.write(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        out.write(format_report(report) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatbi.eval.roundtrip", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="warehouse file (default: $CHATBI_DB, else data/warehouse.duckdb)")
    parser.add_argument("--n", type=int, default=500, help="number of sampled queries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--typo-share", type=float, default=0.3, help="share of questions given one typo")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", default=None, help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    return roundtrip_command(args.db, args.n, args.seed, args.typo_share, args.json, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
