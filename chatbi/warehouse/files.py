"""Atomic replacement of the warehouse file: build elsewhere, then rename.

DuckDB lets one process write a file or many read it, not both. Every writer (demo
generation, imports, profile builds) therefore works on a temporary file in the same folder
and swaps it in with ``os.replace``; readers that reopen see either the old or the new file,
never half of one, and a writer killed halfway leaves the previous file untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from chatbi.errors import WarehouseError


def ensure_writable_dir(db_path: Path) -> None:
    """Create the folder of ``db_path`` or fail with a clear message."""
    folder = db_path.resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"无法创建目录 / cannot create folder {folder}: {exc.strerror or exc}",
            code="path_not_writable",
        ) from exc
    if not os.access(folder, os.W_OK):
        raise WarehouseError(
            f"目录不可写 / folder is not writable: {folder}. Choose another --db path.",
            code="path_not_writable",
        )


@contextlib.contextmanager
def atomic_replace(db_path: Path, *, copy_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``db_path``; on success rename it over ``db_path``.

    With ``copy_existing`` the temporary file starts as a copy of the current warehouse
    (for builds that add tables to it). On any exception the temporary file is removed and
    ``db_path`` is left exactly as it was.
    """
    db_path = Path(db_path)
    ensure_writable_dir(db_path)
    tmp = db_path.with_name(f".{db_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if copy_existing:
            if not db_path.exists():
                raise WarehouseError(
                    f"数据仓库不存在 / warehouse not found: {db_path}. Run `chatbi init --demo` first.",
                    code="warehouse_missing",
                )
            shutil.copyfile(db_path, tmp)
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, db_path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
