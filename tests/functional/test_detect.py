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
    # the evidence is stored as catalog codes; the outbox writes it out for its readers
    assert all(
        json.loads(e)[0] == f"alert.{k}"
        for e, k in zip(alerts["evidence"], alerts["kind"], strict=True)
    )
    lines = [json.loads(line) for line in lake.get_object(outbox.keys[0]).decode().splitlines()]
    assert {line["alert_id"] for line in lines} == set(alerts["alert_id"])
    assert min(len(line["evidence_text"]) for line in lines) > 20
    assert not any("alert." in line["evidence_text"] for line in lines)

    out = tmp_path / "alerts.csv"
    assert main(["export", "alerts", "--out", str(out), "--lake", str(tmp_path / "lake")]) == 0
    exported = pd.read_csv(out)
    assert list(exported.columns)[:4] == ["alert_id", "client_id", "sector", "kind"]
    assert exported["rank"].tolist() == sorted(exported["rank"])
    # raised or watched in a column of its own, as the params say
    reasons = [json.loads(p).get("watch") or "" for p in exported["params"]]
    assert exported["watch_reason"].fillna("").tolist() == reasons
    assert exported["priority"].tolist() == ["watched" if r else "raised" for r in reasons]
    assert list(exported.columns).index("priority") == list(exported.columns).index("status") + 1
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


def _retraining_run(tmp_path: Path, exclude: bool, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    """Customer 3 under-registers 40 % from day 43 to the end (day 80); the models are trained
    on days 0-40, scored to day 60, retrained on everything so far, then scored to day 80."""
    from meterwatch.detect import pipeline

    if not exclude:
        monkeypatch.setattr(pipeline, "training_exclusions", lambda lake: {})
    days = 80
    frames = {n: hourly_frame(24 * days, seed=n, level=5.0 * n) for n in (1, 2, 3, 4)}
    frames[3].loc[frames[3].index >= 24 * 43, "active"] *= 0.6
    lake = open_lake(str(tmp_path / f"lake-{exclude}"))
    for part, upto in (("a", 60), ("b", days)):
        folder = tmp_path / f"{part}-{exclude}"
        for n, frame in frames.items():
            write_electrodunas(folder, n, frame.iloc[: 24 * upto])
        ingest_paths(lake, [folder])
        if part == "a":
            train(lake, until=until())
            score(lake)
            retrained = train(lake)  # weekly retraining: every reading so far
            assert (retrained.excluded_hours > 0) == exclude
        else:
            score(lake)
    alerts = lake.read("alerts")
    return alerts[(alerts["client_id"] == "Cliente 3") & (alerts["status"] != "withdrawn")]


def test_retraining_does_not_learn_an_ongoing_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = pd.Timestamp("2022-01-01") + pd.Timedelta(days=78)
    kept = _retraining_run(tmp_path, exclude=True, monkeypatch=monkeypatch)
    # the loss stays flagged after the retraining, as one alert that grows to the data's end
    (alert,) = kept[kept["kind"] == "under_registration"].itertuples()
    assert pd.Timestamp(alert.window_end) >= end
    # without leaving the alert's hours out, the retrained model learns the loss as a level
    learnt = _retraining_run(tmp_path, exclude=False, monkeypatch=monkeypatch)
    assert (pd.to_datetime(learnt["window_end"]) < end).all()


def test_an_alert_inspected_as_a_false_alarm_is_learnt_at_the_next_training(
    tmp_path: Path,
) -> None:
    import time

    from meterwatch.detect.pipeline import training_exclusions
    from meterwatch.feedback import record_feedback

    lake = open_lake(str(tmp_path / "lake"))
    fleet(tmp_path / "fleet")
    ingest_paths(lake, [tmp_path / "fleet"])
    train(lake, until=until())
    score(lake)
    alerts = lake.read("alerts")
    alerted = {str(c) for c in alerts["client_id"]}
    assert {"Cliente 2", "Cliente 3"} <= alerted
    assert set(training_exclusions(lake)) == alerted
    stopped = alerts[alerts["client_id"] == "Cliente 2"]["alert_id"].iloc[0]
    stolen = alerts[alerts["client_id"] == "Cliente 3"]["alert_id"].iloc[0]
    record_feedback(lake, stolen, "under_inspection", "", "inspector")
    time.sleep(0.01)
    record_feedback(lake, stolen, "confirmed_loss", "", "inspector")
    record_feedback(lake, stopped, "false_alarm", "planta parada por mantenimiento", "inspector")
    left_out = training_exclusions(lake)
    assert "Cliente 2" not in left_out  # a false alarm was real consumption: learn it
    assert [a for _, _, a in left_out["Cliente 3"]] == [stolen]  # a confirmed loss is not
    result = train(lake)
    assert result.excluded_hours > 0
    models = lake.read("models").set_index("client_id")
    assert json.loads(models.loc["Cliente 3", "params"])["excluded_alerts"] == [stolen]
    assert "excluded_alerts" not in json.loads(models.loc["Cliente 2", "params"])
