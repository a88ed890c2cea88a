"""Numbers in, numbers out: formatting (¥, 万/亿, K/M/B, %, thousands separators) and
extraction of every number (and date) written in a piece of text.

Formatting conventions: percent-format metrics, growth and share values are ratios
(0.382 → "38.2%"). A number shows about three significant digits: 2 decimals below 10,
1 below 1000, none above (``decimals_for``).

Money, one rule everywhere (docs/channels.md): findings and chart axes abbreviate an
amount by its own size — Chinese ¥2.39亿 from 1亿, ¥2,536万 from 1万, full yuan below;
English ¥1.71B / ¥4.69M / ¥44.0K (from 10K) — never a fraction of a larger unit (no ¥0.25亿,
no ¥0.21M). Tables and exports (``chatbi.answer.labels``) show full yuan with thousands
separators: whole yuan in a column whose largest amount is ¥100 or more, else 2 decimals.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

MISSING = "—"

# (divisor, suffix, smallest value shown with it)
_ZH_SCALES = ((1e8, "亿", 1e8), (1e4, "万", 1e4))
_EN_SCALES = ((1e9, "B", 1e9), (1e6, "M", 1e6), (1e3, "K", 1e4))


def is_missing(value: Any) -> bool:
    """None, NaN or infinite."""
    if value is None:
        return True
    try:
        return math.isnan(float(value)) or math.isinf(float(value))
    except (TypeError, ValueError):
        return True


def decimals_for(value: float) -> int:
    """Decimals that keep about three significant digits."""
    size = abs(value)
    if size < 10:
        return 2
    if size < 1000:
        return 1
    return 0


def pick_scale(ref: float, language: str, *, minimum: float = 1e4) -> tuple[float, str]:
    """The divisor and suffix for amounts around ``ref`` (万/亿 in Chinese, K/M/B in English)."""
    scales = _EN_SCALES if language == "en" else _ZH_SCALES
    for divisor, suffix, threshold in scales:
        if abs(ref) >= max(threshold, minimum):
            return divisor, suffix
    return 1.0, ""


def _scaled(value: float, language: str, ref: float | None, minimum: float,
            integer: bool = False) -> str:
    divisor, suffix = pick_scale(value if ref is None else ref, language, minimum=minimum)
    # Too small for ref's scale: its own (¥2,536万, never ¥0.25亿; ¥210.0K, never ¥0.21M;
    # ¥4,279 beside ¥22.2K, as without a ref)
    if ref is not None and divisor > 1 and pick_scale(value, language, minimum=minimum)[0] < divisor:
        divisor, suffix = pick_scale(value, language, minimum=minimum)
    scaled = value / divisor
    if divisor == 1.0 and integer:
        digits = 0
    else:
        digits = decimals_for(scaled)
        if divisor == 1.0 and float(value).is_integer() and abs(value) >= 100:
            digits = 0
    text = f"{abs(scaled):,.{digits}f}"
    return text + suffix


def format_money(value: Any, language: str = "zh", ref: float | None = None) -> str:
    """¥171.1万 / ¥1.71M / ¥8,532 / -¥3.20万."""
    if is_missing(value):
        return MISSING
    value = float(value)
    if value == 0:
        return "¥0"
    sign = "-" if value < 0 else ""
    return f"{sign}¥{_scaled(value, language, ref, 1e4)}"


def format_count(value: Any, language: str = "zh", ref: float | None = None,
                 *, integer: bool = True) -> str:
    """12,345 / 12.3万 (zh, from 10万) / 1.23M (en, from 1M)."""
    if is_missing(value):
        return MISSING
    value = float(value)
    sign = "-" if value < 0 else ""
    minimum = 1e6 if language == "en" else 1e5
    if not integer and not value.is_integer() and abs(value if ref is None else ref) < minimum:
        return f"{sign}{abs(value):,.{decimals_for(value)}f}"
    return sign + _scaled(value, language, ref, minimum, integer=True)


def format_percent(ratio: Any, *, signed: bool = False) -> str:
    """0.382 → 38.2%; 0.004 → 0.40%; signed: +38.2% / -6.5%."""
    if is_missing(ratio):
        return MISSING
    pct = float(ratio) * 100
    if pct == 0:
        return "0%"
    size = abs(pct)
    digits = 2 if size < 1 else (0 if size >= 1000 else 1)
    sign = ("+" if pct > 0 else "-" if pct < 0 else "") if signed else ("-" if pct < 0 else "")
    text = f"{size:,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        sign = ""
    return f"{sign}{text}%"


def format_value(value: Any, fmt: str, language: str = "zh", *, unit: str | None = None,
                 ref: float | None = None) -> str:
    """Format a metric value by its ``Metric.format`` (number|integer|currency|percent|days|score)."""
    if is_missing(value):
        return MISSING
    if fmt == "currency":
        return format_money(value, language, ref)
    if fmt == "percent":
        return format_percent(value)
    if fmt == "days":
        number = f"{float(value):,.1f}"
        return f"{number} days" if language == "en" else f"{number}天"
    if fmt == "score":
        number = f"{float(value):,.2f}"
        return f"{number}{unit}" if unit and language != "en" and unit != "%" else number
    text = format_count(value, language, ref, integer=(fmt == "integer"))
    if unit and language != "en" and unit not in ("%", "元"):
        text += unit
    return text


def format_period(value: Any, grain: str | None, language: str = "zh") -> str:
    """A time bucket's start date shown at its grain: 2026-08 / 2026年Q2 / 2026 Q2 / 2026."""
    day = to_date(value)
    if day is None:
        return str(value)
    quarter = (day.month - 1) // 3 + 1
    if grain == "year":
        return f"{day.year}" if language == "en" else f"{day.year}年"
    if grain == "quarter":
        return f"{day.year} Q{quarter}" if language == "en" else f"{day.year}年Q{quarter}"
    if grain == "month":
        return f"{day.year}-{day.month:02d}"
    if grain == "week":
        return f"week of {day.isoformat()}" if language == "en" else f"{day.isoformat()} 当周"
    return day.isoformat()


def to_date(value: Any) -> date | None:
    """A date from a date, datetime, pandas Timestamp or ISO string; None otherwise."""
    if value is None:
        return None
    if hasattr(value, "date") and callable(value.date):
        try:
            return value.date()
        except (TypeError, ValueError):
            return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def period_end(start: date, grain: str | None) -> date:
    """The last day of the period that starts at ``start``."""
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        return _add_months(start, 1) - timedelta(days=1)
    if grain == "quarter":
        return _add_months(start, 3) - timedelta(days=1)
    if grain == "year":
        return date(start.year, 12, 31)
    return start


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# ---------------------------------------------------------------------------------------
# Axis formats for Vega-Lite (d3-format strings or label expressions)
# ---------------------------------------------------------------------------------------

def axis_format(fmt: str, max_abs: float, language: str) -> dict[str, str]:
    """Axis ``format`` or ``labelExpr`` for a metric axis, scaled like the text formats."""
    if fmt == "percent":
        return {"format": ".1~%"}
    if fmt in ("days", "score"):
        return {"format": ",.2~f"}
    if fmt == "currency":  # each tick by its own size, as the finding writes it (no ¥0.5亿)
        return {"labelExpr": money_axis_expr(language)}
    minimum = 1e6 if language == "en" else 1e5
    divisor, suffix = pick_scale(max_abs, language, minimum=minimum)
    if divisor == 1.0:
        return {"format": ",.2~f"}
    return {"labelExpr": _scaled_expr(divisor, suffix, "")}


def money_axis_expr(language: str) -> str:
    """A Vega label expression writing each money tick by its own size (``format_money``'s
    scales): ¥5,000万 · ¥1亿 · ¥1.5亿; ¥500K · ¥1M."""
    scales = _EN_SCALES if language == "en" else _ZH_SCALES
    body = "format(abs(datum.value), ',.2~f')"
    for divisor, suffix, threshold in reversed(scales):
        body = (f"(abs(datum.value) >= {threshold:g} ? format(abs(datum.value) / {divisor:g}, ',.2~f') "
                f"+ '{suffix}' : {body})")
    return f"datum.value == 0 ? '0' : (datum.value < 0 ? '-' : '') + '¥' + {body}"


def _scaled_expr(divisor: float, suffix: str, prefix: str) -> str:
    body = f"format(abs(datum.value) / {divisor:g}, ',.2~f') + '{suffix}'"
    return f"datum.value == 0 ? '0' : (datum.value < 0 ? '-' : '') + {prefix}{body}"


def tooltip_format(fmt: str) -> str:
    """d3-format for tooltips (exact values, separators)."""
    return {"percent": ".2%", "currency": ",.2f", "integer": ",d", "days": ",.1f",
            "score": ",.2f"}.get(fmt, ",.2~f")


# ---------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------

TokenKind = Literal["percent", "pp", "money", "plain", "rank", "multiple", "date"]


@dataclass(frozen=True)
class NumberToken:
    """One number found in text. ``value`` is in base units (万/M applied; % kept as 38.2)."""

    text: str
    kind: TokenKind
    value: float = 0.0
    tolerance: float = 0.0
    signed: bool = False
    approximate: bool = False
    period: tuple[date, date] | None = None  # for dates: the days the text denotes
    months: tuple[int, ...] = ()  # a month or quarter named without its year
    maybe_year: bool = False  # a bare 4-digit integer that may be a year


_SCALE_WORDS = {
    "万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9,
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9, "mn": 1e6,
}
_MONTHS_EN = {name: i + 1 for i, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"])}
_MONTHS_EN.update({name[:3]: num for name, num in list(_MONTHS_EN.items())})
_MONTHS_EN["sept"] = 9
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 1e4, "亿": 1e8}

_Y = r"((?:19|20)\d{2})"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(_Y + r"\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)")),
    ("ymd", re.compile(_Y + r"\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")),
    ("yq", re.compile(_Y + r"\s*年?\s*(?:的)?\s*(?:[Qq]\s*([1-4])|第?([一二三四1-4])\s*季度?)(?![\d])")),
    ("qy", re.compile(r"(?<![A-Za-z])[Qq]([1-4])\s*,?\s*" + _Y)),
    ("ym", re.compile(_Y + r"\s*年\s*(\d{1,2})\s*月(?:份)?")),
    ("ym", re.compile(_Y + r"\s*[-/]\s*(\d{1,2})(?!\d|[.\-/]\d)")),
    ("my", re.compile(r"(?i)\b(" + "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
                      + r")\.?\s+" + _Y)),
    ("y", re.compile(_Y + r"\s*(?:年度|财年|年)")),
    ("y", re.compile(r"(?i)\b(?:FY|in|since|during|year)\s*" + _Y + r"\b")),
    ("q", re.compile(r"(?<![A-Za-z\d])[Qq]([1-4])(?![\d])")),
    ("q", re.compile(r"第?([一二三四1-4])\s*季度")),
    ("md", re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")),
    ("m", re.compile(r"(?<![\d.])(\d{1,2})\s*月(?:份)?(?!\s*\d)")),
    ("m", re.compile(r"([一二三四五六七八九十]{1,3})\s*月(?:份)?")),
    ("m", re.compile(r"(?i)\b(" + "|".join(sorted(set(_MONTHS_EN) - {"may", "mar", "march"},
                                                    key=len, reverse=True)) + r")\b(?!\s*\d)")),
]

_NUMBER = re.compile(
    r"(?P<approx>约|大约|近|接近|将近|about\s+|around\s+|approximately\s+|nearly\s+|roughly\s+|~\s*|≈\s*)?"
    r"(?P<rank>第|前|[Tt]op\s*|TOP\s*|No\.\s*|#)?"
    r"(?P<sign>[+\-−])?\s*(?P<cur>[¥￥$]|RMB\s*|CNY\s*)?\s*(?P<sign2>[+\-−])?"
    r"(?<![A-Za-z_\d.,])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suffix>\s?(?:%|％|个百分点|百分点|percentage points?|pp\b|percent\b|倍|times\b|×|万亿|亿|万|千"
    r"|million\b|billion\b|thousand\b|bn\b|mn\b|[kKMB](?![A-Za-z])))?"
)
_CN_NUMBER = re.compile(
    r"(?P<pct>百分之)?(?P<rank>第|前)?(?P<num>[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?)"
    r"(?P<after>(?=[个名项家位类种条笔倍成天周次单件笔])|%)?"
)


def extract_numbers(text: str) -> list[NumberToken]:
    """Every number and date in ``text``: ¥1.24M, 171.1万, 38.2%, 1,234, 2026年Q2, 三个…

    Dates are found first and blanked out so their digits are not read as amounts.
    """
    tokens: list[NumberToken] = []
    chars = list(text)
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer("".join(chars)):
            token = _date_token(kind, match)
            if token is None:
                continue
            tokens.append(token)
            for i in range(match.start(), match.end()):
                chars[i] = " "
    rest = "".join(chars)
    for match in _NUMBER.finditer(rest):
        token = _number_token(match, rest)
        if token is not None:
            tokens.append(token)
            for i in range(match.start(), match.end()):
                chars[i] = " "
    rest = "".join(chars)
    for match in _CN_NUMBER.finditer(rest):
        token = _cn_token(match)
        if token is not None:
            tokens.append(token)
    return tokens


def _date_token(kind: str, m: re.Match[str]) -> NumberToken | None:
    g = m.groups()
    try:
        if kind == "ymd":
            day = date(int(g[0]), int(g[1]), int(g[2]))
            return NumberToken(m.group(0), "date", period=(day, day))
        if kind in ("yq", "qy"):
            year, q = (int(g[0]), _num(g[1] or g[2])) if kind == "yq" else (int(g[1]), int(g[0]))
            start = date(year, 3 * q - 2, 1)
            return NumberToken(m.group(0), "date", period=(start, period_end(start, "quarter")))
        if kind in ("ym", "my"):
            year, month = (int(g[0]), int(g[1])) if kind == "ym" else (int(g[1]), _MONTHS_EN[g[0].lower()])
            start = date(year, month, 1)
            return NumberToken(m.group(0), "date", period=(start, period_end(start, "month")))
        if kind == "y":
            year = int(g[0])
            return NumberToken(m.group(0), "date", period=(date(year, 1, 1), date(year, 12, 31)))
        if kind == "q":
            q = _num(g[0])
            return NumberToken(m.group(0), "date", months=(3 * q - 2, 3 * q - 1, 3 * q))
        if kind == "md":
            month, day_ = int(g[0]), int(g[1])
            date(2000, month, day_)  # validates
            return NumberToken(m.group(0), "date", months=(month,))
        if kind == "m":
            raw = g[0]
            month = _MONTHS_EN[raw.lower()] if raw.isalpha() and raw.isascii() else _num(raw)
            if not 1 <= month <= 12:
                return None
            return NumberToken(m.group(0), "date", months=(month,))
    except (ValueError, KeyError):
        return None
    return None


def _num(raw: str) -> int:
    return int(raw) if raw.isdigit() else int(cn_to_number(raw) or 0)


def _number_token(m: re.Match[str], text: str) -> NumberToken | None:
    raw = m.group("num")
    number = float(raw.replace(",", ""))
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    suffix = (m.group("suffix") or "").strip()
    sign_text = m.group("sign") or m.group("sign2")
    if m.group("sign") and m.start("sign") > 0:
        before = text[:m.start("sign")].rstrip()
        if before and ((before[-1].isascii() and before[-1].isalnum()) or before[-1] in ")）"):
            sign_text = m.group("sign2")  # a range or minus between terms, not a sign
    negative = sign_text in ("-", "−")
    approximate = bool(m.group("approx"))
    unit_step = 10.0 ** -decimals
    if suffix in ("%", "％", "percent"):
        kind: TokenKind = "percent"
        scale = 1.0
    elif suffix in ("个百分点", "百分点", "pp") or suffix.startswith("percentage point"):
        kind, scale = "pp", 1.0
    elif suffix in ("倍", "times", "×"):
        kind, scale = "multiple", 1.0
    else:
        scale = _SCALE_WORDS.get(suffix, 1.0)
        kind = "money" if m.group("cur") else "plain"
        if m.group("rank") and not m.group("cur") and scale == 1.0 and decimals == 0:
            kind = "rank"
    value = number * scale * (-1 if negative else 1)
    maybe_year = (kind == "plain" and decimals == 0 and "," not in raw and 1990 <= number <= 2100
                  and scale == 1.0)
    return NumberToken(m.group(0).strip(), kind, value=value, tolerance=0.5 * unit_step * scale,
                       signed=sign_text is not None, approximate=approximate, maybe_year=maybe_year)


def _cn_token(m: re.Match[str]) -> NumberToken | None:
    raw = m.group("num")
    value = cn_to_number(raw)
    if value is None or raw[0] not in "零〇一二两三四五六七八九十":
        return None
    decimals = len(raw.split("点")[1]) if "点" in raw else 0
    if m.group("pct"):
        return NumberToken(m.group(0), "percent", value=value, tolerance=0.5 * 10.0 ** -decimals)
    if m.group("after") is None and not m.group("rank"):
        return None  # not followed by a classifier: part of a word (一直, 统一, 万一)
    if value == 1 and not m.group("rank"):
        return None  # 一个/一家: an article more often than a fact
    scale = 1e4 if raw.endswith("万") else 1e8 if raw.endswith("亿") else 1.0
    kind: TokenKind = "rank" if m.group("rank") else "plain"
    if m.group("after") is not None and m.string[m.end("num"):m.end("num") + 1] == "倍":
        kind = "multiple"
    return NumberToken(m.group(0), kind, value=value, tolerance=0.5 * 10.0 ** -decimals * scale)


def cn_to_number(text: str) -> float | None:
    """Chinese numerals to a number: 三十八点二 → 38.2, 两万 → 20000, 一百零五 → 105."""
    whole, _, frac = text.partition("点")
    total, section, digit = 0.0, 0.0, None
    if not whole:
        return None
    for ch in whole:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch in _CN_BIG:
            section += digit or 0
            total += (section or 1) * _CN_BIG[ch]
            section, digit = 0.0, None
        else:
            return None
    value = total + section + (digit or 0)
    if frac:
        if any(ch not in _CN_DIGITS for ch in frac):
            return None
        value += float("0." + "".join(str(_CN_DIGITS[ch]) for ch in frac))
    return value
