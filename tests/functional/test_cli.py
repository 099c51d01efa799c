"""The command line on a real lake: exit codes, messages, export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from meterwatch.cli import main


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


def test_sql_error_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "SELECT nope FROM readings", "--lake", str(tmp_path)]) == 2
    assert "SQL error" in capsys.readouterr().err
