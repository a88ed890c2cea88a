"""One SQLite table set of the application database (feedback, accounts, history).

Each store checks that its path is not the warehouse, creates its schema, and serialises its
connections with a lock; ``AppDatabase`` does that once for all of them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from chatbi.errors import ChatBIError


class AppDatabase:
    """Base of the application-database stores; subclasses set the class attributes."""

    schema: ClassVar[str] = ""
    error: ClassVar[type[ChatBIError]] = ChatBIError
    kind_zh: ClassVar[str] = "应用"  # 反馈 / 账户 / 历史 (in "…库不能是数据仓库")
    kind_en: ClassVar[str] = "application"  # feedback / account / history
    foreign_keys: ClassVar[bool] = False

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.suffix.lower() in (".duckdb", ".wal"):
            raise self.error(
                f"{self.kind_zh}库不能是数据仓库 / the {self.kind_en} store must not be the warehouse: {self.path}",
                code=f"{self.kind_en}_store_is_warehouse",
            )
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.executescript(self.schema)
        except (OSError, sqlite3.Error) as exc:
            raise self.error(
                f"无法打开应用数据库 / cannot open the application database {self.path}: {exc}"
            ) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = sqlite3.connect(self.path, timeout=10)
            try:
                conn.row_factory = sqlite3.Row
                if self.foreign_keys:
                    conn.execute("PRAGMA foreign_keys = ON")
                yield conn
                conn.commit()
            finally:
                conn.close()
