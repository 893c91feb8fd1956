"""The bounded inbox: paho's network thread waits for room instead of piling messages up (issue 12 item 16)."""

from __future__ import annotations

import threading

from fridge_monitor.ingest.inbox import Inbox


def test_put_waits_while_full_and_goes_on_once_a_batch_is_committed():
    inbox: Inbox[str] = Inbox(3)
    for message in "abc":
        assert inbox.put(message, lambda: True)
    inbox.ship(1, inbox.take(2))  # shipped still counts: not committed yet
    assert inbox.held == 3

    done = threading.Event()
    threading.Thread(target=lambda: (inbox.put("d", lambda: True), done.set()), daemon=True).start()
    assert not done.wait(0.3)  # full: the network thread waits, reading nothing more
    assert inbox.committed(1) == ["a", "b"]
    assert done.wait(5)
    assert inbox.take(10) == ["c", "d"]
    assert inbox.committed(1) is None  # answered twice: nothing to acknowledge again


def test_a_waiting_put_gives_up_when_ingest_stops():
    inbox: Inbox[str] = Inbox(1)
    inbox.put("a", lambda: True)
    accepting = threading.Event()
    accepting.set()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(inbox.put("b", accepting.is_set)), daemon=True)
    waiter.start()
    accepting.clear()
    inbox.wake()
    waiter.join(5)
    assert result == [False] and inbox.take(10) == ["a"]


def test_batches_in_flight_are_kept_in_order_for_a_new_writer():
    inbox: Inbox[int] = Inbox(100)
    for n in range(6):
        inbox.put(n, lambda: True)
    inbox.ship(2, inbox.take(3))
    inbox.ship(3, inbox.take(3))
    assert inbox.in_flight() == [(2, [0, 1, 2]), (3, [3, 4, 5])]
