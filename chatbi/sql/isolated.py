"""Query execution a runaway cannot take down: worker processes with an address-space limit.

The servers (HTTP API, Slack, web) answer many people from one process. A query that
escapes the guard's size limits (``chatbi.sql.limits``) and DuckDB's ``memory_limit`` must
not take that process with it, nor stop it answering others. ``IsolatedExecutor`` has the
``Executor`` interface but runs every statement in one of a few worker processes:

- each worker runs under ``RLIMIT_AS`` = the configured memory limit (at least 1.75 GiB),
  with DuckDB's own ``memory_limit`` set 1.5 GiB lower: an allocation past it fails inside the worker
  (DuckDB reports "out of memory", the worker lives on), never in the server;
- the worker interrupts its query at the time limit (``Executor``); if it has not answered
  by ``HARD_DEADLINE_FACTOR`` × the limit, the server kills it (SIGKILL) and starts another,
  so even work DuckDB cannot interrupt ends within that time;
- a worker that dies (killed by the kernel, crashed) costs only its own query, reported as
  an error with a code; the next query gets a fresh worker.

Versions of the warehouse file stay consistent as with ``Executor``: the server holds an
open descriptor per version and passes it to the worker with each query (``SCM_RIGHTS``),
so ``snapshot()`` pins one version for every query a thread runs inside the block even when
a rebuild replaces the file meanwhile, and the worker opens exactly that version.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path
from typing import Any

from chatbi.errors import ChatBIError, QueryTimeoutError, WarehouseError
from chatbi.sql.executor import DEFAULT_MAX_RESULT_BYTES, Executor, QueryError, QueryResult

__all__ = ["IsolatedExecutor", "parse_bytes", "HARD_DEADLINE_FACTOR"]

log = logging.getLogger(__name__)

HARD_DEADLINE_FACTOR = 1.5
WORKER_START_S = 60.0  # a worker's start-up (imports) does not count against a query's time
DUCKDB_HEADROOM = int(1.5 * 2**30)  # address space a worker needs beside DuckDB's own limit
MIN_DUCKDB_MEMORY = 256 * 2**20
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str) -> int:
    """``"4GB"`` → 4,000,000,000 (DuckDB's spelling of sizes; ``GiB`` units too)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


class _Version:
    """One version of the warehouse file, held open by a descriptor while in use."""

    def __init__(self, fd: int, key: tuple[int, int, int, int]):
        self.fd = fd
        self.key = key
        self.users = 0
        self.retired = False
        self.lock = threading.Lock()

    def hold(self) -> None:
        with self.lock:
            self.users += 1

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            close = self.retired and self.users == 0
        if close:
            self._close()

    def retire(self) -> None:
        with self.lock:
            self.retired = True
            close = self.users == 0
        if close:
            self._close()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class _Worker:
    """One worker process (``python -c … worker_entry``) and the server's end of its socket.

    A plain subprocess rather than ``multiprocessing``: its "spawn" start method would import
    the server's main module again in the child (for the web app, the Streamlit script).
    """

    def __init__(self, config: dict[str, Any]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from chatbi.sql.isolated import worker_entry; worker_entry()",
                 str(theirs.fileno()), json.dumps(config)],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, close_fds=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False
        self.generation = 0

    def wait_ready(self, wait_s: float = WORKER_START_S) -> None:
        """Wait for the worker's "ready" (its imports done); raise ``_Died`` if it never comes."""
        if self.ready:
            return
        try:
            if self.conn.poll(wait_s) and self.conn.recv() == ("ready",):
                self.ready = True
                return
        except (EOFError, OSError):
            pass
        self.kill()
        raise _Died()

    def call(self, message: tuple, fd: int, wait_s: float) -> tuple:
        """Send one query (and the file's descriptor); the reply, or raise on death/timeout."""
        try:
            self.conn.send(message)
            send_handle(self.conn, fd, self.process.pid)
            if not self.conn.poll(wait_s):
                self.kill()
                raise _Stuck()
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise _Died() from exc

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(2)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(("stop",))
        with contextlib.suppress(Exception):
            self.process.wait(1)
        self.kill()


class _Stuck(Exception):
    """The worker did not answer by the hard deadline (it has been killed)."""


class _Died(Exception):
    """The worker process ended while running the query."""


class IsolatedExecutor(Executor):
    """``Executor`` whose queries run in worker processes (see the module docstring)."""

    def __init__(
        self,
        db_path: Path,
        *,
        timeout_s: float = 10.0,
        memory_limit: str = "4GB",
        threads: int = 2,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        workers: int = 4,
        prestart: bool = True,
    ):
        super().__init__(db_path, timeout_s=timeout_s, memory_limit=memory_limit, threads=threads,
                         max_result_bytes=max_result_bytes)
        # a worker needs ~1.1 GB of address space for DuckDB's threads before any query
        self.address_space = max(parse_bytes(memory_limit), DUCKDB_HEADROOM + MIN_DUCKDB_MEMORY)
        duck = max(MIN_DUCKDB_MEMORY, self.address_space - DUCKDB_HEADROOM)
        self.max_workers = max(1, int(workers))
        self._config = {
            "timeout_s": self.timeout_s, "memory_limit": f"{duck // 2**20}MiB",
            "threads": self.threads, "max_result_bytes": self.max_result_bytes,
            "address_space": self.address_space,
        }
        self._idle: list[_Worker] = []
        self._count = 0
        self._pool = threading.Condition()
        self._generation = 0  # close() starts a new one: workers of older ones are stopped
        self._version: _Version | None = None
        self._vlock = threading.Lock()
        if prestart:
            threading.Thread(target=self._prestart, daemon=True).start()

    # -- the Executor interface -------------------------------------------------------------

    def run(self, sql: str, *, max_rows: int = 1000) -> QueryResult:
        """Run one statement in a worker; stopped by the worker at the time limit, or killed
        by the server at ``HARD_DEADLINE_FACTOR`` × the limit."""
        started = time.perf_counter()
        pinned = getattr(self._local, "version", None)
        version = pinned or self._current_version()
        version.hold()
        try:
            worker = self._checkout(started + self.timeout_s)
            healthy = False
            try:
                worker.wait_ready()
                wait = HARD_DEADLINE_FACTOR * self.timeout_s + 0.5
                reply = worker.call(("run", version.key, sql, int(max_rows)), version.fd, wait)
                healthy = True
            except _Stuck:
                log.warning("query worker %s stopped after %.1f s", worker.process.pid,
                            time.perf_counter() - started)
                raise self._timeout_error() from None
            except _Died:
                log.warning("query worker %s died (exit %s)", worker.process.pid,
                            worker.process.returncode)
                raise QueryError(
                    f"查询进程因资源耗尽而终止（内存上限 {self.memory_limit}），请缩小范围 / the "
                    f"query's worker ran out of resources (memory limit {self.memory_limit}) and "
                    "was stopped; narrow the query.",
                    code="query_out_of_memory",
                ) from None
            finally:
                self._checkin(worker, healthy)
        finally:
            version.release()
        if reply[0] == "ok":
            columns, rows, truncated, elapsed = reply[1]
            return QueryResult(list(columns), list(rows), bool(truncated), float(elapsed))
        raise _rebuild_error(reply[1], str(self.db_path))

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every query this thread runs inside the block reads the same version of the file."""
        if getattr(self._local, "version", None) is not None:
            yield
            return
        version = self._current_version()
        version.hold()
        self._local.version = version
        try:
            yield
        finally:
            self._local.version = None
            version.release()

    def version(self) -> tuple[int, int, int, int]:
        pinned = getattr(self._local, "version", None)
        return pinned.key if pinned is not None else self._current_version().key

    def close(self) -> None:
        """Stop the workers and release the file (a later ``run`` starts them again)."""
        with self._pool:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._generation += 1  # workers busy now are stopped when they come back
        for worker in idle:
            worker.stop()
        with self._vlock:
            version, self._version = self._version, None
        if version is not None:
            version.retire()

    # -- versions -------------------------------------------------------------------------------

    def _current_version(self) -> _Version:
        key = self._file_key()
        with self._vlock:
            if self._version is not None and self._version.key == key:
                return self._version
            try:
                fd = os.open(self.db_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                self._file_key()  # removed between stat and open: the usual WarehouseError
                raise WarehouseError(
                    f"无法读取数据仓库 / cannot read the warehouse {self.db_path}: "
                    f"{exc.strerror or exc}", code="warehouse_unreadable") from exc
            st = os.fstat(fd)
            old, self._version = self._version, _Version(
                fd, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
        if old is not None:
            old.retire()
        return self._version

    # -- the pool ---------------------------------------------------------------------------------

    def _prestart(self) -> None:
        with contextlib.suppress(Exception):
            worker = _Worker(self._config)
            worker.generation = self._generation
            worker.wait_ready()
            with self._pool:
                if worker.generation != self._generation or self._count >= self.max_workers:
                    worker.stop()
                    return
                self._count += 1
                self._idle.append(worker)
                self._pool.notify()

    def _checkout(self, deadline: float) -> _Worker:
        with self._pool:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._count -= 1
                    worker.kill()
                if self._count < self.max_workers:
                    self._count += 1
                    break
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not self._pool.wait(remaining):
                    raise QueryTimeoutError(
                        f"查询繁忙：{self.max_workers} 个查询进程都在运行，请稍后再试 / all "
                        f"{self.max_workers} query workers are busy; try again shortly.",
                        code="query_busy",
                    )
        try:
            worker = _Worker(self._config)
            worker.generation = self._generation
            return worker
        except Exception as exc:
            with self._pool:
                self._count -= 1
                self._pool.notify()
            raise ChatBIError(f"无法启动查询进程 / cannot start a query worker: {exc}",
                              code="query_worker_failed") from exc

    def _checkin(self, worker: _Worker, healthy: bool) -> None:
        retire = False
        with self._pool:
            if healthy and worker.alive() and worker.generation == self._generation:
                self._idle.append(worker)
            else:
                self._count -= 1
                retire = healthy
            self._pool.notify()
        if retire:  # outside the lock: stopping waits for the process
            worker.stop()


def _rebuild_error(payload: tuple, db_path: str) -> ChatBIError:
    """The worker's ChatBIError, rebuilt in the server (its /proc path shown as the real one)."""
    module, name, message, code, detail = payload
    message = re.sub(r"/proc/self/fd/\d+", db_path, message)
    try:
        cls = getattr(importlib.import_module(module), name)
        if not (isinstance(cls, type) and issubclass(cls, ChatBIError)):
            raise TypeError(name)
        error = cls.__new__(cls)
        ChatBIError.__init__(error, message, code=code, detail=detail)
        return error
    except Exception:  # noqa: BLE001 - an unknown class is still an error with its code
        return QueryError(message, code=code, detail=detail)


# -- the worker process -----------------------------------------------------------------------


def worker_entry() -> None:
    """Entry point of a worker process: ``argv`` holds the socket's descriptor and the config."""
    conn = Connection(int(sys.argv[1]))
    conn.send(("ready",))
    _worker_main(conn, json.loads(sys.argv[2]))


def _worker_main(conn: Connection, config: dict[str, Any]) -> None:
    """Serve queries from ``conn`` until told to stop or the server goes away."""
    limit = int(config["address_space"])
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    executors: dict[tuple, tuple[Executor, int]] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] != "run":
            break
        _, key, sql, max_rows = message
        try:
            fd = recv_handle(conn)
        except (EOFError, OSError):
            break
        conn.send(_run_one(executors, key, fd, sql, max_rows, config))
    for executor, fd in executors.values():
        executor.close()
        with contextlib.suppress(OSError):
            os.close(fd)


def _run_one(executors: dict[tuple, tuple[Executor, int]], key: tuple, fd: int, sql: str,
             max_rows: int, config: dict[str, Any]) -> tuple:
    if key in executors:
        os.close(fd)
    else:
        for old, (executor, old_fd) in list(executors.items()):  # keep one version open
            executor.close()
            os.close(old_fd)
            del executors[old]
        executor = Executor(Path(f"/proc/self/fd/{fd}"), timeout_s=config["timeout_s"],
                            memory_limit=config["memory_limit"], threads=config["threads"],
                            max_result_bytes=config["max_result_bytes"])
        executors[key] = (executor, fd)
    executor = executors[key][0]
    try:
        result = executor.run(sql, max_rows=max_rows)
        return ("ok", (result.columns, result.rows, result.truncated, result.elapsed_ms))
    except ChatBIError as exc:
        cls = type(exc)
        return ("error", (cls.__module__, cls.__name__, exc.message, exc.code, exc.detail))
    except MemoryError:
        return ("error", ("chatbi.sql.executor", "QueryError",
                          "查询超出内存限制，请缩小范围 / the query needs more memory than allowed; "
                          "narrow it.", "query_out_of_memory", None))
    except Exception as exc:  # noqa: BLE001 - reported with a code, never a traceback
        return ("error", ("chatbi.sql.executor", "QueryError",
                          f"查询执行失败 / the query failed: {type(exc).__name__}",
                          "sql_error", str(exc)[:300]))


SERVER_QUERY_WORKERS = 4


def configure_executor(pipeline: Any, settings: Any, *, server: bool) -> None:
    """Give ``pipeline`` the executor its channel needs (called by ``load_pipeline``).

    DuckDB warehouses only: the result-bytes cap from the settings, and for the servers
    (``server=True``: API, Slack, web) an ``IsolatedExecutor`` with
    ``CHATBI_QUERY_WORKERS`` workers (default 4; ``0`` keeps queries in the server process).
    """
    current = getattr(pipeline, "executor", None)
    if type(current) is not Executor:  # another engine, or already isolated
        return
    current.max_result_bytes = int(settings.max_result_bytes)
    workers = settings.query_workers
    if workers is None:
        workers = SERVER_QUERY_WORKERS if server else 0
    if workers <= 0:
        return
    pipeline.executor = IsolatedExecutor(
        current.db_path, timeout_s=current.timeout_s, memory_limit=current.memory_limit,
        threads=current.threads, max_result_bytes=int(settings.max_result_bytes), workers=workers)
    current.close()
