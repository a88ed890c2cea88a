"""The Answer: every intermediate result of one question, serialisable to INTERFACES.md JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from chatbi.semantic.query import SemanticQuery

Intent = Literal["query", "why", "copy", "definition", "clarify", "refuse"]

ANSWER_KEYS = (
    "question", "intent", "planner", "semantic_query", "sql", "columns", "rows", "truncated",
    "chart", "finding", "copy", "definitions", "followups", "timings_ms", "error",
)


@dataclass
class CopyItem:
    """One piece of campaign copy for a segment."""

    segment: str
    channel: str
    text: str
    segment_size: int
    title: str | None = None
    angle: str | None = None  # offer | novelty | reminder

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "segment": self.segment, "channel": self.channel,
            "text": self.text, "segment_size": self.segment_size,
        }
        if self.title is not None:
            out["title"] = self.title
        if self.angle is not None:
            out["angle"] = self.angle
        return out


@dataclass
class Definition:
    """A metric definition shown with the answer."""

    name: str
    label: str
    description: str
    sql: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "label": self.label, "description": self.description, "sql": self.sql}


def json_value(value: Any) -> Any:
    """Turn a DuckDB/pandas cell into a JSON value (numbers, strings, ISO dates, null)."""
    if value is None:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return json_value(value.item())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    return str(value)


@dataclass
class Answer:
    """One answered (or refused, or clarified) question."""

    question: str
    intent: Intent = "query"
    planner: Literal["offline", "llm"] = "offline"
    semantic_query: SemanticQuery | None = None
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    truncated: bool = False
    chart: dict[str, Any] | None = None
    finding: str | None = None
    copy: list[CopyItem] | None = None
    definitions: list[Definition] = field(default_factory=list)
    followups: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: dict[str, str] | None = None
    # Extras that channels may show; not part of the JSON contract's required keys.
    time_range_text: str | None = None
    notes: list[str] = field(default_factory=list)
    language: Literal["zh", "en"] = "zh"
    interpretation: dict[str, Any] | None = None  # how the question was read (chatbi.planner.interpretation)
    table: dict[str, Any] | None = None  # labelled headers and values (chatbi.answer.labels)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The INTERFACES.md answer object; every key always present."""
        timings = {k: round(float(self.timings_ms.get(k, 0.0)), 2)
                   for k in ("plan", "sql", "chart", "finding", "total")}
        for k, v in self.timings_ms.items():
            timings.setdefault(k, round(float(v), 2))
        return {
            "question": self.question,
            "intent": self.intent,
            "planner": self.planner,
            "semantic_query": self.semantic_query.model_dump(mode="json") if self.semantic_query else None,
            "sql": self.sql,
            "columns": list(self.columns),
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "truncated": bool(self.truncated),
            "chart": self.chart,
            "finding": self.finding,
            "copy": [c.to_dict() for c in self.copy] if self.copy is not None else None,
            "definitions": [d.to_dict() for d in self.definitions],
            "followups": list(self.followups),
            "timings_ms": timings,
            "error": self.error,
            "time_range": self.time_range_text,
            "notes": list(self.notes),
            "interpretation": self.interpretation,
            "table": self.table,
            "language": self.language,
        }
