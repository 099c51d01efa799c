"""The SNS alert sink of the AWS deployment: publishes the message the core renders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from meterwatch.alerts.notification import AlertMessage

SUBJECT_LIMIT = 100  # SNS rejects longer subjects
MESSAGE_LIMIT = 256 * 1024  # bytes


class SnsSink:
    """Publishes new and updated alerts to an SNS topic (e-mail subscribers read it).

    A thin adapter: the message (:class:`meterwatch.alerts.notification.AlertMessage`, the
    ranked list with the estimated lost energy and a link to the dashboard, in the operators'
    language) is rendered by the core; this class only fits it to SNS and publishes it.

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
        """Publish the message of ``alerts`` (rendered by the core) in ``language``."""
        from meterwatch.alerts.notification import alert_message

        message = alert_message(alerts, language, self.dashboard_url)
        if message is not None:
            self.publish(message)

    def publish(self, message: AlertMessage) -> None:
        """Publish a rendered message, within SNS's limits."""
        subject = " ".join(message.subject.split())
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 1] + "…"
        body = message.body
        encoded = body.encode("utf-8")
        if len(encoded) > MESSAGE_LIMIT:
            # A fleet-wide first run can rank thousands of alerts: keep the top of the list.
            body = encoded[: MESSAGE_LIMIT - 200].decode("utf-8", "ignore").rsplit("\n", 1)[0]
            body += f"\n…\n{message.dashboard_url or ''}"
        extra: dict[str, Any] = {}
        if self.topic_arn.endswith(".fifo"):
            # the outbox delivers at least once: a FIFO topic drops a repeat of the same batch
            extra = {"MessageGroupId": "alerts", "MessageDeduplicationId": message.batch_id}
        resp = self.client.publish(TopicArn=self.topic_arn, Subject=subject, Message=body, **extra)
        self.message_ids.append(resp["MessageId"])
