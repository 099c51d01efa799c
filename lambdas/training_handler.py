"""The training state machine's two Lambda steps: plan the shards, register the models."""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lambdas.runtime import lake_and_settings, lambda_entry, log, retry_on_conflict

JOB_NAME_LIMIT = 63


def shards(clients: list[str], size: int, run: str) -> list[dict[str, Any]]:
    """Consecutive shards of ``size`` customers, each with a unique training-job name."""
    out = []
    for i in range(0, len(clients), size):
        part = clients[i : i + size]
        out.append(
            {
                "shard": i // size,
                "clients": ",".join(part),
                "job_name": f"meterwatch-{run}-{i // size:04d}"[:JOB_NAME_LIMIT],
            }
        )
    return out


@lambda_entry
def plan(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """Split the customers with readings (or ``event["clients"]``) into shards."""
    lake, settings = lake_and_settings()
    event = event or {}
    clients = event.get("clients") or [p for p in lake.partitions("readings") if p is not None]
    if not clients:
        # Fail the execution with a reason rather than train nothing.
        raise ValueError("no customers with readings in the lake: upload data to landing/ first")
    run = datetime.now(UTC).strftime("%Y%m%d%H%M") + "-" + uuid.uuid4().hex[:6]
    size = int(event.get("shard_size") or settings.training_shard_size)
    planned = shards(sorted(clients), size, run)
    log.info("plan %s", json.dumps({"customers": len(clients), "shards": len(planned)}))
    return {"shards": planned, "customers": len(clients)}


@lambda_entry
def register(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Download every shard's ``model.tar.gz`` and commit the models in one transaction."""
    import boto3

    from meterwatch.detect.artifacts import register as register_models
    from meterwatch.detect.artifacts import unpack
    from meterwatch.storage.s3 import split_uri

    lake, _settings = lake_and_settings()
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for i, uri in enumerate(event.get("artifacts", [])):
            bucket, key = split_uri(uri)
            archive = Path(tmp) / f"{i}.tar.gz"
            s3.download_file(bucket, key, str(archive))
            folders.append(unpack(archive, Path(tmp) / str(i)))
        models = retry_on_conflict(lambda: register_models(lake, folders))
    summary = {"artifacts": len(folders), "models": len(models)}
    log.info("register %s", json.dumps(summary))
    return summary
