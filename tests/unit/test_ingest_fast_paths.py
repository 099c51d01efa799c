"""Ingest's fast paths give what the general paths give (issue 13: ingest against a bare read)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from meterwatch import daily
from meterwatch.ingest.pipeline import _merge
from meterwatch.ingest.reader import _distinct_hours
from meterwatch.storage.iceberg_tables import materialize, materialize_all
from meterwatch.tables import READINGS


def _same(a: pa.Table, b: pa.Table) -> bool:
    """Equal schemas and values to the bit, NaN equal to NaN (Arrow's ``equals`` is not)."""
    assert a.schema.equals(b.schema)
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), check_exact=True)
    return True


def _readings(hours: int, start: str = "2023-01-30", seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=hours, freq="h")
    active = rng.gamma(2.0, 1.5, hours)
    active[rng.random(hours) < 0.05] = np.nan  # missing energy is left out of the sums
    volts = rng.normal(230, 3, hours)
    volts[rng.random(hours) < 0.1] = np.nan
    return pa.table(
        {
            "client_id": ["Cliente 7"] * hours,
            "ts": pa.array(ts.to_numpy(dtype="datetime64[s]"), pa.timestamp("s")),
            "active_kwh": active,
            "reactive_kvarh": rng.gamma(2.0, 0.5, hours),
            "voltage_fa": volts,
            "voltage_fc": rng.normal(231, 3, hours),
        }
    )


def test_daily_and_monthly_equal_the_daily_rows_and_their_months() -> None:
    # from the first of a month, over two month boundaries and a gap of two days
    first = _readings(24 * 40, start="2023-01-01")
    later = _readings(24 * 30, start="2023-02-12", seed=1)
    readings = pa.concat_tables([first, later])
    days, months = daily.daily_and_monthly("Cliente 7", readings)
    expected_days = daily.daily_rows("Cliente 7", readings)
    assert _same(days, expected_days)
    assert _same(months, daily.monthly_rows("Cliente 7", expected_days))  # to the bit
    assert months.num_rows == 3 and months.column("days").to_pylist() == [31, 26, 13]
    assert months.column("active_kwh").to_numpy().sum() == pytest.approx(
        np.nansum(readings.column("active_kwh").to_numpy(zero_copy_only=False))
    )
    empty_days, empty_months = daily.daily_and_monthly("Cliente 7", readings.slice(0, 0))
    assert empty_days.num_rows == 0 and empty_months.num_rows == 0


def test_distinct_hours_screens_repeats_per_customer() -> None:
    one = np.zeros(3, dtype=np.int8)  # a file of one customer (the ElectroDunas layout)
    assert _distinct_hours(one, np.array([0, 3600, 7200], dtype=np.int64))
    assert not _distinct_hours(one, np.array([0, 3600, 0], dtype=np.int64))
    # the same hour for two customers is no repeat; twice for one customer is
    both = np.array(["A", "B", "A"], dtype=object)
    assert _distinct_hours(both, np.array([0, 0, 3600], dtype=np.int64))
    assert not _distinct_hours(both, np.array([0, 0, 0], dtype=np.int64))
    assert _distinct_hours(one[:1], np.array([5], dtype=np.int64))


def _with_line(table: pa.Table) -> pa.Table:
    return table.append_column("line", pa.array(np.arange(table.num_rows) + 2, pa.int64()))


def test_merge_into_an_empty_history_is_the_general_merge() -> None:
    schema = READINGS.schema
    new = _with_line(_readings(48).drop_columns([]))
    shuffled = new.take(pa.array(np.random.default_rng(3).permutation(48)))
    stored = _readings(1).append_column("ingestion_id", pa.array(["x"], pa.string()))
    stored = stored.cast(schema).slice(0, 0)
    for rows in (new, shuffled):
        merged, inserted, updated, unchanged, first, corrected = _merge(stored, rows, "run-1")
        assert merged is not None and (inserted, updated, unchanged) == (48, 0, 0)
        assert merged.schema.equals(schema)
        assert merged.column("ts").to_pylist() == sorted(new.column("ts").to_pylist())
        assert set(merged.column("ingestion_id").to_pylist()) == {"run-1"}
        assert first == new.column("ts").cast(pa.int64()).to_numpy().min()
        assert corrected == {}  # nothing was stored before: nothing corrected or late
    # a history holding one other hour takes the general path: the same rows, in order
    one = _readings(1, start="2023-01-01").append_column("ingestion_id", pa.array(["old"]))
    merged, inserted, *_ = _merge(one.cast(schema), new, "run-2")
    assert merged is not None and inserted == 48 and merged.num_rows == 49
    assert merged.column("ingestion_id").to_pylist() == ["old"] + ["run-2"] * 48


def test_materialize_all_casts_pieces_together_as_one_by_one() -> None:
    schema = READINGS.schema
    base = _readings(30).append_column("ingestion_id", pa.array(["i"] * 30)).cast(schema)
    # pieces held dictionary-encoded (as a transaction holds them), each its own dictionary
    pieces = []
    for k in range(3):
        part = base.slice(10 * k, 10)
        cols = [
            pa.compute.dictionary_encode(c) if pa.types.is_string(c.type) else c
            for c in part.columns
        ]
        pieces.append(pa.table(cols, names=part.column_names))
    together = materialize_all(pieces, schema)
    assert _same(together, pa.concat_tables([materialize(p, schema) for p in pieces]))
    assert _same(together, base)
    # pieces of different schemas fall back to one by one
    mixed = [pieces[0], base.slice(10, 20)]
    assert _same(materialize_all(mixed, schema), base)
