"""Inspection feedback on alerts: what the field visit found.

Feedback is append-only: a new verdict on an alert adds a row, the history stays, and the
alert's current inspection status is its latest row (see ``queries.alerts_inbox``).
"""

from __future__ import annotations

import uuid

import pandas as pd

from meterwatch.queries import FEEDBACK_STATUSES, run_query
from meterwatch.storage.base import Lake
from meterwatch.tables import now_utc

MAX_NOTE = 2000
MAX_AUTHOR = 120


def record_feedback(lake: Lake, alert_id: str, status: str, note: str, author: str) -> str:
    """Append one inspection verdict on an alert and return its ``feedback_id``.

    Parameters
    ----------
    lake
        The lake holding the alert.
    alert_id
        The alert the verdict is about; it must exist.
    status
        One of :data:`meterwatch.queries.FEEDBACK_STATUSES`.
    note
        Free text (what was found), may be empty; trimmed to 2,000 characters.
    author
        Who records it; required, so every verdict can be traced to a person.

    Raises
    ------
    ValueError
        For an unknown status, an empty author or an alert that is not in the lake.
    """
    if status not in FEEDBACK_STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {FEEDBACK_STATUSES}")
    author = (author or "").strip()
    if not author:
        raise ValueError("author is required")
    alert = run_query(lake, "alert", alert_id=alert_id)
    if alert.empty:
        raise ValueError(f"unknown alert {alert_id!r}")
    feedback_id = uuid.uuid4().hex
    row = pd.DataFrame(
        {
            "feedback_id": [feedback_id],
            "alert_id": [alert_id],
            "client_id": [str(alert["client_id"].iloc[0])],
            "status": [status],
            "note": [(note or "").strip()[:MAX_NOTE]],
            "author": [author[:MAX_AUTHOR]],
            "created_at": [now_utc()],
        }
    )
    with lake.transaction() as tx:
        tx.append("feedback", row)
    return feedback_id
