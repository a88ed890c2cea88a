"""Sign-in, roles from accounts, and history in the Streamlit app (AppTest, real pipeline).

Each test has its own application database: the tiny warehouse is linked into a temporary
folder, and the app database lives beside the link.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from chatbi.channels.accounts import AccountStore
from chatbi.channels.history import HistoryStore

from .conftest import REPO_ROOT

APP = str(REPO_ROOT / "streamlit_app.py")
PASSWORD = "Tea-and-7-cakes"
QUESTION = "各品类的GMV"


@pytest.fixture
def warehouse(tmp_path, tiny_db, monkeypatch):
    link = tmp_path / "w.duckdb"
    link.symlink_to(tiny_db)
    monkeypatch.setenv("CHATBI_DB", str(link))
    monkeypatch.delenv("CHATBI_SSO_DEFAULT_ROLE", raising=False)
    return link


@pytest.fixture
def accounts(warehouse) -> AccountStore:
    store = AccountStore(warehouse.parent / "w.app.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    for name, role in [("ann", "admin"), ("mia", "marketer"), ("moe", "merchant:3")]:
        store.add(name, role, PASSWORD)
    return store


def start(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def sign_in(at: AppTest, user: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_user").set_value(user)
    at.text_input(key="signin_password").set_value(password)
    next(b for b in at.button if b.label.startswith("登录")).click().run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> dict:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return [m for m in at.session_state["messages"] if m["role"] == "assistant"][-1]


def signed_in(at: AppTest) -> bool:
    return len(at.chat_input) == 1


def test_sign_in_is_required_and_the_role_comes_from_the_account(accounts):
    at = start()
    assert not signed_in(at) and at.text_input(key="signin_password")
    sign_in(at, "mia", PASSWORD + "x")
    assert not signed_in(at)
    assert any("wrong user name or password" in e.value for e in at.error)
    sign_in(at, "mia")
    assert signed_in(at)
    assert "role **marketer**" in " ".join(c.value for c in at.sidebar.caption)
    assert not at.sidebar.selectbox  # no role picker: the account decides
    labels = [b.label for b in at.sidebar.button]
    assert not any("重建画像" in label for label in labels)
    assert not any("admin" in e.label for e in at.sidebar.expander)
    assert ask(at, QUESTION)["asked_as"] == "marketer"


def test_admin_gets_admin_controls_and_may_view_as_a_narrower_role(accounts):
    at = sign_in(start(), "ann")
    assert any("重建画像" in b.label for b in at.sidebar.button)
    assert any("admin" in e.label for e in at.sidebar.expander)
    at.sidebar.selectbox(key="role_choice").set_value("marketer").run()
    assert not any("重建画像" in b.label for b in at.sidebar.button)  # the marketer's view
    assert ask(at, QUESTION)["asked_as"] == "marketer"


def test_lockout_after_repeated_wrong_passwords(accounts):
    at = start()
    for _ in range(5):
        sign_in(at, "ann", "not-the-password")
    sign_in(at, "ann")
    assert not signed_in(at)
    assert any("too many failed sign-ins" in e.value for e in at.error)


def test_sso_identity_maps_to_its_account(accounts, monkeypatch):
    accounts.add("sso.user@corp.example", "merchant:3", sso=True)
    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
            "client_id": "chatbi", "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known"}
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = auth
    at.run()
    assert any("SSO" in b.label for b in at.button)  # the SSO button beside the password form
    at.user = {"is_logged_in": True, "email": "SSO.User@corp.example", "sub": "42"}
    at.run()
    assert signed_in(at)
    assert ask(at, QUESTION)["asked_as"] == "merchant:3"
    stranger = AppTest.from_file(APP, default_timeout=120)
    stranger.secrets["auth"] = auth
    stranger.user = {"is_logged_in": True, "email": "eve@elsewhere.example"}
    stranger.run()
    assert not signed_in(stranger)
    assert any("has no ChatBI account" in e.value for e in stranger.error)
    unverified = AppTest.from_file(APP, default_timeout=120)
    unverified.secrets["auth"] = auth
    unverified.user = {"is_logged_in": True, "email": "sso.user@corp.example", "email_verified": False, "sub": "7"}
    unverified.run()
    assert not signed_in(unverified)  # an unverified e-mail does not count
    monkeypatch.setenv("CHATBI_SSO_DEFAULT_ROLE", "marketer")
    stranger.run()
    assert signed_in(stranger)
    assert ask(stranger, QUESTION)["asked_as"] == "marketer"


def test_local_mode_only_without_accounts_and_on_loopback(warehouse):
    at = start()
    assert signed_in(at)
    assert "local mode" in " ".join(c.value for c in at.sidebar.caption)
    assert at.session_state["history_user"] == "(local)"  # a name no account can take
    asked = ask(at, QUESTION)
    reloaded = start(c=at.query_params["c"])  # `make run` reloaded: the conversation is back
    [back] = [m for m in reloaded.session_state["messages"] if m["role"] == "assistant"]
    assert back["id"] == asked["id"] and back["answer"]["rows"] == asked["answer"]["rows"]
    streamlit_config.set_option("server.address", "0.0.0.0")
    try:
        public = start()
        assert not signed_in(public) and any("no accounts yet" in i.value for i in public.info)
    finally:
        streamlit_config.set_option("server.address", "127.0.0.1")


def test_history_survives_a_new_session_and_can_be_deleted(accounts):
    at = sign_in(start(), "mia")
    first = ask(at, QUESTION)
    ask(at, "按月看")
    history = HistoryStore(accounts.path)
    [conversation] = history.conversations("mia")
    assert conversation.turns == 2 and at.query_params["c"] == conversation.id
    # a reload: a new session with the conversation in the URL (signed in again here; the
    # browser test shows the cookie keeps a real browser signed in)
    again = sign_in(start(c=conversation.id), "mia")
    messages = [m for m in again.session_state["messages"] if m["role"] == "assistant"]
    assert [m["question"] for m in messages] == [QUESTION, "按月看"]
    assert messages[0]["answer"]["rows"] == first["answer"]["rows"]
    assert len(again.dataframe) == 2
    # follow-ups continue the reopened conversation
    follow = ask(again, "只看女性")
    assert follow["answer"]["error"] is None, follow["answer"]["error"]
    assert history.conversations("mia")[0].turns == 3
    # other users do not see it, even with its id
    moe = sign_in(start(c=conversation.id), "moe")
    assert moe.session_state["messages"] == []
    assert not any(b.key and b.key.startswith("history_open_") for b in moe.sidebar.button)
    # delete from the sidebar
    again.sidebar.button(key=f"history_delete_{conversation.id}").click().run()
    assert history.conversations("mia") == [] and again.session_state["messages"] == []


def test_a_shared_answer_is_asked_again_with_the_viewers_role(accounts):
    ann = sign_in(start(), "ann")
    owner = ask(ann, QUESTION)
    ann.button(key=f"share_{owner['id']}").click().run()
    [link] = [c.value for c in ann.code if "?share=" in c.value]
    token = link.split("?share=", 1)[1]
    moe = sign_in(start(share=token), "moe")
    assert not any("重建画像" in b.label for b in moe.sidebar.button)  # no admin controls
    assert not moe.sidebar.selectbox and "role **merchant:3**" in " ".join(c.value for c in moe.sidebar.caption)
    [viewer] = [m for m in moe.session_state["messages"] if m["role"] == "assistant"]
    assert viewer["question"] == QUESTION and viewer["asked_as"] == "merchant:3"
    assert "merchant_id" in viewer["answer"]["sql"]
    assert viewer["answer"]["rows"] != owner["answer"]["rows"]  # the merchant's own rows only
    assert "share" not in moe.query_params
    assert any("made again with your role" in t.value for t in moe.toast)
    bad = sign_in(start(share="not-a-token"), "moe")
    assert not [m for m in bad.session_state["messages"] if m["role"] == "assistant"]
    assert any("unknown or was deleted" in t.value for t in bad.toast)


def test_pins_rerun_on_the_latest_data(accounts):
    at = sign_in(start(), "mia")
    [day] = at.sidebar.date_input
    latest = day.value
    day.set_value(latest.replace(year=latest.year - 1)).run()  # look at last year's data
    message = ask(at, "今年各品类的GMV")
    assert str(latest.year - 1) in message["answer"]["time_range"]
    at.button(key=f"pin_{message['id']}").click().run()
    [pin] = HistoryStore(accounts.path).pins("mia")
    fresh = sign_in(start(), "mia")
    fresh.sidebar.button(key=f"pin_run_{pin.id}").click().run()
    assert not fresh.exception
    [rerun] = [m for m in fresh.session_state["messages"] if m["role"] == "assistant"]
    assert rerun["question"] == "今年各品类的GMV"
    assert str(latest.year) in rerun["answer"]["time_range"]  # asked again on the latest data
    assert rerun["answer"]["rows"] != message["answer"]["rows"]


def test_an_answer_saved_under_another_role_is_asked_again_not_shown(accounts):
    at = sign_in(start(), "ann")
    at.sidebar.selectbox(key="role_choice").set_value("merchant").run()
    at.sidebar.number_input(key="merchant_id").set_value(3).run()
    merchant_view = ask(at, QUESTION)
    assert merchant_view["asked_as"] == "merchant:3"
    cid = at.session_state["conversation_id"]
    at.sidebar.selectbox(key="role_choice").set_value("admin").run()
    at.sidebar.button(key=f"history_open_{cid}").click().run()
    [stored] = [m for m in at.session_state["messages"] if m["role"] == "assistant"]
    assert stored["stale_role"] == "merchant:3" and stored["answer"] == {}
    assert not at.dataframe and any("merchant:3" in i.value for i in at.info)
    at.button(key=f"reask_{stored['id']}").click().run()
    again = [m for m in at.session_state["messages"] if m["role"] == "assistant"][-1]
    assert again["asked_as"] == "admin" and again["answer"]["rows"] != merchant_view["answer"]["rows"]
