"""Fixtures for channel tests: free ports and a local fake Slack Web API server.

The warehouse fixtures (``tiny_db``, ``tiny_settings``, ``tiny_pipeline``) come from
tests/conftest.py.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeSlack:
    """A tiny Slack Web API on 127.0.0.1 that records every call (method, params, raw body)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.uploads: list[bytes] = []
        self._ts = 1000
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlparse(self.path).path
                if path.startswith("/upload/"):
                    with fake._lock:
                        fake.uploads.append(body)
                    self._send(200, b"OK", "text/plain")
                    return
                method = path.rsplit("/", 1)[-1]
                params = fake._params(self.headers.get("Content-Type", ""), body)
                with fake._lock:
                    fake.calls.append({"method": method, "params": params})
                self._send(200, json.dumps(fake._reply(method, params)).encode(), "application/json")

            def _send(self, status: int, payload: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _params(ctype: str, body: bytes) -> dict[str, Any]:
        if "json" in ctype:
            return json.loads(body or b"{}")
        out: dict[str, Any] = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        for key in ("blocks", "files"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
        return out

    def _reply(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._ts += 1
            ts = f"{self._ts}.000100"
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "chatbi"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"text": params.get("text")}}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "file_id": f"F{ts}", "upload_url": f"http://127.0.0.1:{self.port}/upload/F{ts}"}
        if method == "files.completeUploadExternal":
            files = params.get("files") or []
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}
        return {"ok": True}

    def methods(self) -> list[str]:
        with self._lock:
            return [c["method"] for c in self.calls]

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c["params"] for c in self.calls if c["method"] == method]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.uploads.clear()


@pytest.fixture
def fake_slack():
    fake = FakeSlack()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def slack_client(fake_slack):
    from slack_sdk import WebClient

    return WebClient(token="xoxb-test", base_url=fake_slack.base_url)
