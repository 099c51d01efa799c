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


def _denied(operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, operation)


def test_a_writer_allowed_one_table_commits_it_and_leaves_the_rest_to_the_next(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard may update the feedback table's Glue entry only (the stack grants no
    more): its commit succeeds, and a Glue entry another writer left behind is repaired by the
    next writer allowed to, never by failing the dashboard's feedback."""
    lake = make(bucket)
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [1.0]), ["A"])
    behind = dict(lake._locations())["readings"]
    with lake.transaction() as tx:  # the Glue entry of readings lags (a writer killed there)
        tx.overwrite_partitions("readings", readings("A", [2.0]), ["A"])
        monkeypatch.setattr(lake, "_point_glue", lambda locations: None)
    monkeypatch.undo()
    glue = boto3.client("glue", region_name=REGION)

    def entry(name: str) -> str:
        table = glue.get_table(DatabaseName=lake.glue_database, Name=name)["Table"]
        return str(table["Parameters"]["metadata_location"])

    assert entry("readings") == behind
    dashboard = make(bucket)
    real_update = dashboard._glue.update_table

    def feedback_only(**kwargs: object) -> object:
        if kwargs["TableInput"]["Name"] != "feedback":  # type: ignore[index]
            raise _denied("UpdateTable")
        return real_update(**kwargs)

    monkeypatch.setattr(dashboard._glue, "update_table", feedback_only)
    monkeypatch.setattr(dashboard._blobs, "_delete", lambda rels: (_ for _ in ()).throw(
        _denied("DeleteObjects")))  # fmt: skip
    with dashboard.transaction() as tx:
        tx.append("feedback", _feedback_row())
    locations = dict(dashboard._locations())
    assert entry("feedback") == locations["feedback"]
    assert entry("readings") == behind  # not the dashboard's to move
    with make(bucket).transaction() as tx:  # the next full writer repairs the lag
        tx.overwrite_partitions("readings", readings("B", [3.0]), ["B"])
    assert entry("readings") == dict(make(bucket)._locations())["readings"]
    assert len(make(bucket).read("feedback")) == 1


def test_a_role_that_may_not_create_the_tables_reads_an_empty_lake_until_a_writer_does(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard starts on a fresh deployment before the first ingest (App Runner must see
    it healthy): the lake reads as empty, a write says why it cannot be done, and the tables
    the first writer creates are seen without a restart."""

    def refuse(self: GlueLake, newest: object) -> None:
        raise _denied("CreateTable")

    with monkeypatch.context() as m:
        m.setattr(GlueLake, "_create_tables", refuse)
        dashboard = make(bucket)
    assert dashboard.read("alerts").empty
    assert list(dashboard.read("readings", columns=["client_id", "ts"]).columns) == [
        "client_id",
        "ts",
    ]
    assert dashboard.partitions("readings") == []
    with (
        pytest.raises(RuntimeError, match="the first ingest creates them"),
        dashboard.transaction() as tx,
    ):
        tx.append("feedback", _feedback_row())
    with make(bucket).transaction() as tx:  # the first writer creates the tables
        tx.overwrite_partitions("readings", readings("A", [1.0]), ["A"])
    assert dashboard.read("readings")["active_kwh"].tolist() == [1.0]


def test_the_dashboards_queries_answer_empty_before_the_first_ingest(bucket: str) -> None:
    """On a fresh deployment Athena has no table to plan against: the dashboard's named
    queries answer with their columns and no rows instead of failing, without calling Athena;
    once a writer has created the tables, they go to Athena."""
    from meterwatch import queries
    from meterwatch.storage.s3 import DuckDBEngine

    class NoAthena:
        def run(self, sql: str, params: list[object]) -> object:
            raise AssertionError("Athena was called on a lake without tables")

    class Lazy(GlueLake):
        def _create_tables(self, newest: object) -> None:  # the dashboard's role may not
            raise _denied("CreateTable")

    dashboard = Lazy(f"s3://{bucket}/lake", glue_database=f"db_{bucket.replace('-', '_')}")
    dashboard.engine = NoAthena()  # type: ignore[assignment]
    bounds = queries.run_query(dashboard, "data_bounds")
    assert list(bounds.columns) == ["first_ts", "last_ts", "customers"]
    assert bounds["customers"].tolist() == [0]
    listed = queries.run_query(dashboard, "customers")
    assert listed.empty and "sector" in listed.columns
    with make(bucket).transaction() as tx:  # the first ingest
        tx.overwrite_partitions("readings", readings("A", [1.0]), ["A"])
    with pytest.raises(AssertionError, match="Athena was called"):
        queries.run_query(dashboard, "data_bounds")
    dashboard.engine = DuckDBEngine(dashboard)  # Athena's stand-in
    assert len(queries.run_query(dashboard, "customers")) == 0  # readings only, no customers row


def _feedback_row() -> object:
    import pandas as pd

    return pd.DataFrame(
        {
            "feedback_id": ["f1"],
            "alert_id": ["a1"],
            "client_id": ["A"],
            "status": ["under_inspection"],
            "note": ["visita"],
            "author": ["operador"],
            "created_at": [pd.Timestamp.now(tz="UTC").floor("ms")],
        }
    )


def test_a_table_a_newer_release_adds_is_created_beside_the_committed_ones(bucket: str) -> None:
    """A deployment whose lake was written by a release without ``fleet_daily`` gets the table
    on its next start, in a new commit that keeps every committed table as it was."""
    lake = make(bucket)
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [1.0, 2.0]), ["A"])
    # the lake as the older release left it: its newest commit names no fleet_daily table
    doc = lake._newest()
    doc["tables"].pop("fleet_daily")
    doc["seq"] += 1
    lake._put_commit(doc)
    boto3.client("glue", region_name=REGION).delete_table(
        DatabaseName=lake.glue_database, Name="fleet_daily"
    )

    again = make(bucket)
    assert "fleet_daily" in again._newest()["tables"]
    assert again._newest()["tables"]["readings"] == doc["tables"]["readings"]
    assert again.read("readings")["active_kwh"].tolist() == [1.0, 2.0]
    assert again.read("fleet_daily").empty
    with again.transaction() as tx:
        tx.overwrite("fleet_daily", _fleet_row())
    assert make(bucket).read("fleet_daily")["customers"].tolist() == [1]


def _fleet_row() -> object:
    import pandas as pd

    from meterwatch.tables import FLEET_DAILY

    row = {name: 1.0 for name in FLEET_DAILY.columns}
    row.update(sector="", day=pd.Timestamp("2024-01-01"), customers=1, hours=24)
    frame = pd.DataFrame([row])
    frame["day"] = frame["day"].astype("datetime64[s]")
    return frame
