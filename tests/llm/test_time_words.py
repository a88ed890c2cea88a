"""Time words a correct model copies from the question are accepted as they are."""

from __future__ import annotations

from datetime import date

import pytest

from tests.llm.conftest import AS_OF
from tests.llm.fake_openai import tool_reply


@pytest.mark.parametrize(("question", "words"), [
    ("mini program orders in August", "August"),
    ("orders in Aug by channel", "Aug"),
    ("八月各渠道的订单数", "八月"),
    ("8月各渠道的订单数", "8月"),
])
def test_a_copied_month_name_is_accepted_in_one_call(fake, planner, question: str, words: str) -> None:
    fake.script(tool_reply("plan_query", {"intent": "query", "metrics": ["order_count"],
                                          "dimensions": ["channel"], "time_words": words}))
    plan = planner.plan(question, as_of=AS_OF)
    assert plan.planner == "llm" and plan.query is not None, plan.notes
    assert plan.query.time_range is not None
    assert (plan.query.time_range.start, plan.query.time_range.end) == (date(2026, 8, 1), date(2026, 8, 31))
    assert len(fake.chat_requests) == 1
