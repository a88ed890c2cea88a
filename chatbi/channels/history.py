"""Per-user conversation history, shared answers and pinned questions (application database).

Stored in SQLite at ``Settings.app_db_path`` (beside the warehouse, never in it)::

    conversations(id TEXT PRIMARY KEY, username TEXT, title TEXT, created_at TEXT, updated_at TEXT)
    turns(id TEXT PRIMARY KEY, conversation_id TEXT, seq INTEGER, question TEXT,
          answer_json TEXT, role TEXT, as_of TEXT NULL, created_at TEXT)
    shares(token TEXT PRIMARY KEY, owner TEXT, turn_id TEXT, questions_json TEXT,
           as_of TEXT NULL, created_at TEXT)
    pins(id INTEGER PRIMARY KEY, username TEXT, question TEXT, questions_json TEXT, created_at TEXT)

Every read and delete is scoped to a user name: one user never lists, opens or deletes another
user's conversation. A share holds the *questions* that lead to an answer, never the answer's
rows: whoever opens the link asks them again with their own role, so a link from an admin
shows a marketer no PII and a merchant only its own rows. A pin is the same chain of
questions, asked again on the latest data.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from chatbi.channels.app_db import AppDatabase
from chatbi.errors import ChatBIError, UserInputError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL COLLATE NOCASE,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (username, updated_at);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    role TEXT NOT NULL,
    as_of TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation_id, seq);
CREATE TABLE IF NOT EXISTS shares (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL COLLATE NOCASE,
    turn_id TEXT NOT NULL,
    questions_json TEXT NOT NULL,
    as_of TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL COLLATE NOCASE,
    question TEXT NOT NULL,
    questions_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (username, questions_json)
);
"""

CHAIN_TURNS = 5  # a shared or pinned answer carries up to this many questions (for follow-ups)
TITLE_CHARS = 60


class HistoryError(ChatBIError):
    """The application database cannot be opened or written."""

    code = "history_store_error"


@dataclass(frozen=True)
class ConversationInfo:
    """One conversation in a user's list."""

    id: str
    title: str
    created_at: str
    updated_at: str
    turns: int


@dataclass(frozen=True)
class StoredTurn:
    """One question and the answer the user saw, with the role it was asked as."""

    id: str
    seq: int
    question: str
    answer: dict[str, Any]
    role: str
    as_of: str | None
    created_at: str


@dataclass(frozen=True)
class Chain:
    """Questions to ask again, in order (the last one is the answer shown)."""

    questions: list[str]
    as_of: str | None = None

    @property
    def question(self) -> str:
        return self.questions[-1]


@dataclass(frozen=True)
class Pin:
    """A pinned question of one user."""

    id: int
    question: str
    chain: Chain
    created_at: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class HistoryStore(AppDatabase):
    """Thread-safe history store in the application database."""

    schema = _SCHEMA
    error = HistoryError
    kind_zh, kind_en = "历史", "history"
    foreign_keys = True

    @classmethod
    def from_settings(cls, settings: Any) -> HistoryStore:
        return cls(settings.app_db_path)


    # ---- conversations ----------------------------------------------------------------
    def start(self, username: str, first_question: str) -> str:
        """A new conversation for ``username``, titled by its first question; returns its id."""
        cid = uuid.uuid4().hex
        now = _now()
        title = " ".join(first_question.split())[:TITLE_CHARS] or "…"
        with self._connect() as conn:
            conn.execute("INSERT INTO conversations (id, username, title, created_at, updated_at)"
                         " VALUES (?, ?, ?, ?, ?)", (cid, username, title, now, now))
        return cid

    def add_turn(self, username: str, conversation_id: str, turn_id: str, question: str,
                 answer: dict[str, Any], role: str, as_of: str | None = None) -> None:
        """Append one answered question to the user's conversation."""
        payload = json.dumps(answer, ensure_ascii=False, default=str)
        now = _now()
        with self._connect() as conn:
            self._own(conn, username, conversation_id)
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id = ?",
                               (conversation_id,)).fetchone()[0]
            conn.execute("INSERT INTO turns (id, conversation_id, seq, question, answer_json, role, as_of, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (turn_id, conversation_id, seq, question, payload, role, as_of, now))
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    def conversations(self, username: str, limit: int = 50) -> list[ConversationInfo]:
        """The user's conversations, most recently used first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS n"
                " FROM conversations c WHERE c.username = ? ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ?",
                (username, int(limit))).fetchall()
        return [ConversationInfo(r["id"], r["title"], r["created_at"], r["updated_at"], r["n"]) for r in rows]

    def turns(self, username: str, conversation_id: str) -> list[StoredTurn]:
        """The turns of one of the user's conversations (another user's id: not found)."""
        with self._connect() as conn:
            self._own(conn, username, conversation_id)
            rows = conn.execute("SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq",
                                (conversation_id,)).fetchall()
        return [_turn(r) for r in rows]

    def delete(self, username: str, conversation_id: str) -> None:
        """Delete one of the user's conversations with its turns and the links shared from it."""
        with self._connect() as conn:
            self._own(conn, username, conversation_id)
            conn.execute("DELETE FROM shares WHERE turn_id IN (SELECT id FROM turns WHERE conversation_id = ?)",
                         (conversation_id,))
            conn.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def forget_user(self, username: str) -> int:
        """Delete everything of one user (conversations, turns, links, pins); returns the
        number of conversations deleted. Used when an account is removed, so a later account
        with the same name starts empty."""
        with self._connect() as conn:
            conn.execute("DELETE FROM shares WHERE owner = ?", (username,))
            conn.execute("DELETE FROM pins WHERE username = ?", (username,))
            conn.execute("DELETE FROM turns WHERE conversation_id IN"
                         " (SELECT id FROM conversations WHERE username = ?)", (username,))
            return int(conn.execute("DELETE FROM conversations WHERE username = ?", (username,)).rowcount)

    def exists(self, username: str, conversation_id: str) -> bool:
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM conversations WHERE id = ? AND username = ?",
                                (conversation_id, username)).fetchone() is not None

    @staticmethod
    def _own(conn: sqlite3.Connection, username: str, conversation_id: str) -> None:
        row = conn.execute("SELECT 1 FROM conversations WHERE id = ? AND username = ?",
                           (conversation_id, username)).fetchone()
        if row is None:
            raise UserInputError("找不到这段对话 / no such conversation", code="conversation_not_found")

    def chain(self, username: str, turn_id: str) -> Chain:
        """The questions leading to one of the user's answers (up to ``CHAIN_TURNS``)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT t.conversation_id, t.seq, t.as_of FROM turns t JOIN conversations c ON c.id = t.conversation_id"
                " WHERE t.id = ? AND c.username = ?", (turn_id, username)).fetchone()
            if row is None:
                raise UserInputError("找不到这个回答 / no such answer in your history", code="turn_not_found")
            questions = [r["question"] for r in conn.execute(
                "SELECT question FROM turns WHERE conversation_id = ? AND seq <= ? ORDER BY seq DESC LIMIT ?",
                (row["conversation_id"], row["seq"], CHAIN_TURNS)).fetchall()]
        return Chain(list(reversed(questions)), row["as_of"])

    # ---- shares -----------------------------------------------------------------------
    def share(self, username: str, turn_id: str) -> str:
        """A link token for one of the user's answers (the same answer twice: the same token)."""
        chain = self.chain(username, turn_id)
        with self._connect() as conn:
            row = conn.execute("SELECT token FROM shares WHERE turn_id = ? AND owner = ?",
                               (turn_id, username)).fetchone()
            if row is not None:
                return str(row["token"])
            token = secrets.token_urlsafe(16)
            conn.execute("INSERT INTO shares (token, owner, turn_id, questions_json, as_of, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         (token, username, turn_id, json.dumps(chain.questions, ensure_ascii=False),
                          chain.as_of, _now()))
        return token

    def shared(self, token: str) -> Chain:
        """The questions behind a share link; an unknown or deleted link is invalid input."""
        with self._connect() as conn:
            row = conn.execute("SELECT questions_json, as_of FROM shares WHERE token = ?",
                               ((token or "").strip(),)).fetchone()
        if row is None:
            raise UserInputError("这个分享链接无效或已删除 / this shared link is unknown or was deleted",
                                 code="share_not_found")
        return Chain(list(json.loads(row["questions_json"])), row["as_of"])

    # ---- pins -------------------------------------------------------------------------
    def pin(self, username: str, turn_id: str) -> int:
        """Pin one of the user's answers (its questions); pinning it again returns the same pin."""
        chain = self.chain(username, turn_id)
        payload = json.dumps(chain.questions, ensure_ascii=False)
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO pins (username, question, questions_json, created_at)"
                         " VALUES (?, ?, ?, ?)", (username, chain.question, payload, _now()))
            row = conn.execute("SELECT id FROM pins WHERE username = ? AND questions_json = ?",
                               (username, payload)).fetchone()
        return int(row["id"])

    def pins(self, username: str) -> list[Pin]:
        """The user's pinned questions, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM pins WHERE username = ? ORDER BY id", (username,)).fetchall()
        return [Pin(r["id"], r["question"], Chain(list(json.loads(r["questions_json"]))), r["created_at"])
                for r in rows]

    def unpin(self, username: str, pin_id: int) -> None:
        """Remove one of the user's pins (another user's pin: not found)."""
        with self._connect() as conn:
            deleted = conn.execute("DELETE FROM pins WHERE id = ? AND username = ?",
                                   (int(pin_id), username)).rowcount
        if not deleted:
            raise UserInputError("找不到这个置顶问题 / no such pinned question", code="pin_not_found")


def _turn(row: sqlite3.Row) -> StoredTurn:
    try:
        answer = json.loads(row["answer_json"])
    except json.JSONDecodeError:
        answer = {}
    return StoredTurn(row["id"], row["seq"], row["question"], answer if isinstance(answer, dict) else {},
                      row["role"], row["as_of"], row["created_at"])
