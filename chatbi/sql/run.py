"""``run_guarded``: guard a statement and run it (what ``chatbi sql`` and the pipeline call)."""

from __future__ import annotations

import dataclasses

from chatbi.errors import ChatBIError, RefusedError
from chatbi.sql.engines import guard_options
from chatbi.sql.executor import Executor, QueryError, QueryResult
from chatbi.sql.guard import GuardedSQL, guard_sql
from chatbi.sql.policy import AccessPolicy, Role

__all__ = ["run_guarded"]


def run_guarded(
    sql: str,
    *,
    executor: Executor,
    policy: AccessPolicy,
    role: Role,
    max_rows: int | None = None,
    dialect: str | None = None,
) -> tuple[GuardedSQL, QueryResult]:
    """Guard ``sql`` for ``role`` and run the guarded SQL; ``max_rows`` defaults to the policy's.

    ``sql`` is written in ``dialect`` (default: the executor's engine); the guard writes the
    engine's dialect.

    For roles that see only part of the data (merchants), DuckDB's error text is not passed
    on: a failing cast could otherwise quote a value from a row the filter hides.
    """
    limit = policy.max_rows if max_rows is None else int(max_rows)
    if limit != policy.max_rows:
        policy = dataclasses.replace(policy, max_rows=limit)
    guarded = guard_sql(sql, policy, role, **guard_options(executor, read=dialect))
    try:
        result = executor.run(guarded.sql, max_rows=limit)
    except QueryError as exc:
        if role.is_merchant and exc.code == "sql_error":
            raise QueryError(
                "查询执行失败，请检查列的类型与写法 / the query failed; check the column types "
                "and the SQL",
                code=exc.code,
            ) from None
        raise
    if not result.rows and guarded.probe_sql:
        _explain_empty(guarded, executor, policy, role)
    return guarded, result


def _explain_empty(guarded: GuardedSQL, executor: Executor, policy: AccessPolicy, role: Role) -> None:
    """An empty answer whose rows were all groups below the minimum size says so."""
    try:
        hidden = executor.run(guarded.probe_sql or "", max_rows=1).rows
    except ChatBIError:
        return
    if hidden and hidden[0][0]:
        k = getattr(policy, "min_group_size", 0)
        raise RefusedError(
            f"每个分组都少于 {k} 个用户，为保护个人隐私不显示（角色 {role}）；请放宽筛选条件或减少维度 / "
            f"every group has fewer than {k} users and is not shown to protect people's privacy "
            f"(role {role}); widen the filters or use fewer dimensions.",
            code="small_group_suppressed",
        )
