"""The storage contract: every backend keeps the same promises (local Iceberg, S3 on moto).

Each test runs on the local lake (Apache Iceberg in a folder), on the Iceberg lake in S3 with
the Glue catalog and on the snapshot-log S3 lake, the last two against a moto server. Backend-specific layout and damage checks live in ``test_lake_integrity.py``
and ``test_s3_lake.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from meterwatch.storage import Lake, ReadOnlyQueryError, open_lake
from meterwatch.storage.glue import GlueLake
from meterwatch.storage.s3 import DuckDBEngine, S3Lake

MakeLake = Callable[[], Lake]


@pytest.fixture(params=["local-iceberg", "s3-glue-iceberg", "s3"])
def make_lake(request: pytest.FixtureRequest, tmp_path: Path) -> MakeLake:
    """A function opening the same (initially empty) lake, as a new process would."""
    if request.param == "local-iceberg":
        return lambda: open_lake(str(tmp_path / "lake"))
    bucket = request.getfixturevalue("bucket")
    if request.param == "s3-glue-iceberg":
        database = f"db_{bucket.replace('-', '_')}"

        def glue() -> Lake:
            lake = GlueLake(f"s3://{bucket}/lake", glue_database=database)
            lake.engine = DuckDBEngine(lake)
            return lake

        return glue

    def s3() -> Lake:
        lake = S3Lake(f"s3://{bucket}/lake", glue_database="none", register_partitions=False)
        lake.engine = DuckDBEngine(lake)
        return lake

    return s3


def readings(client: str | None, values: list[float], start: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": client,
            "ts": pd.date_range(start, periods=len(values), freq="h"),
            "active_kwh": values,
            "reactive_kvarh": 0.0,
            "voltage_fa": 230.0,
            "voltage_fc": 230.0,
            "ingestion_id": "i1",
        }
    )


def kwh_by_client(lake: Lake) -> dict[str, float]:
    got = lake.read("readings")
    return got.groupby("client_id")["active_kwh"].sum().to_dict()


def test_upsert_by_customer_replaces_only_the_listed_customers(make_lake: MakeLake) -> None:
    lake = make_lake()
    with lake.transaction() as tx:
        tx.overwrite_partitions(
            "readings", pd.concat([readings(str(n), [1.0] * 24) for n in range(40)]),
            [str(n) for n in range(40)],
        )  # fmt: skip
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("3", [2.0] * 48), ["3"])
        tx.overwrite_partitions("readings", readings("5", []), ["5"])  # ends empty
    got = kwh_by_client(make_lake())
    assert got["3"] == 96.0 and "5" not in got and len(got) == 39
    assert all(v == 24.0 for k, v in got.items() if k != "3")
    one = make_lake().read("readings", partitions=["3"])
    assert len(one) == 48 and set(one["client_id"]) == {"3"}
    assert one["ts"].is_monotonic_increasing


def test_one_commit_covers_every_table_of_a_run(make_lake: MakeLake) -> None:
    lake = make_lake()
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [1.0, 2.0]), ["A"])
    with pytest.raises(RuntimeError, match="boom"), lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [9.0]), ["A"])
        tx.append("ingestions", make_lake().read("ingestions"))
        raise RuntimeError("boom")
    assert make_lake().read("readings")["active_kwh"].tolist() == [1.0, 2.0]

    tx = lake.transaction()
    tx.overwrite_partitions("readings", readings("A", [5.0]), ["A"])
    tx.overwrite_partitions("scores", make_lake().read("scores"), [])
    assert tx.read("readings", partitions=["A"]).column("active_kwh").to_pylist() == [5.0]
    assert make_lake().read("readings")["active_kwh"].tolist() == [1.0, 2.0]  # not yet
    tx.commit()
    assert make_lake().read("readings")["active_kwh"].tolist() == [5.0]


def test_append_overwrite_and_refusals(make_lake: MakeLake) -> None:
    lake = make_lake()
    feedback = pd.DataFrame(
        {
            "feedback_id": ["f1"], "alert_id": ["a1"], "client_id": ["A"],
            "status": ["false_alarm"], "note": [""], "author": ["rosa"],
            "created_at": [pd.Timestamp("2024-01-01", tz="UTC")],
        }
    )  # fmt: skip
    for _ in range(3):
        with lake.transaction() as tx:
            tx.append("feedback", feedback)
    assert len(make_lake().read("feedback")) == 3
    with lake.transaction() as tx:
        tx.overwrite("feedback", feedback)
    assert len(make_lake().read("feedback")) == 1
    with pytest.raises(ValueError, match="partitions not being replaced"), lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("B", [1.0]), ["A"])
    with pytest.raises(ValueError, match="missing columns"), lake.transaction() as tx:
        tx.append("readings", readings("A", [1.0]).drop(columns=["voltage_fc"]))
    with pytest.raises(ValueError, match="not partitioned"), lake.transaction() as tx:
        tx.overwrite_partitions("feedback", feedback, ["A"])


def test_odd_and_missing_customer_ids_are_partitions_too(make_lake: MakeLake) -> None:
    lake = make_lake()
    odd = "Cliente 1/../x 'quote' ñ"
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings(odd, [1.5]), [odd])
    assert make_lake().partitions("readings") == [odd]
    assert make_lake().read("readings", partitions=[odd])["active_kwh"].tolist() == [1.5]
    assert make_lake().read("readings", partitions=["other"]).empty


def test_a_run_may_replace_many_customers_and_the_missing_one(make_lake: MakeLake) -> None:
    lake = make_lake()
    rows = pd.concat([readings(None, [1.0]), readings("A", [2.0]), readings("B", [3.0])])
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", rows, [None, "A", "B"])
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings(None, [4.0, 4.0]), [None, "A"])
    got = make_lake().read("readings")
    assert got["client_id"].isna().sum() == 2 and set(got["client_id"].dropna()) == {"B"}
    assert make_lake().read("readings", partitions=[None])["active_kwh"].tolist() == [4.0, 4.0]


def test_replace_since_keeps_the_earlier_rows_and_reads_its_own_writes(
    make_lake: MakeLake,
) -> None:
    """``replace_since`` replaces a customer's rows from an hour on (across a month's end),
    twice in one run, after a whole-customer replacement, and refuses rows before the hour."""
    lake = make_lake()
    with lake.transaction() as tx:
        tx.overwrite_partitions(
            "readings",
            pd.concat([readings("A", [1.0] * 72, "2024-01-30"), readings("B", [2.0] * 48)]),
            ["A", "B"],
        )
    feb = pd.Timestamp("2024-02-01")
    with lake.transaction() as tx:
        tx.replace_since("readings", readings("A", [9.0] * 30, "2024-02-01"), {"A": feb})
        tx.replace_since(
            "readings",
            readings("A", [7.0] * 12, "2024-02-01 12:00"),
            {"A": feb + pd.Timedelta("12h")},
        )
        own = tx.read("readings", partitions=["A"]).to_pandas().sort_values("ts")
        assert own["active_kwh"].tolist() == [1.0] * 48 + [9.0] * 12 + [7.0] * 12
    got = make_lake().read("readings", partitions=["A"]).sort_values("ts")
    assert got["active_kwh"].tolist() == [1.0] * 48 + [9.0] * 12 + [7.0] * 12
    assert got["ts"].is_unique and kwh_by_client(make_lake())["B"] == 96.0
    recent = make_lake().read_since("readings", {"A": feb, "B": pd.Timestamp("2024-01-02")})
    assert len(recent[recent["client_id"] == "A"]) == 24
    assert len(recent[recent["client_id"] == "B"]) == 24
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("B", [3.0] * 5), ["B"])
        tx.replace_since(
            "readings",
            readings("B", [4.0] * 2, "2024-01-01 03:00"),
            {"B": pd.Timestamp("2024-01-01 03:00")},
        )
    assert (
        make_lake().read("readings", partitions=["B"])["active_kwh"].tolist()
        == [3.0] * 3 + [4.0] * 2
    )
    with pytest.raises(ValueError, match="before the hour"), lake.transaction() as tx:
        tx.replace_since("readings", readings("A", [5.0] * 2, "2024-01-31 23:00"), {"A": feb})
    with pytest.raises(ValueError, match="not being replaced"), lake.transaction() as tx:
        tx.replace_since("readings", readings("C", [5.0], "2024-02-02"), {"A": feb})
    assert (
        make_lake().read("readings", partitions=["A"])["active_kwh"].sum() == 48 + 9 * 12 + 7 * 12
    )


def test_sql_binds_values_and_is_read_only(make_lake: MakeLake) -> None:
    lake = make_lake()
    assert lake.query("SELECT count(*) AS n FROM readings")["n"].item() == 0  # empty lake
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [1.0, 3.0]), ["A"])
    lake = make_lake()
    evil = "A' OR '1'='1"
    assert (
        lake.query("SELECT count(*) AS n FROM readings WHERE client_id = ?", [evil])["n"].item()
        == 0
    )
    got = lake.query("SELECT sum(active_kwh) AS s FROM readings WHERE client_id = ?", ["A"])
    assert got["s"].item() == 4.0
    with pytest.raises(ReadOnlyQueryError):
        lake.query("DROP VIEW readings")


def test_raw_files_and_objects(make_lake: MakeLake, tmp_path: Path) -> None:
    lake = make_lake()
    source = tmp_path / "DATOSCLIENTE1.csv"
    source.write_bytes(b"Fecha,Active_energy\n")
    key = lake.put_raw(source, "ab" * 32)
    assert lake.put_raw(source, "ab" * 32) == key  # idempotent
    assert make_lake().get_raw(key) == b"Fecha,Active_energy\n"
    lake.put_object("models/Cliente 1/v1.json", b"{}")
    assert make_lake().get_object("models/Cliente 1/v1.json") == b"{}"
    assert make_lake().list_objects("models/") == ["models/Cliente 1/v1.json"]
    with pytest.raises(KeyError):
        make_lake().get_object("models/none")


def test_verify_counts_the_live_files_and_finds_nothing_wrong(make_lake: MakeLake) -> None:
    lake = make_lake()
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", readings("A", [1.0]), ["A"])
    found = make_lake().verify()
    assert found.files >= 1 and found.unrecorded == 0 and found.damaged == []
