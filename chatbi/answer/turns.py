"""What the conversation keeps of an answered turn: whether it failed, and which entities a
top/bottom N showed (so "按月看" afterwards keeps those same entities)."""

from __future__ import annotations

from typing import Any

from chatbi.answer.types import Answer


def record_outcome(conversation: Any, answer: Answer, turn_before: Any) -> None:
    """Mark the turn this answer added to ``conversation`` (none when the question was
    stopped before planning: then nothing is marked)."""
    if conversation is None or not hasattr(conversation, "mark_last"):
        return
    turn = conversation.last_turn
    if turn is None or turn is turn_before:
        return
    if answer.error is not None:
        if turn.plan.intent not in ("clarify", "refuse"):  # those are known by their intent
            conversation.mark_last(failed=True)
        return
    query = answer.semantic_query
    if answer.intent != "query" or query is None or not query.dimensions or answer.truncated:
        return
    dimension = query.dimensions[0]
    if dimension not in answer.columns or (query.limit and len(answer.rows) > query.limit):
        return
    index = answer.columns.index(dimension)
    values = tuple(dict.fromkeys(row[index] for row in answer.rows if row[index] is not None))
    if values:  # in the answer's order: the first is what "that channel / 这个渠道" points at
        conversation.mark_last(shown_keys=(dimension, values))
