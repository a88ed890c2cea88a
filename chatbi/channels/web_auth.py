"""Sign-in for the Streamlit app: local accounts, OpenID Connect single sign-on, local mode.

The role of a session always comes from its account (chatbi.channels.accounts), re-read on
every run, so a removed account or a changed role takes effect at the next click:

- **SSO**, when ``.streamlit/secrets.toml`` has an ``[auth]`` section: Streamlit's ``st.login``
  runs the OpenID Connect flow and keeps its own identity cookie; the identity (e-mail, else
  subject) must be an SSO account (``chatbi users add EMAIL --sso --role …``) unless
  ``CHATBI_SSO_DEFAULT_ROLE`` gives unlisted identities a role.
- **Local accounts**: a user name and password form; a successful sign-in starts a
  server-side session whose random token is kept in the ``chatbi_session`` cookie
  (``SameSite=Strict``, ``CHATBI_WEB_SESSION_HOURS``, default 12), so a reload stays signed in.
- **Local mode**: with no account at all and no SSO, an app bound to a loopback address
  (``make run``) serves clients on the same machine as ``admin``, like the HTTP API without
  keys; anything else shows the sign-in form (which then cannot succeed until an account exists).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Literal

import streamlit as st
from streamlit.errors import StreamlitAuthError

from chatbi.channels.accounts import Account, AccountError, AccountStore

COOKIE = "chatbi_session"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOCAL_USER = "(local)"  # the history owner in local mode: no account can have this name
Method = Literal["password", "sso", "local"]


@dataclass(frozen=True)
class SignedIn:
    """Who this browser session is: the account, how it signed in, its session token."""

    account: Account
    method: Method
    token: str | None = None


def session_hours() -> float:
    """Lifetime of a password sign-in (``CHATBI_WEB_SESSION_HOURS``, default 12)."""
    try:
        return max(0.1, float(os.environ.get("CHATBI_WEB_SESSION_HOURS") or 12))
    except ValueError:
        return 12.0


def sso_configured() -> bool:
    """Whether an ``[auth]`` section for ``st.login`` exists in the app's secrets."""
    try:
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except Exception:  # a broken secrets file means no SSO, not a crash
        return False


def sso_identity() -> str | None:
    """The e-mail (else subject) of the SSO user of this session, if signed in there; an e-mail
    the provider marks ``email_verified: false`` is ignored."""
    if not sso_configured():
        return None
    try:
        if not st.user.is_logged_in:
            return None
        email = st.user.get("email") if st.user.get("email_verified") is not False else None
        value = email or st.user.get("sub")  # an e-mail the provider marks unverified is not used
    except Exception:
        return None
    return str(value).strip().lower() if value else None


def local_mode(store: AccountStore) -> bool:
    """No accounts, no SSO, bound to loopback and the client on this machine."""
    if sso_configured() or store.count():
        return False
    address = str(st.get_option("server.address") or "")
    client = st.context.ip_address  # None on loopback; AppTest's mocked client has no str address
    return address in LOOPBACK and not isinstance(client, str)


def current(store: AccountStore) -> SignedIn | None:
    """The signed-in account of this session (re-read from the store), or None."""
    state = st.session_state
    known: SignedIn | None = state.get("signed_in")
    if known is not None and known.method == "password":
        fresh = store.session_account(known.token)
        if fresh is None:  # signed out elsewhere, expired or removed
            state.pop("signed_in", None)
            state["cookie_action"] = "clear"
            return None
        known = SignedIn(fresh, "password", known.token)
    else:
        known = None
    if known is None:
        identity = sso_identity()
        if identity:
            account = store.sso_account(identity, os.environ.get("CHATBI_SSO_DEFAULT_ROLE"))
            if account is None:
                state["sso_refused"] = identity
                return None
            known = SignedIn(account, "sso")
    if known is None:
        token = _cookie()
        account = store.session_account(token) if token else None
        if account is not None:
            known = SignedIn(account, "password", token)
    if known is None and local_mode(store):
        known = SignedIn(Account(LOCAL_USER, "admin", "password", ""), "local")
    if known is not None:
        state["signed_in"] = known
    return known


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:
        return None
    return value if isinstance(value, str) and value else None


def sign_in_page(store: AccountStore) -> None:
    """The sign-in form (and the SSO button when configured)."""
    st.title("ChatBI")
    refused = st.session_state.get("sso_refused")
    if refused:
        st.error(f"{refused} 没有 ChatBI 账户 / has no ChatBI account. 请管理员运行 / ask an admin to run "
                 f"`chatbi users add {refused} --sso --role ROLE`.")
        st.button("退出单点登录 / sign out of SSO", on_click=sign_out, args=(store,), key="sso_logout")
        return
    st.subheader("登录 / Sign in")
    remember_shared_link()
    if sso_configured():
        provider = os.environ.get("CHATBI_SSO_PROVIDER") or None
        if st.button("使用单点登录 / Sign in with SSO", key="sso_login", type="primary"):
            try:
                st.login(provider)
            except StreamlitAuthError as exc:  # a broken [auth] section: say so, keep the password form
                st.error(f"单点登录配置有误 / single sign-on is misconfigured: {exc}")
        st.caption("或使用本地账户 / or use a local account")
    with st.form("signin", clear_on_submit=False):
        username = st.text_input("用户名 / user name", key="signin_user")
        password = st.text_input("密码 / password", type="password", key="signin_password")
        submitted = st.form_submit_button("登录 / Sign in")
    if submitted:
        try:
            account = store.authenticate(username, password)
        except AccountError as exc:
            st.error(exc.message)
            return
        if account is None:
            st.error("用户名或密码不对 / wrong user name or password")
            return
        token = store.start_session(account.username, session_hours())
        st.session_state["signed_in"] = SignedIn(account, "password", token)
        st.session_state["cookie_action"] = "set"
        st.session_state.pop("signin_password", None)
        st.rerun()
    if not store.count() and not sso_configured():
        st.info("还没有账户 / no accounts yet: `chatbi users add NAME --role admin` "
                "(or run the app on 127.0.0.1 for local mode)")


SHARE_COOKIE = "chatbi_share"


def remember_shared_link() -> None:
    """Keep a ``?share=`` token in a short-lived cookie while the user signs in: the SSO
    round trip returns to the app without the query string."""
    token = st.query_params.get("share")
    if token:
        value = json.dumps(str(token))
        st.html(f"<script>document.cookie = '{SHARE_COOKIE}=' + encodeURIComponent({value})"
                " + '; Path=/; Max-Age=900; SameSite=Lax';</script>", unsafe_allow_javascript=True)


def take_remembered_link() -> str | None:
    """The share token kept by ``remember_shared_link`` (once per session; the cookie is cleared)."""
    state = st.session_state
    if state.get("share_cookie_read"):
        return None
    state["share_cookie_read"] = True
    try:
        value = st.context.cookies.get(SHARE_COOKIE)
    except Exception:
        return None
    if not isinstance(value, str) or not value:
        return None
    st.html(f"<script>document.cookie = '{SHARE_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax';</script>",
            unsafe_allow_javascript=True)
    from urllib.parse import unquote

    return unquote(value)


def sign_out(store: AccountStore) -> None:
    """Button callback: end this session's sign-in (and the SSO one)."""
    state = st.session_state
    known: SignedIn | None = state.get("signed_in")
    if known is not None and known.token:
        store.end_session(known.token)
    was_sso = (known is not None and known.method == "sso") or bool(state.get("sso_refused"))
    for key in list(state.keys()):
        if key != "share_cookie_read":  # a remembered link is used once per browser session
            del state[key]
    state["cookie_action"] = "clear"
    state["signed_out"] = True
    if was_sso:
        st.logout()


def cookie_script() -> None:
    """Set or clear the session cookie in the browser when a sign-in or sign-out asked for it."""
    action = st.session_state.pop("cookie_action", None)
    if action is None:
        return
    known: SignedIn | None = st.session_state.get("signed_in")
    if action == "set" and known is not None and known.token:
        value = json.dumps(known.token)
        age = int(session_hours() * 3600)
        js = (f"document.cookie = '{COOKIE}=' + {value} + '; Path=/; Max-Age={age}; SameSite=Strict'"
              " + (location.protocol === 'https:' ? '; Secure' : '');")
    else:
        js = f"document.cookie = '{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict';"
    st.html(f"<script>{js}</script>", unsafe_allow_javascript=True)


def account_caption(known: SignedIn) -> str:
    """One sidebar line: who is signed in, as which role."""
    if known.method == "local":
        return "本机模式 / local mode · **admin**"
    via = "SSO" if known.method == "sso" else "password"
    name = known.account.username.replace("`", "")
    return f"已登录 / signed in: `{name}` · {via} · role **{known.account.role}**"

