"""Calendar arithmetic: periods containing a date (weeks start Monday, calendar
quarters), festival dates, and comparison periods. All month math uses relativedelta."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from dateutil.relativedelta import relativedelta

from chatbi.semantic.query import ComparisonKind, Grain

_FESTIVAL_FILE = "data/festivals.json"


@lru_cache(maxsize=1)
def festival_table() -> dict[str, Any]:
    """``data/festivals.json``: the shopping festivals and holidays, their names and dates."""
    text = resources.files("chatbi.planner").joinpath(_FESTIVAL_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _lunar_new_year(year: int) -> date | None:
    found = festival_table()["lunar_new_year"].get(str(year))
    return date.fromisoformat(found) if found else None


#: 春节 (lunar new year's day) by year, from the festival data file
SPRING_FESTIVAL = {int(y): date.fromisoformat(d) for y, d in festival_table()["lunar_new_year"].items()}


def period_of(unit: Grain, day: date) -> tuple[date, date]:
    """The calendar ``unit`` (day/week/month/quarter/year) that contains ``day``."""
    if unit == "day":
        return day, day
    if unit == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if unit == "month":
        start = day.replace(day=1)
        return start, start + relativedelta(months=1, days=-1)
    if unit == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return start, start + relativedelta(months=3, days=-1)
    start = date(day.year, 1, 1)
    return start, date(day.year, 12, 31)


def shift(day: date, unit: Grain, count: int) -> date:
    """``day`` moved by ``count`` units (negative = back)."""
    if unit == "day":
        return day + relativedelta(days=count)
    if unit == "week":
        return day + relativedelta(weeks=count)
    if unit == "month":
        return day + relativedelta(months=count)
    if unit == "quarter":
        return day + relativedelta(months=3 * count)
    return day + relativedelta(years=count)


def relative_period(unit: Grain, offset: int, as_of: date) -> tuple[date, date]:
    """This (offset 0) / last (offset -1) … calendar unit relative to ``as_of``."""
    return period_of(unit, shift(period_of(unit, as_of)[0], unit, offset))


def rolling(unit: Grain, count: int, as_of: date) -> tuple[date, date]:
    """The last ``count`` units ending on ``as_of`` (近30天 = as_of-29 .. as_of)."""
    return shift(as_of, unit, -count) + timedelta(days=1), as_of


def quarter_of_year(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    return start, start + relativedelta(months=3, days=-1)


def month_of_year(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    return start, start + relativedelta(months=1, days=-1)


def half_of_year(year: int, half: int) -> tuple[date, date]:
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


def _month_day(year: int, text: str) -> date:
    month, day = (int(part) for part in text.split("-"))
    return date(year, month, day)


def _nth_weekday(year: int, rule: dict[str, int]) -> date:
    first = date(year, rule["month"], 1)
    day = first + timedelta(days=(rule["weekday"] - first.weekday()) % 7 + 7 * (rule["n"] - 1))
    return day + timedelta(days=rule.get("offset_days", 0))


def festival_dates(name: str, year: int, which: Literal["period", "day", "bare"] = "period",
                   language: str = "zh") -> tuple[date, date] | None:
    """A festival of ``year`` from ``data/festivals.json``: its period (618 = 06-01..06-18), its
    own day (双11当天 = 11-11), or what its name alone means (``bare``, which may depend on the
    ``language`` of the name said). None when the festival is unknown or has no date that year
    (春节 outside the lunar table)."""
    spec = festival_table()["festivals"].get(name)
    if spec is None:
        return None
    if which == "bare":
        bare = spec.get("bare", "period")
        which = bare.get(language, "period") if isinstance(bare, dict) else bare
    if "lunar" in spec:
        new_year = _lunar_new_year(year)
        if new_year is None:
            return None
        if which == "day":
            day = new_year + timedelta(days=spec["lunar"]["day"])
            return day, day
        first, last = spec["lunar"]["period"]
        return new_year + timedelta(days=first), new_year + timedelta(days=last)
    if "nth_weekday" in spec:
        day = _nth_weekday(year, spec["nth_weekday"])
        return day, day  # a one-day event: its period is its day
    if which == "day" or "period" not in spec:
        day = _month_day(year, spec["day"])
        return day, day
    first, last = spec["period"]
    return _month_day(year, first), _month_day(year, last)


def festival(name: str, year: int) -> tuple[date, date] | None:
    """Shopping festivals and holidays: 双11期间 = 11-01..11-11, 618 = 06-01..06-18…"""
    return festival_dates(name, year, "period")


def festival_day(name: str, year: int) -> tuple[date, date] | None:
    """The festival's own day (双11当天 = 11-11, 618当天 = 06-18, 春节当天 = the lunar new year)."""
    return festival_dates(name, year, "day")


def is_full_period(start: date, end: date, unit: Grain) -> bool:
    return period_of(unit, start) == (start, end)


def natural_unit(start: date, end: date) -> Grain | None:
    """The calendar unit a range is exactly aligned to, if any (largest first)."""
    for unit in ("year", "quarter", "month", "week", "day"):
        if is_full_period(start, end, unit):  # type: ignore[arg-type]
            return unit  # type: ignore[return-value]
    return None


def comparison_range(
    start: date, end: date, kind: ComparisonKind, unit: Grain | None = None
) -> tuple[date, date]:
    """The period a range is compared with.

    ``same_period_last_year``: the same dates one year earlier. ``previous_period``: the
    previous calendar unit when the range starts on a unit boundary (上个季度 → the quarter
    before; 本月 to date → the same days of last month), else the same number of days
    immediately before.
    """
    if kind == "same_period_last_year":
        return start - relativedelta(years=1), end - relativedelta(years=1)
    unit = unit or natural_unit(start, end)
    if unit in ("month", "quarter", "year", "week") and period_of(unit, start)[0] == start:
        prev_start = shift(start, unit, -1)
        if period_of(unit, start)[1] == end:
            return period_of(unit, prev_start)
        prev_end = min(shift(end, unit, -1), period_of(unit, prev_start)[1])
        return prev_start, prev_end
    days = (end - start).days + 1
    return start - timedelta(days=days), end - timedelta(days=days)


def suggest_grain(start: date, end: date) -> Grain:
    """A readable trend grain for a range: days up to ~1 month, weeks to ~1 quarter…"""
    days = (end - start).days + 1
    if days <= 31:
        return "day"
    if days <= 92:
        return "week"
    if days <= 3 * 366:
        return "month"
    return "quarter"
