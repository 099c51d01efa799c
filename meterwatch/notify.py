"""Alert sinks: where new and updated alerts go after a scoring run.

A sink is anything with ``send(alerts, language)``. The local outbox (JSON lines in the lake)
and the console summary live here; the SNS sink of the AWS deployment renders its e-mail
with :func:`render_alert_message`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import urlencode

import pandas as pd

from meterwatch.i18n import alert_evidence, fmt_time, kind_label, render
from meterwatch.storage.base import Lake
from meterwatch.tables import now_utc
from meterwatch.tariffs import Tariffs

__all__ = [
    "ConsoleSink",
    "OutboxSink",
    "alerts_for_operators",
    "kind_label",
    "render_alert_message",
    "worth_sending",
]

SEVERITY_LABELS = {
    "high": {"es": "alta", "en": "high"},
    "medium": {"es": "media", "en": "medium"},
    "low": {"es": "baja", "en": "low"},
}
_TEXT = {
    "subject": {
        "es": "meterwatch: {n} alerta(s) de pérdidas, {kwh:,.0f} kWh estimados",
        "en": "meterwatch: {n} loss alert(s), {kwh:,.0f} kWh estimated",
    },
    "intro": {
        "es": "Clientes a inspeccionar, del más al menos valioso:",
        "en": "Customers to inspect, most valuable visit first:",
    },
    "line": {
        "es": "{rank}. {client} ({sector}) · {kind} · severidad {severity} · pérdida estimada {kwh:,.0f} kWh · {start} a {end}",
        "en": "{rank}. {client} ({sector}) · {kind} · {severity} severity · estimated loss {kwh:,.0f} kWh · {start} to {end}",
    },
    "subject_withdrawn": {
        "es": "meterwatch: {n} alerta(s) retirada(s)",
        "en": "meterwatch: {n} alert(s) withdrawn",
    },
    "withdrawn": {
        "es": "Alertas retiradas: los datos de los días siguientes ya no las sostienen, no requieren visita.",
        "en": "Alerts withdrawn: the data of the following days no longer supports them; no visit needed.",
    },
    "withdrawn_line": {
        "es": "- {client} ({sector}) · {kind} · {start} a {end} · retirada",
        "en": "- {client} ({sector}) · {kind} · {start} to {end} · withdrawn",
    },
    "updated": {"es": " · actualizada", "en": " · updated"},
    "link": {"es": "Ver en el tablero: {url}", "en": "Open the dashboard: {url}"},
    "footer": {
        "es": "Registre el resultado de cada inspección en el tablero (pérdida confirmada, falsa alarma, falla de medidor).",
        "en": "Record each inspection's outcome in the dashboard (confirmed loss, false alarm, meter fault).",
    },
}


#: Kinds worth a message even without an estimated loss: the meter itself is wrong.
ALWAYS_SENT_KINDS = frozenset({"stopped_meter", "reverse_energy", "flat_reporting"})


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


STATUS_LABELS = {
    "open": {"es": "abierta", "en": "open"},
    "closed": {"es": "cerrada", "en": "closed"},
    "withdrawn": {"es": "retirada", "en": "withdrawn"},
}
#: The operator export's columns: (es, en) header of each.
OPERATOR_COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("Prioridad", "Priority"),
    "alert_id": ("Alerta", "Alert"),
    "client_id": ("Cliente", "Customer"),
    "sector": ("Sector", "Sector"),
    "kind": ("Tipo", "Kind"),
    "severity": ("Severidad", "Severity"),
    "status": ("Evento", "Event"),
    "window_start": ("Desde", "From"),
    "window_end": ("Hasta", "To"),
    "n_hours": ("Horas", "Hours"),
    "lost_kwh_estimate": ("Pérdida estimada (kWh)", "Estimated loss (kWh)"),
    "loss_pen": ("Pérdida estimada (S/)", "Estimated loss (PEN)"),
    "confidence": ("Confianza (%)", "Confidence (%)"),
    "evidence": ("Evidencia", "Evidence"),
}


def alerts_for_operators(
    alerts: pd.DataFrame, language: str = "es", tariffs: Tariffs | None = None
) -> pd.DataFrame:
    """The alerts as an operator reads them in a spreadsheet: headers, kinds, severities and
    the evidence sentence in ``language``, days and hours as it writes them, the loss in soles.
    """
    lang = language if language in ("es", "en") else "es"
    tariffs = tariffs or Tariffs()
    ranked = alerts.sort_values("rank") if "rank" in alerts else alerts
    params = ranked["params"] if "params" in ranked else pd.Series(None, index=ranked.index)
    out = pd.DataFrame(
        {
            "rank": ranked["rank"],
            "alert_id": ranked["alert_id"],
            "client_id": ranked["client_id"],
            "sector": ranked["sector"],
            "kind": [kind_label(str(k), lang) for k in ranked["kind"]],
            "severity": [SEVERITY_LABELS.get(str(v), {}).get(lang, v) for v in ranked["severity"]],
            "status": [STATUS_LABELS.get(str(v), {}).get(lang, v) for v in ranked["status"]],
            "window_start": [fmt_time(pd.Timestamp(v), lang) for v in ranked["window_start"]],
            "window_end": [fmt_time(pd.Timestamp(v), lang) for v in ranked["window_end"]],
            "n_hours": ranked["n_hours"],
            "lost_kwh_estimate": pd.to_numeric(ranked["lost_kwh_estimate"]).round(0),
            "loss_pen": tariffs.loss_pen(ranked).round(0) if len(ranked) else [],
            "confidence": (100 * pd.to_numeric(ranked["confidence"])).round(0),
            "evidence": [
                alert_evidence(k, p, e, lang)
                for k, p, e in zip(ranked["kind"], params, ranked["evidence"], strict=True)
            ],
        }
    )
    which = 1 if lang == "en" else 0
    return out.rename(columns={k: v[which] for k, v in OPERATOR_COLUMNS.items()})


class AlertSink(Protocol):
    """Receives the alerts a scoring run created or updated."""

    def send(self, alerts: pd.DataFrame, language: str) -> None: ...


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
    lang = language if language in ("es", "en") else "es"
    ranked = alerts.sort_values("rank") if "rank" in alerts else alerts
    gone = (
        ranked["status"].astype(str).eq("withdrawn")
        if "status" in ranked
        else pd.Series(False, index=ranked.index)
    )
    active, withdrawn = ranked[~gone], ranked[gone]
    total = float(active["lost_kwh_estimate"].fillna(0).sum()) if len(active) else 0.0
    if len(active) or not len(withdrawn):
        subject = render(_TEXT["subject"][lang], lang, n=len(active), kwh=total)
    else:
        subject = render(_TEXT["subject_withdrawn"][lang], lang, n=len(withdrawn))
    lines = [_TEXT["intro"][lang], ""] if len(active) else []
    for row in active.itertuples(index=False):
        start, end = _window(row, lang)
        lost = row.lost_kwh_estimate
        kwh = float(lost) if isinstance(lost, (int, float)) and lost == lost else 0.0
        # an alert sent before and sent again (it grew, ended or got more severe) says so
        again = _TEXT["updated"][lang] if _was_sent_before(row) else ""
        lines.append(
            render(
                _TEXT["line"][lang], lang,
                rank=row.rank, client=row.client_id, sector=row.sector or "-",
                kind=kind_label(str(row.kind), lang),
                severity=SEVERITY_LABELS.get(str(row.severity), {}).get(lang, row.severity),
                kwh=kwh, start=start, end=end,
            ) + again
        )  # fmt: skip
        evidence = alert_evidence(row.kind, getattr(row, "params", None), row.evidence, lang)
        lines.append(f"   {evidence}")
        if dashboard_url:
            lines.append(f"   {_alert_url(dashboard_url, row.alert_id)}")
    if len(withdrawn):
        if lines:
            lines.append("")
        lines.append(_TEXT["withdrawn"][lang])
        for row in withdrawn.itertuples(index=False):
            start, end = _window(row, lang)
            lines.append(
                _TEXT["withdrawn_line"][lang].format(
                    client=row.client_id, sector=row.sector or "-",
                    kind=kind_label(str(row.kind), lang), start=start, end=end,
                )
            )  # fmt: skip
            if dashboard_url:
                lines.append(f"   {_alert_url(dashboard_url, row.alert_id)}")
    lines.append("")
    if dashboard_url:
        lines.append(_TEXT["link"][lang].format(url=dashboard_url))
    lines.append(_TEXT["footer"][lang])
    return subject, "\n".join(lines)


def _was_sent_before(row: Any) -> bool:
    created, updated = getattr(row, "created_at", None), getattr(row, "updated_at", None)
    if created is None or updated is None or pd.isna(created) or pd.isna(updated):
        return False
    return bool(pd.Timestamp(updated) > pd.Timestamp(created))


def _window(row: Any, lang: str) -> tuple[str, str]:
    start, end = pd.Timestamp(str(row.window_start)), pd.Timestamp(str(row.window_end))
    return fmt_time(start, lang), fmt_time(end, lang)


def _alert_url(dashboard_url: str, alert_id: Any) -> str:
    # Opens the dashboard on this alert (the URL names of meterwatch.dashboard.app).
    query = urlencode({"vista": "alertas", "alerta": str(alert_id)})
    return f"{dashboard_url.rstrip('/')}/?{query}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if pd.isna(value) if not isinstance(value, (list, dict)) else False:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


class OutboxSink:
    """Writes each batch of alerts as a JSON-lines object ``outbox/alerts-<UTC>.jsonl``."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.keys: list[str] = []

    def send(self, alerts: pd.DataFrame, language: str) -> None:
        alerts = worth_sending(alerts)
        if alerts.empty:
            return
        stamp = now_utc().strftime("%Y%m%dT%H%M%S%fZ")
        lines = [
            json.dumps({k: _jsonable(v) for k, v in row.items()}, ensure_ascii=False)
            for row in alerts.to_dict("records")
        ]
        key = f"outbox/alerts-{stamp}.jsonl"
        self.lake.put_object(key, ("\n".join(lines) + "\n").encode("utf-8"))
        self.keys.append(key)


class ConsoleSink:
    """Prints the ranked alerts (a rich ``Console`` or anything with ``print``)."""

    def __init__(self, console: Any, limit: int = 10) -> None:
        self.console = console
        self.limit = limit

    def send(self, alerts: pd.DataFrame, language: str) -> None:
        alerts = worth_sending(alerts)
        if alerts.empty:
            return
        subject, body = render_alert_message(alerts.sort_values("rank").head(self.limit), language)
        self.console.print(subject)
        self.console.print(body, markup=False) if _takes_markup(
            self.console
        ) else self.console.print(body)


def _takes_markup(console: Any) -> bool:
    return type(console).__module__.startswith("rich")
