"""Result-set comparison: names and order ignored, tolerance, extra columns, row order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chatbi.eval.compare import compare_results, normalize, values_equal


def test_column_names_and_order_are_ignored_and_extra_columns_allowed() -> None:
    gold_cols, gold_rows = ["merchant_id", "gmv"], [(1, 100.0), (2, 50.0)]
    answer_cols = ["merchant_name", "gmv_total", "id"]
    answer_rows = [("B", 50.0, 2), ("A", 100.0, 1)]
    verdict = compare_results(gold_cols, gold_rows, answer_cols, answer_rows)
    assert verdict.ok, verdict.reason
    assert verdict.mapping == {"merchant_id": "id", "gmv": "gmv_total"}


def test_numbers_within_half_a_percent() -> None:
    assert compare_results(["x"], [(1000.0,)], ["y"], [(1004.9,)]).ok
    verdict = compare_results(["x"], [(1000.0,)], ["y"], [(1010.0,)])
    assert not verdict.ok and "'x'" in verdict.reason


def test_tolerance_is_configurable() -> None:
    assert compare_results(["x"], [(1000.0,)], ["y"], [(1010.0,)], tolerance=0.02).ok


def test_every_gold_column_must_be_matched() -> None:
    verdict = compare_results(["region", "gmv", "orders"], [("华东", 10.0, 3)], ["region", "gmv"], [("华东", 10.0)])
    assert not verdict.ok and "columns" in verdict.reason


def test_row_counts_must_be_equal() -> None:
    verdict = compare_results(["r"], [("a",), ("b",)], ["r"], [("a",), ("b",), (None,)])
    assert not verdict.ok and verdict.reason == "expected 2 rows, got 3"


def test_columns_must_line_up_row_by_row() -> None:
    # each column alone has the right values, but the pairs are swapped
    gold = [("华东", 10.0), ("华南", 20.0)]
    answer = [("华东", 20.0), ("华南", 10.0)]
    verdict = compare_results(["region", "gmv"], gold, ["region", "gmv"], answer)
    assert not verdict.ok and "row by row" in verdict.reason


def test_equal_columns_are_assigned_by_backtracking() -> None:
    # gmv and gmv_previous hold the same multiset; only one assignment lines up the rows
    gold = [("a", 1.0, 2.0), ("b", 2.0, 1.0)]
    answer_cols = ["category", "gmv_previous", "gmv"]
    answer = [("a", 2.0, 1.0), ("b", 1.0, 2.0)]
    verdict = compare_results(["category", "gmv", "gmv_previous"], gold, answer_cols, answer)
    assert verdict.ok, verdict.reason
    assert verdict.mapping == {"category": "category", "gmv": "gmv", "gmv_previous": "gmv_previous"}


def test_order_matters_compares_sequences() -> None:
    gold = [("a", 3.0), ("b", 2.0), ("c", 1.0)]
    assert compare_results(["k", "v"], gold, ["k", "v"], gold, order_matters=True).ok
    shuffled = [gold[1], gold[0], gold[2]]
    assert compare_results(["k", "v"], gold, ["k", "v"], shuffled).ok
    verdict = compare_results(["k", "v"], gold, ["k", "v"], shuffled, order_matters=True)
    assert not verdict.ok and "another order" in verdict.reason


def test_order_key_lets_tied_rows_swap() -> None:
    gold = [("a", 3.0), ("b", 2.0), ("c", 2.0)]
    answer = [("a", 3.0), ("c", 2.0), ("b", 2.0)]
    assert not compare_results(["k", "v"], gold, ["k", "v"], answer, order_matters=True).ok
    assert compare_results(["k", "v"], gold, ["k", "v"], answer, order_matters=True, order_key=["v"]).ok
    worse = [("b", 2.0), ("a", 3.0), ("c", 2.0)]
    assert not compare_results(["k", "v"], gold, ["k", "v"], worse, order_matters=True, order_key=["v"]).ok


def test_values_are_normalised_across_types() -> None:
    assert normalize(Decimal("12.50")) == 12.5
    assert normalize(dt.datetime(2026, 8, 1)) == "2026-08-01"
    assert normalize(dt.date(2026, 8, 1)) == "2026-08-01"
    assert normalize("2026-08-01T00:00:00") == "2026-08-01"
    assert normalize("3") == 3.0  # a tier stored as text matches the integer
    assert normalize(float("nan")) is None
    gold = [(dt.date(2026, 8, 1), Decimal("10.00"), 1)]
    answer = [("2026-08-01", 10.0, "1")]
    assert compare_results(["month", "gmv", "tier"], gold, ["m", "g", "t"], answer).ok


def test_nulls_only_match_nulls() -> None:
    assert values_equal(None, None)
    assert not values_equal(None, 0.0)
    assert compare_results(["g"], [(None,), (0.5,)], ["x"], [(0.5,), (None,)]).ok
    assert not compare_results(["g"], [(None,)], ["x"], [(0.0,)]).ok


def test_near_ties_fall_back_to_matching() -> None:
    # sorted by the first column the near-equal keys interleave differently
    gold = [(1.0000, "a"), (1.0001, "b")]
    answer = [(1.0001, "a"), (1.0000, "b")]
    assert compare_results(["v", "k"], gold, ["v", "k"], answer).ok


def test_empty_results_match() -> None:
    assert compare_results(["merchant_id"], [], ["merchant_id", "gmv"], []).ok
