"""A bounded, thread-safe LRU of per-session state (conversations for follow-ups)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Session(Generic[T]):
    """One session's state and the lock that serialises its turns."""

    state: T
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionStore(Generic[T]):
    """Sessions keyed by any hashable (e.g. ``(api_key, session_id)``); least recently used go first."""

    def __init__(self, factory: Callable[[], T], max_sessions: int = 1000):
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._factory = factory
        self._max = max_sessions
        self._items: OrderedDict[Hashable, Session[T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Session[T]:
        """The session for ``key``, created if missing; marks it most recently used."""
        with self._lock:
            session = self._items.get(key)
            if session is None:
                session = Session(self._factory())
                self._items[key] = session
                while len(self._items) > self._max:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
            return session

    def reset(self, key: Hashable) -> None:
        """Forget one session (the next ``get`` starts a fresh one)."""
        with self._lock:
            self._items.pop(key, None)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
