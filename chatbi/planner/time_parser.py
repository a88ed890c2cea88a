"""Time expressions in Chinese and English, resolved against the as-of date.

``parse_time("上个季度华东的GMV", date(2026, 9, 30))`` gives the range 2026-04-01 ..
2026-06-30 labelled ``上个季度``. Weeks start on Monday, quarters are calendar quarters, a
period that contains the as-of date ends on it (本月, 今年, YTD), and a period named without
a year (3月, Q3, 双11, 下半年) is the most recent one that has started.

Rules are ordered data: (compiled regex, resolver). All candidates are collected and the
longest wins, so 2025年第三季度 beats 2025年 and 近3个月 beats 3月. Comparison words
(同比, 环比, 比去年, MoM…) are found first and masked so 比去年 is not read as 去年.
Festival names and dates come from ``data/festivals.json``; several periods in one question
are read together by ``period_pairs``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable
from datetime import date, timedelta
from typing import Literal

from chatbi.planner import periods
from chatbi.planner.numbers import EN_NUM, NUM, to_int
from chatbi.planner.text import mask_spans, normalize
from chatbi.planner.types import TimeParse
from chatbi.semantic.query import ComparisonKind, Grain, TimeRange

__all__ = ["parse_time", "TimeParse", "TYPO_WORDS"]

_Resolved = tuple[date, date, Grain | None]
_Resolver = Callable[[re.Match[str], date], _Resolved | None]

# ---------------------------------------------------------------- vocabulary
_REL_YEAR = {
    "今年": 0, "本年": 0, "今年度": 0, "去年": -1, "上一年": -1, "上年": -1, "前年": -2, "大前年": -3,
    "this year": 0, "current year": 0, "last year": -1, "previous year": -1, "prior year": -1,
    "the year before last": -2,
}
_CALENDAR_WORDS: dict[str, tuple[Grain, int]] = {
    "今天": ("day", 0), "今日": ("day", 0), "当天": ("day", 0), "today": ("day", 0),
    "昨天": ("day", -1), "昨日": ("day", -1), "yesterday": ("day", -1),
    "前天": ("day", -2), "the day before yesterday": ("day", -2),
    "本周": ("week", 0), "这周": ("week", 0), "这一周": ("week", 0), "本星期": ("week", 0),
    "这个星期": ("week", 0), "这星期": ("week", 0), "this week": ("week", 0), "current week": ("week", 0),
    "上周": ("week", -1), "上一周": ("week", -1), "上星期": ("week", -1), "上个星期": ("week", -1),
    "上个周": ("week", -1), "上个礼拜": ("week", -1), "last week": ("week", -1),
    "previous week": ("week", -1), "prior week": ("week", -1),
    "上上周": ("week", -2),
    "本月": ("month", 0), "这个月": ("month", 0), "这月": ("month", 0), "当月": ("month", 0),
    "this month": ("month", 0), "current month": ("month", 0),
    "上个月": ("month", -1), "上月": ("month", -1), "上一个月": ("month", -1), "上一月": ("month", -1),
    "last month": ("month", -1), "previous month": ("month", -1), "prior month": ("month", -1),
    "上上个月": ("month", -2), "上上月": ("month", -2),
    "本季度": ("quarter", 0), "这个季度": ("quarter", 0), "这季度": ("quarter", 0), "本季": ("quarter", 0),
    "当季": ("quarter", 0), "当前季度": ("quarter", 0), "this quarter": ("quarter", 0),
    "current quarter": ("quarter", 0),
    "上个季度": ("quarter", -1), "上季度": ("quarter", -1), "上一季度": ("quarter", -1),
    "上一个季度": ("quarter", -1), "上季": ("quarter", -1), "last quarter": ("quarter", -1),
    "previous quarter": ("quarter", -1), "prior quarter": ("quarter", -1),
    "上上个季度": ("quarter", -2),
    **{word: ("year", offset) for word, offset in _REL_YEAR.items()},
}
_TO_DATE_WORDS: dict[str, Grain] = {
    "今年以来": "year", "今年至今": "year", "年初至今": "year", "年初以来": "year", "本年至今": "year",
    "今年到现在": "year", "ytd": "year", "year to date": "year", "year-to-date": "year",
    "本月至今": "month", "本月以来": "month", "月初至今": "month", "月初以来": "month",
    "mtd": "month", "month to date": "month", "month-to-date": "month",
    "本季度至今": "quarter", "季初至今": "quarter", "本季度以来": "quarter", "qtd": "quarter",
    "quarter to date": "quarter", "quarter-to-date": "quarter",
    "本周至今": "week", "本周以来": "week", "wtd": "week", "week to date": "week",
}
_UNITS: dict[str, Grain] = {
    "天": "day", "日": "day", "周": "week", "星期": "week", "礼拜": "week", "月": "month",
    "季度": "quarter", "季": "quarter", "年": "year",
    "day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month",
    "months": "month", "quarter": "quarter", "quarters": "quarter", "year": "year", "years": "year",
}
# Festivals (618, 双11, 春节, black friday…): names and dates in data/festivals.json
_FESTIVAL_DATA = periods.festival_table()
_FESTIVALS: dict[str, str] = {
    normalize(name): key for key, spec in _FESTIVAL_DATA["festivals"].items() for name in spec["names"]
}
_FEST_DURING = frozenset(normalize(w) for w in _FESTIVAL_DATA["during"])
_FEST_DAY = frozenset(normalize(w) for w in _FESTIVAL_DATA["day"])
_EN_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
#: English time words long enough to be recognised when mistyped (monhtly → monthly, septmber →
#: september): the near matcher reads an unknown word one slip away as one of them, and says so.
#: Short words (week, year, may) are left out: too many other words are one letter from them.
TYPO_WORDS: tuple[str, ...] = (
    "daily", "weekly", "monthly", "quarterly", "yearly", "annually", "quarter", "quarters",
    "yesterday", "january", "february", "march", "april", "june", "july", "august", "september",
    "october", "november", "december",
)
_EN_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}

_COMPARISONS: list[tuple[str, ComparisonKind, Grain | None]] = [
    (r"同比|去年同期|上年同期|(?:比|较|相比|相较|对比|和|与|跟|vs\.?|versus)\s*(?:于)?\s*(?:去年|上一?年)(?:同期)?(?:相比|比较|比)?", "same_period_last_year", "year"),
    (r"\b(?:yoy|y/y|year[- ]over[- ]year|year[- ]on[- ]year)\b", "same_period_last_year", "year"),
    (r"\b(?:vs\.?|versus|compared (?:to|with)|against|and|with)?\s*(?:the\s+)?same (?:month|quarter|week|period|time|day|half) (?:of |in )?(?:last|the previous|previous|prior) year\b", "same_period_last_year", "year"),
    (r"\b(?:vs\.?|versus|compared (?:to|with)|than|relative to)\s+(?:the\s+)?(?:same period )?(?:of )?(?:last|previous|prior) year\b", "same_period_last_year", "year"),
    (r"环比|(?:比|较|相比|相较|对比|和|与|跟)\s*(?:于)?\s*(?:上一?期|上周|上一周|上个?月|上一个月|上个?季度|上一季度)(?:相比|比较|比)?", "previous_period", None),
    (r"\b(?:mom|m/m|month[- ]over[- ]month|month[- ]on[- ]month)\b", "previous_period", "month"),
    (r"\b(?:qoq|q/q|quarter[- ]over[- ]quarter|quarter[- ]on[- ]quarter)\b", "previous_period", "quarter"),
    (r"\b(?:w/w|wow%|week[- ]over[- ]week|week[- ]on[- ]week)\b", "previous_period", "week"),
    (r"\b(?:period[- ]over[- ]period|previous period|prior period)\b", "previous_period", None),
    (r"\b(?:vs\.?|versus|compared (?:to|with)|than|relative to)\s+(?:the\s+)?(?:last|previous|prior) (?:month|quarter|week|period)\b", "previous_period", None),
]
_COMPARISON_GRAIN_WORDS = {"月": "month", "季": "quarter", "周": "week", "month": "month", "quarter": "quarter", "week": "week"}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _words_pattern(words: Iterable[str]) -> str:
    """``(?P<w>…)`` over ``words``, longest first; English words need word boundaries and may
    carry a possessive (this year's, this years gmv)."""
    parts = (rf"\b{re.escape(w)}(?:'s|s)?\b" if w.isascii() else re.escape(w) for w in sorted(words, key=len, reverse=True))
    return "(?P<w>" + "|".join(parts) + ")"


# ---------------------------------------------------------------- fragments
_YEAR_ZH = rf"(?:(?P<y>(?:19|20)\d{{2}})\s*年(?:度)?|(?P<ry>{_alternation([w for w in _REL_YEAR if w.isascii() is False])}))"
_HALF = r"(?P<half>上半年|下半年|前半年|后半年|\bh[12]\b)"
_QUARTER = r"(?:第\s*(?P<q1>[一二三四1-4])\s*季度?|(?P<q2>[一二三四1-4])\s*季度|\bq(?P<q3>[1-4])\b)"
_MONTH_ZH = r"(?<!\d)(?P<mo>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月份?(?:\s*(?P<dd>[12]\d|3[01]|0?[1-9])\s*[日号])?"


def _festival_name_pattern(name: str) -> str:
    """A festival name: English words with word boundaries, a number (618) never inside a
    longer number or before a unit (618元)."""
    escaped = re.escape(name).replace(r"\ ", r"\s+")
    if name.isdigit():
        return rf"(?<![\d.]){escaped}(?![\d.]|\s*(?:元|块|单|件|个|人|次|号|天|%|万|千|百))"
    if name[0].isascii() and name[0].isalpha():
        escaped = r"\b" + escaped
    if name[-1].isascii() and name[-1].isalpha():
        escaped += r"\b"
    return escaped


def _fest_suffix(words: Iterable[str]) -> str:
    return "|".join(rf"{re.escape(w)}\b" if w.isascii() else re.escape(w) for w in sorted(words, key=len, reverse=True))


_FEST_NAMES = "|".join(_festival_name_pattern(n) for n in sorted(_FESTIVALS, key=len, reverse=True))
_FEST_HINT = frozenset(normalize(w) for w in _FESTIVAL_DATA["period_hint"])
_FEST = (rf"(?P<fest>{_FEST_NAMES})(?P<during>\s*(?:{_fest_suffix(_FEST_DURING | _FEST_DAY)}))?"
         rf"(?:(?=\s*的?\s*(?P<hint>{_fest_suffix(_FEST_HINT)}))|)")
_EN_MONTH_ALT = _alternation(_EN_MONTHS)
# A month name alone ("August", "Aug"): "may" only as the whole text ("in May" is labelled
# "May"), elsewhere it is the verb ("users who may churn").
_EN_MONTH_BARE_ALT = _alternation(w for w in _EN_MONTHS if w != "may")

_DATE_NUM = r"(?:19|20)\d{2}[-/.](?:1[0-2]|0?[1-9])[-/.](?:[12]\d|3[01]|0?[1-9])(?!\d)"
_DATE_ZH = r"(?:(?:19|20)\d{2}\s*年\s*)?(?:1[0-2]|0?[1-9])\s*月\s*(?:[12]\d|3[01]|0?[1-9])\s*[日号]"
_MONTH_Y_ZH = r"(?:19|20)\d{2}\s*年\s*(?:1[0-2]|0?[1-9])\s*月份?"
_MONTH_NUM = r"(?:19|20)\d{2}[-/.](?:1[0-2]|0?[1-9])(?![\d])"
_YEAR_ONLY = r"(?:19|20)\d{2}\s*年"
_MONTH_BARE_ZH = r"(?<!\d)(?:1[0-2]|0?[1-9])\s*月份?"
_EN_DATE = rf"\b(?:{_EN_MONTH_ALT})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b"
_EN_MONTH_YEAR = rf"\b(?:{_EN_MONTH_ALT})\.?,?\s+(?:19|20)\d{{2}}\b"
_EN_MONTH_BARE = rf"\b(?:{_EN_MONTH_ALT})\b"
_TOKEN = "(?:" + "|".join([_DATE_NUM, _DATE_ZH, _MONTH_Y_ZH, _MONTH_NUM, _YEAR_ONLY, _EN_DATE, _EN_MONTH_YEAR, _MONTH_BARE_ZH, _EN_MONTH_BARE, r"(?:19|20)\d{2}"]) + ")"


# ---------------------------------------------------------------- helpers
def _month_number(text: str) -> int | None:
    value = to_int(text)
    return value if value is not None and 1 <= value <= 12 else None


def _rel_year(word: str | None, year: str | None, as_of: date) -> int | None:
    if year:
        return int(year)
    if word:
        return as_of.year + _REL_YEAR[word]
    return None


def _recent(build: Callable[[int], tuple[date, date] | None], as_of: date) -> tuple[date, date] | None:
    """The most recent occurrence that has started by ``as_of`` (this year, else last year)."""
    current = build(as_of.year)
    if current is not None and current[0] <= as_of:
        return current
    return build(as_of.year - 1)


def _parse_token(token: str, default_year: int | None, as_of: date) -> tuple[date, date] | None:
    """One side of a between-dates range: a day, a month or a year."""
    tok = token.strip()
    if m := re.fullmatch(r"((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})", tok):
        day = _safe_date(int(m[1]), int(m[2]), int(m[3]))
        return (day, day) if day else None
    if m := re.fullmatch(r"(?:((?:19|20)\d{2})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]", tok):
        year = int(m[1]) if m[1] else default_year
        return _day_or_recent(year, int(m[2]), int(m[3]), as_of)
    if m := re.fullmatch(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月份?|((?:19|20)\d{2})[-/.](\d{1,2})", tok):
        year, month = (int(m[1]), int(m[2])) if m[1] else (int(m[3]), int(m[4]))
        return periods.month_of_year(year, month) if 1 <= month <= 12 else None
    if m := re.fullmatch(r"((?:19|20)\d{2})\s*年?", tok):
        return date(int(m[1]), 1, 1), date(int(m[1]), 12, 31)
    if m := re.fullmatch(r"(\d{1,2})\s*月份?", tok):
        return _month_or_recent(default_year, int(m[1]), as_of)
    if m := re.fullmatch(rf"({_EN_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})", tok):
        day = _safe_date(int(m[3]), _EN_MONTHS[m[1]], int(m[2]))
        return (day, day) if day else None
    if m := re.fullmatch(rf"({_EN_MONTH_ALT})\.?,?\s+((?:19|20)\d{{2}})", tok):
        return periods.month_of_year(int(m[2]), _EN_MONTHS[m[1]])
    if m := re.fullmatch(rf"({_EN_MONTH_ALT})", tok):
        return _month_or_recent(default_year, _EN_MONTHS[m[1]], as_of)
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _day_or_recent(year: int | None, month: int, day: int, as_of: date) -> tuple[date, date] | None:
    if year is not None:
        found = _safe_date(year, month, day)
        return (found, found) if found else None

    def build(y: int) -> tuple[date, date] | None:
        found = _safe_date(y, month, day)
        return (found, found) if found else None

    return _recent(build, as_of)


def _month_or_recent(year: int | None, month: int, as_of: date) -> tuple[date, date] | None:
    if not 1 <= month <= 12:
        return None
    if year is not None:
        return periods.month_of_year(year, month)
    return _recent(lambda y: periods.month_of_year(y, month), as_of)


def _token_year(token: str) -> int | None:
    m = re.search(r"(?:19|20)\d{2}", token)
    return int(m[0]) if m else None


# ---------------------------------------------------------------- resolvers
def _sub_period(m: re.Match[str], year: int | None, as_of: date) -> _Resolved | None:
    """Half, quarter, month(-day) or festival inside ``year`` (None: most recent)."""
    groups = m.groupdict()

    def pick(build: Callable[[int], tuple[date, date] | None]) -> tuple[date, date] | None:
        return build(year) if year is not None else _recent(build, as_of)

    if groups.get("half"):
        half = 1 if groups["half"] in ("上半年", "前半年", "h1") else 2
        found = pick(lambda y: periods.half_of_year(y, half))
        return (*found, None) if found else None
    quarter = groups.get("q1") or groups.get("q2") or groups.get("q3")
    if quarter:
        q = to_int(quarter)
        if q is None or not 1 <= q <= 4:
            return None
        found = pick(lambda y: periods.quarter_of_year(y, q))
        return (*found, "quarter") if found else None
    if groups.get("mo"):
        month = _month_number(groups["mo"])
        if month is None:
            return None
        if groups.get("dd"):
            dd = int(groups["dd"])
            found = pick(lambda y: (d, d) if (d := _safe_date(y, month, dd)) else None)
            return (*found, "day") if found else None
        found = pick(lambda y: periods.month_of_year(y, month))
        return (*found, "month") if found else None
    if groups.get("fest"):
        key = _FESTIVALS.get(re.sub(r"\s+", " ", groups["fest"]))
        if key is None:
            return None
        which, lang = _festival_part(groups.get("during") or groups.get("hint")), _name_language(groups["fest"])
        found = pick(lambda y: periods.festival_dates(key, y, which, lang))
        return (*found, "day") if found else None
    return None


def _name_language(name: str) -> str:
    """A festival name with Latin letters (singles day) is English; 双11, 618 are Chinese."""
    return "en" if re.search(r"[a-z]", name, re.IGNORECASE) else "zh"


def _festival_part(suffix: str | None) -> Literal["period", "day", "bare"]:
    """双11当天 → its day; 双11期间 / 双11大促 / double 11 sale → its period; 双11 → what the name alone means."""
    word = re.sub(r"\s+", " ", (suffix or "").strip())
    if word in _FEST_DAY:
        return "day"
    return "period" if word in _FEST_DURING or word in _FEST_HINT else "bare"


def _r_year_sub(m: re.Match[str], as_of: date) -> _Resolved | None:
    return _sub_period(m, _rel_year(m["ry"], m["y"], as_of), as_of)


def _r_sub(m: re.Match[str], as_of: date) -> _Resolved | None:
    return _sub_period(m, None, as_of)


def _r_year(m: re.Match[str], as_of: date) -> _Resolved | None:
    year = _rel_year(m.groupdict().get("ry"), m.groupdict().get("y"), as_of)
    return (date(year, 1, 1), date(year, 12, 31), "year") if year else None


def _word_key(said: str, table: Container[str]) -> str:
    """The table word said, without a possessive (this year's / this years → this year)."""
    word = re.sub(r"\s+", " ", said)
    if word in table:
        return word
    return re.sub(r"(?:'s|s)$", "", word)


def _r_calendar(m: re.Match[str], as_of: date) -> _Resolved | None:
    unit, offset = _CALENDAR_WORDS[_word_key(m["w"], _CALENDAR_WORDS)]
    return (*periods.relative_period(unit, offset, as_of), unit)


def _r_to_date(m: re.Match[str], as_of: date) -> _Resolved | None:
    unit = _TO_DATE_WORDS[_word_key(m["w"], _TO_DATE_WORDS)]
    start, end = periods.period_of(unit, as_of)
    return start, max(end, as_of + timedelta(days=1)), unit  # always cut at as_of


# Longest rolling window per unit (about a century); longer ones are not time ranges.
_MAX_ROLLING = {"day": 36_500, "week": 5_200, "month": 1_200, "quarter": 400, "year": 100}


def _r_rolling(m: re.Match[str], as_of: date) -> _Resolved | None:
    unit = _UNITS[m["u"]]
    raw = m.groupdict().get("n")
    if raw == "半":
        if unit != "year":
            return None
        return (*periods.rolling("month", 6, as_of), "month")
    count = to_int(raw) if raw else 1
    if not count or count > _MAX_ROLLING.get(unit, 3650):
        return None
    try:
        return (*periods.rolling(unit, count, as_of), unit)
    except (ValueError, OverflowError):  # a window reaching before year 1 is no time range
        return None


def _r_since(m: re.Match[str], as_of: date) -> _Resolved | None:
    token = m["a"] or m["b"]
    if token in _REL_YEAR:
        found: tuple[date, date] | None = (date(as_of.year + _REL_YEAR[token], 1, 1), as_of)
    else:
        found = _parse_token(token, None, as_of)
    if not found or found[0] > as_of:
        return None
    return found[0], as_of + timedelta(days=1), None  # cut at as_of


def _r_between(m: re.Match[str], as_of: date) -> _Resolved | None:
    year_a, year_b = _token_year(m["a"]), _token_year(m["b"])
    first = _parse_token(m["a"], year_a or year_b, as_of)
    second = _parse_token(m["b"], year_b or year_a or (first[0].year if first else None), as_of)
    if not first or not second or second[1] < first[0]:
        return None
    return first[0], second[1], None


def _r_single_date(m: re.Match[str], as_of: date) -> _Resolved | None:
    found = _parse_token(m[0], None, as_of)
    if not found:
        return None
    return found[0], found[1], "day" if found[0] == found[1] else "month"


def _r_en_quarter(m: re.Match[str], as_of: date) -> _Resolved | None:
    q = int(m["q"]) if m["q"] else _EN_ORDINALS[m["qo"]]
    year = _rel_year(m.groupdict().get("ery"), m.groupdict().get("y"), as_of)
    found = periods.quarter_of_year(year, q) if year else _recent(lambda y: periods.quarter_of_year(y, q), as_of)
    return (*found, "quarter") if found else None


def _r_en_half(m: re.Match[str], as_of: date) -> _Resolved | None:
    half = 1 if m["h"] in ("first", "1st", "h1", "1") else 2
    year = _rel_year(m.groupdict().get("ery"), m.groupdict().get("y"), as_of)
    found = periods.half_of_year(year, half) if year else _recent(lambda y: periods.half_of_year(y, half), as_of)
    return (*found, None) if found else None


def _r_en_month(m: re.Match[str], as_of: date) -> _Resolved | None:
    month = _EN_MONTHS[m["mname"] or m["mname2"]]
    year = _rel_year(m.groupdict().get("ery"), m.groupdict().get("y"), as_of)
    found = _month_or_recent(year, month, as_of)
    return (*found, "month") if found else None


def _r_en_festival(m: re.Match[str], as_of: date) -> _Resolved | None:
    key = _FESTIVALS.get(re.sub(r"\s+", " ", m["fest"]))
    if key is None:
        return None
    which, lang = _festival_part(m.groupdict().get("during") or m.groupdict().get("hint")), _name_language(m["fest"])
    year = int(m["py"]) if m.groupdict().get("py") else _rel_year(m.groupdict().get("ery"), m.groupdict().get("y"), as_of)
    found = (periods.festival_dates(key, year, which, lang) if year
             else _recent(lambda y: periods.festival_dates(key, y, which, lang), as_of))
    return (*found, "day") if found else None


def _leading_part(year: int | None, unit: Grain, count: int, as_of: date) -> _Resolved | None:
    """The first ``count`` quarters or months of ``year`` (前三季度 = Q1..Q3; None: the
    most recent year in which that part has started)."""
    per_year = 4 if unit == "quarter" else 12
    if not 1 <= count <= per_year:
        return None

    def build(y: int) -> tuple[date, date]:
        last = periods.quarter_of_year(y, count) if unit == "quarter" else periods.month_of_year(y, count)
        return date(y, 1, 1), last[1]

    found = build(year) if year is not None else _recent(build, as_of)
    return (*found, None) if found else None


def _r_zh_leading(m: re.Match[str], as_of: date) -> _Resolved | None:
    """今年前三季度 / 前两个季度 / 2025年前5个月 (months need the year: 前3个月 alone is a window)."""
    year = _rel_year(m.groupdict().get("ry"), m.groupdict().get("y"), as_of)
    count = to_int(m["n"])
    unit: Grain = "month" if "月" in m["u"] else "quarter"
    if count is None or (unit == "month" and year is None):
        return None
    return _leading_part(year, unit, count, as_of)


def _r_en_leading(m: re.Match[str], as_of: date) -> _Resolved | None:
    """the first three quarters (of 2025) / first 6 months of this year (months need a year)."""
    year = _rel_year(m.groupdict().get("ery"), m.groupdict().get("y"), as_of)
    if year is None and m.groupdict().get("the_year"):
        year = as_of.year
    count = to_int(m["n"])
    unit: Grain = "month" if m["u"].startswith("month") else "quarter"
    if count is None or (unit == "month" and year is None):
        return None
    return _leading_part(year, unit, count, as_of)


def _r_quarter_span(m: re.Match[str], as_of: date) -> _Resolved | None:
    """Q1-Q3 / 一到三季度 / 二季度到四季度 (of a year): from the first quarter's start to the last's end."""
    first, last = to_int(m["qa"]), to_int(m["qb"])
    if first is None or last is None or not 1 <= first < last <= 4:
        return None
    year = _rel_year(m.groupdict().get("ry") or m.groupdict().get("ery"), m.groupdict().get("y") or m.groupdict().get("y2"), as_of)

    def build(y: int) -> tuple[date, date]:
        return periods.quarter_of_year(y, first)[0], periods.quarter_of_year(y, last)[1]

    found = build(year) if year is not None else _recent(build, as_of)
    return (*found, None) if found else None


_EN_YEAR_Q = r"(?:\s*(?:of|in)?\s*(?:(?P<y>(?:19|20)\d{2})|(?P<ery>this year|last year|the previous year|previous year)(?:'s|s)?\b))?"
_NUM_OR_HALF = rf"(?:{NUM}|半)"
_RULES: list[tuple[str, _Resolver]] = [
    (rf"(?:从|自|between\s+|from\s+)?(?P<a>{_TOKEN})\s*(?:到|至|~|-|—|–|\bto\b|\buntil\b|\btill\b|\bthrough\b|\band\b)\s*(?P<b>{_TOKEN})(?:\s*(?:之间|期间|为止|止))?", _r_between),
    (rf"(?:自|从)?\s*(?P<a>{_TOKEN}|今年|去年|前年)\s*(?:以来|至今|到现在|到今天|迄今|到目前为止|到目前)|\bsince\s+(?P<b>{_TOKEN})", _r_since),
    (_words_pattern(_TO_DATE_WORDS), _r_to_date),
    (rf"(?:近|最近|过去|最近的|过去的)\s*(?P<n>{_NUM_OR_HALF})\s*个?\s*(?P<u>天|日|周|星期|礼拜|月|季度|年)", _r_rolling),
    (rf"\b(?:in\s+|over\s+|during\s+|for\s+)?(?:the\s+)?(?:last|past|previous|trailing|recent)\s+(?P<n>\d+|{EN_NUM})\s+(?P<u>days?|weeks?|months?|quarters?|years?)\b", _r_rolling),
    (r"\b(?:in\s+|over\s+|during\s+)?the\s+past\s+(?P<u>week|month|quarter|year)\b|\bpast\s+(?P<u2>week|month|quarter|year)\b", lambda m, a: _r_rolling_word(m, a)),
    (rf"{_YEAR_ZH}\s*的?\s*(?:{_HALF}|{_QUARTER}|{_MONTH_ZH}|{_FEST})", _r_year_sub),
    (rf"(?:{_HALF}|{_QUARTER}|{_MONTH_ZH}|{_FEST})", _r_sub),
    (rf"{_YEAR_ZH}(?:全年|整年|一整年)?", _r_year),
    (rf"(?:{_YEAR_ZH}\s*的?\s*)?前\s*(?P<n>{NUM})\s*(?P<u>个\s*季度|季度|季|个\s*月)", _r_zh_leading),
    (rf"\b(?:the\s+)?first\s+(?P<n>two|three|four|five|six|seven|eight|nine|ten|eleven|[2-9]|1[01])\s+(?P<u>quarters|months)\b(?:\s+of\s+(?P<the_year>the\s+year)\b)?{_EN_YEAR_Q}", _r_en_leading),
    (rf"(?:{_YEAR_ZH}\s*的?\s*)?第?\s*(?P<qa>[一二三四1-4])\s*(?:季度)?\s*(?:到|至|-|~|—|–)\s*第?\s*(?P<qb>[一二三四1-4])\s*季度", _r_quarter_span),
    (rf"(?:(?<![\d\-/.])(?P<y2>(?:19|20)\d{{2}})\s*-?\s*)?\bq(?P<qa>[1-4])\s*(?:-|~|—|–|\bto\b|\bthrough\b|到|至)\s*q(?P<qb>[1-4])\b{_EN_YEAR_Q.replace('<y>', '<y3>').replace('<ery>', '<ery>')}", lambda m, a: _r_quarter_span_en(m, a)),
    (_words_pattern(_CALENDAR_WORDS), _r_calendar),
    (rf"{_DATE_NUM}|{_DATE_ZH}|{_MONTH_Y_ZH}|{_MONTH_NUM}|{_EN_DATE}", _r_single_date),
    (r"(?<![\d\-/.])(?P<y>(?:19|20)\d{2})\s*-?\s*q(?P<q>[1-4])\b(?P<qo>)", _r_en_quarter),
    (rf"\bq(?P<q>[1-4])\b(?P<qo>){_EN_YEAR_Q}", _r_en_quarter),
    (rf"\b(?:the\s+)?(?P<qo>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\b(?P<q>){_EN_YEAR_Q}", _r_en_quarter),
    (r"\b(?P<h3>h[12])\s*(?:of\s+|in\s+)?(?P<y3>(?:19|20)\d{2})\b", lambda m, a: _r_en_half_any(m, a)),
    (rf"\b(?:the\s+)?(?P<h>first|second|1st|2nd)\s+half\b{_EN_YEAR_Q}|\b(?P<y2>(?:19|20)\d{{2}})\s*(?P<h2>h[12])\b", lambda m, a: _r_en_half_any(m, a)),
    (rf"\b(?P<mname>{_EN_MONTH_ALT})\.?,?\s+(?:of\s+)?(?:(?P<y>(?:19|20)\d{{2}})|(?P<ery>this year|last year))\b", _r_en_month),
    (rf"\b(?:in|during|for|since|of)\s+(?P<mname>{_EN_MONTH_ALT})\b(?P<y>)(?P<ery>)", _r_en_month),
    (rf"\b(?P<mname>{_EN_MONTH_BARE_ALT})\b\.?(?P<y>)(?P<ery>)|^\s*(?P<mname2>may)\s*\.?\s*$", _r_en_month),
    (rf"(?:\b(?P<py>(?:19|20)\d{{2}})(?:'s)?\s+)?{_FEST}{_EN_YEAR_Q}", _r_en_festival),
    (r"(?:\bin\s+|\bfor\s+|\bduring\s+)?(?:(?:the\s+)?\b(?:(?:calendar|full|whole|entire)(?:\s+|-)(?:year\s+)?(?:of\s+)?|cy\s*))?(?<![\d\-/.])(?P<y>(?:19|20)\d{2})(?![\d\-/.]|\s*年|\s*q\d)(?P<ry>)", _r_year),
]


def _r_quarter_span_en(m: re.Match[str], as_of: date) -> _Resolved | None:
    first, last = int(m["qa"]), int(m["qb"])
    if not first < last:
        return None
    year = int(m["y2"]) if m["y2"] else int(m["y3"]) if m["y3"] else _rel_year(m["ery"], None, as_of) if m["ery"] else None

    def build(y: int) -> tuple[date, date]:
        return periods.quarter_of_year(y, first)[0], periods.quarter_of_year(y, last)[1]

    found = build(year) if year is not None else _recent(build, as_of)
    return (*found, None) if found else None


def _r_rolling_word(m: re.Match[str], as_of: date) -> _Resolved | None:
    unit = _UNITS[m["u"] or m["u2"]]
    return (*periods.rolling(unit, 1, as_of), unit)


def _r_en_half_any(m: re.Match[str], as_of: date) -> _Resolved | None:
    groups = m.groupdict()
    if groups.get("h3"):
        return (*periods.half_of_year(int(m["y3"]), 1 if m["h3"] == "h1" else 2), None)
    if groups.get("h2"):
        year = int(m["y2"])
        return (*periods.half_of_year(year, 1 if m["h2"] == "h1" else 2), None)
    return _r_en_half(m, as_of)


_LEADING_WORDS = re.compile(r"^(?:(?:in|over|during|for|the)\s+)+", re.IGNORECASE)
_COMPILED_RULES = [(re.compile(pattern, re.ASCII), resolver) for pattern, resolver in _RULES]
_COMPILED_COMPARISONS = [(re.compile(p, re.ASCII), kind, grain) for p, kind, grain in _COMPARISONS]


# ---------------------------------------------------------------- public API
def parse_time(text: str, as_of: date) -> TimeParse | None:
    """Find the time range and comparison in ``text``; None when there is neither."""
    norm = normalize(text)
    comparison: ComparisonKind | None = None
    comparison_grain: Grain | None = None
    comparison_spans: list[tuple[int, int]] = []
    first_at = len(norm) + 1
    for pattern, kind, grain in _COMPILED_COMPARISONS:
        for m in pattern.finditer(norm):
            comparison_spans.append(m.span())
            if m.start() < first_at:
                first_at, comparison = m.start(), kind
                comparison_grain = grain or _grain_in(m[0])
    masked = mask_spans(norm, comparison_spans)

    best: tuple[int, int, _Resolved] | None = None
    for pattern, resolver in _COMPILED_RULES:
        for m in pattern.finditer(masked):
            start, end = _trim(masked, *m.span())
            if end <= start:
                continue
            try:
                resolved = resolver(m, as_of)
            except (ValueError, OverflowError):  # a period past year 1 or 9999: not a range
                resolved = None
            if resolved is None:
                continue
            if best is None or (end - start, -start) > (best[1] - best[0], -best[0]):
                best = (start, end, resolved)

    if best is None:
        if comparison is None:
            return None
        return TimeParse(None, comparison, comparison_grain, None, tuple(comparison_spans))
    start, end, (range_start, range_end, grain) = best
    to_date = range_start <= as_of < range_end
    if to_date:
        range_end = as_of
    label = _LEADING_WORDS.sub("", text[start:end].strip()) or text[start:end].strip()
    time_range = TimeRange(start=range_start, end=range_end, label=label)
    spans = tuple(sorted([*comparison_spans, (start, end)]))
    return TimeParse(time_range, comparison, grain, (start, end), spans, to_date)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _grain_in(words: str) -> Grain | None:
    for key, grain in _COMPARISON_GRAIN_WORDS.items():
        if key in words:
            return grain  # type: ignore[return-value]
    return None


def default_range(unit: Grain, as_of: date, language: str = "zh") -> TimeRange:
    """The current ``unit`` up to the as-of date (本月/this month…), used as a default."""
    start, _ = periods.period_of(unit, as_of)
    names = {
        "zh": {"day": "今天", "week": "本周", "month": "本月", "quarter": "本季度", "year": "今年"},
        "en": {"day": "today", "week": "this week", "month": "this month", "quarter": "this quarter", "year": "this year"},
    }
    return TimeRange(start=start, end=as_of, label=names["zh" if language == "zh" else "en"][unit])


def latest_complete_month(as_of: date, language: str = "zh") -> TimeRange:
    """本月 when the as-of date is a month's last day, else 上个月 (a default for why)."""
    start, end = periods.period_of("month", as_of)
    if end == as_of:
        return TimeRange(start=start, end=end, label="本月" if language == "zh" else "this month")
    prev_start, prev_end = periods.relative_period("month", -1, as_of)
    return TimeRange(start=prev_start, end=prev_end, label="上个月" if language == "zh" else "last month")


def days_in(time_range: TimeRange) -> int:
    return (time_range.end - time_range.start).days + 1

