"""Dashboard: the operators' Panel app on App Runner, built from dashboard/Dockerfile."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apprunner as apprunner
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.units.images import EXCLUDE, PLATFORM, ROOT
from infra.units.nag import acknowledge

PORT = "8080"  # dashboard/Dockerfile serves on 8080


@dataclass(frozen=True)
class DashboardProps:
    environment: dict[str, str]


class Dashboard(Construct):
    """An App Runner service; its instance role gets grants from the stack.

    The login secret lives in Secrets Manager and reaches the container as an environment
    secret (App Runner resolves it at start; it is never in the template).
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
        self.secret = secretsmanager.Secret(
            self,
            "AuthSecret",
            description="meterwatch dashboard login (user 'operator', this password)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True
            ),
        )
        acknowledge(
            self.secret,
            {
                "AwsSolutions-SMG4": "A shared operator password handed to people, not a "
                "machine credential: rotating it automatically would lock operators out. "
                "Rotate by hand (docs/deploy.md) when staff change."
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
        # Panel accepts websocket connections only from known origins; the service's own
        # address is known only after it exists, so allow App Runner's domain in this region.
        environment = {
            "METERWATCH_DASHBOARD_URL": f"https://*.{cdk.Aws.REGION}.awsapprunner.com",
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
                                name="METERWATCH_DASHBOARD_PASSWORD", value=self.secret.secret_arn
                            ),
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
