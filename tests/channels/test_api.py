"""HTTP API: auth by key → role, sessions per (key, session_id), error statuses, a real uvicorn."""

from __future__ import annotations

import dataclasses
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from chatbi.answer.types import ANSWER_KEYS
from chatbi.channels.api import create_app
from chatbi.errors import UserInputError

from .conftest import free_port

QUESTION = "各大区的GMV"
KEYS = {"k-admin": "admin", "k-merchant": "merchant:3", "k-marketer": "marketer"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(tiny_settings, tiny_pipeline):
    settings = dataclasses.replace(tiny_settings, api_keys=dict(KEYS))
    return TestClient(create_app(settings, pipeline=tiny_pipeline), raise_server_exceptions=False)


def test_requests_without_a_valid_key_get_401(client):
    for headers in ({}, bearer("nope"), {"Authorization": "Basic k-admin"}):
        response = client.post("/ask", json={"question": QUESTION}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] in ("missing_api_key", "invalid_api_key")
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/catalog").status_code == 401


def test_ask_returns_the_answer_json_and_a_session_id(client):
    response = client.post("/ask", json={"question": QUESTION}, headers=bearer("k-admin"))
    assert response.status_code == 200
    data = response.json()
    assert set(ANSWER_KEYS) <= set(data) and data["session_id"]
    assert data["intent"] == "query" and "gmv" in data["columns"]


def test_sessions_are_per_key_and_session_id(client):
    app = client.app
    first = client.post("/ask", json={"question": QUESTION, "session_id": "s1"}, headers=bearer("k-admin"))
    assert first.status_code == 200
    follow = client.post("/ask", json={"question": "只看女性", "session_id": "s1"}, headers=bearer("k-admin"))
    assert follow.status_code == 200
    sq = follow.json()["semantic_query"]
    assert sq and "gmv" in sq["metrics"] and "region" in sq["dimensions"]  # follow-up kept the context
    # the same session id under another key is another session: no context to follow
    other = client.post("/ask", json={"question": "只看女性", "session_id": "s1"}, headers=bearer("k-marketer"))
    assert other.status_code == 200
    assert other.json()["semantic_query"] != sq
    assert len(app.state.sessions) == 2


def test_merchant_key_sees_only_its_rows(client):
    response = client.post("/ask", json={"question": "各商户的GMV"}, headers=bearer("k-merchant"))
    assert response.status_code == 200
    data = response.json()
    assert data["error"] is None and data["rows"]
    assert {row[data["columns"].index("merchant_id")] for row in data["rows"]} == {3}
    admin = client.post("/ask", json={"question": "各商户的GMV"}, headers=bearer("k-admin")).json()
    assert len({row[admin["columns"].index("merchant_id")] for row in admin["rows"]}) > 1


def test_as_of_is_honoured(client):
    response = client.post("/ask", json={"question": "上个月的GMV", "as_of": "2026-03-15"}, headers=bearer("k-admin"))
    assert response.status_code == 200
    tr = response.json()["semantic_query"]["time_range"]
    assert tr["start"] == "2026-02-01" and tr["end"] == "2026-02-28"


@pytest.mark.parametrize("body", [
    {}, {"question": ""}, {"question": QUESTION, "role": "admin"}, {"question": QUESTION, "as_of": "soon"},
    {"question": "x" * 2001}, {"question": QUESTION, "session_id": "bad id!"},
])
def test_malformed_bodies_get_422(client, body):
    response = client.post("/ask", json=body, headers=bearer("k-admin"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_unanswerable_question_is_200_with_error(client):
    response = client.post("/ask", json={"question": "今天天气怎么样"}, headers=bearer("k-admin"))
    assert response.status_code == 200
    assert response.json()["error"]["message"]


def test_catalog_and_health_and_docs(client):
    catalog = client.get("/catalog", headers=bearer("k-admin")).json()
    assert "gmv" in {m["name"] for m in catalog["metrics"]} and catalog["dimensions"]
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["freshness"]["latest_order_date"]
    assert client.get("/docs").status_code == 200
    assert "/ask" in client.get("/openapi.json").json()["paths"]


class Broken:
    """A pipeline whose ask fails (to check the 400 and 500 paths)."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def new_conversation(self) -> object:
        return object()

    def ask(self, *args, **kwargs):
        raise self.exc


def test_rejected_requests_are_400(tiny_settings):
    settings = dataclasses.replace(tiny_settings, api_keys={"k": "admin"})
    broken = Broken(UserInputError("问题太长 / too long", code="question_too_long"))
    client = TestClient(create_app(settings, pipeline=broken), raise_server_exceptions=False)
    response = client.post("/ask", json={"question": QUESTION}, headers=bearer("k"))
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "question_too_long", "message": "问题太长 / too long"}}


def test_internal_errors_are_500_without_details(tiny_settings):
    settings = dataclasses.replace(tiny_settings, api_keys={"k": "admin"})
    client = TestClient(create_app(settings, pipeline=Broken(RuntimeError("secret internal detail"))), raise_server_exceptions=False)
    response = client.post("/ask", json={"question": QUESTION}, headers=bearer("k"))
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "内部错误 / internal error"}}
    assert "secret" not in response.text and "Traceback" not in response.text


def test_missing_warehouse_is_503(tmp_path, tiny_settings):
    settings = dataclasses.replace(tiny_settings, db_path=tmp_path / "none.duckdb", api_keys={"k": "admin"})
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    assert client.get("/health").status_code == 503
    response = client.post("/ask", json={"question": QUESTION}, headers=bearer("k"))
    assert response.status_code == 503 and response.json()["error"]["code"] == "warehouse_missing"


def test_local_mode_refuses_public_bind_and_remote_clients(tiny_settings, tiny_pipeline):
    settings = dataclasses.replace(tiny_settings, api_keys={})
    with pytest.raises(UserInputError):
        create_app(settings, pipeline=tiny_pipeline, bind_host="0.0.0.0")
    with pytest.raises(UserInputError):
        create_app(dataclasses.replace(tiny_settings, api_keys={"k": "superuser"}), pipeline=tiny_pipeline)
    app = create_app(settings, pipeline=tiny_pipeline)
    remote = TestClient(app, client=("203.0.113.9", 5000))
    assert remote.post("/ask", json={"question": QUESTION}).status_code == 401
    local = TestClient(app, client=("127.0.0.1", 5000))
    assert local.post("/ask", json={"question": QUESTION}).status_code == 200


@pytest.fixture
def live_server(tiny_settings, tiny_pipeline):
    """The real app under uvicorn on 127.0.0.1 (local mode: no keys), stopped at the end."""
    port = free_port()
    settings = dataclasses.replace(tiny_settings, api_keys={})
    server = uvicorn.Server(uvicorn.Config(create_app(settings, pipeline=tiny_pipeline), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_real_uvicorn_server(live_server):
    with httpx.Client(base_url=live_server, timeout=60) as http:
        assert http.get("/health").json()["status"] == "ok"
        first = http.post("/ask", json={"question": QUESTION})
        assert first.status_code == 200
        data = first.json()
        assert set(ANSWER_KEYS) <= set(data) and data["intent"] == "query"
        follow = http.post("/ask", json={"question": "只看女性", "session_id": data["session_id"]})
        assert follow.status_code == 200 and follow.json()["session_id"] == data["session_id"]
        assert http.post("/ask", json={"nope": 1}).status_code == 422
