"""Web-app accounts: the store (argon2 hashes, sessions, SSO identities) and `chatbi users`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from argon2 import PasswordHasher

from chatbi.channels.accounts import MAX_FAILURES, AccountError, AccountStore

GOOD = "Tea-and-7-cakes"


@pytest.fixture
def store(tmp_path) -> AccountStore:
    return AccountStore(tmp_path / "w.app.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))


def test_passwords_are_stored_as_argon2_hashes(store):
    store.add("alice", "analyst", GOOD)
    with sqlite3.connect(store.path) as conn:
        [(digest,)] = conn.execute("SELECT password_hash FROM users").fetchall()
    assert digest.startswith("$argon2id$") and GOOD not in digest
    assert store.authenticate("alice", GOOD).role == "analyst"
    assert store.authenticate("ALICE", GOOD).username == "alice"  # names are case-insensitive
    assert store.authenticate("alice", GOOD + "x") is None
    assert store.authenticate("nobody", GOOD) is None


@pytest.mark.parametrize("role, password, code", [
    ("boss", GOOD, "invalid_role"),
    ("", GOOD, "invalid_role"),
    ("merchant:x", GOOD, "invalid_role"),
    ("analyst", "", "weak_password"),
    ("analyst", "short1!", "weak_password"),
    ("analyst", "aaaaaaaaaaaaaa", "weak_password"),
    ("analyst", "password123", "weak_password"),
    ("analyst", "bob-is-the-best", "weak_password"),
])
def test_bad_input_is_refused(store, role, password, code):
    with pytest.raises(AccountError) as info:
        store.add("bob", role, password)
    assert info.value.code == code and info.value.exit_code == 2
    assert store.count() == 0


def test_duplicates_and_unknown_users(store):
    store.add("alice", "admin", GOOD)
    with pytest.raises(AccountError, match="already exists"):
        store.add("Alice", "analyst", GOOD)
    with pytest.raises(AccountError, match="no user"):
        store.remove("bob")
    store.remove("alice")
    assert store.list() == []


def test_sessions_survive_until_signed_out_or_removed(store):
    store.add("alice", "merchant:7", GOOD)
    token = store.start_session("alice")
    assert store.session_account(token).role == "merchant:7"
    assert store.session_account(token + "x") is None
    store.end_session(token)
    assert store.session_account(token) is None
    token = store.start_session("alice")
    store.remove("alice")
    assert store.session_account(token) is None
    store.add("bob", "analyst", GOOD)
    expired = store.start_session("bob", hours=-1)
    assert store.session_account(expired) is None


def test_sso_identities_get_their_account_role_or_the_default(store):
    store.add("ann@corp.example", "marketer", sso=True)
    assert store.sso_account("ann@corp.example").role == "marketer"
    assert store.sso_account("eve@corp.example") is None  # unlisted: refused by default
    assert store.sso_account("eve@corp.example", default_role="none") is None
    assert store.sso_account("eve@corp.example", default_role="marketer").role == "marketer"
    assert store.authenticate("ann@corp.example", "") is None  # an SSO account has no password here
    with pytest.raises(AccountError):
        store.add("ann2@corp.example", "admin", GOOD, sso=True)


def test_role_and_password_changes(store):
    store.add("alice", "analyst", GOOD)
    token = store.start_session("alice")
    assert store.set_role("ALICE", "merchant:7").role == "merchant:7"
    assert store.session_account(token).role == "merchant:7"  # takes effect in a live session
    with pytest.raises(AccountError):
        store.set_role("alice", "boss")
    with pytest.raises(AccountError):
        store.set_password("alice", "short")
    store.set_password("alice", "Another-9-password")
    assert store.session_account(token) is None  # signed out everywhere
    assert store.authenticate("alice", GOOD) is None
    assert store.authenticate("alice", "Another-9-password") is not None
    with pytest.raises(AccountError):
        store.set_role("bob", "admin")


def test_repeated_wrong_passwords_lock_the_name(store):
    store.add("alice", "admin", GOOD)
    for _ in range(MAX_FAILURES):
        assert store.authenticate("alice", "wrong-password-1") is None
    with pytest.raises(AccountError) as info:
        store.authenticate("alice", GOOD)
    assert info.value.code == "too_many_attempts"
    assert store.authenticate("bob", "wrong-password-1") is None  # other names are not locked


class Done:
    """The outcome of one `chatbi` command: exit status and what it printed."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def chatbi(db, *args, stdin=""):
    """`chatbi ARGS --db DB` in this process (the command-line app itself, through Click)."""
    from typer.testing import CliRunner

    from chatbi.channels.cli import app

    result = CliRunner().invoke(app, [*args, "--db", str(db)], input=stdin)
    return Done(result.exit_code, result.stdout, result.stderr)


def test_a_real_process_exits_2_on_bad_input(tmp_path):
    done = subprocess.run([sys.executable, "-m", "chatbi.channels.cli", "users", "add", "carol", "--role", "boss",
                           "--password-stdin", "--db", str(tmp_path / "w.duckdb")],
                          input=GOOD, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown role" in done.stderr and "Traceback" not in done.stderr


def test_cli_users_add_list_remove(tmp_path):
    db = tmp_path / "w.duckdb"
    done = chatbi(db, "users", "add", "alice", "--role", "merchant:7", "--password-stdin", stdin=GOOD + "\n")
    assert done.returncode == 0, done.stderr
    assert chatbi(db, "users", "add", "bob@corp.example", "--role", "analyst", "--sso").returncode == 0
    listed = json.loads(chatbi(db, "users", "list", "--json").stdout)
    assert [(u["username"], u["role"], u["kind"]) for u in listed] == [
        ("alice", "merchant:7", "password"), ("bob@corp.example", "analyst", "sso")]
    assert AccountStore(tmp_path / "w.app.sqlite").authenticate("alice", GOOD) is not None
    for args, stdin, words in [
        (("users", "add", "carol", "--role", "boss", "--password-stdin"), GOOD, "unknown role"),
        (("users", "add", "alice", "--role", "admin", "--password-stdin"), GOOD, "already exists"),
        (("users", "add", "carol", "--role", "admin", "--password-stdin"), "\n", "empty"),
        (("users", "add", "carol", "--role", "admin", "--password-stdin"), "abc\n", "too weak"),
        (("users", "add", "carol", "--role", "admin"), "", "--password-stdin"),
        (("users", "remove", "carol"), "", "no user"),
        (("users", "set-role", "carol", "--role", "admin"), "", "no user"),
        (("users", "set-role", "alice", "--role", "boss"), "", "unknown role"),
        (("users", "set-password", "alice", "--password-stdin"), "abc\n", "too weak"),
    ]:
        done = chatbi(db, *args, stdin=stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
    assert chatbi(db, "users", "set-role", "alice", "--role", "analyst").returncode == 0
    done = chatbi(db, "users", "set-password", "alice", "--password-stdin", stdin="Another-9-password\n")
    assert done.returncode == 0, done.stderr
    assert AccountStore(tmp_path / "w.app.sqlite").authenticate("alice", "Another-9-password").role == "analyst"
    from chatbi.channels.history import HistoryStore

    history = HistoryStore(tmp_path / "w.app.sqlite")
    cid = history.start("alice", "q")
    history.add_turn("alice", cid, "t1", "q", {}, "merchant:7")
    history.pin("alice", "t1")
    assert chatbi(db, "users", "remove", "alice").returncode == 0
    assert history.conversations("alice") == [] and history.pins("alice") == []  # a new alice starts empty
    assert [u["username"] for u in json.loads(chatbi(db, "users", "list", "--json").stdout)] == ["bob@corp.example"]
