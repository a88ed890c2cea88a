"""Common ways people say periods: festivals (data/festivals.json), leading parts of a year
(前三季度, first three quarters), possessives and 'calendar 2025', several periods in one
question (compared, listed with 分别/each, a year said apart), and follow-ups that move them."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.planner import periods
from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.period_pairs import asks_same_period_only, pair_periods
from chatbi.planner.time_parser import parse_time
from chatbi.semantic.query import TimeRange

AS_OF = date(2026, 9, 30)
D = date


def _range(text: str, as_of: date = AS_OF) -> tuple[date, date] | None:
    parsed = parse_time(text, as_of)
    if parsed is None or parsed.range is None:
        return None
    return parsed.range.start, parsed.range.end


# ------------------------------------------------------------------ festivals from the data file
@pytest.mark.parametrize(("text", "expected"), [
    ("今年618期间的GMV", (D(2026, 6, 1), D(2026, 6, 18))),
    ("2025年618年中大促那几个活动", (D(2025, 6, 1), D(2025, 6, 18))),
    ("年中大促的订单", (D(2026, 6, 1), D(2026, 6, 18))),
    ("618那几天卖了多少", (D(2026, 6, 1), D(2026, 6, 18))),
    ("去年双十一当天成交了多少钱", (D(2025, 11, 11), D(2025, 11, 11))),
    ("双11卖了多少", (D(2025, 11, 11), D(2025, 11, 11))),  # the Chinese name alone: the day
    ("光棍节的订单", (D(2025, 11, 11), D(2025, 11, 11))),
    ("双11期间的订单", (D(2025, 11, 1), D(2025, 11, 11))),
    ("双11活动花了多少钱", (D(2025, 11, 1), D(2025, 11, 11))),  # 活动 means the period, stays a word
    ("net sales on Singles' Day 2025", (D(2025, 11, 1), D(2025, 11, 11))),  # English: the festival
    ("2025年双12", (D(2025, 12, 12), D(2025, 12, 12))),
    ("gmv on black friday last year", (D(2025, 11, 28), D(2025, 11, 28))),
    ("black friday 2024 orders", (D(2024, 11, 29), D(2024, 11, 29))),
    ("2025年春节期间", (D(2025, 1, 28), D(2025, 2, 3))),
])
def test_festivals(text: str, expected: tuple[date, date]) -> None:
    assert _range(text) == expected


def test_a_number_with_a_unit_is_not_a_festival() -> None:
    assert _range("客单价超过618元的订单") is None


def test_festival_dates_come_from_the_data_file() -> None:
    table = periods.festival_table()
    assert table["festivals"]["618"]["period"] == ["06-01", "06-18"]
    assert periods.festival_dates("black_friday", 2019) == (D(2019, 11, 29), D(2019, 11, 29))  # Nov 1 a Friday
    assert periods.festival_dates("nonexistent", 2025) is None
    assert periods.SPRING_FESTIVAL[2026] == D(2026, 2, 17)


# ------------------------------------------------------------------ leading parts of a year
@pytest.mark.parametrize(("text", "expected"), [
    ("今年前三季度 各大区客单价", (D(2026, 1, 1), D(2026, 9, 30))),
    ("前两个季度的订单", (D(2026, 1, 1), D(2026, 6, 30))),
    ("2025年前三季度", (D(2025, 1, 1), D(2025, 9, 30))),
    ("今年前5个月", (D(2026, 1, 1), D(2026, 5, 31))),
    ("first three quarters of 2025", (D(2025, 1, 1), D(2025, 9, 30))),
    ("the first 2 quarters", (D(2026, 1, 1), D(2026, 6, 30))),
    ("first 6 months of last year", (D(2025, 1, 1), D(2025, 6, 30))),
    ("Q1-Q3 2025", (D(2025, 1, 1), D(2025, 9, 30))),
    ("q2 to q3", (D(2026, 4, 1), D(2026, 9, 30))),
    ("2025年二季度到四季度", (D(2025, 4, 1), D(2025, 12, 31))),
])
def test_leading_parts_of_a_year(text: str, expected: tuple[date, date]) -> None:
    assert _range(text) == expected


def test_first_months_without_a_year_are_not_guessed() -> None:
    assert _range("前3个月的GMV") is None  # the first three months, or the three before? not read


# ------------------------------------------------------------------ English forms
@pytest.mark.parametrize(("text", "expected"), [
    ("what fraction of this years gmv", (D(2026, 1, 1), D(2026, 9, 30))),
    ("this year's gmv", (D(2026, 1, 1), D(2026, 9, 30))),
    ("last weeks orders", (D(2026, 9, 21), D(2026, 9, 27))),
    ("Net sales for calendar 2025, please.", (D(2025, 1, 1), D(2025, 12, 31))),
    ("full-year 2025 gmv", (D(2025, 1, 1), D(2025, 12, 31))),
    ("since January", (D(2026, 1, 1), D(2026, 9, 30))),
    ("orders in sept", (D(2026, 9, 1), D(2026, 9, 30))),
    ("in july", (D(2026, 7, 1), D(2026, 7, 31))),
])
def test_english_forms(text: str, expected: tuple[date, date]) -> None:
    assert _range(text) == expected


# ------------------------------------------------------------------ several periods in one question
def _paired(text: str) -> tuple:
    unmatched: list[TimeRange] = []
    parsed = pair_periods(parse_time(text, AS_OF), text, AS_OF, unmatched)
    assert parsed is not None and parsed.range is not None
    return (parsed.range.start, parsed.range.end), parsed.comparison, parsed.grain if parsed.listed else None, unmatched


@pytest.mark.parametrize(("text", "expected", "kind"), [
    ("How does GMV in Q3 stack up against Q3 of last year?", (D(2026, 7, 1), D(2026, 9, 30)), "same_period_last_year"),
    ("Q3 last year vs Q3 this year", (D(2026, 7, 1), D(2026, 9, 30)), "same_period_last_year"),
    ("今年618期间的GMV和去年618比怎么样", (D(2026, 6, 1), D(2026, 6, 18)), "same_period_last_year"),
    ("今年Q2和去年Q2比", (D(2026, 4, 1), D(2026, 6, 30)), "same_period_last_year"),
    ("2025年下半年和上半年比", (D(2025, 7, 1), D(2025, 12, 31)), "previous_period"),
    ("this month vs the same month last year", (D(2026, 9, 1), D(2026, 9, 30)), "same_period_last_year"),
])
def test_two_periods_compared(text: str, expected: tuple[date, date], kind: str) -> None:
    found, comparison, _, unmatched = _paired(text)
    assert (found, comparison, unmatched) == (expected, kind, [])


@pytest.mark.parametrize(("text", "expected", "grain"), [
    ("今年一季度和二季度分别有多少订单", (D(2026, 1, 1), D(2026, 6, 30)), "quarter"),
    ("orders in Q1 and Q2 respectively", (D(2026, 1, 1), D(2026, 6, 30)), "quarter"),
    ("7月、8月和9月各多少单", (D(2026, 7, 1), D(2026, 9, 30)), "month"),
])
def test_periods_listed_with_each_are_a_breakdown(text: str, expected: tuple[date, date], grain: str) -> None:
    found, comparison, listed_grain, unmatched = _paired(text)
    assert (found, comparison, listed_grain, unmatched) == (expected, None, grain, [])


def test_periods_listed_apart_are_not_one_range() -> None:
    _, _, listed, unmatched = _paired("今年一季度和三季度分别有多少订单")
    assert listed is None and len(unmatched) == 1  # asked about, never one range with Q2 in it


@pytest.mark.parametrize(("text", "expected"), [
    ("black friday sales last year", (D(2025, 11, 28), D(2025, 11, 28))),
    ("Q3 sales last year", (D(2025, 7, 1), D(2025, 9, 30))),
    ("去年 618期间的GMV", (D(2025, 6, 1), D(2025, 6, 18))),
])
def test_a_year_said_apart_qualifies_the_period(text: str, expected: tuple[date, date]) -> None:
    found, comparison, _, unmatched = _paired(text)
    assert (found, comparison, unmatched) == (expected, None, [])


def test_unrelated_periods_are_returned() -> None:
    _, _, _, unmatched = _paired("3月和去年11月的GMV")
    assert len(unmatched) == 1


@pytest.mark.parametrize(("text", "only"), [
    ("去年同期呢？", True), ("same period last year?", True), ("那去年同期的呢", True),
    ("和去年同期比呢", False), ("同比呢", False), ("vs same period last year", False),
])
def test_same_period_only(text: str, only: bool) -> None:
    assert asks_same_period_only(text.lower()) is only


# ------------------------------------------------------------------ through the planner
def _plans(planner: OfflinePlanner, *questions: str) -> list:
    conversation = Conversation()
    return [planner.plan(q, as_of=AS_OF, conversation=conversation) for q in questions]


def _dates(plan) -> tuple[date, date]:
    assert plan.query is not None and plan.query.time_range is not None, plan.message
    return plan.query.time_range.start, plan.query.time_range.end


def test_listed_quarters_then_same_period_last_year(real_planner: OfflinePlanner) -> None:
    first, second = _plans(real_planner, "今年一季度和二季度分别有多少订单？", "去年同期呢？")
    assert (_dates(first), first.query.grain, first.query.comparison) == ((D(2026, 1, 1), D(2026, 6, 30)), "quarter", None)
    assert (_dates(second), second.query.grain, second.query.comparison) == ((D(2025, 1, 1), D(2025, 6, 30)), "quarter", None)


def test_same_period_last_year_alone_moves_the_period(real_planner: OfflinePlanner) -> None:
    _, second, third = _plans(real_planner, "gmv ytd", "and the same period last yr?", "by quarter")
    assert (_dates(second), second.query.comparison) == ((D(2025, 1, 1), D(2025, 9, 30)), None)
    assert (_dates(third), third.query.grain) == ((D(2025, 1, 1), D(2025, 9, 30)), "quarter")


def test_compare_word_after_a_breakdown_still_compares(real_planner: OfflinePlanner) -> None:
    _, second = _plans(real_planner, "今年每个月的GMV", "和去年同期比呢")
    assert (_dates(second), second.query.comparison) == ((D(2026, 1, 1), D(2026, 9, 30)), "same_period_last_year")


def test_the_week_prior(real_planner: OfflinePlanner) -> None:
    _, second = _plans(real_planner, "How many cancellations did we have last week?", "The week prior?")
    assert _dates(second) == (D(2026, 9, 14), D(2026, 9, 20))


def test_q3_against_q3_of_last_year(real_planner: OfflinePlanner) -> None:
    (plan,) = _plans(real_planner, "How does GMV in Q3 stack up against Q3 of last year?")
    assert plan.intent == "query", plan.message
    assert (_dates(plan), plan.query.comparison) == ((D(2026, 7, 1), D(2026, 9, 30)), "same_period_last_year")


def test_mistyped_grain_word_is_read_and_stated(real_planner: OfflinePlanner) -> None:
    (plan,) = _plans(real_planner, "monhtly order count for 2025 pls")
    assert plan.intent == "query", plan.message
    assert (_dates(plan), plan.query.grain) == ((D(2025, 1, 1), D(2025, 12, 31)), "month")
    assert any("monhtly" in note for note in plan.notes)


def test_first_three_quarters_is_one_period(real_planner: OfflinePlanner) -> None:
    (plan,) = _plans(real_planner, "今年前三季度各大区的客单价")
    assert plan.intent == "query", plan.message
    assert _dates(plan) == (D(2026, 1, 1), D(2026, 9, 30))


def test_same_period_in_a_comparison_of_its_own_period_points_nowhere(real_planner: OfflinePlanner) -> None:
    (plan,) = _plans(real_planner, "商户8今年客单价多少 跟去年同期比呢")
    assert plan.intent == "query", plan.message  # 同期 here compares, it does not point at an earlier answer
    assert (_dates(plan), plan.query.comparison) == ((D(2026, 1, 1), D(2026, 9, 30)), "same_period_last_year")
