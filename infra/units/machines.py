"""A Step Functions state machine over an S3 shard manifest (training's and scoring's)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.units.nag import acknowledge, arn_ref


def manifest_map(
    scope: Construct,
    manifest_bucket: s3.IBucket,
    processor: sfn.IChainable,
    *,
    max_concurrency: int,
    result_path: str,
    result_selector: dict[str, object] | None = None,
) -> sfn.DistributedMap:
    """The Distributed Map ``Shards`` that runs ``processor`` on each shard of the manifest the
    plan step wrote (its key at ``$.plan.key`` in ``manifest_bucket``). The shard list is an S3
    object (ItemReader): the state payload carries its location only, whatever the number of
    customers."""
    shards = sfn.DistributedMap(
        scope,
        "Shards",
        item_reader=sfn.S3JsonItemReader(
            bucket=manifest_bucket, key=sfn.JsonPath.string_at("$.plan.key")
        ),
        max_concurrency=max_concurrency,
        result_path=result_path,
        result_selector=result_selector,
    )
    shards.item_processor(processor)
    return shards


def sharded_state_machine(
    scope: Construct,
    chain: sfn.IChainable,
    *,
    timeout: cdk.Duration,
    manifest_bucket: s3.IBucket,
    manifest_prefix: str,
    planner: lambda_.IFunction,
    key: kms.IKey,
    reasons: dict[str, str],
) -> tuple[sfn.StateMachine, logs.LogGroup]:
    """A traced, logged state machine whose Distributed Map reads the shard manifest that
    ``planner`` writes under ``manifest_prefix`` of ``manifest_bucket`` (encrypted with
    ``key``), with the cdk-nag findings every such machine has acknowledged (and ``reasons``
    for its own)."""
    log_group = logs.LogGroup(
        scope,
        "Logs",
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    machine = sfn.StateMachine(
        scope,
        "StateMachine",
        definition_body=sfn.DefinitionBody.from_chainable(chain),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
    )
    ref = arn_ref(machine, "")
    name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{ref[1:-1]}"}}]}}]}}'
    executions = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}"
    acknowledge(
        machine,
        {
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
            f"{arn_ref(manifest_bucket, '')}/*]": "The Distributed Map's ItemReader reads the "
            "run's shard manifest, whose key is known at run time only (one bucket).",
            f"AwsSolutions-IAM5[Resource::{executions}:*]": "The Distributed Map runs each "
            "shard as a child execution of this one state machine.",
            f"AwsSolutions-IAM5[Resource::{executions}/*:*]": "The Distributed Map's child "
            "executions of this one state machine.",
            **reasons,
        },
    )
    key.grant_decrypt(machine)
    planner.add_to_role_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[manifest_bucket.arn_for_objects(f"{manifest_prefix}*")],
        )
    )
    acknowledge(
        planner,
        {
            f"AwsSolutions-IAM5[Resource::{arn_ref(manifest_bucket)}/{manifest_prefix}*]": (
                f"Write one shard manifest per run under {manifest_prefix}."
            )
        },
    )
    return machine, log_group
