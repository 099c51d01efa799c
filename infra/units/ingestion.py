"""Ingestion: a file landing under ``landing/`` runs the core ingest in a Lambda."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.units.images import container_function
from infra.units.nag import acknowledge
from infra.units.queues import dead_letter_queue

TIMEOUT = cdk.Duration.minutes(15)


@dataclass(frozen=True)
class IngestionProps:
    raw_bucket: s3.IBucket
    landing_prefix: str
    environment: dict[str, str]
    batch_size: int


class Ingestion(Construct):
    """S3 ``landing/`` -> SQS (with a DLQ) -> the ingest function.

    The queue between S3 and the function buffers bursts, batches files into one
    transaction and retries failures; after five failed receives a message moves to the
    dead-letter queue. A retried message re-ingests the same file, which the core
    recognises by sha256 + name and skips, so retries never duplicate rows. At most two
    batches run at once; their commits are optimistic, the loser runs again.
    """

    def __init__(self, scope: Construct, id: str, *, props: IngestionProps) -> None:
        super().__init__(scope, id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", of="the landing queue")
        self.queue = sqs.Queue(
            self,
            "Landing",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.minutes(6 * 15),  # six times the function timeout
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dead_letters),
        )
        props.raw_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=props.landing_prefix),
        )
        self.function = container_function(
            self,
            "Function",
            handler="lambdas.ingest_handler.handler",
            description="meterwatch: ingest files landed in the raw bucket",
            memory_mb=3008,
            timeout=TIMEOUT,
            environment=props.environment,
            ephemeral_storage_size=cdk.Size.gibibytes(4),
        )
        stack = cdk.Stack.of(self)
        for child in stack.node.children:
            # CDK's singleton custom resource that configures bucket notifications.
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    {
                        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                        "service-role/AWSLambdaBasicExecutionRole]": "CDK's bucket-notification "
                        "custom resource; the managed policy only allows writing its own logs.",
                        "AwsSolutions-IAM5[Resource::*]": "CDK's bucket-notification custom "
                        "resource calls s3:PutBucketNotification at deploy time only.",
                    },
                )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=props.batch_size,
                max_batching_window=cdk.Duration.seconds(30),
                report_batch_item_failures=True,
                # At most two batches at once (the least SQS allows). Not reserved concurrency:
                # throttled polls would count as receives and push good files to the DLQ.
                # Two writers are safe: the loser of a commit race runs again (CommitConflict).
                max_concurrency=2,
            )
        )
