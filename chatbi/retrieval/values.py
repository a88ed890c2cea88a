"""Distinct values of low-cardinality dimensions, read from the warehouse.

Planners match words such as 华东, 中古包 or 抖音 against these values, so they follow the data
(a warehouse imported from Olist has Brazilian regions instead of Chinese ones). Dimensions
with fixed ``values`` in the YAML (e.g. age bands) use those.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Protocol

from chatbi.errors import ChatBIError, QueryTimeoutError
from chatbi.semantic.catalog import Catalog
from chatbi.semantic.models import SemanticLayer
from chatbi.sql.engines import dialect_of, render

log = logging.getLogger(__name__)
MAX_VALUES_PER_DIMENSION = 300


class _Runs(Protocol):
    def run(self, sql: str, *, max_rows: int = ...) -> Any: ...


def read_dimension_values(layer: SemanticLayer, executor: _Runs,
                          as_of: date | None = None) -> dict[str, list[str]]:
    """For every dimension marked ``index_values`` (or with fixed values), its values as text."""
    catalog = Catalog(layer)
    values: dict[str, list[str]] = {}
    for _model, dim in layer.all_dimensions():
        if dim.pii:
            continue
        fixed = getattr(dim, "values", None)
        if fixed:
            values[dim.name] = [str(v) for v in fixed]
            continue
        if not dim.index_values:
            continue
        sql = render(catalog.dimension_values_sql(dim.name, as_of=as_of, limit=MAX_VALUES_PER_DIMENSION),
                     dialect_of(executor))  # DuckDB text, written for the engine
        try:
            result = executor.run(sql, max_rows=MAX_VALUES_PER_DIMENSION)
        except ChatBIError as exc:
            if exc.code == "query_timeout":  # never plan without them: 中古包 would not be recognised
                raise QueryTimeoutError(
                    f"读取维度「{dim.label}」的取值超过了查询时限，问题里的取值无法可靠识别；请调大 CHATBI_QUERY_TIMEOUT（例如 30） / "
                    f"reading the values of dimension {dim.name} ran past the query time limit, so values in questions "
                    "could not be recognised reliably; raise CHATBI_QUERY_TIMEOUT (e.g. 30) for this warehouse",
                    detail=exc.message) from exc
            log.info("no values for dimension %s: %s", dim.name, exc.message)  # a table missing from this warehouse
            continue
        values[dim.name] = [str(row[0]) for row in result.rows if row[0] not in (None, "")]
    from chatbi.planner.merchant_names import read_merchant_names

    values.update(read_merchant_names(layer, executor))  # every merchant's id and name, for shops said by name
    return values
