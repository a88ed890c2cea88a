"""One engine setting: Settings, the guard per dialect and schema, the per-engine function
review, and SQL written by hand rendered for the engine."""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from chatbi.config import Settings
from chatbi.errors import UserInputError
from chatbi.semantic.compiler import compile_query
from chatbi.semantic.loader import load_semantic_layer
from chatbi.semantic.query import SemanticQuery
from chatbi.sql.access import default_policy
from chatbi.sql.engines import guard_options, render
from chatbi.sql.guard import guard_sql
from chatbi.sql.policy import Role

ADMIN = Role.parse("admin")
POLICY = default_policy()


def test_settings_read_the_engine_url_and_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATBI_ENGINE", raising=False)
    assert Settings.from_env().engine == "duckdb"
    monkeypatch.setenv("CHATBI_ENGINE", "PostgreSQL")
    monkeypatch.setenv("CHATBI_WAREHOUSE_URL", "postgresql://reader@127.0.0.1:5432/shop")
    monkeypatch.setenv("CHATBI_WAREHOUSE_SCHEMA", "mart")
    settings = Settings.from_env()
    assert (settings.engine, settings.warehouse_url, settings.warehouse_schema) == (
        "postgres", "postgresql://reader@127.0.0.1:5432/shop", "mart")
    monkeypatch.setenv("CHATBI_ENGINE", "oracle")
    with pytest.raises(UserInputError) as err:
        Settings.from_env()
    assert err.value.code == "invalid_engine" and "duckdb, postgres or spark" in err.value.message


HOSTILE = {
    "postgres": [
        ("SELECT pg_read_file('/etc/passwd')", "sql_function_not_allowed"),
        ("SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", "sql_function_not_allowed"),
        ("SELECT pg_sleep(10)", "sql_function_not_allowed"),
        ("SELECT lo_import('/etc/passwd')", "sql_function_not_allowed"),
        ("SELECT lo_export(1, '/tmp/x')", "sql_function_not_allowed"),
        ("COPY orders TO '/tmp/x'", "sql_not_select"),
        ("COPY (SELECT 1) TO PROGRAM 'id'", "sql_not_select"),
        ("SELECT current_setting('data_directory')", "sql_function_not_allowed"),
        ("SELECT set_config('role', 'postgres', false)", "sql_function_not_allowed"),
        ("SELECT * FROM pg_catalog.pg_authid", "sql_table_not_allowed"),
        ("SELECT * FROM orders FOR UPDATE", "sql_not_select"),
        ("SELECT nextval('s')", "sql_function_not_allowed"),
        ("SELECT * FROM main.orders", "sql_table_not_allowed"),  # main is DuckDB's, not this one
    ],
    "spark": [
        ("SELECT reflect('java.lang.Runtime', 'getRuntime')", "sql_function_not_allowed"),
        ("SELECT java_method('java.lang.System', 'exit', 1)", "sql_function_not_allowed"),
        ("SELECT * FROM parquet.`/tmp/x`", "sql_table_not_allowed"),
        ("SELECT * FROM csv.`file:///etc/passwd`", "sql_table_not_allowed"),
        ("SELECT * FROM delta.`/tmp/t`", "sql_table_not_allowed"),
        ("SELECT input_file_name() FROM orders", "sql_function_not_allowed"),
        ("SELECT * FROM read_files('/tmp')", "sql_function_not_allowed"),
    ],
}


@pytest.mark.parametrize(("engine", "sql", "code"),
                         [(e, s, c) for e, cases in HOSTILE.items() for s, c in cases])
def test_engine_specific_escapes_are_refused(engine: str, sql: str, code: str) -> None:
    with pytest.raises(Exception) as err:
        guard_sql(sql, POLICY, ADMIN, dialect=engine)
    assert getattr(err.value, "code", None) == code, err.value


@pytest.mark.parametrize(("engine", "schema", "allowed", "refused"), [
    ("duckdb", None, "main", "public"),
    ("postgres", None, "public", "main"),
    ("postgres", "mart", "mart", "public"),
    ("spark", "shop", "shop", "default"),
])
def test_only_the_configured_schema_may_qualify_a_table(engine: str, schema: str | None,
                                                         allowed: str, refused: str) -> None:
    ok = guard_sql(f"SELECT order_id FROM {allowed}.orders", POLICY, ADMIN, dialect=engine, schema=schema)
    assert "orders" in ok.sql and f"{allowed}." not in ok.sql  # the executor sets the schema
    with pytest.raises(Exception) as err:
        guard_sql(f"SELECT order_id FROM {refused}.orders", POLICY, ADMIN, dialect=engine, schema=schema)
    assert getattr(err.value, "code", None) == "sql_table_not_allowed"


def test_duckdb_text_is_written_for_the_engine_by_the_guard() -> None:
    sql = ("SELECT region, CAST(COUNT(*) AS DOUBLE) / 3 AS r, date_diff('day', signup_date, DATE '2026-09-30') AS d "
           "FROM users GROUP BY region")
    for engine, word in (("postgres", "DOUBLE PRECISION"), ("spark", "DOUBLE")):
        out = guard_sql(sql, POLICY, ADMIN, dialect="duckdb", engine=engine).sql
        assert f"AS {word})" in out, out
        assert sqlglot.parse_one(out, read=engine) is not None
    pg = guard_sql(sql, POLICY, ADMIN, dialect="duckdb", engine="postgres").sql
    assert "AS DOUBLE)" not in pg  # PostgreSQL: type "double" does not exist


def test_compiled_sql_guarded_per_engine_keeps_rls_and_pii() -> None:
    layer = load_semantic_layer()
    query = SemanticQuery(metrics=["gmv", "return_rate"], dimensions=["region"])
    for engine in ("postgres", "spark"):
        compiled = compile_query(query, layer, as_of=date(2026, 9, 30), dialect=engine)
        merchant = guard_sql(compiled.sql, POLICY, Role.parse("merchant:7"), dialect=engine)
        tree = sqlglot.parse_one(merchant.sql, read=engine)
        filters = [w for w in tree.find_all(exp.EQ) if w.sql(engine).endswith("merchant_id = 7")]
        assert filters and merchant.rewritten
        with pytest.raises(Exception) as err:
            guard_sql("SELECT phone FROM users", POLICY, Role.parse("marketer"), dialect=engine)
        assert getattr(err.value, "code", None) == "sql_pii_refused"


class _FakeEngine:
    dialect = "postgres"
    schema = "mart"


def test_guard_options_and_render_follow_the_executor() -> None:
    assert guard_options(_FakeEngine()) == {"dialect": "postgres", "engine": "postgres", "schema": "mart"}
    assert guard_options(_FakeEngine(), read="duckdb")["dialect"] == "duckdb"
    assert guard_options(object()) == {"dialect": "duckdb", "engine": "duckdb", "schema": None}
    text = "SELECT DISTINCT CAST(region AS VARCHAR) AS value FROM users ORDER BY 1 LIMIT 5"
    assert render(text, "duckdb") == text
    assert "AS VARCHAR" not in render(text, "spark") and "AS STRING" in render(text, "spark")
    with pytest.raises(Exception) as err:
        render("SELECT (", "postgres")
    assert getattr(err.value, "code", None) == "sql_parse_error"


def test_unnamed_subqueries_get_an_alias_on_postgres_only() -> None:
    text = "SELECT COUNT(*) AS n FROM (SELECT user_id FROM orders GROUP BY user_id) JOIN (SELECT 1 AS one) ON TRUE"
    assert render(text, "postgres").count("AS _subquery") == 2
    assert "_subquery" not in render(text, "spark")
    assert "AS _subquery1" in guard_sql(text, POLICY, ADMIN, dialect="duckdb", engine="postgres", schema="shop").sql
    assert "_subquery" not in guard_sql(text, POLICY, ADMIN).sql
    named = "SELECT COUNT(*) AS n FROM (SELECT user_id FROM orders) AS t"
    assert render(named, "postgres") == named
