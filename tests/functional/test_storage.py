"""The local lake: transactions, snapshots, objects, SQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from meterwatch.storage import open_lake


def frame(client: str, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": client,
            "ts": pd.date_range("2022-01-01", periods=len(values), freq="h"),
            "active_kwh": values,
            "reactive_kvarh": 0.0,
            "voltage_fa": 460.0,
            "voltage_fc": 460.0,
            "ingestion_id": "t",
        }
    )


def test_commit_is_all_or_nothing(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [1, 2]), ["A"])
    with pytest.raises(RuntimeError), lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [9, 9, 9]), ["A"])
        tx.append("quarantine", pd.DataFrame(columns=lake.read("quarantine").columns))
        raise RuntimeError("boom")
    assert lake.read("readings")["active_kwh"].tolist() == [1, 2]
    assert list((tmp_path / "curated" / "readings").rglob("*.parquet")).__len__() == 1


def test_reader_keeps_its_snapshot_while_a_writer_commits(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [1]), ["A"])
    tx = lake.transaction()
    tx.overwrite_partitions("readings", frame("A", [5]), ["A"])
    assert lake.query("SELECT active_kwh FROM readings").iloc[0, 0] == 1  # not committed yet
    assert tx.read("readings", partitions=["A"]).column("active_kwh").to_pylist() == [5]
    tx.commit()
    assert lake.query("SELECT active_kwh FROM readings").iloc[0, 0] == 5


def test_overwrite_partitions_rejects_rows_of_other_partitions(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    with pytest.raises(ValueError, match="partitions not being replaced"), lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("B", [1]), ["A"])


def test_missing_columns_are_refused(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    with pytest.raises(ValueError, match="missing columns"), lake.transaction() as tx:
        tx.append("readings", frame("A", [1]).drop(columns=["voltage_fc"]))


def test_partition_values_are_escaped_and_listed(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    odd = "Cliente 1/../x 'quote'"
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame(odd, [1.5]), [odd])
    assert lake.partitions("readings") == [odd]
    assert lake.read("readings", partitions=[odd])["active_kwh"].tolist() == [1.5]
    assert all(p.is_relative_to(tmp_path / "curated") for p in tmp_path.rglob("*.parquet"))


def test_query_parameters_are_values(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [1]), ["A"])
    evil = "A' OR '1'='1"
    assert lake.query("SELECT * FROM readings WHERE client_id = ?", [evil]).empty
    assert len(lake.query("SELECT * FROM readings WHERE client_id = ?", ["A"])) == 1


def test_objects_roundtrip_and_stay_inside_the_lake(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    lake.put_object("models/Cliente 1/model.json", b"{}")
    assert lake.get_object("models/Cliente 1/model.json") == b"{}"
    assert lake.list_objects("models") == ["models/Cliente 1/model.json"]
    with pytest.raises(KeyError):
        lake.get_object("models/none")
    with pytest.raises(ValueError):
        lake.put_object("../escape", b"x")


def test_empty_lake_answers_queries(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path))
    assert lake.query("SELECT count(*) AS n FROM readings").iloc[0, 0] == 0
    assert lake.read("customers").empty


def test_a_customers_read_opens_only_its_own_bucket(tmp_path: Path) -> None:
    from meterwatch.storage.iceberg_tables import bucket_of

    lake = open_lake(str(tmp_path))
    clients = [f"Cliente {n}" for n in range(1, 41)]
    with lake.transaction() as tx:
        for client in clients:
            tx.overwrite_partitions("readings", frame(client, [1.0] * 24), [client])
    probe = clients[0]
    data = tmp_path / "curated" / "readings" / "data"
    others = [
        p for p in data.rglob("*.parquet") if f"client_id_bucket={bucket_of(probe)}" not in p.parts
    ]
    assert len({p.parent for p in others}) > 5  # the fleet is spread over the buckets
    for path in others:  # damage every other bucket: the customer's read does not notice
        path.unlink()
    got = open_lake(str(tmp_path)).read("readings", partitions=[probe])
    assert set(got["client_id"]) == {probe} and len(got) == 24


def _live_files(lake_dir: Path, table: str) -> dict[str, set[str]]:
    """Live data files of ``table`` by folder (bucket, or month within a bucket)."""
    out: dict[str, set[str]] = {}
    for f in open_lake(str(lake_dir)).state()[table].files:  # type: ignore[attr-defined]
        path = Path(f.path.removeprefix("file://"))
        out.setdefault(path.parent.name, set()).add(path.name)
    return out


def test_a_day_after_the_history_is_written_beside_it_not_over_it(tmp_path: Path) -> None:
    """Issue 13: a day's new hours (``replace_since`` from after every stored hour) are a new
    file per bucket and leave the history's files as they are; a bucket that would hold
    ``COMPACT_FILES`` files has its small files merged, its history kept while they are less
    than a quarter of it, merged too after; a read from an hour on does not open the files
    that end before it; a correction rewrites only the files that reach its hour."""
    import shutil

    import numpy as np

    from meterwatch.storage.iceberg_tables import COMPACT_FILES

    rng = np.random.default_rng(7)  # varied values: file sizes follow the rows they hold
    clients = [f"Cliente {n}" for n in range(1, 41)]
    lake = open_lake(str(tmp_path / "lake"))
    with lake.transaction() as tx:  # January
        tx.overwrite_partitions(
            "readings",
            pd.concat([frame(c, list(rng.random(24 * 31))) for c in clients]),
            clients,
        )
    january = {n for names in _live_files(tmp_path / "lake", "readings").values() for n in names}
    history_kept = []
    for day in range(3 * COMPACT_FILES):  # February, a day at a time
        start = pd.Timestamp("2022-02-01") + pd.Timedelta(days=day)
        rows = pd.concat([frame(c, list(rng.random(24) + 2)) for c in clients])
        rows["ts"] = rows["ts"] - pd.Timestamp("2022-01-01") + start
        with lake.transaction() as tx:
            tx.replace_since("readings", rows, dict.fromkeys(clients, start))
        live = _live_files(tmp_path / "lake", "readings")
        assert all(len(names) < COMPACT_FILES for names in live.values())
        names = {n for names in live.values() for n in names}
        if day == 0:
            first_day = names - january
        history_kept.append(january <= names)
        if day == 2:  # January and 01/02 gone: a read from 03/02 does not notice
            shutil.copytree(tmp_path / "lake", tmp_path / "copy")
            for name in january | first_day:
                next((tmp_path / "copy").rglob(name)).unlink()
            recent = open_lake(str(tmp_path / "copy")).read_since(
                "readings", dict.fromkeys(clients[:3], pd.Timestamp("2022-02-03"))
            )
            assert len(recent) == 3 * 24 and (recent["active_kwh"] >= 2).all()
    # the first merges leave January as it is; once February's files pass a quarter of it,
    # the bucket is merged whole
    assert all(history_kept[:COMPACT_FILES]) and not history_kept[-1]
    got = open_lake(str(tmp_path / "lake")).read("readings")
    assert got.groupby("client_id")["ts"].apply(lambda t: t.is_monotonic_increasing).all()
    assert len(got) == 40 * 24 * (31 + 3 * COMPACT_FILES)
    assert not got.duplicated(["client_id", "ts"]).any()
    before = {n for names in _live_files(tmp_path / "lake", "readings").values() for n in names}
    fix = frame("Cliente 1", [5.0] * 24)
    fix["ts"] = pd.date_range("2022-02-24", periods=24, freq="h")
    with open_lake(str(tmp_path / "lake")).transaction() as tx:
        tx.replace_since("readings", fix, {"Cliente 1": pd.Timestamp("2022-02-24")})
    after = {n for names in _live_files(tmp_path / "lake", "readings").values() for n in names}
    assert len(before - after) == 1 and len(after - before) == 1  # its bucket's last file only
    got = open_lake(str(tmp_path / "lake")).read("readings", partitions=["Cliente 1"])
    assert got["ts"].is_monotonic_increasing  # in time order across its files
    assert len(got) == 24 * (31 + 3 * COMPACT_FILES) and (got["active_kwh"].tail(24) == 5).all()


def test_small_partition_writes_are_gathered_and_read_and_commit_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A customer's few rows are held as a range of a table gathered from many customers'
    writes (``GATHER_PIECES`` at a time): read back, replaced before and after the gathering,
    spilled and committed, the rows are those a transaction holding each write alone gives."""
    from meterwatch.storage import iceberg_lake

    monkeypatch.setattr(iceberg_lake, "GATHER_PIECES", 3)
    lake = open_lake(str(tmp_path / "lake"))
    clients = [f"C{i}" for i in range(8)]
    with lake.transaction() as tx:
        for i, client in enumerate(clients):
            tx.replace_since("readings", frame(client, [i, i + 0.5]), {client: None})
        assert isinstance(tx, iceberg_lake.IcebergTransaction)
        held = tx._pending["readings"].by_partition
        gathered = {
            id(p.table) for v in held.values() for p in v if isinstance(p, iceberg_lake.HeldRows)
        }
        assert (
            len(gathered) == 2
            and sum(isinstance(v[0], iceberg_lake.HeldRows) for v in held.values()) == 6
        )
        for i, client in enumerate(clients):  # gathered (C0-C5) and not yet (C6, C7)
            back = tx.read("readings", partitions=[client]).to_pandas()
            assert back["client_id"].tolist() == [client] * 2
            assert back["active_kwh"].tolist() == [i, i + 0.5]
        # replaced after the gathering (C1: from its second hour on) and before it (C7)
        tx.replace_since(
            "readings", frame("C1", [9, 9]).iloc[1:], {"C1": pd.Timestamp("2022-01-01 01:00")}
        )
        tx.overwrite_partitions("readings", frame("C7", [70]), ["C7"])
        tx.replace_since(
            "readings", frame("C8", [80]), {"C8": None}
        )  # gathers C6, C8 (C7 left out)
        assert tx.read("readings", partitions=["C1"]).column("active_kwh").to_pylist() == [1, 9]
        assert tx.read("readings", partitions=["C7"]).column("active_kwh").to_pylist() == [70]
        monkeypatch.setattr(iceberg_lake, "SPILL_BYTES", 1)
        tx.replace_since("readings", frame("C9", [90]), {"C9": None})  # spills all of it
        assert tx.read("readings", partitions=["C6"]).column("active_kwh").to_pylist() == [6, 6.5]
    out = lake.read("readings").sort_values(["client_id", "ts"])
    expected = {f"C{i}": [i, i + 0.5] for i in range(7)} | {
        "C1": [1, 9],
        "C7": [70],
        "C8": [80],
        "C9": [90],
    }
    assert out.groupby("client_id")["active_kwh"].apply(list).to_dict() == expected
    assert set(out["ingestion_id"]) == {"t"}


def test_a_transaction_beyond_its_memory_budget_spills_and_commits_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions written beyond ``SPILL_BYTES`` go to scratch Parquet files until the commit:
    what the transaction reads back, what it commits, and a partition written again (its
    spilled rows dropped) are as they would be in memory; the scratch folder is gone after."""
    import tempfile

    from meterwatch.storage import iceberg_lake

    monkeypatch.setattr(iceberg_lake, "SPILL_BYTES", 1)  # every write spills
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    lake = open_lake(str(tmp_path / "lake"))
    with lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("A", [1, 2]), ["A"])
        tx.overwrite_partitions("readings", frame("B", [3, 4, 5]), ["B"])
        assert list((tmp_path / "scratch").rglob("*.parquet")), "nothing was spilled"
        back = tx.read("readings", partitions=["A"]).to_pandas()
        assert back["active_kwh"].tolist() == [1, 2]
        assert back["client_id"].tolist() == ["A", "A"]  # text, not dictionary codes
        tx.overwrite_partitions("readings", frame("A", [7]), ["A"])  # the spilled A is dropped
        assert sorted(tx.read("readings").to_pandas()["active_kwh"]) == [3, 4, 5, 7]
    out = lake.read("readings").sort_values(["client_id", "ts"])
    assert out["client_id"].tolist() == ["A", "B", "B", "B"]
    assert out["active_kwh"].tolist() == [7, 3, 4, 5]
    assert not list((tmp_path / "scratch").iterdir()), "the scratch folder outlived the commit"
    with pytest.raises(RuntimeError), lake.transaction() as tx:
        tx.overwrite_partitions("readings", frame("C", [9]), ["C"])
        raise RuntimeError("boom")
    assert not list((tmp_path / "scratch").iterdir()), "the scratch folder outlived the abort"
    assert sorted(lake.partitions("readings")) == ["A", "B"]
