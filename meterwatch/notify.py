"""Moved to :mod:`meterwatch.alerts` (``sinks``, ``notification``, ``render``); these names stay
importable from here for the commands that still use them."""

from __future__ import annotations

from meterwatch.alerts.notification import (
    ALWAYS_SENT_KINDS,
    AlertMessage,
    alert_message,
    render_alert_message,
    worth_sending,
)
from meterwatch.alerts.render import alerts_for_operators
from meterwatch.alerts.sinks import AlertSink, ConsoleSink, OutboxSink
from meterwatch.texts import kind_label

__all__ = [
    "ALWAYS_SENT_KINDS",
    "AlertMessage",
    "AlertSink",
    "ConsoleSink",
    "OutboxSink",
    "alert_message",
    "alerts_for_operators",
    "kind_label",
    "render_alert_message",
    "worth_sending",
]
