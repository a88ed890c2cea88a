"""The read-only executor: runs guarded SQL on the DuckDB warehouse with a time limit.

Each ``Executor`` owns a private in-memory DuckDB instance to which the warehouse file is
attached ``READ_ONLY``; the in-memory catalog is then detached, external access is switched
off (no files, network, extensions or Python replacement scans) and the configuration is
locked, so no statement can write the warehouse, read a file or undo those settings. A
private instance (rather than ``duckdb.connect(path, read_only=True)``) matters because
DuckDB caches instances by path: after a rebuild replaced the file with ``os.replace`` a
second ``connect`` would return the cached instance of the old file, and a connection with
another configuration in the same process would be refused.

``run`` checks the text is exactly one SELECT (DuckDB's own parser, as a second line of
defence behind the guard), executes it on a fresh cursor (several threads may run queries at
once), interrupts it after ``timeout_s`` and fetches ``max_rows + 1`` rows to set
``truncated``. Before each query the file's identity (device, inode, size, mtime) is
compared with the open one; when a rebuild replaced the file a new instance is opened for new
queries while queries in flight finish on the old one, which is closed when they are done.
``snapshot()`` pins one version of the file for every query a thread runs inside the block,
so an answer made of several queries never mixes the old and the new warehouse.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from chatbi.errors import GuardError, QueryTimeoutError, UserInputError, WarehouseError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Executor", "QueryResult", "QueryError", "value_bytes", "DEFAULT_MAX_RESULT_BYTES"]

DEFAULT_MAX_RESULT_BYTES = 20_000_000
FETCH_CHUNK_ROWS = 100


class QueryError(UserInputError):
    """A guarded query failed inside DuckDB (type error, bad cast, out of memory…)."""

    code = "sql_error"


@dataclass
class QueryResult:
    """Rows of one query: ``truncated`` is True when more than ``max_rows`` rows existed."""

    columns: list[str]
    rows: list[tuple]
    truncated: bool
    elapsed_ms: float

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame; DECIMAL columns become floats. pandas is imported here, not
        with the module: a one-shot question that needs no frame does not pay for it."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self.rows, columns=list(self.columns))
        if len(set(self.columns)) != len(self.columns):
            return frame
        for name in self.columns:
            values = frame[name].dropna()
            if len(values) and all(isinstance(v, Decimal) for v in values):
                frame[name] = frame[name].astype("float64")
        return frame


_FileKey = tuple[int, int, int, int]


class _Handle:
    """One open DuckDB instance on one version of the file, with an in-flight counter."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: _FileKey):
        self.con = con
        self.key = key
        self.active = 0
        self.retired = False
        self.lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self.lock:
            self.active += 1
            try:
                return self.con.cursor()
            except Exception:
                self.active -= 1
                raise

    def hold(self) -> None:
        """Count one more user (a snapshot) so the connection stays open until ``release``."""
        with self.lock:
            self.active += 1

    def release(self) -> None:
        with self.lock:
            self.active -= 1
            close = self.retired and self.active == 0
        if close:
            self._close()

    def retire(self) -> None:
        with self.lock:
            self.retired = True
            close = self.active == 0
        if close:
            self._close()

    def _close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error:
            pass


class Executor:
    """Runs guarded SQL read-only against ``db_path``; safe to share between threads."""

    def __init__(
        self,
        db_path: Path,
        *,
        timeout_s: float = 10.0,
        memory_limit: str = "4GB",
        threads: int = 2,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
    ):
        self.db_path = Path(db_path)
        self.timeout_s = float(timeout_s)
        self.max_result_bytes = int(max_result_bytes)
        self.memory_limit = memory_limit
        self.threads = int(threads)
        self._handle: _Handle | None = None
        self._lock = threading.RLock()
        self._local = threading.local()  # .handle: the version pinned by snapshot()

    # -- public -------------------------------------------------------------------------------

    def run(self, sql: str, *, max_rows: int = 1000) -> QueryResult:
        """Run one guarded SELECT; fetch at most ``max_rows`` rows (``truncated`` if more).

        The time limit counts from this call: a timer interrupts DuckDB at the deadline
        (whatever it is doing: planning, executing or streaming rows), and the fetch loop
        stops there too. Rows are fetched in chunks and their size counted: past
        ``max_result_bytes`` the rows so far are returned as ``truncated``, or the query is
        refused (``result_too_large``) when not even the first row fits.
        """
        started = time.perf_counter()
        deadline = started + self.timeout_s
        handle, cur = self._acquire()
        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            try:
                cur.interrupt()
            except duckdb.Error:
                pass  # the query finished and the cursor closed meanwhile

        timer = threading.Timer(self.timeout_s, interrupt)
        timer.daemon = True
        timer.start()
        try:
            self._check_single_select(cur, sql)
            if timed_out.is_set():
                raise self._timeout_error()
            cur.execute(sql)
            columns = [str(d[0]) for d in (cur.description or [])]
            rows, truncated = self._fetch(cur, max_rows, deadline, timed_out)
        except duckdb.Error as exc:
            if timed_out.is_set() or isinstance(exc, duckdb.InterruptException):
                raise self._timeout_error() from exc
            raise self._query_error(exc) from exc
        finally:
            timer.cancel()
            try:
                cur.close()
            finally:
                handle.release()
        elapsed = (time.perf_counter() - started) * 1000
        return QueryResult(columns, rows, truncated, elapsed)

    def _fetch(
        self, cur: duckdb.DuckDBPyConnection, max_rows: int, deadline: float,
        timed_out: threading.Event,
    ) -> tuple[list[tuple], bool]:
        """Up to ``max_rows`` rows in chunks, within the deadline and ``max_result_bytes``."""
        rows: list[tuple] = []
        size = 0
        while len(rows) <= max_rows:
            chunk = cur.fetchmany(min(FETCH_CHUNK_ROWS, max_rows + 1 - len(rows)))
            if timed_out.is_set() or time.perf_counter() > deadline:
                raise self._timeout_error()
            if not chunk:
                break
            for row in chunk:
                size += row_bytes(row)
                if size > self.max_result_bytes:
                    if not rows:
                        raise self._too_large_error()
                    return rows[:max_rows], True
                rows.append(tuple(row))
        return rows[:max_rows], len(rows) > max_rows

    def _too_large_error(self) -> QueryError:
        mb = f"{self.max_result_bytes / 1_000_000:g}"
        return QueryError(
            f"查询结果超过 {mb} MB，请减少列或缩短文本 / the result is larger than {mb} MB; "
            "select fewer or shorter columns.",
            code="result_too_large",
        )

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Within the block, every query of this thread reads the same version of the file.

        A rebuild that swaps the file meanwhile is seen by the next block, never halfway
        through this one. Nested blocks share the outer block's version.
        """
        if getattr(self._local, "handle", None) is not None:
            yield
            return
        with self._lock:
            handle = self._current()
            handle.hold()
        self._local.handle = handle
        try:
            yield
        finally:
            self._local.handle = None
            handle.release()

    def version(self) -> _FileKey:
        """Identity of the file version queries read now (the pinned one inside a snapshot)."""
        pinned = getattr(self._local, "handle", None)
        return pinned.key if pinned is not None else self._current().key

    def scalar(self, sql: str) -> Any:
        """The first column of the first row (None when there is no row)."""
        result = self.run(sql, max_rows=1)
        return result.rows[0][0] if result.rows else None

    def close(self) -> None:
        """Close the warehouse (after in-flight queries); a later ``run`` opens it again."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.retire()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening --------------------------------------------------------------------------------

    def _file_key(self) -> _FileKey:
        try:
            st = os.stat(self.db_path)
        except FileNotFoundError:
            raise WarehouseError(
                f"数据仓库不存在 / warehouse not found: {self.db_path}. "
                "请先运行 / run `chatbi init --demo` first.",
                code="warehouse_missing",
            ) from None
        except OSError as exc:
            raise WarehouseError(
                f"无法读取数据仓库 / cannot read the warehouse {self.db_path}: {exc.strerror or exc}",
                code="warehouse_unreadable",
            ) from exc
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _current(self) -> _Handle:
        """The handle for the file as it is now, reopening after a replacement."""
        key = self._file_key()
        retired = None
        with self._lock:
            handle = self._handle
            if handle is None or handle.key != key:
                retired, handle = handle, _Handle(self._open(), key)
                self._handle = handle
        if retired is not None:
            retired.retire()
        return handle

    def _acquire(self) -> tuple[_Handle, duckdb.DuckDBPyConnection]:
        """A cursor on the current handle, counted before any other thread can retire it."""
        pinned = getattr(self._local, "handle", None)
        if pinned is not None:
            return pinned, pinned.cursor()
        with self._lock:
            handle = self._current()
            return handle, handle.cursor()

    def _open(self) -> duckdb.DuckDBPyConnection:
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.memory_limit,
            "threads": self.threads,
        }
        try:
            con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            raise WarehouseError(
                f"无法启动查询引擎 / cannot start DuckDB: {exc}", code="warehouse_error"
            ) from exc
        # absolute(), not resolve(): /proc/self/fd/N (a worker's pinned version) must stay as it is
        path = str(self.db_path.absolute()).replace("'", "''")
        try:
            con.execute(f"ATTACH '{path}' AS warehouse (READ_ONLY)")
            con.execute("USE warehouse")
            con.execute("DETACH memory")
            for setting in (
                "SET enable_external_access = false",
                "SET autoinstall_known_extensions = false",
                "SET autoload_known_extensions = false",
                "SET lock_configuration = true",
            ):
                con.execute(setting)
        except duckdb.Error as exc:
            con.close()
            raise self._open_error(exc) from exc
        return con

    def _open_error(self, exc: duckdb.Error) -> WarehouseError:
        text = str(exc)
        if not self.db_path.exists():
            return WarehouseError(
                f"数据仓库不存在 / warehouse not found: {self.db_path}. "
                "请先运行 / run `chatbi init --demo` first.",
                code="warehouse_missing",
            )
        lowered = text.lower()
        locked = bool(re.search(r"\block\b|already attached", lowered)) and not _CORRUPT.search(text)
        if locked or isinstance(exc, getattr(duckdb, "ResourceInUseException", ())):
            return WarehouseError(
                f"数据仓库正被其他程序写入 / the warehouse {self.db_path} is locked by a writer "
                "(a rebuild or import?). 请稍后再试 / try again shortly.",
                code="warehouse_locked",
                detail=text,
            )
        return WarehouseError(
            f"数据仓库文件已损坏或不是 DuckDB 数据库 / the warehouse {self.db_path} is corrupt or "
            "not a DuckDB database. 请重新运行 / rebuild it with `chatbi init --demo`.",
            code="warehouse_corrupt",
            detail=text,
        )

    # -- running --------------------------------------------------------------------------------

    @staticmethod
    def _check_single_select(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
        try:
            statements = cur.extract_statements(sql)
        except duckdb.Error as exc:
            raise GuardError(
                f"SQL 无法解析 / cannot parse the SQL: {first_line(exc)}", code="sql_parse_error"
            ) from exc
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise GuardError(
                "执行器只运行单条 SELECT 查询 / the executor runs exactly one SELECT statement",
                code="sql_not_select",
            )

    def _timeout_error(self) -> QueryTimeoutError:
        return timeout_error(self.timeout_s)

    def _query_error(self, exc: duckdb.Error) -> Exception:
        detail = first_line(exc)
        if isinstance(exc, duckdb.PermissionException):
            return GuardError(
                f"不允许访问文件或外部资源 / access to files or external resources is refused: {detail}",
                code="sql_function_not_allowed",
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return QueryError(
                f"查询超出内存限制 {self.memory_limit}，请缩小范围 / the query needs more than "
                f"{self.memory_limit} of memory; narrow it.",
                code="query_out_of_memory",
            )
        if isinstance(exc, duckdb.CatalogException):
            return WarehouseError(
                f"数据仓库缺少表或列 / the warehouse lacks a table or column: {detail}. "
                "请运行 / run `chatbi profiles build` or `chatbi init --demo`.",
                code="warehouse_incomplete",
                detail=str(exc),
            )
        if isinstance(exc, duckdb.IOException) or _CORRUPT.search(str(exc)):
            return WarehouseError(
                f"读取数据仓库失败，文件可能已损坏 / reading the warehouse failed, it may be "
                f"corrupt: {detail}",
                code="warehouse_corrupt",
                detail=str(exc),
            )
        return QueryError(f"查询执行失败 / the query failed: {detail}", detail=str(exc))


def value_bytes(value: Any) -> int:
    """About how many bytes ``value`` takes in a JSON answer (text as UTF-8, nested values summed)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace")) + 2
    if isinstance(value, bytes | bytearray):
        return 2 * len(value) + 2
    if isinstance(value, list | tuple | set):
        return sum(value_bytes(v) for v in value) + 2
    if isinstance(value, dict):
        return sum(value_bytes(k) + value_bytes(v) for k, v in value.items()) + 2
    return 16


_SCALARS = frozenset({int, float, bool, Decimal, type(None), date, datetime})


def row_bytes(row: tuple) -> int:
    """``value_bytes(row)`` for one fetched row, without a call per scalar (a why-question
    fetches tens of thousands of rows): ASCII text counts its length, other scalars 16."""
    size = 2
    for value in row:
        kind = type(value)
        if kind is str:
            size += (len(value) if value.isascii() else len(value.encode("utf-8", "replace"))) + 2
        elif kind in _SCALARS:
            size += 16
        else:
            size += value_bytes(value)
    return size


_CORRUPT = re.compile(r"corrupt database file|does not match stored checksum", re.IGNORECASE)


def first_line(exc: BaseException) -> str:
    """An error's first line (at most 300 characters), or its type when it has no text."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def timeout_error(timeout_s: float) -> QueryTimeoutError:
    """The product's error for a query stopped at the time limit, on every engine."""
    limit = f"{timeout_s:g}"
    return QueryTimeoutError(
        f"查询超过 {limit} 秒已被中止，请缩小时间范围或减少维度 / the query ran longer than "
        f"{limit} s and was stopped; narrow the time range or use fewer dimensions.",
    )
