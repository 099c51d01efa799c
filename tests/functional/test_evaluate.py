"""``meterwatch evaluate`` on a tiny synthetic lake: report files, plumbing, product adapter."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meterwatch import tables
from meterwatch.cli import main
from meterwatch.evaluation.detectors import DetectionResult, ProductDetector
from meterwatch.evaluation.protocol import evaluate_detection, load_readings, split_history
from meterwatch.ingest import ingest_paths
from meterwatch.storage.local import LocalLake
from tests.scenarios import hourly_frame, write_electrodunas

N_CUSTOMERS = 6


@pytest.fixture
def tiny_lake(tmp_path: Path) -> LocalLake:
    """Six customers, 50 days each, ingested into a local lake."""
    folder = tmp_path / "fleet"
    for n in range(1, N_CUSTOMERS + 1):
        write_electrodunas(folder, n, hourly_frame(24 * 50, seed=n, level=2.0 * n))
    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [folder])
    return lake


def test_evaluate_writes_the_report(tiny_lake: LocalLake, tmp_path: Path) -> None:
    reference = tmp_path / "reference.csv"
    pd.DataFrame(
        {
            "Cliente": [1, 2],
            "Frecuencia": ["12H", "24H"],
            "Rezago": [5, 3],
            "Modelo": ["XGB", "LSTM"],
            "Hiperparametros": ["(50, 3, 0.1, 0)", "(100, 'tanh', 25)"],
            "Imputado": ["SI", "NO"],
            "Incluye_reactiva": ["SI", "NO"],
            "MAPE": [5.0, 7.0],
        }
    ).to_csv(reference, index=False)
    out = tmp_path / "evaluation"
    rc = main(
        ["evaluate", "--lake", tiny_lake.uri, "--seeds", "2", "--tier", "standard",
         "--detector", "prototype", "--forecast", "--reference", str(reference), "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    for name in ("report.md", "detection_summary.csv", "detection_draws.csv", "forecast.csv",
                 "detection.png", "recall_by_family.png", "forecast_mape.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "## Detection" in report and "## Forecast" in report and "prototype" in report
    forecast = pd.read_csv(out / "forecast.csv")
    assert len(forecast) == N_CUSTOMERS
    by_client = forecast.set_index("client_id")
    assert (
        by_client.loc["Cliente 1", "freq"] == "12H" and by_client.loc["Cliente 3", "freq"] == "1H"
    )
    assert by_client.loc["Cliente 2", "reference_mape"] == 7.0
    assert forecast["mape"].between(0, 100).all()
    summary = pd.read_csv(out / "detection_summary.csv")
    positives = summary[(summary["metric"] == "positive_customers") & (summary["family"] == "all")]
    assert positives["mean"].iloc[0] == N_CUSTOMERS // 2


class _Oracle:
    """Flags exactly the hours that differ from the clean new data."""

    name = "oracle"

    def __init__(self, clean: pd.DataFrame) -> None:
        self.clean = clean.set_index(["client_id", "ts"])["active_kwh"]

    def run(
        self, train: pd.DataFrame, test: pd.DataFrame, sectors: Mapping[str, str]
    ) -> DetectionResult:
        truth = self.clean.reindex(pd.MultiIndex.from_frame(test[["client_id", "ts"]])).to_numpy()
        changed = ~np.isclose(test["active_kwh"].to_numpy(), truth, rtol=1e-9, atol=1e-12)
        scores = test[["client_id", "ts"]].assign(
            score=changed.astype(float), is_anomaly=changed.astype(np.int8)
        )
        hits = scores[changed]
        alerts = hits.groupby("client_id")["ts"].agg(["min", "max"]).reset_index()
        alerts.columns = ["client_id", "alert_ts", "alert_end"]
        return DetectionResult(scores, alerts)


def test_a_perfect_detector_scores_one(tiny_lake: LocalLake) -> None:
    frame, sectors = load_readings(tiny_lake)
    _, clean = split_history(frame)
    result = evaluate_detection(
        frame, sectors, [_Oracle(clean)], tiers=("standard", "subtle"), seeds=(0, 1)
    )
    summary = result.summary().set_index(["tier", "family", "metric"])["mean"]
    for tier in ("standard", "subtle"):
        assert summary[(tier, "all", "f1")] == 1.0
        assert summary[(tier, "all", "hourly_ap")] == 1.0
        assert summary[(tier, "all", "hourly_f1")] == 1.0
        assert summary[(tier, "all", "false_customers")] == 0.0
        assert summary[(tier, "all", "delay_hours_median")] == 0.0


def _fake_engine(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A stand-in for meterwatch.detect.pipeline that goes through the lake like the real one."""
    calls: dict[str, object] = {}

    def train(lake, *, clients=None, until=None, settings=None, progress=None):  # type: ignore[no-untyped-def]
        readings = lake.read("readings")
        calls["train_rows"] = len(readings)
        calls["until"] = until
        last = readings.groupby("client_id")["ts"].max().reset_index()
        lake.put_object("fake/trained_until.csv", last.to_csv(index=False).encode())

    def score(lake, *, sinks=(), settings=None, progress=None):  # type: ignore[no-untyped-def]
        import io

        until = pd.read_csv(
            io.BytesIO(lake.get_object("fake/trained_until.csv")), parse_dates=["ts"]
        )
        readings = lake.read("readings").merge(
            until.rename(columns={"ts": "until"}), on="client_id"
        )
        new = readings[readings["ts"] > readings["until"]].copy()
        calls["scored_rows"] = len(new)
        low = new["active_kwh"] <= 0  # a stopped meter
        scores = pd.DataFrame(
            {
                "client_id": new["client_id"], "ts": new["ts"], "active_kwh": new["active_kwh"],
                "expected_kwh": 1.0, "lower_kwh": 0.5, "upper_kwh": 2.0,
                "score": low.astype(float), "is_anomaly": low.astype(np.int8), "detectors": "",
                "model_version": "fake", "scored_at": tables.now_utc(),
            }
        )  # fmt: skip
        hits = scores[scores["is_anomaly"] == 1].groupby("client_id")["ts"].agg(["min", "max"])
        alerts = pd.DataFrame(
            {
                "alert_id": [f"a{i}" for i in range(len(hits))], "client_id": hits.index,
                "sector": None, "kind": "fake", "window_start": hits["min"].to_numpy(),
                "window_end": hits["max"].to_numpy(), "anomaly_rate": 1.0, "lost_kwh_estimate": 0.0,
                "severity": "high", "status": "open", "evidence": "", "created_at": tables.now_utc(),
                "updated_at": tables.now_utc(), "rank": np.arange(1, len(hits) + 1),
                "n_hours": 1, "confidence": 1.0, "params": "{}",
            }
        )  # fmt: skip
        with lake.transaction() as tx:
            tx.overwrite_partitions("scores", scores, scores["client_id"].unique())
            tx.overwrite("alerts", alerts)

    package = types.ModuleType("meterwatch.detect")
    pipeline = types.ModuleType("meterwatch.detect.pipeline")
    pipeline.train = train  # type: ignore[attr-defined]
    pipeline.score = score  # type: ignore[attr-defined]
    package.pipeline = pipeline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "meterwatch.detect", package)
    monkeypatch.setitem(sys.modules, "meterwatch.detect.pipeline", pipeline)
    # The real engine's alert rules must not leak in when another test imported them first.
    monkeypatch.setitem(sys.modules, "meterwatch.alerts.policy", None)
    return calls


def test_product_detector_goes_through_a_lake(
    tiny_lake: LocalLake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _fake_engine(monkeypatch)
    frame, sectors = load_readings(tiny_lake)
    train, test = split_history(frame)
    detector = ProductDetector(workdir=tmp_path)
    try:
        assert detector.available()
        clean = detector.run(train, test, sectors)
        assert calls["train_rows"] == len(train) and calls["until"] == train["ts"].max()
        assert calls["scored_rows"] == len(test)
        assert len(clean.scores) == len(test) and clean.alerted == set()
        stopped = test.copy()
        stopped.loc[stopped["client_id"] == "Cliente 2", "active_kwh"] = 0.0
        result = detector.run(train, stopped, sectors)
        assert result.alerted == {"Cliente 2"}
        assert (
            result.alerts["alert_ts"].min()
            == test.loc[test["client_id"] == "Cliente 2", "ts"].min()
        )
        assert calls["train_rows"] == len(train)  # fitted once, reused for the second draw
        detector.increment_hours = 24 * 3  # arriving in blocks, scored after each
        blocks = detector.run(train, stopped, sectors)
        assert blocks.alerted == {"Cliente 2"} and len(blocks.scores) == len(test)
    finally:
        detector.close()
    assert not any(tmp_path.glob("meterwatch-eval-*"))


@pytest.mark.shared
def test_draws_on_the_electrodunas_extract(shared_data: Path, tmp_path: Path) -> None:
    """Half the customers injected; customer 21's zero run crosses its split: a real positive."""
    from meterwatch.evaluation.inject import make_draw

    lake = LocalLake(tmp_path / "lake")
    ingest_paths(lake, [shared_data])
    frame, sectors = load_readings(lake)
    train, test = split_history(frame)
    assert len(sectors) == 30
    for tier in ("standard", "subtle"):
        draw = make_draw(train, test, tier, 0)
        assert draw.positives["Cliente 21"] == "stopped_meter"
        assert len(draw.injections) == 14 and len(draw.positives) == 15  # round(29 / 2)


def test_labels_of_known_losses_count_as_positives(tiny_lake: LocalLake, tmp_path: Path) -> None:
    frame, _ = load_readings(tiny_lake)
    _, test = split_history(frame)
    first_new = test.loc[test["client_id"] == "Cliente 1", "ts"].min()
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "client_id": ["Cliente 1"],
            "family": ["h8"],
            "start": [first_new],
            "end": [first_new + pd.Timedelta(days=2)],
            "is_loss": [1],
        }
    ).to_csv(labels, index=False)
    out = tmp_path / "evaluation"
    rc = main(
        ["evaluate", "--lake", tiny_lake.uri, "--seeds", "1", "--tier", "standard",
         "--detector", "prototype", "--labels", str(labels), "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    assert "known loss events" in (out / "report.md").read_text()
    events = pd.read_csv(out / "detection_events.csv")
    assert events.loc[events["client_id"] == "Cliente 1", "family"].tolist() == ["h8"]


def test_evaluate_without_the_report_extra_says_what_to_install(
    tiny_lake: LocalLake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """matplotlib is the ``report`` extra: without it, evaluate stops before the draws with
    the command that installs it (it used to crash with a traceback after them)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    out = tmp_path / "evaluation"
    code = main(["evaluate", "--lake", str(tiny_lake.root), "--seeds", "1", "--out", str(out)])
    assert code == 2
    assert "pip install 'meterwatch[report]'" in capsys.readouterr().err
    assert not out.exists()


def test_the_base_install_does_not_load_matplotlib() -> None:
    import subprocess

    code = (
        "import sys, meterwatch.cli, meterwatch.detect.pipeline, meterwatch.evaluation.run;"
        "sys.exit('matplotlib' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
