"""Relay limits: at most N messages per minute and M per hour, as sliding windows."""

from __future__ import annotations

from collections import deque


class SlidingWindowLimit:
    """Remembers when the last `limit` messages left; tells how long the next one must wait.

    Memory is bounded by the limit itself (one float per message in the window).
    """

    def __init__(self, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window = window_seconds
        self._times: deque[float] = deque()

    def wait_seconds(self, now: float) -> float:
        """0 when a message may leave at `now`, else how long until a slot frees."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.window - now

    def record(self, now: float) -> None:
        self._times.append(now)


class RateLimits:
    """Several windows at once (per minute and per hour); a message waits for all of them."""

    def __init__(self, *, per_minute: int = 0, per_hour: int = 0) -> None:
        self.windows = [
            SlidingWindowLimit(limit, seconds)
            for limit, seconds in ((per_minute, 60.0), (per_hour, 3600.0))
            if limit > 0
        ]

    def wait_seconds(self, now: float) -> float:
        return max((w.wait_seconds(now) for w in self.windows), default=0.0)

    def record(self, now: float) -> None:
        for window in self.windows:
            window.record(now)
