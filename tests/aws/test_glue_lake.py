"""The Iceberg lake in S3 with the Glue catalog (moto): what Athena and other writers see."""

from __future__ import annotations

import boto3
import pytest

from meterwatch.settings import Settings
from meterwatch.storage import open_lake
from meterwatch.storage.glue import GlueLake
from meterwatch.storage.s3 import CommitConflict
from tests.aws.conftest import REGION
from tests.aws.test_storage_contract import readings


def make(bucket: str) -> GlueLake:
    return GlueLake(f"s3://{bucket}/lake", glue_database=f"db_{bucket.replace('-', '_')}")


def test_open_lake_selects_glue_iceberg_by_setting(bucket: str) -> None:
    settings = Settings.load(s3_table_format="iceberg", glue_database="db_" + bucket[5:])
    assert isinstance(open_lake(f"s3://{bucket}/lake", settings), GlueLake)


def test_glue_tables_are_iceberg_and_follow_each_commit(bucket: str) -> None:
    lake = make(bucket)
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [1.0, 2.0]), ["A"])
    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName=lake.glue_database, Name="readings")["Table"]
    assert table["Parameters"]["table_type"].upper() == "ICEBERG"
    assert table["Parameters"]["metadata_location"] == dict(lake._locations())["readings"]
    # Any Iceberg reader of the Glue catalog (Athena, pyiceberg) sees the committed rows.
    other = lake._catalog().load_table((lake.glue_database, "readings")).scan().to_arrow()
    assert other.column("active_kwh").to_pylist() == [1.0, 2.0]


def test_racing_writers_one_wins_and_the_loser_changes_nothing(bucket: str) -> None:
    lake = make(bucket)
    first, second = lake.transaction(), make(bucket).transaction()
    first.overwrite_partitions("readings", readings("A", [1.0]), ["A"])
    second.overwrite_partitions("readings", readings("A", [9.0]), ["A"])
    first.commit()
    with pytest.raises(CommitConflict):
        second.commit()
    assert make(bucket).read("readings")["active_kwh"].tolist() == [1.0]
