"""One alert per outage: a site, or a gateway, gone silent together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fridge_monitor.core.outages import Heard, gateway_of, outages

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
GAP = timedelta(minutes=35)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_every_sensor_of_a_site_silent_together_is_one_site_outage():
    heard = [Heard(1, "A", "native:a", at(0), True), Heard(2, "B", "native:b", at(3), True),
             Heard(2, "B", "native:b2", at(4), True)]
    (outage,) = outages("North", heard, GAP)
    assert (outage.kind, outage.subject, outage.anchor, outage.fridge_ids, outage.start) == (
        "site-offline", "site:North", 1, frozenset({1, 2}), at(35))
    assert outage.title == "Site North offline: 2 fridges silent"
    assert "the first at 2026-12-06 10:00 UTC" in outage.detail and "Fridges: A, B." in outage.detail


def test_one_sensor_still_reporting_is_no_site_outage():
    heard = [Heard(1, "A", "a", at(0), True), Heard(2, "B", "b", at(1), True), Heard(3, "C", "c", at(50), False)]
    assert outages("North", heard, GAP) == []


def test_silences_far_apart_are_separate_failures_not_an_outage():
    heard = [Heard(1, "A", "a", at(0), True), Heard(2, "B", "b", at(20), True)]
    assert outages("North", heard, GAP) == []


def test_a_site_with_one_fridge_has_no_outage_of_its_own():
    assert outages("Annex", [Heard(1, "A", "a", at(0), True), Heard(1, "A", "a2", at(1), True)], GAP) == []


def test_a_sensor_that_never_reported_is_no_part_of_an_outage():
    heard = [Heard(1, "A", "a", at(0), True), Heard(2, "B", "b", None, True)]
    assert outages("North", heard, GAP) == []


def test_a_gateway_gone_offline_with_its_sensors_is_one_gateway_outage():
    bridge = gateway_of("zigbee2mqtt", "fridge-a", online=False)
    heard = [Heard(1, "A", "zigbee2mqtt:a", at(0), True, bridge), Heard(2, "B", "zigbee2mqtt:b", at(2), True, bridge),
             Heard(3, "C", "native:c", at(60), False)]
    (outage,) = outages("North", heard, GAP)
    assert (outage.kind, outage.subject, outage.fridge_ids) == (
        "gateway-offline", "gateway:zigbee2mqtt bridge", frozenset({1, 2}))
    assert outage.title == "Gateway zigbee2mqtt bridge offline: 2 fridges silent"


def test_gateways_are_the_bridge_for_zigbee2mqtt_and_the_node_otherwise():
    assert gateway_of("zigbee2mqtt", "x", False) == "zigbee2mqtt bridge"
    assert gateway_of("tasmota", "node-7", False) == "tasmota:node-7"
    assert gateway_of("tasmota", "node-7", True) is None
    assert gateway_of("native", "p", None) is None
