"""The one episode scanner: literal traces of holes, hovering and separate events, and its properties."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fridge_monitor.core import exposure
from fridge_monitor.core.episodes import Span, Zone, scan, unknown
from fridge_monitor.core.lots import Holding
from fridge_monitor.core.products import USP_CRT, Product, StorageRange
from fridge_monitor.core.rules import PRESETS, AlarmProfile, Rule, episodes

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
CDC = PRESETS["cdc-refrigerator"]
WHO = PRESETS["who-30dtr"]
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def steady(start_min: float, end_min: float, temp: float, every: float = 15) -> list[tuple[datetime, float]]:
    """Readings every ``every`` minutes from ``start_min`` up to, not including, ``end_min``."""
    count = int((end_min - start_min) / every)
    return [(m(start_min + k * every), temp) for k in range(count)]


def kinds(found, kind):
    return [e for e in found if e.kind == kind]


# --- the scanner on literal spans -----------------------------------------------------------------------

def span(a: float, b: float, zone: Zone, temp: float = 9.0) -> Span:
    return Span(m(a), m(b), zone, temp, m(a))


def test_scanner_counts_a_hole_between_spans_beyond_and_reports_it_as_unknown():
    spans = [span(0, 30, Zone.BEYOND), unknown(m(30), m(90)), span(90, 120, Zone.BEYOND),
             span(120, 200, Zone.CLEAR, 5.0)]
    [found] = scan(spans, clear_delay=10 * MIN, settle=30 * MIN, duration=100 * MIN)
    assert (found.start, found.end) == (m(0), m(120))
    assert (found.beyond, found.unknown, found.alarm_at) == (120 * MIN, 60 * MIN, m(100))
    assert found.readings == 2


def test_scanner_does_not_count_a_hole_followed_by_a_span_inside():
    spans = [span(0, 30, Zone.BEYOND), unknown(m(30), m(90)), span(90, 200, Zone.CLEAR, 5.0)]
    [found] = scan(spans, clear_delay=10 * MIN, settle=30 * MIN, duration=60 * MIN)
    assert (found.end, found.beyond, found.unknown, found.alarm_at) == (m(90), 30 * MIN, timedelta(0), None)


def test_scanner_ends_a_hover_inside_after_the_settle_time_and_a_dip_past_the_margin_after_the_clear_delay():
    hover = [span(0, 30, Zone.BEYOND), span(30, 59, Zone.INSIDE, 7.9)]
    assert scan(hover, clear_delay=10 * MIN, settle=30 * MIN)[0].end is None
    assert scan(hover, clear_delay=10 * MIN, settle=30 * MIN)[0].back_since == m(30)
    hover.append(span(59, 60, Zone.INSIDE, 7.9))
    assert scan(hover, clear_delay=10 * MIN, settle=30 * MIN)[0].end == m(30)
    # Past the margin for the clear delay ends it sooner, still at the moment it came back inside.
    dip = [span(0, 30, Zone.BEYOND), span(30, 35, Zone.INSIDE, 7.9), span(35, 44, Zone.CLEAR, 7.5)]
    assert scan(dip, clear_delay=10 * MIN, settle=30 * MIN)[0].end is None
    dip.append(span(44, 45, Zone.CLEAR, 7.5))
    assert scan(dip, clear_delay=10 * MIN, settle=30 * MIN)[0].end == m(30)
    # A brief dip past the margin, back to just inside: the clear delay starts over.
    brief = [span(0, 30, Zone.BEYOND), span(30, 35, Zone.CLEAR, 7.5), span(35, 50, Zone.INSIDE, 7.9)]
    assert scan(brief, clear_delay=10 * MIN, settle=30 * MIN)[0].end is None


# --- defect: a hole in the data resets a continuous alarm ---------------------------------------------

def test_who_heat_alarm_fires_across_an_hour_without_readings():
    # 6 h at 8.6 °C, no readings for 60 min, 5 h more at 8.6 °C.
    readings = steady(0, 360, 8.6) + [(m(360), 8.6)] + steady(420, 720, 8.6) + [(m(720), 8.6)]
    found = episodes(WHO, readings, now=m(720))
    [heat] = kinds(found, "heat")
    assert heat.alarm_at == m(600)  # 10 h after the start: the hole counts (missing data is not recovery)
    # The 8.6 at 6 h holds for the allowed gap (35 min); the other 25 min were unknown.
    assert (heat.time_beyond, heat.unknown) == (12 * HOUR, 25 * MIN)
    [excursion] = kinds(found, "excursion")
    assert (excursion.start, excursion.end, excursion.unknown) == (m(0), None, 25 * MIN)


def test_a_hole_ended_by_a_reading_in_range_breaks_the_stretch():
    readings = steady(0, 360, 8.6) + [(m(360), 8.6), (m(420), 5.0)] + steady(435, 720, 8.6)
    [first, second] = kinds(episodes(WHO, readings, now=m(720)), "heat")
    assert (first.alarm_at, first.unknown, first.time_beyond) == (None, timedelta(0), 395 * MIN)
    assert second.start == m(435) and second.alarm_at is None


# --- defect: hysteresis stretches and swallows episodes ---------------------------------------------

def test_cdc_30_minutes_at_9_then_10_hours_at_7_9_ends_when_back_in_range():
    readings = steady(0, 30, 9.0, every=5) + steady(30, 630, 7.9, every=5)
    found = episodes(CDC, readings, now=m(630))
    [excursion] = kinds(found, "excursion")
    assert (excursion.start, excursion.end) == (m(0), m(30))
    assert excursion.duration(m(630)) == 30 * MIN  # not 10 h 30 min
    assert excursion.time_beyond == 30 * MIN
    assert kinds(found, "heat")[0].alarm_at is None  # 30 min above 8.0: not the 60-minute alarm
    # Until the settle time has passed, the excursion is still going on.
    assert kinds(episodes(CDC, readings, now=m(59)), "excursion")[0].end is None


def test_cdc_two_events_a_day_and_a_half_apart_are_two_episodes_and_two_alarms():
    first_end = 90
    second_start = first_end + 36 * 60
    readings = (steady(0, first_end, 9.0, every=5) + steady(first_end, second_start, 7.9, every=5)
                + steady(second_start, second_start + 180, 9.0, every=5) + [(m(second_start + 180), 9.0)])
    found = episodes(CDC, readings, now=m(second_start + 180))
    excursions = kinds(found, "excursion")
    assert [(e.start, e.end) for e in excursions] == [(m(0), m(first_end)), (m(second_start), None)]
    heats = kinds(found, "heat")
    assert [(h.start, h.alarm_at) for h in heats] == [(m(0), m(60)), (m(second_start), m(second_start + 60))]
    assert heats[0].time_beyond == 90 * MIN
    assert heats[1].time_beyond == 180 * MIN


def test_settle_time_is_a_profile_setting():
    quick = dataclasses.replace(CDC, settle_time=timedelta(minutes=15))
    readings = steady(0, 30, 9.0, every=5) + steady(30, 120, 7.9, every=5)
    assert kinds(episodes(quick, readings, now=m(44)), "excursion")[0].end is None
    assert kinds(episodes(quick, readings, now=m(45)), "excursion")[0].end == m(30)


# --- defect: USP <659> controlled room temperature --------------------------------------------------

XEOMIN = Product("Xeomin", (StorageRange(20.0, 25.0), StorageRange(2.0, 8.0), StorageRange(-20.0, -10.0)),
                 freezing_allowed=True, opened_range=StorageRange(2.0, 8.0), allowance=USP_CRT)
NO_ALLOWANCE = dataclasses.replace(XEOMIN, allowance=None)


def room(hours_at_26: float, base: float = 22.0, peak: float = 26.0, days: int = 7):
    """A week in a room cabinet at ``base`` with ``hours_at_26`` hours at ``peak`` on the last day."""
    total = days * 24 * 60
    warm_from = total - 12 * 60
    return (steady(0, warm_from, base) + steady(warm_from, warm_from + hours_at_26 * 60, peak)
            + steady(warm_from + hours_at_26 * 60, total + 15, base))


def held_from(minutes: float) -> Holding:
    return Holding(1, 5, 0, m(minutes), None)


def test_room_temperature_product_at_26_degrees_is_allowed_while_its_mkt_stays_at_most_25():
    readings = room(4)
    now = m(7 * 24 * 60)
    assert exposure.exposures(readings, [held_from(0)], XEOMIN, 35 * MIN, 10 * MIN, now) == []
    # Without the allowance the same hours put it under review, as before.
    [found] = exposure.exposures(readings, [held_from(0)], NO_ALLOWANCE, 35 * MIN, 10 * MIN, now)
    assert found.out_of_range == 4 * HOUR


def test_room_temperature_product_leaving_15_to_30_degrees_is_exposed_at_once():
    readings = room(1, peak=31.0)
    now = m(7 * 24 * 60)
    [found] = exposure.exposures(readings, [held_from(0)], XEOMIN, 35 * MIN, 10 * MIN, now)
    assert (found.peak_c, found.out_of_range) == (31.0, HOUR)


def test_room_temperature_product_is_exposed_once_its_mkt_goes_above_25():
    # Received into a cabinet that then holds 28 °C: within 15..30, but the MKT of the stay passes 25 at once.
    readings = steady(0, 6 * 60, 28.0) + [(m(360), 22.0)] + steady(375, 600, 22.0)
    [found] = exposure.exposures(readings, [held_from(0)], XEOMIN, 35 * MIN, 10 * MIN, m(600))
    assert (found.start, found.end, found.peak_c) == (m(0), m(360), 28.0)
    # A stay mostly at 22 °C absorbs a few hours at 28 °C: its MKT stays below 25.
    calm = steady(0, 3 * 24 * 60, 22.0) + steady(3 * 24 * 60, 3 * 24 * 60 + 180, 28.0)
    assert exposure.exposures(calm, [held_from(0)], XEOMIN, 35 * MIN, 10 * MIN, m(3 * 24 * 60 + 180)) == []


def test_opened_vials_get_no_room_temperature_allowance():
    readings = steady(0, 120, 5.0) + steady(120, 240, 16.0) + [(m(240), 16.0)]
    opened = Holding(1, 2, 2, m(0), None)
    [found] = exposure.exposures(readings, [opened], XEOMIN, 35 * MIN, 10 * MIN, m(240))
    assert found.start == m(120)


# --- the fridge and its lots agree ------------------------------------------------------------------

BOTOX = Product("Botox", (StorageRange(2.0, 8.0),))


def test_a_lot_and_its_fridge_agree_about_when_the_excursion_happened():
    readings = (steady(0, 60, 5.0, every=5) + steady(60, 150, 9.0, every=5) + steady(150, 300, 7.9, every=5)
                + steady(300, 330, 9.0, every=5) + steady(330, 600, 7.9, every=5))
    now = m(600)
    fridge = [(e.start, e.end) for e in kinds(episodes(CDC, readings, now=now), "excursion")]
    lot = [(e.start, e.end) for e in exposure.exposures(readings, [held_from(-60)], BOTOX, CDC.allowed_gap,
                                                         CDC.clear_delay, now, settle=CDC.settle_time,
                                                         hysteresis_c=CDC.hysteresis_c)]
    assert fridge == lot == [(m(60), m(150)), (m(300), m(330))]


# --- properties -------------------------------------------------------------------------------------

VALUES = [-1.0, 1.9, 2.0, 2.2, 5.0, 7.7, 7.9, 8.0, 8.1, 9.5]
PROFILES = [CDC, WHO, AlarmProfile("quick", 2.0, 8.0, (
    Rule("heat", "high", 8.0, duration=timedelta(minutes=20)),
    Rule("cold", "low", 2.0, "cumulative", timedelta(minutes=30), timedelta(hours=2), "warning"),
), clear_delay=timedelta(0), allowed_gap=timedelta(minutes=20), settle_time=timedelta(minutes=15))]


@st.composite
def traces(draw):
    offsets = sorted(draw(st.lists(st.integers(0, 12 * 60), min_size=1, max_size=50, unique=True)))
    values = draw(st.lists(st.sampled_from(VALUES), min_size=len(offsets), max_size=len(offsets)))
    return [(m(o), v) for o, v in zip(offsets, values, strict=True)]


def alarm_cover(found, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """Per kind, the stretches during which an alarm stood (from its alarm time to the episode's end)."""
    return [(e.kind, e.alarm_at, e.end or now) for e in found if e.alarm_at is not None]


def covered(cover, kind: str, instant: datetime) -> bool:
    return any(k == kind and a <= instant <= b for k, a, b in cover)


@settings(max_examples=150, deadline=None)
@given(traces(), st.sampled_from(PROFILES), st.randoms(), st.integers(1, 5))
def test_shuffled_or_batched_readings_raise_the_same_alarms(readings, profile, rnd, batches):
    now = max(at for at, _ in readings) + timedelta(minutes=5)
    whole = episodes(profile, readings, now=now)
    shuffled = readings[:]
    rnd.shuffle(shuffled)
    assert episodes(profile, shuffled, now=now) == whole
    # Arriving in batches, each judged up to its newest reading: once all have arrived, the judgement is
    # the whole one, whatever the earlier batches saw (an alarm is never lost to the order of arrival).
    received: list[tuple[datetime, float]] = []
    for k in range(batches):
        received += shuffled[k::batches]
    assert episodes(profile, received, now=now) == whole
    # A logger's buffer uploaded in pieces, in time order: every alarm a piece raised still stands at the end.
    final_cover = alarm_cover(whole, now)
    size = max(1, len(readings) // batches)
    for upto in range(size, len(readings) + 1, size):
        newest = readings[upto - 1][0]
        for kind, alarm_at, _end in alarm_cover(episodes(profile, readings[:upto], now=newest), newest):
            assert covered(final_cover, kind, alarm_at)
    assert len(alarm_cover(episodes(profile, received, now=now), now)) == len(alarm_cover(whole, now))


@settings(max_examples=200, deadline=None)
@given(traces(), st.sampled_from(PROFILES), st.data())
def test_a_hole_bounded_by_readings_beyond_never_lowers_the_alarms(readings, profile, data):
    now = max(at for at, _ in readings) + timedelta(minutes=5)
    condition = data.draw(st.sampled_from([("excursion", lambda t: not profile.in_range(t))]
                                          + [(r.name, r.beyond) for r in profile.rules]))
    kind, beyond = condition
    marks = [i for i, (_, v) in enumerate(readings) if beyond(v)]
    if len(marks) < 2:
        return
    i, j = sorted(data.draw(st.lists(st.sampled_from(marks), min_size=2, max_size=2, unique=True)))
    holed = readings[:i + 1] + readings[j:]  # the readings between two readings beyond are lost
    before = alarm_cover(episodes(profile, readings, now=now), now)
    after = alarm_cover(episodes(profile, holed, now=now), now)
    for k, alarm_at, end in before:
        if k != kind:
            continue
        # Every instant under alarm before is still under alarm (an alarm may only come sooner or last longer).
        assert covered(after, k, alarm_at) and covered(after, k, end)
    assert sum(1 for k, *_ in after if k == kind) >= (1 if any(k == kind for k, *_ in before) else 0)


@settings(max_examples=200, deadline=None)
@given(traces(), st.sampled_from(PROFILES), st.sampled_from([2.1, 5.0, 7.9, 8.0]), st.integers(0, 12 * 60),
       st.integers(0, 120))
def test_a_stretch_in_range_longer_than_the_settle_time_always_ends_an_episode(readings, profile, inside, cut,
                                                                              extra):
    if not profile.in_range(inside):
        return
    length = max(profile.settle_time, profile.clear_delay) + timedelta(minutes=extra)
    steps = int(length / timedelta(minutes=5)) + 1
    at = m(cut)
    stretch = [(at + timedelta(minutes=5 * k), inside) for k in range(steps + 1)]
    shift = stretch[-1][0] - at + timedelta(minutes=5)
    trace = ([r for r in readings if r[0] < at] + stretch
             + [(t + shift, v) for t, v in readings if t >= at])
    now = max(t for t, _ in trace) + timedelta(minutes=5)
    for episode in episodes(profile, trace, now=now):
        beyond_inside = next((r.beyond(inside) for r in profile.rules if r.name == episode.kind), False)
        if beyond_inside:
            continue  # e.g. WHO heat "at or above 8.0": 8.0 is beyond that rule, not a return inside
        if episode.start < at:
            assert episode.end is not None and episode.end <= at
