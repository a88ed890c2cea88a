"""Smoke-test fixtures: a benchmark Context at tiny scale, 1 repetition, over the session's
tiny warehouse (copied into a temporary cache, so nothing is generated twice)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.common import Context
from benchmarks.warehouses import cache_path


@pytest.fixture(scope="session")
def bench_ctx(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """tiny only, --quick, few questions and requests, no index, no diagnosis."""
    ctx = Context(scales=["tiny"], quick=True, cache_dir=tmp_path_factory.mktemp("bench-cache"), seed=7,
                  max_cases=3, max_requests=4, with_index=False, diagnose=False, log=lambda _msg: None)
    target = cache_path(ctx, "tiny")
    shutil.copyfile(tiny_db, target)
    return ctx
