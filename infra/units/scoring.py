"""Scoring: a Lambda run on an EventBridge schedule (daily by default), never per ingest batch."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.units.images import container_function
from infra.units.queues import dead_letter_queue


@dataclass(frozen=True)
class ScoringProps:
    schedule: str
    environment: dict[str, str]


class Scoring(Construct):
    """The scoring function: writes scores and alerts, publishes new alerts to SNS.

    It is invoked asynchronously by the schedule (not by ingestion: one run scores every
    customer with new hours, however many files landed); failed
    invocations are retried twice and then kept in a dead-letter queue.
    """

    def __init__(self, scope: Construct, id: str, *, props: ScoringProps) -> None:
        super().__init__(scope, id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", of="the scoring function")
        self.function = container_function(
            self,
            "Function",
            handler="lambdas.score_handler.handler",
            description="meterwatch: score new readings, update alerts, notify",
            memory_mb=4096,
            timeout=cdk.Duration.minutes(15),
            environment=props.environment,
            ephemeral_storage_size=cdk.Size.gibibytes(2),
            reserved_concurrent_executions=1,
            dead_letter_queue=self.dead_letters,
            retry_attempts=2,
        )
        self.schedule = events.Rule(
            self,
            "Daily",
            description="meterwatch: daily scoring",
            schedule=events.Schedule.expression(props.schedule),
            targets=[targets.LambdaFunction(self.function, retry_attempts=2)],
        )
