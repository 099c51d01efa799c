"""Run ``train`` or ``score`` on a lake and SIGKILL the process at a named moment.

Used by ``test_kill_harness.py`` as ``python -m tests.functional.kill_point STEP POINT LAKE``.
The kill points wrap the lake's own methods, so the process dies exactly there:

- ``artefact``: right after the first model artefact is written (``put_object`` of
  ``models/...``), long before the commit;
- ``before_publish``: in the commit, every data and metadata file written and synced, the
  catalog not yet switched to them;
- ``after_publish``: the catalog switched (committed), before the clean-up that follows it;
- ``delivering``: the alerts committed, the outbox sink about to write them.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import pandas as pd

from meterwatch.detect import model as model_mod
from meterwatch.detect.pipeline import score, train
from meterwatch.settings import Settings
from meterwatch.storage import open_lake
from meterwatch.storage.local import LocalLake

ROUNDS = 25  # few trees: the harness tests the commit, not the model
SPLIT = pd.Timestamp("2022-02-09 23:00")  # train on the first 40 days, score the rest


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    """Replace the lake method behind ``point`` with one that kills the process there."""
    if point == "artefact":
        put_object = LocalLake.put_object

        def put_then_die(self: LocalLake, key: str, data: bytes) -> None:
            put_object(self, key, data)
            if key.startswith("models/"):
                die()

        LocalLake.put_object = put_then_die  # type: ignore[method-assign]
    elif point in ("before_publish", "after_publish"):
        publish = LocalLake._publish

        def publish_around(self: LocalLake, *args: Any) -> None:
            if point == "before_publish":
                die()
            publish(self, *args)
            die()

        LocalLake._publish = publish_around  # type: ignore[method-assign]
    elif point == "delivering":
        from meterwatch.notify import OutboxSink

        def send_dies(self: OutboxSink, alerts: Any, language: str) -> None:
            die()

        OutboxSink.send = send_dies  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def run(step: str, lake_dir: str) -> None:
    lake = open_lake(lake_dir)
    settings = Settings.load(workers=1)
    if step == "train":
        train(lake, until=SPLIT, settings=settings)
    elif step == "score":
        from meterwatch.notify import OutboxSink

        score(lake, sinks=(OutboxSink(lake),), settings=settings)
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    step, point, lake_dir = sys.argv[1:4]
    model_mod.XGB_ROUNDS = ROUNDS
    if point != "none":
        arm(point)
    run(step, lake_dir)
