"""``meterwatch migrate-lake``: a lake of the retired snapshot-log format becomes Iceberg."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterwatch.cli import main
from meterwatch.storage import LegacyLakeError, open_lake
from meterwatch.storage.legacy import SnapshotLake
from meterwatch.storage.migrate import migrate_lake
from tests.functional.test_storage import frame


@pytest.fixture
def old_lake(tmp_path: Path) -> Path:
    """Two customers' readings, a quality finding without a customer, a model artefact."""
    root = tmp_path / "lake"
    old = SnapshotLake(root)
    with old.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [1.0] * 30), ["A"])
        tx.overwrite_partitions("readings", frame("B", [2.0] * 20), ["B"])
        finding = old.read("data_quality").iloc[:0]
        tx.overwrite_partitions("data_quality", finding, [None])
    old.put_object("models/A/v1.json", b"{}")
    return root


def test_an_old_lake_is_refused_until_migrated(
    old_lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(LegacyLakeError, match="migrate-lake"):
        open_lake(str(old_lake))
    assert main(["sql", "SELECT 1", "--lake", str(old_lake)]) == 2
    assert "meterwatch migrate-lake --lake" in capsys.readouterr().err

    assert main(["migrate-lake", "--lake", str(old_lake)]) == 0
    out = capsys.readouterr().out
    assert "readings" in out and "50 rows" in out

    lake = open_lake(str(old_lake))
    got = lake.query("SELECT client_id, sum(active_kwh) AS kwh FROM readings GROUP BY 1 ORDER BY 1")
    assert got.to_dict("records") == [
        {"client_id": "A", "kwh": 30.0},
        {"client_id": "B", "kwh": 40.0},
    ]
    assert lake.read("readings", partitions=["B"])["active_kwh"].tolist() == [2.0] * 20
    assert lake.get_object("models/A/v1.json") == b"{}"
    assert lake.verify().damaged == []
    assert main(["migrate-lake", "--lake", str(old_lake)]) == 0  # a second run changes nothing
    assert "nothing to do" in capsys.readouterr().out


def test_a_migration_killed_between_its_renames_is_resumed(old_lake: Path) -> None:
    # The state a kill leaves after the old tables moved away, before the new ones moved in.
    legacy = old_lake / "_legacy"
    legacy.mkdir()
    (old_lake / "curated").rename(legacy / "curated")
    (old_lake / "_meta" / "snapshots").rename(legacy / "snapshots")
    (old_lake / "_meta" / "CURRENT").rename(legacy / "CURRENT")
    report = migrate_lake(old_lake)
    assert report.migrated and report.rows["readings"] == 50
    assert len(open_lake(str(old_lake)).read("readings")) == 50


def test_a_damaged_old_lake_is_left_as_it_was(old_lake: Path) -> None:
    (path,) = (old_lake / "curated" / "readings" / "client_id=A").glob("*.parquet")
    path.write_bytes(b"x" * path.stat().st_size)
    with pytest.raises(RuntimeError, match="damaged"):
        migrate_lake(old_lake)
    assert (old_lake / "_meta" / "CURRENT").is_file() and not (old_lake / "catalog.db").exists()
