"""The meterwatch stack: composes the units and grants each what it needs, nothing more."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import DeploymentConfig
from infra.named_queries import NAMED_QUERIES
from infra.units.alerts import Alerts
from infra.units.dashboard import Dashboard, DashboardProps
from infra.units.ingestion import Ingestion, IngestionProps
from infra.units.nag import acknowledge, arn_ref
from infra.units.operations import Operations
from infra.units.scoring import Scoring, ScoringProps
from infra.units.storage import LANDING_PREFIX, Storage, StorageProps
from infra.units.training import Training, TrainingProps


class MeterwatchStack(cdk.Stack):
    """Storage, ingestion, training, scoring, alerts and the dashboard of one deployment."""

    def __init__(
        self, scope: Construct, id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        storage = Storage(
            self,
            "Storage",
            props=StorageProps(
                database_name=config.stack_name.replace("-", "_").lower(),
                raw_retention_days=config.raw_retention_days,
                athena_results_days=config.athena_results_days,
                access_logs_days=config.access_logs_days,
                athena_bytes_scanned_limit=config.athena_bytes_scanned_limit,
                named_queries=NAMED_QUERIES,
                table_format=config.table_format,
            ),
        )
        lake_env = {
            "METERWATCH_LAKE": storage.lake_uri,
            "METERWATCH_RAW_LAKE": storage.raw_uri,
            "METERWATCH_GLUE_DATABASE": storage.database_name,
            "METERWATCH_ATHENA_WORKGROUP": storage.workgroup_name,
            "METERWATCH_LANGUAGE": config.language,
            "METERWATCH_S3_TABLE_FORMAT": config.table_format,
        }
        alerts = Alerts(self, "Alerts", emails=config.alert_emails)
        dashboard = Dashboard(self, "Dashboard", props=DashboardProps(environment=lake_env))
        scoring = Scoring(
            self,
            "Scoring",
            props=ScoringProps(
                schedule=config.scoring_schedule,
                environment={
                    **lake_env,
                    "METERWATCH_ALERT_TOPIC_ARN": alerts.topic.topic_arn,
                    "METERWATCH_DASHBOARD_URL": dashboard.url,
                    "METERWATCH_HISTORY_MAX_CUSTOMERS": str(config.scoring_history_customers),
                },
                shard_size=config.scoring_shard_size,
                manifest_bucket=storage.curated,
                key=storage.key,
            ),
        )
        ingestion = Ingestion(
            self,
            "Ingestion",
            props=IngestionProps(
                raw_bucket=storage.raw,
                landing_prefix=LANDING_PREFIX,
                environment=lake_env,
                batch_size=config.ingest_batch_size,
            ),
        )
        training = Training(
            self,
            "Training",
            props=TrainingProps(
                schedule=config.training_schedule,
                shard_size=config.training_shard_size,
                max_parallel=config.training_max_parallel,
                instance_type=config.training_instance_type,
                output_bucket=storage.curated,
                key=storage.key,
                environment=lake_env,
            ),
        )

        # Grants: who may touch what.
        storage.grant_landing_read(ingestion.function)
        storage.grant_lake_write(ingestion.function)
        storage.grant_raw_write(ingestion.function)
        acknowledge(
            ingestion.function,
            {
                f"AwsSolutions-IAM5[Resource::{arn_ref(scoring.function)}:*]": "Invoke the "
                "scoring function (any version or alias of that one function)."
            },
        )
        storage.grant_lake_write(scoring.function)
        storage.grant_query(scoring.function)  # scoring asks Athena where each customer stands
        alerts.grant_publish(scoring.function)
        storage.grant_lake_read(training.plan_function)
        storage.grant_lake_write(training.register_function)
        storage.grant_lake_read(training.job_role)
        training.grant_read_artifacts(training.register_function)
        training.grant_read_artifacts(training.stage_function)
        training.grant_write_staged(training.stage_function)
        storage.grant_models_write(training.stage_function)
        storage.grant_query(dashboard.instance_role)
        storage.grant_feedback_write(dashboard.instance_role)

        # Alarms: what would otherwise fail silently goes to the operations topic.
        operations = Operations(self, "Operations", emails=config.ops_emails)
        operations.on_dead_letters("IngestDeadLetters", ingestion.dead_letters, "ingestion")
        operations.on_dead_letters("ScoringDeadLetters", scoring.dead_letters, "scoring")
        operations.on_errors("IngestErrors", ingestion.function, "the ingest function")
        operations.on_errors("ScoringErrors", scoring.function, "the scoring function")
        operations.on_failed_executions("TrainingFailed", training.state_machine, "training")
        operations.on_failed_executions(
            "ScoringFailed",
            scoring.state_machine,
            "scoring",
            "some customers' new hours were not scored and their alerts not sent",
        )

        cdk.CfnOutput(self, "LandingUri", value=f"s3://{storage.raw.bucket_name}/{LANDING_PREFIX}")
        cdk.CfnOutput(self, "LakeUri", value=storage.lake_uri)
        cdk.CfnOutput(self, "DashboardUrl", value=dashboard.url)
        cdk.CfnOutput(self, "DashboardSecretArn", value=dashboard.secret.secret_arn)
        cdk.CfnOutput(self, "AlertTopicArn", value=alerts.topic.topic_arn)
        cdk.CfnOutput(self, "OperationsTopicArn", value=operations.topic.topic_arn)
        cdk.CfnOutput(
            self, "TrainingStateMachineArn", value=training.state_machine.state_machine_arn
        )
        cdk.CfnOutput(self, "AthenaWorkGroup", value=storage.workgroup_name)
        cdk.CfnOutput(self, "ScoringFunctionName", value=scoring.function.function_name)
        cdk.CfnOutput(self, "ScoringStateMachineArn", value=scoring.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "IngestDeadLetterQueueUrl", value=ingestion.dead_letters.queue_url)
