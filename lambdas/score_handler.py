"""The scoring state machine's Lambda steps: plan the shards of whole sectors, score a shard.

The schedule starts the state machine: ``{"plan": true}`` writes the shard list to S3 (the
Distributed Map's ItemReader reads it, so no customer list fills the state payload), then
each shard ``{"clients": "Cliente 1,Cliente 2,..."}`` is scored in turn (one commit each;
shards of whole sectors give one run's results, ``pipeline.scoring_shards``). An event with
neither scores every customer in one invocation (a small fleet, or a manual run).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from lambdas.runtime import lake_and_settings, lambda_entry, log, retry_on_conflict

MANIFEST_PREFIX = "scoring/manifests/"  # in the lake's bucket, beside training's


@lambda_entry
def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """Plan the shards (``{"plan": true}``), score one (``{"clients": "a,b"}``) or all."""
    from meterwatch.adapters.aws.sns import SnsSink
    from meterwatch.detect.pipeline import score

    event = event or {}
    lake, settings = lake_and_settings()
    if event.get("plan"):
        return _plan(lake, settings, event)
    clients = [c for c in str(event.get("clients") or "").split(",") if c] or None
    sinks = (
        [SnsSink(settings.alert_topic_arn, settings.dashboard_url)]
        if settings.alert_topic_arn
        else []
    )
    result = retry_on_conflict(lambda: score(lake, sinks=sinks, settings=settings, clients=clients))
    summary = {
        "customers": result.customers,
        "hours_scored": result.hours_scored,
        "hours_revised": result.hours_revised,
        "anomalies": result.anomalies,
        "alerts_new": result.alerts_new,
        "alerts_updated": result.alerts_updated,
        "alerts_withdrawn": result.alerts_withdrawn,
        "skipped": len(result.skipped),
        # never-scored customers beyond Settings.history_max_customers: the next run takes them
        "deferred": len(result.deferred),
        "corrected": len(result.corrected),
        "seconds": round(result.seconds, 2),
    }
    log.info("score %s", json.dumps({**summary, "shard": clients is not None}))
    return summary


def _plan(lake: Any, settings: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Write the run's shards of whole sectors to S3; return where (and how many)."""
    import boto3

    from meterwatch.detect.pipeline import scoring_shards
    from meterwatch.storage.s3 import split_uri

    size = int(event.get("shard_size") or settings.scoring_shard_size)
    shards = scoring_shards(lake, size)
    planned = [{"shard": i, "clients": ",".join(shard)} for i, shard in enumerate(shards)]
    run = datetime.now(UTC).strftime("%Y%m%d%H%M") + "-" + uuid.uuid4().hex[:6]
    bucket, _prefix = split_uri(settings.lake)
    key = f"{MANIFEST_PREFIX}{run}.json"
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(planned).encode())
    customers = sum(len(shard) for shard in shards)
    log.info("plan %s", json.dumps({"customers": customers, "shards": len(planned)}))
    return {"bucket": bucket, "key": key, "shards": len(planned), "customers": customers}
