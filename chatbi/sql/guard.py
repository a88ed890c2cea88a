"""The SQL guard: every statement, compiled or hand-written, passes here before it runs.

``guard_sql`` parses the text with sqlglot and either refuses it with a ``GuardError`` whose
``code`` names the rule and whose message says why (Chinese / English), or returns the SQL
that may run, rewritten for the role. The rules, in the order they are checked:

1. Exactly one statement, and it is a query: ``SELECT`` (with CTEs, subqueries, UNION /
   INTERSECT / EXCEPT). DDL, DML, PRAGMA, SET, ATTACH, COPY, INSTALL/LOAD, EXPORT, CALL,
   DESCRIBE… are refused (``sql_not_select``, ``sql_multiple_statements``,
   ``sql_parse_error``, ``sql_empty``, ``sql_too_long``).
2. Every node of the tree is on an allow-list (``chatbi.sql.allowlist``): known-safe
   function types and names only, so ``read_csv``, ``read_parquet``, ``read_text``, ``glob``,
   ``getenv``, ``current_setting``, ``query``, ``duckdb_*``… are refused wherever they appear
   (``sql_function_not_allowed``); table functions other than ``unnest``, ``range`` and
   ``generate_series`` are refused; parameters, lambdas, ``COLUMNS()``, positional ``#1``,
   dotted method calls, PIVOT and time travel are refused (``sql_syntax_not_allowed``).
2b. Sizes are bounded (``chatbi.sql.limits``): ``range``/``generate_series`` with constant
   bounds and a maximum length, string builders (``repeat``, ``lpad``…) with constant sizes
   and a maximum built length, string distances on short inputs (``sql_resource_limit``).
3. Every table reference is resolved with SQL scoping (a CTE name hides a table only where
   the CTE is visible). Real tables must be in the policy, unqualified or in the allowed schema (``main``, or ``CHATBI_WAREHOUSE_SCHEMA``)
   (``sql_table_not_allowed``; ``FROM 'file.csv'`` is a table name here and is refused). A CTE
   may not be named like a policy table (``sql_cte_shadows_table``), so what the guard
   treats as a CTE is what DuckDB treats as one. Column alias lists on a real table
   (``FROM users AS u(a, b)``), which would rename columns by position, are refused.
4. Merchant roles (``merchant:<id>``) only reach tables tied to a merchant: a table with a
   security column, or one with a ``MerchantLink`` (see ``chatbi.sql.access``; e.g. users
   are limited to buyers who ordered from the merchant). Others (``user_profile``,
   ``campaigns``, ``kols``) are refused.
5. Roles without PII access (marketer, merchant) may not mention a PII column anywhere:
   select list, WHERE, JOIN … USING, GROUP BY, ORDER BY, functions, subqueries, CTEs
   (``sql_pii_refused``). A PII column named only in ``* EXCLUDE (…)`` is dropped from the list.
   Note: the check is by name, so a derived column named like a PII column is refused too.
6. Columns are resolved with ``sqlglot.optimizer.qualify`` against a schema holding only the
   columns the role may see; an unknown, hidden or ambiguous column is refused
   (``sql_column_not_allowed``, ``sql_column_ambiguous``), and so is a whole-row reference
   such as ``SELECT u FROM users u`` (a struct of every column).
6b. Roles without PII access, when the policy sets a minimum group size k
   (``chatbi.sql.small_groups``): no user id in the result (``sql_user_level_refused``), no
   rows of individual people (``sql_small_group_refused``), and aggregates over people get
   ``HAVING COUNT(DISTINCT user_id) >= k`` (a note says so; ``probe_sql`` counts what was left out).
7. Rewrite (``rewritten=True``, each change explained in ``notes``): every real table that
   needs it is replaced by a subquery with the original alias, ``(SELECT <visible columns>
   FROM t WHERE <row filter>) AS t``. That happens for merchant roles (row filter on every
   reference, in joins, subqueries and CTEs alike), for tables with hidden PII columns, and
   for every table whose columns a ``*`` can reach (directly, or through derived tables and
   CTEs that select ``*`` themselves): so ``*`` always means exactly the columns the role
   may see (PII-free for marketers), never a column outside the policy.
8. A LIMIT is always present: ``policy.max_rows + 1`` is added when missing and larger
   limits are capped to it (the executor fetches ``max_rows + 1`` rows to detect truncation).
   Only a non-negative integer literal LIMIT (or FETCH FIRST n ROWS) is accepted. The LIMIT
   change is a note, not a "rewrite".

The output is SQL for the engine (``engine``: DuckDB by default, PostgreSQL or Spark)
generated from the checked tree without comments, parsed again in that dialect and re-checked
before it is returned. The input ``dialect`` is the dialect to read. Functions are reviewed
per engine too (``allowlist.ENGINE_REFUSED_FUNCTIONS``: PostgreSQL's ``pg_read_file``,
``dblink``, ``pg_sleep``, ``lo_*``…, Spark's ``reflect``, ``java_method``…).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from chatbi.errors import GuardError
from chatbi.sql import allowlist
from chatbi.sql.access import column_order, default_policy, merchant_links
from chatbi.sql.engines import for_engine
from chatbi.sql.limits import check_limits
from chatbi.sql.policy import AccessPolicy, Role
from chatbi.sql.small_groups import SMALL_GROUP_MARK, protect_small_groups
from chatbi.warehouse.profile_schema import PROFILE_CONTRACT
from chatbi.warehouse.schema import RAW_TABLES

__all__ = ["GuardedSQL", "guard_sql", "default_policy", "MAX_SQL_CHARS"]

MAX_SQL_CHARS = 20_000
OUTPUT_DIALECT = "duckdb"
_SET_OPERATION = getattr(exp, "SetOperation", exp.Union)
_NODE = getattr(exp, "Expr", exp.Expression)  # the base of every node (sqlglot >= 30: Expr)
_QUERY_TYPES = (exp.Select, _SET_OPERATION)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _QuietCommandFallback(logging.Filter):
    """Drop sqlglot's warning for statements it keeps as a raw Command (they are refused)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_QuietCommandFallback())
_PATH_LIKE = re.compile(r"[/\\.:*?~]")
# Statement keywords DuckDB knows; any other word sqlglot kept as a Command is a typo.
_STATEMENT_KEYWORDS = frozenset({
    "ABORT", "ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMENT", "COMMIT",
    "COPY", "CREATE", "DEALLOCATE", "DELETE", "DESCRIBE", "DETACH", "DROP", "END", "EXECUTE",
    "EXPLAIN", "EXPORT", "FORCE", "GRANT", "IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE",
    "PIVOT", "PRAGMA", "PREPARE", "RESET", "REVOKE", "ROLLBACK", "SET", "SHOW", "SUMMARIZE",
    "TRUNCATE", "UNPIVOT", "UPDATE", "UPSERT", "USE", "VACUUM",
})
_COLUMN_IN_ERROR = re.compile(
    r"Column '([^']+)' could not be resolved|Unknown column: (\S+)|"
    r"Cannot automatically join: (\S+)|Ambiguous column '?([^'\s]+)"
)


@dataclass(frozen=True)
class GuardedSQL:
    """SQL that passed the guard: ``sql`` is what may run; ``notes`` explain each change."""

    sql: str
    rewritten: bool
    notes: tuple[str, ...]
    tables: frozenset[str]
    # Set when groups below the minimum size are left out (rule 6b): the number of rows the
    # query would return without that, so an empty answer can say why.
    probe_sql: str | None = None


def guard_sql(
    sql: str, policy: AccessPolicy, role: Role, *, dialect: str = "duckdb",
    engine: str | None = None, schema: str | None = None,
) -> GuardedSQL:
    """Check ``sql`` against ``policy`` for ``role``; return the SQL to run or raise GuardError.

    ``dialect`` is the dialect ``sql`` is written in; ``engine`` the dialect of the warehouse
    it will run on (default: the same), which the output, the column checks, the re-check and
    the per-engine function review follow; ``schema`` the one schema tables may be qualified
    with (default: the engine's, ``main`` on DuckDB).
    """
    try:
        return _Guard(policy, role, dialect, engine, schema).run(sql)
    except RecursionError as exc:
        raise _refuse(
            "sql_parse_error", "查询嵌套过深", "the query is nested too deeply"
        ) from exc


def _refuse(code: str, zh: str, en: str) -> GuardError:
    return GuardError(f"{zh} / {en}", code=code)


def _int_literal(node: exp.Expr | None) -> int | None:
    """The value of a non-negative integer literal, else None."""
    if isinstance(node, exp.Literal) and not node.is_string and re.fullmatch(r"\d+", node.name):
        return int(node.name)
    return None


def _projects_star(scope: Scope) -> bool:
    select = scope.expression
    return isinstance(select, exp.Select) and any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in select.expressions
    )


def _tables_under_star(root: exp.Expr) -> set[int] | None:
    """ids of the table nodes whose columns a ``*`` can reach (None: could not tell, so all).

    A star reaches the sources of its SELECT; through a derived table or CTE it reaches
    further only where that query projects a star too (explicit columns were checked).
    """
    try:
        top = build_scope(root)
    except Exception:  # sqlglot could not scope it: treat every table as reachable
        return None
    if top is None:
        return None
    reached: set[int] = set()

    def reach(scope: Scope) -> None:
        branches = getattr(scope, "set_operation_scopes", None) or getattr(scope, "union_scopes", None)
        if branches:
            for branch in branches:
                reach(branch)
            return
        if not _projects_star(scope):
            return
        for source in scope.selected_sources.values():
            node = source[1]
            if isinstance(node, exp.Table):
                reached.add(id(node))
            elif isinstance(node, Scope):
                reach(node)

    for scope in top.traverse():
        if _projects_star(scope):
            reach(scope)
    return reached


class _Guard:
    """One guard run: the checks and rewrites of the module docstring, in order."""

    def __init__(self, policy: AccessPolicy, role: Role, dialect: str,
                 engine: str | None = None, schema: str | None = None):
        self.policy = policy
        self.role = role
        self.dialect = dialect
        self.engine = engine or (dialect if dialect in allowlist.ENGINE_DIALECTS else OUTPUT_DIALECT)
        self.schemas = {"main"} if self.engine == "duckdb" else set()
        self.schemas.add((schema or allowlist.DEFAULT_SCHEMAS.get(self.engine, "main")).lower())
        self.tables = {t.lower(): frozenset(c.lower() for c in cols) for t, cols in policy.tables.items()}
        self.pii = {t.lower(): frozenset(c.lower() for c in cols) for t, cols in policy.pii.items()}
        self.security = {t.lower(): c.lower() for t, c in policy.security_columns.items()}
        self.links = {t.lower(): link for t, link in merchant_links(policy).items()}
        self.reserved = set(self.tables) | {
            link.via_table.lower() for link in self.links.values() if link.via_table
        }
        self.notes: list[str] = []
        self.rewritten = False

    # -- pipeline ---------------------------------------------------------------------------

    def run(self, sql: str) -> GuardedSQL:
        root = self._parse(sql)
        self._normalize(root)
        self._check_nodes(root)
        check_limits(root)  # 2b. bounded generators, string builders, distances
        refs = self._resolve_tables(root)
        names = self._check_tables(refs)
        self._check_pii(root, names)
        self._check_columns(root, names)
        small = self._small_groups(root, names)  # 6b. no user ids, no group below k
        self._rewrite_tables(refs)
        self._apply_limit(root)
        out = for_engine(root, self.engine).sql(dialect=self.engine, comments=False)
        self._verify(out)
        probe = self._probe(root) if small else None
        return GuardedSQL(out, self.rewritten, tuple(self.notes), frozenset(names), probe)

    # -- 1. one SELECT ----------------------------------------------------------------------

    def _parse(self, sql: str) -> exp.Expr:
        if not isinstance(sql, str) or not sql.strip():
            raise _refuse("sql_empty", "SQL 为空", "the SQL text is empty")
        if len(sql) > MAX_SQL_CHARS:
            raise _refuse(
                "sql_too_long", f"SQL 超过 {MAX_SQL_CHARS} 个字符",
                f"the SQL text is longer than {MAX_SQL_CHARS} characters",
            )
        try:
            parsed = sqlglot.parse(sql, read=self.dialect)
        except SqlglotError as exc:
            detail = _ANSI.sub("", str(exc)).strip().splitlines()[0][:300]
            raise _refuse("sql_parse_error", f"SQL 无法解析：{detail}", f"cannot parse the SQL: {detail}") from exc
        statements = [s for s in parsed if s is not None]
        if not statements:
            raise _refuse("sql_empty", "SQL 为空", "the SQL text is empty")
        if len(statements) > 1:
            raise _refuse(
                "sql_multiple_statements", f"只允许一条语句，收到 {len(statements)} 条",
                f"exactly one statement is allowed, got {len(statements)}",
            )
        root = statements[0]
        while isinstance(root, exp.Subquery) and not root.alias:
            modifiers = {k: v for k, v in root.args.items() if v and k != "this"}
            if not modifiers:
                root = root.this
                continue
            # ``(SELECT …) ORDER BY … LIMIT …``: the modifiers move to an outer SELECT *.
            inner = exp.Subquery(this=root.this, alias=exp.TableAlias(this=exp.to_identifier("_q")))
            root = exp.Select(expressions=[exp.Star()]).from_(inner)
            for key, value in modifiers.items():
                root.set(key, value)
        if not isinstance(root, _QUERY_TYPES):
            word = str(root.this) if isinstance(root, exp.Command) else sql.strip().split()[0]
            word = word.upper()[:40]
            statement = isinstance(root, (*allowlist.STATEMENT_TYPES, exp.Values))
            if isinstance(root, exp.Command) or not statement:
                if word not in _STATEMENT_KEYWORDS:
                    raise _refuse(
                        "sql_parse_error", f"SQL 无法解析：未知的语句 {word}",
                        f"cannot parse the SQL: unknown statement {word}",
                    )
                kind = word
            else:
                kind = self._statement_kind(root)
            raise _refuse(
                "sql_not_select", f"只允许只读的 SELECT 查询，不允许 {kind}",
                f"only a read-only SELECT query is allowed, not {kind}",
            )
        return root

    @staticmethod
    def _statement_kind(node: exp.Expr) -> str:
        if isinstance(node, exp.Command):
            return str(node.this).upper()
        return node.key.upper()

    def _normalize(self, root: exp.Expr) -> None:
        """Drop comments and qualifiers naming the allowed schema (``main`` on DuckDB, the
        configured one elsewhere), refusing any other schema, catalog or path (Spark's
        ``parquet.`/path```)."""
        for node in root.walk():
            node.comments = None
            if isinstance(node, exp.Table | exp.Column):
                db, catalog = node.args.get("db"), node.args.get("catalog")
                if db is not None and not catalog and str(db.name).lower() in self.schemas:
                    node.set("db", None)
                elif db is not None or catalog is not None:
                    qualified = node.sql(dialect=self.engine)
                    raise _refuse(
                        "sql_table_not_allowed", f"不允许访问其他 schema 或数据库：{qualified}",
                        f"other schemas or databases are not allowed: {qualified}",
                    )

    # -- 2. allow-listed nodes ----------------------------------------------------------------

    def _check_nodes(self, root: exp.Expr) -> None:
        for node in root.walk():
            if isinstance(node, allowlist.STATEMENT_TYPES):
                kind = self._statement_kind(node)
                raise _refuse(
                    "sql_not_select", f"查询中不允许 {kind} 语句",
                    f"a {kind} statement is not allowed inside a query",
                )
            if isinstance(node, exp.Func):
                self._check_function(node)
                continue
            if type(node) not in allowlist.SAFE_NODE_TYPES:
                self._refuse_syntax(node)
            if isinstance(node, exp.Var) and not self._harmless_var(node):
                self._refuse_syntax(node)

    @staticmethod
    def _harmless_var(node: exp.Var) -> bool:
        """A bare keyword: a date part, a sample method, or ``ORDER BY ALL``."""
        word = str(node.name)
        if isinstance(node.parent, exp.Ordered | exp.Limit):
            return word.upper() == "ALL"
        return isinstance(node.parent, allowlist.VAR_PARENT_TYPES) and bool(
            re.fullmatch(r"[A-Za-z_]+", word)
        )

    def _check_function(self, node: exp.Func) -> None:
        name = allowlist.function_name(node)
        in_table = isinstance(node.parent, exp.Table) and node.arg_key == "this"
        if in_table and not allowlist.is_safe_table_function(node, self.engine):
            raise _refuse(
                "sql_function_not_allowed",
                f"不允许的表函数 {name}()（不能读取文件、网络或系统信息）",
                f"table function {name}() is not allowed (no files, network or system "
                "catalog); only unnest, range and generate_series",
            )
        if not in_table and not allowlist.is_safe_function(node, self.engine):
            raise _refuse(
                "sql_function_not_allowed",
                f"不允许的函数 {name}()（不能读取文件、网络、环境变量或系统设置）",
                f"function {name}() is not allowed (no files, network, environment or settings)",
            )

    def _refuse_syntax(self, node: exp.Expr) -> None:
        labels = {
            "placeholder": "parameters (? / $1)", "parameter": "parameters",
            "lambda": "lambda functions", "dot": "dotted method calls", "columns": "COLUMNS()",
            "positionalcolumn": "positional columns (#1)", "pivot": "PIVOT/UNPIVOT",
            "historicaldata": "time travel (AT …)", "var": f"the keyword {node.name!r}",
        }
        what = labels.get(node.key, node.key.upper())
        raise _refuse(
            "sql_syntax_not_allowed", f"不支持的 SQL 语法：{what}", f"unsupported SQL syntax: {what}"
        )

    # -- 3./4. tables -----------------------------------------------------------------------------

    def _resolve_tables(self, root: exp.Expr) -> list[exp.Table]:
        """Real table references (CTE references excluded), with SQL's CTE visibility."""
        real: list[exp.Table] = []

        def visit(node: exp.Expr, visible: frozenset[str]) -> None:
            with_ = node.args.get("with_") or node.args.get("with")
            if isinstance(with_, exp.With):
                recursive = bool(with_.args.get("recursive"))
                scope = set(visible)
                for cte in with_.expressions:
                    name = str(cte.alias).lower()
                    if name in self.reserved:
                        raise _refuse(
                            "sql_cte_shadows_table", f"CTE 名称 {name} 与数据表同名，请换一个名字",
                            f"the CTE name {name} shadows a table; choose another name",
                        )
                    body_scope = scope | {name} if recursive else scope
                    visit(cte.this, frozenset(body_scope))
                    scope.add(name)
                visible = frozenset(scope)
            for value in node.args.values():
                children = value if isinstance(value, list) else [value]
                for child in children:
                    if isinstance(child, _NODE) and child is not with_:
                        visit(child, visible)
            if isinstance(node, exp.Table) and not isinstance(node.this, exp.Func):
                if node.name.lower() in visible and isinstance(node.this, exp.Identifier):
                    return
                real.append(node)

        visit(root, frozenset())
        return real

    def _check_tables(self, refs: list[exp.Table]) -> set[str]:
        names: set[str] = set()
        for table in refs:
            if not isinstance(table.this, exp.Identifier):
                self._refuse_syntax(table)
            name = table.name.lower()
            if name not in self.tables:
                raise self._table_error(table.name)
            if not (isinstance(table.parent, exp.From | exp.Join) and table.arg_key == "this"):
                raise _refuse(
                    "sql_syntax_not_allowed",
                    f"不支持带括号的表或 JOIN：{name}，请去掉括号",
                    f"parenthesized tables or joins are not supported ({name}); remove the parentheses",
                )
            extra = [k for k, v in table.args.items() if v and k not in ("this", "alias")]
            if extra:
                raise _refuse(
                    "sql_syntax_not_allowed", f"表 {name} 上不支持的子句：{', '.join(extra)}",
                    f"unsupported clause on table {name}: {', '.join(extra)}",
                )
            alias = table.args.get("alias")
            if alias is not None and alias.columns:
                raise _refuse(
                    "sql_column_not_allowed", f"不允许给表 {name} 的列按位置改名",
                    f"renaming the columns of table {name} by position (AS t(a, b)) is not allowed",
                )
            if self.role.is_merchant and name not in self.security and name not in self.links:
                raise _refuse(
                    "sql_table_not_allowed",
                    f"商户角色不能访问表 {name}（其数据不属于单个商户）",
                    f"merchant roles cannot query table {name}: its rows are not tied to one merchant",
                )
            names.add(name)
        return names

    def _table_error(self, raw_name: str) -> GuardError:
        allowed = ", ".join(sorted(self.tables))
        if _PATH_LIKE.search(raw_name):
            return _refuse(
                "sql_table_not_allowed", f"不允许读取文件或外部路径：{raw_name}",
                f"reading files or external paths is not allowed: {raw_name}",
            )
        return _refuse(
            "sql_table_not_allowed", f"不允许访问的表：{raw_name}（可用的表：{allowed}）",
            f"table not allowed: {raw_name} (allowed tables: {allowed})",
        )

    # -- 5./6. columns ---------------------------------------------------------------------------

    def _visible(self, table: str) -> frozenset[str]:
        cols = self.tables[table]
        if not self.role.can_see_pii:
            cols = cols - self.pii.get(table, frozenset())
        return cols

    def _check_pii(self, root: exp.Expr, names: set[str]) -> None:
        if self.role.can_see_pii:
            return
        pii = {c for t in names for c in self.pii.get(t, frozenset())}
        if not pii:
            return
        dropped: set[str] = set()
        for col in list(root.find_all(exp.Column)):
            name = col.name.lower()
            if name not in pii:
                continue
            star = col.parent
            if isinstance(star, exp.Star) and col.arg_key in ("except_", "except"):
                remaining = [c for c in star.args[col.arg_key] if c is not col]
                star.set(col.arg_key, remaining or None)
                dropped.add(name)
                continue
            raise self._pii_error(name)
        for join in root.find_all(exp.Join):
            for ident in join.args.get("using") or []:
                if str(ident.name).lower() in pii:
                    raise self._pii_error(str(ident.name).lower())
        if dropped:
            cols = ", ".join(sorted(dropped))
            self.notes.append(f"EXCLUDE 中的敏感列 {cols} 已移除（本就不可见） / "
                              f"PII columns {cols} removed from EXCLUDE (they are hidden anyway)")

    def _pii_error(self, column: str) -> GuardError:
        return _refuse(
            "sql_pii_refused",
            f"角色 {self.role} 不能查看或使用敏感个人信息列 {column}",
            f"role {self.role} may not select, filter, join or otherwise use the PII column {column}",
        )

    def _check_columns(self, root: exp.Expr, names: set[str]) -> None:
        schema: dict[str, object] = {}
        for table in names:
            types = RAW_TABLES.get(table, {})
            schema[table] = {c: types.get(c, "UNKNOWN") for c in column_order(table, self._visible(table))}
        try:
            qualified = qualify(
                root.copy(), schema=schema, dialect=self.engine,
                validate_qualify_columns=True, quote_identifiers=False, identify=False,
            )
        except OptimizeError as exc:
            raise self._column_error(str(exc), names) from exc
        except GuardError:
            raise
        except Exception as exc:  # sqlglot internals on exotic syntax: fail closed
            raise _refuse(
                "sql_syntax_not_allowed", f"无法校验查询中的列：{exc}",
                f"cannot verify the columns of this query: {exc}",
            ) from exc
        sources = {str(t.name).lower() for t in qualified.find_all(exp.Table)}
        sources |= {str(a.name).lower() for a in qualified.find_all(exp.TableAlias)}
        whole_row = getattr(exp, "TableColumn", exp.Column)
        for col in qualified.find_all(exp.Column, whole_row):
            if isinstance(col, whole_row) or (not col.table and col.name.lower() in sources):
                raise _refuse(
                    "sql_column_not_allowed",
                    f"不允许把整行 {col.name} 当作一列引用，请写出具体的列",
                    f"referencing the whole row {col.name} as a column is not allowed; name the columns",
                )

    def _schema(self, names: set[str]) -> dict[str, object]:
        return {t: {c: RAW_TABLES.get(t, {}).get(c, "UNKNOWN") for c in column_order(t, self._visible(t))}
                for t in names}

    def _small_groups(self, root: exp.Expr, names: set[str]) -> bool:
        """Rule 6b (``chatbi.sql.small_groups``) for roles without PII access."""
        k = int(getattr(self.policy, "min_group_size", 0) or 0)
        if k <= 0 or self.role.can_see_pii:
            return False
        key = str(getattr(self.policy, "user_key", "user_id")).lower()
        protected = {t for t in names if key in self._visible(t)}
        if self.role.is_merchant:
            people = {t.lower() for t in getattr(self.policy, "merchant_people_tables", ())}
            protected &= people
        try:
            added = protect_small_groups(root, self._schema(names), k=k, user_key=key,
                                         protected=frozenset(protected), role=str(self.role),
                                         dialect=self.engine)
        except GuardError:
            raise
        except Exception as exc:  # sqlglot internals on exotic syntax: fail closed
            raise _refuse(
                "sql_syntax_not_allowed", f"无法校验查询的分组大小：{exc}",
                f"cannot verify the group sizes of this query: {exc}",
            ) from exc
        if added:
            self.notes.append(
                f"少于 {k} 个用户的分组不显示（角色 {self.role} 不能查看可识别个人的小分组） / groups "
                f"of fewer than {k} users are left out (role {self.role} may not see small groups "
                "that could identify people)")
        return added

    def _probe(self, root: exp.Expr) -> str:
        """``SELECT COUNT(*)`` of ``root`` without the minimum-group-size conditions."""
        copy = root.copy()
        for node in list(copy.find_all(exp.GTE)):
            if node.meta.get(SMALL_GROUP_MARK):
                node.replace(exp.true())
        copy.set("limit", None)
        return f"SELECT COUNT(*) AS n FROM ({copy.sql(dialect=self.engine, comments=False)}) AS _probe"

    def _column_error(self, message: str, names: set[str]) -> GuardError:
        match = _COLUMN_IN_ERROR.search(message)
        column = next((g for g in match.groups() if g), "") if match else ""
        column = column.strip('"`').split(".")[-1].strip('"').lower()
        holders = [t for t in sorted(names) if column in self._visible(t)]
        if column and len(holders) > 1 and "Unknown column" not in message:
            return _refuse(
                "sql_column_ambiguous", f"列 {column} 有歧义（{', '.join(holders)} 都有），请加表名或别名",
                f"column {column} is ambiguous ({', '.join(holders)} all have it); qualify it",
            )
        if column and any(column in self.pii.get(t, ()) for t in names) and not self.role.can_see_pii:
            return self._pii_error(column)
        listing = "; ".join(f"{t}({', '.join(column_order(t, self._visible(t)))})" for t in sorted(names))
        shown = column or _ANSI.sub("", message)[:200]
        return _refuse(
            "sql_column_not_allowed", f"列不存在或不允许访问：{shown}。可用的列：{listing}",
            f"unknown or not allowed column: {shown}. Allowed columns: {listing}",
        )

    # -- 7. rewrite ---------------------------------------------------------------------------------

    def _rewrite_tables(self, refs: list[exp.Table]) -> None:
        if not refs:
            return
        starred = _tables_under_star(refs[0].root())
        explained: set[str] = set()
        for table in refs:
            name = table.name.lower()
            visible = self._visible(name)
            hidden = self.tables[name] - visible
            row_filter = self._row_filter(name) if self.role.is_merchant else None
            uses_star = starred is None or id(table) in starred
            if row_filter is None and not hidden and not uses_star:
                continue
            inner = exp.select(*[exp.column(c, table=name) for c in column_order(name, visible)])
            inner = inner.from_(exp.to_table(name))
            if row_filter is not None:
                inner = inner.where(row_filter)
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
            table.replace(exp.Subquery(this=inner, alias=alias.copy()))
            self.rewritten = True
            if name not in explained:
                explained.add(name)
                self._explain(name, row_filter, hidden)

    def _explain(self, name: str, row_filter: exp.Expr | None, hidden: frozenset[str]) -> None:
        if row_filter is not None:
            cond = row_filter.sql(dialect=self.engine)
            self.notes.append(f"已将 {name} 限定为商户 {self.role.merchant_id} 的数据（{cond}） / "
                              f"{name} limited to merchant {self.role.merchant_id}'s rows ({cond})")
        if hidden:
            cols = ", ".join(sorted(hidden))
            self.notes.append(f"已隐藏 {name} 的敏感列 {cols} / PII columns of {name} hidden: {cols}")
        if row_filter is None and not hidden:
            self.notes.append(f"{name} 的 * 只包含允许访问的列 / * over {name} covers only its allowed columns")

    def _row_filter(self, name: str) -> exp.Expr:
        merchant_id = self.role.merchant_id
        if merchant_id is None:
            raise _refuse("sql_table_not_allowed", "商户角色缺少商户编号", "the merchant role has no merchant id")
        mid = exp.Literal.number(int(merchant_id))
        if name in self.security:
            return exp.column(self.security[name], table=name).eq(mid)
        link = self.links[name]
        conds: list[exp.Expr] = []
        if link.when:
            conds.append(exp.column(link.when[0], table=name).eq(exp.Literal.string(link.when[1])))
        if link.via_table:
            via = link.via_table.lower()
            if via not in self.security or not link.via_column:
                raise _refuse(
                    "sql_table_not_allowed", f"策略无法把表 {name} 关联到商户",
                    f"the access policy cannot tie table {name} to a merchant",
                )
            sub = (
                exp.select(exp.column(link.via_column, table=via))
                .from_(exp.to_table(via))
                .where(exp.column(self.security[via], table=via).eq(mid))
            )
            conds.append(exp.column(link.column, table=name).isin(query=sub))
        else:
            # compare in the column's own type: PostgreSQL has no text = integer (alerts.entity_id)
            kind = RAW_TABLES.get(name, {}).get(link.column) or PROFILE_CONTRACT.get(name, {}).get(link.column, "")
            value = exp.Literal.string(str(int(merchant_id))) if kind.upper().startswith("VARCHAR") else mid
            conds.append(exp.column(link.column, table=name).eq(value))
        return exp.and_(*conds)

    # -- 8. limit -------------------------------------------------------------------------------------

    def _apply_limit(self, root: exp.Expr) -> None:
        cap = int(self.policy.max_rows) + 1
        limit = root.args.get("limit")
        if limit is None:
            root.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
            self.notes.append(f"已添加 LIMIT {cap}（最多显示 {cap - 1} 行） / "
                              f"LIMIT {cap} added (at most {cap - 1} rows are shown)")
            return
        options = limit.args.get("limit_options")
        if options is not None and (options.args.get("percent") or options.args.get("with_ties")):
            raise self._limit_error(limit)
        if isinstance(limit, exp.Limit) and isinstance(limit.expression, exp.Var):
            count = cap + 1 if str(limit.expression.name).upper() == "ALL" else None
        elif isinstance(limit, exp.Fetch):
            count = _int_literal(limit.args.get("count"))
        elif isinstance(limit, exp.Limit):
            count = _int_literal(limit.expression)
        else:
            count = None
        if count is None:
            raise self._limit_error(limit)
        if count > cap:
            shown = "ALL" if count == cap + 1 and isinstance(limit.expression, exp.Var) else count
            self.notes.append(f"LIMIT {shown} 已降为 {cap} / LIMIT {shown} capped to {cap}")
            count = cap
        if isinstance(limit, exp.Limit):
            limit.set("expression", exp.Literal.number(count))
        else:
            root.set("limit", exp.Limit(expression=exp.Literal.number(count)))

    @staticmethod
    def _limit_error(limit: Any) -> GuardError:
        text = limit.sql(dialect=OUTPUT_DIALECT).strip()
        return _refuse(
            "sql_limit_not_allowed", f"LIMIT 必须是非负整数：{text}",
            f"LIMIT must be a non-negative integer: {text}",
        )

    # -- final re-check ---------------------------------------------------------------------------------

    def _verify(self, out: str) -> None:
        """Parse the generated SQL again: still one query made of allowed nodes."""
        try:
            again = [s for s in sqlglot.parse(out, read=self.engine) if s is not None]
        except SqlglotError as exc:
            raise _refuse("sql_syntax_not_allowed", "改写后的 SQL 无法校验", "the rewritten SQL cannot be verified") from exc
        if len(again) != 1 or not isinstance(again[0], _QUERY_TYPES):
            raise _refuse("sql_not_select", "改写后的 SQL 不是单条查询", "the rewritten SQL is not a single query")
        self._check_nodes(again[0])
