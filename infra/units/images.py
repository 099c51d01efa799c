"""The container images built from this repository (one per runtime, shared by functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.units.nag import acknowledge_lambda_basics

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ecr_assets.Platform.LINUX_AMD64
# Build contexts are the repository root; only what the images copy is hashed and staged.
EXCLUDE = [
    ".venv",
    "node_modules",
    "cdk.out",
    ".git",
    "lake",
    "demo",
    "bench",
    "tests",
    "docs",
    "**/__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "artifacts",
    "*.egg-info",
]


def lambda_code(handler: str) -> lambda_.DockerImageCode:
    """Code for a container-image function running ``handler`` (``module.function``)."""
    return lambda_.DockerImageCode.from_image_asset(
        str(ROOT),
        file="lambdas/Dockerfile",
        cmd=[handler],
        exclude=EXCLUDE,
        platform=PLATFORM,  # the functions run on x86_64, whatever machine builds the image
    )


def container_function(
    scope: Construct,
    id: str,
    *,
    handler: str,
    description: str,
    memory_mb: int,
    timeout: cdk.Duration,
    environment: dict[str, str],
    **options: Any,
) -> lambda_.DockerImageFunction:
    """A function on the shared image: traced, logs kept a year, known findings explained."""
    function = lambda_.DockerImageFunction(
        scope,
        id,
        code=lambda_code(handler),
        description=description,
        memory_size=memory_mb,
        timeout=timeout,
        environment=environment,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=logs.LogGroup(
            scope,
            f"{id}Logs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        ),
        **options,
    )
    acknowledge_lambda_basics(function)
    return function
