"""A site's day, not UTC's: between the site's midnight and UTC's (Berlin is an hour or two ahead), the sensor
pages judge a calibration on the site's date, as the fridge's alerts do, and the export page offers the last
month that has ended at the sites."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from test_alert_pages import text
from test_calibration_register import form

import fridge_monitor.web.admin.sensors as sensors_view
import fridge_monitor.web.calibrations as calibrations_view
import fridge_monitor.web.exports as exports_view
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from sensors.calibration_certificates import certificate_pdf

from support import STAFF, client_for, clinic_app, clinic_config, csrf

NOW = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 December in Berlin
DUE = date(2026, 11, 30)  # due on UTC's today: at the site it expired at midnight


def test_the_sensor_pages_judge_a_calibration_on_the_site_s_day_as_its_alerts_do(database_url, engine_for,
                                                                                   monkeypatch):
    for view in (calibrations_view, sensors_view):
        monkeypatch.setattr(view, "now_utc", lambda: NOW)
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "s" * 40})
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=800))
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", NOW - timedelta(minutes=1), 5.0),
                                         NOW)]))
    admin = client_for(app, engine, "ada")
    url = "/calibration/native:a1"
    pdf = certificate_pdf("CAL-2025-41", laboratory="Thermo Lab GmbH", accreditation="DAkkS D-K-15070-01-00",
                          model="TempTrak 5", serial="SN-88412", calibrated_on=DUE - timedelta(days=365),
                          due_on=DUE, points=[(5, 5.1)], uncertainty_c=0.2)
    done = admin.post(url, data={**form("CAL-2025-41", DUE - timedelta(days=365), DUE, [("5", "5.1")], pdf=pdf),
                                 "csrf_token": csrf(admin)},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "Certificate CAL-2025-41 recorded for native:a1." in text(done)

    expired = f"not calibrated: certificate CAL-2025-41 expired on {DUE.isoformat()}"
    assert expired in text(admin.get(url))
    assert expired in text(admin.get("/admin/sensors"))
    Evaluator(engine, config, clock=lambda: NOW).everything()
    with engine.connect() as conn:
        raised = conn.execute(sa.select(m.Alert.kind, m.Alert.state).where(m.Alert.kind.like("calibration%"))).all()
    assert [tuple(row) for row in raised] == [("calibration-expired", "open")]


def test_the_export_page_offers_the_last_month_ended_at_the_sites(database_url, engine_for, monkeypatch):
    monkeypatch.setattr(exports_view, "now_utc", lambda: NOW)
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A"}], database_url, web={"secret_key": "s" * 40})
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=800))
    page = client_for(app, engine, "aldo").get("/exports/").get_data(as_text=True)
    # November has ended in Berlin, though not yet in UTC.
    assert 'name="from" value="2026-11-01"' in page and 'name="to" value="2026-11-30"' in page


def test_a_certificate_dated_today_at_the_site_is_not_in_the_future(database_url, engine_for, monkeypatch):
    monkeypatch.setattr(calibrations_view, "now_utc", lambda: NOW)
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "s" * 40})
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=800))
    admin = client_for(app, engine, "ada")
    site_today = date(2026, 12, 1)  # calibrated this morning in Berlin; still 30 November in UTC
    pdf = certificate_pdf("CAL-2026-88", laboratory="Thermo Lab GmbH", accreditation="DAkkS D-K-15070-01-00",
                          model="TempTrak 5", serial="SN-88412", calibrated_on=site_today,
                          due_on=site_today + timedelta(days=365), points=[(5, 5.1)], uncertainty_c=0.2)
    done = admin.post("/calibration/native:a1",
                      data={**form("CAL-2026-88", site_today, site_today + timedelta(days=365), [("5", "5.1")],
                                   pdf=pdf), "csrf_token": csrf(admin)},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "The calibration date is in the future." not in text(done)
    assert "Certificate CAL-2026-88 recorded for native:a1." in text(done)
    assert "calibrated (certificate CAL-2026-88, due 2027-12-01" in text(done)
