"""The operator's alert e-mail."""

from __future__ import annotations

import pandas as pd

from meterwatch.detect.alerts import typed_alerts
from meterwatch.notify import render_alert_message


def alerts() -> pd.DataFrame:
    now = pd.Timestamp("2023-01-10", tz="UTC")
    return typed_alerts(
        pd.DataFrame(
            {
                "alert_id": ["b", "a"],
                "client_id": ["Cliente 2", "Cliente 7"],
                "sector": ["Agua", "Cacao"],
                "kind": ["under_registration", "stopped_meter"],
                "window_start": [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-01-03")],
                "window_end": [pd.Timestamp("2023-01-09"), pd.Timestamp("2023-01-08")],
                "anomaly_rate": [0.9, 1.0],
                "lost_kwh_estimate": [120.0, 2400.0],
                "severity": ["medium", "high"],
                "status": ["open", "open"],
                "evidence": ["Registra 20 % menos.", "Medidor detenido."],
                "created_at": [now, now],
                "updated_at": [now, now],
                "rank": [2, 1],
                "n_hours": [190, 120],
                "confidence": [0.6, 0.9],
                "params": ["{}", "{}"],
            }
        )
    )


def test_spanish_message_lists_alerts_by_rank_with_evidence_and_link() -> None:
    subject, body = render_alert_message(alerts(), dashboard_url="https://panel.example")
    assert "2 alerta(s)" in subject and "2,520 kWh" in subject
    assert body.index("Cliente 7") < body.index("Cliente 2")
    assert "Medidor detenido" in body and "Subregistro" in body
    assert "https://panel.example" in body


def test_english_message() -> None:
    subject, body = render_alert_message(alerts(), language="en")
    assert "loss alert" in subject and "Stopped meter" in body
