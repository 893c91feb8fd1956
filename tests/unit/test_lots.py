from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core.lots import (
    Change,
    Holding,
    Review,
    Status,
    Stock,
    expires_at,
    fefo,
    holdings,
    lot_status,
    review_state,
    status_in_zone,
    stock_status,
    take_next,
    unusable_reason,
    warning_horizon,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def stock(lot_id=1, lot_number="L1", expiry=date(2027, 1, 31), quantity=5, **kw):
    return Stock(lot_id=lot_id, lot_number=lot_number, expiry=expiry, quantity=quantity, product="Botox 100 U", **kw)


def test_a_lot_expiring_today_is_usable_until_local_midnight():
    expiry = date(2026, 3, 31)  # Berlin is on summer time (UTC+2) from 29 March 2026
    assert expires_at(expiry, BERLIN) == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert status_in_zone(expiry, datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC), BERLIN) is Status.EXPIRING
    assert status_in_zone(expiry, datetime(2026, 3, 31, 22, 0, tzinfo=UTC), BERLIN) is Status.EXPIRED
    # The same instant is still 31 March in New York (UTC-4): usable there.
    assert status_in_zone(expiry, datetime(2026, 4, 1, 3, 59, tzinfo=UTC), NEW_YORK) is Status.EXPIRING
    assert status_in_zone(expiry, datetime(2026, 4, 1, 4, 0, tzinfo=UTC), NEW_YORK) is Status.EXPIRED


def test_expiring_within_the_widest_horizon():
    today_noon = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert status_in_zone(date(2026, 6, 8), today_noon, UTC) is Status.EXPIRING   # 90 days
    assert status_in_zone(date(2026, 6, 9), today_noon, UTC) is Status.USABLE     # 91 days
    assert status_in_zone(date(2026, 6, 8), today_noon, UTC, horizons=(60, 14)) is Status.USABLE
    assert status_in_zone(date(2026, 6, 8), today_noon, UTC, horizons=()) is Status.USABLE


def test_warning_horizon_is_the_narrowest_one_reached():
    today = date(2026, 3, 10)
    assert warning_horizon(date(2026, 3, 10), today) == 7
    assert warning_horizon(date(2026, 3, 17), today) == 7
    assert warning_horizon(date(2026, 3, 18), today) == 30
    assert warning_horizon(date(2026, 6, 8), today) == 90
    assert warning_horizon(date(2026, 6, 9), today) is None
    assert warning_horizon(date(2026, 3, 9), today) is None
    assert warning_horizon(date(2026, 3, 20), today, (60, 14, 3)) == 14


def test_status_precedence():
    expired = date(2026, 3, 1)
    later = date(2027, 1, 31)
    assert status_in_zone(expired, NOW, UTC, review=Review.DISCARDED) is Status.DISCARDED
    assert status_in_zone(expired, NOW, UTC, review=Review.OPEN) is Status.EXPIRED
    past_bud = NOW - timedelta(minutes=1)
    assert status_in_zone(later, NOW, UTC, review=Review.OPEN, beyond_use_at=past_bud) is Status.BEYOND_USE
    assert status_in_zone(later, NOW, UTC, review=Review.OPEN) is Status.UNDER_REVIEW
    assert status_in_zone(date(2026, 4, 1), NOW, UTC, review=Review.RELEASED) is Status.EXPIRING
    assert status_in_zone(later, NOW, UTC, review=Review.RELEASED) is Status.RELEASED
    assert status_in_zone(later, NOW, UTC) is Status.USABLE
    assert [s.usable for s in Status] == [True, True, False, False, True, False, False]


def test_a_lot_as_a_whole_is_judged_in_every_zone_holding_it_and_past_beyond_use_when_all_it_holds_is():
    expiry = date(2026, 3, 31)
    at = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)  # 1 April in Berlin, still 31 March in New York
    assert lot_status(expiry, at, [NEW_YORK], []) is Status.EXPIRING
    assert lot_status(expiry, at, [NEW_YORK, BERLIN], []) is Status.EXPIRED
    later = date(2027, 1, 31)
    opened = stock(opened_vial_id=7, beyond_use_at=NOW - timedelta(minutes=1))
    assert lot_status(later, NOW, [BERLIN], [opened]) is Status.BEYOND_USE
    assert lot_status(later, NOW, [BERLIN], [opened, stock(quantity=0)]) is Status.BEYOND_USE
    assert lot_status(later, NOW, [BERLIN], [opened, stock()]) is Status.USABLE
    assert lot_status(later, NOW, [BERLIN], [opened], review=Review.OPEN) is Status.BEYOND_USE
    assert lot_status(later, NOW, [BERLIN], [opened], review=Review.DISCARDED) is Status.DISCARDED


def test_beyond_use_time_ends_an_opened_vial():
    opened = stock(opened_vial_id=7, opened_at=NOW - timedelta(hours=24), beyond_use_at=NOW)
    assert stock_status(opened, NOW - timedelta(seconds=1), BERLIN) is Status.USABLE
    assert stock_status(opened, NOW, BERLIN) is Status.BEYOND_USE
    assert unusable_reason(opened, NOW, BERLIN) == (
        "the opened vial of lot L1 (Botox 100 U) is past its beyond-use time (2026-03-10 10:00): discard it")


def test_reasons_for_staff():
    assert unusable_reason(stock(), NOW, UTC) is None
    assert unusable_reason(stock(review=Review.OPEN), NOW, UTC) == (
        "lot L1 (Botox 100 U) is under review after an excursion (DO NOT USE until a disposition is recorded)")
    assert unusable_reason(stock(expiry=date(2026, 3, 9)), NOW, UTC) == (
        "lot L1 (Botox 100 U) expired on 2026-03-09: do not use it")
    assert "dispositioned for discard" in unusable_reason(stock(review=Review.DISCARDED), NOW, UTC)


def test_review_state_from_decisions():
    assert review_state([]) is Review.NONE
    assert review_state([None]) is Review.OPEN
    assert review_state(["released", None]) is Review.OPEN
    assert review_state(["released", "released"]) is Review.RELEASED
    assert review_state(["released", "discarded", None]) is Review.DISCARDED


def test_take_next_is_first_expiry_first_out():
    early = stock(lot_id=1, lot_number="EARLY", expiry=date(2026, 9, 30))
    late = stock(lot_id=2, lot_number="LATE", expiry=date(2027, 5, 31))
    assert take_next([late, early], NOW, BERLIN) == early
    assert [s.lot_number for s in fefo([late, early], NOW, BERLIN)] == ["EARLY", "LATE"]


def test_take_next_skips_what_must_not_be_used():
    expired = stock(lot_id=1, lot_number="EXPIRED", expiry=date(2026, 3, 9))
    reviewed = stock(lot_id=2, lot_number="REVIEW", expiry=date(2026, 4, 30), review=Review.OPEN)
    discarded = stock(lot_id=3, lot_number="DISCARD", expiry=date(2026, 4, 30), review=Review.DISCARDED)
    empty = stock(lot_id=4, lot_number="EMPTY", expiry=date(2026, 5, 31), quantity=0)
    released = stock(lot_id=5, lot_number="RELEASED", expiry=date(2026, 8, 31), review=Review.RELEASED)
    fine = stock(lot_id=6, lot_number="FINE", expiry=date(2026, 12, 31))
    assert take_next([fine, expired, reviewed, discarded, empty, released], NOW, BERLIN) == released
    assert take_next([expired, reviewed, discarded, empty], NOW, BERLIN) is None
    assert take_next([], NOW, BERLIN) is None


def test_expiring_today_is_still_taken_until_local_midnight():
    today = stock(lot_id=1, lot_number="TODAY", expiry=date(2026, 3, 10))
    later = stock(lot_id=2, lot_number="LATER", expiry=date(2026, 3, 11))
    before_midnight = datetime(2026, 3, 10, 22, 59, tzinfo=UTC)  # 23:59 in Berlin (UTC+1)
    assert take_next([later, today], before_midnight, BERLIN) == today
    assert take_next([later, today], before_midnight + timedelta(minutes=1), BERLIN) == later


def test_an_opened_vial_is_used_up_before_a_new_one_is_opened():
    sealed = stock(lot_id=1, lot_number="A", expiry=date(2026, 4, 30))
    opened = stock(lot_id=2, lot_number="B", expiry=date(2027, 1, 31), quantity=1, opened_vial_id=9,
                   opened_at=NOW - timedelta(hours=2), beyond_use_at=NOW + timedelta(hours=22))
    assert take_next([sealed, opened], NOW, BERLIN) == opened
    assert take_next([sealed, opened], NOW + timedelta(hours=22), BERLIN) == sealed  # past its beyond-use time


def test_holdings_follow_the_ledger():
    t = [datetime(2026, 3, 1, 8, 0, tzinfo=UTC) + timedelta(hours=h) for h in range(6)]
    changes = [
        Change(t[0], 10, 5),                 # receive 5 into fridge 10
        Change(t[1], 10, -2), Change(t[1], 20, 2),   # transfer 2 to fridge 20
        Change(t[2], 20, -1), Change(t[2], 20, 1, opened=True),  # reconstitute 1 in fridge 20
        Change(t[3], 20, -1, opened=True),   # the opened vial is used up
        Change(t[4], 10, -3),                # the rest of fridge 10 discarded
    ]
    assert holdings(changes) == [
        Holding(10, 5, 0, t[0], t[1]),
        Holding(10, 3, 0, t[1], t[4]),
        Holding(20, 2, 0, t[1], t[2]),
        Holding(20, 2, 1, t[2], t[3]),
        Holding(20, 1, 0, t[3], None),
    ]


def test_holdings_never_run_backwards_when_a_clock_did():
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    changes = [Change(t0, 1, 2), Change(t0 - timedelta(minutes=5), 1, -1), Change(t0 + timedelta(hours=1), 1, -1)]
    # The late-stamped entry counts at t0, so the two units held for no time leave no zero-length period.
    assert holdings(changes) == [Holding(1, 1, 0, t0, t0 + timedelta(hours=1))]
    assert holdings([]) == []
