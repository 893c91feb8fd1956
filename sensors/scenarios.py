"""The fault scenarios: what happens to a fridge and its sensor, and when.

A scenario is data: door habits, which fault starts at the onset (and, for
outages, how long it lasts), how the battery drains and how often the device
sends garbage. :meth:`Scenario.phase` turns it into the conditions at one
moment, measured in simulated seconds since the simulation started.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from sensors.model import Environment

Fault = Literal["none", "compressor", "thermostat-stuck-on", "power", "uplink", "switched-off", "door"]
# Faults that last the outage length (the others are permanent).
TEMPORARY: tuple[Fault, ...] = ("power", "uplink", "switched-off", "door")

HOVER_BAND_C = 0.8
"""Half-width of the misadjusted thermostat's band around the upper limit."""

BAD_FRACTION = 0.3
"""Share of readings the ``bad-payloads`` scenario spoils."""


@dataclasses.dataclass(frozen=True, slots=True)
class Phase:
    """Everything the scenario decides for one moment."""

    environment: Environment
    sensor_powered: bool = True
    """False while the device is dark: it measures and sends nothing."""
    uplink_up: bool = True
    """False while the device measures but cannot reach the broker (it buffers)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    """One named behaviour of a simulated fridge and its sensor."""

    name: str
    summary: str
    fault: Fault = "none"
    onset_s: float = 30 * 60.0
    """When the fault starts, in simulated seconds after the start."""
    outage_s: float = 60 * 60.0
    """How long a power or uplink outage lasts; other faults are permanent."""
    door_rate_per_h: float = 0.5
    door_open_s: tuple[float, float] = (10.0, 40.0)
    hover_at_high_limit: bool = False
    """The thermostat is misadjusted to cycle around the upper limit."""
    door_ajar_during_outage_s: tuple[float, float] | None = None
    """(start, length) after the onset: someone leaves the door ajar meanwhile."""
    battery_start_pct: tuple[float, float] = (80.0, 100.0)
    battery_drain_pct_per_h: float = 0.05
    bad_fraction: float = 0.0
    needs_list_format: bool = False
    needs_battery: bool = False
    defrost_every_h: tuple[float, float] | None = None
    """Automatic defrost: one every 6-8 hours (the interval varies within these bounds), the compressor held off
    for ``defrost_min`` minutes; the cabinet rises 2-3 °C and stays in range."""
    defrost_min: float = 20.0

    def phase(self, elapsed_s: float, *, onset_s: float, outage_s: float, high_c: float) -> Phase:
        """The conditions ``elapsed_s`` simulated seconds into the run."""
        since_onset = elapsed_s - onset_s
        faulty = since_onset >= 0 and (self.fault not in TEMPORARY or since_onset < outage_s)
        ajar = faulty and self.fault == "door"
        if faulty and self.door_ajar_during_outage_s is not None:
            start, length = self.door_ajar_during_outage_s
            ajar = start <= since_onset < start + length
        environment = Environment(
            mains_power=not (faulty and self.fault in ("power", "switched-off")),
            compressor_works=not (faulty and self.fault == "compressor"),
            thermostat_stuck_on=faulty and self.fault == "thermostat-stuck-on",
            cut_in_c=high_c + HOVER_BAND_C if self.hover_at_high_limit else None,
            cut_out_c=high_c - HOVER_BAND_C if self.hover_at_high_limit else None,
            door_rate_per_h=self.door_rate_per_h,
            door_open_s=self.door_open_s,
            door_ajar=ajar,
            defrosting=self.defrosting(elapsed_s),
        )
        return Phase(
            environment=environment,
            sensor_powered=not (faulty and self.fault == "power"),
            uplink_up=not (faulty and self.fault == "uplink"),
        )

    def defrosting(self, elapsed_s: float) -> bool:
        """Whether an automatic defrost runs at ``elapsed_s``: the k-th starts after k intervals, each drawn
        between the bounds from k alone (so the same run always defrosts at the same moments)."""
        if self.defrost_every_h is None:
            return False
        low, high = self.defrost_every_h
        start = 0.0
        for k in range(1, 10_000):
            start += 3600.0 * (low + (high - low) * ((k * 0.6180339887) % 1.0))
            if elapsed_s < start:
                return False
            if elapsed_s < start + self.defrost_min * 60.0:
                return True
        return False

    def battery_pct(self, start_pct: float, elapsed_s: float) -> float:
        """Battery level after ``elapsed_s``; it never goes below 0 %."""
        return max(0.0, start_pct - self.battery_drain_pct_per_h * elapsed_s / 3600.0)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("normal", "cycles around the set point; a few short door openings"),
        Scenario(
            "door-open",
            "busy clinic: about 4 door openings an hour, up to 3 minutes each (warm spikes that recover)",
            door_rate_per_h=4.0,
            door_open_s=(30.0, 180.0),
        ),
        Scenario(
            "compressor-failure",
            "the compressor dies at the onset; the cabinet warms toward room temperature and stays out of range",
            fault="compressor",
        ),
        Scenario(
            "freeze",
            "the thermostat sticks on at the onset; the cabinet falls below 0 °C and stays there",
            fault="thermostat-stuck-on",
        ),
        Scenario(
            "power-outage",
            "mains power fails at the onset for the outage length (60 min by default): the sensor drops off the broker "
            "abruptly (its last will says offline) and sends nothing; the cabinet warms, then "
            "everything resumes",
            fault="power",
        ),
        Scenario(
            "power-cut",
            "the fridge's socket is switched off at the onset for the outage length (60 min by default): the "
            "fridge warms while its probe, on battery, keeps reporting; a smart plug (--plug) reports off and 0 W",
            fault="switched-off",
        ),
        Scenario(
            "door-left-open",
            "the door is left open at the onset for the outage length (15 min by default), then shut; a door "
            "contact (--door-contact) reports it",
            fault="door",
            outage_s=15 * 60.0,
        ),
        Scenario(
            "flapping",
            "a misadjusted thermostat cycles around the upper limit; readings cross it again and again",
            hover_at_high_limit=True,
        ),
        Scenario(
            "low-battery",
            "the battery starts at 21 % and loses 6 points an hour down to 0 % (the device keeps reporting)",
            battery_start_pct=(21.0, 21.0),
            battery_drain_pct_per_h=6.0,
            needs_battery=True,
        ),
        Scenario(
            "backlog",
            "Wi-Fi drops at the onset for the outage length (45 min by default); the device buffers "
            "readings (the door is left ajar meanwhile, so some are out of range) and uploads them "
            "late as one list in shuffled order (native and senml only)",
            fault="uplink",
            outage_s=45 * 60.0,
            door_ajar_during_outage_s=(10 * 60.0, 15 * 60.0),
            needs_list_format=True,
        ),
        Scenario(
            "bad-payloads",
            "about 30 % of readings are malformed, each kind in turn in a seeded order: invalid-json, "
            "not-utf8, text-temperature, nan, out-of-range (150 °C), future-timestamp (3 years ahead), "
            "missing-field, oversize (70 KiB); each format sends the kinds it can express",
            bad_fraction=BAD_FRACTION,
        ),
        Scenario(
            "defrost",
            "cycles around the set point; an automatic defrost every 6-8 hours holds the compressor off for 20 min "
            "(a rise of 2-3 °C that stays in range)",
            defrost_every_h=(6.0, 8.0),
        ),
    )
}
