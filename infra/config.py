"""The deployment's configuration, parsed from the ``meterwatch`` cdk.json context."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

TABLE_FORMATS = ("iceberg", "snapshot-log")


@dataclass(frozen=True)
class DeploymentConfig:
    """Everything a deployment may vary. Only ``infra/app.py`` builds one (from context).

    Attributes
    ----------
    account, region
        Where to deploy; an empty account means the CLI's current credentials.
    alert_emails
        Addresses subscribed to the alert topic (each confirms by e-mail).
    ops_emails
        Addresses subscribed to the operations topic: CloudWatch alarms on the dead-letter
        queues, function errors and failed training runs.
    scoring_schedule, training_schedule
        EventBridge schedule expressions (``cron(...)`` or ``rate(...)``), UTC.
    training_shard_size, training_max_parallel
        Customers per SageMaker training job, and jobs run at once.
    scoring_shard_size
        Customers per scoring step (whole sectors; steps run one after the other).
    scoring_history_customers
        At most this many never-scored customers per scoring step (their first score walks
        their whole history, ~6 MB and ~1.7 CPU s a customer of two years); the rest wait for
        the next scheduled run (``METERWATCH_HISTORY_MAX_CUSTOMERS``).
    athena_bytes_scanned_limit
        Per-query scan limit of the Athena workgroup, in bytes (Athena cancels beyond it).
    table_format
        ``iceberg`` (default): the lake's tables are Apache Iceberg tables in Glue, created by
        the first writer. ``snapshot-log``: the retired format (Hive tables over symlink
        manifests), only for a deployment made before it changed.
    """

    account: str = ""
    region: str = "us-east-1"
    stack_name: str = "meterwatch"
    alert_emails: tuple[str, ...] = ()
    ops_emails: tuple[str, ...] = ()
    language: str = "es"
    ingest_batch_size: int = 10
    scoring_schedule: str = "cron(0 11 * * ? *)"
    training_schedule: str = "cron(0 8 ? * SUN *)"
    training_shard_size: int = 200
    training_max_parallel: int = 10
    scoring_shard_size: int = 2_500
    scoring_history_customers: int = 300
    training_instance_type: str = "ml.m5.xlarge"
    athena_bytes_scanned_limit: int = 10 * 1024**3
    raw_retention_days: int = 3650
    athena_results_days: int = 30
    access_logs_days: int = 365
    table_format: str = "iceberg"

    @classmethod
    def from_context(cls, ctx: dict[str, Any] | None) -> DeploymentConfig:
        """Parse the context dictionary; unknown keys are an error (typos must not pass)."""
        ctx = dict(ctx or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(ctx) - known)
        if unknown:
            raise ValueError(f"unknown meterwatch context keys: {unknown}; known: {sorted(known)}")
        for key in ("alert_emails", "ops_emails"):
            if key in ctx:
                ctx[key] = tuple(ctx[key])
        config = cls(**ctx)
        if config.athena_bytes_scanned_limit < 10 * 1024**2:
            raise ValueError("athena_bytes_scanned_limit must be at least 10 MB (Athena's minimum)")
        if config.table_format not in TABLE_FORMATS:
            raise ValueError(f"table_format must be one of {TABLE_FORMATS}")
        if min(config.training_shard_size, config.training_max_parallel,
               config.scoring_shard_size, config.scoring_history_customers) < 1:  # fmt: skip
            raise ValueError(
                "training_shard_size, training_max_parallel, scoring_shard_size and"
                " scoring_history_customers must be positive"
            )
        return config
