"""The CDK app: the only place that reads context or the environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `cdk synth` runs this file as a script
    sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import DeploymentConfig  # noqa: E402
from infra.stack import MeterwatchStack  # noqa: E402


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, MeterwatchStack]:
    """Build the app from its context, with the AwsSolutions checks attached."""
    app = app or cdk.App()
    config = DeploymentConfig.from_context(app.node.try_get_context("meterwatch"))
    account = config.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    env = cdk.Environment(account=account, region=config.region) if account else None
    stack = MeterwatchStack(app, config.stack_name, config=config, env=env)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
