"""The S3 + Glue + Athena lake against a moto server: same semantics as the local lake."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest

from meterwatch.ingest.pipeline import ingest_paths
from meterwatch.integrity import check_lake
from meterwatch.settings import Settings
from meterwatch.storage import DamagedLakeError, ReadOnlyQueryError, open_lake
from meterwatch.storage.local import LocalLake
from meterwatch.storage.s3 import CommitConflict, DuckDBEngine, S3Lake, to_athena
from tests.aws.conftest import REGION
from tests.scenarios import hourly_frame, write_electrodunas


def make_lake(bucket: str, glue_database: str | None = None) -> S3Lake:
    lake = S3Lake(
        f"s3://{bucket}/lake",
        glue_database=glue_database or "none",
        register_partitions=glue_database is not None,
    )
    lake.engine = DuckDBEngine(lake)
    return lake


def readings(
    client: str, hours: int, start: str = "2024-01-01", level: float = 1.0
) -> pd.DataFrame:
    ts = pd.date_range(start, periods=hours, freq="h")
    return pd.DataFrame(
        {
            "client_id": client,
            "ts": ts,
            "active_kwh": level,
            "reactive_kvarh": 0.1,
            "voltage_fa": 230.0,
            "voltage_fc": 230.0,
            "ingestion_id": "i1",
        }
    )


def keys(bucket: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for p in pages for o in p.get("Contents", [])]


def test_open_lake_selects_the_snapshot_log_only_when_asked(bucket: str) -> None:
    settings = Settings.load(s3_table_format="snapshot-log")
    assert isinstance(open_lake(f"s3://{bucket}/lake", settings), S3Lake)
    with pytest.raises(ValueError, match="unknown s3_table_format"):
        open_lake(f"s3://{bucket}/lake", Settings.load(s3_table_format="parquet"))


def test_transaction_is_invisible_until_commit_and_overwrites_partitions(bucket: str) -> None:
    lake = make_lake(bucket)
    with lake.transaction() as tx:
        tx.append("readings", pd.concat([readings("1", 24), readings("2", 24)]))
    tx = lake.transaction()
    tx.overwrite_partitions("readings", readings("1", 48, level=2.0), ["1"])
    # The writer sees its own write, a reader does not.
    assert len(tx.read("readings", partitions=["1"])) == 48
    assert len(lake.read("readings", partitions=["1"])) == 24
    tx.commit()
    got = lake.read("readings")
    assert sorted(lake.partitions("readings")) == ["1", "2"]
    assert got.groupby("client_id")["active_kwh"].sum().to_dict() == {"1": 96.0, "2": 24.0}


def test_abort_leaves_no_trace(bucket: str) -> None:
    lake = make_lake(bucket)
    with pytest.raises(RuntimeError, match="boom"), lake.transaction() as tx:
        tx.append("readings", readings("1", 24))
        raise RuntimeError("boom")
    assert lake.read("readings").empty
    assert keys(bucket, "lake/curated/") == []


def test_racing_writers_one_wins_and_the_loser_changes_nothing(bucket: str) -> None:
    lake = make_lake(bucket)
    first, second = lake.transaction(), lake.transaction()
    first.append("readings", readings("1", 24))
    second.append("readings", readings("2", 24))
    first.commit()
    with pytest.raises(CommitConflict):
        second.commit()
    assert lake.read("readings")["client_id"].unique().tolist() == ["1"]
    assert all("client_id=2" not in k for k in keys(bucket, "lake/curated/"))


def test_commit_writes_athena_manifests_and_registers_glue_partitions(
    bucket: str, hive_glue_database: str
) -> None:
    glue_database = hive_glue_database
    lake = make_lake(bucket, glue_database)
    with lake.transaction() as tx:
        tx.append("readings", pd.concat([readings("1", 24), readings("2", 24)]))
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("1", 24, level=3.0), ["1"])
    s3 = boto3.client("s3", region_name=REGION)
    manifest = (
        s3.get_object(Bucket=bucket, Key="lake/_athena/readings/client_id=1/manifest")["Body"]
        .read()
        .decode()
        .split()
    )
    live = [f"s3://{bucket}/{lake._key(f.path)}" for f in lake.snapshot().files("readings")]
    assert manifest == [u for u in live if "client_id=1/" in u]
    parts = boto3.client("glue", region_name=REGION).get_partitions(
        DatabaseName=glue_database, TableName="readings"
    )["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["1", "2"]
    assert all(p["StorageDescriptor"]["Location"].endswith("/") for p in parts)


def test_objects_and_raw_files(bucket: str, tmp_path: Path) -> None:
    lake = make_lake(bucket)
    lake.put_object("models/1/model.json", b"{}")
    assert lake.get_object("models/1/model.json") == b"{}"
    assert lake.list_objects("models/") == ["models/1/model.json"]
    with pytest.raises(KeyError):
        lake.get_object("models/2/model.json")
    src = tmp_path / "f.csv"
    src.write_bytes(b"a,b\n")
    key = lake.put_raw(src, "abc")
    assert lake.put_raw(src, "abc") == key  # same content twice: one object, no error
    assert lake.get_raw(key) == b"a,b\n"


def test_ingest_matches_the_local_lake_and_a_repeat_changes_nothing(
    bucket: str, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    for n in (1, 2):
        write_electrodunas(folder, n, hourly_frame(24 * 7, seed=n, level=3.0 * n))
    s3_lake, local = make_lake(bucket), LocalLake(tmp_path / "local")
    s3_report = ingest_paths(s3_lake, [folder])
    ingest_paths(local, [folder])
    cols = ["client_id", "ts", "active_kwh"]
    pd.testing.assert_frame_equal(
        s3_lake.read("readings", columns=cols).sort_values(cols[:2]).reset_index(drop=True),
        local.read("readings", columns=cols).sort_values(cols[:2]).reset_index(drop=True),
    )
    seq = s3_lake.snapshot().seq
    again = ingest_paths(s3_lake, [folder])
    assert [f.status for f in again.files] == ["repeat", "repeat"]
    assert s3_report.rows_accepted == 2 * 24 * 7
    assert len(s3_lake.read("readings")) == 2 * 24 * 7
    assert s3_lake.snapshot().seq <= seq + 1  # at most the ingestions log grew


def test_query_runs_the_athena_sql_with_bound_parameters(bucket: str) -> None:
    lake = make_lake(bucket)
    with lake.transaction() as tx:
        tx.append("readings", pd.concat([readings("1", 24), readings("2", 24, level=2.0)]))
    tricky = "1' OR '1'='1"
    got = lake.query("SELECT count(*) AS n FROM readings WHERE client_id = ?", [tricky])
    assert got["n"].tolist() == [0]
    got = lake.query(
        "SELECT client_id, sum(active_kwh) AS kwh FROM readings WHERE client_id = $c GROUP BY 1",
        {"c": "2"},
    )
    assert got.to_dict("records") == [{"client_id": "2", "kwh": 48.0}]
    assert isinstance(lake.engine, DuckDBEngine)
    assert tricky not in lake.engine.executed[0]  # the value never enters the SQL text


def test_readings_carry_the_sector_and_columns_keep_their_order() -> None:
    sql, params = to_athena("SELECT * FROM readings r WHERE r.client_id = ?", ["7"])
    assert params == ["7"]
    assert "LEFT JOIN customers" in sql
    assert sql.index("r.client_id") < sql.index("r.ts")


def test_athena_engine_binds_values_server_side(monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    from meterwatch.storage.s3 import AthenaEngine

    calls: list[dict[str, object]] = []

    def fake(sql: str, **kwargs: object) -> pd.DataFrame:
        calls.append({"sql": sql, **kwargs})
        return pd.DataFrame()

    monkeypatch.setattr(wr.athena, "read_sql_query", fake)
    sql, values = to_athena(
        "SELECT * FROM scores WHERE client_id = $c AND ts >= $t",
        {"c": "O'Brien", "t": pd.Timestamp("2024-01-02")},
    )
    AthenaEngine("meterwatch", "wg").run(sql, values)
    (call,) = calls
    assert call["paramstyle"] == "qmark"  # awswrangler's "named" style formats values into the SQL
    assert call["params"] == ["'O''Brien'", "TIMESTAMP '2024-01-02 00:00:00.000'"]
    assert "O'Brien" not in str(call["sql"])
    assert call["workgroup"] == "wg" and call["database"] == "meterwatch"


def test_superseded_files_are_collected_but_a_concurrent_writers_files_survive(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import meterwatch.storage.s3 as s3mod

    lake = make_lake(bucket)
    with lake.transaction() as tx:
        tx.append("readings", readings("1", 24))
    (first,) = keys(bucket, "lake/curated/readings/")
    time.sleep(2.5)
    pending = lake.transaction()  # another writer, not committed yet: its file is young
    pending.append("readings", readings("2", 24))
    monkeypatch.setattr(s3mod, "GC_MIN_AGE", s3mod.timedelta(seconds=2))
    monkeypatch.setattr(s3mod, "SNAPSHOTS_PROTECTED", 1)
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("1", 24, level=2.0), ["1"])
    left = keys(bucket, "lake/curated/readings/")
    assert first not in left  # superseded and old enough: gone
    assert any("client_id=2" in k for k in left)  # younger than GC_MIN_AGE: kept


def test_readers_find_the_newest_snapshot_even_if_current_lags(bucket: str) -> None:
    lake = make_lake(bucket)
    for level in (1.0, 2.0):
        with lake.transaction() as tx:
            tx.overwrite_partitions("readings", readings("1", 24, level=level), ["1"])
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=bucket, Key="lake/_meta/CURRENT", Body=b"1\n"
    )  # as if the writer died between the snapshot and the hint
    assert lake.snapshot().seq == 2
    assert lake.read("readings")["active_kwh"].tolist() == [2.0] * 24


def test_sql_is_read_only_on_athena_too(bucket: str) -> None:
    lake = make_lake(bucket)
    for sql in (
        "DROP TABLE readings",
        "INSERT INTO alerts SELECT * FROM alerts",
        "CREATE TABLE stolen AS SELECT * FROM readings",
    ):
        with pytest.raises(ReadOnlyQueryError, match="read-only"):
            lake.query(sql)
    assert lake.query("SELECT count(*) AS n FROM readings")["n"].tolist() == [0]


def test_checksums_find_damaged_and_missing_objects(bucket: str) -> None:
    lake = make_lake(bucket)
    with lake.transaction() as tx:
        tx.append("readings", pd.concat([readings("1", 24), readings("2", 24)]))
    entries = {e.partition: e for e in lake.snapshot().files("readings")}
    assert all(e.size and e.sha256 for e in entries.values())
    assert lake.verify().damaged == []
    s3 = boto3.client("s3", region_name=REGION)
    body = bytearray(lake._get(entries["1"].path))
    body[len(body) // 2] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=lake._key(entries["1"].path), Body=bytes(body))
    s3.delete_object(Bucket=bucket, Key=lake._key(entries["2"].path))
    damaged = {d.path: d.problem for d in lake.verify().damaged}
    assert damaged == {
        entries["1"].path: "checksum differs from the recorded one",
        entries["2"].path: "missing",
    }
    with pytest.raises(DamagedLakeError, match=f"readings: {entries['2'].path} \\(missing"):
        lake.read("readings", partitions=["2"])


def test_check_removes_an_orphaned_artefact_from_s3(bucket: str) -> None:
    lake = make_lake(bucket)
    lake.put_object("models/1/20240101T000000000000Z.json", b"{}")
    assert check_lake(lake).orphans_kept == ["models/1/20240101T000000000000Z.json"]
    report = check_lake(lake, orphan_min_age=timedelta(0))
    assert report.orphans_removed == ["models/1/20240101T000000000000Z.json"]
    assert lake.list_objects("models/") == []


@pytest.mark.parametrize("hint", [b"999999999\n", b"garbage\n"])
def test_a_hint_naming_no_snapshot_does_not_empty_the_lake(bucket: str, hint: bytes) -> None:
    """The dashboard's role may rewrite the CURRENT hint (not the snapshots): a hint that
    names no snapshot must not make the lake look empty or block the next commit."""
    lake = make_lake(bucket)
    for level in (1.0, 2.0):
        with lake.transaction() as tx:
            tx.overwrite_partitions("readings", readings("1", 24, level=level), ["1"])
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=bucket, Key="lake/_meta/CURRENT", Body=hint)
    assert lake.snapshot().seq == 2
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("1", 24, level=3.0), ["1"])
    assert lake.snapshot().seq == 3
    assert lake.read("readings")["active_kwh"].tolist() == [3.0] * 24


def test_data_files_are_written_create_only(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every data file goes with If-None-Match: * (what the dashboard's IAM condition needs)."""
    lake = make_lake(bucket)
    calls: list[tuple[str, dict[str, object]]] = []
    put = lake._put

    def spy(rel: str, data: bytes, **extra: object) -> None:
        calls.append((rel, extra))
        put(rel, data, **extra)

    monkeypatch.setattr(lake, "_put", spy)
    with lake.transaction() as tx:
        tx.append("feedback", pd.DataFrame({"feedback_id": ["f1"], "alert_id": ["a"],
            "client_id": ["1"], "status": ["false_alarm"], "note": [""], "author": ["ana"],
            "created_at": [pd.Timestamp("2024-01-01", tz="UTC")]}))  # fmt: skip
    created = [extra for rel, extra in calls if rel.startswith(("curated/", "_meta/snapshots/"))]
    assert created and all(extra.get("IfNoneMatch") == "*" for extra in created)
