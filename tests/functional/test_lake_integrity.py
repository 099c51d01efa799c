"""The lake's SQL is read-only and sees only its tables; damaged data files are named, not
silently read (``meterwatch sql``, ``meterwatch check``)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import duckdb
import pytest

from meterwatch.cli import main
from meterwatch.storage import DamagedLakeError, ReadOnlyQueryError, open_lake
from meterwatch.storage.iceberg_tables import bucket_of
from meterwatch.storage.local import LocalLake
from tests.functional.test_storage import frame


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    """Two customers' readings in two commits, and their customers."""
    lake = open_lake(str(tmp_path / "lake"))
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [1.0] * 48), ["A"])
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("B", [2.0] * 48), ["B"])
    return tmp_path / "lake"


def data_file(lake_dir: Path, client: str) -> Path:
    bucket = lake_dir / "curated" / "readings" / "data" / f"client_id_bucket={bucket_of(client)}"
    (path,) = bucket.rglob("*.parquet")
    return path


def sql(lake_dir: Path, query: str) -> int:
    return main(["sql", query, "--lake", str(lake_dir), "--csv"])


# read-only ------------------------------------------------------------------------------------
def test_sql_cannot_read_files_outside_the_lake(
    lake_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for query in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        f"SELECT * FROM read_csv('{lake_dir}/catalog.db')",
        f"SELECT * FROM read_csv('{lake_dir}/curated/readings/../../catalog.db')",
        "SELECT * FROM glob('/etc/*')",
    ):
        assert sql(lake_dir, query) == 2
        out = capsys.readouterr()
        assert "root:" not in out.out and "disabled by configuration" in out.err
    with pytest.raises(duckdb.PermissionException):
        open_lake(str(lake_dir)).query("SELECT * FROM read_csv('/etc/passwd')")


def test_sql_writes_nothing_and_cannot_roll_the_lake_back(
    lake_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = (lake_dir / "catalog.db").read_bytes()
    for query in (
        f"COPY readings TO '{tmp_path}/stolen.csv'",
        f"COPY (SELECT 1) TO '{lake_dir}/catalog.db' (HEADER false)",
        "SELECT 1; COPY readings TO 'x.csv'",
        f"ATTACH '{tmp_path}/other.db'",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ):
        assert sql(lake_dir, query) == 2, query
        assert "SQL error" in capsys.readouterr().err
    assert not (tmp_path / "stolen.csv").exists() and not (tmp_path / "other.db").exists()
    assert (lake_dir / "catalog.db").read_bytes() == current


def test_sql_refuses_statements_that_change_the_views(lake_dir: Path) -> None:
    lake = open_lake(str(lake_dir))
    for query in ("DROP VIEW readings", "CREATE OR REPLACE VIEW readings AS SELECT 1 AS x"):
        with pytest.raises(ReadOnlyQueryError, match="read-only"):
            lake.query(query)
    assert lake.query("SELECT count(*) AS n FROM readings")["n"].item() == 96
    assert not lake.query("DESCRIBE readings").empty
    assert not lake.query("EXPLAIN SELECT * FROM alerts").empty


# checksums ------------------------------------------------------------------------------------
def test_every_commit_records_the_size_and_checksum_of_its_files(lake_dir: Path) -> None:
    lake = LocalLake(lake_dir)
    files = lake.state()["readings"].files
    recorded = lake._recorded()
    assert len(files) == 2
    for entry in files:
        data = lake._local(entry.path).read_bytes()
        assert entry.size == len(data)  # Iceberg's manifest
        assert recorded[entry.path] == (len(data), hashlib.sha256(data).hexdigest())


def test_files_without_a_recorded_checksum_are_checked_for_presence(lake_dir: Path) -> None:
    with sqlite3.connect(lake_dir / "catalog.db") as con:
        con.execute("DELETE FROM meterwatch_files")
    lake = open_lake(str(lake_dir))
    assert lake.query("SELECT sum(active_kwh) AS s FROM readings")["s"].item() == 144.0
    found = lake.verify()
    assert (found.files, found.unrecorded, found.damaged) == (2, 2, [])


def test_check_names_a_file_whose_bytes_were_overwritten(
    lake_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--lake", str(lake_dir)]) == 0
    assert "2 data files checked, 0 damaged" in capsys.readouterr().out
    path = data_file(lake_dir, "B")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # same size, different bytes
    path.write_bytes(bytes(data))
    assert main(["check", "--lake", str(lake_dir)]) == 1
    err = capsys.readouterr().err
    assert f"readings: {path.relative_to(lake_dir)} (checksum differs" in err
    assert str(data_file(lake_dir, "A").relative_to(lake_dir)) not in err


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_query_on_a_damaged_file_names_the_table_and_the_file(
    damage: str, lake_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = data_file(lake_dir, "A")
    rel = str(path.relative_to(lake_dir))
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.unlink()
    lake = open_lake(str(lake_dir))
    with pytest.raises(DamagedLakeError, match=f"readings: {rel}"):
        lake.query("SELECT count(*) FROM readings")
    with pytest.raises(DamagedLakeError, match=f"readings: {rel}"):
        lake.read("readings")
    # the other tables still answer
    assert lake.query("SELECT count(*) AS n FROM alerts")["n"].item() == 0

    assert sql(lake_dir, "SELECT count(*) FROM readings") == 2
    out = tmp_path / "readings.csv"
    assert main(["export", "readings", "--out", str(out), "--lake", str(lake_dir)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"readings: {rel}" in err and "meterwatch check" in err

    assert main(["check", "--lake", str(lake_dir)]) == 1
    problem = "missing" if damage == "deleted" else "size 200 bytes"
    assert f"readings: {rel} ({problem}" in capsys.readouterr().err
