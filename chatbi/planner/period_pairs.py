"""Two or more periods said in one question, read as one construction the compiler supports.

``parse_time`` finds the longest period (and a comparison word); what is left may name more
periods. They are read together:

* **a comparison** — the later period compared with the earlier one when the earlier is its
  previous period or the same period a year before (今年Q2比Q1, Q3 vs Q3 of last year,
  this month vs the same month last year, 今年618和去年618比: the second 618 is the one the
  comparison word 去年 already named);
* **a breakdown over the periods listed** — adjacent periods of one unit listed with 分别 /
  各自 / each / respectively (今年一季度和二季度分别有多少订单) are one range broken down by
  that unit (grain quarter over 2026-01-01..06-30): one row per period, and a follow-up such
  as 去年同期呢 moves them all;
* anything else is **unrelated** and returned to the caller, who asks instead of computing one
  of them silently.

A period said without a year (上半年, Q3, 618) takes the year of the period said with it
(2025年下半年和上半年比), unless that makes it the very same period (Q3 vs Q3 of last year:
the bare Q3 is this year's).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from chatbi.planner import periods
from chatbi.planner.text import mask_spans
from chatbi.planner.time_parser import parse_time
from chatbi.planner.types import TimeParse
from chatbi.semantic.periods import comparison_range
from chatbi.semantic.query import Grain, TimeRange

__all__ = ["pair_periods", "moved_a_year_back", "asks_same_period_only"]

_YEAR_SAID = re.compile(r"\d{4}|今年|去年|前年|本年|上一?年|\b(?:this|last|previous|prior|next) year\b|\byear\b", re.ASCII | re.IGNORECASE)
_LISTED = re.compile(
    r"分别|各自|各是|各有|各为|各多少|各几|各卖|各花|各占|\beach\b|\brespectively\b|\bseparately\b|\bindividually\b|\bone by one\b",
    re.ASCII | re.IGNORECASE,
)
_MAX_PERIODS = 6
# the words that set one period against another (how does Q3 stack up against Q3 of last year)
_CONNECTOR_BEFORE = re.compile(
    r"(?:\b(?:stack(?:s|ed)?|measure(?:s|d)?|hold(?:s)?|line(?:s|d)?)\s+up\s+(?:against|to|with|versus|vs\.?)|"
    r"\bcompare(?:s|d)?\s+(?:to|with|against)|\bversus|\bvs\.?|\bagainst|\brelative\s+to|"
    r"相比于?|相较于?|比起|对比|比较|和|与|跟|同)\s*(?:the\s+)?$",
    re.ASCII | re.IGNORECASE,
)
_SAME_PERIOD_ONLY = re.compile(
    r"^\s*(?:那么?|那|再看看?|看看|and|what about|how about)?\s*(?:the\s+)?"
    r"(?:去年同期|上年同期|去年的同期|去年这个时候|(?:the\s+)?same (?:period|time|months?|quarters?) (?:of\s+|in\s+)?last year|same (?:period|time) a year (?:ago|earlier))"
    r"\s*(?:的|的呢|呢|的情况呢|的数据呢|的数呢|then|too)?\s*[?？。.!！]*\s*$",
    re.ASCII | re.IGNORECASE,
)
_UNITS: tuple[Grain, ...] = ("day", "week", "month", "quarter", "year")


def pair_periods(parsed: TimeParse | None, question: str, as_of: date, unmatched: list[TimeRange]) -> TimeParse | None:
    """``parsed`` (the question's main period) read together with any other period the
    question names. A period that is neither compared nor listed is appended to ``unmatched``."""
    if parsed is None or parsed.range is None:
        return parsed
    others = _other_periods(parsed, question, as_of)
    if not others:
        return parsed
    if parsed.comparison is None and len(others) == 1:
        qualified = _qualified_by_year(parsed, others[0], question, as_of)
        if qualified is not None:
            return qualified
    if parsed.comparison is not None:
        return _with_connector(_repeated_in_comparison(parsed, others, unmatched), question)
    if _LISTED.search(question):
        listed = _listed(parsed, others)
        if listed is not None:
            return listed
    if len(others) > 1:
        unmatched.append(others[1][0])
        return parsed
    other, spans, to_date = others[0]
    return _with_connector(_compared(parsed, other, spans, to_date, unmatched), question)


def moved_a_year_back(time_range: TimeRange, language: str = "zh") -> TimeRange:
    """The same dates one year earlier, labelled: 去年同期呢 / and the same period last year?
    as a follow-up asks for the earlier question's periods a year back (a breakdown over
    them keeps its grain)."""
    moved = comparison_range(time_range, "same_period_last_year", None)
    base = time_range.label or ""
    label = f"{base}的去年同期" if language == "zh" else f"same period last year as {base}".strip()
    return TimeRange(start=moved.start, end=moved.end, label=label)


def asks_same_period_only(norm: str) -> bool:
    """去年同期呢 / same period last year? with no comparing word (比, vs, 同比): a follow-up
    asking for those periods a year back, not for a comparison with them."""
    return bool(_SAME_PERIOD_ONLY.match(norm))


# ------------------------------------------------------------------ pieces
def _other_periods(parsed: TimeParse, question: str, as_of: date) -> list[tuple[TimeRange, tuple[tuple[int, int], ...], bool]]:
    """The other periods named in ``question``, in the order found, each with its spans; a
    bare one (no year word) moved to the main period's year unless that makes them equal."""
    first = parsed.range
    assert first is not None
    found: list[tuple[TimeRange, tuple[tuple[int, int], ...], bool]] = []
    masked_spans = list(parsed.spans)
    for _ in range(_MAX_PERIODS):
        second = parse_time(mask_spans(question, masked_spans), as_of)
        if second is None or second.range is None or second.span is None:
            break
        masked_spans.extend(second.spans)
        other = second.range
        if not _YEAR_SAID.search(other.label or "") and other.start.year != first.start.year:
            moved = _in_year(other, first.start.year, first.end.year)
            if moved is not None and (moved.start, moved.end) != (first.start, first.end):
                other = moved
        found.append((other, (second.span,), second.to_date))
    return found


def _is_year(time_range: TimeRange, to_date: bool) -> bool:
    start, end = time_range.start, time_range.end
    return (start.month, start.day) == (1, 1) and ((end.month, end.day) == (12, 31) or to_date) and end.year == start.year


def _qualified_by_year(parsed: TimeParse, other: tuple, question: str, as_of: date) -> TimeParse | None:
    """black friday sales last year / 618的GMV 去年: a period said without a year and a year
    said apart from it are one period — that one in that year."""
    first = parsed.range
    assert first is not None
    other_range, other_spans, other_to_date = other
    first_bare = not _YEAR_SAID.search(first.label or "")
    if first_bare and _is_year(other_range, other_to_date) and not _is_year(first, parsed.to_date):
        inner, inner_grain = _in_year(first, other_range.start.year, other_range.start.year), parsed.grain
    elif _is_year(first, parsed.to_date) and not _is_year(other_range, other_to_date) \
            and other_range.start.year == first.start.year and not _YEAR_SAID.search(other_range.label or ""):
        inner, inner_grain = other_range, None
    else:
        return None
    if inner is None:
        return None
    end, to_date = inner.end, False
    if inner.start <= as_of < inner.end:
        end, to_date = as_of, True
    spans = tuple(sorted({*parsed.spans, *other_spans}))
    span = (min(s for s, _ in spans), max(e for _, e in spans))
    said = sorted([(parsed.span or (0, 0), first.label or ""), (other_spans[0], other_range.label or "")])
    label = " ".join(text for _, text in said)
    return TimeParse(range=TimeRange(start=inner.start, end=end, label=label.strip()), comparison=None,
                     grain=inner_grain, span=span, spans=spans, to_date=to_date)


def _with_connector(parsed: TimeParse, question: str) -> TimeParse:
    """A comparison of two periods claims the words that join them (stack up against)."""
    if parsed.comparison is None or len(parsed.spans) < 2:
        return parsed
    spans = set(parsed.spans)
    for start, _ in sorted(parsed.spans)[1:]:
        found = _CONNECTOR_BEFORE.search(question[max(0, start - 40):start])
        if found is not None and found.end() > found.start():
            spans.add((max(0, start - 40) + found.start(), start))
    return replace(parsed, spans=tuple(sorted(spans)))


def _in_year(other: TimeRange, start_year: int, end_year: int) -> TimeRange | None:
    try:
        return other.model_copy(update={"start": other.start.replace(year=start_year), "end": other.end.replace(year=end_year)})
    except ValueError:  # 2月29日 in a year without it
        return None


def _same(a: TimeRange, b: TimeRange) -> bool:
    return (a.start, a.end) == (b.start, b.end)


def _compared(parsed: TimeParse, other: TimeRange, spans: tuple[tuple[int, int], ...], other_to_date: bool,
              unmatched: list[TimeRange]) -> TimeParse:
    """Two periods with no comparison word of their own: the later compared with the earlier
    when the earlier is its previous period or the same period a year before."""
    first = parsed.range
    assert first is not None
    if _same(first, other):  # the same period said twice (今年Q2…Q2的): one period
        return replace(parsed, spans=tuple(sorted({*parsed.spans, *spans})))
    later, earlier = (first, other) if first.start >= other.start else (other, first)
    for kind in ("previous_period", "same_period_last_year"):
        found = comparison_range(later, kind, None)  # type: ignore[arg-type]
        if _same(found, earlier):
            to_date = parsed.to_date if later is first else other_to_date
            return TimeParse(range=later, comparison=kind, grain=parsed.grain, span=parsed.span,  # type: ignore[arg-type]
                             spans=tuple(sorted({*parsed.spans, *spans})), to_date=to_date)
    unmatched.append(other)
    return parsed


def _repeated_in_comparison(parsed: TimeParse, others: list, unmatched: list[TimeRange]) -> TimeParse:
    """和去年618比 / against Q3 of last year: the period after the comparison word is the
    comparison period itself (a bare one in the comparison's year) — read, not left over."""
    first = parsed.range
    assert first is not None and parsed.comparison is not None
    expected = comparison_range(first, parsed.comparison, parsed.grain)
    spans = set(parsed.spans)
    for other, other_spans, _ in others:
        candidates = [other]
        moved = _in_year(other, expected.start.year, expected.end.year)
        if moved is not None:
            candidates.append(moved)
        if any(_same(c, expected) or _same(c, first) for c in candidates):
            spans.update(other_spans)
            continue
        unmatched.append(other)
        return parsed
    return replace(parsed, spans=tuple(sorted(spans)))


def _unit_of(time_range: TimeRange, grain: Grain | None, as_of_cut: bool) -> Grain | None:
    unit = periods.natural_unit(time_range.start, time_range.end)
    if unit is None and as_of_cut and grain in _UNITS and periods.period_of(grain, time_range.start)[0] == time_range.start:
        unit = grain  # 本季度 cut at the as-of date is still a quarter
    return unit


def _listed(parsed: TimeParse, others: list) -> TimeParse | None:
    """Adjacent periods of one unit listed with 分别/each: one range broken down by the unit."""
    first = parsed.range
    assert first is not None
    ranges = sorted([first, *(o for o, _, _ in others)], key=lambda r: r.start)
    units = {_unit_of(r, parsed.grain, r.end == first.end and parsed.to_date) for r in ranges}
    if len(units) != 1:
        return None
    unit = units.pop()
    if unit is None or unit == "day" and len(ranges) > 7:
        return None
    for before, after in zip(ranges, ranges[1:], strict=False):
        if after.start != before.end + timedelta(days=1):
            return None  # 一季度和三季度分别: not one range (asked about as two periods)
    joiner = "、" if re.search(r"[\u4e00-\u9fff]", first.label or "") else ", "
    labels = [r.label or r.start.isoformat() for r in ranges]
    label = joiner.join(labels[:-1]) + ("和" if joiner == "、" else " and ") + labels[-1]
    whole = TimeRange(start=ranges[0].start, end=ranges[-1].end, label=label)
    spans = {*parsed.spans, *(s for _, sp, _ in others for s in sp)}
    last_cut = parsed.to_date and ranges[-1].end == first.end
    return TimeParse(range=whole, comparison=None, grain=unit, span=parsed.span, spans=tuple(sorted(spans)),
                     to_date=last_cut, listed=True)
