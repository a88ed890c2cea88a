"""Calendar patterns of the tiny demo: festivals, Spring Festival, weekdays, growth, channels."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.warehouse.conftest import rows, scalar

GMV = "SELECT sum(pay_amount) FROM orders WHERE status <> 'cancelled' AND order_ts >= ? AND order_ts < ?"
ORDERS = "SELECT count(*) FROM orders WHERE status <> 'cancelled' AND order_ts >= ? AND order_ts < ?"


@pytest.mark.parametrize("year", [2024, 2025])
def test_double_eleven_month_beats_september(con, year: int) -> None:
    nov = scalar(con, ORDERS, date(year, 11, 1), date(year, 12, 1))
    sep = scalar(con, ORDERS, date(year, 9, 1), date(year, 10, 1))
    assert nov > 1.15 * sep
    assert scalar(con, GMV, date(year, 11, 1), date(year, 12, 1)) > scalar(con, GMV, date(year, 9, 1), date(year, 10, 1))
    singles_day = scalar(con, ORDERS, date(year, 11, 11), date(year, 11, 12))
    late_nov = scalar(con, ORDERS, date(year, 11, 15), date(year, 12, 1)) / 16
    assert singles_day > 2 * late_nov


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_june_618_beats_may(con, year: int) -> None:
    assert scalar(con, ORDERS, date(year, 6, 1), date(year, 7, 1)) > scalar(con, ORDERS, date(year, 5, 1), date(year, 6, 1))


@pytest.mark.parametrize("festival", [date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17)])
def test_spring_festival_dip(con, festival: date) -> None:
    week_of = scalar(con, ORDERS, festival - timedelta(days=3), festival + timedelta(days=4))
    later = scalar(con, ORDERS, festival + timedelta(days=14), festival + timedelta(days=21))
    assert week_of < 0.7 * later


def test_weekends_are_busier_than_weekdays(con) -> None:
    by_dow = dict(rows(con, """SELECT isodow(order_ts) >= 6, count(*) / count(DISTINCT order_ts::DATE)
                               FROM orders GROUP BY 1"""))
    assert by_dow[True] > 1.04 * by_dow[False]


def test_year_over_year_growth(con) -> None:
    last = scalar(con, GMV, date(2025, 10, 1), date(2026, 10, 1))
    before = scalar(con, GMV, date(2024, 10, 1), date(2025, 10, 1))
    assert 1.1 < last / before < 1.6
    assert scalar(con, ORDERS, date(2025, 10, 1), date(2026, 10, 1)) > 1.1 * scalar(con, ORDERS, date(2024, 10, 1), date(2025, 10, 1))
    assert scalar(con, "SELECT count(*) FROM users WHERE signup_date >= DATE '2025-10-01'") > \
        scalar(con, "SELECT count(*) FROM users WHERE signup_date >= DATE '2024-10-01' AND signup_date < DATE '2025-10-01'")


def test_channel_mix_shifts_to_douyin_and_xiaohongshu(con) -> None:
    share = """SELECT channel, count(*) / sum(count(*)) OVER () FROM orders
               WHERE order_ts >= ? AND order_ts < ? GROUP BY 1"""
    first = dict(rows(con, share, date(2023, 10, 1), date(2024, 10, 1)))
    last = dict(rows(con, share, date(2025, 10, 1), date(2026, 10, 1)))
    assert last["抖音"] > first["抖音"] + 0.05
    assert last["小红书"] > first["小红书"] + 0.03
    assert last["搜索竞价"] < first["搜索竞价"] - 0.05
