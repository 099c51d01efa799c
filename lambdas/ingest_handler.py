"""Ingest files that landed under ``landing/`` (S3 -> SQS -> this function).

Each SQS record is fetched on its own (AWS Lambda Powertools' ``BatchProcessor``): a record
that cannot be read (a malformed message, an object gone or unreadable) is reported in
``batchItemFailures``, so SQS redelivers only that record (and, after the queue's retries,
moves it to the dead-letter queue) while the others are ingested. The fetched files are
then ingested in one transaction; a file ingest rejects is a result (kept in ``raw/`` with
its reason), not a failure to retry.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdas.runtime import lake_and_settings, lambda_entry, log, retry_on_conflict


def landed_objects(record: SQSRecord) -> list[tuple[str, str]]:
    """(bucket, key) of every object-created notification in one SQS record."""
    notification = S3Event(json.loads(record.body))
    if "Records" not in notification:  # s3:TestEvent
        return []
    return [
        # notifications carry the key URL-encoded (a space is "+")
        (r.s3.bucket.name, unquote_plus(r.s3.get_object.key))
        for r in notification.records
        if r.event_name.startswith("ObjectCreated")
    ]


class Landing:
    """Downloads each record's objects into ``folder`` (one sub-folder per object)."""

    def __init__(self, folder: Path, s3: Any) -> None:
        self.folder = folder
        self.s3 = s3
        self.paths: list[Path] = []

    def fetch(self, record: SQSRecord) -> None:
        for bucket, key in landed_objects(record):
            # Keep the file name (ingest reads the customer from it); one folder per object
            # so two landed files with the same name do not collide.
            path = self.folder / str(len(self.paths)) / Path(key).name
            path.parent.mkdir()
            self.s3.download_file(bucket, key, str(path))
            self.paths.append(path)


@lambda_entry
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Fetch the landed files, ingest them in one transaction; then trigger scoring."""
    import boto3

    from meterwatch.ingest.pipeline import ingest_paths
    from meterwatch.ingest.rules import IngestRules

    # Every record failing is reported like any other failure, not raised: the queue's
    # redrive policy, not this function, decides when a message is given up.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    with tempfile.TemporaryDirectory() as tmp:
        landing = Landing(Path(tmp), boto3.client("s3"))
        batch = process_partial_response(
            event=event, record_handler=landing.fetch, processor=processor, context=context
        )
        failures = list(batch.get("batchItemFailures", []))
        if not landing.paths:
            return {"files": 0, "batchItemFailures": failures}
        lake, settings = lake_and_settings()
        rules = IngestRules.from_settings(settings)
        report = retry_on_conflict(
            lambda: ingest_paths(lake, landing.paths, language=settings.language, rules=rules)
        )
    summary: dict[str, Any] = {
        "files": len(landing.paths),
        "statuses": [f.status for f in report.files],
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "errors": [str(e) for e in report.errors],
        "sector_problems": report.sector_problems,
        "batchItemFailures": failures,
    }
    log.info("ingest", extra={"summary": summary})
    # Scoring is not started from here: it runs on its EventBridge schedule over every
    # customer with new hours (one run per day, not one per batch of landed files).
    return summary
