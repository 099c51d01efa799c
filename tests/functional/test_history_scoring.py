"""Day one: ingest -> train on the whole history -> score puts the history's events in the
inbox (walk-forward models), each window at the event's true start; new hours are then
scored incrementally as before."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.detect import model as model_mod
from meterwatch.detect import pipeline
from meterwatch.ingest import ingest_paths
from meterwatch.settings import Settings
from meterwatch.storage.local import LocalLake
from tests.scenarios import hourly_frame, write_electrodunas


@pytest.fixture(autouse=True)
def few_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "XGB_ROUNDS", 25)


def test_history_events_reach_the_inbox_at_their_true_start(tmp_path: Path) -> None:
    days = 240
    stop = pd.Timestamp("2022-05-10 06:00")  # a week of zeros, deep inside the history
    negative = pd.Timestamp("2022-07-02 00:00")  # reversed wiring for 10 hours
    late_stop = pd.Timestamp("2022-08-25 00:00")  # after training: a new event, scored daily
    folder = tmp_path / "files"
    frames = {}
    for number in (1, 2, 3):
        frame = hourly_frame(days * 24, seed=number)
        frames[number] = frame
    stopped = (frames[1]["ts"] >= stop) & (frames[1]["ts"] < stop + pd.Timedelta(days=7))
    frames[1].loc[stopped, ["active", "reactive"]] = 0.0
    reversed_ = (frames[2]["ts"] >= negative) & (
        frames[2]["ts"] < negative + pd.Timedelta(hours=10)
    )
    frames[2].loc[reversed_, "active"] *= -1
    late = frames[3]["ts"] >= late_stop
    frames[3].loc[late & (frames[3]["ts"] < late_stop + pd.Timedelta(days=3)), "active"] = 0.0
    cut = pd.Timestamp("2022-08-20")
    for number, frame in frames.items():
        write_electrodunas(folder, number, frame[frame["ts"] < cut])
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [folder])
    settings = Settings.load(lake=str(tmp_path / "lake"), workers=1, history_step_days=30)
    pipeline.train(lake, settings=settings)

    first = pipeline.score(lake, settings=settings)
    assert first.history_hours > 0
    alerts = lake.read("alerts")
    raised = alerts[~alerts["params"].str.contains('"watch": "')]
    stops = raised[(raised["client_id"] == "Cliente 1") & (raised["kind"] == "stopped_meter")]
    assert len(stops) == 1
    assert stops["window_start"].iloc[0] == stop
    assert stops["window_end"].iloc[0] == stop + pd.Timedelta(days=7)
    rev = raised[(raised["client_id"] == "Cliente 2") & (raised["kind"] == "reverse_energy")]
    assert rev["window_start"].tolist() == [negative]
    # history long over is for the inbox, not the mail
    assert first.alerts.empty or not first.alerts["client_id"].eq("Cliente 1").any()
    # scored hours come from models that never saw them: the stop's hours are not "normal"
    scores = lake.read("scores")
    in_stop = scores[
        (scores["client_id"] == "Cliente 1")
        & scores["ts"].between(stop, stop + pd.Timedelta(days=6))
    ]
    assert in_stop["model_version"].str.startswith("walk-").all()
    assert in_stop["is_anomaly"].all()

    # the daily mode is unchanged: new hours after training, nothing scored twice
    write_electrodunas(folder, 3, frames[3])
    ingest_paths(lake, [folder / "DATOSCLIENTE3.csv"])
    second = pipeline.score(lake, settings=settings)
    assert second.history_hours == 0 and second.hours_scored > 0
    assert not lake.read("scores").duplicated(["client_id", "ts"]).any()
    new = lake.read("alerts")
    late_alerts = new[(new["client_id"] == "Cliente 3") & (new["kind"] == "stopped_meter")]
    assert late_alerts["window_start"].min() == late_stop
    assert second.alerts["client_id"].eq("Cliente 3").any()  # a new event is mailed


def test_a_changed_weekly_routine_is_watched_in_the_daily_runs_too(tmp_path: Path) -> None:
    # After training, the customer's Mondays drop to 30 % and every other day stays: its third
    # week is watched as a weekly routine. A daily run rebuilds events from a few days back
    # only; the weeks before come from the scores it read (pipeline._event_inputs' `earlier`).
    folder = tmp_path / "files"
    frame = hourly_frame(200 * 24, start="2022-01-03", seed=4)  # a Monday
    cut = pd.Timestamp("2022-05-30")  # a Monday: training ends here
    routine = (frame["ts"] >= cut) & (frame["ts"].dt.dayofweek == 0)
    frame.loc[routine, "active"] *= 0.3
    write_electrodunas(folder, 1, frame[frame["ts"] < cut])
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [folder])
    settings = Settings.load(lake=str(tmp_path / "lake"), workers=1, history_step_days=0)
    pipeline.train(lake, settings=settings)

    def upto(end: pd.Timestamp) -> None:
        write_electrodunas(folder, 1, frame[frame["ts"] < end])
        ingest_paths(lake, [folder])
        pipeline.score(lake, settings=settings)

    for week in (1, 2):
        upto(cut + pd.Timedelta(days=7 * week))
    for day in range(15, 22):  # the third week a day at a time, as in production
        upto(cut + pd.Timedelta(days=day))
    alerts = lake.read("alerts").sort_values("window_start")
    # one event a week (the centred day windows flag a few hours either side of it)
    assert len(alerts) == 3 and (alerts["kind"] == "under_registration").all()
    watch = [json.loads(p).get("watch") for p in alerts["params"]]
    # the first is short (it starts with the new hours), the second raised, the third watched
    assert watch == ["short", None, "weekly_routine"]


def test_corrected_readings_are_scored_again_and_their_alerts_follow(tmp_path: Path) -> None:
    """Late corrections of hours already scored: a stopped meter whose readings the
    distributor recovered is withdrawn, hours corrected to zero are alerted, a gap filled late
    with a stopped meter's zeros is alerted; each correction is scored once, one before the
    models' training end leaves the scores as they were."""
    days, cut = 200, pd.Timestamp("2022-06-20")
    frames = {n: hourly_frame(days * 24, seed=n) for n in (1, 2, 3)}
    stop = pd.Timestamp("2022-07-01")
    folder = tmp_path / "files"
    for number, frame in frames.items():
        write_electrodunas(folder, number, frame[frame["ts"] < cut])
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [folder])
    settings = Settings.load(lake=str(tmp_path / "lake"), workers=1, history_step_days=0)
    pipeline.train(lake, settings=settings)
    # new hours: customer 1's meter reports zeros for three days
    stopped = frames[1].copy()
    in_stop = (stopped["ts"] >= stop) & (stopped["ts"] < stop + pd.Timedelta(days=3))
    stopped.loc[in_stop, ["active", "reactive"]] = 0.0
    # customer 3's same three days are missing (they arrive later, and they are zeros)
    gap = frames[3][~in_stop]
    for number, frame in {**frames, 1: stopped, 3: gap}.items():
        write_electrodunas(folder, number, frame)
    ingest_paths(lake, [folder])
    first = pipeline.score(lake, settings=settings)
    assert first.hours_scored > 0 and first.corrected == []

    def alerts(client: str, kind: str) -> pd.DataFrame:
        table = lake.read("alerts")
        return table[(table["client_id"] == client) & (table["kind"] == kind)]

    assert alerts("Cliente 1", "stopped_meter")["status"].tolist() == ["closed"]
    assert alerts("Cliente 2", "stopped_meter").empty
    scored_before = len(lake.read("scores"))

    # the corrections: customer 1's three days recovered, customer 2's meter found stopped
    # for the same three days (already scored as normal) and a day of its training period
    # corrected too, customer 3's missing days arrive: zeros
    fixes = tmp_path / "fixes"
    write_electrodunas(fixes, 1, frames[1][in_stop])
    zeroed = frames[2][in_stop].assign(active=0.0, reactive=0.0)
    old = frames[2][frames[2]["ts"] < pd.Timestamp("2022-03-02")].tail(24)
    write_electrodunas(fixes, 2, pd.concat([old.assign(active=old["active"] * 1.01), zeroed]))
    write_electrodunas(fixes, 3, frames[3][in_stop].assign(active=0.0, reactive=0.0))
    report = ingest_paths(lake, [fixes])
    assert report.total("rows_updated") == 2 * 72 + 24 and report.total("rows_inserted") == 72
    found = lake.read("data_quality")
    corrected = found[found["code"] == "readings.corrected"]
    assert sorted(corrected["client_id"]) == ["Cliente 1", "Cliente 2"]
    assert corrected.set_index("client_id").loc["Cliente 1", "period_start"] == stop
    filled = found[found["code"] == "readings.late"]
    assert filled["client_id"].tolist() == ["Cliente 3"] and filled["n_hours"].tolist() == [72]

    again = pipeline.score(lake, settings=settings)  # no new hours: the corrections alone
    assert sorted(again.corrected) == ["Cliente 1", "Cliente 2", "Cliente 3"]
    assert again.hours_scored == 0 and again.hours_revised > 0
    assert alerts("Cliente 1", "stopped_meter")["status"].tolist() == ["withdrawn"]
    for client in ("Cliente 2", "Cliente 3"):
        raised = alerts(client, "stopped_meter")
        assert raised["window_start"].tolist() == [stop]
        assert raised["window_end"].tolist() == [stop + pd.Timedelta(days=3)]
    scores = lake.read("scores")
    assert len(scores) == scored_before + 72  # the late hours scored too, nothing twice
    assert not scores.duplicated(["client_id", "ts"]).any()
    mine = scores[
        (scores["client_id"] == "Cliente 1")
        & scores["ts"].between(stop, stop + pd.Timedelta(hours=71))
    ]
    assert mine["active_kwh"].gt(0).all()  # the scores read the corrected values

    # scored once: the next run finds nothing corrected since
    assert pipeline.score(lake, settings=settings).corrected == []
    # a correction inside the training period only leaves the scores as they were, and is
    # not taken up run after run
    early = frames[1][frames[1]["ts"] < pd.Timestamp("2022-03-02")].tail(24)
    write_electrodunas(fixes, 1, early.assign(active=early["active"] * 1.02))
    ingest_paths(lake, [fixes / "DATOSCLIENTE1.csv"])
    assert pipeline.score(lake, settings=settings).corrected == []
    assert len(lake.read("scores")) == scored_before + 72
