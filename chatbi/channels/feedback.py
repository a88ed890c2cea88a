"""Feedback on answers (👍/👎) and examples promoted from it, in the application database.

The application database is SQLite at ``Settings.app_db_path``, never the warehouse: the
warehouse is opened read-only and replaced atomically by builds, so nothing a user does in a
channel is written there.

Tables (a contract for the retrieval engineer, who indexes ``examples``)::

    feedback(id INTEGER PRIMARY KEY, created_at TEXT, question TEXT, answer_json TEXT,
             rating INTEGER  -- +1 = 👍, -1 = 👎
             , role TEXT, comment TEXT, example_id INTEGER NULL)
    examples(id INTEGER PRIMARY KEY, created_at TEXT, question TEXT,
             semantic_query TEXT  -- JSON of SemanticQuery.model_dump(mode="json")
             , sql TEXT, source TEXT, feedback_id INTEGER UNIQUE)
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from chatbi.channels.app_db import AppDatabase
from chatbi.errors import ChatBIError, UserInputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    role TEXT NOT NULL,
    comment TEXT,
    example_id INTEGER
);
CREATE TABLE IF NOT EXISTS examples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    semantic_query TEXT NOT NULL,
    sql TEXT,
    source TEXT NOT NULL DEFAULT 'feedback',
    feedback_id INTEGER UNIQUE
);
"""

_RATINGS = {"up": 1, "👍": 1, "+1": 1, "1": 1, "down": -1, "👎": -1, "-1": -1}


class FeedbackError(ChatBIError):
    """The application database cannot be opened or written."""

    code = "feedback_store_error"


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored piece of feedback."""

    id: int
    created_at: str
    question: str
    answer: dict[str, Any]
    rating: int
    role: str
    comment: str | None
    example_id: int | None

    @property
    def promoted(self) -> bool:
        return self.example_id is not None


def parse_rating(rating: int | str) -> int:
    """``up``/``👍``/``1`` → 1, ``down``/``👎``/``-1`` → -1; anything else is invalid input."""
    value = _RATINGS.get(str(rating).strip().lower())
    if value is None:
        raise UserInputError(
            f"评分无效 / invalid rating: {rating!r} (use up/down)", code="invalid_rating"
        )
    return value


class FeedbackStore(AppDatabase):
    """Thread-safe store of feedback and promoted examples (one SQLite file)."""

    schema = _SCHEMA
    error = FeedbackError
    kind_zh, kind_en = "反馈", "feedback"

    @classmethod
    def from_settings(cls, settings: Any) -> FeedbackStore:
        """The store at ``settings.app_db_path``."""
        return cls(settings.app_db_path)


    def record(
        self,
        question: str,
        answer_json: dict[str, Any] | str,
        rating: int | str,
        role: str,
        comment: str | None = None,
    ) -> int:
        """Store one rating of an answer; returns the feedback id."""
        if not question or not question.strip():
            raise UserInputError("问题为空 / empty question", code="invalid_input")
        value = parse_rating(rating)
        payload = answer_json if isinstance(answer_json, str) else json.dumps(
            answer_json, ensure_ascii=False, default=str
        )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, question, answer_json, rating, role, comment)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now, question.strip(), payload, value, str(role), comment),
            )
            return int(cur.lastrowid or 0)

    def get(self, feedback_id: int) -> FeedbackRecord:
        """One record; an unknown id is invalid input."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM feedback WHERE id = ?", (int(feedback_id),)).fetchone()
        if row is None:
            raise UserInputError(
                f"找不到反馈 / no feedback with id {feedback_id}", code="feedback_not_found"
            )
        return _record(row)

    def list(self, rating: int | str | None = None, limit: int = 200) -> builtins.list[FeedbackRecord]:
        """Newest first; ``rating`` ('up'/'down') keeps only that kind."""
        sql = "SELECT * FROM feedback"
        params: tuple[Any, ...] = ()
        if rating is not None:
            sql += " WHERE rating = ?"
            params = (parse_rating(rating),)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._connect() as conn:
            rows = conn.execute(sql, (*params, int(limit))).fetchall()
        return [_record(r) for r in rows]

    def promote(self, feedback_id: int) -> int:
        """Turn a 👍 answer into a retrieval example (question + semantic query); returns its id.

        Promoting the same feedback twice returns the existing example.
        """
        item = self.get(feedback_id)
        if item.rating != 1:
            raise UserInputError(
                "只有 👍 的回答可以设为示例 / only a 👍 answer can become an example",
                code="feedback_not_positive",
            )
        if item.example_id is not None:
            return item.example_id
        semantic_query = item.answer.get("semantic_query")
        if not semantic_query:
            raise UserInputError(
                "这个回答没有语义查询，不能设为示例 / the answer has no semantic query to learn from",
                code="feedback_without_query",
            )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO examples (created_at, question, semantic_query, sql, source, feedback_id)"
                " VALUES (?, ?, ?, ?, 'feedback', ?)",
                (now, item.question, json.dumps(semantic_query, ensure_ascii=False),
                 item.answer.get("sql"), item.id),
            )
            example_id = int(cur.lastrowid or 0)
            conn.execute("UPDATE feedback SET example_id = ? WHERE id = ?", (example_id, item.id))
        return example_id

    def examples(self) -> builtins.list[dict[str, Any]]:
        """Every promoted example: id, question, semantic_query (dict), sql, source, feedback_id."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM examples ORDER BY id").fetchall()
        return [
            {
                "id": r["id"], "question": r["question"],
                "semantic_query": json.loads(r["semantic_query"]), "sql": r["sql"],
                "source": r["source"], "feedback_id": r["feedback_id"],
                "created_at": r["created_at"],
            }
            for r in rows
        ]


def _record(row: sqlite3.Row) -> FeedbackRecord:
    try:
        answer = json.loads(row["answer_json"])
    except json.JSONDecodeError:
        answer = {}
    return FeedbackRecord(
        id=row["id"], created_at=row["created_at"], question=row["question"],
        answer=answer if isinstance(answer, dict) else {}, rating=row["rating"], role=row["role"],
        comment=row["comment"], example_id=row["example_id"],
    )
