"""Transactional outbox: an alert committed by ``score`` is delivered even when the sink
fails or the run dies before sending; the next run sends what is still pending, once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from meterwatch.detect import model as model_mod
from meterwatch.detect import pipeline
from meterwatch.ingest import ingest_paths
from meterwatch.settings import Settings
from meterwatch.storage.local import LocalLake
from meterwatch.tables import stored_params
from tests.scenarios import hourly_frame, write_electrodunas


@pytest.fixture(autouse=True)
def few_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "XGB_ROUNDS", 25)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[str] = []

    def send(self, alerts: pd.DataFrame, language: str) -> None:
        if self.fail:
            raise OSError("outbox folder is read-only")
        self.sent.extend(alerts["alert_id"])


def test_a_failed_delivery_is_retried_by_the_next_run_and_sent_once(tmp_path: Path) -> None:
    frame = hourly_frame(120 * 24, seed=4)
    stop = frame["ts"].iloc[-1] - pd.Timedelta(days=5)
    frame.loc[frame["ts"] >= stop, ["active", "reactive"]] = 0.0
    write_electrodunas(tmp_path / "files", 1, frame)
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [tmp_path / "files"])
    settings = Settings.load(lake=str(tmp_path / "lake"), workers=1, history_step_days=0)
    pipeline.train(lake, until=stop - pd.Timedelta(days=10), settings=settings)

    broken = Recorder(fail=True)
    with pytest.raises(OSError):
        pipeline.score(lake, sinks=[broken], settings=settings)
    alerts = lake.read("alerts")
    assert not alerts.empty  # committed with the scores ...
    pending = [stored_params(p).get("delivery") for p in alerts["params"]]
    assert "pending" in pending  # ... and still owed to the recipients

    sink = Recorder()
    again = pipeline.score(lake, sinks=[sink], settings=settings)  # no new hours: delivers
    assert again.hours_scored == 0 and sink.sent
    owed = {a for a, p in zip(alerts["alert_id"], pending, strict=True) if p == "pending"}
    assert set(sink.sent) == owed
    after = lake.read("alerts")
    assert all(stored_params(p).get("delivery") != "pending" for p in after["params"])

    third = Recorder()
    pipeline.score(lake, sinks=[third], settings=settings)
    assert third.sent == []  # sent once
