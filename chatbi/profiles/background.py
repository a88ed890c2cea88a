"""Run one profile-build step in a thread, on its own DuckDB cursor, while the others proceed.

DuckDB releases the GIL while a query runs and numpy/scipy release it in their large array
operations, so a step that only reads the raw tables (the recommender) can overlap the SQL
steps of the main thread and use the second core. ``result()`` waits for the step and
re-raises its error; ``cancel()`` interrupts its running query and waits (used when the
build fails).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import duckdb

T = TypeVar("T")


class BackgroundStep(Generic[T]):
    """``work(cursor)`` in a daemon thread; the cursor is closed when it ends."""

    def __init__(self, con: duckdb.DuckDBPyConnection,
                 work: Callable[[duckdb.DuckDBPyConnection], T], name: str):
        self._cursor = con.cursor()
        self._result: T | None = None
        self._error: BaseException | None = None
        self._done = False
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> None:
        start = time.perf_counter()
        try:
            self._result = work(self._cursor)
            self._done = True
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc
        finally:
            self.seconds = round(time.perf_counter() - start, 3)
            self._cursor.close()

    def result(self) -> T:
        """Wait for the step; its value, or its error raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._done
        return self._result  # type: ignore[return-value]

    def cancel(self) -> None:
        """Interrupt the step's query (if any) and wait for the thread to end."""
        if self._thread.is_alive():
            try:
                self._cursor.interrupt()
            except duckdb.Error:
                pass
        self._thread.join()
