"""The data-logger readers: Fridge-tag / Q-tag reports, LogTag Analyzer CSV, plain CSV, and local times."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fridge_monitor.core.loggers import (
    AlarmDay,
    AlarmSetting,
    DeviceDay,
    LoggerFileError,
    Point,
    detect,
    reached,
    read,
)
from fridge_monitor.core.loggers.alarms import (
    LoggedDay,
    alarm_findings,
    device_exposures,
    logger_episodes,
    overdue_finding,
)
from fridge_monitor.core.loggers.local_time import place

# A Fridge-tag 2 L report as the device writes it (CRLF, one space a level, TAB-led data rows).
FRIDGE_TAG_2L = "\r\n".join([
    "Device: Q-tag Fridge-tag 2 L",
    "Vers: 0.5",
    "Fw Vers: 4.0p0o",
    "Sensor: 1",
    "Conf:",
    " Serial: 130500109088",
    " Temp unit: C",
    " Logging Interval: 5",
    " Alarm:",
    "  0:",
    "   T AL: -0.5, t AL: 60",
    "  1:",
    "   T AL: +8.0, t AL: 600",
    " Test Res: 1, Test TS: 2022-02-02 06:54",
    "Hist:",
    " TS Actv: 2022-06-06 09:00",
    " TS Report Creation: 2022-06-08 10:14",
    " 1:",
    "  Date: 2022-06-08",
    "  Min T: +4.0, TS Min T: 00:42",
    "  Max T: +6.2, TS Max T: 09:52",
    "  Avrg T: +4.5",
    "  Alarm:",
    "   0:",
    "    t Acc: 0",
    "   1:",
    "    t Acc: 0",
    "  Int Sensor timeout:",
    "   t AccST: 0",
    "  Events: 0",
    " 2:",
    "  Date: 2022-06-07",
    "  Min T: +3.1, TS Min T: 04:05",
    "  Max T: +12.4, TS Max T: 14:30",
    "  Avrg T: +7.9",
    "  Alarm:",
    "   0:",
    "    t Acc: 0",
    "   1:",
    "    t Acc: 612, TS A: 21:55, C A: 1",
    "  Events: 16",
    "  Checked:",
    "   TS PM: 15:45",
    "Data:",
    "\tyyyy-MM-dd hh:mm\tT\tOut of limits",
    "\t2022-06-07 23:55\t8.4\tx",
    "\t2022-06-08 00:00\t--.-",
    "\t2022-06-08 00:05\t7.9",
    "\t2022-06-08 00:10\t-0.6\tx",
    "Cert:",
    " Vers: 1.0",
    " Issuer: Berlinger & Co. AG",
    " Public Key: d73cd26b",
    "Sig Cert: 6eef7b15",
    "Sig: c529ddd5",
    "",
])


def report(*, replace: tuple[str, str] | None = None) -> bytes:
    text = FRIDGE_TAG_2L if replace is None else FRIDGE_TAG_2L.replace(*replace)
    return text.encode()


def test_fridge_tag_header_alarms_days_data_and_trailer():
    d = read("fridgetag", report())
    assert (d.format, d.model, d.serial, d.firmware, d.unit) == (
        "fridgetag", "Q-tag Fridge-tag 2 L", "130500109088", "4.0p0o", "C")
    assert d.interval == timedelta(minutes=5)
    assert d.alarms == (AlarmSetting("0", "low", -0.5, 60), AlarmSetting("1", "high", 8.0, 600))
    assert d.created == datetime(2022, 6, 8, 10, 14)
    # Oldest first, each with the device's own extremes, their times and the alarms' minutes.
    assert d.days == (
        DeviceDay(date(2022, 6, 7), 31, 3.1, time(4, 5), 12.4, time(14, 30), 7.9,
                  (AlarmDay("0", 0), AlarmDay("1", 612, time(21, 55), 1)), 16),
        DeviceDay(date(2022, 6, 8), 18, 4.0, time(0, 42), 6.2, time(9, 52), 4.5,
                  (AlarmDay("0", 0), AlarmDay("1", 0)), 0),
    )
    # The "--.-" row is no reading; out-of-limits rows are marked.
    assert d.points == (
        Point(46, datetime(2022, 6, 7, 23, 55), 8.4, True),
        Point(48, datetime(2022, 6, 8, 0, 5), 7.9, False),
        Point(49, datetime(2022, 6, 8, 0, 10), -0.6, True),
    )
    assert d.signature is not None
    assert d.signature.startswith("Cert:\n Vers: 1.0") and d.signature.endswith("Sig: c529ddd5\n")


def test_an_alarm_is_reached_when_its_minutes_reach_the_delay():
    heat = AlarmSetting("1", "high", 8.0, 600)
    assert [reached(heat, minutes) for minutes in (0, 599, 600, 1440)] == [False, False, True, True]
    assert reached(AlarmSetting("0", "low", -0.5, 0), 1) and not reached(AlarmSetting("0", "low", -0.5, 0), 0)
    assert heat.rule == "logger-heat" and AlarmSetting("0", "low", -0.5, 60).rule == "logger-cold"


def test_a_fridge_tag_2_without_logging_has_history_only():
    text = FRIDGE_TAG_2L.split("Data:")[0] + "Cert:\r\n Vers: 1.0\r\nSig: 00\r\n"
    d = read("fridgetag", text.encode())
    assert d.points == () and [day.day for day in d.days] == [date(2022, 6, 7), date(2022, 6, 8)]


def test_fahrenheit_reports_become_celsius():
    text = (FRIDGE_TAG_2L.replace(" Temp unit: C", " Temp unit: F").replace("T AL: +8.0", "T AL: +46.4")
            .replace("Max T: +12.4", "Max T: +54.3").replace("\t8.4\tx", "\t47.1\tx"))
    d = read("fridgetag", text.encode())
    assert d.unit == "F"
    assert d.alarm("1") == AlarmSetting("1", "high", 8.0, 600)
    assert d.days[0].max_c == 12.39
    assert d.points[0].temperature_c == 8.39


def test_q_tag_alarm_types_give_direction_and_accumulation():
    text = FRIDGE_TAG_2L.replace(
        "  0:\r\n   T AL: -0.5, t AL: 60\r\n  1:\r\n   T AL: +8.0, t AL: 600",
        "  1:\r\n   Type: 2, T AL: 8.0, t AL: 30\r\n  2:\r\n   Type: 4, T AL: 8.0, t AL: 60\r\n"
        "  3:\r\n   Type: 0\r\n  4:\r\n   Type: 3, T AL: 2.0, t AL: 60")
    d = read("fridgetag", text.encode())
    assert d.alarms == (AlarmSetting("1", "high", 8.0, 30, False), AlarmSetting("2", "high", 8.0, 60, True),
                        AlarmSetting("4", "low", 2.0, 60, True))


@pytest.mark.parametrize(("damage", "message"), [
    (("Max T: +12.4", "Max T: +1x.4"), "line 34: maximum (Max T) '+1x.4' is not a number"),
    (("\t2022-06-08 00:05\t7.9", "\t2022-06-08 0:05 7.9"), "line 48: a data row needs a time and a temperature"),
    (("\t2022-06-08 00:05\t7.9", "\t08.06.2022 00:05\t7.9"), "line 48: time '08.06.2022 00:05' does not match"),
    (("  Date: 2022-06-07", "  Date: 2022-06-08"), "line 31: the history holds 2022-06-08 twice"),
    ((" Serial: 130500109088", " Serial:"), "line 5: the report's Conf section names no Serial"),
    (("   T AL: +8.0, t AL: 600", "   T AL: +8.0"), "line 12: alarm 1 has no limit (T AL) or delay (t AL)"),
    (("\t8.4\tx", "\t480\tx"), "line 46: temperature 480 °C is outside the plausible range"),
    (("Device: Q-tag", "Model: Q-tag"), "line 1: a Fridge-tag / Q-tag report begins with 'Device:'"),
])
def test_a_damaged_report_names_its_line(damage, message):
    with pytest.raises(LoggerFileError) as caught:
        read("fridgetag", report(replace=damage))
    assert str(caught.value).startswith(message)


LOGTAG_ISO = """Serial #,D0C500100160
Product,UTRED30-16
Description,Vaccine fridge 2
Reading interval,5 minutes
Non alert range,2.0  to  8.0 °C
Last reading,2024-11-15 08:10:00

Reading,Date,Time,Temperature (°C)
1,2024-11-15,08:00:00,4.5
2,2024-11-15,08:05:00,8.6
3,2024-11-15,08:10:00,
"""


def test_logtag_export_with_iso_dates():
    d = read("logtag", LOGTAG_ISO.encode())
    assert (d.format, d.model, d.serial, d.unit, d.interval) == (
        "logtag", "LogTag UTRED30-16", "D0C500100160", "C", timedelta(minutes=5))
    assert d.points == (Point(9, datetime(2024, 11, 15, 8, 0), 4.5), Point(10, datetime(2024, 11, 15, 8, 5), 8.6))
    assert d.notes == ()


def test_logtag_day_first_dates_are_recognised_or_assumed_and_said():
    shown = LOGTAG_ISO.replace("2024-11-15,", "15/11/2024,")
    d = read("logtag", shown.encode())
    assert d.points[0].local == datetime(2024, 11, 15, 8, 0)
    assert d.notes == ("dates read day-first (15/11/2024): as the dates show",)
    assumed = LOGTAG_ISO.replace("2024-11-15,", "05/11/2024,")
    d = read("logtag", assumed.encode())
    assert d.points[0].local == datetime(2024, 11, 5, 8, 0)
    assert d.notes == ("dates read day-first (15/11/2024): no date in the file tells day and month apart",)
    month_first = LOGTAG_ISO.replace("2024-11-15,", "11/15/2024,")
    assert read("logtag", month_first.encode()).points[1].local == datetime(2024, 11, 15, 8, 5)


def test_logtag_semicolons_decimal_commas_and_fahrenheit():
    text = ("Serial #;A1\r\nNon alert range;35,6  to  46,4 °F\r\nReading;Date;Time;Temperature (°F)\r\n"
            "1;15/11/2024;08:00:00;40,1\r\n")
    d = read("logtag", text.encode("latin-1"))
    assert d.unit == "F" and d.points == (Point(4, datetime(2024, 11, 15, 8, 0), 4.5),)


@pytest.mark.parametrize(("damage", "message"), [
    (("2,2024-11-15,08:05:00,8.6", "2,2024-11-15,8h05,8.6"), "line 10: time '8h05' is not a time of day"),
    (("2,2024-11-15,08:05:00,8.6", "2,2024-13-15,08:05:00,8.6"), "line 10: date '2024-13-15' is not a date"),
    (("2,2024-11-15,08:05:00,8.6", "2,2024-11-15,08:05:00,warm"), "line 10: temperature 'warm' is not a number"),
    (("Serial #,D0C500100160", "Logger,D0C500100160"), "the export names no logger (a 'Serial #' row)"),
    (("Reading,Date,Time,Temperature (°C)", "Reading,When"), "no column header (reading, date, time, temperature)"),
])
def test_a_damaged_logtag_export_names_its_line(damage, message):
    with pytest.raises(LoggerFileError) as caught:
        read("logtag", LOGTAG_ISO.replace(*damage).encode())
    assert str(caught.value).startswith(message)


def test_plain_csv_iso_or_a_given_time_format_and_errors_by_line():
    d = read("csv", b"time,temperature_c\n2026-03-01 08:00,4.2\n2026-03-01T08:05:00,4.4\n")
    assert d.points == (Point(2, datetime(2026, 3, 1, 8, 0), 4.2), Point(3, datetime(2026, 3, 1, 8, 5), 4.4))
    d = read("csv", b"time,temperature_f\n01/03/2026 08:00,39.2\n", time_format="%d/%m/%Y %H:%M")
    assert d.points == (Point(2, datetime(2026, 3, 1, 8, 0), 4.0),)
    with pytest.raises(LoggerFileError, match=r"^line 3: time '01/03/2026 08:05' does not match ISO 8601"):
        read("csv", b"time,temperature_c\n2026-03-01 08:00,4.2\n01/03/2026 08:05,4.4\n")
    with pytest.raises(LoggerFileError, match=r"^line 1: the header row must name a time column"):
        read("csv", b"when,value\n2026-03-01 08:00,4.2\n")
    with pytest.raises(LoggerFileError, match=r"^line 2: time '2026-03-01T08:00:00\+01:00' carries an offset"):
        read("csv", b"time,temperature_c\n2026-03-01T08:00:00+01:00,4.2\n")


def test_detect_tells_the_families_apart():
    assert detect("130500109088_202206081014.txt", report()) == "fridgetag"
    assert detect("export.csv", LOGTAG_ISO.encode()) == "logtag"
    assert detect("backup.csv", b"time,temperature_c\n") == "csv"
    assert detect("notes.txt", b"hello") is None


def test_binary_files_are_refused():
    with pytest.raises(LoggerFileError, match="not a text file"):
        read("fridgetag", b"%PDF-1.4\x00\x01")


BERLIN = ZoneInfo("Europe/Berlin")


def test_the_repeated_autumn_hour_is_told_apart_by_file_order():
    local = [datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 2, 45), datetime(2026, 10, 25, 2, 0),
             datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 3, 0)]
    placed = place([Point(i, t, 5.0) for i, t in enumerate(local, start=1)], BERLIN, "Europe/Berlin")
    assert [at for at, _celsius in placed] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC)]


def test_a_time_in_the_spring_gap_or_out_of_order_is_refused_by_line():
    with pytest.raises(LoggerFileError, match=r"^line 2: 2026-03-29 02:30 does not exist in Europe/Berlin"):
        place([Point(1, datetime(2026, 3, 29, 1, 55), 5.0), Point(2, datetime(2026, 3, 29, 2, 30), 5.0)],
              BERLIN, "Europe/Berlin")
    with pytest.raises(LoggerFileError, match=r"^line 2: 2026-03-01 07:55 is not later than the row before it"):
        place([Point(1, datetime(2026, 3, 1, 8, 0), 5.0), Point(2, datetime(2026, 3, 1, 7, 55), 5.0)],
              BERLIN, "Europe/Berlin")


HEAT = AlarmSetting("1", "high", 8.0, 600)
COLD = AlarmSetting("0", "low", -0.5, 60)


NO_COLD = AlarmDay("0", 0)


def logged(day: date, heat: AlarmDay, cold: AlarmDay = NO_COLD, *, max_c: float = 12.0,
           ends_at: datetime | None = None) -> LoggedDay:
    end = ends_at or datetime.combine(day + timedelta(days=1), time(0), BERLIN).astimezone(UTC)
    return LoggedDay("fridgetag:1", day, ends_at is None, end, 3.0, None, max_c, None, 6.0,
                     ((COLD, cold), (HEAT, heat)), 0, 1)


def test_device_alarms_one_alert_per_episode_carried_over_midnight():
    days = [
        logged(date(2026, 3, 1), AlarmDay("1", 300)),  # below the delay: no alarm
        logged(date(2026, 3, 2), AlarmDay("1", 612, time(21, 55), 1), max_c=12.4),
        logged(date(2026, 3, 3), AlarmDay("1", 1440, time(0, 0), 0), max_c=13.1),  # still alarming from the day before
        logged(date(2026, 3, 4), AlarmDay("1", 0)),
        logged(date(2026, 3, 5), AlarmDay("1", 700, None, None), max_c=9.0,  # reached, report written at 14:00
               ends_at=datetime(2026, 3, 5, 13, 0, tzinfo=UTC)),
    ]
    found = alarm_findings(logger_episodes(days, BERLIN))
    assert [(f.kind, f.rule, f.subject, f.severity, f.start, f.end, f.peak_c) for f in found] == [
        ("excursion", "logger-heat", "fridgetag:1", "alarm", datetime(2026, 3, 2, 20, 55, tzinfo=UTC),
         datetime(2026, 3, 3, 23, 0, tzinfo=UTC), 13.1),
        ("excursion", "logger-heat", "fridgetag:1", "alarm", datetime(2026, 3, 4, 23, 0, tzinfo=UTC),
         datetime(2026, 3, 5, 13, 0, tzinfo=UTC), 9.0),
    ]
    assert found[0].title == "Logger alarm: above 8.0 °C for 600 min (fridgetag:1)"
    assert found[0].detail.startswith("The logger fridgetag:1 counted 2052 min above 8.0 °C from 2026-03-02 to "
                                      "2026-03-03; its alarm 1 triggers after 600 min and triggered at 21:55")


def test_a_cold_alarm_names_the_lowest_reading():
    (found,) = alarm_findings(logger_episodes(
        [logged(date(2026, 3, 1), AlarmDay("1", 0), AlarmDay("0", 75, time(4, 10), 1))], BERLIN))
    assert (found.rule, found.low_c, found.peak_c) == ("logger-cold", 3.0, None)


def test_the_review_duty_warns_then_alarms():
    since = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    week = timedelta(days=7)
    assert overdue_finding(since, since, since + timedelta(days=6), week, BERLIN) is None
    warning = overdue_finding(since, since, since + timedelta(days=8), week, BERLIN)
    assert warning is not None
    assert (warning.kind, warning.severity, warning.start, warning.end) == (
        "logger-overdue", "warning", since + week, None)
    assert warning.title == "Logger download overdue: last on 2026-03-01"
    alarm = overdue_finding(None, since, since + timedelta(days=15), week, BERLIN)
    assert alarm is not None and alarm.severity == "alarm"
    assert alarm.title == "Logger download overdue: no file imported yet"


# A Q-tag CLm doc report: numbered alarms with types, a run summary (Res), an empty Marker table, and Data rows
# that end with a TAB whether or not they are marked.
Q_TAG = "\r\n".join([
    "Device: Q-tag CLm doc LR",
    "Vers: 1.9",
    "Fw Vers: 4.7.04o",
    "Sensor: 1",
    "Conf:",
    " Serial: QT000123",
    " User String 1:",
    " Logging Interval: 10",
    " Alarm:",
    "  1:",
    "   Type: 2, T AL: 8.0, t AL: 30",
    "  3:",
    "   Type: 0",
    "  5:",
    "   Type: 1, T AL: 2.0, t AL: 30",
    "Res:",
    " TS Start: 2026-03-01 04:49",
    " TS E:, T M: 9.5",
    " Min T: 1.6, TS Min T: 2026-03-01 05:09",
    "Marker:",
    "\tNumber\tT\tyyyy-MM-dd hh:mm\t",
    "Data:",
    "\tyyyy-MM-dd hh:mm\tT\tOut of limits",
    "\t2026-03-01 04:49\t4.4\t",
    "\t2026-03-01 04:59\t1.6\tx",
    "Cert:",
    " Vers: 1.0",
    "Sig: 00",
])


def test_q_tag_report_with_its_run_summary_and_marker_table():
    d = read("fridgetag", Q_TAG.encode())
    assert (d.model, d.serial, d.unit, d.interval) == ("Q-tag CLm doc LR", "QT000123", "C", timedelta(minutes=10))
    assert d.alarms == (AlarmSetting("1", "high", 8.0, 30, False), AlarmSetting("5", "low", 2.0, 30, False))
    assert d.days == ()
    assert d.points == (Point(24, datetime(2026, 3, 1, 4, 49), 4.4, False),
                        Point(25, datetime(2026, 3, 1, 4, 59), 1.6, True))
    with pytest.raises(LoggerFileError, match=r"^line 21: a table row outside the Data section"):
        read("fridgetag", Q_TAG.replace("Marker:\r\n", "Mark:\r\n").encode())


def test_device_alarm_episodes_expose_the_lots_held_then_whose_range_they_leave():
    from fridge_monitor.core.lots import Holding
    from fridge_monitor.core.products import Product, StorageRange

    days = [logged(date(2026, 3, 2), AlarmDay("1", 612, time(21, 55), 1), max_c=12.4)]
    (episode,) = logger_episodes(days, BERLIN)
    botox = Product("Botox", (StorageRange(2.0, 8.0),))
    room = Product("Room-stable", (StorageRange(2.0, 25.0),))
    came = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # the lot arrived after the alarm had triggered (20:55 UTC)
    held = [Holding(1, 4, 0, came, None)]
    (found,) = device_exposures([episode], held, botox)
    assert (found.start, found.end, found.out_of_range, found.peak_c, found.readings) == (
        came, datetime(2026, 3, 2, 23, 0, tzinfo=UTC), timedelta(hours=2), 12.4, 0)
    assert device_exposures([episode], held, room) == []  # 12.4 °C is inside its range
    assert device_exposures([episode], [Holding(1, 4, 0, came - timedelta(days=2), came - timedelta(days=1))],
                            botox) == []  # gone before the episode


def test_logtag_export_with_one_date_time_column_and_no_reading_numbers():
    text = ("Serial #,D0C500100160\nReading interval,00:05:00\nDate Time,Temperature (°C)\n"
            "15/11/2024 08:00:00,4.5\n15/11/2024 08:05:00,4.7\n")
    d = read("logtag", text.encode())
    assert d.interval == timedelta(minutes=5)
    assert d.points == (Point(4, datetime(2024, 11, 15, 8, 0), 4.5), Point(5, datetime(2024, 11, 15, 8, 5), 4.7))
    assert d.notes == ("dates read day-first (15/11/2024): as the dates show",)
