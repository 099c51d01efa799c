"""The command line on a real lake: exit codes, messages, export."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.cli import main
from meterwatch.storage import open_lake


def test_ingest_sql_export(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    assert main(["ingest", str(small_fleet), "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert "rows read = accepted + rejected: 2,160 = 2,160 + 0" in out
    assert main(["sql", "SELECT count(*) AS n FROM readings", "--lake", lake]) == 0
    assert "2160" in capsys.readouterr().out
    target = tmp_path / "out" / "readings.csv"
    assert main(["export", "readings", "--out", str(target), "--lake", lake]) == 0
    exported = pd.read_csv(target)
    assert list(exported.columns) == [
        "client_id", "ts", "active_kwh", "reactive_kvarh", "voltage_fa", "voltage_fc", "sector", "ingestion_id",
    ]  # fmt: skip
    assert len(exported) == 2160
    dq = tmp_path / "dq.csv"
    assert main(["export", "data-quality", "--out", str(dq), "--lake", lake]) == 0
    assert pd.read_csv(dq).columns[0] == "finding_id"


def test_exit_status_is_nonzero_only_when_nothing_was_ingested(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["ingest", str(bad), str(tmp_path / "missing.csv"), "--lake", lake]) == 1
    err = capsys.readouterr().err
    assert f"{bad}, line 1: unknown layout: columns found 'a', 'b'" in err
    assert "missing.csv: no such file or folder" in err
    assert main(["ingest", str(bad), str(small_fleet), "--lake", lake]) == 0


def test_sql_error_is_reported(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(small_fleet), "--lake", str(tmp_path)]) == 0
    assert main(["sql", "SELECT nope FROM readings", "--lake", str(tmp_path)]) == 2
    assert "SQL error" in capsys.readouterr().err


def test_demo_runs_the_whole_pipeline_and_opens_the_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("panel")
    import meterwatch.dashboard.server as server

    served: list[tuple[str, int, str]] = []
    monkeypatch.setattr(
        server,
        "serve",
        lambda settings, *, port, address, show, users: served.append(
            (settings.lake, port, address)
        ),
    )
    lake = tmp_path / "lake"
    code = main(
        ["demo", "--dir", str(tmp_path / "demo"), "--lake", str(lake), "--customers", "6",
         "--port", "5123"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for step in ("1. Synthetic fleet", "2. Ingest", "3. Train", "4. Score", "6. Dashboard"):
        assert step in out
    assert served == [(str(lake), 5123, "127.0.0.1")]
    assert "http://127.0.0.1:5123" in out
    # the demo lake holds models, scores and ranked alerts the dashboard reads
    from meterwatch.storage import open_lake

    opened = open_lake(str(lake))
    assert len(opened.read("models")) == 6
    assert len(opened.read("scores")) > 0
    alerts = opened.read("alerts")
    assert len(alerts) > 0
    assert alerts["rank"].min() == 1


def test_export_escapes_cells_a_spreadsheet_would_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    data = tmp_path / "ids.csv"
    ids = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1:A9)", "-2+3", "C1"]
    rows = [f'"{i}",2022-01-01 00:00,{n - 2}' for n, i in enumerate(ids)]
    data.write_text("client_id,timestamp,active_kwh\n" + "\n".join(rows) + "\n")
    assert main(["ingest", str(data), "--lake", lake]) == 0
    target = tmp_path / "readings.csv"
    assert main(["export", "readings", "--out", str(target), "--lake", lake]) == 0
    exported = pd.read_csv(target)
    assert sorted(exported["client_id"]) == sorted(
        ["'=cmd|' /C calc'!A0", "'+1+1", "'@SUM(A1:A9)", "'-2+3", "C1"]
    )
    assert sorted(exported["active_kwh"]) == [-2.0, -1.0, 0.0, 1.0, 2.0]  # numbers untouched


def test_ingest_limits_come_from_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METERWATCH_READINGS_FROM", "2022-01-01")
    (tmp_path / "in").mkdir()
    data = tmp_path / "in" / "r.csv"
    data.write_text(
        "client_id,timestamp,active_kwh\nC1,2021-12-31 23:00,1\nC1,2022-01-01 00:00,1\n"
    )
    (tmp_path / "in" / ".r.csv").write_text("x")
    assert main(["ingest", str(tmp_path / "in"), "--lake", str(tmp_path / "lake")]) == 0
    captured = capsys.readouterr()
    assert "rows read = accepted + rejected: 2 = 1 + 1" in captured.out
    assert "line 2: the date is outside the plausible period (accepted 2022-01-01" in captured.err
    assert ".r.csv: hidden file" in captured.err


@pytest.mark.parametrize(
    "command",
    [
        ["score"],
        ["train"],
        ["export", "alerts", "--out", "{tmp}/alerts.csv"],
        ["sql", "SELECT count(*) FROM readings"],
        ["serve", "--no-show"],
    ],
)
def test_a_folder_that_is_not_a_lake_is_refused_not_created(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "lake-typo"
    argv = [part.format(tmp=tmp_path) for part in command]
    assert main([*argv, "--lake", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert f"{wrong} does not exist" in err and "meterwatch ingest" in err
    assert not wrong.exists()
    assert not (tmp_path / "alerts.csv").exists()
    wrong.mkdir()  # an existing folder that holds no lake
    assert main([*argv, "--lake", str(wrong)]) == 2
    assert "holds no meterwatch lake" in capsys.readouterr().err
    assert list(wrong.iterdir()) == []


def test_scoring_before_training_says_to_train(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    assert main(["ingest", str(small_fleet), "--lake", lake]) == 0
    capsys.readouterr()
    assert main(["score", "--lake", lake]) == 1
    assert f"run `meterwatch train --lake {lake}` first" in capsys.readouterr().err


def test_a_bare_customer_number_names_the_customer(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    assert main(["ingest", str(small_fleet), "--lake", lake]) == 0
    assert main(["train", "--lake", lake, "--clients", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 models trained" in out and "no readings" not in out
    # training keeps the figures the dashboard shows: hourly WAPE, daily MAPE
    assert "median 24 h MAPE" in out and "median hourly WAPE" in out
    params = open_lake(lake).read("models")["params"].iloc[0]
    held_out = json.loads(params)["held_out"]
    assert 0 <= held_out["period_mape_24"] < 100 and 0 <= held_out["wape"] < 100


def test_the_ingest_table_keeps_its_headers_off_a_terminal(
    tmp_path: Path, small_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(small_fleet), "--lake", str(tmp_path / "lake")]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "file" in line and "status" in line)
    for column in ("accepted", "rejected", "updated", "unchanged"):
        assert column in header
    assert "…" not in out


def test_the_missing_dashboard_hint_names_the_extra(
    tmp_path: Path,
    small_fleet: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    lake = str(tmp_path / "lake")
    assert main(["ingest", str(small_fleet), "--lake", lake]) == 0
    monkeypatch.delitem(sys.modules, "meterwatch.dashboard.server", raising=False)
    monkeypatch.setitem(sys.modules, "panel", None)
    assert main(["serve", "--lake", lake, "--no-show"]) == 2
    assert "pip install 'meterwatch[dashboard]'" in capsys.readouterr().err
