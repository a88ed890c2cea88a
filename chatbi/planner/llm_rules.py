"""The offline planner's rules about a question, applied to the LLM planner's plans too.

The LLM planner reuses — never re-implements — what the offline planner decides about a
question before anything is planned:

* **not in the data**: ``unknown.not_in_data`` over the words the lexicon did not claim
  (``understand``'s residual, after ``expand_shorthand``), so a question about something the
  warehouse does not hold (height, shipping, competitors, the future…) is refused with what
  the data holds, whatever the model planned; copy requests are skipped (their topic is free
  text), as offline;
* **conversations that do not leak**: ``followup.is_followup`` / ``refers_back_to_earlier``
  with ``Conversation.last_answerable_turn``: the model sees the previous question only when
  this one changes it, and never a failed, refused or clarified turn — except the newest
  clarifying question when this question answers it (``offline._complete_pending``, the
  offline planner's own test);
* **per-period averages**: ``build.per_period_problem`` (only sums and counts have a
  per-day average).

``LLMRules.read(question, as_of, conversation)`` returns a ``Reading`` the planner and the
checker (``llm_validate``) share, so the question is read once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from chatbi.planner import messages
from chatbi.planner.build import Env, per_period_problem
from chatbi.planner.context import Conversation, Turn
from chatbi.planner.followup import is_followup, refers_back_to_earlier
from chatbi.planner.offline import _complete_pending
from chatbi.planner.shorthand import expand_shorthand
from chatbi.planner.understand import Understanding, understand
from chatbi.planner.unknown import not_in_data

if TYPE_CHECKING:
    from chatbi.planner.types import Plan
    from chatbi.semantic.models import NotInData, SemanticLayer

log = logging.getLogger(__name__)

__all__ = ["LLMRules", "Reading", "not_in_data_message"]

_MAX_QUESTION = 500  # as the offline planner reads it


@dataclass(frozen=True)
class Reading:
    """What the offline rules say about one question (read once per question)."""

    understanding: Understanding | None = None
    out_of_data: tuple[NotInData, str] | None = None  # the concept and the word that named it
    copy: bool = False  # a copy request: its topic is free text, never refused as out of data
    previous: Turn | None = None  # the answered turn this question changes (a follow-up)
    pending: Turn | None = None  # the newest turn, a clarifying question this one answers

    @property
    def followup(self) -> bool:
        return self.previous is not None


def not_in_data_message(concept: NotInData, word: str, language: str) -> str:
    """The product's refusal for a concept the data does not hold (the offline wording)."""
    zh = language == "zh"
    return messages.text("not_in_data", language, label=concept.label if zh else concept.label_en, term=word,
                         instead=(concept.instead if zh else concept.instead_en) or "-")


class LLMRules:
    """The offline planner's question rules over its lexicon; ``None`` parts when the
    fallback planner has no lexicon (then every turn is read as a new question)."""

    def __init__(self, layer: SemanticLayer, offline: Any):
        self.layer = layer
        self.offline = offline
        self.lexicon = getattr(offline, "lexicon", None)

    def read(self, question: str, *, as_of: date, conversation: Conversation | None) -> Reading:
        """The offline reading of ``question`` (never raises: a failure reads as a new question)."""
        if self.lexicon is None:
            return Reading()
        try:
            return self._read(question, as_of, conversation)
        except Exception as exc:  # noqa: BLE001 - the rules are a safety net, never a blocker
            log.warning("offline reading of the question failed: %s", exc)
            return Reading()

    def _read(self, question: str, as_of: date, conversation: Conversation | None) -> Reading:
        assert self.lexicon is not None
        text, _ = expand_shorthand(question[:_MAX_QUESTION])
        u = understand(text, as_of, self.lexicon)
        found = None if u.copy else not_in_data(self.layer, u.residual)
        previous: Turn | None = None
        pending: Turn | None = None
        if conversation is not None:
            turn = conversation.last_answerable_turn()
            back = refers_back_to_earlier(u)
            if turn is None and back:
                turn = conversation.last_answered_before_clarifications()
            if turn is not None and (back or is_followup(u, turn.plan)):
                previous = turn
            last = conversation.last_turn
            if (last is not None and last.plan.intent == "clarify" and not last.failed and last.relation is None
                    and isinstance(last.pending, Understanding) and _complete_pending(last.pending, u) is not None):
                pending = last
        return Reading(u, found, u.copy, previous, pending)

    @staticmethod
    def model_view(reading: Reading) -> Conversation | None:
        """The turns the model may see: the answered turn a follow-up changes, or the
        clarifying question this question answers; nothing for a question of its own."""
        turns = [t for t in (reading.previous, reading.pending) if t is not None]
        if not turns:
            return None
        view = Conversation()
        for turn in turns:
            view.add(turn.question, turn.plan, turn.pending, turn.relation)
        return view

    def per_period_problem(self, metrics: list[str], *, as_of: date, language: str) -> Plan | None:
        """The offline planner's clarifying question when a metric has no per-period average."""
        compat = getattr(self.offline, "compat", None)
        if self.lexicon is None or compat is None:
            return None
        env = Env(self.layer, self.lexicon, compat, as_of, getattr(self.offline, "snapshots", None))
        return per_period_problem(env, metrics, language)  # type: ignore[arg-type]
