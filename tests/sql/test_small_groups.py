"""Small groups re-identify people (issue 18): for marketers and merchants, no user ids, no
rows of individual people, no group of fewer than k users; admins unchanged. The real
semantic layer's policy (k from access.yaml), real DuckDB on the tiny demo warehouse."""

from __future__ import annotations

import dataclasses

import pytest

from chatbi.errors import GuardError, RefusedError
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role
from chatbi.sql.run import run_guarded

MARKETER, MERCHANT, ADMIN = Role("marketer"), Role("merchant", 3), Role("admin")


@pytest.fixture(scope="module")
def policy(tiny_pipeline):
    return tiny_pipeline.policy


def test_k_comes_from_access_yaml(policy) -> None:
    assert policy.min_group_size == 50 and policy.user_key == "user_id"


@pytest.mark.parametrize(("role", "sql", "code"), [
    (MARKETER, "SELECT user_id, sum(pay_amount) FROM orders GROUP BY user_id", "sql_user_level_refused"),
    (MARKETER, "SELECT user_id + 0 AS x FROM orders", "sql_user_level_refused"),
    (MARKETER, "WITH t AS (SELECT user_id AS u FROM orders) SELECT u FROM t", "sql_user_level_refused"),
    (MARKETER, "SELECT * FROM orders", "sql_user_level_refused"),
    (MARKETER, "SELECT gender, city FROM users", "sql_small_group_refused"),
    (MARKETER, "SELECT pay_amount FROM orders WHERE channel = 'app'", "sql_small_group_refused"),
    (MARKETER, "SELECT (SELECT pay_amount FROM orders LIMIT 1) AS x", "sql_small_group_refused"),
    (MARKETER, "SELECT s FROM (SELECT sum(pay_amount) AS s FROM orders GROUP BY user_id) AS t",
     "sql_small_group_refused"),
    (MERCHANT, "SELECT user_id FROM orders", "sql_user_level_refused"),
    (MERCHANT, "SELECT gender, birth_year FROM users", "sql_small_group_refused"),
])
def test_refused_with_the_reason(policy, role: Role, sql: str, code: str) -> None:
    with pytest.raises(GuardError) as info:
        guard_sql(sql, policy, role)
    assert info.value.code == code
    assert "50" in info.value.message and " / " in info.value.message
    guard_sql(sql, policy, ADMIN)  # admins see individual rows


def test_small_groups_are_left_out(policy, tiny_pipeline) -> None:
    sql = "SELECT city, count(DISTINCT user_id) AS n FROM users GROUP BY city ORDER BY n"
    guarded, result = run_guarded(sql, executor=tiny_pipeline.executor, policy=policy, role=MARKETER)
    _, everything = run_guarded(sql, executor=tiny_pipeline.executor, policy=policy, role=ADMIN)
    assert any(n < 50 for _, n in everything.rows), "the tiny warehouse has small cities"
    assert result.rows and all(n >= 50 for _, n in result.rows)
    assert {c for c, n in everything.rows if n >= 50} == {c for c, _ in result.rows}
    assert any("fewer than 50" in note for note in guarded.notes)


def test_an_answer_of_only_small_groups_says_why(policy, tiny_pipeline) -> None:
    sql = ("SELECT gender, count(*) AS n FROM users WHERE city = "
           "(SELECT city FROM users GROUP BY city ORDER BY count(*), city LIMIT 1) GROUP BY gender")
    with pytest.raises(RefusedError) as info:
        run_guarded(sql, executor=tiny_pipeline.executor, policy=policy, role=MARKETER)
    assert info.value.code == "small_group_suppressed" and "fewer than 50 users" in info.value.message
    # no data at all is not reported as suppressed
    _, empty = run_guarded("SELECT gender, count(*) FROM users WHERE city = 'nowhere' GROUP BY gender",
                           executor=tiny_pipeline.executor, policy=policy, role=MARKETER)
    assert empty.rows == []


def test_per_user_steps_inside_an_aggregate_are_fine(policy, tiny_pipeline) -> None:
    """Average spend per buyer: a per-user CTE feeding an aggregate over all buyers."""
    sql = ("WITH per AS (SELECT user_id, sum(pay_amount) AS s FROM orders GROUP BY user_id) "
           "SELECT avg(s) AS avg_spend, count(*) AS buyers FROM per")
    _, result = run_guarded(sql, executor=tiny_pipeline.executor, policy=policy, role=MARKETER)
    _, admin = run_guarded(sql, executor=tiny_pipeline.executor, policy=policy, role=ADMIN)
    assert result.rows == admin.rows and result.rows[0][1] >= 50


def test_merchants_keep_their_own_sales_but_not_small_buyer_groups(policy, tiny_pipeline) -> None:
    monthly = "SELECT date_trunc('month', order_ts) AS m, sum(pay_amount) FROM orders GROUP BY 1"
    _, own = run_guarded(monthly, executor=tiny_pipeline.executor, policy=policy, role=MERCHANT)
    assert own.rows  # a merchant's months with few buyers are still its own sales
    small = Role("merchant", 60)  # a merchant with a handful of buyers on the tiny demo
    with pytest.raises(RefusedError):
        run_guarded("SELECT gender, count(*) FROM users GROUP BY gender",
                    executor=tiny_pipeline.executor, policy=policy, role=small)


def test_k_zero_switches_the_rules_off(policy) -> None:
    off = dataclasses.replace(policy, min_group_size=0)
    guarded = guard_sql("SELECT user_id FROM orders", off, MARKETER)
    assert guarded.probe_sql is None


def test_campaign_copy_uses_the_same_k(policy) -> None:
    from chatbi.answer.copywriter import MIN_SEGMENT_SIZE, segment_minimum

    assert segment_minimum(policy) == policy.min_group_size
    assert segment_minimum(dataclasses.replace(policy, min_group_size=80)) == 80
    assert segment_minimum(dataclasses.replace(policy, min_group_size=0)) == MIN_SEGMENT_SIZE
    assert segment_minimum(policy, 10) == 10
