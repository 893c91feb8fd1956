"""Home Assistant MQTT discovery configs: what an ESPHome entity's state measures.

ESPHome publishes, retained, one config per entity on
``<discovery prefix>/sensor/<node>/<object id>/config``: a JSON object with
``state_topic``, ``device_class`` and ``unit_of_measurement`` (or their
abbreviations ``stat_t``, ``dev_cla``, ``unit_of_meas``; ``~`` stands for a
base topic). The result carries an :class:`Entity`; ingest keeps it so the
entity's plain-number states are read as what they are.
"""

from __future__ import annotations

from fridge_monitor.core.parsers.common import decode_json, describe, ignored, rejected, shorten, topic_levels
from fridge_monitor.core.readings import Entity, ParseContext, ParseResult, Rejection

FMT = "discovery"
# Sensors (temperature, battery, power, humidity) and binary sensors (a door contact).
COMPONENTS = ("sensor", "binary_sensor")
KEYS = {
    "state_topic": ("state_topic", "stat_t"),
    "device_class": ("device_class", "dev_cla"),
    "unit": ("unit_of_measurement", "unit_of_meas"),
}
# The columns of discovered_entities.
LIMITS = {"state_topic": 300, "node": 200, "name": 200, "device_class": 50, "unit": 20, "config_topic": 300}


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """The entity a sensor's discovery config announces (or withdraws, with an empty payload)."""
    segments = topic_levels(topic)
    if len(segments) >= 4 and segments[-1] == "config" and segments[-4] in COMPONENTS:
        node, object_id = segments[-3], segments[-2]
    elif len(segments) >= 3 and segments[-1] == "config" and segments[-3] in COMPONENTS:
        node, object_id = "", segments[-2]
    else:
        return ignored(f'topic "{topic}" is not a Home Assistant .../sensor/[<node>/]<object id>/config topic')
    if len(topic) > LIMITS["config_topic"]:
        return rejected(f"discovery topic is {len(topic)} characters long; the limit is {LIMITS['config_topic']}")
    if not bytes(payload).strip():
        return ParseResult(entity=Entity(topic, removed=True))
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(data,))
    if not isinstance(data, dict):
        return rejected(f"payload is {describe(data)}; a discovery config is a JSON object")
    values: dict[str, str | None] = {}
    for field, keys in KEYS.items():
        key = next((k for k in keys if k in data), keys[0])
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            return rejected(f'"{key}" is {describe(value)}; expected a string')
        values[field] = value
    state_topic = _expand(values["state_topic"], data.get("~"))
    if not state_topic:
        return rejected('discovery config has no "state_topic" ("stat_t"); nothing to learn')
    if any(ch in state_topic for ch in "+#\x00"):
        return rejected(f'"state_topic" "{shorten(state_topic)}" is not a topic name')
    levels = state_topic.split("/")
    if len(levels) >= 4 and levels[-1] == "state" and levels[-3] in COMPONENTS and levels[-4] and levels[-2]:
        node, object_id = levels[-4], levels[-2]  # what the state parser will see
    entity = Entity(
        config_topic=topic,
        state_topic=state_topic,
        node=node,
        name=object_id,
        device_class=values["device_class"] or None,
        unit=values["unit"] or None,
    )
    for field, limit in LIMITS.items():
        value = getattr(entity, field)
        if value is not None and len(value) > limit:
            return rejected(f'discovery config\'s {field} "{shorten(value)}" is longer than {limit} characters')
    return ParseResult(entity=entity)


def _expand(topic: str | None, base: object) -> str | None:
    """Home Assistant's ``~`` abbreviation: a leading or trailing ``~`` stands for the base topic."""
    if not topic or not isinstance(base, str):
        return topic
    if topic.startswith("~"):
        return base + topic[1:]
    if topic.endswith("~"):
        return topic[:-1] + base
    return topic
