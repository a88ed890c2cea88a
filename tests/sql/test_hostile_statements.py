"""Every statement of hostile_statements.yaml gets its expected verdict for each role.

Accepted statements are also run on the test warehouse: they must execute, carry a LIMIT,
return the expected number of rows, never another merchant's merchant_id for the merchant
role, and never a PII value for the marketer and merchant roles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from sqlglot import exp

from chatbi.errors import GuardError
from chatbi.sql.executor import Executor
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import AccessPolicy

from .conftest import ROLES
from .warehouse import PHONE_PREFIX, USER_NAME_PREFIX

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "hostile_statements.yaml").read_text(encoding="utf-8")
)
KNOWN_CODES = {
    "sql_not_select", "sql_multiple_statements", "sql_parse_error", "sql_empty",
    "sql_function_not_allowed", "sql_table_not_allowed", "sql_syntax_not_allowed",
    "sql_limit_not_allowed", "sql_cte_shadows_table", "sql_column_not_allowed",
    "sql_column_ambiguous", "sql_pii_refused",
}


def _for_role(spec: Any, role: str) -> Any:
    if not isinstance(spec, dict):
        return spec
    if role in spec:
        return spec[role]
    if role == "analyst" and "admin" in spec:
        return spec["admin"]
    return spec.get("all")


def test_fixture_is_large_and_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(CASES) >= 100
    assert len(ids) == len(set(ids)), "duplicate ids"
    verdicts = set()
    for case in CASES:
        for role in ROLES:
            verdict = _for_role(case["expect"], role)
            assert verdict is not None, f"{case['id']}: no verdict for {role}"
            verdicts.add(verdict.split(":")[0])
            if verdict.startswith("refused:"):
                assert verdict.split(":", 1)[1] in KNOWN_CODES, case["id"]
    assert verdicts == {"allowed", "rewritten", "refused"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_verdict(case: dict[str, Any], policy: AccessPolicy, executor: Executor) -> None:
    problems: list[str] = []
    for role_key, role in ROLES.items():
        expected = _for_role(case["expect"], role_key)
        try:
            guarded = guard_sql(case["sql"], policy, role)
        except GuardError as exc:
            actual = f"refused:{exc.code}"
            if " / " not in exc.message:
                problems.append(f"{role_key}: message is not bilingual: {exc.message}")
        else:
            actual = "rewritten" if guarded.rewritten else "allowed"
            if actual == expected:
                problems += _run_checks(case, role_key, guarded.sql, policy, executor)
        if actual != expected:
            problems.append(f"{role_key}: expected {expected}, got {actual}")
    assert not problems, f"{case['sql']}\n" + "\n".join(problems)


def _run_checks(
    case: dict[str, Any], role_key: str, sql: str, policy: AccessPolicy, executor: Executor
) -> list[str]:
    problems: list[str] = []
    limit = sqlglot.parse_one(sql, read="duckdb").args.get("limit")
    value = limit.expression if isinstance(limit, exp.Limit) else None
    if not (isinstance(value, exp.Literal) and int(value.name) <= policy.max_rows + 1):
        problems.append(f"{role_key}: no LIMIT <= {policy.max_rows + 1} in {sql}")
    result = executor.run(sql, max_rows=policy.max_rows)
    want_rows = _for_role(case.get("rows"), role_key)
    if want_rows is not None and len(result.rows) != want_rows:
        problems.append(f"{role_key}: expected {want_rows} rows, got {len(result.rows)}")
    if role_key == "merchant":
        for i, name in enumerate(result.columns):
            if name == "merchant_id":
                others = {r[i] for r in result.rows} - {1, None}
                if others:
                    problems.append(f"merchant: saw other merchants {others}")
    if role_key in ("marketer", "merchant"):
        for row in result.rows:
            text = str(row)
            if PHONE_PREFIX in text or USER_NAME_PREFIX in text:
                problems.append(f"{role_key}: PII in result row {text}")
                break
    return problems
