"""The read-only executor for a PostgreSQL warehouse (psycopg 3), with DuckDB's guarantees.

* **Read-only, twice.** Every query runs in a ``READ ONLY`` transaction that is rolled back
  (the session also has ``default_transaction_read_only=on``), and the connection string should
  name a role that has only ``SELECT`` on the warehouse schema (docs/warehouses.md shows the
  ``CREATE ROLE … GRANT SELECT``), so even a statement that slipped past the guard could not
  write. Before the server sees it, the text is checked to be exactly one SELECT (sqlglot,
  PostgreSQL dialect) as a second line of defence behind the guard.
* **A time limit that really cancels.** ``statement_timeout`` is set on the session, so the
  server cancels the statement itself; a client-side timer also sends a cancel request
  (``Connection.cancel``) a moment later in case the server does not answer, and the fetch
  loop stops at the deadline.
* **max_rows + 1.** Rows come from a server-side cursor, ``max_rows + 1`` at most, so a huge
  result is never transferred; ``truncated`` says whether there were more. Result bytes are
  capped like DuckDB's (``result_too_large``).
* **Errors in the product's codes:** ``query_timeout``, ``sql_error``, ``query_out_of_memory``,
  ``warehouse_incomplete`` (missing table or column), ``sql_permission_denied`` /
  ``sql_not_select`` (the server refused a write or an object the role cannot read),
  ``warehouse_unreachable`` (cannot connect), ``warehouse_not_configured``.
* **A warehouse version without a file.** ``version()`` digests, for every table of the
  schema, its storage id (``relfilenode``: new after a ``TRUNCATE``, a drop and re-create, or
  a publish of the profile tables) and its insert/update/delete counters, so caches that were
  read from an older warehouse are refreshed. ``snapshot()`` runs every query of the block in
  one ``REPEATABLE READ`` read-only transaction and keeps the tables it read locked
  (``ACCESS SHARE``) until the block ends: a publish that replaces tables waits for the answers
  in flight, so an answer made of several queries never mixes the old and the new tables, and
  the next answer sees the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg.errors
import sqlglot

from chatbi.errors import GuardError, QueryTimeoutError, WarehouseError
from chatbi.sql.executor import (
    DEFAULT_MAX_RESULT_BYTES,
    FETCH_CHUNK_ROWS,
    QueryError,
    QueryResult,
    first_line,
    timeout_error,
    value_bytes,
)

__all__ = ["PostgresExecutor", "connect"]

_QUERY_TYPES = (sqlglot.exp.Select, getattr(sqlglot.exp, "SetOperation", sqlglot.exp.Union))
_WRITES = tuple(getattr(sqlglot.exp, name) for name in ("Insert", "Update", "Delete", "Merge", "Create",
                                                       "Drop", "Command", "Copy") if hasattr(sqlglot.exp, name))
_VERSION_SQL = """
SELECT md5(COALESCE(string_agg(
         c.relname || ':' || c.relfilenode::text || ':' ||
         COALESCE(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)::text, ',' ORDER BY c.relname), ''))
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_all_tables AS s ON s.relid = c.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm', 'v')
"""


def connect(url: str, *, schema: str | None = None, timeout_s: float | None = None,
            read_only: bool = True, connect_timeout: int = 10) -> psycopg.Connection:
    """A psycopg connection (autocommit; transactions are explicit) to ``url``.

    ``schema`` becomes the search path; ``timeout_s`` the session's ``statement_timeout``;
    ``read_only`` makes every transaction read-only by default.
    """
    if not url:
        raise WarehouseError(
            "未配置 PostgreSQL 连接串 / no PostgreSQL connection string: set CHATBI_WAREHOUSE_URL "
            "(e.g. postgresql://chatbi_reader@127.0.0.1:5432/shop)",
            code="warehouse_not_configured",
        )
    options = []
    if schema:
        options.append(f"-c search_path={schema}")
    if timeout_s is not None:
        options.append(f"-c statement_timeout={max(1, int(timeout_s * 1000))}")
    if read_only:
        options.append("-c default_transaction_read_only=on")
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout,
                               options=" ".join(options), application_name="chatbi")
    except psycopg.Error as exc:
        raise WarehouseError(
            f"无法连接 PostgreSQL 数据仓库 / cannot connect to the PostgreSQL warehouse: "
            f"{first_line(exc)}",
            code="warehouse_unreachable",
            detail=str(exc),
        ) from exc


class PostgresExecutor:
    """Runs guarded SQL read-only on a PostgreSQL schema; safe to share between threads."""

    dialect = "postgres"

    def __init__(self, url: str, *, schema: str | None = None, timeout_s: float = 10.0,
                 max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES, pool_size: int = 4):
        self.url = url
        self.schema = schema or "public"
        self.timeout_s = float(timeout_s)
        self.max_result_bytes = int(max_result_bytes)
        self.pool_size = int(pool_size)
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._local = threading.local()  # .conn / .version: pinned by snapshot()
        self._cursors = 0

    # -- public -------------------------------------------------------------------------------

    def run(self, sql: str, *, max_rows: int = 1000) -> QueryResult:
        """Run one guarded SELECT; fetch at most ``max_rows`` rows (``truncated`` if more)."""
        self._check_single_select(sql)
        started = time.perf_counter()
        deadline = started + self.timeout_s
        pinned = getattr(self._local, "conn", None)
        conn = pinned if pinned is not None else self._acquire()
        timed_out = threading.Event()

        def cancel() -> None:  # the server's statement_timeout fires first; this is the backstop
            timed_out.set()
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=2.0) if hasattr(conn, "cancel_safe") else conn.cancel()

        timer = threading.Timer(self.timeout_s + 1.0, cancel)
        timer.daemon = True
        timer.start()
        broken = False
        try:
            # a read-only transaction, rolled back; inside a snapshot a savepoint, released so
            # the tables read stay locked (AccessShare) until the snapshot ends
            with conn.transaction(force_rollback=pinned is None):
                with self._cursor(conn) as cur:
                    cur.execute(sql)
                    columns = [str(d.name) for d in (cur.description or [])]
                    rows, truncated = self._fetch(cur, max_rows, deadline, timed_out)
        except psycopg.errors.QueryCanceled as exc:
            raise self._timeout_error() from exc
        except psycopg.OperationalError as exc:
            broken = conn.closed or conn.broken
            if timed_out.is_set():
                raise self._timeout_error() from exc
            raise self._query_error(exc) from exc
        except psycopg.Error as exc:
            raise self._query_error(exc) from exc
        finally:
            timer.cancel()
            if pinned is None:
                self._release(conn, broken=broken)
        elapsed = (time.perf_counter() - started) * 1000
        return QueryResult(columns, rows, truncated, elapsed)

    def scalar(self, sql: str) -> Any:
        """The first column of the first row (None when there is no row)."""
        result = self.run(sql, max_rows=1)
        return result.rows[0][0] if result.rows else None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Within the block, every query of this thread reads one consistent state
        (a ``REPEATABLE READ READ ONLY`` transaction on one pinned connection)."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        conn = self._acquire()
        broken = False
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction(force_rollback=True):
                self._local.version = self._read_version(conn)
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None
                    self._local.version = None
        except psycopg.OperationalError:
            broken = True
            raise
        finally:
            with contextlib.suppress(psycopg.Error):
                if not conn.closed:
                    conn.isolation_level = None
            self._release(conn, broken=broken or conn.closed)

    def version(self) -> tuple[str, str]:
        """``("postgres", digest)`` of the schema's tables (the pinned one inside a snapshot)."""
        pinned = getattr(self._local, "version", None)
        if pinned is not None:
            return pinned
        conn = self._acquire()
        try:
            with conn.transaction(force_rollback=True):
                return self._read_version(conn)
        except psycopg.Error as exc:
            raise self._query_error(exc) from exc
        finally:
            self._release(conn)

    def close(self) -> None:
        """Close the idle connections (a later ``run`` connects again)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()

    def __enter__(self) -> PostgresExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ------------------------------------------------------------------------------

    def _acquire(self) -> psycopg.Connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and not conn.broken:
                    return conn
        conn = connect(self.url, schema=self.schema, timeout_s=self.timeout_s)
        conn.read_only = True
        return conn

    def _release(self, conn: psycopg.Connection, *, broken: bool = False) -> None:
        if broken or conn.closed or conn.broken:
            with contextlib.suppress(Exception):
                conn.close()
            return
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()

    @contextlib.contextmanager
    def _cursor(self, conn: psycopg.Connection) -> Iterator[psycopg.ServerCursor]:
        """A server-side cursor: rows are transferred as they are fetched, not all at once."""
        with self._lock:
            self._cursors += 1
            name = f"chatbi_q{self._cursors}"
        cur = conn.cursor(name=name)
        try:
            yield cur
        finally:
            with contextlib.suppress(psycopg.Error):
                cur.close()

    def _read_version(self, conn: psycopg.Connection) -> tuple[str, str]:
        row = conn.execute(_VERSION_SQL, (self.schema,)).fetchone()
        digest = str(row[0]) if row and row[0] else hashlib.md5(b"").hexdigest()
        return ("postgres", digest)

    # -- running ------------------------------------------------------------------------------------

    def _fetch(self, cur: psycopg.ServerCursor, max_rows: int, deadline: float,
               timed_out: threading.Event) -> tuple[list[tuple], bool]:
        rows: list[tuple] = []
        size = 0
        while len(rows) <= max_rows:
            chunk = cur.fetchmany(min(FETCH_CHUNK_ROWS, max_rows + 1 - len(rows)))
            if timed_out.is_set() or time.perf_counter() > deadline:
                raise self._timeout_error()
            if not chunk:
                break
            for row in chunk:
                size += value_bytes(row)
                if size > self.max_result_bytes:
                    if not rows:
                        raise QueryError(
                            f"查询结果超过 {self.max_result_bytes / 1_000_000:g} MB / the result is "
                            f"larger than {self.max_result_bytes / 1_000_000:g} MB; select fewer columns.",
                            code="result_too_large")
                    return rows[:max_rows], True
                rows.append(tuple(row))
        return rows[:max_rows], len(rows) > max_rows

    @staticmethod
    def _check_single_select(sql: str) -> None:
        try:
            statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
        except sqlglot.errors.SqlglotError as exc:
            raise GuardError(f"SQL 无法解析 / cannot parse the SQL: {first_line(exc)}",
                             code="sql_parse_error") from exc
        if (len(statements) != 1 or not isinstance(statements[0], _QUERY_TYPES)
                or any(isinstance(node, _WRITES) for node in statements[0].walk())):
            raise GuardError("执行器只运行单条 SELECT 查询 / the executor runs exactly one SELECT statement",
                             code="sql_not_select")

    def _timeout_error(self) -> QueryTimeoutError:
        return timeout_error(self.timeout_s)

    def _query_error(self, exc: psycopg.Error) -> Exception:
        detail = first_line(exc)
        errors = psycopg.errors
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return GuardError(f"数据仓库只读，不允许修改数据 / the warehouse is read-only: {detail}",
                              code="sql_not_select")
        if isinstance(exc, errors.InsufficientPrivilege):
            return GuardError(f"数据库拒绝访问 / the database refused access: {detail}",
                              code="sql_permission_denied")
        if isinstance(exc, errors.UndefinedTable | errors.UndefinedColumn | errors.InvalidSchemaName):
            return WarehouseError(
                f"数据仓库缺少表或列 / the warehouse lacks a table or column: {detail}. "
                "请运行 / run `chatbi profiles build`.",
                code="warehouse_incomplete", detail=str(exc))
        if isinstance(exc, errors.OutOfMemory | errors.DiskFull | errors.ProgramLimitExceeded):
            return QueryError(f"查询超出数据库的资源限制，请缩小范围 / the query needs more resources "
                              f"than the database allows; narrow it: {detail}",
                              code="query_out_of_memory")
        if isinstance(exc, psycopg.OperationalError):
            return WarehouseError(f"与 PostgreSQL 的连接中断 / the PostgreSQL connection failed: {detail}",
                                  code="warehouse_unreachable", detail=str(exc))
        return QueryError(f"查询执行失败 / the query failed: {detail}", detail=str(exc))
