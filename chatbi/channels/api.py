"""HTTP API (FastAPI): ``POST /ask``, ``GET /health``, ``GET /catalog``; docs at ``/docs``.

Authentication: ``Authorization: Bearer <key>``; keys map to roles through
``CHATBI_API_KEYS`` (``k1=admin,k2=merchant:7``). Without ``CHATBI_API_KEYS`` the API runs
in *local mode*: it only starts bound to a loopback address and only answers clients on
loopback, as ``admin``; every other request gets 401. Binding to another address without
keys is refused at start-up.

Sessions (follow-ups) live per (API key, ``session_id``) in a bounded thread-safe LRU: the
same ``session_id`` sent with another key is a different session.

Status codes: 200 with the answer JSON whenever the pipeline answered, including a
clarifying question or a refusal (the answer's ``error`` is set, as in ``chatbi ask
--json``); 400 for a request the pipeline rejected outright; 401 for a missing or unknown
key; 422 for a malformed body; 503 when the warehouse cannot be opened; 500 (no
traceback) for any other internal error. Error bodies are
``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatbi import __version__
from chatbi.answer.pipeline import check_as_of
from chatbi.channels.roles import parse_role_map
from chatbi.channels.sessions import SessionStore
from chatbi.config import Settings
from chatbi.errors import ChatBIError, UserInputError, WarehouseError
from chatbi.sql.policy import Role

log = logging.getLogger("chatbi.api")

LOCAL_KEY_ID = "local"


class ApiError(Exception):
    """An HTTP error with a stable code and a user-facing message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class AskRequest(BaseModel):
    """Body of ``POST /ask``. The role comes from the API key, never from the body."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, examples=["上个季度各大区的GMV"])
    session_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="send the session_id of a previous answer to ask a follow-up",
    )
    as_of: date | None = Field(default=None, description="answer as of this date (default: latest order)")


@dataclass(frozen=True)
class Caller:
    """Who is asking: a stable id of the API key (never the key itself) and its role."""

    key_id: str
    role: Role


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class PipelineHolder:
    """Opens the pipeline on first use (so the app starts without a warehouse)."""

    def __init__(self, settings: Settings, pipeline: Any = None):
        self.settings = settings
        self._pipeline = pipeline
        self._owned = pipeline is None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close a pipeline this holder opened (one passed in belongs to the caller)."""
        with self._lock:
            pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None and self._owned and hasattr(pipeline, "close"):
            pipeline.close()

    def get(self) -> Any:
        if self._pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    from chatbi.channels.cli import load_pipeline

                    self._pipeline = load_pipeline(self.settings, server=True)
        return self._pipeline


def caller(request: Request) -> Caller:
    """The caller's identity from ``Authorization: Bearer <key>`` (or local mode)."""
    state = request.app.state
    if state.local_mode:
        client = request.client.host if request.client else None
        if is_loopback(client):
            return Caller(LOCAL_KEY_ID, Role("admin"))
        raise ApiError(401, "unauthorized",
                       "本地模式只接受本机请求 / local mode: only requests from this machine are served")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing_api_key", "缺少 API key / send Authorization: Bearer <key>")
    for key, role in state.keys.items():
        if hmac.compare_digest(key.encode(), token.encode()):
            return Caller(state.key_ids[key], role)
    raise ApiError(401, "invalid_api_key", "API key 无效 / unknown API key")


Auth = Annotated[Caller, Depends(caller)]


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status,
                        headers=headers)


def create_app(
    settings: Settings | None = None,
    *,
    pipeline: Any = None,
    bind_host: str = "127.0.0.1",
    max_sessions: int = 1000,
) -> FastAPI:
    """The FastAPI app. ``pipeline`` may be given (tests, shared process); else opened lazily."""
    settings = settings or Settings.from_env()
    keys = parse_role_map(settings.api_keys, what="CHATBI_API_KEYS")
    key_ids = {key: hashlib.sha256(key.encode()).hexdigest()[:16] for key in keys}
    local_mode = not keys
    if local_mode and not is_loopback(bind_host):
        raise UserInputError(
            f"没有设置 CHATBI_API_KEYS 时只能绑定 127.0.0.1 / set CHATBI_API_KEYS to serve on {bind_host}; "
            "without keys the API only serves local requests.",
            code="api_keys_required",
        )
    holder = PipelineHolder(settings, pipeline)
    sessions: SessionStore[Any] = SessionStore(lambda: holder.get().new_conversation(), max_sessions)

    auth_doc = ("Requests send `Authorization: Bearer <key>`; keys map to roles via CHATBI_API_KEYS."
                if not local_mode else
                "Local mode (CHATBI_API_KEYS unset): only loopback clients, as admin.")
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        holder.close()

    app = FastAPI(
        lifespan=lifespan,
        title="ChatBI API",
        version=__version__,
        description="Ask questions about the marketplace in Chinese or English. " + auth_doc,
    )
    app.state.sessions = sessions
    app.state.holder = holder
    app.state.local_mode = local_mode
    app.state.keys = keys
    app.state.key_ids = key_ids


    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(ChatBIError)
    async def _chatbi_error(_: Request, exc: ChatBIError) -> JSONResponse:
        if exc.exit_code == 2:
            return _error(400, exc.code, exc.message)
        if isinstance(exc, WarehouseError):
            return _error(503, exc.code, exc.message)
        log.error("chatbi error %s: %s", exc.code, exc.message)
        return _error(500, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return _error(422, "invalid_request", "请求格式不对 / malformed request body",
                      details=jsonable_encoder(details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal_error", "内部错误 / internal error")

    @app.get("/health", response_model=None)
    def health() -> JSONResponse:
        """Liveness and data freshness; no key needed."""
        try:
            pipe = holder.get()
            body = {"status": "ok", "version": __version__, "planner": pipe.planner_info(),
                    "freshness": pipe.freshness(), "auth": "local" if local_mode else "api_keys"}
        except ChatBIError as exc:
            return JSONResponse({"status": "unavailable", "version": __version__, "error": exc.to_dict()},
                                status_code=503)
        return JSONResponse(jsonable_encoder(body))

    @app.get("/catalog", response_model=None)
    def catalog(who: Auth) -> dict[str, Any]:
        """Metrics and dimensions of the semantic layer, with definitions and synonyms."""
        return jsonable_encoder(holder.get().catalog())

    @app.post("/ask", response_model=None)
    def ask(body: AskRequest, who: Auth) -> dict[str, Any]:
        """Answer a question: the INTERFACES.md answer object plus ``session_id``."""
        try:
            check_as_of(body.as_of)
        except UserInputError as exc:
            raise ApiError(422, exc.code, exc.message) from None
        pipe = holder.get()
        session_id = body.session_id or uuid.uuid4().hex
        session = sessions.get((who.key_id, session_id))
        with session.lock:
            answer = pipe.ask(body.question, conversation=session.state, role=who.role, as_of=body.as_of)
        out = answer.to_dict()
        out["session_id"] = session_id
        return out

    return app
