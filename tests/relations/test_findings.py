"""Relationship findings state only numbers the result frame holds."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from chatbi.relations.findings import check_relation_finding

FRAME = pd.DataFrame({
    "step_label": ["浏览", "加购", "购买"], "users": [928, 291, 85],
    "overall_conversion": [1.0, 0.3136, 0.0916], "lift": [None, 1.86, 2.45],
})
WINDOW = (date(2026, 8, 1), date(2026, 8, 31))


def check(text: str):
    return check_relation_finding(text, FRAME, language="zh", ratio_columns=["overall_conversion"],
                                  multiple_columns=["lift"], window=WINDOW)


def test_accepts_numbers_from_the_frame():
    assert check("上个月（2026-08-01 至 2026-08-31），浏览 928 人 → 加购 291 人 → 购买 85 人，"
                 "整体转化率 9.2%，提升度 2.45倍。").ok


def test_rejects_a_number_the_frame_does_not_hold():
    result = check("浏览 928 人，购买 86 人。")
    assert not result.ok and result.unmatched == ("86",)
    assert not check("整体转化率 12.5%。").ok
    assert not check("2025-03-01 的浏览 928 人").ok


def test_every_answer_finding_checks(ask):
    for question, role in [("哪些商户拥有大量复购用户？", "admin"), ("商户社群有哪些", "admin"),
                           ("Which KOLs' followers spend the most?", "admin"),
                           ("people who bought 设计师联名 also bought which categories?", "analyst"),
                           ("most common paths before a purchase", "analyst"),
                           ("用户在哪一步流失最多？", "merchant:9")]:
        result = ask(question, role)
        assert result.check is not None and result.check.ok, (question, result.finding)
        assert result.finding and result.sql


def test_small_groups_of_people_are_not_shown_to_marketers_and_merchants(ask):
    """Issue 18: on the tiny demo every purchase path has fewer than 50 people, and a merchant's
    customer network lists user ids: both refused with the reason for roles without PII."""
    from chatbi.errors import RefusedError

    with pytest.raises(RefusedError) as paths:
        ask("most common paths before a purchase", "marketer")
    assert paths.value.code == "small_group_suppressed" and "fewer than 50" in paths.value.message
    with pytest.raises(RefusedError) as network:
        ask("我的客户网络", "merchant:9")
    assert network.value.code == "sql_user_level_refused"
