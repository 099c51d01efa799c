"""The message the alert recipients read: a ranked list with the evidence, in their language.

Rendered from the alert rows' codes and parameters when it is sent (:mod:`meterwatch.texts`);
a sink (outbox, console, the SNS topic's adapter) only delivers it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from meterwatch.alerts.render import alert_evidence, label
from meterwatch.texts import kind_label, language_of, t

__all__ = [
    "ALWAYS_SENT_KINDS",
    "AlertMessage",
    "alert_message",
    "batch_id",
    "render_alert_message",
    "worth_sending",
]

#: Kinds worth a message even without an estimated loss: the meter itself is wrong.
ALWAYS_SENT_KINDS = frozenset({"stopped_meter", "reverse_energy", "flat_reporting"})


@dataclass(frozen=True)
class AlertMessage:
    """One message about a batch of alerts, ready to deliver.

    Attributes
    ----------
    subject, body
        The text, in the recipients' language.
    batch_id
        The same for the same batch of alert versions (:func:`batch_id`): a delivery the
        outbox repeats after a crash can be recognised and dropped.
    dashboard_url
        The dashboard the body links to, if any.
    """

    subject: str
    body: str
    batch_id: str
    dashboard_url: str | None = None


def worth_sending(alerts: pd.DataFrame) -> pd.DataFrame:
    """The alerts a message carries: those with an estimated loss (at least 0.5 kWh, what
    the message writes as "1 kWh"), a defect of the meter itself (:data:`ALWAYS_SENT_KINDS`),
    and withdrawals. The others (a 0 kWh load-shape change) stay in the inbox, unmailed."""
    if alerts.empty:
        return alerts
    lost = pd.to_numeric(alerts["lost_kwh_estimate"], errors="coerce").fillna(0.0)
    keep = (lost >= 0.5) | alerts["kind"].astype(str).isin(ALWAYS_SENT_KINDS)
    if "status" in alerts:
        keep |= alerts["status"].astype(str).eq("withdrawn")
    return alerts[keep]


def batch_id(alerts: pd.DataFrame) -> str:
    """The same id for the same batch of alert versions (ids and ``updated_at``)."""
    updated = alerts["updated_at"] if "updated_at" in alerts else pd.Series("", index=alerts.index)
    keys = sorted(f"{a}@{u}" for a, u in zip(alerts["alert_id"], updated, strict=True))
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:128]


def alert_message(
    alerts: pd.DataFrame, language: str = "es", dashboard_url: str | None = None
) -> AlertMessage | None:
    """The message for the alerts :func:`worth_sending`; ``None`` when none is."""
    alerts = worth_sending(alerts)
    if alerts.empty:
        return None
    subject, body = render_alert_message(alerts, language, dashboard_url)
    return AlertMessage(subject, body, batch_id(alerts), dashboard_url)


def render_alert_message(
    alerts: pd.DataFrame, language: str = "es", dashboard_url: str | None = None
) -> tuple[str, str]:
    """Subject and body of the e-mail an operator reads: a ranked list with the evidence.

    Alerts with status ``withdrawn`` (a scoring run's revision no longer supports an alert
    that was announced) are listed apart at the end, so nobody drives to them.

    Parameters
    ----------
    alerts
        Rows of the ``alerts`` table (any order; listed by ``rank``).
    language
        ``es`` (default) or ``en``.
    dashboard_url
        Link to the dashboard, added at the end when given.
    """
    lang = language_of(language)
    ranked = alerts.sort_values("rank") if "rank" in alerts else alerts
    gone = (
        ranked["status"].astype(str).eq("withdrawn")
        if "status" in ranked
        else pd.Series(False, index=ranked.index)
    )
    active, withdrawn = ranked[~gone], ranked[gone]
    total = float(active["lost_kwh_estimate"].fillna(0).sum()) if len(active) else 0.0
    if len(active) or not len(withdrawn):
        subject = t("email.subject", lang, n=len(active), kwh=total)
    else:
        subject = t("email.subject_withdrawn", lang, n=len(withdrawn))
    lines = [t("email.intro", lang), ""] if len(active) else []
    for row in active.itertuples(index=False):
        lost = row.lost_kwh_estimate
        kwh = float(lost) if isinstance(lost, (int, float)) and lost == lost else 0.0
        # an alert sent before and sent again (it grew, ended or got more severe) says so
        again = t("email.updated", lang) if _was_sent_before(row) else ""
        lines.append(
            t(
                "email.line", lang,
                rank=row.rank, client=row.client_id, sector=row.sector or "-",
                kind=kind_label(str(row.kind), lang),
                severity=label("severity", row.severity, lang),
                kwh=kwh, start=_hour(row.window_start), end=_hour(row.window_end),
            ) + again
        )  # fmt: skip
        evidence = alert_evidence(
            row.kind, getattr(row, "params", None), getattr(row, "evidence", None), lang
        )
        lines.append(f"   {evidence}")
        if dashboard_url:
            lines.append(f"   {_alert_url(dashboard_url, row.alert_id)}")
    if len(withdrawn):
        if lines:
            lines.append("")
        lines.append(t("email.withdrawn", lang))
        for row in withdrawn.itertuples(index=False):
            lines.append(
                t(
                    "email.withdrawn_line", lang,
                    client=row.client_id, sector=row.sector or "-",
                    kind=kind_label(str(row.kind), lang),
                    start=_hour(row.window_start), end=_hour(row.window_end),
                )
            )  # fmt: skip
            if dashboard_url:
                lines.append(f"   {_alert_url(dashboard_url, row.alert_id)}")
    lines.append("")
    if dashboard_url:
        lines.append(t("email.link", lang, url=dashboard_url))
    lines.append(t("email.footer", lang))
    return subject, "\n".join(lines)


def _hour(value: Any) -> pd.Timestamp:
    return pd.Timestamp(str(value))


def _was_sent_before(row: Any) -> bool:
    created, updated = getattr(row, "created_at", None), getattr(row, "updated_at", None)
    if created is None or updated is None or pd.isna(created) or pd.isna(updated):
        return False
    return bool(pd.Timestamp(updated) > pd.Timestamp(created))


def _alert_url(dashboard_url: str, alert_id: Any) -> str:
    # Opens the dashboard on this alert (the URL names of meterwatch.dashboard.app).
    query = urlencode({"vista": "alertas", "alerta": str(alert_id)})
    return f"{dashboard_url.rstrip('/')}/?{query}"
