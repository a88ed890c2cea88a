"""Property: no statement the guard accepts for merchant:k returns another merchant's rows.

Statements are generated from a small grammar (selects, joins of every kind, subqueries,
CTEs, unions, scalar and EXISTS subqueries, hostile predicates such as ``OR TRUE`` or
``merchant_id <> k``) over every table with a merchant_id, guarded for a random merchant
and run on the real test warehouse. Columns named ``mid*`` must hold only k (or NULL),
``leak`` counts of other merchants' rows must be 0, and ``uid`` user ids must belong to
buyers of k.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbi.errors import ChatBIError
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy, Role

from .warehouse import MERCHANTS, buyers_of

MERCHANT_TABLES = (
    "orders", "products", "order_items", "events", "reviews", "merchants", "merchant_profile",
    "user_merchant_relation",
)
JOINS = ("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL OUTER JOIN")

tables = st.sampled_from(MERCHANT_TABLES)
merchant_ids = st.sampled_from(MERCHANTS)


@st.composite
def predicates(draw: st.DrawFn, alias: str) -> str:
    m = draw(merchant_ids)
    other = draw(tables)
    return draw(st.sampled_from([
        f"{alias}.merchant_id = {m}",
        f"{alias}.merchant_id <> {m}",
        f"{alias}.merchant_id IN (1, 2, 3, 4)",
        f"{alias}.merchant_id = {m} OR TRUE",
        f"NOT ({alias}.merchant_id = {m})",
        f"{alias}.merchant_id IS NOT NULL OR 1 = 1",
        f"{alias}.merchant_id IN (SELECT merchant_id FROM {other})",
        f"EXISTS (SELECT 1 FROM {other} AS z WHERE z.merchant_id <> {alias}.merchant_id)",
    ]))


@st.composite
def leaf(draw: st.DrawFn) -> str:
    table = draw(tables)
    sql = f"SELECT t.merchant_id AS mid FROM {table} AS t"
    if draw(st.booleans()):
        sql += f" WHERE {draw(predicates('t'))}"
    return sql


@st.composite
def join(draw: st.DrawFn) -> str:
    left, right = draw(tables), draw(tables)
    if draw(st.booleans()):
        return f"SELECT x.merchant_id AS mid, y.merchant_id AS mid2 FROM {left} AS x CROSS JOIN {right} AS y"
    kind = draw(st.sampled_from(JOINS))
    cond = draw(st.sampled_from([
        "x.merchant_id = y.merchant_id", "x.merchant_id <> y.merchant_id", "TRUE",
    ]))
    return f"SELECT x.merchant_id AS mid, y.merchant_id AS mid2 FROM {left} AS x {kind} {right} AS y ON {cond}"


def single_mid(inner: str, name: str) -> str:
    return f"SELECT {name}.mid FROM ({inner}) AS {name}"


def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Queries built from smaller queries (each yields at least a ``mid`` column)."""
    return st.one_of(
        children.map(lambda q: single_mid(q, "s")),
        children.map(lambda q: f"WITH c AS ({q}) SELECT c.mid FROM c"),
        st.tuples(children, children).map(
            lambda p: f"{single_mid(p[0], 'u1')} UNION ALL {single_mid(p[1], 'u2')}"
        ),
        st.tuples(children, children).map(
            lambda p: f"{single_mid(p[0], 'i1')} INTERSECT {single_mid(p[1], 'i2')}"
        ),
        children.map(lambda q: f"SELECT g.mid, count(*) AS n FROM ({q}) AS g GROUP BY g.mid"),
        st.tuples(children, tables).map(
            lambda p: f"SELECT w.mid FROM ({p[0]}) AS w WHERE w.mid IN (SELECT merchant_id FROM {p[1]})"
        ),
    )


queries = st.recursive(
    st.one_of(
        leaf(),
        join(),
        tables.map(lambda t: f"SELECT (SELECT max(z.merchant_id) FROM {t} AS z) AS mid"),
        tables.map(lambda t: f"SELECT DISTINCT merchant_id AS mid FROM {t} ORDER BY 1 LIMIT 3"),
    ),
    extend,
    max_leaves=4,
)


@st.composite
def leak_counts(draw: st.DrawFn, merchant: int) -> str:
    table = draw(tables)
    return f"SELECT count(*) AS leak FROM {table} AS z WHERE z.merchant_id <> {merchant}"


@st.composite
def user_queries(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        "SELECT u.user_id AS uid FROM users AS u",
        "SELECT u.user_id AS uid, o.merchant_id AS mid FROM users AS u JOIN orders AS o USING (user_id)",
        "SELECT u.user_id AS uid FROM users AS u WHERE u.user_id IN (SELECT user_id FROM orders WHERE merchant_id <> 1)",
        "WITH b AS (SELECT user_id FROM users) SELECT b.user_id AS uid FROM b",
        "SELECT r.user_id AS uid, r.merchant_id AS mid FROM user_merchant_relation AS r",
    ]))


def check_rows(columns: list[str], rows: list[tuple], merchant: int) -> list[str]:
    """Problems with the result for merchant:<merchant> (empty when it is clean)."""
    problems = []
    buyers = buyers_of(merchant)
    for i, name in enumerate(columns):
        values = {row[i] for row in rows} - {None}
        if name.startswith("mid") and values - {merchant}:
            problems.append(f"{name} has other merchants {sorted(values - {merchant})}")
        if name == "leak" and values - {0}:
            problems.append(f"leak count {values}")
        if name == "uid" and values - buyers:
            problems.append(f"uid has users who never bought from {merchant}: {sorted(values - buyers)}")
    return problems


def run_as_merchant(sql: str, merchant: int, policy: AccessPolicy, executor: Executor) -> list[str]:
    try:
        guarded = guard_sql(sql, policy, Role("merchant", merchant))
        result = executor.run(guarded.sql, max_rows=policy.max_rows)
    except ChatBIError as exc:  # the grammar only makes valid statements: a refusal is a bug
        raise AssertionError(f"{sql}\n -> {exc.code}: {exc.message}") from exc
    return check_rows(result.columns, result.rows, merchant)


ISOLATION = settings(
    max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@ISOLATION
@given(sql=queries, merchant=merchant_ids)
def test_generated_queries_stay_within_merchant(
    sql: str, merchant: int, policy: AccessPolicy, executor: Executor
) -> None:
    problems = run_as_merchant(sql, merchant, policy, executor)
    assert not problems, f"{sql}\n" + "\n".join(problems)


@ISOLATION
@given(data=st.data(), merchant=merchant_ids)
def test_counts_of_other_merchants_are_zero(
    data: st.DataObject, merchant: int, policy: AccessPolicy, executor: Executor
) -> None:
    sql = data.draw(leak_counts(merchant))
    assert not run_as_merchant(sql, merchant, policy, executor)


@ISOLATION
@given(sql=user_queries(), merchant=merchant_ids)
def test_users_are_limited_to_own_buyers(
    sql: str, merchant: int, policy: AccessPolicy, executor: Executor
) -> None:
    problems = run_as_merchant(sql, merchant, policy, executor)
    assert not problems, f"{sql}\n" + "\n".join(problems)


@pytest.mark.parametrize("sql", [
    "SELECT t.merchant_id AS mid FROM orders AS t WHERE t.merchant_id <> 1",
    "SELECT count(*) AS leak FROM products AS z WHERE z.merchant_id <> 1",
    "SELECT u.user_id AS uid FROM users AS u",
])
def test_checker_catches_unfiltered_rows(sql: str, policy: AccessPolicy, executor: Executor) -> None:
    """The same check on the admin's (unfiltered) result finds other merchants' rows."""
    guarded = guard_sql(sql, policy, Role("admin"))
    result = executor.run(guarded.sql)
    assert check_rows(result.columns, result.rows, 1)
