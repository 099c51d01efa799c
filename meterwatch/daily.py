"""The ``daily`` table: each customer's readings summed per day, written with the readings.

Views across many customers (energy per customer, the fleet's series, hour profile and load
map) read these rows instead of the hourly readings: a period of N days reads N rows per
customer, 24 times fewer than the readings, and never the whole history. A day keeps one
energy column per hour of day, so an hour-of-day filter needs no hourly row either.

Ingest computes a customer's rows from the readings it has just merged, in the same
transaction, so ``daily`` and ``readings`` never disagree; a lake written before this table
existed gets the rows of its other customers at its next ingest (:func:`missing_customers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from meterwatch.storage.base import Lake, Transaction
from meterwatch.tables import DAILY, HOUR_COLUMNS

DAY_SECONDS = 86_400


def daily_rows(client_id: str, readings: pa.Table | pd.DataFrame) -> pa.Table:
    """One row per day with readings of ``client_id`` (the schema of :data:`~meterwatch.tables.DAILY`).

    ``readings`` holds the customer's hourly rows (``ts``, ``active_kwh``, ``reactive_kvarh``,
    ``voltage_fa``, ``voltage_fc``). Energy sums leave missing values out; a voltage is the
    mean of the day's readings that have one. An Arrow table is read column by column (its
    text columns are never converted: ingest calls this for every customer it touches).
    """
    empty = readings.num_rows == 0 if isinstance(readings, pa.Table) else readings.empty
    if empty:
        return DAILY.schema.empty_table()
    seconds = _seconds(readings)
    day_index = seconds // DAY_SECONDS
    days, inverse = np.unique(day_index, return_inverse=True)
    inverse = inverse.reshape(-1)
    hours_of_day = (seconds % DAY_SECONDS) // 3600
    n = len(days)
    active = _floats(readings, "active_kwh")
    cell = inverse * 24 + hours_of_day
    by_hour = np.bincount(cell, weights=np.nan_to_num(active), minlength=n * 24).reshape(n, 24)

    def day_sum(values: np.ndarray) -> np.ndarray:  # missing values left out
        return np.bincount(inverse, weights=np.nan_to_num(values), minlength=n)

    def day_mean(values: np.ndarray) -> np.ndarray:  # of the readings that have one
        known = ~np.isnan(values)
        total = np.bincount(inverse, weights=np.where(known, values, 0.0), minlength=n)
        count = np.bincount(inverse, weights=known.astype(float), minlength=n)
        return np.divide(total, count, out=np.full(n, np.nan), where=count > 0)

    columns: dict[str, object] = {
        "client_id": pa.array([client_id] * n, pa.string()),
        "day": (days * DAY_SECONDS).astype("datetime64[s]"),
        "hours": np.bincount(inverse, minlength=n).astype("int64"),
        "active_kwh": by_hour.sum(axis=1),
        "reactive_kvarh": day_sum(_floats(readings, "reactive_kvarh")),
        "voltage_fa": day_mean(_floats(readings, "voltage_fa")),
        "voltage_fc": day_mean(_floats(readings, "voltage_fc")),
    }
    columns.update({name: by_hour[:, h] for h, name in enumerate(HOUR_COLUMNS)})
    return pa.table(columns, schema=DAILY.schema)


def _seconds(readings: pa.Table | pd.DataFrame) -> np.ndarray:
    """The hour starts as whole seconds since the epoch (wall clock)."""
    if isinstance(readings, pd.DataFrame):
        ts = pd.to_datetime(readings["ts"]).to_numpy(dtype="datetime64[s]")
        return np.asarray(ts.astype(np.int64))
    ts = readings.column("ts")
    raw = ts.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[ts.type.unit]
    return raw // per_second


def _floats(readings: pa.Table | pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as floats, missing values as NaN."""
    if isinstance(readings, pd.DataFrame):
        return np.asarray(pd.to_numeric(readings[name]).to_numpy(dtype=float))
    column = readings.column(name)
    if not pa.types.is_floating(column.type):
        column = column.cast(pa.float64())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)


def write_daily(
    tx: Transaction, rows: dict[str, pa.Table], since: Mapping[str, pd.Timestamp] | None = None
) -> None:
    """Replace the ``daily`` rows of the customers in ``rows`` (one table each): from the day
    in ``since`` on where it names the customer (its rows start there), else all of them."""
    if not rows:
        return
    since = since or {}
    tables = [t for t in rows.values() if t.num_rows]
    table = pa.concat_tables(tables) if tables else DAILY.schema.empty_table()
    tx.replace_since("daily", table, {c: since.get(c) for c in sorted(rows)})


def missing_customers(readings: Iterable[str | None], daily: Iterable[str | None]) -> list[str]:
    """Customers with readings but no ``daily`` rows (a lake written before the table)."""
    have = {c for c in daily if c is not None}
    return sorted(c for c in readings if c is not None and c not in have)


# An object in the lake's store, written once every customer with readings had daily rows: from
# then on each ingest writes the daily rows of the customers it changes, and the check (a listing
# of both tables' customers: on Iceberg, every data file's customer column) is not made again.
COMPLETE_KEY = "state/daily-complete"


def known_complete(lake: Lake) -> bool:
    """Whether an earlier ingest found every customer with readings in the ``daily`` table."""
    try:
        lake.get_object(COMPLETE_KEY)
    except KeyError:
        return False
    return True


def mark_complete(lake: Lake) -> None:
    """Record, after the commit that made it true, that ``daily`` covers every customer."""
    lake.put_object(COMPLETE_KEY, b"every customer with readings has daily rows\n")
