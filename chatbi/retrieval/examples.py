"""Worked examples (question → SemanticQuery JSON) for retrieval and few-shot prompts.

Two sources: ``chatbi/retrieval/examples.yaml`` (written by hand against the semantic layer)
and the ``examples`` table of the application database, where ``chatbi.channels.feedback``
promotes 👍 answers. An example whose query does not validate, or names a metric or
dimension the layer does not have, is skipped with a log line (the layer may have changed
since it was written).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from chatbi.semantic.models import SemanticLayer
from chatbi.semantic.query import SemanticQuery

log = logging.getLogger(__name__)
EXAMPLES_YAML = Path(__file__).with_name("examples.yaml")
SOURCE_YAML = "examples.yaml"
SOURCE_APP_DB = "app_db"


@dataclass(frozen=True)
class Example:
    """One worked example; ``key`` is stable across rebuilds (index id)."""

    key: str
    question: str
    semantic_query: dict[str, Any]
    source: str


def load_yaml_examples(path: Path = EXAMPLES_YAML) -> list[Example]:
    """The hand-written examples (``- question: …`` / ``semantic_query: {…}`` items)."""
    if not path.exists():
        return []
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    examples: list[Example] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "question" not in item or "semantic_query" not in item:
            log.warning("%s: item %d has no question/semantic_query, skipped", path.name, number)
            continue
        examples.append(Example(f"yaml-{number}", str(item["question"]).strip(),
                                dict(item["semantic_query"]), SOURCE_YAML))
    return examples


def load_app_examples(app_db_path: Path | None) -> list[Example]:
    """Examples promoted from 👍 feedback; none when the database or table is missing.

    The database is opened read-only: the retriever never writes the application database.
    """
    if app_db_path is None or not Path(app_db_path).exists():
        return []
    try:
        conn = sqlite3.connect(f"{Path(app_db_path).resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        log.warning("cannot open the application database %s: %s", app_db_path, exc)
        return []
    try:
        rows = conn.execute("SELECT id, question, semantic_query FROM examples ORDER BY id").fetchall()
    except sqlite3.Error as exc:  # no examples table yet
        log.info("no promoted examples in %s: %s", app_db_path, exc)
        return []
    finally:
        conn.close()
    examples: list[Example] = []
    for row_id, question, raw in rows:
        try:
            query = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            log.warning("promoted example %s has invalid JSON, skipped", row_id)
            continue
        if isinstance(query, dict) and question:
            examples.append(Example(f"app-{row_id}", str(question).strip(), query, SOURCE_APP_DB))
    return examples


def example_problem(example: Example, layer: SemanticLayer) -> str | None:
    """Why an example cannot be used with this layer, or None when it is fine."""
    try:
        query = SemanticQuery.model_validate(example.semantic_query)
    except ValidationError as exc:
        return f"invalid semantic query: {exc.errors()[0].get('msg')}"
    for name in query.metrics:
        if not layer.has_metric(name):
            return f"unknown metric {name!r}"
    names = [*query.dimensions, *(f.dimension for f in query.filters)]
    if query.time_dimension:
        names.append(query.time_dimension)
    for name in names:
        if not layer.has_dimension(name):
            return f"unknown dimension {name!r}"
    return None


def usable_examples(layer: SemanticLayer, app_db_path: Path | None,
                    path: Path = EXAMPLES_YAML) -> list[Example]:
    """Every example from both sources that fits ``layer`` (normalised query JSON)."""
    usable: list[Example] = []
    for example in [*load_yaml_examples(path), *load_app_examples(app_db_path)]:
        problem = example_problem(example, layer)
        if problem:
            log.warning("example %s (%s) skipped: %s", example.key, example.question, problem)
            continue
        query = SemanticQuery.model_validate(example.semantic_query).model_dump(mode="json", exclude_defaults=True)
        usable.append(Example(example.key, example.question, query, example.source))
    return usable
