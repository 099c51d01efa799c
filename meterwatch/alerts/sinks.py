"""Alert sinks: where new, withdrawn and grown alerts go after a scoring run.

A sink is anything with ``send(alerts, language)``: it receives alert rows (codes and
parameters, as stored) and renders what it delivers in ``language``. The local outbox (JSON
lines in the lake) and the console live here; the SNS topic's adapter
(:mod:`meterwatch.adapters.aws.sns`) publishes the same :class:`AlertMessage`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import pandas as pd

from meterwatch.alerts.notification import alert_message, worth_sending
from meterwatch.alerts.render import alert_evidence
from meterwatch.storage.base import Lake
from meterwatch.tables import now_utc

__all__ = ["AlertSink", "ConsoleSink", "OutboxSink"]


class AlertSink(Protocol):
    """Receives the alerts a scoring run created or updated."""

    def send(self, alerts: pd.DataFrame, language: str) -> None: ...


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if pd.isna(value) if not isinstance(value, (list, dict)) else False:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


class OutboxSink:
    """Writes each batch of alerts as a JSON-lines object ``outbox/alerts-<UTC>.jsonl``: each
    row as stored (codes and parameters) and its evidence written out (``evidence_text``)."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.keys: list[str] = []

    def send(self, alerts: pd.DataFrame, language: str) -> None:
        alerts = worth_sending(alerts)
        if alerts.empty:
            return
        stamp = now_utc().strftime("%Y%m%dT%H%M%S%fZ")
        lines = []
        for row in alerts.to_dict("records"):
            text = alert_evidence(row["kind"], row.get("params"), row.get("evidence"), language)
            line = {**{str(k): _jsonable(v) for k, v in row.items()}, "evidence_text": text}
            lines.append(json.dumps(line, ensure_ascii=False))
        key = f"outbox/alerts-{stamp}.jsonl"
        self.lake.put_object(key, ("\n".join(lines) + "\n").encode("utf-8"))
        self.keys.append(key)


class ConsoleSink:
    """Prints the message of the top ``limit`` alerts (a rich ``Console`` or anything with
    ``print``)."""

    def __init__(self, console: Any, limit: int = 10) -> None:
        self.console = console
        self.limit = limit

    def send(self, alerts: pd.DataFrame, language: str) -> None:
        top = worth_sending(alerts)
        message = alert_message(top.sort_values("rank").head(self.limit), language)
        if message is None:
            return
        self.console.print(message.subject)
        if type(self.console).__module__.startswith("rich"):
            self.console.print(message.body, markup=False)  # the body is text, not markup
        else:
            self.console.print(message.body)
