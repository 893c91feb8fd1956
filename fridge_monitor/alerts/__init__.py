"""Alerts: judging stored readings, alerts as staff handle them, notifications and the scheduler role."""
