"""What every handler shares: settings from the environment, the lake, commit retries."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from meterwatch.settings import Settings
from meterwatch.storage import Lake, open_lake

T = TypeVar("T")
log = logging.getLogger("meterwatch")
log.setLevel(logging.INFO)


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
