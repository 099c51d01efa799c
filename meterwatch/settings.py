"""Settings: one typed, frozen object, read once per entry point.

Precedence: explicit argument > ``METERWATCH_*`` environment variable > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "METERWATCH_"


@dataclass(frozen=True)
class Settings:
    """Runtime settings shared by the CLI, the lambdas, training and the dashboard.

    Attributes
    ----------
    lake
        Lake URI: a local folder (default ``./lake``) or ``s3://bucket/prefix``.
    language
        Operator-facing language, ``es`` (default) or ``en``.
    workers
        Worker processes or threads for per-customer work; 0 means one per core.
    dashboard_url
        Public address of the dashboard, used in alert messages.
    raw_lake
        Where an S3 lake keeps raw input files (``s3://raw-bucket/prefix``); empty means
        under the lake's own ``raw/`` prefix. Ignored for a local lake.
    athena_workgroup, glue_database
        AWS backend names (only read when the lake is on S3).
    s3_table_format
        How an S3 lake keeps its tables: ``snapshot-log`` (Parquet + a commit log, Athena
        through Hive symlink manifests; the default until the CDK storage construct creates
        Iceberg Glue tables) or ``iceberg`` (Iceberg tables in Glue,
        ``docs/decisions/lake-iceberg.md``).
    alert_topic_arn
        SNS topic for alerts (AWS only); empty means no SNS sink.
    history_step_days
        On the first ``score`` of a customer, its history before the model's ``trained_until``
        is scored walk-forward: a model fitted only on the readings before each origin scores
        the next ``history_step_days`` days (default 91, a quarter). 0 scores new hours only.
    readings_from, readings_ahead_hours
        Plausible hours of a reading: from this date (``YYYY-MM-DD``, Lima time) to now
        plus this many hours; a row outside is rejected into the quarantine.
    max_kwh_per_hour
        Largest plausible active or reactive energy of one customer in one hour (100 MW
        for an hour is beyond any distribution customer); a larger one is rejected.
    max_file_mb
        Largest input file ingest reads, after decompression (stops gzip bombs).
    dashboard_users
        The dashboard's users file (salted password hashes, ``meterwatch users``); empty
        means ``<lake>/_meta/users.json`` for a local lake.
    period_hours
        The period (8, 12, 24 or 48 h) whose held-out forecast error the dashboard shows
        (default 24: the daily energy).
    tariff_pen_per_kwh
        Price of a kWh in soles (PEN), to value an alert's estimated loss (default 0.60).
    tariffs
        A CSV that overrides the price per sector or per customer (columns ``sector`` or
        ``client_id``, and ``pen_per_kwh``; see docs/alerts.md); empty means one price.
    """

    lake: str = "lake"
    language: str = "es"
    workers: int = 0
    dashboard_url: str = "http://localhost:5006"
    raw_lake: str = ""
    athena_workgroup: str = "meterwatch"
    glue_database: str = "meterwatch"
    s3_table_format: str = "snapshot-log"
    alert_topic_arn: str = ""
    history_step_days: int = 91
    readings_from: str = "2000-01-01"
    readings_ahead_hours: int = 24
    max_kwh_per_hour: int = 100_000
    max_file_mb: int = 256
    dashboard_users: str = ""
    period_hours: int = 24
    tariff_pen_per_kwh: float = 0.60
    tariffs: str = ""

    @classmethod
    def load(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from defaults, the environment, then explicit overrides.

        Overrides whose value is ``None`` are ignored, so CLI options that were not
        given fall through to the environment.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            kind = {"int": int, "float": float}.get(str(field.type), str)
            values[field.name] = kind(raw)
        settings = cls(**values)
        given = {k: v for k, v in overrides.items() if v is not None}
        settings = replace(settings, **given)
        if settings.language not in ("es", "en"):
            raise ValueError(f"language must be 'es' or 'en', got {settings.language!r}")
        return settings

    @property
    def worker_count(self) -> int:
        """Number of workers to use (``workers`` or one per available core)."""
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)
