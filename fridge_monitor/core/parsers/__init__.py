"""Turn one MQTT message, in any supported format, into a :class:`ParseResult`.

Pure functions: no I/O, no clock (``ctx.received_at`` is "now"), and they never
raise; anything unusable becomes a :class:`Rejection` that says what to fix.
Every result passes the same checks here: plausible values, and no reading
from a retained message unless it carried its own measurement time.
"""

from __future__ import annotations

from collections.abc import Callable

from fridge_monitor.core.parsers import discovery, esphome, native, senml, shelly, tasmota, zigbee2mqtt
from fridge_monitor.core.parsers.common import rejected, too_large
from fridge_monitor.core.parsers.display import explain
from fridge_monitor.core.parsers.validate import check, refuse_untimed
from fridge_monitor.core.readings import SUBSCRIPTION_FORMATS, ParseContext, ParseResult

__all__ = ["PARSERS", "explain", "parse"]

PARSERS: dict[str, Callable[[str, bytes, ParseContext], ParseResult]] = {
    "native": native.parse,
    "senml": senml.parse,
    "zigbee2mqtt": zigbee2mqtt.parse,
    "tasmota": tasmota.parse,
    "esphome": esphome.parse,
    "shelly": shelly.parse,
    "discovery": discovery.parse,
}


def parse(fmt: str, topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """What the message on ``topic`` says, validated; never raises."""
    parser = PARSERS.get(fmt)
    if parser is None:
        return rejected(f'unknown payload format "{fmt}"; known formats: {", ".join(SUBSCRIPTION_FORMATS)}')
    try:
        if len(payload) > ctx.max_payload_bytes:
            return rejected(too_large(len(payload), ctx.max_payload_bytes))
        result = check(parser(topic, payload, ctx), ctx)
        return refuse_untimed(result) if ctx.retained else result
    except Exception as exc:  # a parser bug must never reach the MQTT network loop
        return rejected(f"could not parse {fmt} payload: {type(exc).__name__}: {exc}")
