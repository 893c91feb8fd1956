"""The sign-in throttle's sliding window, fed literal times."""

from __future__ import annotations

from fridge_monitor.web.throttle import SlidingWindow


def test_the_limit_holds_within_the_window_and_frees_as_it_slides() -> None:
    window = SlidingWindow(limit=3, window_s=60.0)
    assert [window.attempt("a", t) for t in (0.0, 10.0, 20.0)] == [0.0, 0.0, 0.0]
    assert window.attempt("a", 30.0) == 30.0   # the attempt at 0 leaves the window at 60
    assert window.attempt("b", 30.0) == 0.0    # another address has its own count
    assert window.attempt("a", 60.5) == 0.0    # the one at 0 has left
    assert window.attempt("a", 61.0) == 9.0    # the one at 10 leaves at 70


def test_a_refused_attempt_is_not_counted() -> None:
    window = SlidingWindow(limit=1, window_s=60.0)
    assert window.attempt("a", 0.0) == 0.0
    for t in range(1, 60, 5):
        assert window.attempt("a", float(t)) > 0
    assert window.attempt("a", 60.0) == 0.0     # waiting out the first answer was enough


def test_quiet_addresses_are_forgotten() -> None:
    window = SlidingWindow(limit=2, window_s=60.0)
    for n in range(100):
        window.attempt(f"198.51.100.{n}", 0.0)
    window.attempt("a", 61.0)
    assert set(window._events) == {"a"}
