"""Merchant ids in questions on the tiny warehouse: an admin gets that merchant's number
(not the platform total); a merchant naming another merchant is refused."""

from __future__ import annotations

from typing import Any

import pytest

from chatbi.answer.respond import refuse_other_merchant
from chatbi.errors import RefusedError
from chatbi.sql.policy import Role

GMV_SQL = "SELECT SUM(pay_amount) FROM orders WHERE status <> 'cancelled'"
AUG = "CAST(order_ts AS DATE) BETWEEN DATE '2026-08-01' AND DATE '2026-08-31'"


def _scalar(pipeline: Any, sql: str) -> float:
    return float(pipeline.executor.run(sql).rows[0][0])


@pytest.mark.parametrize(("question", "sql"), [
    ("商户15的GMV", f"{GMV_SQL} AND merchant_id = 15"),
    ("merchant 15's GMV last month", f"{GMV_SQL} AND merchant_id = 15 AND {AUG}"),
    ("15号商户上个月的订单数", f"SELECT COUNT(*) FROM orders WHERE status <> 'cancelled' AND merchant_id = 15 AND {AUG}"),
])
def test_admin_gets_the_merchants_number(tiny_pipeline: Any, question: str, sql: str) -> None:
    answer = tiny_pipeline.ask(question, role="admin")
    assert answer.error is None and answer.intent == "query", answer.error
    assert len(answer.rows) == 1
    expected = _scalar(tiny_pipeline, sql)
    total = _scalar(tiny_pipeline, GMV_SQL)
    assert float(answer.rows[0][-1]) == pytest.approx(expected)
    assert expected != pytest.approx(total)


@pytest.mark.parametrize("question", ["商户15的GMV", "merchant 15's GMV last month", "15号商户上个月的订单数",
                                      "商户ＩＤ：１５的订单数"])
def test_another_merchant_is_refused(tiny_pipeline: Any, question: str) -> None:
    answer = tiny_pipeline.ask(question, role="merchant:3")
    assert answer.intent == "refuse" and answer.error and answer.error["code"] == "other_merchant_refused"
    assert not answer.rows


def test_own_merchant_id_is_answered(tiny_pipeline: Any) -> None:
    answer = tiny_pipeline.ask("商户3的GMV", role="merchant:3")
    assert answer.error is None and answer.intent == "query"
    assert float(answer.rows[0][0]) == pytest.approx(_scalar(tiny_pipeline, f"{GMV_SQL} AND merchant_id = 3"))


@pytest.mark.parametrize("question", ["GMV排名前10的商户", "商户 10 个以上的大区", "merchant 2025 GMV"])
def test_counts_and_years_are_not_other_merchants(question: str) -> None:
    refuse_other_merchant(question, Role.parse("merchant:3"))  # no RefusedError


def test_refusal_names_both_merchants() -> None:
    with pytest.raises(RefusedError) as info:
        refuse_other_merchant("商户3和商户15的GMV对比", Role.parse("merchant:3"))
    assert "15" in info.value.message and "3" in info.value.message
