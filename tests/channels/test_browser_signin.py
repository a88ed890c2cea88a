"""End to end in headless Chromium: sign in (password, and SSO against a local OpenID Connect
provider), ask, reload, and find the conversation again."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatbi.channels.accounts import AccountStore
from chatbi.channels.history import HistoryStore

from .conftest import REPO_ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "artifacts"
PASSWORD = "Tea-and-7-cakes"
QUESTION = "各品类的GMV"
TABLE = '[data-testid="stDataFrame"]'
PROMPT = '[data-testid="stChatInputTextArea"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing: apt-get install -y chromium fonts-wqy-microhei"),
]


@contextlib.contextmanager
def streamlit(db: Path, port: int, *extra: str) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on 127.0.0.1:port until the block ends."""
    env = {**os.environ, "CHATBI_DB": str(db), "CHATBI_PLANNER": "offline", "ANONYMIZED_TELEMETRY": "False"}
    env.pop("OPENAI_API_KEY", None)
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"streamlit_signin_{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "streamlit_app.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *extra],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited early; see {log}")
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            else:
                pytest.fail(f"streamlit did not become healthy; see {log}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def warehouse(tmp_path, tiny_db) -> Path:
    link = tmp_path / "w.duckdb"
    link.symlink_to(tiny_db)
    return link


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def ask_and_reload(page, name: str) -> None:
    """Ask one question, reload, and check the conversation is back (answer and history)."""
    before = page.locator(TABLE).count()
    tables = f"n => document.querySelectorAll('{TABLE}').length >= n"
    prompt = page.locator(PROMPT)
    prompt.fill(QUESTION)
    prompt.press("Enter")
    page.wait_for_function(tables, arg=before + 1, timeout=120_000)
    page.wait_for_function("() => location.search.includes('c=')", timeout=30_000)
    page.reload(wait_until="domcontentloaded")
    page.locator(PROMPT).wait_for(timeout=90_000)  # still signed in: no sign-in form
    page.wait_for_function(tables, arg=before + 1, timeout=120_000)  # every answer is back
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name=QUESTION).wait_for(timeout=30_000)  # listed in the history
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert "Traceback" not in page.content()


def sign_in_with_sso(page, issuer: str, identity: str) -> None:
    page.get_by_role("button", name="使用单点登录 / Sign in with SSO").click()
    page.wait_for_url(f"{issuer}/**", timeout=60_000)
    page.locator('input[name="sub"]').fill(identity)
    page.get_by_role("button", name="Authorize").click()


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def test_sign_in_ask_reload_and_find_the_history(warehouse, browser, tmp_path):
    """One app with SSO configured: a password user and an SSO user each sign in, ask, reload
    and find their conversation; an SSO identity without an account is turned away."""
    from oidc_provider_mock import run_server_in_thread

    accounts = AccountStore(warehouse.parent / "w.app.sqlite")
    accounts.add("mia", "marketer", PASSWORD)
    accounts.add("sso.user@corp.example", "merchant:3", sso=True)
    port = free_port()
    with run_server_in_thread() as provider:
        issuer = f"http://127.0.0.1:{provider.server_port}"
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "a-test-cookie-secret-that-is-long-enough"\n'
            'client_id = "chatbi-test"\n'
            'client_secret = "chatbi-test-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
            encoding="utf-8")
        with streamlit(warehouse, port, "--secrets.files", str(secrets)) as url:
            # a local account with a password
            page = browser.new_context(viewport={"width": 1400, "height": 1200}, locale="zh-CN").new_page()
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_label("用户名 / user name").fill("mia")
            page.get_by_label("密码 / password").fill("wrong-password-9")
            page.get_by_role("button", name="登录 / Sign in", exact=True).click()
            page.get_by_text("wrong user name or password").wait_for(timeout=60_000)
            assert page.locator(PROMPT).count() == 0
            page.get_by_label("密码 / password").fill(PASSWORD)
            page.get_by_role("button", name="登录 / Sign in", exact=True).click()
            page.locator(PROMPT).wait_for(timeout=90_000)
            assert "role marketer" in sidebar_text(page)
            ask_and_reload(page, "signin_password_reload")
            assert "role marketer" in sidebar_text(page)
            page.get_by_role("button", name="🔗 分享 / share").click()
            link = page.locator("code", has_text="?share=").first
            link.wait_for(timeout=60_000)
            shared_url = link.inner_text().strip()
            assert shared_url.startswith(url) and "?share=" in shared_url
            # signing out ends the session: a reload shows the sign-in form again
            page.get_by_role("button", name="退出登录 / sign out").click()
            page.get_by_label("密码 / password").wait_for(timeout=60_000)
            page.reload(wait_until="domcontentloaded")
            page.get_by_label("密码 / password").wait_for(timeout=60_000)
            assert page.locator(PROMPT).count() == 0
            # single sign-on through the local OpenID Connect provider (its own browser context),
            # starting from mia's share link: the answer is made again with the merchant's role
            page = browser.new_context(viewport={"width": 1400, "height": 1200}, locale="zh-CN").new_page()
            page.goto(shared_url, wait_until="domcontentloaded")
            sign_in_with_sso(page, issuer, "sso.user@corp.example")
            page.wait_for_url(f"{url}/**", timeout=60_000)
            page.locator(PROMPT).wait_for(timeout=90_000)
            assert "role merchant:3" in sidebar_text(page)
            page.wait_for_selector(TABLE, timeout=120_000)  # the shared question, answered for merchant 3
            ask_and_reload(page, "signin_sso_reload")
            # signing out ends the SSO session at the provider too, then back to the sign-in page
            page.get_by_role("button", name="退出登录 / sign out").click()
            page.wait_for_url(f"{issuer}/**", timeout=60_000)
            page.get_by_role("button", name="End session").click()
            page.wait_for_url(f"{url}/**", timeout=60_000)
            page.get_by_role("button", name="使用单点登录 / Sign in with SSO").wait_for(timeout=60_000)
            assert page.locator(PROMPT).count() == 0
            # an identity without an account is turned away after the provider vouches for it
            other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            other.goto(url, wait_until="domcontentloaded")
            sign_in_with_sso(other, issuer, "eve@elsewhere.example")
            other.get_by_text("has no ChatBI account").wait_for(timeout=90_000)
            assert other.locator(PROMPT).count() == 0
    history = HistoryStore(warehouse.parent / "w.app.sqlite")
    [conversation] = history.conversations("mia")
    assert conversation.title == QUESTION and conversation.turns == 1
    [conversation] = history.conversations("sso.user@corp.example")
    turns = history.turns("sso.user@corp.example", conversation.id)
    assert [t.question for t in turns] == [QUESTION, QUESTION], [(t.question, t.role, t.as_of) for t in turns]  # the shared one, then its own
    assert {t.role for t in turns} == {"merchant:3"}
    mine = history.turns("mia", history.conversations("mia")[0].id)[0]
    assert turns[0].answer["rows"] != mine.answer["rows"]  # not the marketer's numbers
