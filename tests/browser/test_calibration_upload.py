"""An admin records a certificate of calibration on a sensor's page, in headless Chromium: the fields, three test
points and the certificate's PDF; the sensor turns calibrated and the fridge page says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sensors.calibration_certificates import certificate_pdf

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)


def test_an_admin_uploads_a_certificate_with_test_points(artifacts, clinic, serve, signed_in_page, tmp_path):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Vaccines", "native:vaccines-probe", now=NOW)
    add_users(engine, {"ada": "admin"}, NOW, password="admin-password-1")
    today = NOW.date()
    calibrated, due = today - timedelta(days=3), today + timedelta(days=727)
    points = [(0.0, 0.1), (5.0, 5.2), (8.0, 7.8)]
    pdf = tmp_path / "CAL-2026-0412.pdf"
    pdf.write_bytes(certificate_pdf("CAL-2026-0412", laboratory="Thermo Lab GmbH", accreditation="DAkkS D-K-1",
                                    model="TempTrak 5", serial="SN-88412", calibrated_on=calibrated, due_on=due,
                                    points=points, uncertainty_c=0.2))
    base = serve(config, engine)
    page = signed_in_page(base, "ada", "admin-password-1")

    page.goto(f"{base}/fridges/Vaccines")
    page.get_by_role("link", name="not calibrated: no certificate recorded").click()
    page.get_by_role("heading", name="Calibration of native:vaccines-probe").wait_for()
    for label, value in (("Certificate number", "CAL-2026-0412"), ("Calibration laboratory", "Thermo Lab GmbH"),
                         ("Accreditation body", "DAkkS"),
                         ("Laboratory's ISO/IEC 17025 accreditation number", "D-K-15070-01-00"),
                         ("Calibration date", calibrated.isoformat()), ("Next calibration due", due.isoformat()),
                         ("Device model", "TempTrak 5"), ("Device serial number", "SN-88412"),
                         ("Expanded uncertainty (°C)", "0.2")):
        page.get_by_label(label).fill(value)
    for index, (reference, measured) in enumerate(points):
        page.locator(f"input[name=reference-{index}]").fill(str(reference))
        page.locator(f"input[name=measured-{index}]").fill(str(measured))
    page.set_input_files("input[name=file]", str(pdf))
    page.screenshot(path=str(artifacts / "calibration-form.png"), full_page=True)
    page.get_by_role("button", name="Record the certificate").click()

    page.get_by_text("Certificate CAL-2026-0412 recorded for native:vaccines-probe.").wait_for()
    assert page.locator("#calibration-status").inner_text() == (
        f"calibrated (certificate CAL-2026-0412, due {due.isoformat()})")
    card = page.locator('article.certificate[data-certificate="CAL-2026-0412"]')
    assert "passes" in card.inner_text() and "-0.20" in card.inner_text()  # 8.0 measured as 7.8
    page.screenshot(path=str(artifacts / "calibration-recorded.png"), full_page=True)
    with page.expect_download() as download:
        card.get_by_role("link", name="CAL-2026-0412.pdf").click()
    assert download.value.path().read_bytes() == pdf.read_bytes()
