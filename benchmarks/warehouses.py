"""The benchmark warehouse cache (data/bench/ by default).

A warehouse is named after what determines its content, ``demo-<scale>-seed<seed>-<end>.duckdb``,
and reused while present: the demo generator is deterministic (same seed, scale and end
date → the same tables). A cached warehouse is complete when it has its profiles
(``profile_build_info``) and its retrieval index (``<name>.index/``), as ``chatbi init
--demo`` leaves it. Delete the folder (or pass ``--fresh``) after changing the generator.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from benchmarks.child import run_child

if TYPE_CHECKING:
    from benchmarks.common import Context


def cache_path(ctx: Context, scale: str) -> Path:
    return ctx.cache_dir / f"demo-{scale}-seed{ctx.seed}-{ctx.end_date.isoformat()}.duckdb"


def index_dir(db: Path) -> Path:
    return db.parent / (db.stem + ".index")


def has_profiles(db: Path) -> bool:
    if not db.exists():
        return False
    con = duckdb.connect(str(db), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name = 'profile_build_info'").fetchone()[0])
    finally:
        con.close()


def clear(ctx: Context) -> None:
    """Remove every cached warehouse (``--fresh``)."""
    if ctx.cache_dir.exists():
        shutil.rmtree(ctx.cache_dir)


def ensure_warehouse(ctx: Context, scale: str, *, profiles: bool = True, with_index: bool = True) -> Path:
    """The cached warehouse for ``scale``, generating what is missing (not timed)."""
    db = cache_path(ctx, scale)
    db.parent.mkdir(parents=True, exist_ok=True)
    if not db.exists():
        ctx.log(f"  cache: generating {db.name} (not timed)")
        run_child("generate", db, scale=scale, seed=ctx.seed, end=ctx.end_date.isoformat())
    if profiles and not has_profiles(db):
        ctx.log(f"  cache: building profiles of {db.name} (not timed)")
        run_child("profiles", db)
    if with_index and ctx.with_index and not index_dir(db).exists():
        ctx.log(f"  cache: building the retrieval index of {db.name} (not timed)")
        run_child("index", db)
    return db
