"""SIGKILL at the risky moments of train and score: the lake stays as before or after, a re-run
completes the work, ``meterwatch check`` finds nothing damaged and clears the orphans.

Each kill runs ``tests/functional/kill_point.py`` in a subprocess that dies at the named
moment (see there); the ingest's kills are in ``test_ingest_crash.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.cli import main
from meterwatch.ingest import ingest_paths
from meterwatch.integrity import check_lake
from meterwatch.storage import open_lake
from tests.functional import kill_point
from tests.scenarios import hourly_frame, write_electrodunas

ROOT = Path(__file__).resolve().parents[2]
DAYS = 56
CLIENTS = {f"Cliente {n}" for n in (1, 2, 3)}
SCORE_COLUMNS = ["client_id", "ts", "active_kwh", "expected_kwh", "score", "is_anomaly"]
ALERT_COLUMNS = ["client_id", "kind", "window_start", "window_end", "severity", "status"]


def run_until_killed(step: str, point: str, lake_dir: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.functional.kill_point", step, point, str(lake_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr[-2000:]
    return proc.returncode


def copy(template: Path, to: Path) -> Path:
    shutil.copytree(template, to)
    return to


def model_objects(lake_dir: Path) -> set[str]:
    return set(open_lake(str(lake_dir)).list_objects("models/"))


def referenced(lake_dir: Path) -> set[str]:
    return set(open_lake(str(lake_dir)).read("models")["artifact_key"])


def scores_of(lake_dir: Path) -> pd.DataFrame:
    lake = open_lake(str(lake_dir))
    cols = ", ".join(SCORE_COLUMNS)
    return lake.query(f"SELECT {cols} FROM scores ORDER BY client_id, ts")


def alerts_of(lake_dir: Path) -> pd.DataFrame:
    lake = open_lake(str(lake_dir))
    cols = ", ".join(ALERT_COLUMNS)
    return lake.query(f"SELECT {cols} FROM alerts ORDER BY client_id, window_start, kind")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three customers, 56 days; the third stops registering in the scored part."""
    base = tmp_path_factory.mktemp("kill")
    frames = {n: hourly_frame(24 * DAYS, seed=n, level=4.0 * n) for n in (1, 2, 3)}
    frames[3].loc[frames[3].index >= 24 * 45, "active"] = 0.0
    for n, frame in frames.items():
        write_electrodunas(base / "fleet", n, frame)
    ingest_paths(open_lake(str(base / "lake")), [base / "fleet"])
    return base / "lake"


@pytest.fixture(scope="module")
def trained(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake_dir = copy(ingested, tmp_path_factory.mktemp("trained") / "lake")
    assert run_until_killed("train", "none", lake_dir) == 0
    return lake_dir


@pytest.mark.slow
@pytest.mark.parametrize("point", ["artefact", "before_publish", "after_publish"])
def test_kill_during_train(point: str, ingested: Path, tmp_path: Path) -> None:
    lake_dir = copy(ingested, tmp_path / "lake")
    assert run_until_killed("train", point, lake_dir) == -signal.SIGKILL

    committed = point == "after_publish"
    assert set(open_lake(str(lake_dir)).read("models")["client_id"]) == (
        CLIENTS if committed else set()
    )
    orphans = model_objects(lake_dir) - referenced(lake_dir)
    assert bool(orphans) == (not committed)  # written, never committed

    lake = open_lake(str(lake_dir))
    young = check_lake(lake)  # a train may still be about to commit them: kept
    assert young.ok and set(young.orphans_kept) == orphans and not young.orphans_removed
    cleared = check_lake(lake, orphan_min_age=timedelta(0))
    assert cleared.ok and set(cleared.orphans_removed) == orphans
    assert model_objects(lake_dir) == referenced(lake_dir)

    assert run_until_killed("train", "none", lake_dir) == 0  # the re-run completes
    assert set(open_lake(str(lake_dir)).read("models")["client_id"]) == CLIENTS
    assert referenced(lake_dir) <= model_objects(lake_dir)
    after = check_lake(open_lake(str(lake_dir)), orphan_min_age=timedelta(0))
    assert after.ok and not after.orphans_removed


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before_publish", "after_publish"])
def test_kill_during_score(point: str, trained: Path, tmp_path: Path) -> None:
    reference = copy(trained, tmp_path / "reference")
    kill_point.run("score", str(reference))
    expected_scores, expected_alerts = scores_of(reference), alerts_of(reference)
    assert len(expected_scores) > 0 and "Cliente 3" in set(expected_alerts["client_id"])

    lake_dir = copy(trained, tmp_path / "lake")
    assert run_until_killed("score", point, lake_dir) == -signal.SIGKILL
    seen = scores_of(lake_dir)
    if point == "before_publish":
        assert seen.empty and alerts_of(lake_dir).empty  # nothing half-written
    else:
        pd.testing.assert_frame_equal(seen, expected_scores)
    assert check_lake(open_lake(str(lake_dir))).ok

    kill_point.run("score", str(lake_dir))  # the re-run completes it, nothing scored twice
    pd.testing.assert_frame_equal(scores_of(lake_dir), expected_scores)
    pd.testing.assert_frame_equal(alerts_of(lake_dir), expected_alerts)
    assert main(["check", "--lake", str(lake_dir)]) == 0


@pytest.mark.slow
def test_kill_while_delivering_loses_no_alert(trained: Path, tmp_path: Path) -> None:
    """Killed after the alerts were committed and before the outbox was written: nothing is
    lost, the re-run delivers every alert owed, once."""
    import json

    from meterwatch.tables import stored_params

    lake_dir = copy(trained, tmp_path / "lake")
    assert run_until_killed("score", "delivering", lake_dir) == -signal.SIGKILL
    committed = open_lake(str(lake_dir)).read("alerts")
    owed = {
        a
        for a, p in zip(committed["alert_id"], committed["params"], strict=True)
        if stored_params(p).get("delivery") == "pending"
    }
    assert owed and not list((lake_dir / "objects" / "outbox").glob("*.jsonl"))
    kill_point.run("score", str(lake_dir))
    lines = [
        json.loads(line)
        for f in (lake_dir / "objects" / "outbox").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    delivered = [row["alert_id"] for row in lines]
    # the outbox leaves out 0 kWh alerts of some kinds (notify.worth_sending): every owed
    # alert it writes is written once, and none stays pending
    assert set(delivered) <= owed and len(delivered) == len(set(delivered)) and delivered
    assert all(
        stored_params(p).get("delivery") != "pending"
        for p in open_lake(str(lake_dir)).read("alerts")["params"]
    )
