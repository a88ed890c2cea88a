"""Relationship intelligence: the user–merchant graph, KOL followers, collaborative-filtering
preferences and behaviour journeys (docs/relations.md).

Public API (wired into ``chatbi.answer.respond`` by the lead):

    request = detect_relation_question(question, language, planner_values)   # or None
    result = answer_relation(request, executor=..., policy=..., role=..., layer=...,
                             as_of=..., language=...)                     # RelationResult
    fill_answer(answer, result)                                           # optional helper

The recommender tables are written by the profile-build step
``chatbi.profiles.recommender.create_recommendations``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatbi.relations.intents import RelationRequest, detect_relation_question

if TYPE_CHECKING:
    from chatbi.relations.answers import (
        RelationResult,
        RelationsNotBuiltError,
        answer_relation,
        fill_answer,
        relation_policy,
    )

__all__ = ["RelationRequest", "RelationResult", "RelationsNotBuiltError", "answer_relation",
           "detect_relation_question", "fill_answer", "relation_policy"]
_ANSWERS = ("RelationResult", "RelationsNotBuiltError", "answer_relation", "fill_answer", "relation_policy")


def __getattr__(name: str) -> Any:
    """The answering half (graph, charts, networkx) is imported when first used, so detecting
    that a question is not about relations costs no import of it."""
    if name in _ANSWERS:
        from chatbi.relations import answers

        return getattr(answers, name)
    raise AttributeError(f"module 'chatbi.relations' has no attribute {name!r}")
