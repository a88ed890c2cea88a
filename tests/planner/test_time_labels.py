"""Bare month names parse like "in <month>", and every time label the planner emits parses
back to the same range (the LLM checker re-parses the time words a model copies)."""

from __future__ import annotations

from datetime import date

import pytest

from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.time_parser import parse_time
from tests.planner import test_offline_table, test_real_layer, test_time_parser
from tests.planner.conftest import AS_OF

EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]
EN_SHORT = ["Jan", "Feb", "Mar", "Apr", None, "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ZH_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
AS_OFS = [AS_OF, date(2026, 1, 5), date(2024, 2, 29)]


def _range(text: str, as_of: date) -> tuple[date, date] | None:
    parsed = parse_time(text, as_of)
    return (parsed.range.start, parsed.range.end) if parsed and parsed.range else None


@pytest.mark.parametrize("as_of", AS_OFS)
@pytest.mark.parametrize("month", range(1, 13))
def test_a_month_alone_is_the_most_recent_one(month: int, as_of: date) -> None:
    expected = _range(f"in {EN_MONTHS[month - 1]}", as_of)
    assert expected is not None and expected[0] <= as_of and expected[0].month == month
    words = [EN_MONTHS[month - 1], EN_MONTHS[month - 1].lower(), f"{month}月", f"{ZH_NUMERALS[month - 1]}月"]
    if EN_SHORT[month - 1]:
        words.append(EN_SHORT[month - 1])
    for word in words:
        assert _range(word, as_of) == expected, word
        if word.lower() != "may":  # inside a sentence "may" is the verb
            assert _range(f"GMV {word}", as_of) == expected, word


def test_august_as_asked() -> None:
    assert _range("August", AS_OF) == (date(2026, 8, 1), date(2026, 8, 31))
    assert _range("Aug", AS_OF) == (date(2026, 8, 1), date(2026, 8, 31))
    assert _range("八月", AS_OF) == (date(2026, 8, 1), date(2026, 8, 31))
    assert _range("November", AS_OF) == (date(2025, 11, 1), date(2025, 11, 30))  # not yet this year
    assert _range("September", AS_OF) == (date(2026, 9, 1), date(2026, 9, 30))  # cut at the as-of date


@pytest.mark.parametrize("text", ["which users may churn", "GMV may drop", "what may explain the drop in orders"])
def test_may_as_a_verb_is_no_month(text: str) -> None:
    assert parse_time(text, AS_OF) is None


PLANNER_QUESTIONS = sorted({
    *(q for q, e in test_offline_table.CASES if e.get("time")),
    *(q for q, e in test_real_layer.CASES if e.get("time")),
    *(r[0] for r in test_time_parser.RANGES if r[1] == AS_OF),
    "total discount amount in August", "mini program orders in August", "GMV for Aug", "8月的GMV", "八月的订单数",
    "orders in May", "GMV in March 2025", "GMV since March",
})


@pytest.mark.parametrize("question", PLANNER_QUESTIONS)
def test_the_planners_time_label_parses_back(real_planner: OfflinePlanner, planner: OfflinePlanner,
                                             question: str) -> None:
    for each in (real_planner, planner):
        plan = each.plan(question, as_of=AS_OF)
        time_range = plan.query.time_range if plan.query else None
        if time_range is None:
            continue
        assert time_range.label, (question, time_range)
        assert _range(time_range.label, AS_OF) == (time_range.start, time_range.end), (question, time_range.label)


@pytest.mark.parametrize(("text", "as_of", "start", "end", "label"), test_time_parser.RANGES,
                         ids=[f"{r[0]}@{r[1]}" for r in test_time_parser.RANGES])
def test_every_parsed_label_parses_back(text: str, as_of: date, start: date, end: date, label: str) -> None:
    parsed = parse_time(text, as_of)
    assert parsed is not None and parsed.range is not None and parsed.range.label
    assert _range(parsed.range.label, as_of) == (parsed.range.start, parsed.range.end)
