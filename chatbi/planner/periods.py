"""Calendar arithmetic: periods containing a date (weeks start Monday, calendar
quarters), festival dates, and comparison periods. All month math uses relativedelta."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from chatbi.semantic.query import ComparisonKind, Grain

#: 春节 (lunar new year's day), used for 春节期间 = 除夕 .. 初六
SPRING_FESTIVAL = {
    2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28),
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25),
    2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
    2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
    2033: date(2033, 1, 31), 2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}


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


def festival(name: str, year: int) -> tuple[date, date] | None:
    """Shopping festivals and holidays: 双11 = 11-01..11-11, 618 = 06-01..06-18…"""
    fixed = {
        "double11": ((11, 1), (11, 11)),
        "double12": ((12, 1), (12, 12)),
        "618": ((6, 1), (6, 18)),
        "national_day": ((10, 1), (10, 7)),
        "new_year": ((1, 1), (1, 1)),
        "labour_day": ((5, 1), (5, 5)),
    }
    if name in fixed:
        (m1, d1), (m2, d2) = fixed[name]
        return date(year, m1, d1), date(year, m2, d2)
    if name == "spring_festival" and year in SPRING_FESTIVAL:
        new_year = SPRING_FESTIVAL[year]
        return new_year - timedelta(days=1), new_year + timedelta(days=5)
    return None


def festival_day(name: str, year: int) -> tuple[date, date] | None:
    """The festival's own day (双11当天 = 11-11, 618当天 = 06-18, 春节当天 = the lunar new year)."""
    days = {"double11": (11, 11), "double12": (12, 12), "618": (6, 18), "national_day": (10, 1),
            "new_year": (1, 1), "labour_day": (5, 1)}
    if name in days:
        found = date(year, *days[name])
        return found, found
    if name == "spring_festival" and year in SPRING_FESTIVAL:
        day = SPRING_FESTIVAL[year]
        return day, day
    return None


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
