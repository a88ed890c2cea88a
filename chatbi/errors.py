"""The exception tree: every error carries a stable code and a user-facing message.

Channels turn a ChatBIError into the answer's ``error`` object (``code`` and ``message``)
and never show a traceback. ``exit_code`` follows INTERFACES.md: 2 for a question that could
not be answered (refused, unclear, invalid), 1 for an internal error.
"""

from __future__ import annotations


class ChatBIError(Exception):
    """Base of every error chatbi raises on purpose."""

    code: str = "internal_error"
    exit_code: int = 1

    def __init__(self, message: str, *, code: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class UserInputError(ChatBIError):
    """The request itself is unusable (empty, too long, malformed)."""

    code = "invalid_input"
    exit_code = 2


class UnclearQuestionError(UserInputError):
    """The question is ambiguous or outside the semantic layer; ask the user to clarify."""

    code = "unclear_question"


class RefusedError(UserInputError):
    """The request is understood but not allowed (data change, PII, another merchant...)."""

    code = "refused"


class GuardError(RefusedError):
    """A SQL statement broke the access policy; ``reason`` names the rule."""

    code = "sql_refused"


class SemanticLayerError(ChatBIError):
    """The semantic layer YAML is broken; ``problems`` lists every issue with file and line."""

    code = "semantic_layer_invalid"

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


class CompileError(ChatBIError):
    """A SemanticQuery cannot be compiled (unknown metric, unreachable dimension...)."""

    code = "compile_error"
    exit_code = 2


class WarehouseError(ChatBIError):
    """The warehouse file is missing, corrupt, locked or lacks tables."""

    code = "warehouse_error"


class QueryTimeoutError(ChatBIError):
    """A query ran past the configured time limit and was interrupted."""

    code = "query_timeout"
    exit_code = 2


class LLMError(ChatBIError):
    """The LLM endpoint failed (timeout, HTTP error, malformed output)."""

    code = "llm_error"
