"""A daily scoring run is linear in customers: it reads windows, not histories (issue 13).

Speed is measured in ``bench/scale.py``; these tests count what a run reads.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meterwatch.detect import model as model_mod
from meterwatch.detect import pipeline
from meterwatch.detect.pipeline import score, train
from meterwatch.ingest import ingest_paths
from meterwatch.settings import Settings
from meterwatch.storage import local
from meterwatch.storage.base import Lake
from meterwatch.storage.local import LocalLake
from meterwatch.synth import generate_fleet
from tests.functional.test_detect import DAYS, SPLIT_DAYS, fleet, until
from tests.scenarios import write_electrodunas


@pytest.fixture(autouse=True)
def few_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "XGB_ROUNDS", 25)


def _daily_run(tmp_path: Path, name: str) -> Lake:
    """The fleet of test_detect arriving one day at a time, scored after every day."""
    frames = fleet(tmp_path / f"{name}-fleet")
    lake = LocalLake(tmp_path / name)
    for day in range(SPLIT_DAYS, DAYS + 1):
        folder = tmp_path / f"{name}-day{day}"
        for n, frame in frames.items():
            write_electrodunas(folder, n, frame.iloc[: 24 * day])
        ingest_paths(lake, [folder])
        if day == SPLIT_DAYS:
            train(lake, until=until())
            continue
        score(lake, settings=Settings.load(workers=1))
    return lake


@pytest.mark.slow
def test_windowed_daily_scoring_gives_what_reading_whole_histories_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    windowed = _daily_run(tmp_path, "windowed")
    # the reference: every run reads every customer's whole scores and readings
    monkeypatch.setattr(pipeline, "EVENT_MARGIN", pd.Timedelta(days=20_000))
    monkeypatch.setattr(pipeline, "SCORES_LOOKBACK_DAYS", 40_000)
    whole = _daily_run(tmp_path, "whole")

    keys = ["client_id", "ts"]
    got = windowed.read("scores").sort_values(keys).reset_index(drop=True)
    want = whole.read("scores").sort_values(keys).reset_index(drop=True)
    drop = ["scored_at", "model_version"]  # when each run happened
    pd.testing.assert_frame_equal(got.drop(columns=drop), want.drop(columns=drop))
    columns = ["client_id", "kind", "window_start", "window_end", "severity", "status",
               "lost_kwh_estimate", "n_hours", "confidence", "rank", "evidence"]  # fmt: skip
    a = windowed.read("alerts")[columns].sort_values(columns[:4]).reset_index(drop=True)
    b = whole.read("alerts")[columns].sort_values(columns[:4]).reset_index(drop=True)
    assert len(a) >= 2  # the stopped meter and the under-registration
    pd.testing.assert_frame_equal(a, b)


class _Counted:
    """Rows read from the lake per table, while active."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()
        self.objects = 0


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counted]:
    count = _Counted()
    read_arrow = LocalLake.read_arrow
    tx_read = local.LocalTransaction.read
    get_object = LocalLake.get_object

    def counting_read(self, table, **kwargs):  # type: ignore[no-untyped-def]
        out = read_arrow(self, table, **kwargs)
        count.rows[table] += out.num_rows
        return out

    def counting_tx_read(self, table, **kwargs):  # type: ignore[no-untyped-def]
        out = tx_read(self, table, **kwargs)
        count.rows[table] += out.num_rows
        return out

    def counting_get(self, key):  # type: ignore[no-untyped-def]
        count.objects += 1
        return get_object(self, key)

    monkeypatch.setattr(LocalLake, "read_arrow", counting_read)
    monkeypatch.setattr(local.LocalTransaction, "read", counting_tx_read)
    monkeypatch.setattr(LocalLake, "get_object", counting_get)
    yield count


def _fleet_daily_reads(root: Path, n: int, days: int, count: _Counted) -> tuple[Counter[str], int]:
    """Rows and objects read by the daily run of a synthetic fleet of ``n`` customers."""
    generate_fleet(root / "synth", n_customers=n, days=days + 1, seed=5, defects=False)
    base, day = root / "base", root / "day"
    base.mkdir()
    day.mkdir()
    cut = (pd.Timestamp("2021-01-01") + pd.Timedelta(days=days)).strftime("%Y-%m-%d")
    for path in sorted((root / "synth" / "data").iterdir()):
        if path.suffix != ".csv":
            shutil.copy(path, base / path.name)
            continue
        head, *lines = path.read_text().splitlines()
        (base / path.name).write_text("\n".join([head, *(x for x in lines if x < cut)]) + "\n")
        (day / path.name).write_text("\n".join([head, *(x for x in lines if x >= cut)]) + "\n")
    lake = LocalLake(root / "lake")
    settings = Settings.load(workers=1, history_step_days=0)
    ingest_paths(lake, [base])
    trained_until = pd.Timestamp(cut) - pd.Timedelta(days=10, hours=1)
    train(lake, until=trained_until, settings=settings)
    score(lake, settings=settings)  # the first ten days: now the run is a daily one
    ingest_paths(lake, [day])
    count.rows.clear()
    count.objects = 0
    result = score(lake, settings=settings)
    assert result.hours_scored == 24 * n
    return Counter(count.rows), count.objects


@pytest.mark.slow
def test_a_daily_run_reads_per_customer_what_it_reads_in_a_small_fleet(
    tmp_path: Path, counted: _Counted
) -> None:
    days = 70
    small_rows, small_objects = _fleet_daily_reads(tmp_path / "small", 30, days, counted)
    large_rows, large_objects = _fleet_daily_reads(tmp_path / "large", 120, days, counted)
    # the same per customer at four times the fleet (tables of one row per customer or per
    # alert, such as models, customers and alerts, are read once per run)
    for table in ("readings", "scores"):
        assert large_rows[table] / 120 <= 1.1 * small_rows[table] / 30, table
    assert large_objects / 120 <= small_objects / 30 + 0.01
    # ... and a window, not a history: far less than the customer's days of readings
    window_days = 45
    assert large_rows["readings"] / 120 < 24 * window_days < 24 * (days + 1)
    assert np.isfinite(large_rows["scores"])
