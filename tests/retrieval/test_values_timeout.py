"""Reading dimension values never fails silently on a time limit (issue 17): a warehouse too
slow to list 品类 within the limit would otherwise be planned without them, and 中古包 would
not be recognised — a clear error instead. A table missing from the warehouse still only
leaves that dimension without values."""

from __future__ import annotations

from typing import Any

import pytest

from chatbi.errors import QueryTimeoutError, WarehouseError
from chatbi.retrieval.values import read_dimension_values
from chatbi.semantic.loader import load_semantic_layer


class _Failing:
    """An executor whose value queries fail with ``error``; the merchant-name read returns nothing."""

    dialect = "duckdb"

    def __init__(self, error: Exception):
        self.error = error

    def run(self, sql: str, *, max_rows: int = 1000) -> Any:
        raise self.error


def test_a_time_limit_on_a_value_read_is_a_clear_error() -> None:
    layer = load_semantic_layer()
    with pytest.raises(QueryTimeoutError) as raised:
        read_dimension_values(layer, _Failing(QueryTimeoutError("query ran past 10 s")))
    assert "CHATBI_QUERY_TIMEOUT" in raised.value.message and raised.value.code == "query_timeout"


def test_a_missing_table_leaves_the_dimension_without_values() -> None:
    layer = load_semantic_layer()
    values = read_dimension_values(layer, _Failing(WarehouseError("table products does not exist")))
    assert "category" not in values
    assert values.get("city_tier")  # fixed values in the layer need no query
