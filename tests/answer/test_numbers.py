"""Number formatting (¥, 万/亿, K/M/B, %, separators) and extraction from text."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.answer.numbers import (
    axis_format,
    cn_to_number,
    extract_numbers,
    format_count,
    format_money,
    format_percent,
    format_period,
    format_value,
)


@pytest.mark.parametrize(("value", "language", "ref", "expected"), [
    (1_711_000, "zh", None, "¥171.1万"),
    (1_240_345, "zh", None, "¥124.0万"),
    (17_100, "zh", None, "¥1.71万"),
    (170_000_000, "zh", None, "¥1.70亿"),
    (8_532.4, "zh", None, "¥8,532"),
    (385.62, "zh", None, "¥385.6"),
    (-32_000, "zh", None, "-¥3.20万"),
    (1_711_000, "en", None, "¥1.71M"),
    (210_000, "en", 5_000_000, "¥210.0K"),  # too small for the total's M: own scale, never ¥0.21M
    (44_000, "en", None, "¥44.0K"),
    (2_500_000_000, "en", None, "¥2.50B"),
    (5_000, "zh", 100_000_000, "¥5,000"),  # too small for the reference's 亿: own scale
    (25_362_386, "zh", 238_794_087, "¥2,536万"),  # never ¥0.25亿
])
def test_format_money(value: float, language: str, ref: float | None, expected: str) -> None:
    assert format_money(value, language, ref) == expected


def test_format_percent_count_and_others() -> None:
    assert format_percent(0.382) == "38.2%"
    assert format_percent(-0.065, signed=True) == "-6.5%"
    assert format_percent(0.065, signed=True) == "+6.5%"
    assert format_percent(0.004) == "0.40%"
    assert format_percent(0.0) == "0%"
    assert format_count(1234) == "1,234"
    assert format_count(123_456) == "12.3万"
    assert format_count(123_456, "en") == "123,456"
    assert format_count(1_234_567, "en") == "1.23M"
    assert format_value(12.345, "days") == "12.3天"
    assert format_value(12.345, "days", "en") == "12.3 days"
    assert format_value(4.623, "score") == "4.62"
    assert format_value(0.123, "percent") == "12.3%"
    assert format_value(120, "integer", unit="单") == "120单"
    assert format_value(None, "currency") == "—"
    assert format_value(float("nan"), "number") == "—"


def test_format_period() -> None:
    assert format_period(date(2026, 4, 1), "quarter") == "2026年Q2"
    assert format_period(date(2026, 4, 1), "quarter", "en") == "2026 Q2"
    assert format_period("2026-08-01", "month") == "2026-08"
    assert format_period(date(2026, 1, 1), "year") == "2026年"


def test_axis_formats_scale_large_cny_to_wan_in_chinese() -> None:
    zh = axis_format("currency", 1_700_000, "zh")["labelExpr"]
    assert "10000" in zh and "万" in zh and "¥" in zh
    en = axis_format("currency", 1_700_000, "en")["labelExpr"]
    assert "1e+06" in en and "'M'" in en
    assert axis_format("percent", 0.4, "zh") == {"format": ".1~%"}
    assert axis_format("integer", 500, "zh") == {"format": ",.2~f"}


def _found(text: str) -> list[tuple[str, str, float]]:
    return [(t.text, t.kind, round(t.value, 6)) for t in extract_numbers(text) if t.kind != "date"]


def test_extracts_every_number_form() -> None:
    text = ("环比增长 38.2%（¥124.0万 → ¥171.1万）；leads with ¥1.71M, 共 1,234 单, "
            "上升 2.3 个百分点, 约170万, 1.2亿, -6.5%")
    assert _found(text) == [
        ("38.2%", "percent", 38.2), ("¥124.0万", "money", 1_240_000), ("¥171.1万", "money", 1_711_000),
        ("¥1.71M", "money", 1_710_000), ("1,234", "plain", 1234), ("2.3 个百分点", "pp", 2.3),
        ("约170万", "plain", 1_700_000), ("1.2亿", "plain", 120_000_000), ("-6.5%", "percent", -6.5),
    ]
    approx = [t for t in extract_numbers("约170万") if t.approximate]
    assert approx and approx[0].tolerance == 5000


def test_extracts_chinese_numerals_and_ranks() -> None:
    found = _found("有三个品类下降，第二名增长百分之三十八点二，前5名")
    assert ("三", "plain", 3) in found
    assert ("第二", "rank", 2) in found
    assert ("百分之三十八点二", "percent", 38.2) in found
    assert ("前5", "rank", 5) in found
    # words that merely contain numerals are not numbers
    assert _found("一直统一进一步") == []
    assert cn_to_number("一百零五") == 105
    assert cn_to_number("两万") == 20000


def test_extracts_dates_quarters_and_months_without_reading_them_as_amounts() -> None:
    tokens = extract_numbers("2026年Q2（2026-04-01 至 2026-06-30），Q3 2025, April 2026, 2026年4月, 12月")
    assert all(t.kind == "date" for t in tokens)
    periods = [t.period for t in tokens if t.period]
    assert (date(2026, 4, 1), date(2026, 6, 30)) in periods
    assert (date(2025, 7, 1), date(2025, 9, 30)) in periods
    assert (date(2026, 4, 1), date(2026, 4, 30)) in periods
    assert any(t.months == (12,) for t in tokens)
    # a period ending a sentence is not a decimal point
    periods = [t.period for t in extract_numbers("to ¥1.00 in 2024-02.") if t.kind == "date"]
    assert periods == [(date(2024, 2, 1), date(2024, 2, 29))]


def test_a_range_hyphen_is_not_a_minus_sign() -> None:
    values = [(t.value, t.signed) for t in extract_numbers("18-24岁")]
    assert values == [(18.0, False), (24.0, False)]
