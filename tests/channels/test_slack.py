"""Slack bot handlers against a local fake Slack Web API (calls recorded and checked)."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from chatbi.channels.slack import SlackBot, build_app
from chatbi.sql.policy import Role

QUESTION = "各大区的GMV"


@pytest.fixture
def bot(tiny_pipeline):
    return SlackBot.from_env(tiny_pipeline, env={"CHATBI_SLACK_ROLES": "UADMIN=admin,UMERCH=merchant:3"})


def _reply(fake_slack, thread_ts):
    replies = [p for p in fake_slack.of("chat.postMessage") if p.get("thread_ts") == thread_ts]
    assert replies, fake_slack.methods()
    return replies[-1]


def test_mention_replies_in_thread_with_table_and_chart(bot, fake_slack, slack_client):
    event = {"type": "app_mention", "channel": "C1", "ts": "100.1", "user": "UADMIN",
             "text": f"<@UBOT> {QUESTION}"}
    bot.on_mention(event, slack_client)
    reply = _reply(fake_slack, "100.1")
    assert reply["channel"] == "C1" and reply["text"]
    blocks = reply["blocks"]
    table = next(b for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("```"))
    assert "大区" in table["text"]["text"] and "华东" in table["text"]["text"]  # labelled header
    assert "region" not in table["text"]["text"]
    assert any("admin" in b["elements"][0]["text"] for b in blocks if b["type"] == "context")
    # the chart went up as a PNG in the same thread (files_upload_v2: 3 steps)
    methods = fake_slack.methods()
    assert methods.index("files.getUploadURLExternal") < methods.index("files.completeUploadExternal")
    assert fake_slack.uploads and fake_slack.uploads[0][:8] == b"\x89PNG\r\n\x1a\n"
    complete = fake_slack.of("files.completeUploadExternal")[0]
    assert complete["channel_id"] == "C1" and complete["thread_ts"] == "100.1"


def test_thread_is_a_conversation(bot, fake_slack, slack_client):
    bot.on_mention({"channel": "C1", "ts": "200.1", "user": "UADMIN", "text": f"<@UBOT> {QUESTION}"}, slack_client)
    first = bot.sessions.get(("C1", "200.1")).state
    data = bot.answer(slack_client, channel="C1", user="UADMIN", text="只看女性", thread_ts="200.1",
                      key=("C1", "200.1"))
    assert bot.sessions.get(("C1", "200.1")).state is first
    sq = data["semantic_query"]
    assert "gmv" in sq["metrics"] and "region" in sq["dimensions"]
    assert any(f["dimension"] == "gender" for f in sq["filters"])
    # a reply in the thread (thread_ts set) continues the same conversation
    bot.on_mention({"channel": "C1", "ts": "200.3", "thread_ts": "200.1", "user": "UADMIN",
                    "text": "<@UBOT> 按月看"}, slack_client)
    assert len([p for p in fake_slack.of("chat.postMessage") if p.get("thread_ts") == "200.1"]) == 3
    assert ("C1", "200.3") not in bot.sessions


def test_roles_by_configuration(bot, tiny_pipeline, fake_slack, slack_client):
    assert bot.role_for("UADMIN") == Role("admin")
    assert bot.role_for("UMERCH") == Role("merchant", 3)
    assert bot.role_for("USTRANGER") == Role("marketer")  # least privilege: no PII
    bot.on_mention({"channel": "C1", "ts": "300.1", "user": "UMERCH", "text": "<@UBOT> 各商户的GMV"}, slack_client)
    reply = _reply(fake_slack, "300.1")
    assert any("merchant:3" in b["elements"][0]["text"] for b in reply["blocks"] if b["type"] == "context")
    strict = SlackBot.from_env(tiny_pipeline, env={"CHATBI_SLACK_DEFAULT_ROLE": "none"})
    assert strict.answer(slack_client, channel="C9", user="USTRANGER", text=QUESTION, thread_ts="1.1",
                         key=("C9", "1.1")) is None
    assert "CHATBI_SLACK_ROLES" in _reply(fake_slack, "1.1")["text"]


def test_slash_command_posts_question_then_answers_in_its_thread(bot, fake_slack, slack_client):
    responded = []
    bot.on_command({"channel_id": "C2", "user_id": "UADMIN", "text": QUESTION}, slack_client,
                   lambda **kw: responded.append(kw))
    posts = fake_slack.of("chat.postMessage")
    assert posts[0]["channel"] == "C2" and "thread_ts" not in posts[0] and QUESTION in posts[0]["text"]
    root = next(c for c in fake_slack.calls if c["method"] == "chat.postMessage")
    assert posts[1]["thread_ts"] and posts[1]["channel"] == "C2"
    assert ("C2", posts[1]["thread_ts"]) in bot.sessions and root
    bot.on_command({"channel_id": "C2", "user_id": "UADMIN", "text": ""}, slack_client,
                   lambda **kw: responded.append(kw))
    assert responded and responded[-1]["response_type"] == "ephemeral"


def test_direct_messages_and_ignored_events(bot, fake_slack, slack_client):
    bot.on_message({"channel": "D1", "channel_type": "im", "ts": "400.1", "user": "UADMIN", "text": QUESTION},
                   slack_client)
    assert fake_slack.of("chat.postMessage")[0]["channel"] == "D1"
    fake_slack.clear()
    bot.on_message({"channel": "C1", "channel_type": "channel", "ts": "1", "user": "U", "text": QUESTION},
                   slack_client)
    bot.on_message({"channel": "D1", "channel_type": "im", "ts": "2", "bot_id": "B", "text": QUESTION},
                   slack_client)
    bot.on_message({"channel": "D1", "channel_type": "im", "ts": "3", "subtype": "message_changed"},
                   slack_client)
    assert fake_slack.calls == []


def test_unanswerable_and_internal_errors_are_messages(bot, fake_slack, slack_client):
    bot.on_mention({"channel": "C1", "ts": "500.1", "user": "UADMIN", "text": "<@UBOT> 今天天气怎么样"}, slack_client)
    assert _reply(fake_slack, "500.1")["text"].startswith(":warning:")
    assert "files.getUploadURLExternal" not in fake_slack.methods()

    class Broken:
        def new_conversation(self):
            return object()

        def ask(self, *a, **k):
            raise RuntimeError("secret detail")

    broken = SlackBot(Broken(), render_png=None)
    broken.on_mention({"channel": "C1", "ts": "600.1", "user": "U", "text": QUESTION}, slack_client)
    text = _reply(fake_slack, "600.1")["text"]
    assert "internal error" in text and "secret" not in text


def test_bolt_app_routes_events_to_the_handlers(bot, tiny_settings, fake_slack, slack_client):
    from slack_bolt.request import BoltRequest

    settings = dataclasses.replace(tiny_settings, slack_bot_token="xoxb-test", slack_signing_secret="s")
    app = build_app(settings, bot, client=slack_client, request_verification=False)
    assert fake_slack.calls == []  # nothing called at construction
    body = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1",
            "event": {"type": "app_mention", "channel": "C7", "ts": "700.1", "user": "UADMIN",
                      "text": f"<@UBOT> {QUESTION}"}}
    response = app.dispatch(BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]}))
    assert response.status == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not [p for p in fake_slack.of("chat.postMessage")
                                               if p.get("thread_ts") == "700.1"]:
        time.sleep(0.1)
    assert _reply(fake_slack, "700.1")["channel"] == "C7"


def test_the_reply_states_how_the_question_was_read(bot, fake_slack, slack_client):
    event = {"type": "app_mention", "channel": "C9", "ts": "900.1", "user": "UADMIN",
             "text": "<@UBOT> 上个月各大区的GMV"}
    bot.on_mention(event, slack_client)
    reply = _reply(fake_slack, "900.1")
    context = " ".join(e["text"] for b in reply["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "我理解为" in context and "上个月" in context and "大区" in context
