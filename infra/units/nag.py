"""Acknowledging cdk-nag findings: each with the reason a security reviewer reads."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct, IConstruct


def acknowledge(scope: IConstruct, reasons: dict[str, str]) -> None:
    """Acknowledge findings (``rule`` or ``rule[finding]``) on ``scope`` and below."""
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=rule, reason=reason) for rule, reason in reasons.items())
    )


def arn_ref(resource: IConstruct, attribute: str = "Arn") -> str:
    """How cdk-nag names a resource's ARN in a finding: ``<LogicalId.Arn>``."""
    stack = cdk.Stack.of(resource)
    cfn = resource.node.default_child or resource
    assert isinstance(cfn, cdk.CfnElement)
    logical = stack.resolve(stack.get_logical_id(cfn))
    return f"<{logical}.{attribute}>" if attribute else f"<{logical}>"


def acknowledge_kms_grant(grantee: object) -> None:
    """The wildcard actions of ``Key.grant_encrypt_decrypt``, which is scoped to one key."""
    if isinstance(grantee, Construct):
        acknowledge(
            grantee,
            {
                f"AwsSolutions-IAM5[Action::kms:{action}]": "CDK's encrypt/decrypt grant on one "
                "customer-managed key (the resource is that key's ARN, not '*'); the wildcard "
                "covers the data-key variants S3 and SNS call."
                for action in ("GenerateDataKey*", "ReEncrypt*")
            },
        )


def acknowledge_lambda_basics(function: IConstruct) -> None:
    """Findings every Lambda function with tracing has, and why they are acceptable."""
    acknowledge(
        function,
        {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]": "The AWS-managed basic execution policy grants only "
            "logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents.",
            "AwsSolutions-IAM5[Resource::*]": "xray:PutTraceSegments and "
            "xray:PutTelemetryRecords (active tracing) support no resource-level permissions.",
        },
    )
