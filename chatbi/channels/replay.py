"""Replay protection for Slack: each delivery id is answered once.

Slack signs a request with a timestamp and accepts it for 5 minutes, so a captured, validly
signed request can be sent again within that window; Slack itself also re-sends an event
it thinks was not acknowledged in time (``X-Slack-Retry-Num``). Both carry the same
``event_id`` (Events API) or ``trigger_id`` (slash commands). ``SeenIds`` remembers every id
for ``window_s`` (default 10 minutes, twice the signature window) and says whether a
delivery is the first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SeenIds", "delivery_id", "REPLAY_WINDOW_S"]

REPLAY_WINDOW_S = 600.0
MAX_REMEMBERED = 100_000


class SeenIds:
    """Ids seen in the last ``window_s`` seconds (at most ``capacity``, oldest dropped)."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S, capacity: int = MAX_REMEMBERED,
                 clock: Callable[[], float] = time.monotonic):
        self.window_s = float(window_s)
        self.capacity = int(capacity)
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str | None) -> bool:
        """True the first time ``key`` is seen within the window (always True for no key)."""
        if not key:
            return True
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at < self.window_s and len(self._seen) < self.capacity:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


def delivery_id(body: Mapping[str, Any]) -> str | None:
    """The id of one Slack delivery: ``event_id``, a command's ``trigger_id``, else the event's
    channel and timestamp (the same message is never answered twice)."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    event = body.get("event")
    if isinstance(event, Mapping) and event.get("ts") and event.get("channel"):
        return f"message:{event['channel']}:{event['ts']}:{event.get('type', '')}"
    return None
