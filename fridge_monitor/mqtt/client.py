"""Building paho clients from the ``[mqtt]`` settings (URL, TLS, auth, session)."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclasses.dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool


def broker_address(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


def is_v5(settings: Mapping[str, Any]) -> bool:
    return str(settings["protocol"]) == "5"


def make_client(
    settings: Mapping[str, Any],
    client_id: str,
    *,
    persistent: bool,
    manual_ack: bool = False,
) -> paho.Client:
    """A paho client (callback API v2) configured for TLS, auth and reconnects.

    ``persistent`` keeps the broker-side session (subscriptions and queued
    QoS 1 messages) across disconnects: MQTT 3.1.1 ``clean_session=False`` or
    MQTT 5 ``clean_start=False`` with a session expiry (see :func:`connect`).
    """
    v5 = is_v5(settings)
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        clean_session=None if v5 else not persistent,
        manual_ack=manual_ack,
    )
    address = broker_address(settings["url"])
    if address.tls:
        context = ssl.create_default_context(cafile=settings["ca_file"] or None)
        if settings["cert_file"]:
            context.load_cert_chain(settings["cert_file"], settings["key_file"] or None)
        client.tls_set_context(context)
    if settings["username"]:
        client.username_pw_set(settings["username"], settings["password"] or None)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect(client: paho.Client, settings: Mapping[str, Any], *, persistent: bool,
            max_packet_size: int | None = None) -> None:
    """Start connecting in the background; paho's loop thread retries with backoff.

    ``max_packet_size``: the largest packet the broker may send us (MQTT 5's
    Maximum Packet Size). A broker drops a message bigger than that for this
    client instead of delivering it, so a huge publish never reaches our
    memory. MQTT 3.1.1 has no such property: there, only the broker's own
    limit (Mosquitto's ``message_size_limit``) keeps huge messages out.
    """
    address = broker_address(settings["url"])
    if is_v5(settings):
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        if persistent:
            props.SessionExpiryInterval = settings["session_expiry_s"]
        # How many unacknowledged QoS 1 messages the broker may send us at once:
        # this is what lets ingest commit in batches rather than one by one.
        props.ReceiveMaximum = settings["receive_maximum"]
        if max_packet_size is not None:
            props.MaximumPacketSize = max_packet_size
        client.connect_async(
            address.host,
            address.port,
            keepalive=settings["keepalive_s"],
            clean_start=not persistent,
            properties=props,
        )
    else:
        client.connect_async(address.host, address.port, keepalive=settings["keepalive_s"])


def shut_down(client: paho.Client) -> None:
    """Disconnect, stop the network thread and close paho's wake-up socket pair.

    paho keeps that pair open until the client is garbage-collected; inside a
    reference cycle the sockets may be finalised first and warn, so close them now.
    """
    client.disconnect()
    client.loop_stop()
    client._reset_sockets(sockpair_only=True)  # noqa: SLF001 - no public way to release them
