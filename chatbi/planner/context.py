"""Conversation context: the previous turns of one session, used by follow-ups.

One ``Conversation`` per chat session (no global state). It keeps the last few plans and,
for a clarifying question, what was understood so far, so the answer to "which metric?"
can complete the earlier question. A lock makes it safe to share within one session.

Questions answered outside the planners (graph, funnel, KOL… by ``chatbi.relations``) are
recorded too, with their request in ``Turn.relation``: a follow-up after such an answer must
not silently change an older planner turn (``last_answerable`` stops there).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from chatbi.planner.types import Plan


@dataclass(frozen=True)
class Turn:
    """One question and the plan made for it; ``pending`` holds a partial understanding."""

    question: str
    plan: Plan
    pending: Any = None
    relation: Any = None  # the RelationRequest when chatbi.relations answered this turn
    failed: bool = False  # the answer was an error: nothing of this turn carries forward
    shown_keys: tuple[str, tuple[Any, ...]] | None = None  # (dimension, values) a top/bottom N showed


class Conversation:
    """The recent turns of a session, newest last."""

    def __init__(self, max_turns: int = 20):
        self._turns: deque[Turn] = deque(maxlen=max_turns)
        self._lock = threading.Lock()

    def add(self, question: str, plan: Plan, pending: Any = None, relation: Any = None) -> None:
        """Record a turn (the planners call this after planning; the answer layer for
        relationship answers, with ``relation`` set)."""
        with self._lock:
            self._turns.append(Turn(question, plan, pending, relation))

    def mark_last(self, *, failed: bool = False, shown_keys: tuple[str, tuple[Any, ...]] | None = None) -> None:
        """Record what became of the newest turn: it failed (an error answer), or the entities
        a top/bottom N showed (a later change of grain keeps those same entities)."""
        with self._lock:
            if self._turns:
                self._turns[-1] = replace(self._turns[-1], failed=failed, shown_keys=shown_keys)

    @property
    def turns(self) -> tuple[Turn, ...]:
        with self._lock:
            return tuple(self._turns)

    @property
    def last_plan(self) -> Plan | None:
        with self._lock:
            return self._turns[-1].plan if self._turns else None

    @property
    def last_turn(self) -> Turn | None:
        with self._lock:
            return self._turns[-1] if self._turns else None

    def last_answerable(self) -> Plan | None:
        """The newest plan a follow-up can change (a query, why or copy plan)."""
        turn = self.last_answerable_turn()
        return turn.plan if turn is not None else None

    def last_answered_before_clarifications(self) -> Turn | None:
        """The newest answerable turn, looking past clarifying questions (not past errors,
        refusals or relationship answers): what 他们/them points back to after a 'which
        metric?' question."""
        with self._lock:
            for turn in reversed(self._turns):
                if turn.plan.intent == "clarify" and not turn.failed:
                    continue
                if turn.relation is not None or turn.failed or turn.plan.intent == "refuse":
                    return None
                if turn.plan.intent in ("query", "why", "copy"):
                    return turn
        return None

    def last_answerable_turn(self) -> Turn | None:
        """The newest turn a follow-up can change; None when a relationship answer, an error,
        a clarifying question or a refusal came after it: those never carry into the next
        turn, and a follow-up after them has nothing it may silently reuse."""
        with self._lock:
            for turn in reversed(self._turns):
                if turn.relation is not None or turn.failed or turn.plan.intent in ("clarify", "refuse"):
                    return None
                if turn.plan.intent in ("query", "why", "copy"):
                    return turn
        return None

    def last_relation(self) -> Any:
        """The relationship request of the newest turn, when that turn was one (else None)."""
        with self._lock:
            return self._turns[-1].relation if self._turns else None

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)
