"""Ingest files that landed under ``landing/`` (S3 -> SQS -> this function)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from lambdas.runtime import lake_and_settings, log, retry_on_conflict


def landed_objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) of every object-created record in an SQS batch of S3 notifications."""
    out = []
    for message in event.get("Records", []):
        body = json.loads(message["body"])
        for record in body.get("Records", []):  # s3:TestEvent has none
            if record.get("eventName", "").startswith("ObjectCreated"):
                s3 = record["s3"]
                out.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    return out


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Download the landed files and ingest them in one transaction; then trigger scoring."""
    import boto3

    from meterwatch.ingest.pipeline import ingest_paths
    from meterwatch.ingest.rules import IngestRules

    objects = landed_objects(event)
    if not objects:
        return {"files": 0, "batchItemFailures": []}
    lake, settings = lake_and_settings()
    rules = IngestRules.from_settings(settings)
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, (bucket, key) in enumerate(objects):
            # Keep the file name (ingest reads the customer from it); one folder per object
            # so two landed files with the same name do not collide.
            path = Path(tmp) / str(i) / Path(key).name
            path.parent.mkdir()
            s3.download_file(bucket, key, str(path))
            paths.append(path)
        report = retry_on_conflict(
            lambda: ingest_paths(lake, paths, language=settings.language, rules=rules)
        )
    summary = {
        "files": len(paths),
        "statuses": [f.status for f in report.files],
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "errors": [str(e) for e in report.errors],
        "batchItemFailures": [],
    }
    log.info("ingest %s", json.dumps(summary, ensure_ascii=False))
    # Scoring is not started from here: it runs on its EventBridge schedule over every
    # customer with new hours (one run per day, not one per batch of landed files).
    return summary
