"""Typed outputs of the planners: ``Plan`` and its parts, and ``TimeParse``.

Both planners (offline and LLM) return a ``Plan``; the pipeline routes on ``intent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chatbi.semantic.query import ComparisonKind, Filter, Grain, SemanticQuery, TimeRange

Intent = Literal["query", "why", "copy", "definition", "clarify", "refuse"]
Language = Literal["zh", "en"]
CopyChannel = Literal["sms", "push", "wechat", "email", "xiaohongshu", "generic"]
Direction = Literal["up", "down"]
Cohort = Literal["all", "new_users"]


@dataclass(frozen=True)
class TimeParse:
    """A time expression found in a question, resolved against the as-of date.

    ``range`` is None when only a comparison word (同比, MoM…) was found. ``grain`` is the
    natural unit of the expression (上个季度 → quarter, 近30天 → day). ``span`` is the
    (start, end) of the range words in the text; ``spans`` covers every time word used
    (range and comparison), so a caller can mask them.
    """

    range: TimeRange | None
    comparison: ComparisonKind | None = None
    grain: Grain | None = None
    span: tuple[int, int] | None = None
    spans: tuple[tuple[int, int], ...] = ()
    to_date: bool = False  # the range was cut at the as-of date (本月, 今年, YTD…)
    listed: bool = False  # adjacent periods listed with 分别/each: ``range`` covers them, broken down by ``grain``

    def describe(self, language: Language = "zh") -> str | None:
        """``上个季度 = 2026-04-01 至 2026-06-30`` (``to`` in English)."""
        if self.range is None:
            return None
        return describe_range(self.range, language)


def describe_range(time_range: TimeRange, language: Language = "zh") -> str:
    """Show a range with the words that produced it, in the question's language."""
    if language == "zh":
        return time_range.describe()
    text = f"{time_range.start.isoformat()} to {time_range.end.isoformat()}"
    return f"{time_range.label} = {text}" if time_range.label else text


@dataclass(frozen=True)
class CopyRequest:
    """Campaign copy to write for a segment: who (filters), where (channel), how many."""

    filters: tuple[Filter, ...]
    channel: CopyChannel = "sms"
    count: int = 3
    segment_label: str = ""  # the segment as the user named it (高价值女性用户)
    topic: str | None = None  # what to promote, when said (中古包, 618)


@dataclass(frozen=True)
class WhyRequest:
    """Explain a change of ``metric`` over ``time_range`` against ``comparison``."""

    metric: str
    time_range: TimeRange | None
    comparison: ComparisonKind = "previous_period"
    filters: tuple[Filter, ...] = ()
    direction: Direction | None = None  # what the user says happened (下降 → down)
    cohort: Cohort | None = None  # new_users: about new users' behaviour (新用户转化率); None: not decided
    time_defaulted: bool = False  # no time was said; time_range is the planner's default


@dataclass(frozen=True)
class Plan:
    """What to do with a question. ``query`` is set for query and why intents."""

    intent: Intent
    language: Language
    query: SemanticQuery | None = None
    message: str | None = None  # clarifying question or refusal reason, in ``language``
    definitions: tuple[str, ...] = ()  # metric names to define (intent definition)
    copy_request: CopyRequest | None = None
    why_request: WhyRequest | None = None
    time_text: str | None = None  # e.g. "上个季度 = 2026-04-01 至 2026-06-30"
    entity_list: bool = False  # the answer is a list of entities (merchants, users)
    notes: tuple[str, ...] = ()  # assumptions made, in ``language``
    candidates: tuple[str, ...] = ()  # metric names offered in a clarifying question
    followup: bool = False  # built by changing the previous question's plan
    interpretation: Any = None  # chatbi.planner.interpretation.Interpretation: how the question was read
