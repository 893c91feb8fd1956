"""The roles a person signs in with; what each may do is declared per route (:mod:`fridge_monitor.web.access`)."""

from __future__ import annotations

ROLES = ("nurse", "supervisor", "auditor", "admin")
WHAT = {
    "nurse": "stock work, temperature checks and alerts",
    "supervisor": "a nurse's work, and signing each fridge-month's review",
    "auditor": "read-only: records, exports and the audit trail",
    "admin": "configuration and users, and everything a supervisor does",
}
