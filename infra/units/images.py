"""The container images built from this repository (one per runtime, shared by functions)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_

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
