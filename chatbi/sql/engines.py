"""The warehouse engine chatbi talks to: DuckDB (embedded file), PostgreSQL or Spark.

``CHATBI_ENGINE`` picks one (``Settings.engine``); everything that writes SQL asks the
executor which dialect it speaks:

* compiled SQL is compiled for ``dialect_of(executor)`` and guarded in that dialect;
* SQL the code writes by hand (dimension values, tag transitions, alerts, relations, gold
  answers) is DuckDB text, rendered for the engine through sqlglot with ``render`` or guarded
  with ``guard_options(executor, read="duckdb")`` (the guard parses DuckDB and writes the
  engine's dialect).

``open_executor(settings)`` opens the executor of the configured engine.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlglot
import sqlglot.errors

from chatbi.errors import GuardError, UserInputError

__all__ = ["ENGINES", "DEFAULT_SCHEMAS", "dialect_of", "schema_of", "render", "guard_options",
           "open_executor", "check_engine", "for_engine"]

# engine name -> sqlglot dialect
ENGINES: dict[str, str] = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark"}
# the schema tables live in when CHATBI_WAREHOUSE_SCHEMA is not set
DEFAULT_SCHEMAS: dict[str, str] = {"duckdb": "main", "postgres": "public", "spark": "default"}


def check_engine(name: str) -> str:
    """The engine name, lower-case; an unknown name is a user error with the choices."""
    engine = (name or "duckdb").strip().lower()
    if engine in ("postgresql", "pg"):
        engine = "postgres"
    if engine not in ENGINES:
        raise UserInputError(
            f"未知的引擎 CHATBI_ENGINE={name!r}，可选 duckdb、postgres、spark / unknown engine "
            f"CHATBI_ENGINE={name!r}; use duckdb, postgres or spark",
            code="invalid_engine",
        )
    return engine


def dialect_of(executor: Any) -> str:
    """The sqlglot dialect the executor runs (``duckdb`` for executors that do not say)."""
    return str(getattr(executor, "dialect", None) or "duckdb")


def schema_of(executor: Any) -> str | None:
    """The schema the executor's tables live in (None: the engine's default)."""
    schema = getattr(executor, "schema", None)
    return str(schema) if schema else None


def for_engine(tree: Any, dialect: str) -> Any:
    """What sqlglot's generator leaves to us, in place: PostgreSQL before 16 wants an alias on
    every subquery in FROM or JOIN (``subquery in FROM must have an alias``), which DuckDB and
    Spark do not; each one without gets ``_subqueryN``."""
    if dialect == "postgres":
        count = 0
        for node in list(tree.find_all(sqlglot.exp.Subquery)):
            if isinstance(node.parent, sqlglot.exp.From | sqlglot.exp.Join) and not node.alias:
                count += 1
                node.set("alias", sqlglot.exp.TableAlias(this=sqlglot.exp.to_identifier(f"_subquery{count}")))
    return tree


@functools.lru_cache(maxsize=1024)
def render(sql: str, dialect: str, read: str = "duckdb") -> str:
    """``sql`` (written for ``read``) rendered for ``dialect`` through sqlglot."""
    if dialect == read:
        return sql
    try:
        tree = next(t for t in sqlglot.parse(sql, read=read) if t is not None)  # the first, as transpile
        return str(for_engine(tree, dialect).sql(dialect=dialect))
    except sqlglot.errors.SqlglotError as exc:
        detail = str(exc).strip().splitlines()[0][:200]
        raise GuardError(f"SQL 无法转换为 {dialect} / cannot render the SQL for {dialect}: {detail}",
                         code="sql_parse_error") from exc


def guard_options(executor: Any, *, read: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``guard_sql`` for SQL that will run on ``executor``.

    ``read`` is the dialect the SQL is written in (default: the engine's own, as for compiled
    SQL); the guard's output, column checks and re-check use the engine's dialect.
    """
    engine = dialect_of(executor)
    return {"dialect": read or engine, "engine": engine, "schema": schema_of(executor)}


def open_executor(settings: Any) -> Any:
    """The executor of ``settings.engine`` with the settings' time limit and row cap."""
    engine = check_engine(getattr(settings, "engine", "duckdb"))
    if engine == "postgres":
        from chatbi.sql.postgres import PostgresExecutor

        return PostgresExecutor(settings.warehouse_url or "", schema=settings.warehouse_schema,
                                timeout_s=settings.query_timeout_s)
    if engine == "spark":
        from chatbi.sql.spark import SparkExecutor

        return SparkExecutor(settings.warehouse_url or "", schema=settings.warehouse_schema,
                             timeout_s=settings.query_timeout_s)
    from chatbi.sql.executor import Executor

    return Executor(settings.db_path, timeout_s=settings.query_timeout_s,
                    memory_limit=settings.memory_limit)
