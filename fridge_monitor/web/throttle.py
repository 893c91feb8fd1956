"""At most N sign-in attempts per client address per minute: a sliding window kept in the web process.

The per-account lockout stops guessing at one name; this stops one address
from trying name after name. The window lives in memory, so each web process
counts on its own (run several and an address gets N per process), and a
restart forgets it. Behind a reverse proxy every client shares the proxy's
address. Flask-Limiter's memory storage would keep the same per-process
counts, at the cost of new dependencies (it and ``limits``) for one route; a
deque per address is all this needs.
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW_S = 60.0


class SlidingWindow:
    """Counts events per key over the last ``WINDOW_S`` seconds; time is passed in (monotonic seconds)."""

    def __init__(self, limit: int, window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def attempt(self, key: str, now: float) -> float:
        """Count one attempt for ``key``; 0 if it is allowed, else the seconds until one more would be.

        A refused attempt is not counted, so waiting out the answer is always enough.
        """
        with self._lock:
            self._forget_before(now - self.window_s)
            events = self._events.setdefault(key, deque())
            if len(events) >= self.limit:
                return max(0.0, events[0] + self.window_s - now)
            events.append(now)
            return 0.0

    def _forget_before(self, cutoff: float) -> None:
        # Every key is trimmed on each call, so the memory held is bounded by the attempts of one window.
        for key in list(self._events):
            events = self._events[key]
            while events and events[0] <= cutoff:
                events.popleft()
            if not events:
                del self._events[key]
