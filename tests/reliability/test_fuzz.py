"""Fuzzing (hypothesis): the SQL guard, the time parser and the question path never crash.

Guard: random token soup and mutations (token deleted, doubled, swapped, inserted, replaced)
of the statements tests/sql/hostile_statements.yaml accepts. Only ChatBIError subclasses may
be raised; every accepted statement must still keep the policy: one SELECT with a LIMIT, and
when run on the SQL tests' warehouse no PII value for marketers and merchants and no other
merchant's merchant_id for a merchant (tests/sql/test_merchant_isolation.py is the grammar-
based property test this extends).
Time parser: any text with digits and time words never raises, and every range has
start <= end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from chatbi.errors import ChatBIError
from chatbi.planner.time_parser import parse_time
from chatbi.sql.access import default_policy
from chatbi.sql.executor import Executor
from chatbi.sql.guard import GuardedSQL, guard_sql
from chatbi.sql.policy import AccessPolicy, Role
from tests.sql.warehouse import PHONE_PREFIX, USER_NAME_PREFIX, build_warehouse

ROLES = (Role("admin"), Role("marketer"), Role("merchant", 1), Role("merchant", 3))
PII_COLUMNS = {"phone", "user_name"}
SQL_CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "sql" / "hostile_statements.yaml")
                           .read_text(encoding="utf-8"))


def _verdicts(expect: Any) -> set[str]:
    return set(expect.values()) if isinstance(expect, dict) else {expect}


ACCEPTED = sorted({c["sql"] for c in SQL_CASES if _verdicts(c["expect"]) & {"allowed", "rewritten"}})
TOKENS = (
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "EXISTS", "GROUP", "BY", "ORDER", "HAVING",
    "LIMIT", "OFFSET", "UNION", "ALL", "INTERSECT", "EXCEPT", "JOIN", "LEFT", "CROSS", "ON", "USING",
    "AS", "WITH", "DISTINCT", "CASE", "WHEN", "THEN", "ELSE", "END", "IS", "NULL", "TRUE", "*", ",",
    "(", ")", "=", "<>", "<", ">", "+", "-", "/", "||", "::", ";", "--", "/*", "*/", "'", '"', ".",
    "0", "1", "5", "1001", "-1", "'x'", "'2026-01-01'", "users", "orders", "merchants", "reviews",
    "user_profile", "kols", "t", "u", "o", "c", "user_id", "merchant_id", "phone", "user_name", "region",
    "pay_amount", "content", "count(*)", "sum(pay_amount)", "max(merchant_id)", "EXCLUDE", "REPLACE",
    "COLUMNS", "read_csv('/etc/passwd')", "read_text('x')", "getenv('HOME')", "glob('*')", "range(3)",
    "unnest([1,2])", "DROP", "TABLE", "DELETE", "UPDATE", "SET", "INSERT", "INTO", "VALUES", "PRAGMA",
    "ATTACH", "COPY", "TO", "main", "information_schema", "duckdb_tables()", "$1", "?", "#1",
    "lambda", "x", "->", "PIVOT", "QUALIFY", "WINDOW", "OVER", "row_number()", "CAST", "INT", "VARCHAR",
)

FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def policy() -> AccessPolicy:
    return default_policy(max_rows=1000)


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    path = build_warehouse(tmp_path_factory.mktemp("fuzz") / "warehouse.duckdb")
    ex = Executor(path, timeout_s=5.0, memory_limit="512MB", threads=1)
    yield ex
    ex.close()


def policy_problems(sql: str, role: Role, policy: AccessPolicy, executor: Executor,
                    guard: Callable[..., GuardedSQL] = guard_sql) -> list[str]:
    """Guard ``sql``; for an accepted statement, what breaks the policy (empty: nothing)."""
    try:
        guarded = guard(sql, policy, role)
    except ChatBIError:
        return []
    except Exception as exc:  # noqa: BLE001 - the property: nothing else may escape
        return [f"guard raised {type(exc).__name__}: {exc}"]
    try:
        result = executor.run(guarded.sql, max_rows=policy.max_rows)
    except ChatBIError:  # a type error, the time limit, or SQL that sqlglot accepts and DuckDB's
        return []  # parser does not (``SELECT FROM t``): refused before anything runs
    except Exception as exc:  # noqa: BLE001
        return [f"executor raised {type(exc).__name__}: {exc}"]
    problems = []  # it ran: it must have been one SELECT with a LIMIT, and its rows must be clean
    statements = sqlglot.parse(guarded.sql, read="duckdb")
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        return [f"output is not one query: {guarded.sql}"]
    limit = statements[0].args.get("limit")
    value = limit.expression if isinstance(limit, exp.Limit) else None
    if not (isinstance(value, exp.Literal) and int(value.name) <= policy.max_rows + 1):
        problems.append(f"no LIMIT <= {policy.max_rows + 1}: {guarded.sql}")
    if not role.can_see_pii:
        named = {c.name.lower() for c in statements[0].find_all(exp.Column)}
        if named & PII_COLUMNS:
            problems.append(f"PII column in accepted SQL for {role}: {guarded.sql}")
    for row in result.rows:
        text = str(row)
        if not role.can_see_pii and (PHONE_PREFIX in text or USER_NAME_PREFIX in text):
            problems.append(f"PII value for {role}: {text[:200]}")
            break
    if role.is_merchant:
        for i in merchant_id_columns(statements[0]):
            others = {r[i] for r in result.rows if i < len(r)} - {role.merchant_id, None}
            if others:
                problems.append(f"{role} saw merchants {sorted(others)}")
    return problems


def merchant_id_columns(query: exp.Query) -> list[int]:
    """Output positions that are plain references to a ``merchant_id`` column (an alias such as
    ``order_id AS merchant_id`` is another column; a ``*`` hides which is which)."""
    select = query if isinstance(query, exp.Select) else None
    if select is None or any(isinstance(e, exp.Star) or isinstance(getattr(e, "this", None), exp.Star)
                             for e in select.expressions):
        return []
    out = []
    for i, projection in enumerate(select.expressions):
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column) and inner.name.lower() == "merchant_id" \
                and projection.alias_or_name.lower() == "merchant_id":
            out.append(i)
    return out


@FUZZ
@given(tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25), role=st.sampled_from(ROLES))
def test_guard_survives_token_soup(tokens: list[str], role: Role, policy, executor) -> None:
    sql = " ".join(tokens)
    problems = policy_problems(sql, role, policy, executor)
    assert not problems, f"{sql}\n" + "\n".join(problems)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    tokens = draw(st.sampled_from(ACCEPTED)).replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()
    vocabulary = st.one_of(st.sampled_from(TOKENS), st.sampled_from(sorted(set(tokens))))  # own words: plausible
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, max(len(tokens) - 1, 0)))
        op = draw(st.sampled_from(["delete", "double", "swap", "insert", "replace"]))
        if op == "delete" and len(tokens) > 1:
            del tokens[i]
        elif op == "double":
            tokens.insert(i, tokens[i])
        elif op == "swap" and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(vocabulary))
        else:
            tokens[i] = draw(vocabulary)
    return " ".join(tokens)


@FUZZ
@given(sql=mutated(), role=st.sampled_from(ROLES))
def test_mutations_of_accepted_statements_keep_the_policy(sql: str, role: Role, policy, executor) -> None:
    problems = policy_problems(sql, role, policy, executor)
    assert not problems, f"{sql}\n" + "\n".join(problems)


def test_the_checks_catch_an_unguarded_statement(policy, executor) -> None:
    """The control: with the guard bypassed (only a LIMIT added) the checks find the leaks."""
    def no_guard(sql: str, _policy: AccessPolicy, _role: Role) -> GuardedSQL:
        return GuardedSQL(f"{sql} LIMIT 10", False, (), frozenset())

    assert policy_problems("SELECT user_name, phone FROM users", Role("marketer"), policy, executor, no_guard)
    assert policy_problems("SELECT merchant_id FROM orders", Role("merchant", 1), policy, executor, no_guard)
    assert not policy_problems("SELECT merchant_id FROM orders", Role("merchant", 1), policy, executor)


def test_seeds_are_accepted_and_checked(policy, executor) -> None:
    """The mutation seeds really are accepted (else the fuzzing above tests only refusals)."""
    assert len(ACCEPTED) >= 20
    accepted = 0
    for sql in ACCEPTED:
        try:
            guard_sql(sql, policy, Role("marketer"))
            accepted += 1
        except ChatBIError:
            pass
        assert not policy_problems(sql, Role("merchant", 1), policy, executor), sql
    assert accepted >= 10


# ---------------------------------------------------------------------------- time parser

TIME_WORDS = (
    "上个季度", "本季度", "上个月", "本月", "今年", "去年", "前年", "近", "最近", "过去", "天", "周", "个月", "月",
    "季度", "年", "日", "号", "第", "上半年", "下半年", "同比", "环比", "至今", "以来", "到", "至", "从", "双11", "618",
    "春节", "Q1", "Q4", "H2", "last", "this", "past", "quarter", "month", "week", "year", "days", "since", "between",
    "and", "to", "ytd", "mtd", "yoy", "mom", "vs", "-", "/", ".", " ", "~", "年初", "月底", "十二", "三十", "零",
    "2024", "2025年", "2026-02-30", "13月", "0月", "32日", "99999", "1900", "2100年",
)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@pytest.mark.parametrize("text", ["近2100年", "近2026年", "last 3000 years", "过去99999天"])
def test_rolling_windows_before_year_one_do_not_crash(text: str) -> None:
    result = parse_time(text, date(2026, 9, 30))
    assert result is None or result.range is None or result.range.start <= result.range.end


@settings(max_examples=800, deadline=None, database=None)
@given(parts=st.lists(st.one_of(st.sampled_from(TIME_WORDS), st.integers(-10, 100_000).map(str),
                                st.text(max_size=4)), max_size=10),
       as_of=dates)
def test_time_parser_never_raises_and_ranges_are_ordered(parts: list[str], as_of: date) -> None:
    text = "".join(parts)
    result = parse_time(text, as_of)
    if result is not None and result.range is not None:
        assert result.range.start <= result.range.end, (text, as_of, result.range)


@settings(max_examples=300, deadline=None, database=None)
@given(text=st.text(max_size=60), as_of=dates)
def test_time_parser_on_any_text(text: str, as_of: date) -> None:
    result = parse_time(text, as_of)
    if result is not None and result.range is not None:
        assert result.range.start <= result.range.end, (text, as_of, result.range)


# ---------------------------------------------------------------------------- the whole question path

@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(st.sampled_from(TIME_WORDS),
                                st.sampled_from(("GMV", "订单数", "各大区", "按渠道", "用户", "商户", "手机号",
                                                 "top", "为什么", "文案", "占比", "趋势", "只看女性", "那华南呢")),
                                st.text(max_size=5)), max_size=8),
       role=st.sampled_from(("admin", "marketer", "merchant:3")))
def test_pipeline_never_raises_on_odd_questions(parts: list[str], role: str, tiny_pipeline: Any) -> None:
    question = "".join(parts)
    conversation = tiny_pipeline.new_conversation()
    for text in (question, "只看女性"):  # and a follow-up on whatever it made of it
        answer = tiny_pipeline.ask(text, role=role, conversation=conversation)
        assert answer.error is None or answer.error["message"], answer.error
