"""Queues shared by the units: the dead-letter queue every asynchronous consumer gets."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.units.nag import acknowledge


def dead_letter_queue(scope: Construct, id: str, *, of: str) -> sqs.Queue:
    """An encrypted, TLS-only queue keeping failed messages 14 days (alarmed in Operations).

    ``of`` names what it is the dead-letter queue of, for the cdk-nag acknowledgement (a
    dead-letter queue needs none of its own).
    """
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    acknowledge(queue, {"AwsSolutions-SQS3": f"This queue is the dead-letter queue of {of}."})
    return queue
