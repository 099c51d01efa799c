"""Training: SageMaker training jobs over shards of customers, run by Step Functions."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.units.images import EXCLUDE, PLATFORM, ROOT, container_function
from infra.units.machines import manifest_map, sharded_state_machine
from infra.units.nag import (
    acknowledge,
    acknowledge_kms_grant,
    arn_ref,
)

OUTPUT_PREFIX = "training/"
MANIFEST_PREFIX = f"{OUTPUT_PREFIX}manifests/"  # lambdas.training_handler.MANIFEST_PREFIX


@dataclass(frozen=True)
class TrainingProps:
    schedule: str
    shard_size: int
    max_parallel: int
    instance_type: str
    output_bucket: s3.IBucket
    key: kms.IKey
    environment: dict[str, str]


class Training(Construct):
    """Plan shards -> per shard (in parallel): a SageMaker training job, then a stage step ->
    register models.

    The training jobs only read the lake; each writes its models to its own artifact. The
    stage step after each job stores that shard's model objects in the lake (new keys, read
    by nobody until committed) and writes its table rows beside the artifact; the register
    step commits every shard's rows in one transaction, so parallel shards never race for a
    commit and the register step reads kilobytes per shard (docs/deploy.md's limits). Started weekly by a schedule and on demand with
    ``aws stepfunctions start-execution`` (see docs/deploy.md).
    """

    def __init__(self, scope: Construct, id: str, *, props: TrainingProps) -> None:
        super().__init__(scope, id)
        env = {**props.environment, "METERWATCH_TRAINING_SHARD_SIZE": str(props.shard_size)}
        self.plan_function = container_function(
            self,
            "Plan",
            handler="lambdas.training_handler.plan",
            description="meterwatch: split the customers into training shards",
            memory_mb=1024,
            timeout=cdk.Duration.minutes(5),
            environment=env,
        )
        # the two steps that handle shards' artifacts: a shard unpacked in /tmp at most
        self.register_function, self.stage_function = (
            container_function(
                self,
                name,
                handler=f"lambdas.training_handler.{name.lower()}",
                description=f"meterwatch: {what}",
                memory_mb=3008,
                timeout=cdk.Duration.minutes(15),
                environment=env,
                ephemeral_storage_size=cdk.Size.gibibytes(4),
            )
            for name, what in (
                ("Register", "commit the shards' models to the lake"),
                ("Stage", "store a trained shard's model objects, stage its rows"),
            )
        )
        self.job_role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="meterwatch SageMaker training jobs: read the lake, write artifacts",
        )
        stack = cdk.Stack.of(self)
        self.job_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/TrainingJobs:*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.job_role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}
                },
            )
        )
        props.key.grant_encrypt_decrypt(self.job_role)
        acknowledge_kms_grant(self.job_role)
        self._output_bucket = props.output_bucket
        acknowledge(
            self.job_role,
            {
                "AwsSolutions-IAM5[Resource::*]": "cloudwatch:PutMetricData (limited to "
                "SageMaker's metric namespace by a condition) and ecr:GetAuthorizationToken "
                "support no resource-level permissions; image pulls are limited to the asset "
                "repository.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
                "<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*]": "SageMaker writes "
                "one log stream per training job into this fixed log group.",
                f"AwsSolutions-IAM5[Resource::{arn_ref(props.output_bucket)}/{OUTPUT_PREFIX}*]": (
                    "Training jobs write their model artifacts under the training/ prefix only."
                ),
                "AwsSolutions-IAM5[Action::s3:Abort*]": "Added by the Step Functions task for "
                "the output location: SageMaker aborts failed multipart uploads of artifacts.",
                "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "Added by the Step Functions task "
                "for the output location (training/ prefix only), which expires in 90 days.",
            },
        )
        self.image = tasks.DockerImage.from_asset(
            self,
            "Image",
            directory=str(ROOT),
            file="training/Dockerfile",
            exclude=EXCLUDE,
            platform=PLATFORM,
        )

        plan = tasks.LambdaInvoke(
            self,
            "PlanShards",
            lambda_function=self.plan_function,
            payload_response_only=True,
            result_path="$.plan",
        )
        train = tasks.SageMakerCreateTrainingJob(
            self,
            "TrainShard",
            training_job_name=sfn.JsonPath.string_at("$.job_name"),
            role=self.job_role,
            algorithm_specification=tasks.AlgorithmSpecification(
                training_image=self.image,
                training_input_mode=tasks.InputMode.FILE,
            ),
            hyperparameters={"clients": sfn.JsonPath.string_at("$.clients")},
            environment={k: v for k, v in env.items() if k.startswith("METERWATCH_")},
            output_data_config=tasks.OutputDataConfig(
                s3_output_location=tasks.S3Location.from_bucket(props.output_bucket, OUTPUT_PREFIX),
                encryption_key=props.key,
            ),
            resource_config=tasks.ResourceConfig(
                instance_count=1,
                instance_type=ec2.InstanceType(props.instance_type.removeprefix("ml.")),
                volume_size=cdk.Size.gibibytes(30),
                volume_encryption_key=props.key,
            ),
            stopping_condition=tasks.StoppingCondition(max_runtime=cdk.Duration.hours(4)),
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_selector={
                "artifact": sfn.JsonPath.string_at("$.ModelArtifacts.S3ModelArtifacts")
            },
        )
        stage = tasks.LambdaInvoke(
            self,
            "StageShard",
            lambda_function=self.stage_function,
            payload=sfn.TaskInput.from_object({"artifact": sfn.JsonPath.string_at("$.artifact")}),
            payload_response_only=True,
            result_selector={"staged": sfn.JsonPath.string_at("$.staged")},
        )
        shards = manifest_map(
            self,
            props.output_bucket,
            train.next(stage),
            max_concurrency=props.max_parallel,
            result_path="$.trained",
            result_selector={"staged": sfn.JsonPath.list_at("$[*].staged")},
        )
        register = tasks.LambdaInvoke(
            self,
            "RegisterModels",
            lambda_function=self.register_function,
            payload=sfn.TaskInput.from_object({"staged": sfn.JsonPath.list_at("$.trained.staged")}),
            payload_response_only=True,
        )
        self.state_machine, self.log_group = sharded_state_machine(
            self,
            plan.next(shards).next(register),
            timeout=cdk.Duration.hours(12),
            manifest_bucket=props.output_bucket,
            manifest_prefix=MANIFEST_PREFIX,
            planner=self.plan_function,
            key=props.key,
            reasons={
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery "
                "(logs:CreateLogDelivery and friends) support no resource-level permissions; "
                "the .sync integration's events rule is AWS-managed.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:training-job/*]": "Training job names are generated per run; "
                "the .sync integration describes and stops the jobs it started.",
                f"AwsSolutions-IAM5[Resource::{arn_ref(self.plan_function)}:*]": "Invoke the "
                "plan function (any version of that one function).",
                f"AwsSolutions-IAM5[Resource::{arn_ref(self.register_function)}:*]": "Invoke the "
                "register function (any version of that one function).",
                f"AwsSolutions-IAM5[Resource::{arn_ref(self.stage_function)}:*]": "Invoke the "
                "stage function (any version of that one function).",
            },
        )
        props.key.grant_encrypt(self.plan_function)
        acknowledge_kms_grant(self.plan_function)
        self.schedule = events.Rule(
            self,
            "Weekly",
            description="meterwatch: scheduled retraining",
            schedule=events.Schedule.expression(props.schedule),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )

    def grant_write_staged(self, grantee: iam.IGrantable) -> None:
        """Write a shard's staged rows beside its artifact (``training/<job>/staged/``)."""
        self._allow_output(
            grantee,
            "s3:PutObject",
            f"{OUTPUT_PREFIX}*/staged/*",
            "A shard's staged rows go beside its artifact, under the job's own "
            "training/<job>/staged/ prefix (job names are generated per run).",
        )

    def grant_read_artifacts(self, grantee: iam.IGrantable) -> None:
        """Read the training jobs' model artifacts (``training/`` prefix)."""
        self._allow_output(
            grantee,
            "s3:GetObject",
            f"{OUTPUT_PREFIX}*",
            "Read the model artifacts the training jobs wrote (training/ prefix).",
        )

    def _allow_output(self, grantee: iam.IGrantable, action: str, pattern: str, why: str) -> None:
        """``action`` on the training output bucket's objects matching ``pattern``."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[action], resources=[self._output_bucket.arn_for_objects(pattern)]
            )
        )
        if isinstance(grantee, Construct):
            acknowledge(
                grantee,
                {f"AwsSolutions-IAM5[Resource::{arn_ref(self._output_bucket)}/{pattern}]": why},
            )
