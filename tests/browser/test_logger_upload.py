"""A nurse drops two data-logger files on the fridge page at once and sees what they added: the new readings,
the device days and the logger's own alarm — in headless Chromium against a real server."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sensors.logger_files import fridge_tag_report, logtag_csv

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_nurse_uploads_two_logger_files_and_sees_readings_days_and_the_alarm(artifacts, clinic, serve,
                                                                             signed_in_page, tmp_path):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Vaccines", "native:vaccines-probe",
                            now=NOW - timedelta(days=6))
    add_users(engine, {"nina": "nurse"}, NOW, password="nurse-password-1")
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=4), datetime.min.time())
    minutes = [9.5 if 1440 + 480 <= i < 1440 + 1140 else round(5.0 + math.sin(i / 97), 1) for i in range(4920)]
    tag = tmp_path / "130500109088_202612061014.txt"
    tag.write_bytes(fridge_tag_report("130500109088", start, minutes))
    backup = tmp_path / "LogTag_D0C500100160.csv"
    backup.write_bytes(logtag_csv("D0C500100160", start, [5.0] * 600))
    base = serve(config, engine)
    page = signed_in_page(base, "nina", "nurse-password-1")

    page.goto(f"{base}/fridges/Vaccines")
    page.set_input_files("#logger-files-input", [str(tag), str(backup)])
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="Logger files imported into Vaccines").wait_for()
    page.screenshot(path=str(artifacts / "logger-upload-results.png"), full_page=True)
    rows = page.locator("table.import-results tbody tr")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "984 of 984" in first and "4 of 4" in first  # new readings, device days
    assert "Logger alarm: above 8.0 °C for 600 min (fridgetag:130500109088)" in first
    assert "600 of 600" in second and "logtag:D0C500100160 (backup)" in second

    page.get_by_role("link", name="See the fridge's files and device days").click()
    warm = (start + timedelta(days=1)).date()
    day = page.locator(f"table.device-days tr[data-day='{warm.isoformat()}']")
    day.wait_for()
    assert "9.5 °C" in day.inner_text() and "logger-heat: 660 min (alarm)" in day.inner_text()
    assert page.locator("table.logger-files tbody tr").count() == 2
    page.screenshot(path=str(artifacts / "logger-fridge-page.png"), full_page=True)
