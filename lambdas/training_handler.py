"""The training state machine's Lambda steps: plan the shards, stage each trained shard's
models, register them all."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


#: Where a staged shard's rows go, beside its artifact: ``training/<job>/staged/``.
STAGED_DIR = "staged/"
STAGED_READERS = 16  # staged shards read at once by the register step (two small GETs each)


def staged_prefix(artifact_uri: str) -> str:
    """``s3://b/training/<job>/output/model.tar.gz`` -> ``s3://b/training/<job>/staged/``."""
    head = artifact_uri.rsplit("/", 1)[0]  # .../output
    if head.endswith("/output"):
        head = head[: -len("/output")]
    return f"{head}/{STAGED_DIR}"


@lambda_entry
def stage(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """One shard, right after its training job: store its model objects in the lake and
    write its ``models`` rows and findings beside the artifact (two small Parquet files), so
    that the register step reads kilobytes per shard instead of unpacking every archive:
    the step in the Distributed Map, as many at once as training jobs."""
    import boto3

    from meterwatch.detect.artifacts import stage_artifact, unpack
    from meterwatch.storage.s3 import split_uri

    lake, _settings = lake_and_settings()
    s3 = boto3.client("s3")
    uri = str(event["artifact"])
    with tempfile.TemporaryDirectory() as tmp:
        archive, folder = Path(tmp) / "model.tar.gz", Path(tmp) / "shard"
        bucket, key = split_uri(uri)
        s3.download_file(bucket, key, str(archive))
        unpack(archive, folder)
        archive.unlink()
        rows, findings = stage_artifact(lake, folder)
    target = staged_prefix(uri)
    bucket, prefix = split_uri(target)
    for name, frame in (("models.parquet", rows), ("findings.parquet", findings)):
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=frame.to_parquet(index=False))
    log.info("stage %s", json.dumps({"artifact": uri, "models": len(rows)}))
    return {"staged": target, "models": len(rows)}


@lambda_entry
def register(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Commit every shard's models in one transaction: ``{"staged": [prefix, ...]}`` (what
    :func:`stage` wrote: the state machine's way) reads each shard's rows only; ``{"artifacts":
    [uri, ...]}`` stores each ``model.tar.gz``'s objects itself, one archive on disk at a time.

    Each archive is unpacked into the same folder only when the previous one has been read
    (its model files stored, ``artifacts.PUT_THREADS`` at a time), the next one downloading
    meanwhile, so /tmp holds two shards at most, not the fleet.
    """
    import boto3

    from meterwatch.detect.artifacts import register as register_models
    from meterwatch.detect.artifacts import unpack
    from meterwatch.storage.s3 import split_uri

    lake, _settings = lake_and_settings()
    s3 = boto3.client("s3")
    if "staged" in event:
        return _register_staged(lake, s3, list(event["staged"]))
    uris = list(event.get("artifacts", []))

    def one_at_a_time(tmp: Path) -> Iterator[Path]:
        # the next archive downloads while the shard before it is stored (two on disk at most)
        def fetch(i: int) -> Path:
            archive = tmp / f"model-{i % 2}.tar.gz"
            bucket, key = split_uri(uris[i])
            s3.download_file(bucket, key, str(archive))
            return archive

        with ThreadPoolExecutor(max_workers=1) as downloads:
            ahead = downloads.submit(fetch, 0) if uris else None
            for i in range(len(uris)):
                assert ahead is not None
                archive = ahead.result()
                ahead = downloads.submit(fetch, i + 1) if i + 1 < len(uris) else None
                folder = tmp / "shard"
                shutil.rmtree(folder, ignore_errors=True)
                unpack(archive, folder)
                archive.unlink()
                yield folder

    with tempfile.TemporaryDirectory() as tmp:
        models = retry_on_conflict(lambda: register_models(lake, one_at_a_time(Path(tmp))))
    summary = {"artifacts": len(uris), "models": len(models)}
    log.info("register %s", json.dumps(summary))
    return summary


def _register_staged(lake: Any, s3: Any, prefixes: list[str]) -> dict[str, Any]:
    """Commit the staged shards' rows (their objects are in the lake already)."""
    import io

    import pandas as pd

    from meterwatch.detect.artifacts import commit_models
    from meterwatch.storage.s3 import split_uri

    def read(prefix: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        bucket, key = split_uri(prefix)
        frames = []
        for name in ("models.parquet", "findings.parquet"):
            body = s3.get_object(Bucket=bucket, Key=f"{key}{name}")["Body"].read()
            frames.append(pd.read_parquet(io.BytesIO(body)))
        return frames[0], frames[1]

    with ThreadPoolExecutor(max_workers=STAGED_READERS) as pool:
        shards = list(pool.map(read, prefixes))
    models = retry_on_conflict(
        lambda: commit_models(lake, [m for m, _ in shards], [f for _, f in shards])
    )
    summary = {"artifacts": len(prefixes), "models": len(models)}
    log.info("register %s", json.dumps(summary))
    return summary
