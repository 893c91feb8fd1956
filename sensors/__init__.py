"""Simulated MQTT temperature sensors for fridges: realistic traces and faults.

A separate top-level package, shipped in the same wheel as ``fridge_monitor``
but independent of it: it plays third-party devices, so it speaks only their
wire formats. Run ``python -m sensors --help``, or drive it from code::

    plans = [FridgePlan("sim-fridge-1", "normal", "native"),
             FridgePlan("sim-fridge-2", "compressor-failure", "native")]
    simulation = Simulation("mqtt://127.0.0.1:1883", plans, interval_s=60, speed=60, seed=1)
    stats = simulation.run(stop_event)   # blocks; run it in a thread
"""

from sensors.device import FridgePlan, plan_aux_sensor_ids, plan_sensor_ids
from sensors.formats import FORMATS
from sensors.malformed import BAD_KINDS
from sensors.mqtt import BrokerUnavailable
from sensors.scenarios import SCENARIOS
from sensors.simulation import Simulation, Stats

__all__ = [
    "BAD_KINDS",
    "FORMATS",
    "SCENARIOS",
    "BrokerUnavailable",
    "FridgePlan",
    "Simulation",
    "Stats",
    "plan_aux_sensor_ids",
    "plan_sensor_ids",
]
