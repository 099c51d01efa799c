"""Alerts: an encrypted SNS topic with e-mail subscriptions from configuration."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct


def email_topic(
    scope: Construct, *, display_name: str, key_description: str, emails: Sequence[str]
) -> tuple[sns.Topic, kms.Key]:
    """A KMS-encrypted (rotating key), TLS-only topic in ``scope`` with e-mail subscribers."""
    key = kms.Key(scope, "TopicKey", enable_key_rotation=True, description=key_description)
    topic = sns.Topic(scope, "Topic", display_name=display_name, master_key=key, enforce_ssl=True)
    for email in emails:
        topic.add_subscription(subs.EmailSubscription(email))
    return topic, key


class Alerts(Construct):
    """The alert topic (KMS-encrypted, TLS-only) and its e-mail subscribers."""

    def __init__(self, scope: Construct, id: str, *, emails: Sequence[str]) -> None:
        super().__init__(scope, id)
        self.topic, self.key = email_topic(
            self, display_name="meterwatch", key_description="meterwatch alert topic", emails=emails
        )

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        self.topic.grant_publish(grantee)
        self.key.grant_encrypt_decrypt(grantee)
