"""``python -m sensors``: simulated fridge sensors publishing to an MQTT broker."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import NoReturn

from sensors.device import FridgePlan, plan_aux_sensor_ids, plan_sensor_ids
from sensors.formats import FORMATS, make_format
from sensors.mqtt import BrokerUnavailable
from sensors.scenarios import SCENARIOS
from sensors.simulation import Simulation, dry_run

EXIT_OK, EXIT_UNACKNOWLEDGED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """Reports a bad option in one line, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _epilog() -> str:
    scenarios = "\n".join(
        textwrap.fill(s.summary, width=100, initial_indent=f"  {s.name:<19} ", subsequent_indent=" " * 22)
        for s in SCENARIOS.values()
    )
    formats = []
    for name in FORMATS:
        encoder = make_format(name)
        availability = encoder.availability("<device>", True)
        formats.append(
            f"  {name:<12} {encoder.reading_topic('<device>')}\n"
            f"  {'':<12}   sensor id {encoder.sensor_id_pattern()}; availability {availability.topic}"
        )
    return (
        "scenarios (the fault starts at --onset and an outage lasts --outage, in simulated time):\n"
        f"{scenarios}\n\n"
        "formats (readings topic, then the sensor id the server derives; --prefix goes before every topic):\n"
        + "\n".join(formats)
        + "\n\n"
        "Devices are named sim-fridge-1 ... sim-fridge-N (sim-freezer-N with --freezer).\n"
        "Time: with --speed 1 payload timestamps are the wall clock; with --speed X > 1 the simulated\n"
        "clock starts at --start (default 24 h ago) and runs X times faster until it catches up with\n"
        "the wall clock, then keeps real time, so no reading is ever from the future.\n"
        "Exit status: 0 done, 1 some messages were not acknowledged by the broker, 2 bad option or\n"
        "unreachable broker."
    )


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value: float = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _scenarios(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in SCENARIOS:
            raise argparse.ArgumentTypeError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    if not names:
        raise argparse.ArgumentTypeError("name at least one scenario")
    return names


def _start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2026-11-25T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m sensors",
        description="Simulated fridge temperature sensors publishing realistic traces and faults to an MQTT broker.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--broker", default="mqtt://127.0.0.1:1883", metavar="URL",
        help="mqtt://[USER:PASS@]HOST[:PORT] (default %(default)s)")
    add("--fridges", type=_positive(int), default=1, metavar="N",
        help="number of fridges, one sensor each (default 1)")
    add("--interval", type=_positive(float), default=60.0, metavar="SECONDS",
        help="reporting interval in simulated seconds (default 60)")
    add("--speed", type=_positive(float), default=1.0, metavar="FACTOR",
        help="simulated seconds per wall second while catching up (default 1)")
    add("--scenario", type=_scenarios, default=["normal"], metavar="NAME[,NAME...]",
        help="scenario; a comma list is dealt to the fridges in turn (default normal)")
    add("--format", dest="fmt", choices=list(FORMATS), default="native", metavar="NAME",
        help=f"payload format: {', '.join(FORMATS)} (default native)")
    add("--seed", type=int, default=1, metavar="K",
        help="random seed; the same seed gives the same traces (default 1)")
    add("--prefix", default="", metavar="STR",
        help='prepended to every topic, e.g. "t42/" (default none)')
    add("--count", type=_positive(int), metavar="N",
        help="stop after N reporting intervals per fridge (a dark device sends nothing in its "
             "intervals; a buffered backlog is uploaded before the end)")
    add("--duration", type=_positive(float), metavar="SECONDS", help="stop after this much wall time")
    add("--start", type=_start, metavar="ISO",
        help="simulated clock start (default: now, or 24 h ago when --speed > 1)")
    add("--onset", type=_non_negative, metavar="SECONDS",
        help="simulated seconds until the scenario's fault starts (default 1800)")
    add("--outage", type=_non_negative, metavar="SECONDS",
        help="length of the power-outage or backlog outage (default 3600 and 2700)")
    add("--freezer", action="store_true", help="simulate freezers: set point -20 °C, range -50 to -15 °C")
    add("--device-tz", default="UTC", metavar="ZONE", help="local time zone of Tasmota device clocks (default UTC)")
    add("--client-id", metavar="ID", help="MQTT client id stem; each device connects as ID-<device>")
    add("--username", help="broker user name")
    add("--password", help="broker password")
    add("--qos", type=int, choices=(0, 1, 2), default=1,
        help="QoS of readings (default 1; availability is always at least 1)")
    add("--door-contact", action="store_true",
        help="give each fridge a door contact too, native:<name>-door (door_open every interval)")
    add("--plug", action="store_true",
        help="give each fridge a smart plug too, native:<name>-plug (power_w and switch_on every interval)")
    add("--list-sensors", action="store_true",
        help="print the sensor ids, one per line (door contacts and plugs after the probes), and exit")
    add("--dry-run", action="store_true",
        help="print the messages of --count intervals as 'topic payload' lines, without a broker")
    add("-q", "--quiet", action="store_true", help="only print errors")
    return parser


def plans_from(args: argparse.Namespace) -> list[FridgePlan]:
    """One plan per fridge, dealing the scenarios out in turn."""
    kind = "freezer" if args.freezer else "fridge"
    limits = {"set_point_c": -20.0, "low_c": -50.0, "high_c": -15.0} if args.freezer else {}
    return [
        FridgePlan(
            f"sim-{kind}-{i + 1}",
            args.scenario[i % len(args.scenario)],
            args.fmt,
            onset_s=args.onset,
            outage_s=args.outage,
            device_tz=args.device_tz,
            door_contact=args.door_contact,
            plug=args.plug,
            **limits,
        )
        for i in range(args.fridges)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="sensors: %(message)s", stream=sys.stderr
    )
    try:
        plans = plans_from(args)
        if args.list_sensors:
            for plan in plans:
                print("\n".join([*plan_sensor_ids(plan), *plan_aux_sensor_ids(plan)]))
            return EXIT_OK
        if args.dry_run:
            if args.count is None:
                parser.error("--dry-run needs --count")
            start_s = args.start.timestamp() if args.start else None
            stats = dry_run(
                plans, interval_s=args.interval, count=args.count, seed=args.seed, prefix=args.prefix,
                start_s=start_s, out=sys.stdout,
            )
            logging.getLogger(__name__).info("dry run: %s", stats.summary())
            return EXIT_OK
        simulation = Simulation(
            args.broker, plans, interval_s=args.interval, speed=args.speed, seed=args.seed,
            prefix=args.prefix, start=args.start, count=args.count, duration=args.duration, qos=args.qos,
            client_id=args.client_id, username=args.username, password=args.password,
        )
    except ValueError as exc:
        parser.error(str(exc))

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the broker
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stats = simulation.run(stop)
    except BrokerUnavailable as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted before the broker acknowledged everything", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logging.getLogger(__name__).info("%s", stats.summary())
    return EXIT_UNACKNOWLEDGED if stats.unacknowledged else EXIT_OK
