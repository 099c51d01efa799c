"""The synthetic demo fleet: layout, determinism, labels and the planted events and defects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meterwatch.synth import (
    DATA_COLUMNS,
    LOSS_FAMILIES,
    SECTOR_WORKBOOK,
    SECTORS,
    FleetSummary,
    generate_fleet,
    read_labels,
)

HEADER = b"Fecha,Active_energy,Reactive_energy,Voltaje_FA,Voltaje_FC\r\n"
FAMILIES = LOSS_FAMILIES | {"duplicate_customer", "gap", "malformed_row", "campaign", "holiday"}
START = pd.Timestamp("2021-01-01")
DAYS = 60


@pytest.fixture(scope="module")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> FleetSummary:
    return generate_fleet(tmp_path_factory.mktemp("fleet"), n_customers=8, days=DAYS, seed=11)


@pytest.fixture(scope="module")
def labels(small_fleet: FleetSummary) -> pd.DataFrame:
    return read_labels(small_fleet.labels_path)


def readings(path: Path) -> pd.DataFrame:
    """Readable hourly rows of one customer file, defective lines dropped."""
    frame = pd.read_csv(path, dtype=str)
    frame["Fecha"] = pd.to_datetime(frame["Fecha"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    for column in DATA_COLUMNS[1:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.dropna().drop_duplicates("Fecha")
    return frame.set_index("Fecha")


def customer_file(fleet: FleetSummary, client_id: str) -> Path:
    return fleet.data_dir / f"DATOSCLIENTE{client_id.split()[1]}.csv"


def test_files_have_the_electrodunas_layout(small_fleet: FleetSummary) -> None:
    names = sorted(p.name for p in small_fleet.data_dir.iterdir())
    expected = sorted([f"DATOSCLIENTE{n}.csv" for n in range(1, 9)] + [SECTOR_WORKBOOK])
    assert names == expected
    assert small_fleet.clients == [f"Cliente {n}" for n in range(1, 9)]
    assert not (small_fleet.data_dir / "labels.csv").exists()
    for n in range(1, 9):
        content = (small_fleet.data_dir / f"DATOSCLIENTE{n}.csv").read_bytes()
        assert content.startswith(HEADER)
        assert content.endswith(b"\r\n")
        assert b"\r\n\r\n" not in content


def test_clean_file_is_hourly_with_python_float_spelling(tmp_path: Path) -> None:
    fleet = generate_fleet(tmp_path, n_customers=2, days=30, events=False, defects=False)
    lines = (fleet.data_dir / "DATOSCLIENTE1.csv").read_bytes().decode().split("\r\n")[1:-1]
    assert len(lines) == 30 * 24
    stamps = pd.to_datetime([line.split(",")[0] for line in lines], format="%Y-%m-%d %H:%M:%S")
    assert (stamps == pd.date_range(START, periods=30 * 24, freq="h")).all()
    values = np.array([[float(v) for v in line.split(",")[1:]] for line in lines])
    assert values.shape == (30 * 24, 4)
    assert all(repr(float(v)) == v for line in lines[:50] for v in line.split(",")[1:])
    assert (values[:, 0] > 0).all() and (values[:, 1] > 0).all()
    assert fleet.n_rows == 2 * 30 * 24


def test_same_seed_gives_identical_bytes(tmp_path: Path, small_fleet: FleetSummary) -> None:
    again = generate_fleet(tmp_path / "again", n_customers=8, days=DAYS, seed=11)
    other = generate_fleet(tmp_path / "other", n_customers=8, days=DAYS, seed=12)
    for path in sorted(small_fleet.data_dir.iterdir()):
        assert (again.data_dir / path.name).read_bytes() == path.read_bytes(), path.name
    assert again.labels_path.read_bytes() == small_fleet.labels_path.read_bytes()
    first = (small_fleet.data_dir / "DATOSCLIENTE1.csv").read_bytes()
    assert (other.data_dir / "DATOSCLIENTE1.csv").read_bytes() != first


def test_sector_workbook_looks_like_the_real_one(tmp_path: Path) -> None:
    fleet = generate_fleet(tmp_path, n_customers=18, days=30, events=False, defects=False)
    sectors = pd.read_excel(fleet.data_dir / SECTOR_WORKBOOK, sheet_name=None)
    assert list(sectors) == ["Hoja1"]
    sheet = sectors["Hoja1"]
    assert list(sheet.columns) == ["Cliente:", "Sector Económico:"]
    assert sheet["Cliente:"].iloc[0] == "Cliente 1 "
    assert sheet["Cliente:"].str.strip().tolist() == fleet.clients
    counts = sheet["Sector Económico:"].value_counts()
    assert set(counts.index) == set(SECTORS)
    assert counts.min() >= 3


def test_labels_use_the_vocabulary_and_stay_inside_the_data(
    small_fleet: FleetSummary, labels: pd.DataFrame
) -> None:
    assert set(labels["family"]) <= FAMILIES
    assert (labels["is_loss"] == labels["family"].isin(LOSS_FAMILIES).astype(int)).all()
    assert (labels["start"] >= START).all()
    assert (labels["end"] <= START + pd.Timedelta(days=DAYS)).all()
    assert (labels["start"] < labels["end"]).all()
    assert set(labels["client_id"]) <= set(small_fleet.clients)
    for params in labels["params"]:
        assert isinstance(json.loads(params), dict)


def test_losses_sit_mostly_in_the_evaluation_part(labels: pd.DataFrame) -> None:
    losses = labels[labels["is_loss"] == 1]
    assert {"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "negative_energy"} <= set(
        losses["family"]
    )
    evaluation_start = START + pd.Timedelta(hours=int(DAYS * 24 * 0.8))
    in_evaluation = losses["start"] >= evaluation_start
    assert in_evaluation.sum() >= 9
    assert (~in_evaluation).sum() >= 1
    for _, events in losses.groupby("client_id"):
        ordered = events.sort_values("start")
        assert (ordered["start"].iloc[1:].to_numpy() >= ordered["end"].iloc[:-1].to_numpy()).all()


def test_clean_customers_are_the_majority(small_fleet: FleetSummary, labels: pd.DataFrame) -> None:
    lossy = set(labels.loc[labels["is_loss"] == 1, "client_id"])
    assert 1 <= len(lossy) <= 0.6 * small_fleet.n_customers


def test_duplicated_customer_is_byte_identical(
    small_fleet: FleetSummary, labels: pd.DataFrame
) -> None:
    duplicates = labels[labels["family"] == "duplicate_customer"]
    assert len(duplicates) == 1
    copy = duplicates.iloc[0]
    original = json.loads(copy["params"])["of"]
    assert original != copy["client_id"]
    copied_bytes = customer_file(small_fleet, copy["client_id"]).read_bytes()
    assert copied_bytes == customer_file(small_fleet, original).read_bytes()
    assert not labels.loc[labels["client_id"] == original, "is_loss"].any()


def test_malformed_rows_are_at_the_labelled_lines(
    small_fleet: FleetSummary, labels: pd.DataFrame
) -> None:
    malformed = labels[labels["family"] == "malformed_row"]
    assert set(malformed["params"].map(lambda p: json.loads(p)["kind"])) == {
        "non_numeric",
        "missing_field",
        "repeated_header",
        "duplicate_timestamp",
    }
    for _, label in malformed.iterrows():
        lines = customer_file(small_fleet, label["client_id"]).read_bytes().split(b"\r\n")
        params = json.loads(label["params"])
        line = lines[params["line"] - 1]
        stamp = label["start"].strftime("%Y-%m-%d %H:%M:%S").encode()
        if params["kind"] == "non_numeric":
            assert line.split(b",")[0] == stamp and line.split(b",")[1] == b"abc"
        elif params["kind"] == "missing_field":
            assert line.split(b",")[0] == stamp and line.count(b",") == 3
        elif params["kind"] == "repeated_header":
            assert line + b"\r\n" == HEADER
            assert lines[params["line"]].split(b",")[0] == stamp
        else:
            assert line.split(b",")[0] == stamp and line == lines[params["line"] - 2]


def test_gaps_are_missing_exactly_where_labelled(
    small_fleet: FleetSummary, labels: pd.DataFrame
) -> None:
    gaps = labels[labels["family"] == "gap"]
    assert gaps["client_id"].nunique() == 2
    assert (gaps["end"] - gaps["start"] == pd.Timedelta(days=1)).sum() == 2
    every_hour = pd.date_range(START, periods=DAYS * 24, freq="h")
    for client_id, client_gaps in gaps.groupby("client_id"):
        lines = customer_file(small_fleet, client_id).read_bytes().decode().split("\r\n")[1:-1]
        present = pd.DatetimeIndex(
            pd.to_datetime([line[:19] for line in lines if line[0].isdigit()])
        ).unique()
        missing = every_hour.difference(present)
        expected = pd.DatetimeIndex([])
        for _, gap in client_gaps.iterrows():
            expected = expected.union(pd.date_range(gap["start"], gap["end"], freq="h")[:-1])
        assert missing.equals(expected)


def test_campaigns_return_to_the_level_before(
    small_fleet: FleetSummary, labels: pd.DataFrame
) -> None:
    campaigns = labels[labels["family"] == "campaign"]
    assert len(campaigns) >= 2
    week = pd.Timedelta(days=7)
    for _, campaign in campaigns.iterrows():
        active = readings(customer_file(small_fleet, campaign["client_id"]))["Active_energy"]
        before = active[campaign["start"] - week : campaign["start"] - pd.Timedelta(hours=1)]
        during = active[campaign["start"] : campaign["end"] - pd.Timedelta(hours=1)]
        after = active[campaign["end"] : campaign["end"] + week - pd.Timedelta(hours=1)]
        assert during.mean() > 1.5 * before.mean()
        if len(after) == 7 * 24:
            assert after.mean() == pytest.approx(before.mean(), rel=0.3)


def test_losses_carry_their_electrical_evidence(
    small_fleet: FleetSummary, labels: pd.DataFrame
) -> None:
    losses = labels[labels["is_loss"] == 1]
    for _, loss in losses.iterrows():
        data = readings(customer_file(small_fleet, loss["client_id"]))
        inside = data[loss["start"] : loss["end"] - pd.Timedelta(hours=1)]
        before = data[: loss["start"] - pd.Timedelta(hours=1)]
        params = json.loads(loss["params"])
        family = loss["family"]
        if family in ("h8", "stopped_meter"):
            assert (inside["Active_energy"] == 0).all() and (inside["Reactive_energy"] == 0).all()
        elif family == "negative_energy":
            assert (inside["Active_energy"] < 0).all() and (inside["Reactive_energy"] > 0).all()
        elif family == "h1" and params["mechanism"] == "lifted_pt":
            assert inside["Voltaje_FC"].max() < 0.1 * before["Voltaje_FC"].median()
        elif family == "h1":
            ratio_inside = inside["Reactive_energy"].sum() / inside["Active_energy"].sum()
            ratio_before = before["Reactive_energy"].sum() / before["Active_energy"].sum()
            assert ratio_inside > 1.2 * ratio_before
        elif family == "h2":
            hours = (inside.index.hour - params["window_start_hour"]) % 24
            switched_off = hours < params["window_hours"]
            assert (inside.loc[switched_off, "Active_energy"] == 0).all()
            assert (inside.loc[~switched_off, "Active_energy"] > 0).all()
        elif family == "h7":
            assert inside["Active_energy"].max() <= params["cap_kwh"] + 1e-4
            assert before["Active_energy"].max() > params["cap_kwh"]
        elif family == "h5":
            assert inside["Active_energy"].nunique() == 1
        if family not in ("h5", "h6"):
            assert params["lost_kwh"] > 0


def test_without_events_or_defects_only_normal_life_is_labelled(tmp_path: Path) -> None:
    fleet = generate_fleet(tmp_path, n_customers=6, days=40, events=False, defects=False)
    families = set(read_labels(fleet.labels_path)["family"])
    assert families <= {"campaign", "holiday"}
    assert "holiday" in families
    for n in range(1, 7):
        frame = readings(fleet.data_dir / f"DATOSCLIENTE{n}.csv")
        assert len(frame) == 40 * 24
        assert (frame["Active_energy"] > 0).all()


def test_progress_reports_every_customer(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_fleet(
        tmp_path,
        n_customers=3,
        days=30,
        events=False,
        defects=False,
        progress=lambda *a: calls.append(a),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
