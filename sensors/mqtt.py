"""The MQTT side: one paho connection per simulated device, as real devices have.

Each device connects on its own so that it can have its own last will: when
a simulated power cut or Wi-Fi loss drops the connection abruptly, the broker
itself announces the device offline. Messages are QoS 1 by default; paho
queues them while the broker is away and sends them after it reconnects, and
:meth:`DeviceLink.wait_acked` tells when the broker has acknowledged all.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
import urllib.parse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sensors.formats import Message

log = logging.getLogger(__name__)

MAX_INFLIGHT = 1000
KEEPALIVE_S = 30
DROP_GRACE_S = 5.0
"""How long a device about to lose power waits for its last acknowledgements."""


class BrokerUnavailable(RuntimeError):
    """The broker could not be reached, or refused the connection."""


@dataclasses.dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, from a URL like ``mqtt://user:pass@host:1883``."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str, username: str | None = None, password: str | None = None) -> BrokerAddress:
        """Parse ``mqtt://`` (or ``tcp://``) URLs; explicit credentials win over the URL's."""
        parts = urllib.parse.urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"broker URL {url!r} must start with mqtt:// (TLS and websockets are not supported)")
        try:
            port = parts.port or 1883
        except ValueError:
            raise ValueError(f"broker URL {url!r} has an invalid port") from None
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} names no host; use mqtt://HOST:PORT")
        if username is None and parts.username:
            username = urllib.parse.unquote(parts.username)
        if password is None and parts.password:
            password = urllib.parse.unquote(parts.password)
        return cls(host=parts.hostname, port=port, username=username, password=password)

    def __str__(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


class DeviceLink:
    """One device's MQTT connection: online birth on connect, offline last will."""

    def __init__(self, broker: BrokerAddress, client_id: str, birth: Message, will: Message, qos: int = 1) -> None:
        self.broker = broker
        self.client_id = client_id
        self.birth = birth
        self.will = will
        self.qos = qos
        self.published = 0
        self._acked = 0
        self._lost = 0
        self._counts = threading.Condition()  # re-entrant: callbacks may publish
        self._connack = threading.Event()
        self._refusal: str | None = None
        self._held: list[Message] | None = None
        """Messages published after a rejoin but before the birth went out."""
        self._dropper: threading.Thread | None = None
        self._dropped = False
        self._client = self._new_client()

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311, clean_session=True
        )
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        client.will_set(self.will.topic, self.will.payload, qos=max(self.qos, 1), retain=True)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect and wait for the broker's answer; raise :class:`BrokerUnavailable`."""
        try:
            self._client.connect(self.broker.host, self.broker.port, KEEPALIVE_S)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise BrokerUnavailable(f"cannot reach the MQTT broker at {self.broker}: {reason}") from None
        self._client.loop_start()
        answered = self._connack.wait(timeout_s)
        if answered and self._refusal is None:
            return
        self._client.disconnect()
        self._client.loop_stop()
        if not answered:
            raise BrokerUnavailable(f"the MQTT broker at {self.broker} did not answer within {timeout_s:g} s")
        raise BrokerUnavailable(f"the MQTT broker at {self.broker} refused the connection: {self._refusal}")

    def publish(self, message: Message) -> None:
        """Queue a message; paho sends it now or after the next reconnect."""
        with self._counts:
            self.published += 1
            if self._held is not None:
                self._held.append(message)
                return
        self._send(message)

    def _send(self, message: Message) -> None:
        qos = max(self.qos, 1) if message.retain else self.qos
        info = self._client.publish(message.topic, message.payload, qos=qos, retain=message.retain)
        if qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS:
            with self._counts:
                self._lost += 1
                self._counts.notify_all()

    def wait_acked(self, timeout_s: float) -> int:
        """Wait until the broker has acknowledged everything; return what is still open."""
        deadline = time.monotonic() + timeout_s
        with self._counts:
            while self.published - self._acked - self._lost > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._counts.wait(remaining)
            return self.published - self._acked - self._lost

    def drop(self) -> None:
        """Vanish without a DISCONNECT, so the broker publishes the last will.

        Runs in the background: the network thread may take a second to stop
        and the simulation must not stall meanwhile.
        """
        self._dropped = True
        self._dropper = threading.Thread(target=self._drop_now, name=f"drop-{self.client_id}", daemon=True)
        self._dropper.start()

    def _drop_now(self) -> None:
        self.wait_acked(DROP_GRACE_S)
        self._client.loop_stop()
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # FIN without DISCONNECT: an abnormal end
            except OSError:
                pass  # already gone

    def rejoin(self) -> None:
        """Come back after :meth:`drop` on a fresh connection; the birth goes out first."""
        self._join_dropper()
        with self._counts:
            self._held = []
        # The dropped client closes its sockets when it is collected.
        self._client = self._new_client()
        self._dropped = False
        self._client.connect_async(self.broker.host, self.broker.port, KEEPALIVE_S)
        self._client.loop_start()

    def say_goodbye(self) -> None:
        """Publish the retained offline message, unless the broker already did."""
        self._join_dropper()
        if not self._dropped:
            self.publish(self.will)

    def disconnect(self) -> None:
        """Close the connection cleanly (no last will) and stop the network thread."""
        self._join_dropper()
        if not self._dropped:
            self._client.disconnect()
        self._client.loop_stop()

    def _join_dropper(self) -> None:
        if self._dropper is not None:
            self._dropper.join()
            self._dropper = None

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags, reason_code: ReasonCode,
                    properties: Properties | None) -> None:
        if reason_code.is_failure:
            self._refusal = str(reason_code)
            log.warning("broker %s refused %s: %s", self.broker, self.client_id, reason_code)
            self._connack.set()
            return
        self._refusal = None
        with self._counts:  # hold back other publishers until the birth is out
            self.published += 1
            self._send(self.birth)
            held, self._held = self._held or [], None
            for message in held:
                self._send(message)
        self._connack.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.warning(
                "%s lost the broker %s (%s); paho reconnects and resends", self.client_id, self.broker, reason_code
            )

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason_code: ReasonCode,
                    properties: Properties) -> None:
        with self._counts:
            self._acked += 1
            self._counts.notify_all()
