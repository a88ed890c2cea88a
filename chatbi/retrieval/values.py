"""Distinct values of low-cardinality dimensions, read from the warehouse.

Planners match words such as 华东, 中古包 or 抖音 against these values, so they follow the data
(a warehouse imported from Olist has Brazilian regions instead of Chinese ones).
"""

from __future__ import annotations

import logging
from typing import Protocol

from chatbi.errors import ChatBIError
from chatbi.semantic.models import SemanticLayer

log = logging.getLogger(__name__)
MAX_VALUES_PER_DIMENSION = 300


class _Runs(Protocol):
    def run(self, sql: str, *, max_rows: int = ...) -> object: ...


def _source(model_table: str | None, model_sql: str | None) -> str | None:
    if model_table:
        return model_table
    if model_sql:
        return f"({model_sql}) AS src"
    return None


def read_dimension_values(layer: SemanticLayer, executor: _Runs) -> dict[str, list[str]]:
    """For every dimension marked ``index_values``, its distinct non-null values as strings."""
    values: dict[str, list[str]] = {}
    for model, dim in layer.all_dimensions():
        if not dim.index_values or dim.pii:
            continue
        source = _source(getattr(model, "table", None), getattr(model, "sql", None))
        if source is None:
            continue
        expr = dim.expr
        if dim.type == "tag":
            sql = (f"SELECT DISTINCT CAST(v AS VARCHAR) AS v FROM (SELECT UNNEST({expr}) AS v FROM {source}) t "
                   f"WHERE v IS NOT NULL ORDER BY 1 LIMIT {MAX_VALUES_PER_DIMENSION}")
        else:
            sql = (f"SELECT DISTINCT CAST({expr} AS VARCHAR) AS v FROM {source} "
                   f"WHERE {expr} IS NOT NULL ORDER BY 1 LIMIT {MAX_VALUES_PER_DIMENSION}")
        try:
            result = executor.run(sql, max_rows=MAX_VALUES_PER_DIMENSION)
        except ChatBIError as exc:  # a table missing from this warehouse: skip its values
            log.info("no values for dimension %s: %s", dim.name, exc.message)
            continue
        rows = getattr(result, "rows", [])
        values[dim.name] = [str(row[0]) for row in rows if row[0] not in (None, "")]
    return values
