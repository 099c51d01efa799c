"""The ``daily`` table: each customer's readings summed per day, written with the readings.

Views across many customers (energy per customer, the fleet's series, hour profile and load
map) read these rows instead of the hourly readings: a period of N days reads N rows per
customer, 24 times fewer than the readings, and never the whole history. A day keeps one
energy column per hour of day, so an hour-of-day filter needs no hourly row either.

Ingest computes a customer's rows from the readings it has just merged, in the same
transaction, so ``daily`` and ``readings`` never disagree; a lake written before this table
existed gets the rows of its other customers at its next ingest (:func:`missing_customers`).

Views of the whole fleet or of a sector read one level up, ``fleet_daily`` (sector x day,
:func:`update_fleet`): at 264,000 customers a day of the fleet is a few rows, not 264,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from meterwatch.storage.base import Lake, Transaction
from meterwatch.tables import DAILY, FLEET_DAILY, HOUR_COLUMNS, MONTHLY, TableSpec

DAY_SECONDS = 86_400


def daily_rows(client_id: str, readings: pa.Table | pd.DataFrame) -> pa.Table:
    """One row per day with readings of ``client_id`` (the schema of :data:`~meterwatch.tables.DAILY`).

    ``readings`` holds the customer's hourly rows (``ts``, ``active_kwh``, ``reactive_kvarh``,
    ``voltage_fa``, ``voltage_fc``). Energy sums leave missing values out; a voltage is the
    mean of the day's readings that have one. An Arrow table is read column by column (its
    text columns are never converted: ingest calls this for every customer it touches).
    """
    return _daily_table(client_id, _day_columns(readings))


def daily_and_monthly(client_id: str, readings: pa.Table) -> tuple[pa.Table, pa.Table]:
    """:func:`daily_rows` and the :func:`monthly_rows` of those days, from one pass over the
    readings' columns (ingest's path: the months are summed from the day arrays, not read
    back from the daily table). ``readings`` starts on the first of its first month."""
    days = _day_columns(readings)
    return _daily_table(client_id, days), _monthly_table(client_id, days)


def _zeroed(values: np.ndarray) -> np.ndarray:
    """``values`` with missing ones as 0 (``np.nan_to_num`` for the finite values readings
    hold, without its infinity handling)."""
    out = np.array(values, dtype=float, copy=True)
    out[np.isnan(out)] = 0.0
    return out


def _day_columns(readings: pa.Table | pd.DataFrame) -> dict[str, np.ndarray]:
    """The DAILY columns but the customer id, as arrays (``day`` as int64 seconds)."""
    empty = readings.num_rows == 0 if isinstance(readings, pa.Table) else readings.empty
    if empty:
        return {}
    seconds = _seconds(readings)
    day_index = seconds // DAY_SECONDS
    days, inverse = np.unique(day_index, return_inverse=True)
    inverse = inverse.reshape(-1)
    hours_of_day = (seconds % DAY_SECONDS) // 3600
    n = len(days)
    active = _floats(readings, "active_kwh")
    cell = inverse * 24 + hours_of_day
    by_hour = np.bincount(cell, weights=_zeroed(active), minlength=n * 24).reshape(n, 24)

    def day_sum(values: np.ndarray) -> np.ndarray:  # missing values left out
        return np.bincount(inverse, weights=_zeroed(values), minlength=n)

    def day_mean(values: np.ndarray) -> np.ndarray:  # of the readings that have one
        known = ~np.isnan(values)
        total = np.bincount(inverse, weights=np.where(known, values, 0.0), minlength=n)
        count = np.bincount(inverse, weights=known.astype(float), minlength=n)
        return np.divide(total, count, out=np.full(n, np.nan), where=count > 0)

    columns: dict[str, np.ndarray] = {
        "day": days * DAY_SECONDS,
        "hours": np.bincount(inverse, minlength=n).astype("int64"),
        "active_kwh": by_hour.sum(axis=1),
        "reactive_kvarh": day_sum(_floats(readings, "reactive_kvarh")),
        "voltage_fa": day_mean(_floats(readings, "voltage_fa")),
        "voltage_fc": day_mean(_floats(readings, "voltage_fc")),
    }
    columns.update({name: by_hour[:, h] for h, name in enumerate(HOUR_COLUMNS)})
    return columns


def _daily_table(client_id: str, columns: Mapping[str, np.ndarray]) -> pa.Table:
    if not columns:
        return DAILY.schema.empty_table()
    n = len(columns["day"])
    return pa.table(
        {
            "client_id": pa.array([client_id] * n, pa.string()),
            **columns,
            "day": columns["day"].astype("datetime64[s]"),
        },
        schema=DAILY.schema,
    )


def month_start(day: pd.Timestamp) -> pd.Timestamp:
    """Midnight of the first day of ``day``'s month."""
    return pd.Timestamp(day).normalize().replace(day=1)


def monthly_rows(client_id: str, days: pa.Table) -> pa.Table:
    """One row per month of ``client_id``'s ``daily`` rows ``days`` (MONTHLY's schema): its
    sums, and the days with readings. Only whole months give whole sums: ``days`` starts on
    the first of its first month (ingest gives it so)."""
    if days.num_rows == 0:
        return MONTHLY.schema.empty_table()
    day = days.column("day").to_numpy(zero_copy_only=False).astype("datetime64[s]")
    sums = ("hours", "active_kwh", "reactive_kvarh", *HOUR_COLUMNS)
    columns = {"day": day.astype(np.int64), **{name: _floats(days, name) for name in sums}}
    return _monthly_table(client_id, columns)


def _monthly_table(client_id: str, days: Mapping[str, np.ndarray]) -> pa.Table:
    """MONTHLY rows from day columns (``day`` as int64 seconds; the sums as numbers)."""
    if not days or not len(days["day"]):
        return MONTHLY.schema.empty_table()
    month = days["day"].astype("datetime64[s]").astype("datetime64[D]").astype("datetime64[M]")
    months, inverse = np.unique(month, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = len(months)

    def total(name: str) -> np.ndarray:  # bincount: the days added in order (reproducible sums)
        return np.bincount(inverse, weights=np.asarray(days[name], dtype=float), minlength=n)

    columns: dict[str, object] = {
        "client_id": pa.array([client_id] * n, pa.string()),
        "month": months.astype("datetime64[s]"),
        "days": np.bincount(inverse, minlength=n).astype("int64"),
        "hours": total("hours").round().astype("int64"),
        "active_kwh": total("active_kwh"),
        "reactive_kvarh": total("reactive_kvarh"),
    }
    columns.update({name: total(name) for name in HOUR_COLUMNS})
    return pa.table(columns, schema=MONTHLY.schema)


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
    tx: Transaction, rows: Mapping[str, pa.Table], since: Mapping[str, pd.Timestamp] | None = None
) -> None:
    """Replace the ``daily`` rows of the customers in ``rows`` (one table each): from the day
    in ``since`` on where it names the customer (its rows start there), else all of them."""
    _replace_rows(tx, DAILY, rows, since)


def write_monthly(
    tx: Transaction, rows: Mapping[str, pa.Table], since: Mapping[str, pd.Timestamp] | None = None
) -> None:
    """Replace the ``monthly`` rows of the customers in ``rows`` from the month in ``since``
    on (all of them where it does not name the customer)."""
    _replace_rows(tx, MONTHLY, rows, since)


def _replace_rows(
    tx: Transaction,
    spec: TableSpec,
    rows: Mapping[str, pa.Table],
    since: Mapping[str, pd.Timestamp] | None,
) -> None:
    if not rows:
        return
    since = since or {}
    tables = [t for t in rows.values() if t.num_rows]
    table = pa.concat_tables(tables) if tables else spec.schema.empty_table()
    tx.replace_since(spec.name, table, {c: since.get(c) for c in sorted(rows)})


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
    return known(lake, COMPLETE_KEY)


def mark_complete(lake: Lake) -> None:
    """Record, after the commit that made it true, that ``daily`` covers every customer."""
    lake.put_object(COMPLETE_KEY, b"every customer with readings has daily rows\n")


# --- fleet_daily: the daily table summed per sector and day --------------------------------------

#: The columns of ``fleet_daily`` that are sums of ``daily`` columns.
FLEET_SUMS = ("hours", "active_kwh", "reactive_kvarh", *HOUR_COLUMNS)
# Written once ``fleet_daily`` was built from every customer's daily rows (a new lake's first
# ingest, or the first ingest of a lake from before the table): later ingests add differences.
FLEET_COMPLETE_KEY = "state/fleet-daily-complete"
# Likewise for ``monthly``: written once every customer's months were.
MONTHLY_COMPLETE_KEY = "state/monthly-complete"
# customers read at a time when a table is built from the whole daily table
REBUILD_CHUNK = 2_000
FRESH_CHUNK = 200  # customers whose rows are all this ingest's, converted at a time


def sector_name(value: object) -> str:
    """A customer's sector as ``fleet_daily`` keys it: ``""`` for none (None or NaN)."""
    return value if isinstance(value, str) else ""


def fleet_sums(rows: pd.DataFrame, sector_of: Mapping[str, str | None]) -> pd.DataFrame:
    """``daily`` rows summed per sector (``""`` for none) and day, with the customers counted.

    A ``sign`` column, where present, weighs each row (-1 takes a row out of the sums).
    """
    if rows.empty:
        return FLEET_DAILY.schema.empty_table().to_pandas()
    sign = rows["sign"].to_numpy(dtype=float) if "sign" in rows else np.ones(len(rows))
    names = {str(c): sector_name(v) for c, v in sector_of.items()}
    sector = rows["client_id"].astype(str).map(names).fillna("")
    work = pd.DataFrame(
        {
            "sector": sector.to_numpy(dtype=object),
            "day": pd.to_datetime(rows["day"]).to_numpy(dtype="datetime64[s]"),
            "customers": sign,
            **{c: np.nan_to_num(rows[c].to_numpy(dtype=float)) * sign for c in FLEET_SUMS},
        }
    )
    return work.groupby(["sector", "day"], as_index=False, sort=True).sum()


def _typed_fleet(frame: pd.DataFrame) -> pa.Table:
    """Summed rows as ``fleet_daily`` stores them: customer-days left, counts as integers."""
    frame = frame[frame["customers"].round() > 0].reset_index(drop=True)
    out = frame.assign(
        customers=frame["customers"].round().astype("int64"),
        hours=frame["hours"].round().astype("int64"),
        day=pd.to_datetime(frame["day"]).astype("datetime64[s]"),
    )
    return pa.Table.from_pandas(out[FLEET_DAILY.columns], schema=FLEET_DAILY.schema,
                                preserve_index=False)  # fmt: skip


def update_fleet(
    tx: Transaction,
    lake: Lake,
    rows: Mapping[str, pa.Table],
    since: Mapping[str, pd.Timestamp],
    sector_before: Mapping[str, str | None],
    sector_after: Mapping[str, str | None],
) -> bool:
    """Bring ``fleet_daily`` up to the ``daily`` rows an ingest writes, in its transaction;
    whether it was built whole (then :func:`mark_fleet_complete` after the commit).

    ``rows`` and ``since`` are what :func:`write_daily` is given (each customer's new rows from
    its day in ``since``, all of them where it has none); ``sector_before`` and
    ``sector_after`` the customers' sectors at the last commit and after this ingest. The
    sums change by the new rows less the rows they replace (read from the last commit, from
    the same day on): a daily ingest reads one day per customer, never the history. A
    customer whose sector changed moves its whole history from one sector's sums to the
    other's. Until a first ingest has built the table from every customer (a lake from before
    it), it is built whole (:func:`_rebuild_fleet`).
    """
    if not known(lake, FLEET_COMPLETE_KEY):
        _rebuild_fleet(tx, lake, rows, since, sector_after)
        return True
    moved = {
        c for c in sector_after if sector_name(sector_before.get(c)) != sector_name(sector_after[c])
    }
    clients = sorted(set(rows) | moved)
    if not clients:
        return False
    # (customers without stored rows read as none: no listing of the table's customers)
    old = lake.read_since("daily", {c: None if c in moved else since.get(c) for c in clients})
    parts = [old.assign(sign=-1.0)] if not old.empty else []
    new = [rows[c] for c in clients if c in rows and rows[c].num_rows]
    if new:  # one conversion for every customer (a day's ingest touches them all)
        parts.append(pa.concat_tables(new).to_pandas().assign(sign=1.0))
    for client in sorted(moved):  # their days before this ingest's rows move too
        if old.empty:
            break
        kept = old[old["client_id"] == client]
        start = since.get(client) if client in rows else None
        if client not in rows:
            parts.append(kept.assign(sign=1.0))
        elif start is not None:
            parts.append(kept[pd.to_datetime(kept["day"]) < start].assign(sign=1.0))
    if not parts:
        return False
    changes = pd.concat(parts, ignore_index=True)
    removed = fleet_sums(changes[changes["sign"] < 0], sector_before)  # negative sums
    added = fleet_sums(changes[changes["sign"] > 0], sector_after)
    current = tx.read("fleet_daily").to_pandas()
    frames = [f for f in (current, removed, added) if not f.empty]
    total = pd.concat(frames, ignore_index=True).groupby(["sector", "day"], as_index=False).sum()
    tx.overwrite("fleet_daily", _typed_fleet(total))
    return False


def _rebuild_fleet(
    tx: Transaction,
    lake: Lake,
    rows: Mapping[str, pa.Table],
    since: Mapping[str, pd.Timestamp],
    sector_of: Mapping[str, str | None],
) -> None:
    """``fleet_daily`` from every customer's daily rows as this ingest leaves them."""
    sums = [fleet_sums(chunk, sector_of) for chunk in final_daily(lake, rows, since)]
    total = (
        pd.concat(sums, ignore_index=True).groupby(["sector", "day"], as_index=False).sum()
        if sums
        else FLEET_DAILY.schema.empty_table().to_pandas()
    )
    tx.overwrite("fleet_daily", _typed_fleet(total))


def final_daily(
    lake: Lake,
    rows: Mapping[str, pa.Table],
    since: Mapping[str, pd.Timestamp],
    *,
    stored_only: bool = False,
) -> Iterator[pd.DataFrame]:
    """Every customer's ``daily`` rows as an ingest leaves them (the stored ones, those from
    each customer's day in ``since`` replaced by its ``rows``), ``REBUILD_CHUNK`` customers at
    a time: what a table built from the whole daily table is built from, in bounded memory.
    ``stored_only``: only the customers with stored rows (the others' rows are all new)."""
    stored = {c for c in lake.partitions("daily") if c is not None}
    clients = sorted(stored if stored_only else stored | set(rows))
    # customers with stored rows a chunk at a time (each chunk is one read of the table); the
    # others' rows are all in memory already, converted a smaller chunk at a time (a first
    # ingest of 1,000 customers x 730 days converted them at once: +600 MB at its peak)
    kept = [c for c in clients if c in stored]
    fresh = [c for c in clients if c not in stored]
    chunks = [kept[k : k + REBUILD_CHUNK] for k in range(0, len(kept), REBUILD_CHUNK)]
    chunks += [fresh[k : k + FRESH_CHUNK] for k in range(0, len(fresh), FRESH_CHUNK)]
    for chunk in chunks:
        on_disk = [c for c in chunk if c in stored]
        old = lake.read("daily", partitions=on_disk) if on_disk else pd.DataFrame()
        parts = []
        if not old.empty:
            day = pd.to_datetime(old["day"])
            replaced = np.zeros(len(old), dtype=bool)
            for client in set(chunk) & set(rows):
                start = since.get(client)
                mine = (old["client_id"] == client).to_numpy()
                replaced |= mine if start is None else mine & (day >= start).to_numpy()
            parts.append(old[~replaced])
        new = [rows[c] for c in chunk if c in rows and rows[c].num_rows]
        if new:
            parts.append(pa.concat_tables(new).to_pandas())
        parts = [p for p in parts if not p.empty]
        if parts:
            yield pd.concat(parts, ignore_index=True)


def update_monthly(
    tx: Transaction,
    lake: Lake,
    rows: Mapping[str, pa.Table],
    months: Mapping[str, pa.Table],
    since: Mapping[str, pd.Timestamp],
    month_since: Mapping[str, pd.Timestamp],
) -> bool:
    """Write an ingest's ``monthly`` rows (``months``: each customer's from the month in
    ``month_since``), or, until a first ingest has (a lake from before the table), every
    customer's months from its whole daily rows as this ingest leaves them (``rows`` and
    ``since`` as given to :func:`write_daily`); whether it wrote every customer's months
    (then :func:`mark_monthly_complete` after the commit)."""
    # a customer whose daily rows are written whole (a backfill) gets its months whole
    whole = {c: monthly_rows(c, t) for c, t in rows.items() if c not in months}
    if known(lake, MONTHLY_COMPLETE_KEY):
        write_monthly(tx, {**dict(months), **whole}, month_since)
        return False
    # A lake from before the table: the customers with stored daily rows get every month from
    # them (and this ingest's rows); a customer new to the lake has all its months in ``months``.
    rebuilt: dict[str, pa.Table] = {}
    done: set[str] = set()
    for chunk in final_daily(lake, rows, since, stored_only=True):
        tables = [
            monthly_rows(str(client), pa.Table.from_pandas(group, preserve_index=False))
            for client, group in chunk.sort_values(["client_id", "day"]).groupby(
                "client_id", sort=False
            )
        ]
        rebuilt.update({str(t.column("client_id")[0]): t for t in tables if t.num_rows})
        done |= set(rebuilt)
        if len(rebuilt) >= REBUILD_CHUNK:
            write_monthly(tx, rebuilt)
            rebuilt = {}
    write_monthly(tx, rebuilt)
    fresh = {c: t for c, t in {**dict(months), **whole}.items() if c not in done}
    write_monthly(tx, fresh, month_since)
    return True


def mark_monthly_complete(lake: Lake) -> None:
    """Record, after the commit that wrote them, that ``monthly`` has every customer's months."""
    lake.put_object(MONTHLY_COMPLETE_KEY, b"monthly has every customer's months\n")


def mark_fleet_complete(lake: Lake) -> None:
    """Record, after the commit that built it, that ``fleet_daily`` sums every customer."""
    lake.put_object(FLEET_COMPLETE_KEY, b"fleet_daily sums every customer's daily rows\n")


def known(lake: Lake, key: str) -> bool:
    """Whether the marker object ``key`` was written (after the commit that made it true)."""
    try:
        lake.get_object(key)
    except KeyError:
        return False
    return True
