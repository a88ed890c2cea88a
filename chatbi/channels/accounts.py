"""Web-app accounts: who may sign in to the Streamlit chat, and with which role.

Accounts live in the application database (SQLite at ``Settings.app_db_path``, beside the
warehouse, the same file as feedback and history), never in the warehouse. Two kinds:

- ``password``: a local account with an argon2id password hash (argon2-cffi), signed in on
  the app's own form;
- ``sso``: an identity (the e-mail, else the subject) that a configured OpenID Connect
  provider vouches for through Streamlit's ``st.login``; it has no password here.

The role always comes from the account, never from the browser. Managed with
``chatbi users add/list/remove``. Signed-in browser sessions are kept server-side as hashed
random tokens (``web_sessions``) so that a reload does not sign the user out.

Tables::

    users(username TEXT PRIMARY KEY COLLATE NOCASE, role TEXT, kind TEXT  -- 'password' | 'sso'
          , password_hash TEXT NULL, created_at TEXT)
    web_sessions(token_hash TEXT PRIMARY KEY, username TEXT, created_at TEXT, expires_at TEXT)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chatbi.channels.app_db import AppDatabase
from chatbi.errors import ChatBIError, UserInputError
from chatbi.sql.policy import Role

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY COLLATE NOCASE,
    role TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('password', 'sso')),
    password_hash TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL COLLATE NOCASE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

MIN_PASSWORD_CHARS = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
# A few passwords that pass the length rule but are guessed first.
_COMMON = {"password123", "1234567890", "0123456789", "qwertyuiop", "password1234",
           "iloveyou123", "administrator", "abcdefghij", "1qaz2wsx3edc", "qwerty12345"}

Kind = Literal["password", "sso"]

MAX_FAILURES = 5  # wrong passwords for one name within FAILURE_WINDOW_S before it is locked
FAILURE_WINDOW_S = 300.0


class AccountError(UserInputError):
    """A request about accounts that cannot be done (exit 2)."""

    code = "account_error"


class AccountStoreError(ChatBIError):
    """The application database cannot be opened or written (exit 1)."""

    code = "account_store_error"


@dataclass(frozen=True)
class Account:
    """One account: its name, role (``Role`` text) and kind."""

    username: str
    role: str
    kind: Kind
    created_at: str

    @property
    def role_obj(self) -> Role:
        return Role.parse(self.role)

    @property
    def is_admin(self) -> bool:
        return self.role_obj.name == "admin"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def validate_username(username: str) -> str:
    """The trimmed name; letters, digits and ``._@+-`` (e-mails allowed), up to 128 chars."""
    name = (username or "").strip()
    if not USERNAME_RE.match(name):
        raise AccountError(
            f"用户名无效 / invalid user name {name!r}: use letters, digits and . _ @ + - "
            "(up to 128 characters, starting with a letter or digit)",
            code="invalid_username",
        )
    return name


def validate_role(role: str) -> str:
    """The role's canonical text; an unknown role is an AccountError."""
    try:
        if not (role or "").strip():
            raise UserInputError("empty role")
        return str(Role.parse(role.strip()))
    except UserInputError as exc:
        raise AccountError(
            f"角色无效 / unknown role {role!r}: use admin, analyst, marketer or merchant:<id>",
            code="invalid_role",
        ) from exc


def validate_password(password: str | None, username: str) -> str:
    """Refuse empty and weak passwords (short, common, few distinct characters, the name)."""
    if not password:
        raise AccountError("密码为空 / the password is empty", code="weak_password")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            f"密码太短 / the password is too weak: use at least {MIN_PASSWORD_CHARS} characters",
            code="weak_password",
        )
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 5 or username.lower() in lowered:
        raise AccountError(
            "密码太弱 / the password is too weak: it is common, repetitive or contains the user name",
            code="weak_password",
        )
    return password


class AccountStore(AppDatabase):
    """Thread-safe account and web-session store in the application database."""

    schema = _SCHEMA
    error = AccountStoreError
    kind_zh, kind_en = "账户", "account"

    def __init__(self, path: str | Path, *, hasher: PasswordHasher | None = None):
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None
        self._failures: dict[str, list[float]] = {}
        super().__init__(path)

    @classmethod
    def from_settings(cls, settings: Any) -> AccountStore:
        """The store at ``settings.app_db_path``."""
        return cls(settings.app_db_path)


    # ---- accounts ---------------------------------------------------------------------
    def add(self, username: str, role: str, password: str | None = None, *, sso: bool = False) -> Account:
        """Create an account; a duplicate name, unknown role or weak password is an AccountError."""
        name = validate_username(username)
        role_text = validate_role(role)
        if sso:
            if password:
                raise AccountError("单点登录账户没有密码 / an SSO account has no password",
                                   code="invalid_input")
            kind: Kind = "sso"
            digest = None
        else:
            kind = "password"
            digest = self.hasher.hash(validate_password(password, name))
        created = _now().isoformat(timespec="seconds")
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO users (username, role, kind, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, role_text, kind, digest, created),
                )
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"用户已存在 / the user {name!r} already exists", code="duplicate_user") from exc
        return Account(name, role_text, kind, created)

    def get(self, username: str) -> Account | None:
        """The account named ``username`` (case-insensitive), or None."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", ((username or "").strip(),)).fetchone()
        return _account(row) if row else None

    def list(self) -> list[Account]:
        """Every account, by name."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        return [_account(r) for r in rows]

    def remove(self, username: str) -> None:
        """Delete an account and its signed-in sessions; an unknown name is an AccountError."""
        name = (username or "").strip()
        with self._connect() as conn:
            deleted = conn.execute("DELETE FROM users WHERE username = ?", (name,)).rowcount
            conn.execute("DELETE FROM web_sessions WHERE username = ?", (name,))
        if not deleted:
            raise AccountError(f"没有这个用户 / no user named {name!r}", code="unknown_user")

    def set_role(self, username: str, role: str) -> Account:
        """Change an account's role (effective at the user's next click)."""
        role_text = validate_role(role)
        name = (username or "").strip()
        with self._connect() as conn:
            changed = conn.execute("UPDATE users SET role = ? WHERE username = ?", (role_text, name)).rowcount
        account = self.get(name) if changed else None
        if account is None:
            raise AccountError(f"没有这个用户 / no user named {name!r}", code="unknown_user")
        return account

    def set_password(self, username: str, password: str | None) -> None:
        """Replace a password account's password and sign it out everywhere."""
        account = self.get(username)
        if account is None:
            raise AccountError(f"没有这个用户 / no user named {(username or '').strip()!r}", code="unknown_user")
        if account.kind != "password":
            raise AccountError("单点登录账户没有密码 / an SSO account has no password", code="invalid_input")
        digest = self.hasher.hash(validate_password(password, account.username))
        with self._connect() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (digest, account.username))
            conn.execute("DELETE FROM web_sessions WHERE username = ?", (account.username,))

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    # ---- sign-in ----------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Account | None:
        """The password account when the password is right, else None (same work either way).

        After ``MAX_FAILURES`` wrong passwords for a name within ``FAILURE_WINDOW_S`` seconds,
        that name is refused (AccountError ``too_many_attempts``) until the window passes.
        """
        key = (username or "").strip().lower()
        now = time.monotonic()
        recent = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW_S]
        self._failures[key] = recent
        if len(recent) >= MAX_FAILURES:
            raise AccountError("尝试次数太多，请稍后再试 / too many failed sign-ins: wait a few minutes",
                               code="too_many_attempts")
        account = self._check(username, password)
        if account is None:
            self._failures.setdefault(key, []).append(now)
        else:
            self._failures.pop(key, None)
        return account

    def _check(self, username: str, password: str) -> Account | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ? AND kind = 'password'",
                               ((username or "").strip(),)).fetchone()
        digest = row["password_hash"] if row else self._dummy()
        try:
            self.hasher.verify(digest, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(digest):
            with self._connect() as conn:
                conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                             (self.hasher.hash(password), row["username"]))
        return _account(row)

    def _dummy(self) -> str:
        """A hash to verify against for unknown names, so they take as long as known ones."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    def sso_account(self, identity: str | None, default_role: str | None = None) -> Account | None:
        """The SSO account for a provider-vouched identity; unlisted identities get
        ``default_role`` (None or ``none``: refused)."""
        name = (identity or "").strip()
        if not name:
            return None
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ? AND kind = 'sso'", (name,)).fetchone()
        if row is not None:
            return _account(row)
        if default_role and default_role.strip().lower() != "none":
            return Account(name, validate_role(default_role), "sso", "")
        return None

    # ---- browser sessions -------------------------------------------------------------
    def start_session(self, username: str, hours: float = 12.0) -> str:
        """A new random session token for a signed-in user (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self._connect() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now.isoformat(),))
            conn.execute(
                "INSERT INTO web_sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_token_hash(token), username, now.isoformat(), (now + dt.timedelta(hours=hours)).isoformat()),
            )
        return token

    def session_account(self, token: str | None) -> Account | None:
        """The password account of a live session token (expired or removed: None)."""
        if not token or not isinstance(token, str):
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT u.* FROM web_sessions s JOIN users u ON u.username = s.username"
                " WHERE s.token_hash = ? AND s.expires_at > ? AND u.kind = 'password'",
                (_token_hash(token), _now().isoformat()),
            ).fetchone()
        return _account(row) if row else None

    def end_session(self, token: str | None) -> None:
        """Forget a session token (signing out)."""
        if token:
            with self._connect() as conn:
                conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_token_hash(token),))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(row: sqlite3.Row) -> Account:
    return Account(row["username"], row["role"], row["kind"], row["created_at"])
