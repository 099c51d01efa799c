"""Settings: one typed, frozen object, read once per entry point.

Precedence: explicit argument > ``METERWATCH_*`` environment variable > default. This is the
only module that reads the environment (pydantic-settings); every entry point (the CLI, a
Lambda handler, the training job, the dashboard server) calls :meth:`Settings.load` once and
passes the object down.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# the dashboard's default processes at most: each holds its own store, cache and Bokeh
MAX_DASHBOARD_PROCESSES = 4
ENV_PREFIX = "METERWATCH_"

# The environment :meth:`Settings.load` reads; ``None`` outside it, so ``Settings(...)``
# built directly is its defaults and arguments only (a test, a library caller).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("meterwatch_environ", default=None)


class _EnvironSource(EnvSettingsSource):
    """``METERWATCH_*`` variables of a given mapping (``os.environ`` or a job's own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Unset and empty are the same: an empty variable keeps the default.
        return {k.lower(): v for k, v in self._environ.items() if v != ""}


class Settings(BaseSettings):
    """Runtime settings shared by the CLI, the lambdas, training and the dashboard.

    Each attribute ``name`` is read from ``METERWATCH_<NAME>`` by :meth:`load`.

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
        How an S3 lake keeps its tables: ``iceberg`` (the default: Iceberg tables in Glue,
        created by the first writer, ``docs/decisions/lake-iceberg.md``) or ``snapshot-log``
        (the retired format: Parquet + a commit log, Athena through Hive symlink manifests;
        kept for deployments made before 2026-12-06, set by the stack's ``table_format``).
    alert_topic_arn
        SNS topic for alerts (AWS only); empty means no SNS sink.
    history_step_days
        On the first ``score`` of a customer, its history before the model's ``trained_until``
        is scored walk-forward: a model fitted only on the readings before each origin scores
        the next ``history_step_days`` days (default 91, a quarter), its band and detector
        spreads calibrated on the quarter before by the model that scored it (the first
        origin: on the last 20 % of its readings). 0 scores new hours only.
    history_max_customers
        At most this many never-scored customers (whose first score walks their whole history)
        in one ``score`` run; the others are left for the next runs, whole, and counted in
        its result (``deferred``). 0 (the default): no bound. The scoring Lambda sets 300: a
        customer's two-year walk-forward takes ~6 MB and ~1.7 CPU s (docs/deploy.md).
    fit_processes_from
        Model fits (``train``, and ``score``'s walk-forward history) run in ``workers`` worker
        processes when a run has at least this many; fewer, one worker, or 0 (the default):
        threads. The ``meterwatch`` command uses 64 (starting the processes costs about a
        second, which a few dozen fits repay); a program calling the library opts in only if
        its main module is guarded by ``if __name__ == "__main__"`` (each spawned worker
        imports it).
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
    dashboard_secret
        AWS Secrets Manager secret holding the dashboard's users (instead of a file).
    dashboard_cookie_secret
        Key that signs the dashboard's login cookies; empty means a random one per start.
    dashboard_password
        Retired single shared password: the dashboard refuses to start while it is set.
    dashboard_validate
        Run Bokeh's integrity checks on every new dashboard page (they only log developers'
        warnings, at ~8 % of a page's cost: off by default).
    dashboard_processes
        Server processes of the dashboard, sharing its port, each with its own store: a
        page's document is built in one of them, so concurrent sessions use as many cores.
        0 (the default): one per core, at most 4, for a local lake; 1 for an S3 lake (App
        Runner gives an instance one vCPU and scales by instances).
    score_function
        Lambda function the ingest function starts after a change (AWS only).
    training_shard_size
        Customers per SageMaker training job (AWS only).
    scoring_shard_size
        Customers scored together (whole sectors; a larger sector in near-equal parts, each
        its customers' peers): a local run scores larger fleets shard after shard, the AWS
        state machine one shard per step. Bounds a process's memory (~0.37 MiB per customer
        of the shard).
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    lake: str = "lake"
    language: str = "es"
    workers: int = 0
    dashboard_url: str = "http://localhost:5006"
    raw_lake: str = ""
    athena_workgroup: str = "meterwatch"
    glue_database: str = "meterwatch"
    s3_table_format: str = "iceberg"
    alert_topic_arn: str = ""
    history_step_days: int = 91
    history_max_customers: int = Field(default=0, ge=0)
    fit_processes_from: int = 0
    readings_from: str = "2000-01-01"
    readings_ahead_hours: int = 24
    max_kwh_per_hour: int = 100_000
    max_file_mb: int = 256
    dashboard_users: str = ""
    period_hours: int = 24
    tariff_pen_per_kwh: float = 0.60
    tariffs: str = ""
    dashboard_secret: str = ""
    dashboard_cookie_secret: str = Field(default="", repr=False)
    dashboard_password: str = Field(default="", repr=False)
    dashboard_validate: bool = False
    dashboard_processes: int = Field(default=0, ge=0)
    score_function: str = ""
    training_shard_size: int = 200
    scoring_shard_size: int = 2_500

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("es", "en"):
            raise ValueError(f"language must be 'es' or 'en', got {value!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        if environ is None:
            return (init_settings,)
        return (init_settings, _EnvironSource(settings_cls, environ))

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from defaults, the environment, then explicit overrides.

        Overrides whose value is ``None`` are ignored, so CLI options that were not
        given fall through to the environment. ``environ`` replaces ``os.environ`` (a
        SageMaker job's variables, a test's).
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        with _reading(os.environ if environ is None else environ):
            return cls(**given)

    @property
    def worker_count(self) -> int:
        """Number of workers to use (``workers`` or one per available core)."""
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)

    @property
    def dashboard_process_count(self) -> int:
        """Dashboard server processes (``dashboard_processes``, or the default it documents)."""
        if self.dashboard_processes > 0:
            return self.dashboard_processes
        if self.lake.startswith("s3://"):
            return 1
        return max(1, min(os.cpu_count() or 1, MAX_DASHBOARD_PROCESSES))


@contextmanager
def _reading(environ: Mapping[str, str]) -> Iterator[None]:
    token = _ENVIRON.set(environ)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


__all__ = ["ENV_PREFIX", "Settings"]
