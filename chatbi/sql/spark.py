"""The read-only executor for Spark (pyspark, a local session over a folder of Parquet tables).

``CHATBI_ENGINE=spark`` with ``CHATBI_WAREHOUSE_URL`` = a folder (or ``file://`` URL) holding
one Parquet table per raw or derived table (``chatbi.warehouse.spark.export_parquet`` writes
it from the DuckDB build file). The executor starts one local Spark session per process
(``local[2]``; ``CHATBI_SPARK_MASTER`` overrides) and registers each table as a temporary
view, so queries name tables without a path.

Guarantees, as on the other engines:

* **read-only**: only one SELECT reaches Spark (checked with sqlglot's Spark parser behind the
  guard, which refuses ``reflect``, ``java_method`` and path-qualified tables); the views read
  Parquet files, and nothing here writes.
* **time limit**: every query runs in its own job group; at the limit a timer cancels the
  group (``SparkContext.cancelJobGroup``, interrupting the tasks), again every 0.5 s until
  the call returns (a job submitted after a cancel is not cancelled by it).
* **max_rows + 1**: ``DataFrame.take(max_rows + 1)``; ``truncated`` when there were more.
* **errors** in the product's codes (``query_timeout``, ``warehouse_incomplete`` for an
  unknown table or column, ``sql_error``).
* **version**: a digest of the Parquet files (names, sizes, modification times); when it
  changes the views are registered again and caches refresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlglot

from chatbi.errors import GuardError, QueryTimeoutError, WarehouseError
from chatbi.sql.executor import QueryError, QueryResult, first_line, timeout_error

__all__ = ["SparkExecutor", "spark_session", "stop_session"]

_QUERY_TYPES = (sqlglot.exp.Select, getattr(sqlglot.exp, "SetOperation", sqlglot.exp.Union))
_SESSION_LOCK = threading.Lock()
_SESSION: Any = None


def spark_session(master: str | None = None) -> Any:
    """The process's one local Spark session (started on first use)."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise WarehouseError("未安装 pyspark / pyspark is not installed (pip install pyspark)",
                                     code="engine_unavailable") from exc
            try:
                _SESSION = (
                    SparkSession.builder.master(master or os.environ.get("CHATBI_SPARK_MASTER") or "local[2]")
                    .appName("chatbi")
                    .config("spark.ui.enabled", "false")
                    .config("spark.ui.showConsoleProgress", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.sql.session.timeZone", "UTC")
                    .config("spark.sql.ansi.enabled", "false")
                    .getOrCreate()
                )
                _SESSION.sparkContext.setLogLevel("ERROR")
            except Exception as exc:  # no Java, no memory…
                raise WarehouseError(f"无法启动 Spark / cannot start Spark: {first_line(exc)}",
                                     code="engine_unavailable", detail=str(exc)) from exc
        return _SESSION


def stop_session() -> None:
    """Stop the process's Spark session (a later query starts a new one)."""
    global _SESSION
    with _SESSION_LOCK:
        session, _SESSION = _SESSION, None
    if session is not None:
        session.stop()


def _folder(url: str) -> Path:
    if not url:
        raise WarehouseError("未配置 Spark 数据目录 / no Spark warehouse: set CHATBI_WAREHOUSE_URL to the "
                             "folder of Parquet tables", code="warehouse_not_configured")
    if url.startswith("sc://"):
        raise WarehouseError("暂不支持 Spark Connect / Spark Connect (sc://) is not supported yet; use a "
                             "folder of Parquet tables", code="engine_unavailable")
    path = Path(url[len("file://"):] if url.startswith("file://") else url)
    if not path.is_dir():
        raise WarehouseError(f"Spark 数据目录不存在 / warehouse folder not found: {path}",
                             code="warehouse_missing")
    return path


class SparkExecutor:
    """Runs guarded Spark SQL over the Parquet tables of one folder; safe to share between threads."""

    dialect = "spark"

    def __init__(self, url: str, *, schema: str | None = None, timeout_s: float = 10.0):
        self.url = url
        self.schema = schema or "default"
        self.timeout_s = float(timeout_s)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._registered: tuple[str, str] | None = None

    # -- public -------------------------------------------------------------------------------

    def run(self, sql: str, *, max_rows: int = 1000) -> QueryResult:
        """Run one guarded SELECT; fetch at most ``max_rows`` rows (``truncated`` if more)."""
        self._check_single_select(sql)
        self._views()
        spark = spark_session()
        context = spark.sparkContext
        group = f"chatbi-{uuid.uuid4().hex}"
        timed_out, finished = threading.Event(), threading.Event()

        def cancel() -> None:
            # cancelJobGroup stops the group's running jobs only: a job submitted a moment
            # later (planning took the time) would run on, so cancel until the call returns
            timed_out.set()
            while not finished.is_set():
                with contextlib.suppress(Exception):
                    context.cancelJobGroup(group)
                finished.wait(0.5)

        started = time.perf_counter()
        context.setJobGroup(group, "chatbi query", interruptOnCancel=True)
        timer = threading.Timer(self.timeout_s, cancel)
        timer.daemon = True
        timer.start()
        try:
            frame = spark.sql(sql)
            columns = list(frame.columns)
            rows = [tuple(row) for row in frame.take(max_rows + 1)]
        except Exception as exc:  # pyspark raises its own exception tree (and Py4J errors)
            if timed_out.is_set():
                raise self._timeout_error() from exc
            raise self._query_error(exc) from exc
        finally:
            finished.set()
            timer.cancel()
            with contextlib.suppress(Exception):
                context.setLocalProperty("spark.jobGroup.id", None)
        if timed_out.is_set():
            raise self._timeout_error()
        elapsed = (time.perf_counter() - started) * 1000
        return QueryResult(columns, rows[:max_rows], len(rows) > max_rows, elapsed)

    def scalar(self, sql: str) -> Any:
        result = self.run(sql, max_rows=1)
        return result.rows[0][0] if result.rows else None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Pins the version for the block (the Parquet files are replaced whole, between answers)."""
        if getattr(self._local, "version", None) is not None:
            yield
            return
        self._local.version = self.version()
        try:
            yield
        finally:
            self._local.version = None

    def version(self) -> tuple[str, str]:
        pinned = getattr(self._local, "version", None)
        if pinned is not None:
            return pinned
        digest = hashlib.md5()
        for path in sorted(_folder(self.url).rglob("*.parquet")):
            stat = path.stat()
            digest.update(f"{path.relative_to(_folder(self.url))}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return ("spark", digest.hexdigest())

    def close(self) -> None:
        """The session is shared by the process and stays up (stop it with ``stop_session``)."""

    def __enter__(self) -> SparkExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _views(self) -> None:
        """Register one temporary view per table folder/file, again when the files changed."""
        version = self.version()
        key = (self.url, version[1])
        with self._lock:
            if self._registered == key:
                return
            spark = spark_session()
            folder = _folder(self.url)
            for entry in sorted(folder.iterdir()):
                name = entry.name[: -len(".parquet")] if entry.name.endswith(".parquet") else entry.name
                if entry.name.startswith((".", "_")) or not (entry.is_dir() or entry.suffix == ".parquet"):
                    continue
                spark.read.parquet(str(entry)).createOrReplaceTempView(name)
            self._registered = key

    @staticmethod
    def _check_single_select(sql: str) -> None:
        try:
            statements = [s for s in sqlglot.parse(sql, read="spark") if s is not None]
        except sqlglot.errors.SqlglotError as exc:
            raise GuardError(f"SQL 无法解析 / cannot parse the SQL: {first_line(exc)}",
                             code="sql_parse_error") from exc
        if len(statements) != 1 or not isinstance(statements[0], _QUERY_TYPES):
            raise GuardError("执行器只运行单条 SELECT 查询 / the executor runs exactly one SELECT statement",
                             code="sql_not_select")

    def _timeout_error(self) -> QueryTimeoutError:
        return timeout_error(self.timeout_s)

    @staticmethod
    def _query_error(exc: Exception) -> Exception:
        detail = first_line(exc)
        condition = str(getattr(exc, "getCondition", lambda: None)() or getattr(exc, "getErrorClass", lambda: None)() or "")
        if condition.startswith(("TABLE_OR_VIEW_NOT_FOUND", "UNRESOLVED_COLUMN", "UNRESOLVED_ROUTINE")) or \
                "TABLE_OR_VIEW_NOT_FOUND" in detail or "UNRESOLVED_COLUMN" in detail:
            return WarehouseError(f"数据仓库缺少表或列 / the warehouse lacks a table or column: {detail}",
                                  code="warehouse_incomplete", detail=str(exc))
        if "OutOfMemory" in str(exc):
            return QueryError(f"查询超出内存限制 / the query ran out of memory: {detail}",
                              code="query_out_of_memory")
        return QueryError(f"查询执行失败 / the query failed: {detail}", detail=str(exc))
