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
from dataclasses import dataclass
from typing import Any

from chatbi.planner.types import Plan


@dataclass(frozen=True)
class Turn:
    """One question and the plan made for it; ``pending`` holds a partial understanding."""

    question: str
    plan: Plan
    pending: Any = None
    relation: Any = None  # the RelationRequest when chatbi.relations answered this turn


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
        """The newest plan a follow-up can change (a query, why or copy plan); None when a
        relationship answer came after it (the follow-up is about that answer, which has no
        plan to change)."""
        with self._lock:
            for turn in reversed(self._turns):
                if turn.relation is not None:
                    return None
                if turn.plan.intent in ("query", "why", "copy"):
                    return turn.plan
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
