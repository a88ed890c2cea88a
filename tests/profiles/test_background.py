"""BackgroundStep: a step on its own cursor in a thread; errors surface, cancel interrupts."""

from __future__ import annotations

import time

import duckdb
import pytest

from chatbi.profiles.background import BackgroundStep


def test_result_is_the_work_value_on_a_separate_cursor():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(1000)")
    step = BackgroundStep(con, lambda cur: cur.execute("SELECT sum(x) FROM t").fetchone()[0], "sum")
    con.execute("CREATE TABLE u AS SELECT 1 AS y")      # the main connection stays usable
    assert step.result() == 499500
    assert step.seconds >= 0


def test_errors_are_raised_in_the_caller():
    con = duckdb.connect()
    step = BackgroundStep(con, lambda cur: cur.execute("SELECT * FROM missing_table").fetchall(), "bad")
    with pytest.raises(duckdb.CatalogException):
        step.result()


def test_cancel_interrupts_a_long_query():
    con = duckdb.connect()
    slow = "SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range % 7 = b.range"
    step = BackgroundStep(con, lambda cur: cur.execute(slow).fetchall(), "slow")
    time.sleep(0.3)
    started = time.perf_counter()
    step.cancel()
    assert time.perf_counter() - started < 30
    with pytest.raises(duckdb.Error):
        step.result()
