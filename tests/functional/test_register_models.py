"""The register step commits shards' models and their findings, a part of the fleet at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.detect import artifacts, pipeline
from meterwatch.detect import model as model_mod
from meterwatch.ingest import ingest_paths
from meterwatch.settings import Settings
from meterwatch.storage.local import LocalLake
from tests.scenarios import hourly_frame, write_electrodunas
from training.train import main as train_shard


@pytest.fixture(autouse=True)
def few_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "XGB_ROUNDS", 10)


def test_register_replaces_each_customers_model_findings_part_by_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    write_electrodunas(folder, 1, hourly_frame(60 * 24, seed=1))
    short = hourly_frame(60 * 24, seed=2)
    write_electrodunas(folder, 2, short.head(10 * 24))  # ten days: too short for a model
    gap = hourly_frame(60 * 24, seed=3)
    write_electrodunas(folder, 3, gap.drop(index=range(100, 130)))  # a gap: a finding of its own
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [folder])
    pipeline.train(lake, settings=Settings.load(lake=str(tmp_path / "lake"), workers=1))

    def codes() -> dict[str, set[str]]:
        dq = lake.read("data_quality")
        return {str(c): set(g["code"]) for c, g in dq.groupby("client_id")}

    assert "model.insufficient_history" in codes()["Cliente 2"]
    assert "readings.gap" in codes()["Cliente 3"]
    # customer 2's history arrives; a training shard of the three, as SageMaker runs it
    write_electrodunas(folder, 2, short)
    ingest_paths(lake, [folder / "DATOSCLIENTE2.csv"])
    model_dir = tmp_path / "model"
    train_shard(
        {
            "SM_MODEL_DIR": str(model_dir),
            "SM_HPS": json.dumps({"clients": "Cliente 1,Cliente 2,Cliente 3"}),
            "METERWATCH_LAKE": str(tmp_path / "lake"),
            "METERWATCH_WORKERS": "1",
        }
    )
    monkeypatch.setattr(artifacts, "FINDINGS_CHUNK", 1)  # one customer's findings at a time
    new = artifacts.register(lake, [model_dir])
    assert sorted(new["client_id"]) == ["Cliente 1", "Cliente 2", "Cliente 3"]
    after = codes()
    assert "model.insufficient_history" not in after.get("Cliente 2", set())  # not stale
    assert "readings.gap" in after["Cliente 3"]  # the other findings kept
    models = lake.read("models")
    assert len(models) == 3 and not models["client_id"].duplicated().any()
    assert (models["trained_until"] == pd.Timestamp(short["ts"].iloc[-1])).sum() >= 1
    assert all(lake.get_object(k) for k in models["artifact_key"])
