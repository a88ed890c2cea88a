"""Compare result sets from two engines: same columns, same rows (as multisets), numbers
equal within a relative tolerance, dates and timestamps by value."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

TOLERANCE = 1e-6


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal | int | float):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    return str(value)


def _key(row: tuple) -> tuple:
    return tuple((v is None, round(v, 4) if isinstance(v, float) else v) for v in row)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=1e-9)
    return a == b


def differences(left: Any, right: Any, *, ordered: bool = False) -> str | None:
    """None when the two QueryResults hold the same table, else what differs (short)."""
    if [c.lower() for c in left.columns] != [c.lower() for c in right.columns]:
        return f"columns {left.columns} != {right.columns}"
    if left.truncated != right.truncated:
        return f"truncated {left.truncated} != {right.truncated}"
    a = [tuple(_norm(v) for v in row) for row in left.rows]
    b = [tuple(_norm(v) for v in row) for row in right.rows]
    if len(a) != len(b):
        return f"{len(a)} rows != {len(b)} rows"
    if not ordered:
        a, b = sorted(a, key=_key), sorted(b, key=_key)
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        if len(x) != len(y) or not all(_same(p, q) for p, q in zip(x, y, strict=True)):
            return f"row {index}: {x} != {y}"
    return None
