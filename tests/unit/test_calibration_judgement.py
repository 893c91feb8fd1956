"""Certificates of calibration judged with literal certificates: passing, a point off by 0.6 °C, an uncertainty of
0.6 °C, past due; the alerts as one falls due; and a fridge's primary and backup devices."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from fridge_monitor.core.calibration import (
    Certificate,
    Limits,
    Point,
    calibrated_on,
    due_findings,
    pairing_warnings,
    passes,
    problems,
    status,
)

BERLIN = ZoneInfo("Europe/Berlin")
GOOD_POINTS = (Point(-0.0, 0.2), Point(5.0, 5.3), Point(8.0, 7.6))


def cert(number: str = "CAL-2026-0412", *, points: tuple[Point, ...] = GOOD_POINTS, uncertainty: float = 0.25,
         calibrated: date = date(2026, 3, 2), due: date = date(2028, 3, 2), result: str = "pass",
         cert_id: int = 1) -> Certificate:
    return Certificate(cert_id, "native:a1", number, "Thermo Lab GmbH", "DAkkS", "D-K-15070-01-00", calibrated, due,
                       "TempTrak 5", "SN-88412", points, uncertainty, result)


def test_a_certificate_within_half_a_degree_passes():
    assert problems(cert()) == []
    assert passes(cert(points=(Point(5.0, 5.5), Point(2.0, 1.5))))  # exactly ±0.5 °C is within


def test_a_point_off_by_0_6_degrees_fails():
    off = cert(points=(Point(5.0, 5.3), Point(8.0, 8.6)))
    assert problems(off) == ["at 8 °C it measured 8.6 °C, off by 0.60 °C (more than ±0.5 °C)"]
    assert passes(off, Limits(max_error_c=1.0))  # a programme that allows ±1 °C


def test_an_uncertainty_of_0_6_degrees_fails():
    assert problems(cert(uncertainty=0.6)) == ["its uncertainty 0.6 °C is more than 0.5 °C"]


def test_the_laboratory_s_fail_and_a_certificate_without_points_fail():
    assert problems(cert(result="fail", points=())) == ["the laboratory did not pass the device",
                                                        "it records no test point"]


def test_a_sensor_is_calibrated_by_its_newest_passing_certificate_until_it_is_due():
    older = cert("CAL-1", calibrated=date(2024, 3, 1), due=date(2026, 3, 1), cert_id=1)
    newer = cert("CAL-2", calibrated=date(2026, 2, 20), due=date(2028, 2, 20), cert_id=2)
    assert status([], date(2026, 6, 1)).text == "not calibrated: no certificate recorded"
    assert status([older, newer], date(2026, 6, 1)).text == "calibrated (certificate CAL-2, due 2028-02-20)"
    assert status([older], date(2026, 6, 1)).text == "not calibrated: certificate CAL-1 expired on 2026-03-01"
    assert status([older], date(2026, 3, 1)).calibrated  # the due date itself is still covered
    failing = cert("CAL-3", calibrated=date(2026, 5, 1), uncertainty=0.6, cert_id=3)
    assert status([newer, failing], date(2026, 6, 1)).text == (
        "not calibrated: certificate CAL-3 fails (its uncertainty 0.6 °C is more than 0.5 °C)")
    # Readings are judged by the certificate in force on their day.
    assert [calibrated_on([older, newer, failing], day) for day in (
        date(2025, 1, 1), date(2026, 2, 25), date(2026, 4, 30), date(2026, 5, 1), date(2023, 1, 1))] == [
        True, True, True, False, False]


def test_due_alerts_at_90_30_and_7_days_then_expired_by_the_site_calendar():
    due = date(2027, 3, 31)
    assert due_findings("native:a1", due, date(2026, 12, 30), BERLIN) == []  # 91 days
    stages = [(f.kind, f.rule, f.severity, f.title)
              for today in (date(2026, 12, 31), date(2027, 3, 1), date(2027, 3, 24), date(2027, 3, 31))
              for f in due_findings("native:a1", due, today, BERLIN)]
    assert stages == [
        ("calibration-due", "calibration-90d", "warning", "Calibration due in 90 days: sensor native:a1"),
        ("calibration-due", "calibration-30d", "warning", "Calibration due in 30 days: sensor native:a1"),
        ("calibration-due", "calibration-7d", "warning", "Calibration due in 7 days: sensor native:a1"),
        ("calibration-due", "calibration-7d", "warning", "Calibration due in 0 days: sensor native:a1"),
    ]
    expired = due_findings("native:a1", due, date(2027, 4, 3), BERLIN)
    assert [(f.kind, f.severity, f.start) for f in expired] == [
        ("calibration-expired", "alarm", datetime(2027, 3, 31, 22, 0, tzinfo=UTC))]  # 1 April, 00:00 CEST
    assert expired[0].detail.startswith("The calibration of sensor native:a1 was due on 2027-03-31 (3 days ago)")
    assert due_findings("native:a1", None, date(2027, 4, 3), BERLIN) == []


def test_a_fridge_without_backup_or_with_both_due_together_is_warned():
    assert pairing_warnings(("native:a1", date(2027, 3, 31)), [])[0].startswith("This fridge has no backup sensor")
    assert pairing_warnings(("native:a1", date(2027, 3, 31)), [("native:b1", date(2027, 9, 30))]) == []
    assert pairing_warnings(("native:a1", date(2027, 3, 31)), [("native:b1", date(2027, 4, 20))]) == [
        "The primary sensor native:a1 and the backup native:b1 fall due for calibration within 30 days of each "
        "other (2027-03-31, 2027-04-20): stagger them, so that one is always in the unit."]


def test_the_moments_a_device_was_calibrated_run_from_the_site_s_midnights():
    older = cert("CAL-1", calibrated=date(2024, 3, 1), due=date(2026, 3, 1), cert_id=1)
    newer = cert("CAL-2", calibrated=date(2026, 3, 10), due=date(2028, 3, 10), cert_id=2)
    failing = cert("CAL-3", calibrated=date(2027, 1, 5), uncertainty=0.6, cert_id=3)
    from fridge_monitor.core.calibration import calibrated_spans

    assert calibrated_spans([older, newer, failing], BERLIN) == [
        (datetime(2024, 2, 29, 23, 0, tzinfo=UTC), datetime(2026, 3, 1, 23, 0, tzinfo=UTC)),  # 2 March, 00:00 CET
        (datetime(2026, 3, 9, 23, 0, tzinfo=UTC), datetime(2027, 1, 4, 23, 0, tzinfo=UTC))]
    assert calibrated_spans([newer], BERLIN) == [
        (datetime(2026, 3, 9, 23, 0, tzinfo=UTC), datetime(2028, 3, 10, 23, 0, tzinfo=UTC))]
    assert calibrated_spans([], BERLIN) == []
