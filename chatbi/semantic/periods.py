"""Comparison periods: the range a ``previous_period`` or ``same_period_last_year`` reads.

- previous_period without a grain: the same-length range right before. When the range is
  made of whole calendar months (a month, a quarter, a year), "same length" means the same
  number of months (Q2 -> Q1, August -> July); otherwise the same number of days.
- previous_period with a grain (a trend): each bucket is compared with the bucket one grain
  before (month over month, week over week…), so the range moves back one grain.
- same_period_last_year: the range one year earlier (with a week grain, 52 weeks earlier so
  weeks stay aligned on Mondays).

A month end stays a month end (2026-09-30 one month back is 2026-08-31).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from chatbi.semantic.query import ComparisonKind, Grain, TimeRange


@dataclass(frozen=True)
class Shift:
    """How the comparison period relates to the current one, for bucket alignment in SQL."""

    amount: int
    unit: str  # DAY, MONTH or YEAR (SQL interval units)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int, keep_month_end: bool = False) -> date:
    """``day`` moved by ``months`` calendar months (clipped to the month's length)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if keep_month_end and day == _month_end(day):
        return date(year, month + 1, last)
    return date(year, month + 1, min(day.day, last))


def _whole_months(time_range: TimeRange) -> int | None:
    start, end = time_range.start, time_range.end
    if start.day != 1 or end != _month_end(end) or end < start:
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _shift_range(time_range: TimeRange, shift: Shift) -> tuple[date, date]:
    if shift.unit == "DAY":
        delta = timedelta(days=shift.amount)
        return time_range.start - delta, time_range.end - delta
    months = shift.amount * (12 if shift.unit == "YEAR" else 1)
    return (add_months(time_range.start, -months, keep_month_end=False),
            add_months(time_range.end, -months, keep_month_end=True))


def comparison_shift(time_range: TimeRange, kind: ComparisonKind, grain: Grain | None) -> Shift:
    """How far back the comparison period lies."""
    if kind == "same_period_last_year":
        return Shift(364, "DAY") if grain == "week" else Shift(1, "YEAR")
    if grain is not None:
        return {"day": Shift(1, "DAY"), "week": Shift(7, "DAY"), "month": Shift(1, "MONTH"),
                "quarter": Shift(3, "MONTH"), "year": Shift(1, "YEAR")}[grain]
    months = _whole_months(time_range)
    if months is not None:
        return Shift(months, "MONTH")
    return Shift((time_range.end - time_range.start).days + 1, "DAY")


def comparison_range(time_range: TimeRange, kind: ComparisonKind, grain: Grain | None) -> TimeRange:
    """The comparison period's inclusive date range, labelled."""
    start, end = _shift_range(time_range, comparison_shift(time_range, kind, grain))
    label = "上年同期" if kind == "same_period_last_year" else "上一周期"
    return TimeRange(start=start, end=end, label=label)
