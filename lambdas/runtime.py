"""What every handler shares: settings from the environment, the lake, commit retries, and
AWS Lambda Powertools' structured logger."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from meterwatch.settings import Settings
from meterwatch.storage import Lake, open_lake

T = TypeVar("T")
Handler = Callable[..., dict[str, Any]]
log = Logger(service="meterwatch")


def lambda_entry(handler: Handler) -> Handler:
    """A handler whose log lines carry the invocation (request id, function, cold start).

    Called without a context (a test, a local run), it runs as is.
    """
    with_context = log.inject_lambda_context(handler)

    @functools.wraps(handler)
    def run(event: Any = None, context: Any = None) -> dict[str, Any]:
        if context is None:
            return handler(event, context)
        return dict(with_context(event, context))

    return run


def lake_and_settings() -> tuple[Lake, Settings]:
    """The composition root of a function: settings once, then the lake they name."""
    settings = Settings.load()
    return open_lake(settings.lake, settings), settings


def retry_on_conflict(work: Callable[[], T], attempts: int = 4) -> T:
    """Run ``work``; when another writer committed first, run it again on the new state.

    A conflicting commit published nothing, and every operation here is idempotent
    (ingest skips files it has, scoring skips hours it scored), so running again is safe.
    """
    from meterwatch.storage.s3 import CommitConflict

    for attempt in range(1, attempts + 1):
        try:
            return work()
        except CommitConflict:
            if attempt == attempts:
                raise
            log.warning("commit conflict, attempt %d of %d; running again", attempt, attempts)
            time.sleep(random.uniform(0.5, 2.0) * attempt)
    raise AssertionError("unreachable")
