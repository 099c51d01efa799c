"""Dashboard: the operators' Panel app on App Runner, built from dashboard/Dockerfile."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apprunner as apprunner
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.units.images import EXCLUDE, PLATFORM, ROOT
from infra.units.nag import acknowledge

PORT = "8080"  # dashboard/Dockerfile serves on 8080
EMPTY_USERS = '{"users": {}, "version": 1}'
# Requests per client address in any 5 minutes before WAF blocks it (the login page, the
# dashboard's page loads and static files; the live session runs over one websocket).
RATE_LIMIT = 1000


@dataclass(frozen=True)
class DashboardProps:
    environment: dict[str, str]


class Dashboard(Construct):
    """An App Runner service; its instance role gets grants from the stack.

    The accounts live in a Secrets Manager secret the container reads (and re-reads every
    30 s); the cookie-signing key reaches it as an environment secret. The public endpoint
    is behind an AWS WAF web ACL: a rate limit per client address and AWS's common and
    known-bad-inputs rule sets.
    """

    def __init__(self, scope: Construct, id: str, *, props: DashboardProps) -> None:
        super().__init__(scope, id)
        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(ROOT),
            file="dashboard/Dockerfile",
            exclude=EXCLUDE,
            platform=PLATFORM,
        )
        self.access_role = iam.Role(
            self,
            "AccessRole",
            assumed_by=iam.ServicePrincipal("build.apprunner.amazonaws.com"),
            description="App Runner pulls the dashboard image",
        )
        self.image.repository.grant_pull(self.access_role)
        acknowledge(
            self.access_role,
            {
                "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken supports no "
                "resource-level permissions; image pulls are limited to the asset repository."
            },
        )
        self.instance_role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("tasks.apprunner.amazonaws.com"),
            description="meterwatch dashboard: query the lake, append feedback",
        )
        # The operators' accounts: the users document of meterwatch/dashboard/accounts.py
        # (scrypt hashes, no password), managed with `meterwatch users add NAME --secret ARN`.
        # It starts empty; CloudFormation rewrites it only if this template value changes.
        self.secret = secretsmanager.Secret(
            self,
            "AuthSecret",
            description="meterwatch dashboard accounts (meterwatch users add NAME --secret ARN)",
            secret_string_value=cdk.SecretValue.unsafe_plain_text(EMPTY_USERS),
        )
        acknowledge(
            self.secret,
            {
                "AwsSolutions-SMG4": "Operators' password hashes, changed by `meterwatch users`, "
                "not a machine credential a rotation function could replace."
            },
        )
        self.secret.grant_read(self.instance_role)
        # Signs the session cookies: the same on every instance, or App Runner's second
        # instance would not recognise the first one's sessions.
        self.cookie_secret = secretsmanager.Secret(
            self,
            "CookieSecret",
            description="meterwatch dashboard session-cookie signing key",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        acknowledge(
            self.cookie_secret,
            {
                "AwsSolutions-SMG4": "A cookie-signing key: rotating it only logs operators "
                "out; rotate by hand with the password (docs/deploy.md)."
            },
        )
        self.cookie_secret.grant_read(self.instance_role)
        # No websocket origin is configured here: the service's address exists only once the
        # service does (referencing it would be a cycle), and a wildcard over App Runner's
        # domain admitted every other app there. `serve --behind-proxy` accepts the page's own
        # origin (Origin equal to Host) and nothing else.
        environment = {
            "METERWATCH_DASHBOARD_SECRET": self.secret.secret_arn,
            **props.environment,
        }
        self.service = apprunner.CfnService(
            self,
            "Service",
            source_configuration=apprunner.CfnService.SourceConfigurationProperty(
                authentication_configuration=apprunner.CfnService.AuthenticationConfigurationProperty(
                    access_role_arn=self.access_role.role_arn
                ),
                auto_deployments_enabled=False,
                image_repository=apprunner.CfnService.ImageRepositoryProperty(
                    image_identifier=self.image.image_uri,
                    image_repository_type="ECR",
                    image_configuration=apprunner.CfnService.ImageConfigurationProperty(
                        port=PORT,
                        runtime_environment_variables=[
                            apprunner.CfnService.KeyValuePairProperty(name=k, value=v)
                            for k, v in sorted(environment.items())
                        ],
                        runtime_environment_secrets=[
                            apprunner.CfnService.KeyValuePairProperty(
                                name="METERWATCH_DASHBOARD_COOKIE_SECRET",
                                value=self.cookie_secret.secret_arn,
                            ),
                        ],
                    ),
                ),
            ),
            instance_configuration=apprunner.CfnService.InstanceConfigurationProperty(
                cpu="1 vCPU", memory="2 GB", instance_role_arn=self.instance_role.role_arn
            ),
            health_check_configuration=apprunner.CfnService.HealthCheckConfigurationProperty(
                protocol="TCP"
            ),
        )
        self.url = "https://" + self.service.attr_service_url
        self.web_acl = self._web_acl()
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.service.attr_service_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

    def _web_acl(self) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        def managed(priority: int, name: str) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=visibility(name),
            )

        rate = wafv2.CfnWebACL.RuleProperty(
            name="RatePerClient",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=RATE_LIMIT, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=visibility("RatePerClient"),
        )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("meterwatch-dashboard"),
            rules=[
                rate,
                managed(1, "AWSManagedRulesCommonRuleSet"),
                managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
            ],
        )
