"""Slack bot: @mentions, direct messages and the ``/chatbi`` slash command.

Replies go in the thread of the question: the finding, a compact table (Block Kit), and the
chart as an uploaded PNG (``files_upload_v2``). A thread is a conversation: the
``Conversation`` is keyed by (channel, thread root ts), so follow-ups in the thread work.
In a direct message, top-level messages share one conversation per DM channel.

Roles: ``CHATBI_SLACK_ROLES="U123=admin,U456=merchant:7"``. Users not listed get
``CHATBI_SLACK_DEFAULT_ROLE`` (default ``marketer``: aggregate data, never PII); set it to
``none`` to refuse unknown users instead.

The handlers (``SlackBot.on_mention``, ``on_message``, ``on_command``) are plain functions of
an event dict and a ``slack_sdk.WebClient``; ``build_app`` wires them into slack-bolt.
Socket Mode when ``SLACK_APP_TOKEN`` is set, else HTTP events on ``CHATBI_SLACK_PORT``
(default 3000) verified with ``SLACK_SIGNING_SECRET``.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from chatbi.answer.labels import copy_heading
from chatbi.channels.render import format_cell
from chatbi.channels.replay import SeenIds, delivery_id
from chatbi.channels.roles import parse_role_map
from chatbi.channels.sessions import SessionStore
from chatbi.config import Settings
from chatbi.errors import ChatBIError, UserInputError
from chatbi.sql.policy import Role

log = logging.getLogger("chatbi.slack")

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join",
                     "channel_leave", "thread_broadcast", "file_share"}
MARKETER = Role("marketer")  # least privileged role that can ask: aggregates, no PII
TABLE_ROWS = 10
TABLE_COLUMNS = 6
SECTION_LIMIT = 2900  # Slack's section text limit is 3000 characters

HELP_TEXT = (
    "用中文或英文问我数据问题，例如：`/chatbi 上个季度各大区的GMV`，或在频道里 @我。"
    "在同一个帖子里追问（“那华南呢？”）会接着上一个问题。\n"
    "Ask data questions in Chinese or English; follow-ups in the same thread refine the last question."
)


def mrkdwn_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats specially."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clean_text(text: str) -> str:
    """Drop user mentions such as ``<@U123>`` and surrounding space."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - cell_len(text))
    return gap + text if right else text + gap


def compact_table(columns: list[str], rows: list[list[Any]], *, max_rows: int = TABLE_ROWS,
                  max_columns: int = TABLE_COLUMNS) -> str:
    """A monospace table (for a code block) of the first rows and columns, CJK-width aware."""
    cols = columns[:max_columns]
    cells = [[format_cell(v, c)[:24] for v, c in zip(row[:max_columns], cols, strict=False)]
             for row in rows[:max_rows]]
    numeric = [any(isinstance(r[i], int | float) and not isinstance(r[i], bool)
                   for r in rows[:max_rows] if i < len(r)) for i in range(len(cols))]
    widths = [max([cell_len(c)] + [cell_len(r[i]) for r in cells if i < len(r)]) for i, c in enumerate(cols)]
    lines = ["  ".join(_pad(c, widths[i], numeric[i]) for i, c in enumerate(cols))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(_pad(v, widths[i], numeric[i]) for i, v in enumerate(r)))
    extra = []
    if len(rows) > max_rows:
        extra.append(f"… 共 {len(rows)} 行 / {len(rows)} rows")
    if len(columns) > max_columns:
        extra.append(f"… 共 {len(columns)} 列 / {len(columns)} columns")
    text = "\n".join(lines + extra)
    return text[:SECTION_LIMIT - 10]


def compact_labelled(table: Mapping[str, Any], *, max_rows: int = TABLE_ROWS,
                     max_columns: int = TABLE_COLUMNS) -> str:
    """A monospace table of an answer's labelled table (``Answer.table``), CJK-width aware."""
    headers = [str(h) for h in table.get("headers") or []]
    rows = [[str(v) for v in r] for r in table.get("rows") or []]
    kinds = list(table.get("kinds") or [])
    cols = headers[:max_columns]
    cells = [[v[:24] for v in row[:max_columns]] for row in rows[:max_rows]]
    numeric = [i < len(kinds) and kinds[i] not in ("text", "date", "period", "id", "boolean")
               for i in range(len(cols))]
    widths = [max([cell_len(c)] + [cell_len(r[i]) for r in cells if i < len(r)]) for i, c in enumerate(cols)]
    lines = ["  ".join(_pad(c, widths[i], numeric[i]) for i, c in enumerate(cols))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(_pad(v, widths[i], numeric[i]) for i, v in enumerate(r)))
    if len(rows) > max_rows:
        lines.append(f"… 共 {len(rows)} 行 / {len(rows)} rows")
    if len(headers) > max_columns:
        lines.append(f"… 共 {len(headers)} 列 / {len(headers)} columns")
    return "\n".join(lines)[:SECTION_LIMIT - 10]


def answer_blocks(data: Mapping[str, Any], role: Role | str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks for an answer dict (``Answer.to_dict()``)."""
    blocks: list[dict[str, Any]] = []
    error = data.get("error")
    if error:
        text = f":warning: {error.get('message') or error.get('code')}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_escape(text)[:SECTION_LIMIT]}})
    else:
        text = data.get("finding") or "（没有结论 / no finding）"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_escape(text)[:SECTION_LIMIT]}})
    for item in data.get("copy") or []:
        head = f"*{copy_heading(item, str(data.get('language') or 'zh'))}*"
        body = (item.get("title") + "\n" if item.get("title") else "") + str(item.get("text", ""))
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": (head + "\n" + mrkdwn_escape(body))[:SECTION_LIMIT]}})
    if not error and data.get("columns") and data.get("rows"):
        table = (compact_labelled(data["table"]) if data.get("table")
                 else compact_table(list(data["columns"]), list(data["rows"])))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{mrkdwn_escape(table)}```"}})
    context = []
    interpretation = (data.get("interpretation") or {}).get("text")
    if interpretation and not error:
        context.append(mrkdwn_escape(interpretation))
    if data.get("time_range"):
        context.append(f"时间 / time: {data['time_range']}")
    if role is not None:
        context.append(f"角色 / role: {role}")
    if data.get("planner"):
        context.append(f"planner: {data['planner']}")
    if data.get("truncated"):
        context.append("结果已截断 / truncated")
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn_escape(" · ".join(context))}]})
    if data.get("followups"):
        follow = "接着问 / follow-ups: " + " | ".join(data["followups"][:4])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn_escape(follow)}]})
    return text, blocks


def default_png(spec: dict[str, Any]) -> bytes:
    """Render a Vega-Lite spec to PNG bytes with ``chatbi.answer.charts.chart_png``."""
    from chatbi.answer.charts import chart_png

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chart.png"
        chart_png(spec, path)
        return path.read_bytes()


class SlackBot:
    """Answers Slack events through the pipeline; one Conversation per thread."""

    def __init__(
        self,
        pipeline: Any,
        *,
        roles: Mapping[str, Role] | None = None,
        default_role: Role | None = MARKETER,
        max_sessions: int = 500,
        render_png: Callable[[dict[str, Any]], bytes] | None = default_png,
    ):
        self.pipeline = pipeline
        self.roles = dict(roles or {})
        self.default_role = default_role
        self.render_png = render_png
        self.sessions: SessionStore[Any] = SessionStore(pipeline.new_conversation, max_sessions)
        self.seen = SeenIds()

    def first_delivery(self, body: Mapping[str, Any]) -> bool:
        """False for a replayed or re-sent delivery (same event_id / trigger_id): answer once."""
        key = delivery_id(body)
        if self.seen.first_time(key):
            return True
        log.info("slack: ignored a repeated delivery %s", key)
        return False

    @classmethod
    def from_env(cls, pipeline: Any, env: Mapping[str, str] | None = None) -> SlackBot:
        """Roles from ``CHATBI_SLACK_ROLES`` and ``CHATBI_SLACK_DEFAULT_ROLE``."""
        env = os.environ if env is None else env
        roles = parse_role_map(env.get("CHATBI_SLACK_ROLES", ""), what="CHATBI_SLACK_ROLES", secret_keys=False)
        raw_default = (env.get("CHATBI_SLACK_DEFAULT_ROLE") or "marketer").strip().lower()
        default = None if raw_default in ("none", "refuse", "") else Role.parse(raw_default)
        return cls(pipeline, roles=roles, default_role=default)

    def role_for(self, user_id: str | None) -> Role | None:
        """The configured role of a Slack user, else the default (None = refuse)."""
        return self.roles.get(user_id or "", self.default_role)

    # ---- event handlers --------------------------------------------------------------
    def on_mention(self, event: Mapping[str, Any], client: Any) -> None:
        """``app_mention``: answer in the thread of the mention."""
        if event.get("bot_id"):
            return
        channel = event["channel"]
        root = event.get("thread_ts") or event["ts"]
        self.answer(client, channel=channel, user=event.get("user"), text=clean_text(event.get("text", "")),
                    thread_ts=root, key=(channel, root))

    def on_message(self, event: Mapping[str, Any], client: Any) -> None:
        """``message``: only direct messages (channel messages arrive as mentions)."""
        if event.get("channel_type") != "im" or event.get("bot_id"):
            return
        if event.get("subtype") in _IGNORED_SUBTYPES:
            return
        channel = event["channel"]
        root = event.get("thread_ts")
        self.answer(client, channel=channel, user=event.get("user"), text=clean_text(event.get("text", "")),
                    thread_ts=root, key=(channel, root or "dm"))

    def on_command(self, command: Mapping[str, Any], client: Any,
                   respond: Callable[..., Any] | None = None) -> None:
        """``/chatbi QUESTION``: post the question, answer in its thread (call after ack())."""
        text = clean_text(command.get("text", ""))
        channel = command["channel_id"]
        user = command.get("user_id")
        if not text or text.lower() in ("help", "帮助"):
            if respond is not None:
                respond(text=HELP_TEXT, response_type="ephemeral")
            return
        try:
            posted = client.chat_postMessage(channel=channel, text=f"<@{user}> 问 / asks: " + mrkdwn_escape(text))
        except Exception as exc:  # e.g. not_in_channel: tell the user privately
            log.warning("slack: cannot post in %s: %s", channel, exc)
            if respond is not None:
                respond(text="请先把我加入这个频道 / please invite me to this channel first.",
                        response_type="ephemeral")
            return
        root = posted["ts"]
        self.answer(client, channel=channel, user=user, text=text, thread_ts=root, key=(channel, root))

    # ---- answering ---------------------------------------------------------------------
    def answer(self, client: Any, *, channel: str, user: str | None, text: str,
               thread_ts: str | None, key: tuple[str, str]) -> dict[str, Any] | None:
        """Ask the pipeline and post the reply; returns the answer dict (None if not asked)."""
        if not text:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=HELP_TEXT)
            return None
        role = self.role_for(user)
        if role is None:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts,
                text=":no_entry: 你还没有 ChatBI 权限，请联系管理员 / you have no ChatBI role yet; ask an admin "
                     "to add you to CHATBI_SLACK_ROLES.")
            return None
        session = self.sessions.get(key)
        try:
            with session.lock:
                answer = self.pipeline.ask(text, conversation=session.state, role=role)
            data = answer.to_dict()
        except ChatBIError as exc:
            data = {"question": text, "error": exc.to_dict()}
        except Exception:
            log.exception("slack: unexpected error")
            data = {"question": text, "error": {"code": "internal_error",
                                                "message": "内部错误，请稍后再试 / internal error, please try again later"}}
        fallback, blocks = answer_blocks(data, role)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback[:SECTION_LIMIT], blocks=blocks)
        if data.get("chart") and not data.get("error") and self.render_png is not None:
            self._upload_chart(client, data, channel=channel, thread_ts=thread_ts)
        return data

    def _upload_chart(self, client: Any, data: Mapping[str, Any], *, channel: str, thread_ts: str | None) -> None:
        try:
            png = self.render_png(dict(data["chart"])) if self.render_png else None
            if not png:
                return
            client.files_upload_v2(channel=channel, thread_ts=thread_ts, file=png, filename="chart.png",
                                   title=(data.get("question") or "chart")[:200])
        except Exception as exc:  # a chart that cannot be drawn or uploaded never loses the answer
            log.warning("slack: chart upload failed: %s", exc)


def build_app(settings: Settings, bot: SlackBot, *, client: Any = None,
              request_verification: bool = True) -> Any:
    """A slack-bolt App with the bot's handlers; makes no Slack call at construction."""
    from slack_bolt import App

    app = App(
        token=None if client is not None else settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "unused-in-socket-mode",
        token_verification_enabled=False,
        request_verification_enabled=request_verification,
        client=client,
    )

    @app.event("app_mention")
    def _mention(event: dict[str, Any], client: Any, body: dict[str, Any]) -> None:
        if bot.first_delivery(body):
            bot.on_mention(event, client)

    @app.event("message")
    def _message(event: dict[str, Any], client: Any, body: dict[str, Any]) -> None:
        if bot.first_delivery(body):
            bot.on_message(event, client)

    @app.command("/chatbi")
    def _command(ack: Callable[..., Any], command: dict[str, Any], client: Any,
                 respond: Callable[..., Any]) -> None:
        ack()
        if bot.first_delivery(command):
            bot.on_command(command, client, respond)

    return app


def run(settings: Settings) -> None:
    """Start the bot: Socket Mode with SLACK_APP_TOKEN, else HTTP events."""
    if not settings.slack_bot_token:
        raise UserInputError("请设置 SLACK_BOT_TOKEN / set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN for Socket Mode)",
                             code="slack_not_configured")
    if not settings.slack_app_token and not settings.slack_signing_secret:
        raise UserInputError("HTTP 模式需要 SLACK_SIGNING_SECRET / HTTP events need SLACK_SIGNING_SECRET "
                             "(or set SLACK_APP_TOKEN for Socket Mode)", code="slack_not_configured")
    from slack_sdk.errors import SlackApiError

    from chatbi.channels.cli import load_pipeline

    bot = SlackBot.from_env(load_pipeline(settings, server=True))
    app = build_app(settings, bot)
    try:
        app.client.auth_test()
    except SlackApiError as exc:
        raise UserInputError(f"Slack 令牌无效 / Slack rejected SLACK_BOT_TOKEN: {exc.response.get('error')}",
                             code="slack_auth_failed") from exc
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(app, settings.slack_app_token).start()
    else:
        app.start(port=int(os.environ.get("CHATBI_SLACK_PORT", "3000")))
