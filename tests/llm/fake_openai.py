"""A scripted OpenAI-compatible chat.completions server on 127.0.0.1 (tests only).

The server is real HTTP (``http.server`` in a thread); the only fake is what the "model"
says: each ``POST /v1/chat/completions`` pops the next scripted reply from a queue and
every request body is recorded, so a test can assert what the prompt contained and how
big it was. Replies are built with the helpers below::

    server.script(tool_reply("plan_query", {"metrics": ["gmv"]}), status(500))

When the queue is empty the server answers HTTP 500 ``no scripted reply`` (a test that
makes more calls than it scripted sees a fallback, not a hang).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_COUNTER = iter(range(1, 1_000_000))


@dataclass(frozen=True)
class Reply:
    """One scripted reply: an HTTP status, a body (bytes), and a delay before answering."""

    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    content_type: str = "application/json"


def completion(message: dict[str, Any], *, model: str = "fake-model", finish: str = "stop") -> dict[str, Any]:
    """An OpenAI ``chat.completion`` object around one assistant message."""
    return {
        "id": f"chatcmpl-{next(_COUNTER)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def tool_reply(name: str, arguments: dict[str, Any] | str, *, delay_s: float = 0.0) -> Reply:
    """The model calls tool ``name`` with ``arguments`` (a dict, or raw argument text)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": f"call_{next(_COUNTER)}", "type": "function",
                        "function": {"name": name, "arguments": raw}}],
    }
    return Reply(body=json.dumps(completion(message, finish="tool_calls"), ensure_ascii=False).encode(),
                 delay_s=delay_s)


def text_reply(content: str, *, delay_s: float = 0.0) -> Reply:
    """The model answers with plain content and no tool call."""
    message = {"role": "assistant", "content": content}
    return Reply(body=json.dumps(completion(message), ensure_ascii=False).encode(), delay_s=delay_s)


def status(code: int, message: str = "scripted error", *, delay_s: float = 0.0) -> Reply:
    """An HTTP error with an OpenAI-style error body."""
    body = {"error": {"message": message, "type": "server_error", "code": code}}
    return Reply(status=code, body=json.dumps(body).encode(), delay_s=delay_s)


def raw(body: bytes | str, *, code: int = 200, content_type: str = "application/json") -> Reply:
    """Any bytes (e.g. malformed JSON) with a status."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(status=code, body=data, content_type=content_type)


@dataclass
class Recorded:
    """One request the server received: path, headers, and the parsed JSON body."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]
    size: int  # bytes of the request body

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def prompt_text(self) -> str:
        """Every message's text, joined (what the model reads, without the tool schemas)."""
        parts = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
            for call in message.get("tool_calls") or []:
                parts.append(str(call.get("function", {}).get("arguments", "")))
        return "\n".join(parts)

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools") or []]


@dataclass
class FakeOpenAI:
    """The server: ``start()``, ``script(*replies)``, ``requests``, ``stop()``."""

    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                if self.path.rstrip("/").endswith("/models"):
                    self._send(Reply(body=json.dumps({"object": "list", "data": [
                        {"id": "fake-model", "object": "model", "owned_by": "tests"}]}).encode()))
                else:
                    self._send(status(404, "not found"))

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(data.decode("utf-8") or "{}")
                except (UnicodeDecodeError, json.JSONDecodeError):
                    body = {"_unparsed": data.decode("utf-8", "replace")}
                with fake._lock:
                    fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body, len(data)))
                    reply = fake.replies.popleft() if fake.replies else status(500, "no scripted reply")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    reply = status(404, f"unexpected path {self.path}")
                if reply.delay_s and fake._stopping.wait(reply.delay_s):
                    return  # server stopping: drop the connection
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to do

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def script(self, *replies: Reply) -> FakeOpenAI:
        """Queue the replies the next requests get, in order."""
        with self._lock:
            self.replies.extend(replies)
        return self

    def reset(self) -> None:
        """Forget queued replies and recorded requests (between tests)."""
        with self._lock:
            self.replies.clear()
            self.requests.clear()

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
