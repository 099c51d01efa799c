"""Score new readings, update alerts and publish them (after ingestion and daily)."""

from __future__ import annotations

import json
from typing import Any

from lambdas.runtime import lake_and_settings, lambda_entry, log, retry_on_conflict


@lambda_entry
def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """One scoring run over every customer with a model; alerts go to the SNS topic."""
    from meterwatch.adapters.aws.sns import SnsSink
    from meterwatch.detect.pipeline import score

    lake, settings = lake_and_settings()
    sinks = (
        [SnsSink(settings.alert_topic_arn, settings.dashboard_url)]
        if settings.alert_topic_arn
        else []
    )
    result = retry_on_conflict(lambda: score(lake, sinks=sinks, settings=settings))
    summary = {
        "customers": result.customers,
        "hours_scored": result.hours_scored,
        "hours_revised": result.hours_revised,
        "anomalies": result.anomalies,
        "alerts_new": result.alerts_new,
        "alerts_updated": result.alerts_updated,
        "alerts_withdrawn": result.alerts_withdrawn,
        "skipped": len(result.skipped),
        "seconds": round(result.seconds, 2),
    }
    log.info("score %s", json.dumps(summary))
    return summary
