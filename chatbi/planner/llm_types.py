"""Types of the LLM planner: ``LLMPlan`` (a ``Plan`` with SQL and statistics) and ``LLMStats``.

``LLMPlan`` is a ``Plan`` subclass, so everything that routes a ``Plan`` keeps working; it
adds ``sql`` (the raw-SQL path: intent ``query``, ``query`` None, SQL the model wrote that
passed the guard for the caller's role; the pipeline guards it again before running it),
``planner`` (``llm`` or ``offline`` after a fallback) and ``llm_stats`` (numbers the pipeline
copies into ``Answer.timings_ms``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from chatbi.planner.types import Plan

__all__ = ["LLMPlan", "LLMStats", "as_llm_plan"]


@dataclass
class LLMStats:
    """Cost of planning one question with the model."""

    calls: int = 0  # model calls made (1 in the common case)
    prompt_chars: int = 0  # characters sent, summed over calls (messages + tool schemas)
    prompt_tokens: int = 0  # largest single request, conservative estimate
    repairs: int = 0  # rejected tool calls fed back to the model
    fallback: str | None = None  # why the offline planner answered instead

    def as_timings(self) -> dict[str, float]:
        """The numbers for ``Answer.timings_ms`` (``llm_calls``, ``prompt_chars``…)."""
        return {
            "llm_calls": float(self.calls),
            "prompt_chars": float(self.prompt_chars),
            "prompt_tokens_est": float(self.prompt_tokens),
            "llm_repairs": float(self.repairs),
            "llm_fallback": 1.0 if self.fallback else 0.0,
        }


@dataclass(frozen=True)
class LLMPlan(Plan):
    """A ``Plan`` from the LLM planner (or its offline fallback)."""

    sql: str | None = None
    planner: Literal["llm", "offline"] = "llm"
    llm_stats: dict[str, float] = field(default_factory=dict)


def as_llm_plan(plan: Plan, **extra: Any) -> LLMPlan:
    """``plan`` as an ``LLMPlan`` (fields copied), with ``extra`` fields set."""
    values = {f.name: getattr(plan, f.name) for f in fields(Plan)}
    if isinstance(plan, LLMPlan):
        values.update(sql=plan.sql, planner=plan.planner, llm_stats=dict(plan.llm_stats))
    values.update(extra)
    return LLMPlan(**values)
