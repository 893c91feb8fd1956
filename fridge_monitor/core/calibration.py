"""Certificates of calibration: whether one passes, whether a sensor is calibrated, and the alerts as one falls due
(pure).

Vaccine programmes (CDC Storage & Handling Toolkit, VFC) accept a monitoring
device only with a current certificate of calibration testing from a
laboratory accredited to ISO/IEC 17025, showing accuracy within ±0.5 °C. A
certificate passes when the laboratory passed it, every test point measured
within ``max_error_c`` of its reference, and the expanded uncertainty is at
most ``max_uncertainty_c``. A sensor is calibrated on a day when the newest
certificate calibrated by then passes and is not past its due date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.checks import Finding

MAX_ERROR_C = 0.5
MAX_UNCERTAINTY_C = 0.5
DUE_STAGES = (90, 30, 7)  # days before the due date at which `calibration-due` is raised again
STAGGER_DAYS = 30  # a fridge's primary and backup should not fall due within this of each other
RESULTS = ("pass", "fail")
_EPSILON = 1e-9  # 4.0 against 3.5 is off by exactly 0.5, which passes, whatever binary floats make of it


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    """One test point: the reference temperature and what the device measured."""

    reference_c: float
    measured_c: float

    @property
    def error_c(self) -> float:
        return self.measured_c - self.reference_c


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    max_error_c: float = MAX_ERROR_C
    max_uncertainty_c: float = MAX_UNCERTAINTY_C


@dataclasses.dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate of calibration as recorded (the file it came in is kept beside it)."""

    id: int
    sensor_id: str
    number: str
    laboratory: str
    accreditation_body: str
    accreditation_number: str
    calibrated_on: date
    due_on: date
    model: str
    serial: str
    points: tuple[Point, ...]
    uncertainty_c: float
    lab_result: str  # "pass" or "fail", as the certificate states


def problems(cert: Certificate, limits: Limits = Limits()) -> list[str]:
    """Why a certificate does not pass, one sentence each (none: it passes)."""
    out = []
    if cert.lab_result != "pass":
        out.append("the laboratory did not pass the device")
    if not cert.points:
        out.append("it records no test point")
    for p in cert.points:
        if abs(p.error_c) > limits.max_error_c + _EPSILON:
            out.append(f"at {p.reference_c:g} °C it measured {p.measured_c:g} °C, off by {abs(p.error_c):.2f} °C "
                       f"(more than ±{limits.max_error_c:g} °C)")
    if cert.uncertainty_c > limits.max_uncertainty_c + _EPSILON:
        out.append(f"its uncertainty {cert.uncertainty_c:g} °C is more than {limits.max_uncertainty_c:g} °C")
    if cert.due_on <= cert.calibrated_on:
        out.append("its due date is not after its calibration date")
    return out


def passes(cert: Certificate, limits: Limits = Limits()) -> bool:
    return not problems(cert, limits)


def in_force(certs: Iterable[Certificate], day: date) -> Certificate | None:
    """The newest certificate calibrated by ``day`` (the latest calibration date, then the latest recorded)."""
    return max((c for c in certs if c.calibrated_on <= day), key=lambda c: (c.calibrated_on, c.id), default=None)


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    """A sensor's calibration on a day, as the tile, the fridge page and the monthly PDF say it."""

    calibrated: bool
    text: str
    certificate: Certificate | None
    due_on: date | None


def status(certs: Sequence[Certificate], today: date, limits: Limits = Limits()) -> Status:
    """Calibrated, or "not calibrated" and why: no certificate, the newest one fails, or it is past due."""
    cert = in_force(certs, today)
    if cert is None:
        return Status(False, "not calibrated: no certificate recorded", None, None)
    found = problems(cert, limits)
    if found:
        return Status(False, f"not calibrated: certificate {cert.number} fails ({'; '.join(found)})", cert,
                      cert.due_on)
    if cert.due_on < today:
        return Status(False, f"not calibrated: certificate {cert.number} expired on {cert.due_on.isoformat()}", cert,
                      cert.due_on)
    return Status(True, f"calibrated (certificate {cert.number}, due {cert.due_on.isoformat()})", cert, cert.due_on)


def calibrated_on(certs: Sequence[Certificate], day: date, limits: Limits = Limits()) -> bool:
    """Whether a reading taken on ``day`` (the site's calendar) was taken by a calibrated device."""
    return status(certs, day, limits).calibrated


def calibrated_spans(certs: Sequence[Certificate], tz: tzinfo,
                     limits: Limits = Limits()) -> list[tuple[datetime, datetime | None]]:
    """The moments (UTC, from the site's midnights) when the device was calibrated, as [start, end) spans; an
    end None is open. The status can change only where a certificate begins or the day after one falls due."""
    changes = sorted({c.calibrated_on for c in certs} | {c.due_on + timedelta(days=1) for c in certs})

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    spans: list[tuple[datetime, datetime | None]] = []
    for index, day in enumerate(changes):
        if not calibrated_on(certs, day, limits):
            continue
        end = midnight(changes[index + 1]) if index + 1 < len(changes) else None
        if spans and spans[-1][1] == midnight(day):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((midnight(day), end))
    return spans


def due_findings(sensor_id: str, due_on: date | None, today: date, tz: tzinfo,
                 stages: Sequence[int] = DUE_STAGES) -> list[Finding]:
    """`calibration-due` once the due date is ``stages`` days away or less (a new alert at each stage: 90, 30 and
    7 days by default), then `calibration-expired` (an alarm) from the day after it."""
    if due_on is None:
        return []
    days = (due_on - today).days

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    if days < 0:
        return [Finding("calibration-expired", "calibration", sensor_id, "alarm", midnight(due_on + timedelta(days=1)),
                        None, f"Calibration expired: sensor {sensor_id}",
                        f"The calibration of sensor {sensor_id} was due on {due_on.isoformat()} ({-days} days ago): "
                        "its readings are not from a calibrated device until a new certificate is recorded.")]
    reached = [stage for stage in sorted(stages) if days <= stage]
    if not reached:
        return []
    stage = reached[0]
    return [Finding("calibration-due", f"calibration-{stage}d", sensor_id, "warning",
                    midnight(due_on - timedelta(days=stage)), None,
                    f"Calibration due in {days} day{'s' if days != 1 else ''}: sensor {sensor_id}",
                    f"The calibration of sensor {sensor_id} is due on {due_on.isoformat()} (in {days} days). "
                    "Arrange its recalibration, or a calibrated replacement, before then.")]


def pairing_warnings(primary: tuple[str, date | None] | None, backups: Sequence[tuple[str, date | None]]) -> list[str]:
    """What a fridge page warns about its devices: no backup sensor, or a primary and backup that fall due within
    :data:`STAGGER_DAYS` of each other (both would be away for calibration at once)."""
    if primary is None:
        return []
    if not backups:
        return ["This fridge has no backup sensor: programmes ask for a backup device in every unit, so that "
                "monitoring goes on while one is away for calibration or fails."]
    out = []
    for backup, due in backups:
        if primary[1] is not None and due is not None and abs((primary[1] - due).days) < STAGGER_DAYS:
            out.append(f"The primary sensor {primary[0]} and the backup {backup} fall due for calibration within "
                       f"{STAGGER_DAYS} days of each other ({primary[1].isoformat()}, {due.isoformat()}): stagger "
                       "them, so that one is always in the unit.")
    return out
