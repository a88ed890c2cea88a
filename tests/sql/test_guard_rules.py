"""Focused checks of the guard's rewrites, limits, notes, messages and policies."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from chatbi.errors import GuardError, RefusedError
from chatbi.sql.executor import Executor
from chatbi.sql.guard import MAX_SQL_CHARS, GuardedSQL, guard_sql
from chatbi.sql.policy import AccessPolicy, Role

ADMIN = Role("admin")
MARKETER = Role("marketer")
MERCHANT = Role("merchant", 7)


def _limit(sql: str) -> int:
    limit = sqlglot.parse_one(sql, read="duckdb").args["limit"]
    return int(limit.expression.name)


def test_plain_select_is_untouched_but_limited(policy: AccessPolicy) -> None:
    guarded = guard_sql("SELECT order_id FROM orders WHERE status = 'completed'", policy, ADMIN)
    assert isinstance(guarded, GuardedSQL)
    assert guarded.sql == "SELECT order_id FROM orders WHERE status = 'completed' LIMIT 1001"
    assert not guarded.rewritten
    assert guarded.tables == frozenset({"orders"})
    assert any("LIMIT 1001" in note for note in guarded.notes)


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 1", 1001),
    ("SELECT 1 LIMIT 5", 5),
    ("SELECT 1 LIMIT 1001", 1001),
    ("SELECT 1 LIMIT 100000", 1001),
    ("SELECT 1 LIMIT 0", 0),
    ("SELECT 1 UNION ALL SELECT 2", 1001),
    ("SELECT 1 UNION ALL SELECT 2 ORDER BY 1 LIMIT 99999", 1001),
    ("SELECT 1 FETCH FIRST 3 ROWS ONLY", 3),
    ("SELECT * FROM (SELECT 1 LIMIT 5000) t", 1001),
])
def test_limit_is_added_or_capped(policy: AccessPolicy, sql: str, expected: int) -> None:
    assert _limit(guard_sql(sql, policy, ADMIN).sql) == expected


def test_limit_follows_policy_max_rows() -> None:
    small = AccessPolicy(tables={"orders": frozenset({"order_id"})}, max_rows=20)
    guarded = guard_sql("SELECT order_id FROM orders LIMIT 500", small, ADMIN)
    assert _limit(guarded.sql) == 21
    assert any("500" in note and "21" in note for note in guarded.notes)


def test_merchant_filter_on_every_reference(policy: AccessPolicy) -> None:
    sql = """
        WITH a AS (SELECT merchant_id, order_id FROM orders)
        SELECT a.order_id FROM a
        JOIN orders o2 ON o2.order_id = a.order_id
        WHERE a.order_id IN (SELECT order_id FROM order_items)
          AND EXISTS (SELECT 1 FROM reviews r WHERE r.order_id = a.order_id)
        UNION ALL SELECT (SELECT max(order_id) FROM orders) FROM products
    """
    guarded = guard_sql(sql, policy, MERCHANT)
    tree = sqlglot.parse_one(guarded.sql, read="duckdb")
    wrapped = [s for s in tree.find_all(exp.Subquery) if s.args.get("alias")]
    filters = re.findall(r"(\w+)\.merchant_id = 7", guarded.sql)
    assert sorted(filters) == ["order_items", "orders", "orders", "orders", "products", "reviews"]
    assert {s.alias for s in wrapped} >= {"orders", "o2", "order_items", "r", "products"}
    assert guarded.rewritten
    assert guarded.tables == frozenset({"orders", "order_items", "reviews", "products"})
    assert any("merchant 7" in note for note in guarded.notes)


def test_rewrite_keeps_the_alias(policy: AccessPolicy) -> None:
    guarded = guard_sql("SELECT o.order_id FROM orders AS o", policy, MERCHANT)
    assert guarded.sql.startswith("SELECT o.order_id FROM (SELECT ")
    assert ") AS o LIMIT 1001" in guarded.sql


def test_star_expands_without_pii(policy: AccessPolicy, executor: Executor) -> None:
    guarded = guard_sql("SELECT * FROM users", policy, MARKETER)
    result = executor.run(guarded.sql)
    assert "phone" not in result.columns and "user_name" not in result.columns
    assert result.columns[:2] == ["user_id", "gender"]
    assert any("phone" in note for note in guarded.notes)


def test_star_means_policy_columns_for_admin(executor: Executor) -> None:
    narrow = AccessPolicy(tables={"orders": frozenset({"order_id", "merchant_id"})})
    guarded = guard_sql("SELECT * FROM orders ORDER BY order_id", narrow, ADMIN)
    assert executor.run(guarded.sql).columns == ["order_id", "merchant_id"]
    with pytest.raises(GuardError) as info:
        guard_sql("SELECT pay_amount FROM orders", narrow, ADMIN)
    assert info.value.code == "sql_column_not_allowed"
    assert "order_id" in info.value.message  # the message lists what is allowed


@pytest.mark.parametrize(("sql", "rewritten"), [
    ("SELECT * FROM orders", True),
    ("SELECT o.* FROM orders o JOIN merchants m USING (merchant_id)", True),
    ("WITH x AS (SELECT * FROM orders) SELECT * FROM x", True),
    ("SELECT * FROM (SELECT * FROM orders UNION ALL SELECT * FROM orders) t", True),
    ("SELECT (SELECT * FROM orders LIMIT 1) AS x", True),
    ("SELECT * FROM (SELECT order_id FROM orders) t", False),
    ("WITH x AS (SELECT order_id FROM orders) SELECT *, 1 AS one FROM x", False),
    ("SELECT * FROM (SELECT 1 AS a UNION ALL SELECT order_id FROM orders) t", False),
    ("SELECT count(*) FROM orders", False),
])
def test_star_rewrites_only_tables_it_reaches(policy: AccessPolicy, sql: str, rewritten: bool) -> None:
    assert guard_sql(sql, policy, ADMIN).rewritten is rewritten


def test_star_through_cte_sees_only_policy_columns(executor: Executor) -> None:
    narrow = AccessPolicy(tables={"orders": frozenset({"order_id", "merchant_id"})})
    guarded = guard_sql("WITH x AS (SELECT * FROM orders) SELECT * FROM x", narrow, ADMIN)
    assert executor.run(guarded.sql).columns == ["order_id", "merchant_id"]


def test_plain_access_policy_without_links(policy: AccessPolicy) -> None:
    plain = AccessPolicy(
        tables=dict(policy.tables), pii=dict(policy.pii),
        security_columns=dict(policy.security_columns),
    )
    guard_sql("SELECT count(*) FROM orders", plain, MERCHANT)
    with pytest.raises(GuardError) as info:
        guard_sql("SELECT region FROM users", plain, MERCHANT)
    assert info.value.code == "sql_table_not_allowed"


def test_merchant_role_without_id(policy: AccessPolicy) -> None:
    with pytest.raises(GuardError):
        guard_sql("SELECT count(*) FROM orders", policy, Role("merchant"))


def test_comments_never_reach_the_output(policy: AccessPolicy) -> None:
    guarded = guard_sql("SELECT /* hi */ 1 AS x -- */ DROP TABLE orders; /*", policy, ADMIN)
    assert guarded.sql == "SELECT 1 AS x LIMIT 1001"


def test_output_is_one_select(policy: AccessPolicy) -> None:
    guarded = guard_sql("SELECT 'a;b' AS s; ", policy, MERCHANT)
    parsed = [s for s in sqlglot.parse(guarded.sql, read="duckdb") if s]
    assert len(parsed) == 1 and isinstance(parsed[0], exp.Select)


def test_input_dialect(policy: AccessPolicy) -> None:
    guarded = guard_sql("SELECT `order_id` FROM `orders` LIMIT 3", policy, ADMIN, dialect="mysql")
    assert guarded.sql == 'SELECT "order_id" FROM "orders" LIMIT 3'


def test_refusals_are_bilingual_refused_errors(policy: AccessPolicy) -> None:
    for sql, role in [
        ("DROP TABLE orders", ADMIN),
        ("SELECT phone FROM users", MARKETER),
        ("SELECT * FROM kols", MERCHANT),
        ("SELECT getenv('HOME')", ADMIN),
    ]:
        with pytest.raises(GuardError) as info:
            guard_sql(sql, policy, role)
        err = info.value
        assert isinstance(err, RefusedError) and err.exit_code == 2
        zh, en = err.message.split(" / ", 1)
        assert re.search(r"[\u4e00-\u9fff]", zh) and re.search(r"[a-z]", en)
        assert err.to_dict() == {"code": err.code, "message": err.message}


def test_pii_message_names_column_and_role(policy: AccessPolicy) -> None:
    with pytest.raises(GuardError) as info:
        guard_sql("SELECT region FROM users WHERE phone = '1'", policy, MARKETER)
    assert info.value.code == "sql_pii_refused"
    assert "phone" in info.value.message and "marketer" in info.value.message


def test_too_long_and_too_deep(policy: AccessPolicy) -> None:
    with pytest.raises(GuardError) as long:
        guard_sql("SELECT " + "1 + " * MAX_SQL_CHARS + "1", policy, ADMIN)
    assert long.value.code == "sql_too_long"
    with pytest.raises(GuardError) as deep:
        guard_sql("SELECT " + "(" * 3000 + "1" + ")" * 3000, policy, ADMIN)
    assert deep.value.code == "sql_parse_error"


def test_guard_does_not_change_its_input_objects(policy: AccessPolicy) -> None:
    before = dict(policy.tables)
    guard_sql("SELECT * FROM users", policy, MARKETER)
    assert policy.tables == before
