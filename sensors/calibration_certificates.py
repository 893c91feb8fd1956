"""A certificate of calibration as a laboratory issues it, as a one-page PDF: for the demo, tests and screenshots.

It carries what programmes ask a certificate to show (CDC Storage & Handling
Toolkit): the laboratory and its ISO/IEC 17025 accreditation, the device's
model and serial number, the calibration and due dates, the test points with
reference and measured values, the expanded uncertainty and the result. It is
marked as a simulation: no laboratory issued it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date


def certificate_pdf(number: str, *, laboratory: str, accreditation: str, model: str, serial: str,
                    calibrated_on: date, due_on: date, points: Sequence[tuple[float, float]], uncertainty_c: float,
                    result: str = "pass") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    page = Canvas(buffer, pagesize=A4, invariant=True)
    page.setTitle(f"Certificate of calibration {number}")
    x, y = 20 * mm, A4[1] - 25 * mm
    page.setFont("Helvetica-Bold", 16)
    page.drawString(x, y, "Certificate of Calibration")
    page.setFont("Helvetica", 10)
    lines = [f"Certificate number: {number}", f"Laboratory: {laboratory}",
             f"Accredited to ISO/IEC 17025: {accreditation}", f"Device: {model}, serial number {serial}",
             f"Calibration date: {calibrated_on.isoformat()}    Next calibration due: {due_on.isoformat()}",
             f"Expanded uncertainty (k=2): {uncertainty_c:g} °C", "", "Reference (°C)    Measured (°C)    Error (°C)"]
    lines += [f"{ref:>10.2f}        {measured:>10.2f}       {measured - ref:+.2f}" for ref, measured in points]
    lines += ["", f"Result: {result.upper()} (tolerance ±0.5 °C)", "",
              "SIMULATED for Fridge Monitor's demo and tests: not issued by any laboratory."]
    for line in lines:
        y -= 6 * mm
        page.drawString(x, y, line)
    page.showPage()
    page.save()
    return buffer.getvalue()
