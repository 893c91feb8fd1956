"""The one episode scanner: when a condition held, over stretches of known and unknown time (pure).

A fridge's excursions and alarm rules (:mod:`fridge_monitor.core.rules`) and a lot's
exposures (:mod:`fridge_monitor.core.exposure`) both cut their readings into
:class:`Span` s — a temperature holding from one instant to another, or
unknown time where readings are too far apart — and ask :func:`scan` when an
episode of their condition started and ended. Both therefore agree, always,
about when an excursion happened. The rules (DOMAIN.md, "Excursions and alarm
rules"):

- An episode starts at the first span beyond the limit.
- **Missing data is not recovery.** Unknown time between two spans beyond the
  limit belongs to the episode: it counts toward its time beyond and toward a
  continuous stretch (the safe assumption), and is reported as ``unknown``.
  Only a span inside the range breaks a continuous stretch.
- An episode ends once the temperature has been back inside the range and
  either stayed past the hysteresis margin for the clear delay or stayed
  inside the range for the settle time (at least the clear delay). It ends at
  the moment it came back inside: a fridge hovering inside the range just
  short of the margin is *in range*, and the hover counts toward nothing. A
  later stretch beyond the limit is a new episode.
- Unknown time while coming back is not recovery either: the clear delay and
  the settle time start over at the next known span inside.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable
from datetime import datetime, timedelta

ZERO = timedelta(0)


class Zone(enum.IntEnum):
    """Where a temperature lies with respect to a condition."""

    CLEAR = 0  # inside the range, past the hysteresis margin
    INSIDE = 1  # inside the range, not yet past the margin
    BEYOND = 2  # beyond the limit: the condition holds


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """The reading taken at ``at`` holding from ``start`` to ``end`` in ``zone``; or unknown time
    (``zone``, ``at`` and ``celsius`` None) where readings are further apart than the allowed gap."""

    start: datetime
    end: datetime
    zone: Zone | None = None
    celsius: float | None = None
    at: datetime | None = None

    @property
    def known(self) -> bool:
        return self.zone is not None


def unknown(start: datetime, end: datetime) -> Span:
    return Span(start, end)


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """One episode. ``end`` None: still going on (``back_since``: inside the range since then, not yet
    for long enough to end it).

    ``beyond`` is the time beyond the limit, unknown time between spans beyond included; ``unknown``
    is how much of it was unknown. ``alarm_at`` is when one continuous stretch beyond first lasted
    ``duration`` (None: it never did). ``peak_c``, ``low_c``, ``readings`` and ``samples`` (time-weighted,
    for MKT) cover the readings from ``start`` to the end, brief returns inside included.
    ``beyond_spans`` are the stretches counted as beyond, for sliding-window totals.
    """

    start: datetime
    end: datetime | None
    beyond: timedelta
    unknown: timedelta
    alarm_at: datetime | None
    peak_c: float
    low_c: float
    readings: int
    samples: tuple[tuple[float, float], ...]
    beyond_spans: tuple[tuple[datetime, datetime], ...]
    back_since: datetime | None = None


@dataclasses.dataclass(slots=True)
class _Tally:
    peak: float = -math.inf
    low: float = math.inf
    seen: set[datetime] = dataclasses.field(default_factory=set)
    samples: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def add(self, span: Span) -> None:
        assert span.celsius is not None and span.at is not None
        self.peak, self.low = max(self.peak, span.celsius), min(self.low, span.celsius)
        self.seen.add(span.at)
        held = (span.end - span.start).total_seconds()
        if held > 0:
            self.samples.append((held, span.celsius))

    def merge(self, other: _Tally) -> None:
        self.peak, self.low = max(self.peak, other.peak), min(self.low, other.low)
        self.seen |= other.seen
        self.samples.extend(other.samples)


@dataclasses.dataclass(slots=True)
class _Open:
    start: datetime
    tally: _Tally = dataclasses.field(default_factory=_Tally)
    beyond: timedelta = ZERO
    unknown: timedelta = ZERO
    beyond_spans: list[tuple[datetime, datetime]] = dataclasses.field(default_factory=list)
    run_start: datetime | None = None
    alarm_at: datetime | None = None
    hole: list[Span] = dataclasses.field(default_factory=list)  # unknown time right after a span beyond
    back_since: datetime | None = None  # inside the range since (known time only)
    clear_since: datetime | None = None  # ...and past the hysteresis margin since
    back: _Tally = dataclasses.field(default_factory=_Tally)  # readings since coming back, not yet final

    def found(self, end: datetime | None) -> Found:
        t = self.tally
        return Found(self.start, end, self.beyond, self.unknown, self.alarm_at, t.peak, t.low, len(t.seen),
                     tuple(t.samples), tuple(self.beyond_spans), None if end is not None else self.back_since)

    def not_back(self) -> None:
        """The return inside did not last: its readings belong to the episode after all."""
        self.tally.merge(self.back)
        self.back = _Tally()
        self.back_since = None
        self.clear_since = None


def scan(spans: Iterable[Span], *, clear_delay: timedelta, settle: timedelta,
         duration: timedelta = ZERO) -> list[Found]:
    """The episodes of one condition in time-ordered, non-overlapping ``spans`` (see the module's rules).

    ``duration``: how long one continuous stretch beyond must last for ``alarm_at`` (zero: at once).
    """
    out: list[Found] = []
    current: _Open | None = None
    for span in spans:
        if current is None:
            if span.zone is not Zone.BEYOND:
                continue
            current = _Open(span.start)
        if span.zone is None:
            if current.back_since is not None:
                current.not_back()  # unknown time is not recovery: coming back starts over
            elif current.run_start is not None or current.hole:
                current.hole.append(span)  # counted only if the next known span is beyond too
            continue
        if span.zone is Zone.BEYOND:
            current.not_back()
            for hole in current.hole:  # missing data between two spans beyond: the safe assumption
                current.beyond += hole.end - hole.start
                current.unknown += hole.end - hole.start
                current.beyond_spans.append((hole.start, hole.end))
            current.hole.clear()
            current.tally.add(span)
            current.beyond += span.end - span.start
            if span.end > span.start:
                current.beyond_spans.append((span.start, span.end))
            if current.run_start is None:
                current.run_start = span.start
            if current.alarm_at is None and span.end - current.run_start >= duration:
                current.alarm_at = current.run_start + duration
            continue
        # Inside the range: a continuous stretch is broken; the episode may be ending.
        current.hole.clear()
        current.run_start = None
        if current.back_since is None:
            current.back_since = span.start
        if span.zone is not Zone.CLEAR:
            current.clear_since = None
        elif current.clear_since is None:
            current.clear_since = span.start
        current.back.add(span)
        settled = span.end - current.back_since >= max(settle, clear_delay)
        if settled or (current.clear_since is not None and span.end - current.clear_since >= clear_delay):
            out.append(current.found(end=current.back_since))
            current = None
    if current is not None:
        current.tally.merge(current.back)  # still going on: readings while coming back are shown with it
        out.append(current.found(end=None))
    return out
