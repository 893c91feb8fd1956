"""When to try a failed delivery again: exponential backoff with a cap (pure)."""

from __future__ import annotations

from datetime import timedelta

RETRY_FIRST_S = 30
RETRY_MAX_S = 15 * 60


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, ...): 30 s, 1 min, 2 min, ... at most 15 min."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, not {attempt}")
    # 2**attempt grows without bound; the cap is reached by attempt 6
    seconds = RETRY_FIRST_S * 2 ** min(attempt - 1, 10)
    return timedelta(seconds=min(seconds, RETRY_MAX_S))
