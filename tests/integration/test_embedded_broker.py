"""The embedded broker (amqtt) leaves nothing behind when it stops, even with clients still connected:
a socket left for the garbage collector would warn later, in whatever code runs then."""

from __future__ import annotations

import gc
import socket
import sys
from collections.abc import Iterator

import pytest

from fridge_monitor.mqtt.broker import EmbeddedBroker, free_port

# MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "x".
CONNECT = bytes([0x10, 13, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 1]) + b"x"


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda raised: seen.append(repr(raised.exc_value))
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


def test_stopping_with_clients_connected_closes_their_sockets(unraisable: list[str]) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port)
    broker.start()
    speaking = socket.create_connection(("127.0.0.1", port), timeout=5)
    speaking.sendall(CONNECT)
    assert speaking.recv(4) == bytes([0x20, 2, 0, 0])  # CONNACK, accepted
    silent = socket.create_connection(("127.0.0.1", port), timeout=5)  # connected, never sends CONNECT

    broker.stop()

    assert speaking.recv(4) == b""  # the broker closed the connection
    assert silent.recv(4) == b""
    speaking.close()
    silent.close()
    gc.collect()
    assert unraisable == []
