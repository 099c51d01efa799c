"""An ingest killed with SIGKILL at any moment leaves a readable, consistent lake."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake
from tests.scenarios import hourly_frame, write_electrodunas

ROOT = Path(__file__).resolve().parents[2]


def state(lake_dir: Path) -> pd.DataFrame:
    lake = open_lake(str(lake_dir))
    return lake.query("SELECT client_id, ts, active_kwh FROM readings ORDER BY client_id, ts")


def assert_consistent(lake_dir: Path) -> None:
    lake = open_lake(str(lake_dir))
    dup = lake.query(
        "SELECT count(*) FROM (SELECT client_id, ts FROM readings GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dup.iloc[0, 0] == 0
    counts = lake.query(
        "SELECT c.client_id, c.n_readings, count(r.ts) AS n FROM customers c "
        "LEFT JOIN readings r USING (client_id) GROUP BY ALL"
    )
    assert (counts["n_readings"] == counts["n"]).all()


@pytest.mark.slow
def test_kill_during_ingest_then_rerun(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for n in range(1, 13):
        frame = hourly_frame(24 * 90, seed=n)
        write_electrodunas(first, n, frame)
        changed = frame.copy()
        changed["active"] *= 1.1  # a corrected delivery of every hour
        write_electrodunas(
            second, n, pd.concat([changed, hourly_frame(24 * 10, start="2022-04-01", seed=50 + n)])
        )

    reference = tmp_path / "reference"
    ingest_paths(open_lake(str(reference)), [first])
    before = state(reference)
    ingest_paths(open_lake(str(reference)), [second])
    after = state(reference)

    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outcomes = set()
    for attempt in range(6):
        lake_dir = tmp_path / f"lake{attempt}"
        ingest_paths(open_lake(str(lake_dir)), [first])
        proc = subprocess.Popen(
            [sys.executable, "-m", "meterwatch.cli", "ingest", str(second), "--lake", str(lake_dir)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.3, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen = state(lake_dir)
        assert_consistent(lake_dir)
        if seen.equals(before):
            outcomes.add("before")
        else:
            pd.testing.assert_frame_equal(seen, after)  # never anything in between
            outcomes.add("after")
        ingest_paths(open_lake(str(lake_dir)), [second])  # the re-run completes it
        pd.testing.assert_frame_equal(state(lake_dir), after)
        assert_consistent(lake_dir)
        # no orphaned data files survive the re-run's clean-up beyond the live ones
        lake = open_lake(str(lake_dir))
        on_disk = set((lake.root / "curated" / "readings").rglob("*"))
        assert {p for p in on_disk if p.is_file()} <= lake.kept_files(["readings"])
    assert "before" in outcomes
