"""Lot alert kinds: their notification steps and the expiry warning setting."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from fridge_monitor.alerts.notify.message import GENERIC_STEPS, STEPS, AlertMessage, email_body
from fridge_monitor.config import ConfigError, build_config
from fridge_monitor.inventory import lot_safety

MESSAGE = AlertMessage(
    alert_id=7, kind="lot-review", event="opened", state="open", severity="alarm", fridge="Cabinet", site="Clinic",
    title="Lot C3709C3 (Botox) under review: do not use", detail="In Cabinet, outside 2 to 8 °C for 2 h.",
    started_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
    updated_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC), timezone="Europe/Berlin",
)


@pytest.mark.parametrize("kind", lot_safety.KINDS)
def test_every_lot_kind_has_its_own_steps(kind):
    assert STEPS[kind] and STEPS[kind] != GENERIC_STEPS
    body = email_body(dataclasses.replace(MESSAGE, kind=kind))
    assert f"1. {STEPS[kind][0]}\n" in body


def test_a_lot_review_asks_for_the_manufacturers_answer_and_not_to_discard_yet():
    body = email_body(MESSAGE)
    assert 'Label the units of this lot "DO NOT USE"' in body and "Do not throw anything away." in body
    assert "release (with their reference) or discard" in body


def test_expiry_warning_days_are_whole_days_widest_first_from_file_or_env():
    assert build_config({}, {}, {}, "t").inventory["expiry_warning_days"] == (90, 30, 7)
    config = build_config({"inventory": {"expiry_warning_days": [7, 60, 14]}}, {}, {}, "t")
    assert config.inventory["expiry_warning_days"] == (60, 14, 7)
    env = {"FRIDGE_MONITOR_INVENTORY_EXPIRY_WARNING_DAYS": "30, 10"}
    assert build_config({}, env, {}, "t").inventory["expiry_warning_days"] == (30, 10)
    for bad in ([], [0], [30, "7"], 30, [True]):
        with pytest.raises(ConfigError, match=r"^t: \[inventory\] expiry_warning_days must be a list of whole numbers"):
            build_config({"inventory": {"expiry_warning_days": bad}}, {}, {}, "t")
