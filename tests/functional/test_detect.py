"""Train and score on a real local lake: alerts, export, incremental scoring, de-duplication."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meterwatch.cli import main
from meterwatch.detect import model as model_mod
from meterwatch.detect.pipeline import score, train
from meterwatch.ingest import ingest_paths
from meterwatch.notify import OutboxSink
from meterwatch.settings import Settings
from meterwatch.storage import open_lake
from tests.scenarios import hourly_frame, write_electrodunas

DAYS = 60
SPLIT_DAYS = 40


@pytest.fixture(autouse=True)
def few_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "XGB_ROUNDS", 25)


def fleet(folder: Path, days: int = DAYS) -> dict[int, pd.DataFrame]:
    """Four customers: 1 clean, 2 stopped for a week, 3 under-registering 40 %, 4 clean."""
    frames = {n: hourly_frame(24 * days, seed=n, level=5.0 * n) for n in (1, 2, 3, 4)}

    def new(f, start, length):
        return (f.index >= 24 * (SPLIT_DAYS + start)) & (
            f.index < 24 * (SPLIT_DAYS + start + length)
        )

    frames[2].loc[new(frames[2], 5, 7), "active"] = 0.0
    frames[3].loc[new(frames[3], 3, 12), "active"] *= 0.6
    for n, frame in frames.items():
        write_electrodunas(folder, n, frame)
    return frames


def until() -> dict[str, pd.Timestamp]:
    cut = pd.Timestamp("2022-01-01") + pd.Timedelta(days=SPLIT_DAYS) - pd.Timedelta(hours=1)
    return {f"Cliente {n}": cut for n in (1, 2, 3, 4)}


def test_train_score_export_alerts_the_losses_and_not_the_clean(tmp_path: Path) -> None:
    fleet(tmp_path / "fleet")
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [tmp_path / "fleet"])
    settings = Settings.load(workers=2)
    trained = train(lake, until=until(), settings=settings)
    assert trained.n_models == 4
    models = lake.read("models")
    assert set(models["client_id"]) == {f"Cliente {n}" for n in (1, 2, 3, 4)}
    assert (models["trained_until"] == until()["Cliente 1"]).all()
    assert lake.list_objects("models/Cliente 1")

    outbox = OutboxSink(lake)
    result = score(lake, sinks=[outbox], settings=settings)
    assert result.hours_scored == 4 * 24 * (DAYS - SPLIT_DAYS)
    alerts = lake.read("alerts")
    by_client = alerts.groupby("client_id")["kind"].apply(set).to_dict()
    assert by_client.get("Cliente 2") == {"stopped_meter"}
    assert "under_registration" in by_client.get("Cliente 3", set())
    assert "Cliente 1" not in by_client and "Cliente 4" not in by_client
    assert sorted(alerts["rank"]) == list(range(1, len(alerts) + 1))
    assert alerts["evidence"].str.len().min() > 20
    lines = lake.get_object(outbox.keys[0]).decode().splitlines()
    assert {json.loads(line)["alert_id"] for line in lines} == set(alerts["alert_id"])

    out = tmp_path / "alerts.csv"
    assert main(["export", "alerts", "--out", str(out), "--lake", str(tmp_path / "lake")]) == 0
    exported = pd.read_csv(out)
    assert list(exported.columns)[:4] == ["alert_id", "client_id", "sector", "kind"]
    assert exported["rank"].tolist() == sorted(exported["rank"])
    out = tmp_path / "scores.csv"
    assert main(["export", "scores", "--out", str(out), "--lake", str(tmp_path / "lake")]) == 0
    assert len(pd.read_csv(out)) == result.hours_scored


def test_incremental_scoring_and_alert_deduplication(tmp_path: Path) -> None:
    frames = fleet(tmp_path / "fleet")
    lake = open_lake(str(tmp_path / "lake"))
    # the data arrives in two parts: the first 50 days, then the rest
    early = tmp_path / "early"
    for n, frame in frames.items():
        write_electrodunas(early, n, frame.iloc[: 24 * 50])
    ingest_paths(lake, [early])
    train(lake, until=until())
    first = score(lake)
    assert first.hours_scored == 4 * 24 * 10
    alerts1 = lake.read("alerts")
    assert score(lake).hours_scored == 0  # nothing is scored twice

    ingest_paths(lake, [tmp_path / "fleet"])
    second = score(lake)
    assert second.hours_scored == 4 * 24 * 10
    scores = lake.read("scores")
    assert not scores.duplicated(["client_id", "ts"]).any()
    alerts2 = lake.read("alerts")
    # the under-registration that went on across both runs is one alert, updated
    stolen = alerts2[
        (alerts2["client_id"] == "Cliente 3") & (alerts2["kind"] == "under_registration")
    ]
    assert len(stolen) == 1
    before = alerts1.set_index("alert_id")
    row = stolen.iloc[0]
    assert row["alert_id"] in before.index
    assert row["updated_at"] > before.loc[row["alert_id"], "updated_at"]
    assert row["window_end"] > before.loc[row["alert_id"], "window_end"]
    assert second.alerts_updated >= 1
    assert np.isfinite(alerts2["lost_kwh_estimate"]).all()


def _alert_keys(lake) -> list[tuple[str, str, str, str]]:
    alerts = lake.read("alerts")
    alerts = alerts[alerts["status"] != "withdrawn"]  # announced, then retracted by a revision
    return sorted(
        (str(r.client_id), str(r.kind), str(r.window_start), str(r.window_end))
        for r in alerts.itertuples()
    )


def test_scoring_day_by_day_gives_the_alerts_of_scoring_at_once(tmp_path: Path) -> None:
    frames = fleet(tmp_path / "fleet")
    batch = open_lake(str(tmp_path / "batch"))
    ingest_paths(batch, [tmp_path / "fleet"])
    train(batch, until=until())
    score(batch)

    daily = open_lake(str(tmp_path / "daily"))
    for day in range(SPLIT_DAYS, DAYS + 1):
        folder = tmp_path / f"day{day}"
        for n, frame in frames.items():
            write_electrodunas(folder, n, frame.iloc[: 24 * day])
        ingest_paths(daily, [folder])
        if day == SPLIT_DAYS:
            train(daily, until=until())
            continue
        result = score(daily)
        assert result.hours_scored == 4 * 24  # only the new day is new ...
        if day > SPLIT_DAYS + 1:
            assert result.hours_revised > 0  # ... the edge before it is scored again
    assert score(daily).hours_scored == 0

    keys = ["client_id", "ts"]
    got = daily.read("scores").sort_values(keys).reset_index(drop=True)
    want = batch.read("scores").sort_values(keys).reset_index(drop=True)
    assert not got.duplicated(keys).any()  # revised hours are overwritten, not duplicated
    assert got[keys].equals(want[keys])
    np.testing.assert_allclose(got["score"], want["score"], atol=1e-3)
    assert (got["is_anomaly"].to_numpy() == want["is_anomaly"].to_numpy()).all()
    assert _alert_keys(daily) == _alert_keys(batch)


def test_train_and_score_commands(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    assert main(["ingest", str(small_fleet), "--lake", lake]) == 0
    assert main(["train", "--lake", lake]) == 0
    assert main(["score", "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert "3 models trained" in out and "0 hours scored" in out


def test_short_history_gets_the_sector_profile_and_a_finding(tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    write_electrodunas(folder, 1, hourly_frame(24 * 30, seed=1, level=5.0))
    write_electrodunas(folder, 2, hourly_frame(24 * 30, seed=2, level=8.0))
    write_electrodunas(folder, 3, hourly_frame(24 * 5, seed=3, level=4.0))
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [folder])
    result = train(lake)
    assert result.fallbacks == ["Cliente 3"]
    models = lake.read("models").set_index("client_id")
    assert models.loc["Cliente 3", "kind"] == "sector_profile"
    assert models.loc["Cliente 1", "kind"] == "xgboost"
    findings = lake.read("data_quality")
    short = findings[findings["code"] == "model.insufficient_history"]
    assert list(short["client_id"]) == ["Cliente 3"]
    assert "historia" in short["message"].iloc[0]
    train(lake)  # training again replaces the finding, it does not pile up
    again = lake.read("data_quality")
    assert (again["code"] == "model.insufficient_history").sum() == 1
