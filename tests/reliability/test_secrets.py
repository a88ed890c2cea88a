"""Secrets never show up in logs, answers or error messages: API keys from CHATBI_API_KEYS,
Slack tokens, and the OpenAI key (see also test_llm_faults.py, which checks the key on every
LLM failure path)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chatbi.channels.api import create_app
from chatbi.channels.cli import app as cli_app
from chatbi.channels.roles import parse_role_map
from chatbi.channels.slack import SlackBot, build_app
from chatbi.errors import UserInputError
from chatbi.sql.policy import Role

ADMIN_KEY = "sk-live-SECRET-admin-9f8e7d"
MERCHANT_KEY = "sk-live-SECRET-merchant-1a2b3c"
WRONG_KEY = "sk-live-SECRET-wrong-000000"
BOT_TOKEN = "xoxb-SECRET-bot-token-123456"
APP_TOKEN = "xapp-SECRET-app-token-654321"
SIGNING_SECRET = "SECRET-signing-secret-abcdef"
ALL = (ADMIN_KEY, MERCHANT_KEY, WRONG_KEY, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET)


def no_secret(*texts: str) -> None:
    for text in texts:
        found = [s for s in ALL if s in text]
        assert not found, found


def test_api_keys_never_in_logs_or_responses(tiny_settings, tiny_pipeline, all_logs) -> None:
    settings = dataclasses.replace(tiny_settings, api_keys={ADMIN_KEY: "admin", MERCHANT_KEY: "merchant:3"})
    client = TestClient(create_app(settings, pipeline=tiny_pipeline), raise_server_exceptions=False)
    responses = [
        client.post("/ask", json={"question": "各大区的GMV"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}),
        client.post("/ask", json={"question": "各商户的GMV"}, headers={"Authorization": f"Bearer {MERCHANT_KEY}"}),
        client.post("/ask", json={"question": "列出所有用户的手机号"},
                    headers={"Authorization": f"Bearer {MERCHANT_KEY}"}),
        client.post("/ask", json={"question": "各大区的GMV"}, headers={"Authorization": f"Bearer {WRONG_KEY}"}),
        client.post("/ask", json={"question": "x" * 3000}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}),
        client.get("/catalog", headers={"Authorization": f"Bearer {WRONG_KEY}"}),
        client.get("/health"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 422, 401, 200]
    no_secret(*(r.text for r in responses), *(json.dumps(dict(r.headers)) for r in responses), all_logs.text)


def test_a_bad_key_configuration_does_not_echo_the_key() -> None:
    with pytest.raises(UserInputError) as bad_role:
        parse_role_map({ADMIN_KEY: "superuser"})
    with pytest.raises(UserInputError) as no_role:
        parse_role_map(f"{ADMIN_KEY}=admin,{MERCHANT_KEY}")
    for error in (bad_role.value, no_role.value):
        assert error.code == "invalid_config" and "entry" in error.message
        no_secret(error.message)
    with pytest.raises(UserInputError) as slack_roles:  # Slack user ids are not secret: named
        parse_role_map("U123=superuser", what="CHATBI_SLACK_ROLES", secret_keys=False)
    assert "U123" in slack_roles.value.message


def test_serve_refuses_a_bad_key_configuration_without_echoing_it(tiny_db) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--db", str(tiny_db)],
                                env={"CHATBI_API_KEYS": f"{ADMIN_KEY}=superuser"})
    assert result.exit_code == 2 and "CHATBI_API_KEYS" in result.stderr and "Traceback" not in result.output
    no_secret(result.output)


def test_slack_tokens_never_in_logs(tiny_pipeline, fake_slack, all_logs) -> None:
    from slack_sdk import WebClient

    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    fake_slack.clear()
    bot = SlackBot(tiny_pipeline, roles={"UADMIN": Role("admin")})  # with the real PNG upload
    bot.on_mention({"channel": "CS", "ts": "5.1", "user": "UADMIN", "text": "<@UBOT> 各大区的GMV"}, client)
    bot.on_command({"channel_id": "CS", "user_id": "UADMIN", "text": "列出所有用户的手机号"}, client,
                   lambda **kw: None)
    assert "files.completeUploadExternal" in fake_slack.methods()  # every Slack call was made
    no_secret(all_logs.text, json.dumps([c["params"] for c in fake_slack.calls], ensure_ascii=False))
    settings = dataclasses.replace(_settings(), slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET)
    app = build_app(settings, bot, client=client)
    no_secret(repr(app), all_logs.text)


def _settings():
    from chatbi.config import Settings

    return Settings()


def test_slack_configuration_errors_do_not_echo_tokens(tiny_db) -> None:
    result = CliRunner().invoke(cli_app, ["slack", "--db", str(tiny_db)], env={"SLACK_BOT_TOKEN": BOT_TOKEN,
                                                                               "SLACK_APP_TOKEN": "",
                                                                               "SLACK_SIGNING_SECRET": ""})
    assert result.exit_code == 2 and "SLACK_SIGNING_SECRET" in result.stderr
    no_secret(result.output)
