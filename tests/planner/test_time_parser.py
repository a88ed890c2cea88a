"""Every time expression the planner understands, resolved against fixed as-of dates."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.planner.periods import comparison_range
from chatbi.planner.time_parser import parse_time

AS_OF = date(2026, 9, 30)  # a Wednesday, end of Q3
D = date

RANGES = [
    # (text, as_of, start, end, label)
    ("今天的GMV", AS_OF, D(2026, 9, 30), D(2026, 9, 30), "今天"),
    ("昨天的订单数", AS_OF, D(2026, 9, 29), D(2026, 9, 29), "昨天"),
    ("本周", AS_OF, D(2026, 9, 28), D(2026, 9, 30), "本周"),
    ("上周", AS_OF, D(2026, 9, 21), D(2026, 9, 27), "上周"),
    ("本月", AS_OF, D(2026, 9, 1), D(2026, 9, 30), "本月"),
    ("上个月", AS_OF, D(2026, 8, 1), D(2026, 8, 31), "上个月"),
    ("上月", AS_OF, D(2026, 8, 1), D(2026, 8, 31), "上月"),
    ("近7天", AS_OF, D(2026, 9, 24), D(2026, 9, 30), "近7天"),
    ("近30天", AS_OF, D(2026, 9, 1), D(2026, 9, 30), "近30天"),
    ("近三个月", AS_OF, D(2026, 7, 1), D(2026, 9, 30), "近三个月"),
    ("最近2周", AS_OF, D(2026, 9, 17), D(2026, 9, 30), "最近2周"),
    ("最近一年", AS_OF, D(2025, 10, 1), D(2026, 9, 30), "最近一年"),
    ("过去十天", AS_OF, D(2026, 9, 21), D(2026, 9, 30), "过去十天"),
    ("近半年", AS_OF, D(2026, 3, 31), D(2026, 9, 30), "近半年"),
    ("本季度", AS_OF, D(2026, 7, 1), D(2026, 9, 30), "本季度"),
    ("上个季度", AS_OF, D(2026, 4, 1), D(2026, 6, 30), "上个季度"),
    ("今年", AS_OF, D(2026, 1, 1), D(2026, 9, 30), "今年"),
    ("去年", AS_OF, D(2025, 1, 1), D(2025, 12, 31), "去年"),
    ("前年", AS_OF, D(2024, 1, 1), D(2024, 12, 31), "前年"),
    ("上半年", AS_OF, D(2026, 1, 1), D(2026, 6, 30), "上半年"),
    ("下半年", AS_OF, D(2026, 7, 1), D(2026, 9, 30), "下半年"),
    ("去年下半年", AS_OF, D(2025, 7, 1), D(2025, 12, 31), "去年下半年"),
    ("2025年", AS_OF, D(2025, 1, 1), D(2025, 12, 31), "2025年"),
    ("2025年3月", AS_OF, D(2025, 3, 1), D(2025, 3, 31), "2025年3月"),
    ("2025-03", AS_OF, D(2025, 3, 1), D(2025, 3, 31), "2025-03"),
    ("3月", AS_OF, D(2026, 3, 1), D(2026, 3, 31), "3月"),
    ("11月", AS_OF, D(2025, 11, 1), D(2025, 11, 30), "11月"),  # not yet this year → last year
    ("3月15日", AS_OF, D(2026, 3, 15), D(2026, 3, 15), "3月15日"),
    ("2025Q3", AS_OF, D(2025, 7, 1), D(2025, 9, 30), "2025Q3"),
    ("2025Q3华东的退货率", AS_OF, D(2025, 7, 1), D(2025, 9, 30), "2025Q3"),
    ("2025年第三季度", AS_OF, D(2025, 7, 1), D(2025, 9, 30), "2025年第三季度"),
    ("2025年三季度", AS_OF, D(2025, 7, 1), D(2025, 9, 30), "2025年三季度"),
    ("Q3", AS_OF, D(2026, 7, 1), D(2026, 9, 30), "Q3"),
    ("第一季度", AS_OF, D(2026, 1, 1), D(2026, 3, 31), "第一季度"),
    ("双11期间", AS_OF, D(2025, 11, 1), D(2025, 11, 11), "双11期间"),
    ("双十一", AS_OF, D(2025, 11, 11), D(2025, 11, 11), "双十一"),  # the name alone: the day (data/festivals.json)
    ("618期间", AS_OF, D(2026, 6, 1), D(2026, 6, 18), "618期间"),
    ("去年618", AS_OF, D(2025, 6, 1), D(2025, 6, 18), "去年618"),
    ("春节期间", AS_OF, D(2026, 2, 16), D(2026, 2, 22), "春节期间"),
    ("2025年春节", AS_OF, D(2025, 1, 28), D(2025, 2, 3), "2025年春节"),
    ("今年以来", AS_OF, D(2026, 1, 1), D(2026, 9, 30), "今年以来"),
    ("年初至今", AS_OF, D(2026, 1, 1), D(2026, 9, 30), "年初至今"),
    ("本月至今", AS_OF, D(2026, 9, 1), D(2026, 9, 30), "本月至今"),
    ("2025-01-01到2025-03-31", AS_OF, D(2025, 1, 1), D(2025, 3, 31), "2025-01-01到2025-03-31"),
    ("2025-01-01 至 2025-03-31", AS_OF, D(2025, 1, 1), D(2025, 3, 31), "2025-01-01 至 2025-03-31"),
    ("从2025年1月到3月", AS_OF, D(2025, 1, 1), D(2025, 3, 31), "从2025年1月到3月"),
    ("2025/1/1-2025/2/15", AS_OF, D(2025, 1, 1), D(2025, 2, 15), "2025/1/1-2025/2/15"),
    ("2025年以来", AS_OF, D(2025, 1, 1), D(2026, 9, 30), "2025年以来"),
    ("today", AS_OF, D(2026, 9, 30), D(2026, 9, 30), "today"),
    ("yesterday", AS_OF, D(2026, 9, 29), D(2026, 9, 29), "yesterday"),
    ("GMV this week", AS_OF, D(2026, 9, 28), D(2026, 9, 30), "this week"),
    ("orders last week", AS_OF, D(2026, 9, 21), D(2026, 9, 27), "last week"),
    ("this month", AS_OF, D(2026, 9, 1), D(2026, 9, 30), "this month"),
    ("last month", AS_OF, D(2026, 8, 1), D(2026, 8, 31), "last month"),
    ("this quarter", AS_OF, D(2026, 7, 1), D(2026, 9, 30), "this quarter"),
    ("last quarter", AS_OF, D(2026, 4, 1), D(2026, 6, 30), "last quarter"),
    ("this year", AS_OF, D(2026, 1, 1), D(2026, 9, 30), "this year"),
    ("last year", AS_OF, D(2025, 1, 1), D(2025, 12, 31), "last year"),
    ("the last 90 days", AS_OF, D(2026, 7, 3), D(2026, 9, 30), "last 90 days"),
    ("past 3 months", AS_OF, D(2026, 7, 1), D(2026, 9, 30), "past 3 months"),
    ("last seven days", AS_OF, D(2026, 9, 24), D(2026, 9, 30), "last seven days"),
    ("YTD", AS_OF, D(2026, 1, 1), D(2026, 9, 30), "YTD"),
    ("GMV MTD", AS_OF, D(2026, 9, 1), D(2026, 9, 30), "MTD"),
    ("Q3 2025", AS_OF, D(2025, 7, 1), D(2025, 9, 30), "Q3 2025"),
    ("first half of 2025", AS_OF, D(2025, 1, 1), D(2025, 6, 30), "first half of 2025"),
    ("March 2025", AS_OF, D(2025, 3, 1), D(2025, 3, 31), "March 2025"),
    ("GMV in 2025", AS_OF, D(2025, 1, 1), D(2025, 12, 31), "2025"),
    ("between 2025-01-01 and 2025-03-31", AS_OF, D(2025, 1, 1), D(2025, 3, 31), "between 2025-01-01 and 2025-03-31"),
    ("since 2025-06-01", AS_OF, D(2025, 6, 1), D(2026, 9, 30), "since 2025-06-01"),
    ("double 11", AS_OF, D(2025, 11, 1), D(2025, 11, 11), "double 11"),  # in English the name alone is the festival
    ("double 11 sale", AS_OF, D(2025, 11, 1), D(2025, 11, 11), "double 11 sale"),
    # year boundaries: as-of early January
    ("上周", D(2026, 1, 5), D(2025, 12, 29), D(2026, 1, 4), "上周"),
    ("本周", D(2026, 1, 1), D(2025, 12, 29), D(2026, 1, 1), "本周"),
    ("上个月", D(2026, 1, 5), D(2025, 12, 1), D(2025, 12, 31), "上个月"),
    ("上个季度", D(2026, 1, 5), D(2025, 10, 1), D(2025, 12, 31), "上个季度"),
    ("本季度", D(2026, 1, 5), D(2026, 1, 1), D(2026, 1, 5), "本季度"),
    ("去年", D(2026, 1, 5), D(2025, 1, 1), D(2025, 12, 31), "去年"),
    ("近30天", D(2026, 1, 5), D(2025, 12, 7), D(2026, 1, 5), "近30天"),
    ("近三个月", D(2026, 1, 31), D(2025, 11, 1), D(2026, 1, 31), "近三个月"),
    ("双11期间", D(2026, 1, 5), D(2025, 11, 1), D(2025, 11, 11), "双11期间"),
    ("Q4", D(2026, 1, 5), D(2025, 10, 1), D(2025, 12, 31), "Q4"),
    ("下半年", D(2026, 1, 5), D(2025, 7, 1), D(2025, 12, 31), "下半年"),
    ("春节期间", D(2026, 1, 5), D(2025, 1, 28), D(2025, 2, 3), "春节期间"),
    # month ends and leap years
    ("上个月", D(2024, 3, 31), D(2024, 2, 1), D(2024, 2, 29), "上个月"),
    ("近一个月", D(2024, 3, 31), D(2024, 3, 1), D(2024, 3, 31), "近一个月"),
    ("双11期间", D(2025, 11, 5), D(2025, 11, 1), D(2025, 11, 5), "双11期间"),
]


@pytest.mark.parametrize(("text", "as_of", "start", "end", "label"), RANGES, ids=[f"{r[0]}@{r[1]}" for r in RANGES])
def test_range(text: str, as_of: date, start: date, end: date, label: str) -> None:
    parsed = parse_time(text, as_of)
    assert parsed is not None and parsed.range is not None, text
    assert (parsed.range.start, parsed.range.end) == (start, end)
    assert parsed.range.label == label
    assert parsed.range.end <= max(as_of, end)


COMPARISONS = [
    ("今年GMV同比增长多少", "same_period_last_year", (D(2026, 1, 1), D(2026, 9, 30))),
    ("今年GMV比去年增长多少", "same_period_last_year", (D(2026, 1, 1), D(2026, 9, 30))),
    ("上个月环比", "previous_period", (D(2026, 8, 1), D(2026, 8, 31))),
    ("本月订单数比上个月多吗", "previous_period", (D(2026, 9, 1), D(2026, 9, 30))),
    ("GMV YoY", "same_period_last_year", None),
    ("GMV MoM", "previous_period", None),
    ("orders QoQ this quarter", "previous_period", (D(2026, 7, 1), D(2026, 9, 30))),
    ("GMV last quarter vs last year", "same_period_last_year", (D(2026, 4, 1), D(2026, 6, 30))),
    ("同比", "same_period_last_year", None),
    ("环比", "previous_period", None),
]


@pytest.mark.parametrize(("text", "kind", "dates"), COMPARISONS)
def test_comparison(text: str, kind: str, dates: tuple[date, date] | None) -> None:
    parsed = parse_time(text, AS_OF)
    assert parsed is not None
    assert parsed.comparison == kind
    if dates is None:
        assert parsed.range is None
    else:
        assert parsed.range is not None and (parsed.range.start, parsed.range.end) == dates


def test_comparison_word_grain_hints() -> None:
    assert parse_time("GMV QoQ", AS_OF).grain == "quarter"  # type: ignore[union-attr]
    assert parse_time("GMV MoM", AS_OF).grain == "month"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["各大区的GMV", "销售额最高的5个商户", "top 10 categories by orders", "", "GMV by region", "25-35岁用户"])
def test_no_time(text: str) -> None:
    assert parse_time(text, AS_OF) is None


def test_shown_with_dates() -> None:
    parsed = parse_time("上个季度华东大区哪个品类的销售额增长最快", AS_OF)
    assert parsed is not None
    assert parsed.describe("zh") == "上个季度 = 2026-04-01 至 2026-06-30"
    assert parse_time("last quarter", AS_OF).describe("en") == "last quarter = 2026-04-01 to 2026-06-30"  # type: ignore[union-attr]


def test_span_slices_the_question() -> None:
    text = "请问２０２５年３月华东的GMV"  # full-width digits
    parsed = parse_time(text, AS_OF)
    assert parsed is not None and parsed.span is not None
    assert text[parsed.span[0] : parsed.span[1]] == "２０２５年３月"
    assert (parsed.range.start, parsed.range.end) == (D(2025, 3, 1), D(2025, 3, 31))  # type: ignore[union-attr]


def test_longest_expression_wins() -> None:
    assert parse_time("2025年第三季度", AS_OF).grain == "quarter"  # type: ignore[union-attr]
    assert parse_time("近3个月", AS_OF).range.start == D(2026, 7, 1)  # type: ignore[union-attr]


def test_natural_grain() -> None:
    assert parse_time("上个季度", AS_OF).grain == "quarter"  # type: ignore[union-attr]
    assert parse_time("近30天", AS_OF).grain == "day"  # type: ignore[union-attr]
    assert parse_time("上个月", AS_OF).grain == "month"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("start", "end", "kind", "expected"),
    [
        (D(2026, 4, 1), D(2026, 6, 30), "previous_period", (D(2026, 1, 1), D(2026, 3, 31))),
        (D(2026, 8, 1), D(2026, 8, 31), "previous_period", (D(2026, 7, 1), D(2026, 7, 31))),
        (D(2026, 1, 1), D(2026, 9, 30), "same_period_last_year", (D(2025, 1, 1), D(2025, 9, 30))),
        (D(2024, 2, 29), D(2024, 2, 29), "same_period_last_year", (D(2023, 2, 28), D(2023, 2, 28))),
        (D(2026, 9, 24), D(2026, 9, 30), "previous_period", (D(2026, 9, 17), D(2026, 9, 23))),
    ],
)
def test_comparison_range(start: date, end: date, kind: str, expected: tuple[date, date]) -> None:
    assert comparison_range(start, end, kind) == expected  # type: ignore[arg-type]
