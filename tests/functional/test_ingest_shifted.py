"""A re-delivered file whose hours are all moved (exported in UTC, or hours labelled by their
end) is refused whole, not stored as "corrections" that would move a customer's history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from meterwatch.ingest import ingest_paths
from meterwatch.ingest.pipeline import shifted_copy
from meterwatch.storage import open_lake

HOURS = pd.date_range("2023-03-01", periods=24 * 21, freq="h")


def _values(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    day = 2 + np.sin(np.arange(len(HOURS)) * 2 * np.pi / 24)
    return np.round(day * rng.uniform(0.8, 1.2, len(HOURS)), 3)


def _write(path: Path, hours: pd.DatetimeIndex, kwh: np.ndarray, spelling: str) -> Path:
    frame = pd.DataFrame(
        {
            "client_id": "C7",
            "timestamp": hours.strftime(spelling),
            "active_kwh": kwh,
            "reactive_kvarh": np.round(kwh * 0.4, 3),
            "voltage_fa": 460,
            "voltage_fc": 461,
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("name", "moved", "spelling"),
    [
        ("utc.csv", 5, "%Y-%m-%dT%H:%M"),  # Lima hours written as UTC, without an offset
        ("ending.csv", 1, "%Y-%m-%d %H:%M"),  # each hour labelled by its end
        ("behind.csv", -3, "%Y-%m-%d %H:%M"),
    ],
)
def test_a_file_of_stored_readings_moved_by_some_hours_is_refused_whole(
    tmp_path: Path, name: str, moved: int, spelling: str
) -> None:
    kwh = _values()
    first = _write(tmp_path / "first.csv", HOURS, kwh, "%Y-%m-%d %H:%M")
    lake = open_lake(str(tmp_path / "lake"))
    assert ingest_paths(lake, [first], workers=1).rows_accepted == len(HOURS)
    stored = lake.query("SELECT ts, active_kwh FROM readings ORDER BY ts")
    again = _write(tmp_path / name, HOURS + pd.Timedelta(hours=moved), kwh, spelling)
    report = ingest_paths(lake, [again], workers=1)
    assert report.rows_read == report.rows_accepted + report.rows_rejected == len(HOURS)
    assert report.rows_rejected == len(HOURS)
    # the history did not move: the same readings at the same hours
    after = lake.query("SELECT ts, active_kwh FROM readings ORDER BY ts")
    pd.testing.assert_frame_equal(after, stored)
    q = lake.query("SELECT line, client_id, reason_code, reason, raw_line FROM quarantine")
    assert set(q["reason_code"]) == {"row.timestamp_shifted"} and len(q) == len(HOURS)
    assert set(q["client_id"]) == {"C7"}
    assert q["raw_line"].str.startswith("C7,").all()  # the file's own text, for each line
    assert f"{moved:+d} h" in q["reason"].iloc[0]
    assert any(name in e and "shifted" in e for e in report.rejected_examples)


def test_a_correction_of_some_hours_lands_as_corrections(tmp_path: Path) -> None:
    kwh = _values()
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [_write(tmp_path / "first.csv", HOURS, kwh, "%Y-%m-%d %H:%M")], workers=1)
    fixed = kwh.copy()
    fixed[100:160] = np.round(fixed[100:160] * 1.1, 3)  # a meter reading corrected
    report = ingest_paths(
        lake, [_write(tmp_path / "fix.csv", HOURS, fixed, "%Y-%m-%d %H:%M")], workers=1
    )
    assert report.rows_rejected == 0
    stored = lake.query("SELECT active_kwh FROM readings ORDER BY ts")["active_kwh"]
    assert np.allclose(stored.to_numpy(), fixed)


def _table(hours: pd.DatetimeIndex, kwh: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array(hours.to_numpy().astype("datetime64[s]"), pa.timestamp("s")),
            "active_kwh": pa.array(kwh, pa.float64()),
        }
    )


def test_what_is_not_a_shifted_copy() -> None:
    kwh = _values()
    old = _table(HOURS, kwh)
    # the next days, even when they repeat the stored days exactly (a meter's estimate)
    later = HOURS + pd.Timedelta(days=21)
    assert shifted_copy(old, _table(later, kwh)) is None
    # a flat reading matches at every offset: it tells nothing
    flat = np.full(len(HOURS), 1.5)
    assert shifted_copy(_table(HOURS, flat), _table(HOURS + pd.Timedelta(hours=5), flat)) is None
    # the same readings at their own hours: a repeat
    assert shifted_copy(old, _table(HOURS, kwh)) is None
    moved = shifted_copy(old, _table(HOURS + pd.Timedelta(hours=5), kwh))
    assert moved is not None and moved.hours == 5
