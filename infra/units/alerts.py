"""Alerts: an encrypted SNS topic with e-mail subscriptions from configuration."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct


class Alerts(Construct):
    """The alert topic (KMS-encrypted, TLS-only) and its e-mail subscribers."""

    def __init__(self, scope: Construct, id: str, *, emails: Sequence[str]) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self, "TopicKey", enable_key_rotation=True, description="meterwatch alert topic"
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="meterwatch",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subs.EmailSubscription(email))

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        self.topic.grant_publish(grantee)
        self.key.grant_encrypt_decrypt(grantee)
