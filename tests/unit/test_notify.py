"""The operator's alert e-mail."""

from __future__ import annotations

import pandas as pd

from meterwatch.alerts.policy import typed_alerts
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
    assert "2 alerta(s)" in subject and "2\u202f520 kWh" in subject
    assert body.index("Cliente 7") < body.index("Cliente 2")
    assert "Medidor detenido" in body and "Subregistro" in body
    assert "https://panel.example" in body
    # each alert links to its own page in the dashboard (URL names of the dashboard's state)
    assert "https://panel.example/?vista=alertas&alerta=a" in body
    assert "https://panel.example/?vista=alertas&alerta=b" in body


def test_english_message() -> None:
    subject, body = render_alert_message(alerts(), language="en")
    assert "loss alert" in subject and "Stopped meter" in body


def test_a_withdrawn_alert_is_announced_apart_and_not_counted_as_a_visit() -> None:
    frame = alerts()
    frame.loc[frame["alert_id"] == "b", "status"] = "withdrawn"
    subject, body = render_alert_message(frame, dashboard_url="https://panel.example")
    assert "1 alerta(s)" in subject and "2\u202f400 kWh" in subject  # only the visit worth making
    retired = body.index("Alertas retiradas")
    assert body.index("Cliente 7") < retired < body.index("Cliente 2")
    assert "Registra 20 % menos." not in body  # its evidence no longer holds
    assert "https://panel.example/?vista=alertas&alerta=b" in body


def test_a_batch_of_withdrawals_only_says_so_in_the_subject() -> None:
    frame = alerts()
    frame["status"] = "withdrawn"
    subject, body = render_alert_message(frame, language="en")
    assert subject == "meterwatch: 2 alert(s) withdrawn"
    assert "Customers to inspect" not in body and "no visit needed" in body


def test_an_alert_sent_again_is_marked_updated() -> None:
    frame = alerts()
    frame.loc[frame["alert_id"] == "b", "updated_at"] = pd.Timestamp("2023-01-12", tz="UTC")
    _, body = render_alert_message(frame)
    line_b = next(line for line in body.splitlines() if "Cliente 2" in line)
    line_a = next(line for line in body.splitlines() if "Cliente 7" in line)
    assert line_b.endswith("· actualizada") and "actualizada" not in line_a


def test_the_evidence_is_written_in_the_readers_language_from_the_alert_params() -> None:
    """An alert raised in Spanish (stored sentence) e-mailed in English: the sentence is
    written again from its parameters; an alert without them keeps its stored sentence."""
    import json

    frame = alerts()
    params = {"loss_pct": 57.4, "start": "2022-11-28 19:00", "end": "2023-01-12 05:00",
              "n_hours": 1065, "lost_kwh": 2442.2, "reactive_change": True}  # fmt: skip
    frame.loc[frame["alert_id"] == "b", "params"] = json.dumps(params)
    frame.loc[frame["alert_id"] == "b", "evidence"] = "Registra 57 % menos ... 2,442 kWh."
    _, en = render_alert_message(frame, language="en")
    assert "about 2,442 kWh missing" in en and "(1,065 anomalous h)" in en
    assert "The reactive-to-active ratio changed." in en and "Registra" not in en
    assert "Medidor detenido." in en  # no parameters: the stored sentence
    _, es = render_alert_message(frame, language="es")
    assert "faltan unos 2\u202f442 kWh" in es and "La relación reactiva/activa cambió." in es


def test_an_alert_without_estimated_loss_stays_in_the_inbox_unless_the_meter_is_wrong() -> None:
    from meterwatch.notify import ConsoleSink

    frame = alerts()
    frame["kind"] = ["load_shape_change", "stopped_meter"]
    frame["lost_kwh_estimate"] = [0.0, 0.0]

    class Printer:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def print(self, text: str) -> None:
            self.lines.append(text)

    printer = Printer()
    ConsoleSink(printer).send(frame, "es")
    message = "\n".join(printer.lines)
    assert "1 alerta(s)" in message and "Medidor detenido" in message
    assert "Cambio de perfil horario" not in message
    printer.lines.clear()
    ConsoleSink(printer).send(frame[frame["kind"] == "load_shape_change"], "es")
    assert printer.lines == []


def test_the_message_labels_the_estimated_loss() -> None:
    _subject, body = render_alert_message(alerts())
    assert "· pérdida estimada 2\u202f400 kWh ·" in body
    _subject, body = render_alert_message(alerts(), "en")
    assert "· estimated loss 2,400 kWh ·" in body


def test_sns_fifo_topics_get_a_deduplication_id_per_batch() -> None:
    """The outbox delivers at least once: the same batch published twice carries the same
    deduplication id (a FIFO topic drops the repeat); a standard topic gets none."""
    import pandas as pd

    from meterwatch.adapters.aws.sns import SnsSink

    class Client:
        def __init__(self) -> None:
            self.calls: list[dict[str, object]] = []

        def publish(self, **kwargs: object) -> dict[str, str]:
            self.calls.append(kwargs)
            return {"MessageId": str(len(self.calls))}

    alerts = pd.DataFrame(
        {
            "alert_id": ["a1"], "client_id": ["Cliente 1"], "sector": [None],
            "kind": ["stopped_meter"], "window_start": [pd.Timestamp("2023-01-01")],
            "window_end": [pd.Timestamp("2023-01-03")], "anomaly_rate": [1.0],
            "lost_kwh_estimate": [120.0], "severity": ["high"], "status": ["open"],
            "evidence": ["x"], "created_at": [pd.Timestamp("2023-01-03", tz="UTC")],
            "updated_at": [pd.Timestamp("2023-01-03", tz="UTC")], "rank": [1],
            "n_hours": [48], "confidence": [0.9], "params": ["{}"],
        }
    )  # fmt: skip
    fifo, plain = Client(), Client()
    for _ in range(2):
        SnsSink("arn:aws:sns:us-east-1:1:alerts.fifo", client=fifo).send(alerts, "es")
    SnsSink("arn:aws:sns:us-east-1:1:alerts", client=plain).send(alerts, "es")
    ids = [c["MessageDeduplicationId"] for c in fifo.calls]
    assert ids[0] == ids[1] and fifo.calls[0]["MessageGroupId"] == "alerts"
    assert "MessageDeduplicationId" not in plain.calls[0]


def test_the_sns_adapter_publishes_the_message_the_core_rendered() -> None:
    """The SNS sink renders nothing: it fits a rendered message to SNS and publishes it."""
    from meterwatch.adapters.aws.sns import SUBJECT_LIMIT, SnsSink
    from meterwatch.alerts.notification import AlertMessage

    class Client:
        def __init__(self) -> None:
            self.calls: list[dict[str, object]] = []

        def publish(self, **kwargs: object) -> dict[str, str]:
            self.calls.append(kwargs)
            return {"MessageId": "m1"}

    client = Client()
    message = AlertMessage("meterwatch:  " + "x" * 200, "cuerpo", "id-1", "https://panel.example")
    SnsSink("arn:aws:sns:us-east-1:1:alerts.fifo", client=client).publish(message)
    (call,) = client.calls
    assert call["Message"] == "cuerpo" and call["MessageDeduplicationId"] == "id-1"
    assert len(str(call["Subject"])) == SUBJECT_LIMIT and "  " not in str(call["Subject"])
