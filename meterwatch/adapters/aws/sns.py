"""The SNS alert sink of the AWS deployment: one e-mail-ready message per scoring run."""

from __future__ import annotations

from typing import Any

import pandas as pd

SUBJECT_LIMIT = 100  # SNS rejects longer subjects
MESSAGE_LIMIT = 256 * 1024  # bytes


class SnsSink:
    """Publishes new and updated alerts to an SNS topic (e-mail subscribers read it).

    The message is :func:`meterwatch.notify.render_alert_message`'s ranked list with the
    estimated lost energy and a link to the dashboard, in the operators' language.

    Parameters
    ----------
    topic_arn
        The alert topic.
    dashboard_url
        Linked from the message.
    client
        A boto3 SNS client (default: one from the ambient session).
    """

    def __init__(
        self, topic_arn: str, dashboard_url: str | None = None, client: Any = None
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("sns")
        self.topic_arn = topic_arn
        self.dashboard_url = dashboard_url
        self.client = client
        self.message_ids: list[str] = []

    def send(self, alerts: pd.DataFrame, language: str) -> None:
        from meterwatch.notify import render_alert_message, worth_sending

        alerts = worth_sending(alerts)
        if alerts.empty:
            return

        subject, body = render_alert_message(alerts, language, self.dashboard_url)
        subject = " ".join(subject.split())
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 1] + "…"
        encoded = body.encode("utf-8")
        if len(encoded) > MESSAGE_LIMIT:
            # A fleet-wide first run can rank thousands of alerts: keep the top of the list.
            body = encoded[: MESSAGE_LIMIT - 200].decode("utf-8", "ignore").rsplit("\n", 1)[0]
            body += f"\n…\n{self.dashboard_url or ''}"
        extra: dict[str, Any] = {}
        if self.topic_arn.endswith(".fifo"):
            # the outbox delivers at least once: a FIFO topic drops a repeat of the same batch
            extra = {"MessageGroupId": "alerts", "MessageDeduplicationId": deduplication_id(alerts)}
        resp = self.client.publish(TopicArn=self.topic_arn, Subject=subject, Message=body, **extra)
        self.message_ids.append(resp["MessageId"])


def deduplication_id(alerts: pd.DataFrame) -> str:
    """The same id for the same batch of alert versions (ids and ``updated_at``), so a
    delivery the outbox repeats after a crash is dropped by a FIFO topic."""
    import hashlib

    keys = sorted(f"{a}@{u}" for a, u in zip(alerts["alert_id"], alerts["updated_at"], strict=True))
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:128]
