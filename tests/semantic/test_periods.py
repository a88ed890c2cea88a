"""Comparison periods for 环比 (previous_period) and 同比 (same_period_last_year)."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.semantic.periods import add_months, comparison_range
from chatbi.semantic.query import TimeRange


@pytest.mark.parametrize(("start", "end", "kind", "grain", "expected"), [
    # whole calendar months move by months: a quarter to the quarter before, a month to the month before
    (date(2026, 4, 1), date(2026, 6, 30), "previous_period", None, (date(2026, 1, 1), date(2026, 3, 31))),
    (date(2026, 8, 1), date(2026, 8, 31), "previous_period", None, (date(2026, 7, 1), date(2026, 7, 31))),
    (date(2026, 3, 1), date(2026, 3, 31), "previous_period", None, (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2026, 1, 1), date(2026, 12, 31), "previous_period", None, (date(2025, 1, 1), date(2025, 12, 31))),
    # other ranges: the same number of days right before
    (date(2026, 9, 2), date(2026, 9, 30), "previous_period", None, (date(2026, 8, 4), date(2026, 9, 1))),
    (date(2026, 9, 7), date(2026, 9, 13), "previous_period", None, (date(2026, 8, 31), date(2026, 9, 6))),
    # a trend compares each bucket with the one before
    (date(2026, 1, 1), date(2026, 9, 30), "previous_period", "month", (date(2025, 12, 1), date(2026, 8, 31))),
    (date(2026, 9, 7), date(2026, 9, 20), "previous_period", "week", (date(2026, 8, 31), date(2026, 9, 13))),
    (date(2026, 1, 1), date(2026, 6, 30), "previous_period", "quarter", (date(2025, 10, 1), date(2026, 3, 31))),
    # year over year
    (date(2026, 7, 1), date(2026, 9, 30), "same_period_last_year", None, (date(2025, 7, 1), date(2025, 9, 30))),
    (date(2025, 2, 1), date(2025, 2, 28), "same_period_last_year", None, (date(2024, 2, 1), date(2024, 2, 29))),
    (date(2024, 2, 10), date(2024, 2, 29), "same_period_last_year", "day", (date(2023, 2, 10), date(2023, 2, 28))),
    (date(2026, 9, 7), date(2026, 9, 20), "same_period_last_year", "week", (date(2025, 9, 8), date(2025, 9, 21))),
])
def test_comparison_range(start: date, end: date, kind: str, grain: str | None,
                          expected: tuple[date, date]) -> None:
    got = comparison_range(TimeRange(start=start, end=end), kind, grain)  # type: ignore[arg-type]
    assert (got.start, got.end) == expected


def test_add_months_clips_and_keeps_month_ends() -> None:
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 2, 28), 1, keep_month_end=True) == date(2026, 3, 31)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
