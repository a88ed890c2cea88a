"""Errors of the retrieval index (a ChatBIError subclass with a code and a user message)."""

from __future__ import annotations

from chatbi.errors import ChatBIError


class RetrievalError(ChatBIError):
    """The retrieval index cannot be built or read (embedding model or Chroma failed)."""

    code = "retrieval_error"
