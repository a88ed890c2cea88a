"""Findings for relationship answers: written from the result frame, then checked.

Each writer reads only the frame and formats every number with ``chatbi.answer.numbers``.
``frame_facts`` turns a frame into the ``Facts`` that ``chatbi.answer.findings.check_finding``
verifies a text against (every numeric cell; ratio columns as percentages, lift columns as
multiples; text cells as labels whose digits are names), so ``check_relation_finding``
accepts a finding only when every number in it is one the frame holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import pandas as pd

from chatbi.answer.facts import FactNumber, Facts
from chatbi.answer.findings import CheckResult, check_finding
from chatbi.answer.numbers import format_count, format_money, format_percent, is_missing

MAX_FACT_ROWS = 500


def frame_facts(frame: pd.DataFrame, *, language: str, ratio_columns: Iterable[str] = (),
                multiple_columns: Iterable[str] = (), window: tuple[date, date] | None = None,
                extra_counts: Iterable[int] = ()) -> Facts:
    """The numbers and labels a finding about ``frame`` may use."""
    ratios, multiples = set(ratio_columns), set(multiple_columns)
    numbers: dict[tuple[float, str], FactNumber] = {}
    labels: set[str] = set()
    head = frame.head(MAX_FACT_ROWS)
    for column in head.columns:
        series = head[column]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            kind = "ratio" if column in ratios else "multiple" if column in multiples else "amount"
            for value in series.dropna():
                number = float(value)
                numbers.setdefault((round(number, 9), kind), FactNumber(number, kind))  # type: ignore[arg-type]
        else:
            labels.update(str(v) for v in series.dropna() if str(v).strip())
    counts = {len(frame), *extra_counts}
    windows = (window,) if window else ()
    return Facts(language=language, shape="table", row_count=len(frame), numbers=tuple(numbers.values()),
                 labels=tuple(sorted(labels, key=len, reverse=True)),
                 windows=windows, counts=tuple(sorted(c for c in counts if c >= 0)),
                 rank_max=len(frame), time_start=window[0] if window else None,
                 time_end=window[1] if window else None)


def check_relation_finding(text: str, frame: pd.DataFrame, *, language: str,
                           ratio_columns: Iterable[str] = (), multiple_columns: Iterable[str] = (),
                           window: tuple[date, date] | None = None,
                           extra_counts: Iterable[int] = ()) -> CheckResult:
    """Check that every number in ``text`` is one the frame produced."""
    facts = frame_facts(frame, language=language, ratio_columns=ratio_columns,
                        multiple_columns=multiple_columns, window=window, extra_counts=extra_counts)
    return check_finding(text, facts)


# ---------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------

def n(value: object, language: str) -> str:
    """A count: 1,234 / 12.3万."""
    return format_count(value, language)


def money(value: object, language: str) -> str:
    return format_money(value, language)


def pct(value: object) -> str:
    return format_percent(value)


def times(value: object, language: str) -> str:
    """A lift: 2.45倍 / 2.45×."""
    if is_missing(value):
        return "—"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:.2f}×" if language == "en" else f"{number:.2f}倍"


def join(items: Iterable[str], language: str) -> str:
    items = list(items)
    return (", " if language == "en" else "、").join(items)


def row_label(row: Mapping[str, object], name: str = "merchant_name", key: str = "merchant_id") -> str:
    """``merchant_name`` (or ``商户 <id>`` when the name is missing)."""
    value = row.get(name)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return f"#{row.get(key)}"
    return str(value)
