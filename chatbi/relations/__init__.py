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

from chatbi.relations.answers import (
    RelationResult,
    RelationsNotBuiltError,
    answer_relation,
    fill_answer,
    relation_policy,
)
from chatbi.relations.intents import RelationRequest, detect_relation_question

__all__ = ["RelationRequest", "RelationResult", "RelationsNotBuiltError", "answer_relation",
           "detect_relation_question", "fill_answer", "relation_policy"]
