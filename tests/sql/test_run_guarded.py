"""run_guarded: guard then run, as `chatbi sql` does."""

from __future__ import annotations

import pytest

from chatbi.errors import GuardError
from chatbi.sql.executor import Executor, QueryError
from chatbi.sql.policy import AccessPolicy, Role
from chatbi.sql.run import run_guarded


def test_guard_then_run(policy: AccessPolicy, executor: Executor) -> None:
    guarded, result = run_guarded(
        "SELECT merchant_id, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1",
        executor=executor, policy=policy, role=Role("merchant", 3),
    )
    assert guarded.rewritten and "merchant_id = 3" in guarded.sql
    assert result.rows == [(3, 10)] and not result.truncated


def test_max_rows_overrides_the_policy(policy: AccessPolicy, executor: Executor) -> None:
    guarded, result = run_guarded(
        "SELECT order_id FROM orders", executor=executor, policy=policy, role=Role("admin"),
        max_rows=5,
    )
    assert guarded.sql.endswith("LIMIT 6")
    assert len(result.rows) == 5 and result.truncated


def test_refusal_raises_before_running(policy: AccessPolicy, executor: Executor) -> None:
    with pytest.raises(GuardError) as info:
        run_guarded("DELETE FROM orders", executor=executor, policy=policy, role=Role("admin"))
    assert info.value.code == "sql_not_select"
    assert executor.scalar("SELECT count(*) FROM orders") == 40


def test_merchant_errors_do_not_quote_data(policy: AccessPolicy, executor: Executor) -> None:
    sql = "SELECT CAST(merchant_name AS INTEGER) FROM merchants"
    with pytest.raises(QueryError) as admin:
        run_guarded(sql, executor=executor, policy=policy, role=Role("admin"))
    assert "商户" in admin.value.message  # DuckDB's detail is shown to the admin
    with pytest.raises(QueryError) as merchant:
        run_guarded(sql, executor=executor, policy=policy, role=Role("merchant", 1))
    assert merchant.value.code == "sql_error"
    assert "商户" not in merchant.value.message and " / " in merchant.value.message
