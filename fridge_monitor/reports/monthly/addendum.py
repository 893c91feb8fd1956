"""The addendum to a signed month: what changed after it was signed, naming the signed copy by its SHA-256."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fridge_monitor.reports.monthly.text import plain


def filename(pdf_name: str) -> str:
    """``temperature-log-X-2026-11.pdf`` → ``temperature-log-X-2026-11-addendum.pdf``."""
    return pdf_name.removesuffix(".pdf") + "-addendum.pdf"


def render(*, fridge: str, month_name: str, timezone: str, signed_by: str, signed_at: datetime, pdf_sha256: str,
           signatures: Sequence[str], changes: Sequence[str], generated_by: str, now: datetime) -> bytes:
    """An A4 page (flowing on) listing each change since signing."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    base = ParagraphStyle("base", fontName="Helvetica", fontSize=8.5, leading=11)
    title = ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=14, leading=18)
    item = ParagraphStyle("item", parent=base, leftIndent=8, bulletIndent=0, spaceAfter=2)

    def para(text: str, style: ParagraphStyle = base, **kw: Any) -> Paragraph:
        return Paragraph(escape(plain(text)), style, **kw)

    tz = ZoneInfo(timezone)
    story: list[Any] = [
        para(f"Addendum to the signed monthly temperature log: {fridge} - {month_name}", title), Spacer(0, 3 * mm),
        para(f"The signed copy (SHA-256 {pdf_sha256}) was reviewed by {signed_by} on "
             f"{signed_at.astimezone(tz):%Y-%m-%d %H:%M %Z} and is unchanged. The records of the month changed after "
             f"it was signed, as listed below ({len(changes)} change(s)), compared with what the signed copy shows."),
        *(para(s) for s in signatures), Spacer(0, 3 * mm),
        *(para(change, item, bulletText="-") for change in changes), Spacer(0, 4 * mm),
        para(f"Generated {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by {generated_by} - Fridge Monitor. Times in "
             f"{timezone}."),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm,
                      bottomMargin=14 * mm, title=plain(f"Addendum {fridge} {month_name}"), author=plain(generated_by),
                      creator="Fridge Monitor", invariant=True).build(story)
    return buffer.getvalue()
