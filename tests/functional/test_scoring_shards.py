"""Scoring in shards of whole sectors, one after the other (the AWS run's Distributed Map),
gives the scores and alerts of one run over every customer."""

from __future__ import annotations

import shutil
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


SECTORS = {1: "Agua", 2: "Agua", 3: "Agua", 4: "Cacao", 5: "Cacao", 6: None, 7: None}


def _fleet(folder: Path, cut: pd.Timestamp, start: pd.Timestamp | None = None) -> None:
    for number in SECTORS:
        frame = hourly_frame(150 * 24, seed=number, level=2.0 + number)
        if number == 2:  # a stopped meter after the training
            stop = (frame["ts"] >= "2022-05-12") & (frame["ts"] < "2022-05-16")
            frame.loc[stop, ["active", "reactive"]] = 0.0
        if SECTORS[number] == "Agua":  # the whole sector at half its level for three days
            dry = (frame["ts"] >= "2022-05-17") & (frame["ts"] < "2022-05-20")
            frame.loc[dry, ["active", "reactive"]] *= 0.5
        if number == 4:  # a week at 60 % in the history
            low = (frame["ts"] >= "2022-03-01") & (frame["ts"] < "2022-03-08")
            frame.loc[low, "active"] *= 0.6
        keep = frame["ts"] < cut
        if start is not None:
            keep &= frame["ts"] >= start
        write_electrodunas(folder, number, frame[keep])
    names = [f"Cliente {n}" for n, s in SECTORS.items() if s]
    pd.DataFrame(
        {"Cliente": names, "Sector Económico": [s for s in SECTORS.values() if s]}
    ).to_excel(folder / "sector_economico_clientes.xlsx", index=False)


def _tables(lake: LocalLake) -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = lake.read("scores").drop(columns=["scored_at"])
    scores = scores.sort_values(["client_id", "ts"]).reset_index(drop=True)
    alerts = lake.read("alerts")
    keep = ["client_id", "kind", "severity", "status", "window_start", "window_end",
            "n_hours", "lost_kwh_estimate", "rank"]  # fmt: skip
    alerts = alerts[keep].sort_values(["client_id", "window_start"]).reset_index(drop=True)
    return scores, alerts


def test_shards_of_whole_sectors_score_as_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut = pd.Timestamp("2022-05-10")
    _fleet(tmp_path / "history", cut)
    whole = LocalLake(tmp_path / "whole")
    ingest_paths(whole, [tmp_path / "history"])
    settings = Settings.load(lake=str(tmp_path / "whole"), workers=1, history_step_days=30)
    pipeline.train(whole, settings=settings)
    shutil.copytree(tmp_path / "whole", tmp_path / "sharded")
    sharded = LocalLake(tmp_path / "sharded")
    shutil.copytree(tmp_path / "whole", tmp_path / "local")
    local = LocalLake(tmp_path / "local")  # `meterwatch score`: shard after shard, one call
    shutil.copytree(tmp_path / "whole", tmp_path / "pieces")
    pieces = LocalLake(tmp_path / "pieces")  # every customer's scores written on their own
    small = Settings.load(
        lake=str(tmp_path / "local"), workers=1, history_step_days=30, scoring_shard_size=3
    )

    shards = pipeline.scoring_shards(sharded, max_customers=3)
    # whole sectors, sector-less customers filling the room, nobody twice or left out
    assert sorted(c for s in shards for c in s) == sorted(f"Cliente {n}" for n in SECTORS)
    assert ["Cliente 1", "Cliente 2", "Cliente 3"] in shards
    assert any({"Cliente 4", "Cliente 5"} <= set(s) for s in shards)
    assert all(len(s) <= 3 for s in shards)
    # a sector larger than the bound is split into near-equal parts, in customer order
    two = pipeline.scoring_shards(sharded, max_customers=2)
    assert ["Cliente 1", "Cliente 2"] in two and any("Cliente 3" in s for s in two)
    assert all(len(s) <= 2 for s in two)
    assert sorted(c for s in two for c in s) == sorted(f"Cliente {n}" for n in SECTORS)

    def both(step: str) -> None:
        one = pipeline.score(whole, settings=settings)
        for shard in pipeline.scoring_shards(sharded, max_customers=3):
            pipeline.score(sharded, settings=settings, clients=shard)
        in_turn = pipeline.score(local, settings=small)
        with monkeypatch.context() as patched:
            patched.setattr(pipeline, "SCORE_ROWS_WRITTEN_TOGETHER", 1)
            in_pieces = pipeline.score(pieces, settings=settings)
        for run in (in_turn, in_pieces):
            assert (run.customers, run.hours_scored, run.anomalies, run.alerts_new) == (
                one.customers,
                one.hours_scored,
                one.anomalies,
                one.alerts_new,
            ), step
        want = _tables(whole)
        assert len(want[0]) > 0 and len(want[1]) > 0, step
        for lake in (sharded, local, pieces):
            got = _tables(lake)
            pd.testing.assert_frame_equal(got[0], want[0], obj=f"scores after {step}")
            pd.testing.assert_frame_equal(got[1], want[1], obj=f"alerts after {step}")

    both("the history (walk-forward)")
    _fleet(tmp_path / "days", pd.Timestamp("2022-05-20"), start=cut)
    for lake in (whole, sharded, local, pieces):
        ingest_paths(lake, [tmp_path / "days"])
    both("ten new days")
    alerts = _tables(whole)[1]
    assert ((alerts["client_id"] == "Cliente 2") & (alerts["kind"] == "stopped_meter")).any()


def test_scores_are_written_in_pieces_of_bounded_rows() -> None:
    groups = list(pipeline._by_rows(["a", "b", "c", "d", "e"], [5, 5, 12, 1, 1], limit=10))
    assert groups == [["a", "b"], ["c"], ["d", "e"]]  # one larger than the bound: on its own
    assert list(pipeline._by_rows([], [], limit=10)) == []


def test_first_scores_beyond_the_bound_wait_for_the_next_run(tmp_path: Path) -> None:
    """A first score walks the customer's whole history; a run takes at most
    ``history_max_customers`` never-scored customers (the scoring Lambda's memory), leaves
    the others whole for the next runs, and says so. After enough runs every customer's
    history is scored once, and a customer already scored is never held back."""
    cut = pd.Timestamp("2022-05-10")
    _fleet(tmp_path / "history", cut)
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [tmp_path / "history"])
    settings = Settings.load(
        lake=str(tmp_path / "lake"), workers=1, history_step_days=30, history_max_customers=3
    )
    pipeline.train(lake, settings=settings)
    everyone = sorted(f"Cliente {n}" for n in SECTORS)

    first = pipeline.score(lake, settings=settings)
    scored = set(lake.read("scores", columns=["client_id"])["client_id"])
    assert len(scored) == 3 and first.history_hours > 0
    assert sorted([*scored, *first.deferred]) == everyone
    assert not scored & set(first.deferred)

    second = pipeline.score(lake, settings=settings)
    assert len(second.deferred) == len(everyone) - 6
    third = pipeline.score(lake, settings=settings)
    assert third.deferred == [] and third.history_hours > 0
    scores = lake.read("scores", columns=["client_id", "ts"])
    assert sorted(scores["client_id"].unique()) == everyone
    assert not scores.duplicated().any()  # each customer's history scored once
    # new days: every customer has been scored, nobody waits
    _fleet(tmp_path / "days", pd.Timestamp("2022-05-20"), start=cut)
    ingest_paths(lake, [tmp_path / "days"])
    later = pipeline.score(lake, settings=settings)
    assert later.deferred == [] and later.hours_scored > 0
