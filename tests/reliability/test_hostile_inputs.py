"""Hostile and odd questions (hostile_inputs.yaml) through every channel's entry point.

Each case is refused, clarified or answered safely, fast, with the reason, and nothing
forbidden (phone numbers, user names, other merchants' numbers, tracebacks) appears in the
answer, the channel's message or the logs: ``Pipeline.ask``, ``chatbi ask --json``
(CliRunner), ``POST /ask`` (TestClient, role from the API key), the Slack handler (fake Slack
Web API) and, for a subset, the Streamlit app (AppTest).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from chatbi.channels.api import create_app
from chatbi.channels.cli import app as cli_app
from chatbi.channels.slack import SlackBot
from chatbi.sql.policy import Role
from tests.reliability.hostile import OUTCOMES, Case, answer_problems, blob_of, leaks, load_cases

from .conftest import REPO_ROOT

CASES = load_cases()
STREAMLIT_CASES = [c for c in CASES if c.streamlit]
MAX_SECONDS = 10.0  # per question, on a shared 2-core machine (typically well under 1 s)
ROLES = sorted({c.role for c in CASES})
API_KEYS = {f"key-{i}": role for i, role in enumerate(ROLES)}
KEY_OF = {role: key for key, role in API_KEYS.items()}
SLACK_USERS = {f"U{i}": role for i, role in enumerate(ROLES)}
USER_OF = {role: user for user, role in SLACK_USERS.items()}


def params(cases: list[Case]) -> list[Any]:
    """One pytest param per case; a case with a reported bug is a strict xfail."""
    out = []
    for case in cases:
        marks = [pytest.mark.xfail(reason=case.known_issue, strict=True)] if case.known_issue else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def test_fixture_is_large_varied_and_well_formed() -> None:
    ids = [c.id for c in CASES]
    assert len(CASES) >= 60 and len(ids) == len(set(ids))
    assert {o for c in CASES for o in c.expect} == set(OUTCOMES)
    assert all(set(c.expect) <= set(OUTCOMES) for c in CASES)
    assert any(len(c.question) >= 100_000 for c in CASES)
    assert sum(c.role.startswith("merchant:") for c in CASES) >= 10
    assert sum("$pii" in c.forbidden for c in CASES) >= 15
    assert len(STREAMLIT_CASES) >= 6
    for case in CASES:
        Role.parse(case.role)
        for token in case.forbidden:
            assert not token.startswith("$") or re.fullmatch(r"\$(pii|total_gmv|merchant:\d+)", token), token


# ---------------------------------------------------------------------------- Pipeline.ask

@pytest.mark.parametrize("case", params(CASES))
def test_pipeline(case: Case, tiny_pipeline, secrets, all_logs) -> None:
    started = time.perf_counter()
    answer = tiny_pipeline.ask(case.question, role=case.role).to_dict()
    elapsed = time.perf_counter() - started
    problems = answer_problems(case, answer, secrets, all_logs.text)
    assert elapsed < MAX_SECONDS, f"took {elapsed:.1f}s"
    assert not problems, problems


# ---------------------------------------------------------------------------- CLI

@pytest.mark.parametrize("case", params(CASES))
def test_cli_ask_json(case: Case, tiny_db, secrets, cli_on_session_pipeline, all_logs) -> None:
    result = CliRunner().invoke(cli_app, ["ask", case.question, "--json", "--db", str(tiny_db),
                                          "--role", case.role])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout[-500:]  # exactly one JSON object on stdout
    answer = json.loads(lines[0])
    problems = answer_problems(case, answer, secrets, result.stderr, all_logs.text)
    expected_exit = 0 if answer["error"] is None else 2
    assert result.exit_code == expected_exit, (result.exit_code, result.stderr[-300:])
    assert not problems, problems


# ---------------------------------------------------------------------------- HTTP API

@pytest.fixture(scope="module")
def api(tiny_settings, tiny_pipeline) -> TestClient:
    settings = dataclasses.replace(tiny_settings, api_keys=dict(API_KEYS))
    return TestClient(create_app(settings, pipeline=tiny_pipeline), raise_server_exceptions=False)


@pytest.mark.parametrize("case", params(CASES))
def test_api_ask(case: Case, api: TestClient, secrets, all_logs) -> None:
    response = api.post("/ask", json={"question": case.question},
                        headers={"Authorization": f"Bearer {KEY_OF[case.role]}"})
    body = response.json()
    if response.status_code == 200:
        problems = answer_problems(case, body, secrets, all_logs.text)
    else:  # the request was rejected before the pipeline (empty, over 2,000 characters): 4xx JSON
        problems = [] if response.status_code in (400, 422) else [f"status {response.status_code}"]
        if not ({"refuse", "clarify"} & set(case.expect)):
            problems.append(f"rejected with {response.status_code}, expected {case.expect}")
        if not body.get("error", {}).get("message"):
            problems.append("no error message")
        problems += [f"forbidden {f}" for f in leaks(case, blob_of(body, all_logs.text), secrets)]
    assert "Traceback" not in response.text
    assert not problems, problems


# ---------------------------------------------------------------------------- Slack

@pytest.fixture(scope="module")
def slack_bot(tiny_pipeline) -> SlackBot:
    roles = {user: Role.parse(role) for user, role in SLACK_USERS.items()}
    return SlackBot(tiny_pipeline, roles=roles, render_png=None)


@pytest.mark.parametrize("case", params(CASES))
def test_slack_mention(case: Case, slack_bot: SlackBot, fake_slack, slack_client, secrets, all_logs) -> None:
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "channel": "CREL", "ts": ts, "user": USER_OF[case.role],
             "text": f"<@UBOT> {case.question}"}
    slack_bot.on_mention(event, slack_client)
    posted = [p for p in fake_slack.of("chat.postMessage") if p.get("thread_ts") == ts]
    assert len(posted) == 1, fake_slack.methods()
    reply = posted[0]
    text = blob_of(reply.get("text", ""), reply.get("blocks") or [])
    warned = reply.get("text", "").startswith(":warning:")
    problems = []
    if case.question.strip() == "":
        assert "/chatbi" in reply["text"]  # an empty mention gets the usage text
    elif warned and not ({"refuse", "clarify"} & set(case.expect)):
        problems.append(f"refused/clarified ({reply['text'][:120]}), expected {case.expect}")
    elif not warned and "answer-safe" not in case.expect:
        problems.append(f"answered ({reply['text'][:120]}), expected {case.expect}")
    if warned and case.reason and not re.search(case.reason, reply["text"], re.IGNORECASE):
        problems.append(f"reason {reply['text'][:200]!r} does not match {case.reason!r}")
    problems += [f"forbidden {f}" for f in leaks(case, blob_of(text, all_logs.text), secrets)]
    assert not problems, problems


# ---------------------------------------------------------------------------- Streamlit

APP = str(REPO_ROOT / "streamlit_app.py")
MAX_CHAT_INPUT = 2000  # st.chat_input(max_chars=2000), as in a browser


def streamlit_text(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("markdown", "caption", "warning", "error", "info", "code", "text", "json"):
        parts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    parts += [e.value.to_csv() for e in at.dataframe]
    parts += [str(getattr(c.proto, "spec", "")) for c in at.get("vega_lite_chart")]
    return "\n".join(parts)


@pytest.mark.parametrize("case", params(STREAMLIT_CASES))
def test_streamlit(case: Case, tiny_db, secrets, monkeypatch, all_logs) -> None:
    monkeypatch.setenv("CHATBI_DB", str(tiny_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    role = Role.parse(case.role)
    at.sidebar.selectbox(key="role_choice").set_value(role.name).run()
    if role.is_merchant:
        at.sidebar.number_input(key="merchant_id").set_value(role.merchant_id).run()
    at.chat_input[0].set_value(case.question).run()
    assert not at.exception, at.exception
    text = streamlit_text(at)
    problems = []
    warned = bool(at.warning)
    expect = set(case.expect)
    if len(case.question) > MAX_CHAT_INPUT:  # the input box keeps the first 2,000 characters
        asked = [m for m in at.chat_message if m.name == "user"][0].text[0].value
        assert len(asked) <= MAX_CHAT_INPUT
        expect.add("answer-safe")
    if warned and not ({"refuse", "clarify"} & expect):
        problems.append(f"warned: {at.warning[0].value[:120]}")
    if not warned and "answer-safe" not in expect:
        problems.append("answered, expected a refusal or clarification")
    if warned and case.reason and not re.search(case.reason, at.warning[0].value, re.IGNORECASE):
        problems.append(f"reason {at.warning[0].value[:200]!r} does not match {case.reason!r}")
    problems += [f"forbidden {f}" for f in leaks(case, blob_of(text, all_logs.text), secrets)]
    assert not problems, problems
