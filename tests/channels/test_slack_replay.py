"""A validly signed Slack request replayed within Slack's 5-minute window is answered once
(issue 18). The bolt app runs on its real HTTP server on 127.0.0.1 with signature checks on;
requests are signed as Slack signs them; replies go to the local fake Slack Web API."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from chatbi.channels.replay import SeenIds, delivery_id
from chatbi.channels.slack import SlackBot, build_app

from .conftest import free_port

SECRET = "test-signing-secret"


@pytest.fixture
def slack_server(tiny_pipeline, tiny_settings, fake_slack, slack_client) -> Iterator[str]:
    from slack_bolt.app.app import SlackAppDevelopmentServer

    bot = SlackBot.from_env(tiny_pipeline, env={"CHATBI_SLACK_ROLES": "UADMIN=admin"})
    bot.render_png = None
    settings = dataclasses.replace(tiny_settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET)
    app = build_app(settings, bot, client=slack_client)
    port = free_port()
    server = SlackAppDevelopmentServer(port=port, path="/slack/events", app=app,
                                       http_server_logger_enabled=False)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/slack/events"
    server._server.shutdown()
    thread.join(10)


def _post(url: str, body: str, *, content_type: str, timestamp: int | None = None,
          secret: str = SECRET, extra: dict[str, str] | None = None) -> int:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": signature, **(extra or {})}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _replies(fake_slack, thread_ts: str) -> list[dict]:
    return [p for p in fake_slack.of("chat.postMessage") if p.get("thread_ts") == thread_ts]


def _event(event_id: str, ts: str) -> str:
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                       "event": {"type": "app_mention", "channel": "C9", "ts": ts, "user": "UADMIN",
                                 "text": "<@UBOT> 各大区的GMV"}})


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)


def test_a_replayed_signed_event_is_answered_once(slack_server: str, fake_slack) -> None:
    body = _event("EvReplay1", "901.1")
    signed_at = int(time.time()) - 240  # 4 minutes ago: still inside Slack's 5-minute window
    assert _post(slack_server, body, content_type="application/json", timestamp=signed_at) == 200
    _wait_for(lambda: _replies(fake_slack, "901.1"))
    for extra in ({}, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}):
        assert _post(slack_server, body, content_type="application/json", timestamp=signed_at,
                     extra=extra) == 200
    other = _event("EvReplay2", "902.1")  # a new event is still answered
    assert _post(slack_server, other, content_type="application/json") == 200
    _wait_for(lambda: _replies(fake_slack, "902.1"))
    time.sleep(1.0)
    assert len(_replies(fake_slack, "901.1")) == 1
    assert len(_replies(fake_slack, "902.1")) == 1


def test_bad_or_stale_signatures_are_refused(slack_server: str, fake_slack) -> None:
    body = _event("EvBad1", "903.1")
    assert _post(slack_server, body, content_type="application/json", secret="wrong") == 401
    stale = int(time.time()) - 6 * 60
    assert _post(slack_server, body, content_type="application/json", timestamp=stale) == 401
    time.sleep(0.5)
    assert _replies(fake_slack, "903.1") == []


def test_a_replayed_slash_command_is_answered_once(slack_server: str, fake_slack) -> None:
    form = urllib.parse.urlencode({
        "command": "/chatbi", "text": "各大区的GMV", "channel_id": "C10", "user_id": "UADMIN",
        "team_id": "T1", "trigger_id": "trig-1", "response_url": "http://127.0.0.1:1/unused"})
    for _ in range(3):
        assert _post(slack_server, form, content_type="application/x-www-form-urlencoded") == 200
    _wait_for(lambda: fake_slack.of("chat.postMessage"))
    time.sleep(1.0)
    asked = [p for p in fake_slack.of("chat.postMessage") if p.get("channel") == "C10" and not p.get("thread_ts")]
    assert len(asked) == 1


def test_seen_ids_forget_after_the_window() -> None:
    now = [0.0]
    seen = SeenIds(window_s=600, capacity=3, clock=lambda: now[0])
    assert seen.first_time("a") and not seen.first_time("a")
    now[0] = 599.0
    assert not seen.first_time("a")
    now[0] = 601.0
    assert seen.first_time("a")
    for key in "bcd":  # capacity: the oldest is dropped
        assert seen.first_time(key)
    assert seen.first_time(None) and seen.first_time(None)
    assert delivery_id({"event_id": "E1", "event": {}}) == "event:E1"
    assert delivery_id({"trigger_id": "t"}) == "trigger:t"
    assert delivery_id({"event": {"channel": "C", "ts": "1.2", "type": "message"}}) == "message:C:1.2:message"
