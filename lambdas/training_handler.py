"""The training state machine's two Lambda steps: plan the shards, register the models."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lambdas.runtime import lake_and_settings, lambda_entry, log, retry_on_conflict

MANIFEST_PREFIX = "training/manifests/"  # in the lake's bucket, beside the artifacts
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
    from meterwatch.storage.base import customers_with_readings

    lake, settings = lake_and_settings()
    event = event or {}
    clients = event.get("clients") or customers_with_readings(lake)
    if not clients:
        # Fail the execution with a reason rather than train nothing.
        raise ValueError("no customers with readings in the lake: upload data to landing/ first")
    run = datetime.now(UTC).strftime("%Y%m%d%H%M") + "-" + uuid.uuid4().hex[:6]
    size = int(event.get("shard_size") or settings.training_shard_size)
    planned = shards(sorted(clients), size, run)
    # The shard list goes to S3, where the Distributed Map's ItemReader reads it: the state
    # payload (256 KiB) carries its location only, whatever the number of customers.
    import boto3

    from meterwatch.storage.s3 import split_uri

    bucket, _prefix = split_uri(settings.lake)
    key = f"{MANIFEST_PREFIX}{run}.json"
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(planned).encode())
    log.info("plan", extra={"customers": len(clients), "shards": len(planned)})
    return {"bucket": bucket, "key": key, "shards": len(planned), "customers": len(clients)}


@lambda_entry
def register(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Commit every shard's ``model.tar.gz`` in one transaction, one archive on disk at a time.

    Each archive is downloaded and unpacked into the same folder only when the previous one
    has been read (its model files stored), so /tmp holds one shard, not the fleet.
    """
    import boto3

    from meterwatch.detect.artifacts import register as register_models
    from meterwatch.detect.artifacts import unpack
    from meterwatch.storage.s3 import split_uri

    lake, _settings = lake_and_settings()
    s3 = boto3.client("s3")
    uris = list(event.get("artifacts", []))

    def one_at_a_time(tmp: Path) -> Iterator[Path]:
        for uri in uris:
            folder, archive = tmp / "shard", tmp / "model.tar.gz"
            shutil.rmtree(folder, ignore_errors=True)
            bucket, key = split_uri(uri)
            s3.download_file(bucket, key, str(archive))
            unpack(archive, folder)
            archive.unlink()
            yield folder

    with tempfile.TemporaryDirectory() as tmp:
        models = retry_on_conflict(lambda: register_models(lake, one_at_a_time(Path(tmp))))
    summary = {"artifacts": len(uris), "models": len(models)}
    log.info("register %s", json.dumps(summary))
    return summary
