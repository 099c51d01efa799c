"""Operations: CloudWatch alarms on what would otherwise fail silently, to the cloud team.

The alert topic is for the operators who inspect customers; a failed ingestion or scoring run
is for whoever runs the deployment, so alarms go to their own encrypted topic
(``ops_emails`` in the configuration).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.units.alerts import email_topic


class Operations(Construct):
    """An encrypted operations topic and the alarms that publish to it."""

    def __init__(self, scope: Construct, id: str, *, emails: Sequence[str]) -> None:
        super().__init__(scope, id)
        self.topic, key = email_topic(
            self,
            display_name="meterwatch operations",
            key_description="meterwatch operations alarms",
            emails=emails,
        )
        # CloudWatch publishes alarm notifications to the encrypted topic
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
            )
        )
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

    def _alarm(self, id: str, metric: cw.IMetric, description: str) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def on_dead_letters(self, id: str, queue: sqs.IQueue, what: str) -> cw.Alarm:
        """A message in a dead-letter queue: work that failed every retry."""
        return self._alarm(
            id,
            queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            f"meterwatch: {what} failed after every retry (a message is in its dead-letter "
            "queue). Read the function's logs, fix, then redrive the queue.",
        )

    def on_errors(self, id: str, function: lambda_.IFunction, what: str) -> cw.Alarm:
        """Any error of a function within 15 minutes (retries may still succeed)."""
        return self._alarm(
            id,
            function.metric_errors(period=cdk.Duration.minutes(15), statistic="Sum"),
            f"meterwatch: {what} raised an error (it is retried; see its logs).",
        )

    def on_failed_executions(
        self,
        id: str,
        machine: sfn.IStateMachine,
        what: str,
        consequence: str = "models were not refreshed",
    ) -> cw.Alarm:
        """A failed state machine execution (e.g. a training shard that did not finish)."""
        return self._alarm(
            id,
            machine.metric_failed(period=cdk.Duration.minutes(60), statistic="Sum"),
            f"meterwatch: {what} failed; {consequence}. See the execution's history.",
        )
