"""Ingest on a real local lake: layouts, upsert, reconciliation, findings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake
from tests.scenarios import hourly_frame, write_electrodunas, write_long


def readings(lake) -> pd.DataFrame:
    return lake.query("SELECT * EXCLUDE (ingestion_id) FROM readings ORDER BY client_id, ts")


def test_electrodunas_folder_with_workbook(tmp_path: Path, small_fleet: Path) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [small_fleet])
    assert report.errors == []
    assert report.rows_read == report.rows_accepted == 3 * 720
    frame = readings(lake)
    assert sorted(frame["client_id"].unique()) == ["Cliente 1", "Cliente 2", "Cliente 3"]
    assert not frame.duplicated(["client_id", "ts"]).any()
    sectors = lake.query("SELECT client_id, sector FROM customers ORDER BY client_id")
    assert dict(zip(sectors.client_id, sectors.sector, strict=True)) == {
        "Cliente 1": "Agua",
        "Cliente 2": "Agua",
        "Cliente 3": "Cacao",
    }
    assert frame.loc[frame.client_id == "Cliente 3", "sector"].eq("Cacao").all()
    # the raw files are kept verbatim
    raw_keys = lake.query("SELECT raw_key FROM ingestions")["raw_key"]
    for key in raw_keys:
        name = key.rsplit("/", 1)[-1]
        assert lake.get_raw(key) == (small_fleet / name).read_bytes()


def test_long_layout_case_insensitive_headers_and_meter_id(tmp_path: Path) -> None:
    frames = {"M-1": hourly_frame(48, seed=1), "M-2": hourly_frame(48, seed=2)}
    path = write_long(tmp_path / "in" / "export.csv", frames, client_header="Meter_ID")
    text = path.read_text().replace("active_kwh", "ACTIVE_KWH").replace("timestamp", "TimeStamp")
    path.write_text(text)
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path])
    assert report.errors == [] and report.rows_accepted == 96
    frame = readings(lake)
    assert frame.groupby("client_id").size().to_dict() == {"M-1": 48, "M-2": 48}
    expected = frames["M-1"]["active"].to_numpy()
    got = frame.loc[frame.client_id == "M-1", "active_kwh"].to_numpy()
    assert got == pytest.approx(expected)


def test_gzip_and_long_without_optional_columns(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "a.csv.gz"
    path.write_bytes(
        gzip.compress(
            b"client_id,timestamp,active_kwh\nC1,2022-01-01 00:00,1.5\nC1,2022-01-01 01:00,2\n"
        )
    )
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path])
    assert report.rows_accepted == 2
    frame = readings(lake)
    assert frame["reactive_kvarh"].isna().all()
    assert list(frame["active_kwh"]) == [1.5, 2.0]


def test_reingest_changes_nothing(tmp_path: Path, small_fleet: Path) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    before = readings(lake)
    dq_before = lake.query("SELECT code, client_id, period_start FROM data_quality ORDER BY ALL")
    quarantine_before = len(lake.read("quarantine"))
    report = ingest_paths(lake, [small_fleet])
    assert report.total("rows_inserted") == report.total("rows_updated") == 0
    assert report.total("rows_unchanged") == 3 * 720
    pd.testing.assert_frame_equal(readings(lake), before)
    pd.testing.assert_frame_equal(
        lake.query("SELECT code, client_id, period_start FROM data_quality ORDER BY ALL"), dq_before
    )
    assert len(lake.read("quarantine")) == quarantine_before
    assert set(lake.read("ingestions")["status"]) == {"ok", "repeat"}


def test_corrected_and_new_hours_replace_and_add(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    full = hourly_frame(120, seed=3)
    history = full.iloc[:100]
    write_electrodunas(tmp_path / "day1", 7, history)
    ingest_paths(lake, [tmp_path / "day1"])
    # same file name, hours 90..119: 10 overlap (5 corrected), 20 new
    update = full.iloc[90:].copy()
    update.loc[update.index[:5], "active"] = 999.0
    write_electrodunas(tmp_path / "day2", 7, update)
    report = ingest_paths(lake, [tmp_path / "day2"])
    assert (
        report.total("rows_inserted"),
        report.total("rows_updated"),
        report.total("rows_unchanged"),
    ) == (20, 5, 5)
    frame = readings(lake)
    assert len(frame) == 120 and not frame.duplicated(["client_id", "ts"]).any()
    assert (frame["active_kwh"].iloc[90:95] == 999.0).all()
    assert frame["active_kwh"].iloc[:90].to_numpy() == pytest.approx(
        history["active"].iloc[:90].to_numpy()
    )
    assert (
        int(lake.query("SELECT n_readings FROM customers WHERE client_id = 'Cliente 7'").iloc[0, 0])
        == 120
    )


def test_bad_rows_are_quarantined_with_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "DATOSCLIENTE4.csv"
    path.write_text(
        "Fecha,Active_energy,Reactive_energy,Voltaje_FA,Voltaje_FC\n"  # 1
        "2022-01-01 00:00:00,1.0,0.5,460,460\n"  # 2 ok
        "2022-01-01 01:00:00,abc,0.5,460,460\n"  # 3 bad number
        "Fecha,Active_energy,Reactive_energy,Voltaje_FA,Voltaje_FC\n"  # 4 repeated header
        "2022-01-01 02:00:00,1.0,0.5\n"  # 5 missing fields
        "yesterday,1.0,0.5,460,460\n"  # 6 bad timestamp
        "\n"  # 7 empty line
        "2022-01-01 03:30:00,1.0,0.5,460,460\n"  # 8 not an hour start
        "2022-01-01 04:00:00,,0.5,460,460\n"  # 9 active missing
        "2022-01-01 05:00:00,1.0,0.5,460,460\n"  # 10 superseded by 11
        "2022-01-01 05:00:00,2.0,0.5,460,460\n"  # 11 ok
        "2022-01-01 06:00:00,inf,0.5,460,460\n"  # 12 not finite
    )
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path])
    assert report.rows_read == 11
    assert report.rows_accepted == 2 and report.rows_rejected == 9
    assert report.rows_read == report.rows_accepted + report.rows_rejected
    q = lake.query("SELECT line, reason_code, raw_line, source_file FROM quarantine ORDER BY line")
    assert dict(zip(q.line, q.reason_code, strict=True)) == {
        3: "row.number_unparseable",
        4: "row.header_repeated",
        5: "row.field_count",
        6: "row.timestamp_unparseable",
        7: "row.empty_line",
        8: "row.timestamp_not_hour_start",
        9: "row.active_missing",
        10: "row.duplicate_in_file",
        12: "row.number_not_finite",
    }
    assert q.loc[q.line == 3, "raw_line"].item() == "2022-01-01 01:00:00,abc,0.5,460,460"
    assert q["source_file"].eq(str(path)).all()
    assert any("line 3" in e and "DATOSCLIENTE4.csv" in e for e in report.rejected_examples)
    assert readings(lake).set_index("ts")["active_kwh"].to_dict() == {
        pd.Timestamp("2022-01-01 00:00"): 1.0,
        pd.Timestamp("2022-01-01 05:00"): 2.0,
    }
    codes = set(lake.query("SELECT code FROM data_quality")["code"])
    assert {"ingest.rows_rejected", "readings.duplicate_timestamp"} <= codes
    # the finding's sentence names the reasons in the operator's language, in either one
    finding = lake.query("SELECT * FROM data_quality WHERE code = 'ingest.rows_rejected'")
    es = finding["message"].item()
    assert "9 filas del archivo DATOSCLIENTE4.csv" in es and "un valor no es un número: 1" in es
    from meterwatch.dashboard.store import _finding_text

    en = _finding_text(finding.iloc[0], "en")
    assert "9 rows of file DATOSCLIENTE4.csv" in en and "value is not a number: 1" in en


def test_semicolon_and_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "DATOSCLIENTE9.csv"
    path.write_text(
        "Fecha;Active_energy;Reactive_energy;Voltaje_FA;Voltaje_FC\n2022-01-01 00:00:00;1,25;0,5;460,1;459\n"
    )
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [path])
    row = readings(lake).iloc[0]
    assert (row.active_kwh, row.reactive_kvarh, row.voltage_fa) == (1.25, 0.5, 460.1)


@pytest.mark.parametrize(
    ("name", "content", "needle", "line"),
    [
        ("DATOSCLIENTE1.csv", b"", "empty", None),
        (
            "DATOSCLIENTE1.csv",
            b"Fecha,Active_energy,Reactive_energy,Voltaje_FA,Voltaje_FC\n",
            "no data rows",
            None,
        ),
        ("x.csv", b"when,kwh\n2022-01-01,1\n", "columns found 'when', 'kwh'", 1),
        (
            "DATOSCLIENTE1.csv",
            "Fecha,Active_energy\n2022-01-01 00:00:00,1\n".encode("utf-16"),
            "UTF-16",
            None,
        ),
        (
            "DATOSCLIENTE1.csv",
            # a Latin-1 header; a Latin-1 data row alone is a quarantined row (attack battery)
            b"Fecha,Active_energy,Ubicaci\xf3n\n2022-01-01 00:00:00,1,x\n",
            "not UTF-8",
            1,
        ),
        ("DATOSCLIENTE1.csv", b"Fecha|Active_energy;x\n1|2\n", "unknown layout", 1),
        ("readings.csv", b"Fecha,Active_energy\n2022-01-01 00:00:00,1\n", "file name", None),
        ("DATOSCLIENTE1.csv.gz", b"not gzip", "gzip", None),
    ],
    ids=[
        "empty",
        "header-only",
        "unknown-layout",
        "utf16",
        "latin1",
        "delimiter",
        "no-customer",
        "bad-gzip",
    ],
)
def test_bad_files_get_a_clear_error_and_are_kept(
    tmp_path: Path, name: str, content: bytes, needle: str, line: int | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    good = write_electrodunas(tmp_path, 2, hourly_frame(24))
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [path, good])
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.source == str(path)
    assert needle in str(error)
    assert error.line == line
    assert report.rows_accepted == 24  # the good file still went in
    log = lake.query(
        "SELECT source_file, status, error, raw_key FROM ingestions ORDER BY source_file"
    )
    bad = log[log.source_file == str(path)].iloc[0]
    assert bad.status == "rejected" and needle in bad.error
    if content:
        assert lake.get_raw(bad.raw_key) == content
    finding = lake.query("SELECT message FROM data_quality WHERE code = 'ingest.file_rejected'")
    assert len(finding) == 1 and path.name in finding.iloc[0, 0]


def test_missing_path_is_reported_and_nothing_ingested(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [tmp_path / "nope"])
    assert [str(e) for e in report.errors] == [f"{tmp_path / 'nope'}: no such file or folder"]
    assert not report.ingested_anything


def test_series_findings(tmp_path: Path) -> None:
    frame = hourly_frame(24 * 20, seed=5)
    frame.loc[100:171, "active"] = 0.0  # 72 h stopped
    frame.loc[300:309, "active"] *= -1  # 10 h negative
    frame.loc[400:405, "va"] = 5.0  # phase A collapses 6 h
    frame = frame.drop(index=range(200, 203))  # 3 missing hours
    write_electrodunas(tmp_path / "in", 11, frame)
    write_electrodunas(tmp_path / "in", 12, frame)  # an identical customer
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [tmp_path / "in"])
    dq = lake.query(
        "SELECT code, client_id, n_hours, period_start, message FROM data_quality WHERE client_id = 'Cliente 11'"
    )
    by_code = {code: group for code, group in dq.groupby("code")}
    assert by_code["readings.zero_run"]["n_hours"].tolist() == [72]
    assert by_code["readings.negative_energy"]["n_hours"].tolist() == [10]
    assert by_code["readings.gap"]["n_hours"].tolist() == [3]
    assert by_code["readings.gap"]["period_start"].iloc[0] == pd.Timestamp("2022-01-09 08:00")
    assert by_code["readings.voltage_implausible"]["n_hours"].tolist() == [6]
    assert "Cliente 12" in by_code["customers.duplicate_series"]["message"].iloc[0]


def test_duplicate_finding_goes_away_when_a_customer_is_corrected(tmp_path: Path) -> None:
    frame = hourly_frame(48, seed=8)
    write_electrodunas(tmp_path / "a", 1, frame)
    write_electrodunas(tmp_path / "a", 2, frame)
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [tmp_path / "a"])
    assert (
        len(lake.query("SELECT * FROM data_quality WHERE code = 'customers.duplicate_series'")) == 2
    )
    changed = frame.copy()
    changed["active"] += 1
    write_electrodunas(tmp_path / "b", 2, changed)
    ingest_paths(lake, [tmp_path / "b"])
    assert (
        len(lake.query("SELECT * FROM data_quality WHERE code = 'customers.duplicate_series'")) == 0
    )


def test_sector_map_before_data_and_csv_map(tmp_path: Path) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    sectors = tmp_path / "map.csv"
    sectors.write_text("client_id;sector\nCliente 5 ; Agua \n")
    report = ingest_paths(lake, [], sectors=[sectors])
    assert report.sector_maps == [str(sectors)]
    write_electrodunas(tmp_path / "d", 5, hourly_frame(24))
    ingest_paths(lake, [tmp_path / "d"])
    assert (
        lake.query("SELECT sector FROM readings WHERE client_id = 'Cliente 5' LIMIT 1").iloc[0, 0]
        == "Agua"
    )


def test_a_sector_maps_conflicts_and_empty_rows_are_said_once_with_their_line(
    tmp_path: Path,
) -> None:
    """A customer given two sectors takes its last line; the earlier line, a customer
    without a sector and a sector without a customer are in the report (file and line) and
    kept as data-quality findings, once however often the map is read again."""
    lake = open_lake(str(tmp_path / "lake"))
    sectors = tmp_path / "map.csv"
    sectors.write_text("client_id,sector\nCliente 1,Minería\nCliente 1,Agro\nCliente 2,\n,Pesca\n")
    report = ingest_paths(lake, [], sectors=[sectors])
    assert report.sector_problems == [
        f"{sectors}, line 2: the customer's sector differs from its later line, which is kept"
        " (Cliente 1): 'Minería' here, 'Agro' on line 3, kept",
        f"{sectors}, line 4: a customer without a sector, not used (Cliente 2)",
        f"{sectors}, line 5: a sector without a customer, not used: 'Pesca'",
    ]
    customers = lake.query("SELECT client_id, sector FROM customers ORDER BY client_id")
    assert customers.to_dict("records") == [{"client_id": "Cliente 1", "sector": "Agro"}]
    for _ in range(2):  # read again: the same findings, not more
        ingest_paths(lake, [], sectors=[sectors])
    findings = lake.query(
        "SELECT client_id, code, message FROM data_quality WHERE code LIKE 'sectors.%' ORDER BY code"
    )
    assert findings["code"].tolist() == [
        "sectors.conflict", "sectors.missing_client", "sectors.missing_sector"
    ]  # fmt: skip
    assert "línea 2" in findings["message"].iloc[0] and "'Agro'" in findings["message"].iloc[0]


def test_shared_data_defects_are_found(tmp_path: Path, shared_data: Path) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [shared_data])
    assert report.rows_read == report.rows_accepted == 463_425
    assert report.customers_with_sector == 30
    dq = lake.query("SELECT code, client_id, n_hours, params FROM data_quality")
    dup = dq[dq.code == "customers.duplicate_series"]
    assert set(dup.client_id) == {"Cliente 12", "Cliente 30"}
    zero = dq[dq.code == "readings.zero_run"]
    zero_clients = {f"Cliente {n}" for n in (12, *range(21, 30))}
    assert zero_clients <= set(zero.client_id)
    assert (
        zero[zero.client_id.isin(zero_clients)]
        .groupby("client_id")["n_hours"]
        .max()
        .between(600, 1013)
        .all()
    )
    neg = dq[dq.code == "readings.negative_energy"].groupby("client_id")["n_hours"].sum().to_dict()
    assert neg == {"Cliente 17": 34, "Cliente 18": 256, "Cliente 20": 215}


def test_reading_ahead_in_threads_gives_the_same_lake(tmp_path: Path, small_fleet: Path) -> None:
    lakes = {}
    for workers in (1, 4):
        lake = open_lake(str(tmp_path / f"lake{workers}"))
        report = ingest_paths(lake, [small_fleet], workers=workers)
        assert report.rows_read == report.rows_accepted + report.rows_rejected
        lakes[workers] = lake
    for table, key in [
        ("readings", ["client_id", "ts"]),
        ("customers", ["client_id"]),
        ("quarantine", ["source_file", "line"]),
        ("data_quality", ["client_id", "code", "period_start", "message"]),
    ]:
        frames = []
        for lake in lakes.values():
            frame = lake.read(table)
            frame = frame.drop(
                columns=[
                    c
                    for c in ("ingestion_id", "finding_id", "detected_at", "updated_at")
                    if c in frame
                ]
            )
            frames.append(frame.sort_values(key).reset_index(drop=True))
        pd.testing.assert_frame_equal(frames[0], frames[1], check_like=True)


def test_correction_without_optional_columns_keeps_them(tmp_path: Path) -> None:
    first = tmp_path / "full.csv"
    first.write_text(
        "client_id,timestamp,active_kwh,reactive_kvarh,voltage_fa,voltage_fc\n"
        "C1,2022-01-01 00:00,1,0.5,460,461\n"
        "C1,2022-01-01 01:00,2,0.6,462,463\n"
    )
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [first])
    correction = tmp_path / "correction.csv"
    # a missing column keeps the stored value; a present, empty cell stores NULL
    correction.write_text(
        "client_id,timestamp,active_kwh,voltage_fa\n"
        "C1,2022-01-01 00:00,1.5,\n"
        "C1,2022-01-01 02:00,3,470\n"
    )
    report = ingest_paths(lake, [correction])
    assert report.total("rows_updated") == 1 and report.total("rows_inserted") == 1
    frame = readings(lake).set_index("ts")
    assert frame["active_kwh"].tolist() == [1.5, 2.0, 3.0]
    assert frame["reactive_kvarh"].tolist()[:2] == [0.5, 0.6]
    assert frame["voltage_fc"].tolist()[:2] == [461, 463]
    assert pd.isna(frame["voltage_fa"].iloc[0]) and frame["voltage_fa"].iloc[1] == 462
    assert pd.isna(frame["reactive_kvarh"].iloc[2]) and frame["voltage_fa"].iloc[2] == 470


def test_daily_backfill_of_an_old_lake_is_checked_until_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lake from before the daily table gets every customer's daily rows at its next ingest;
    after that, ingest does not list the tables' customers again (on Iceberg a scan of every
    data file's customer column, issue 13)."""
    from meterwatch import daily

    lake = open_lake(str(tmp_path / "lake"))
    first = write_long(
        tmp_path / "in" / "a.csv", {"A": hourly_frame(48, seed=1), "B": hourly_frame(48, seed=2)}
    )
    ingest_paths(lake, [first])
    assert daily.known_complete(lake)
    # the lake as it was before the daily table: B's rows and the mark gone
    with lake.transaction() as tx:
        tx.overwrite_partitions("daily", daily.DAILY.schema.empty_table(), ["B"])
    lake.delete_object(daily.COMPLETE_KEY)
    assert not daily.known_complete(lake)
    assert set(lake.read("daily")["client_id"]) == {"A"}

    later = hourly_frame(48, seed=3)
    later["ts"] = later["ts"] + pd.Timedelta(days=2)
    ingest_paths(lake, [write_long(tmp_path / "in" / "b.csv", {"A": later})])
    rows = lake.read("daily")
    assert set(rows["client_id"]) == {"A", "B"}
    assert rows.loc[rows.client_id == "B", "hours"].sum() == 48
    assert daily.known_complete(lake)

    def no_listing(table: str) -> list[str | None]:
        raise AssertionError(f"ingest listed the partitions of {table}")

    monkeypatch.setattr(lake, "partitions", no_listing)
    more = hourly_frame(24, seed=4)
    more["ts"] = more["ts"] + pd.Timedelta(days=4)
    report = ingest_paths(lake, [write_long(tmp_path / "in" / "c.csv", {"B": more})])
    assert report.errors == [] and report.rows_accepted == 24


def _fleet_from_daily(lake) -> pd.DataFrame:
    """fleet_daily as it must be: the daily table summed per sector and day, from scratch."""
    from meterwatch.daily import FLEET_SUMS

    rows = lake.read("daily")
    sector = lake.read("customers").set_index("client_id")["sector"]
    rows["sector"] = rows["client_id"].map(sector).fillna("")
    rows["customers"] = 1
    out = rows.groupby(["sector", "day"], as_index=False)[["customers", *FLEET_SUMS]].sum()
    return out.sort_values(["sector", "day"]).reset_index(drop=True)


def _assert_monthly_matches(lake) -> None:
    """``monthly`` equals the daily table summed per customer and month, from scratch."""
    from meterwatch.tables import HOUR_COLUMNS

    rows = lake.read("daily")
    rows["month"] = pd.to_datetime(rows["day"]).dt.to_period("M").dt.to_timestamp()
    rows["days"] = 1
    sums = ["days", "hours", "active_kwh", "reactive_kvarh", *HOUR_COLUMNS]
    want = rows.groupby(["client_id", "month"], as_index=False)[sums].sum()
    got = lake.read("monthly").sort_values(["client_id", "month"]).reset_index(drop=True)
    assert (
        got[["client_id", "month", "days", "hours"]]
        .astype(str)
        .equals(want[["client_id", "month", "days", "hours"]].astype(str))
    )
    for column in sums[2:]:
        assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(), rel=1e-9)


def _assert_fleet_matches(lake) -> None:
    from meterwatch.daily import FLEET_SUMS

    _assert_monthly_matches(lake)
    got = lake.read("fleet_daily").sort_values(["sector", "day"]).reset_index(drop=True)
    want = _fleet_from_daily(lake)
    assert (
        got[["sector", "day", "customers", "hours"]]
        .astype(str)
        .equals(want[["sector", "day", "customers", "hours"]].astype(str))
    )
    for column in FLEET_SUMS:
        assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(), rel=1e-9)


def test_fleet_daily_follows_every_kind_of_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet_daily`` (sector x day) equals the daily table summed from scratch after a
    history, a new day, a late correction of an old day, a sector map that moves a customer
    (its whole history changes sector), and on a lake from before the table (built whole);
    a new day reads only the daily rows it replaces, never a listing of the customers."""
    from meterwatch import daily

    lake = open_lake(str(tmp_path / "lake"))
    sectors = tmp_path / "map.csv"
    sectors.write_text("client_id,sector\nA,Agua\nB,Agua\n")
    # 40 days from 2022-01-01: two months, so a new day and a late fix change one of them
    history = {name: hourly_frame(24 * 40, seed=k) for k, name in enumerate("ABC")}
    ingest_paths(lake, [write_long(tmp_path / "in" / "h.csv", history)], sectors=[sectors])
    assert daily.known(lake, daily.FLEET_COMPLETE_KEY)
    assert set(lake.read("fleet_daily")["sector"]) == {"Agua", ""}
    _assert_fleet_matches(lake)

    def no_listing(table: str) -> list[str | None]:
        raise AssertionError(f"ingest listed the partitions of {table}")

    with monkeypatch.context() as m:
        m.setattr(lake, "partitions", no_listing)
        day = {n: f.iloc[:24].assign(ts=f["ts"].iloc[:24] + pd.Timedelta(days=40))
               for n, f in history.items()}  # fmt: skip
        ingest_paths(lake, [write_long(tmp_path / "in" / "d.csv", day)])
        _assert_fleet_matches(lake)
        late = history["B"].iloc[30:40].assign(active=99.0)  # an old day of B corrected
        report = ingest_paths(lake, [write_long(tmp_path / "in" / "late.csv", {"B": late})])
        assert report.total("rows_updated") == 10
        _assert_fleet_matches(lake)
        moved = tmp_path / "map2.csv"
        moved.write_text("client_id,sector\nA,Riego\nC,Agua\n")  # A moves, C gets a sector
        ingest_paths(lake, [], sectors=[moved])
        _assert_fleet_matches(lake)
    fleet = lake.read("fleet_daily")
    assert set(fleet["sector"]) == {"Agua", "Riego"}
    assert fleet.loc[fleet["sector"] == "Agua", "customers"].max() == 2

    # a lake from before the table: no mark, an empty table; the next ingest builds it whole
    with lake.transaction() as tx:
        tx.overwrite("fleet_daily", daily.FLEET_DAILY.schema.empty_table())
    lake.delete_object(daily.FLEET_COMPLETE_KEY)
    more = {
        "C": history["C"].iloc[:24].assign(ts=history["C"]["ts"].iloc[:24] + pd.Timedelta(days=7))
    }
    ingest_paths(lake, [write_long(tmp_path / "in" / "m.csv", more)])
    assert daily.known(lake, daily.FLEET_COMPLETE_KEY)
    assert daily.known(lake, daily.MONTHLY_COMPLETE_KEY)
    _assert_fleet_matches(lake)


def test_daily_and_monthly_files_are_sorted_by_period_then_customer(tmp_path: Path) -> None:
    """Views across customers read ``daily`` and ``monthly`` for a period: their files are
    sorted by day (month), then customer, so a scan of a period skips the row groups of other
    periods (Athena and DuckDB prune by each row group's min and max); the readings stay sorted
    by customer, then hour (a customer's read skips the other customers)."""
    import pyarrow.parquet as pq

    lake = open_lake(str(tmp_path / "lake"))
    fleet = {f"C{k}": hourly_frame(24 * 35, seed=k) for k in range(40)}  # buckets of several
    ingest_paths(lake, [write_long(tmp_path / "in" / "h.csv", fleet)])
    for table, keys in (("daily", ["day", "client_id"]), ("monthly", ["month", "client_id"]),
                        ("readings", ["client_id", "ts"])):  # fmt: skip
        files = sorted((tmp_path / "lake" / "curated" / table).rglob("*.parquet"))
        several = False
        for path in files:
            frame = pq.read_table(path, columns=keys).to_pandas()
            several = several or frame["client_id"].nunique() > 1
            ordered = frame.sort_values(keys).reset_index(drop=True)
            pd.testing.assert_frame_equal(frame, ordered, check_dtype=False)
        assert several, table  # a file with one customer would prove nothing


def test_corrected_and_late_hours_are_findings_only_against_earlier_runs(tmp_path: Path) -> None:
    frame = hourly_frame(60 * 24, seed=4)
    january, february = frame.iloc[: 31 * 24], frame.iloc[31 * 24 :]
    folder = tmp_path / "first"
    # one run: February's file first (natural order of the names), then January's
    write_long(folder / "a-february.csv", {"C1": february})
    write_long(folder / "b-january.csv", {"C1": january})
    lake = open_lake(str(tmp_path / "lake"))
    report = ingest_paths(lake, [folder / "a-february.csv", folder / "b-january.csv"])
    assert report.total("rows_inserted") == 60 * 24

    def revised() -> pd.DataFrame:
        dq = lake.read("data_quality")
        return dq[dq["code"].isin(["readings.corrected", "readings.late"])]

    assert revised().empty  # files of one run, in any order, revise nothing stored before
    # a later run: two January days corrected, a February hour that was never sent
    fixed = january.iloc[48:96].assign(active=january["active"].iloc[48:96] * 1.1)
    gap = lake.query("SELECT count(*) AS n FROM readings")["n"].item()
    assert gap == 60 * 24
    later = tmp_path / "later"
    write_long(later / "fix.csv", {"C1": fixed})
    ingest_paths(lake, [later / "fix.csv"])
    found = revised()
    assert found["code"].tolist() == ["readings.corrected"]
    assert found["n_hours"].tolist() == [48]
    assert found["period_start"].tolist() == [fixed["ts"].iloc[0]]
