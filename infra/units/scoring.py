"""Scoring: a state machine on an EventBridge schedule (daily by default), never per ingest
batch: plan the shards of whole sectors, then score them one after the other."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.units.images import container_function
from infra.units.machines import manifest_map, sharded_state_machine
from infra.units.nag import arn_ref
from infra.units.queues import dead_letter_queue

MANIFEST_PREFIX = "scoring/manifests/"  # lambdas.score_handler.MANIFEST_PREFIX


@dataclass(frozen=True)
class ScoringProps:
    schedule: str
    environment: dict[str, str]
    shard_size: int
    manifest_bucket: s3.IBucket
    key: kms.IKey


class Scoring(Construct):
    """The scoring function and the state machine that runs it over shards of customers.

    The schedule starts the state machine: the function plans shards of whole sectors (at
    most ``scoring_shard_size`` customers; a larger sector in near-equal parts) into an S3
    manifest, a Distributed Map reads it and runs the function on each shard **one at a time** (each
    shard commits its scores and alerts; shards of whole sectors give one run's results, so
    no customer's sector peers are missing, and one at a time means no commit races). A
    step's memory and time grow with its shard, not with the fleet (docs/deploy.md). A
    failed shard is retried twice, then the execution fails (an operations alarm).
    """

    def __init__(self, scope: Construct, id: str, *, props: ScoringProps) -> None:
        super().__init__(scope, id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", of="the scoring function")
        self.function = container_function(
            self,
            "Function",
            handler="lambdas.score_handler.handler",
            description="meterwatch: plan scoring shards, score a shard, update alerts, notify",
            memory_mb=4096,
            timeout=cdk.Duration.minutes(15),
            environment={
                **props.environment,
                "METERWATCH_SCORING_SHARD_SIZE": str(props.shard_size),
            },
            ephemeral_storage_size=cdk.Size.gibibytes(2),
            reserved_concurrent_executions=1,
            dead_letter_queue=self.dead_letters,
            retry_attempts=2,
        )
        plan = tasks.LambdaInvoke(
            self,
            "PlanShards",
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object({"plan": True}),
            payload_response_only=True,
            result_path="$.plan",
        )
        score = tasks.LambdaInvoke(
            self,
            "ScoreShard",
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object({"clients": sfn.JsonPath.string_at("$.clients")}),
            payload_response_only=True,
        )
        score.add_retry(
            errors=["States.TaskFailed"],
            interval=cdk.Duration.minutes(1),
            max_attempts=2,
            backoff_rate=2,
        )
        shards = manifest_map(
            self,
            props.manifest_bucket,
            score,
            max_concurrency=1,
            result_path=sfn.JsonPath.DISCARD,
        )
        self.state_machine, self.log_group = sharded_state_machine(
            self,
            plan.next(shards),
            timeout=cdk.Duration.hours(23),
            manifest_bucket=props.manifest_bucket,
            manifest_prefix=MANIFEST_PREFIX,
            planner=self.function,
            key=props.key,
            reasons={
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery "
                "(logs:CreateLogDelivery and friends) support no resource-level permissions.",
                f"AwsSolutions-IAM5[Resource::{arn_ref(self.function)}:*]": "Invoke the "
                "scoring function (any version of that one function).",
            },
        )
        self.schedule = events.Rule(
            self,
            "Daily",
            description="meterwatch: daily scoring",
            schedule=events.Schedule.expression(props.schedule),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )
