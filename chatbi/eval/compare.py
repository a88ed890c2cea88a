"""Compare an answer's result set with the gold result set.

Column order and names are ignored: each gold column is matched to a distinct answer column
holding the same multiset of values (numbers within a relative tolerance). Extra answer
columns are allowed (an answer may show ``merchant_name`` beside ``merchant_id``), every gold
column must be matched and the row counts must be equal. The matched columns must then agree
row by row: as multisets of rows, or, with ``order_matters``, as sequences (with
``order_key``, only those gold columns must be in sequence, so tied rows may swap).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOLERANCE = 0.005
ABS_TOLERANCE = 1e-9
_MAX_MAPPINGS = 200  # column assignments tried before giving up


@dataclass(frozen=True)
class Comparison:
    """The verdict: ``ok``, and when not, a one-line ``reason``; ``mapping`` gold → answer."""

    ok: bool
    reason: str = ""
    mapping: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ values
def normalize(value: Any) -> Any:
    """A comparable form: numbers → float, dates → ISO text, numeric text → float."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("T00:00:00"):
            text = text[:-9]
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if isinstance(value, list | tuple):
        return tuple(sorted((normalize(v) for v in value), key=_sort_key))
    if hasattr(value, "item"):  # numpy scalar
        return normalize(value.item())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return normalize(value.to_pydatetime()) if hasattr(value, "to_pydatetime") else value.isoformat()
    return str(value)


def values_equal(a: Any, b: Any, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Equality of normalised values; numbers within ``tolerance`` (relative)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        other = b if isinstance(a, bool) else a
        flag = a if isinstance(a, bool) else b
        return isinstance(other, float) and other == float(flag)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=ABS_TOLERANCE)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(values_equal(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return a == b


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0.0)
    if isinstance(value, bool):
        return (1, float(value))
    if isinstance(value, float):
        return (1, value)
    if isinstance(value, tuple):
        return (3, str(value))
    return (2, str(value))


def _row_key(row: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple(_sort_key(v) for v in row)


# ------------------------------------------------------------------ columns and rows
def _column_matches(gold: list[Any], answer: list[Any], tolerance: float) -> bool:
    if len(gold) != len(answer):
        return False
    ordered_gold = sorted(gold, key=_sort_key)
    ordered_answer = sorted(answer, key=_sort_key)
    return all(values_equal(x, y, tolerance) for x, y in zip(ordered_gold, ordered_answer, strict=True))


def _rows_match_unordered(gold: list[tuple], answer: list[tuple], tolerance: float) -> bool:
    """Multisets of rows equal; a sorted pass first, then a greedy matching for near-ties."""
    ordered_gold = sorted(gold, key=_row_key)
    ordered_answer = sorted(answer, key=_row_key)
    if all(_row_equal(x, y, tolerance) for x, y in zip(ordered_gold, ordered_answer, strict=True)):
        return True
    unused = list(range(len(answer)))
    for row in gold:
        for position, index in enumerate(unused):
            if _row_equal(row, answer[index], tolerance):
                del unused[position]
                break
        else:
            return False
    return True


def _row_equal(a: Sequence[Any], b: Sequence[Any], tolerance: float) -> bool:
    return all(values_equal(x, y, tolerance) for x, y in zip(a, b, strict=True))


def _first_difference(gold: list[tuple], answer: list[tuple], tolerance: float) -> str:
    for index, (x, y) in enumerate(zip(gold, answer, strict=True)):
        if not _row_equal(x, y, tolerance):
            return f"row {index + 1}: expected {_show(x)}, got {_show(y)}"
    return "rows differ"


def _show(row: Sequence[Any]) -> str:
    parts = []
    for value in row:
        if isinstance(value, float):
            parts.append(f"{value:.6g}")
        else:
            parts.append(repr(value))
    return "(" + ", ".join(parts) + ")"


def compare_results(
    gold_columns: Sequence[str],
    gold_rows: Sequence[Sequence[Any]],
    answer_columns: Sequence[str],
    answer_rows: Sequence[Sequence[Any]],
    *,
    order_matters: bool = False,
    order_key: Sequence[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
) -> Comparison:
    """Does the answer's result set match the gold one (see the module docstring)?"""
    gold = [tuple(normalize(v) for v in row) for row in gold_rows]
    answer = [tuple(normalize(v) for v in row) for row in answer_rows]
    gold_cols, answer_cols = list(gold_columns), list(answer_columns)
    missing_key = [k for k in order_key if k not in gold_cols]
    if missing_key:
        return Comparison(False, f"order_key {missing_key} not among the gold columns {gold_cols}")
    if len(gold) != len(answer):
        return Comparison(False, f"expected {len(gold)} rows, got {len(answer)}")
    if len(answer_cols) < len(gold_cols):
        return Comparison(False, f"expected at least {len(gold_cols)} columns {gold_cols}, got {answer_cols}")
    gold_values = [[row[i] for row in gold] for i in range(len(gold_cols))]
    answer_values = [[row[j] for row in answer] for j in range(len(answer_cols))]
    candidates: list[list[int]] = []
    for i, name in enumerate(gold_cols):
        fits = [j for j in range(len(answer_cols)) if _column_matches(gold_values[i], answer_values[j], tolerance)]
        fits.sort(key=lambda j: (answer_cols[j].lower() != name.lower(), j))  # same name first
        if not fits:
            return Comparison(False, f"no answer column holds the values of gold column {name!r} "
                                     f"(answer columns {answer_cols}; gold {name}: {_preview(gold_values[i])})")
        candidates.append(fits)

    reason = "the matched columns do not line up row by row"
    tried = 0
    for assignment in _assignments(candidates):
        tried += 1
        if tried > _MAX_MAPPINGS:
            break
        projected = [tuple(row[j] for j in assignment) for row in answer]
        mapping = {gold_cols[i]: answer_cols[j] for i, j in enumerate(assignment)}
        if not _rows_match_unordered(gold, projected, tolerance):
            continue
        if not order_matters:
            return Comparison(True, mapping=mapping)
        keys = [gold_cols.index(k) for k in order_key] or list(range(len(gold_cols)))
        gold_seq = [tuple(row[k] for k in keys) for row in gold]
        answer_seq = [tuple(row[k] for k in keys) for row in projected]
        if all(_row_equal(x, y, tolerance) for x, y in zip(gold_seq, answer_seq, strict=True)):
            return Comparison(True, mapping=mapping)
        reason = "same rows in another order: " + _first_difference(gold_seq, answer_seq, tolerance)
    if tried == 0:
        reason = f"gold columns {gold_cols} cannot each be matched to a distinct answer column of {answer_cols}"
    return Comparison(False, reason)


def _assignments(candidates: list[list[int]]):
    """Injective choices of one answer column per gold column, in preference order."""
    chosen: list[int] = []

    def walk(i: int):
        if i == len(candidates):
            yield list(chosen)
            return
        for j in candidates[i]:
            if j in chosen:
                continue
            chosen.append(j)
            yield from walk(i + 1)
            chosen.pop()

    yield from walk(0)


def _preview(values: list[Any], limit: int = 5) -> str:
    shown = sorted(values, key=_sort_key)[:limit]
    text = ", ".join(f"{v:.6g}" if isinstance(v, float) else repr(v) for v in shown)
    return f"[{text}{', …' if len(values) > limit else ''}]"
