"""The lake's tables: name, zone, schema and partition column.

Every table maps one-to-one onto a folder under the lake's curated zone locally and an
S3 prefix plus a Glue/Athena table in AWS. This module is the single source of truth
for column names and types; storage backends and the Glue catalogue are built from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

TS = pa.timestamp("s")  # hour start, local time (America/Lima, UTC-5, no DST), naive


@dataclass(frozen=True)
class TableSpec:
    """A curated table.

    Attributes
    ----------
    name
        Table name, also the folder (local) or prefix (S3) and the Glue table name.
    schema
        Arrow schema of the stored columns.
    partition_by
        Column whose value selects a partition (one folder per value), or ``None``.
    description
        One line for the catalogue and the docs.
    time_column
        For a partitioned table, its hour or day column: a write that replaces a customer's
        rows from an hour on rewrites only the files that reach that hour.
    time_major
        Whether its files are sorted by time, then customer (the tables views across customers
        read for a period: a scan skips the row groups of other periods), instead of by
        customer, then time (a customer's read skips the other customers' row groups).
    """

    name: str
    schema: pa.Schema
    partition_by: str | None
    description: str
    time_column: str | None = None
    time_major: bool = False

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    @property
    def time(self) -> str:
        """The column a write or read "from an hour on" compares (``ts`` unless named)."""
        return self.time_column or "ts"

    @property
    def sort_columns(self) -> tuple[str, ...]:
        """The columns its data files are sorted by (a partitioned table's; see time_major)."""
        if self.partition_by is None:
            return ()
        keys = (self.time, self.partition_by) if self.time_major else (self.partition_by, self.time)
        return tuple(c for c in keys if c in self.schema.names)


READINGS = TableSpec(
    "readings",
    pa.schema(
        [
            ("client_id", pa.string()),
            ("ts", TS),
            ("active_kwh", pa.float64()),
            ("reactive_kvarh", pa.float64()),
            ("voltage_fa", pa.float64()),
            ("voltage_fc", pa.float64()),
            ("ingestion_id", pa.string()),
        ]
    ),
    "client_id",
    "Hourly readings, one row per customer and hour (upserted).",
    time_column="ts",
)

CUSTOMERS = TableSpec(
    "customers",
    pa.schema(
        [
            ("client_id", pa.string()),
            ("sector", pa.string()),
            ("first_ts", TS),
            ("last_ts", TS),
            ("n_readings", pa.int64()),
            ("series_hash", pa.string()),
            ("source_file", pa.string()),
            ("updated_at", pa.timestamp("ms", tz="UTC")),
        ]
    ),
    None,
    "One row per customer: sector, period covered, a fingerprint of its series.",
)

DATA_QUALITY = TableSpec(
    "data_quality",
    pa.schema(
        [
            ("finding_id", pa.string()),
            ("code", pa.string()),
            ("severity", pa.string()),
            ("client_id", pa.string()),
            ("period_start", TS),
            ("period_end", TS),
            ("n_hours", pa.int64()),
            ("message", pa.string()),
            ("params", pa.string()),
            ("scope", pa.string()),
            ("ingestion_id", pa.string()),
            ("source_file", pa.string()),
            ("detected_at", pa.timestamp("ms", tz="UTC")),
        ]
    ),
    "client_id",
    "Data-quality findings: a dotted code, the customer and period, a sentence.",
)

INGESTIONS = TableSpec(
    "ingestions",
    pa.schema(
        [
            ("ingestion_id", pa.string()),
            ("run_id", pa.string()),
            ("source_file", pa.string()),
            ("raw_key", pa.string()),
            ("sha256", pa.string()),
            ("layout", pa.string()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("rows_read", pa.int64()),
            ("rows_accepted", pa.int64()),
            ("rows_rejected", pa.int64()),
            ("rows_inserted", pa.int64()),
            ("rows_updated", pa.int64()),
            ("rows_unchanged", pa.int64()),
            ("clients", pa.int64()),
            ("started_at", pa.timestamp("ms", tz="UTC")),
            ("finished_at", pa.timestamp("ms", tz="UTC")),
        ]
    ),
    None,
    "One row per file per ingest run, with the count reconciliation.",
)

QUARANTINE = TableSpec(
    "quarantine",
    pa.schema(
        [
            ("ingestion_id", pa.string()),
            ("source_file", pa.string()),
            ("line", pa.int64()),
            ("client_id", pa.string()),
            ("reason_code", pa.string()),
            ("reason", pa.string()),
            ("raw_line", pa.string()),
        ]
    ),
    None,
    "Every rejected input row, with its file, line and reason.",
)

UTC_MS = pa.timestamp("ms", tz="UTC")

MODELS = TableSpec(
    "models",
    pa.schema(
        [
            ("client_id", pa.string()),
            ("model_version", pa.string()),
            ("format_version", pa.int32()),
            ("kind", pa.string()),  # xgboost | sector_profile | ...
            ("artifact_key", pa.string()),  # object key in the lake's model store
            ("trained_at", UTC_MS),
            ("trained_from", TS),
            ("trained_until", TS),  # last hour the model saw
            ("n_train", pa.int64()),
            ("mape", pa.float64()),  # hourly, on a held-out tail of the training data
            ("mae", pa.float64()),
            ("coverage", pa.float64()),  # share of held-out hours inside the band
            ("params", pa.string()),  # JSON: hyperparameters, band quantiles, ...
        ]
    ),
    None,
    "One row per customer: its current model, the last hour it saw, its fit metrics.",
)

SCORES = TableSpec(
    "scores",
    pa.schema(
        [
            ("client_id", pa.string()),
            ("ts", TS),
            ("active_kwh", pa.float64()),
            ("expected_kwh", pa.float64()),
            ("lower_kwh", pa.float64()),
            ("upper_kwh", pa.float64()),
            ("score", pa.float64()),  # higher is more suspicious
            ("is_anomaly", pa.int8()),
            ("detectors", pa.string()),  # comma-separated detector names that fired
            ("model_version", pa.string()),
            ("scored_at", UTC_MS),
        ]
    ),
    "client_id",
    "One row per scored customer-hour: reported, expected, band, score, flags.",
    time_column="ts",
)

ALERTS = TableSpec(
    "alerts",
    pa.schema(
        [
            ("alert_id", pa.string()),
            ("client_id", pa.string()),
            ("sector", pa.string()),
            ("kind", pa.string()),  # vocabulary in meterwatch.detect (documented)
            ("window_start", TS),
            ("window_end", TS),
            ("anomaly_rate", pa.float64()),
            ("lost_kwh_estimate", pa.float64()),
            ("severity", pa.string()),  # high | medium | low
            ("status", pa.string()),  # open | closed (event over); inspection lives in feedback
            # JSON list of catalog codes (meterwatch.alerts.render), written in the reader's
            # language on read; alerts raised before 2026-12 stored a sentence here
            ("evidence", pa.string()),
            ("created_at", UTC_MS),
            ("updated_at", UTC_MS),
            ("rank", pa.int64()),  # 1 = the visit worth most
            ("n_hours", pa.int64()),
            ("confidence", pa.float64()),
            ("params", pa.string()),  # JSON: the figures behind the evidence
        ]
    ),
    None,
    "One row per loss event, ranked by estimated lost energy and severity.",
)

FEEDBACK = TableSpec(
    "feedback",
    pa.schema(
        [
            ("feedback_id", pa.string()),
            ("alert_id", pa.string()),
            ("client_id", pa.string()),
            # under_inspection | confirmed_loss | false_alarm | meter_fault
            ("status", pa.string()),
            ("note", pa.string()),
            ("author", pa.string()),
            ("created_at", UTC_MS),
        ]
    ),
    None,
    "Inspection feedback on alerts, append-only (history kept, nothing overwritten).",
)

#: Hour-of-day energy columns of ``daily`` (``h00`` .. ``h23``).
HOUR_COLUMNS = tuple(f"h{h:02d}" for h in range(24))

DAILY = TableSpec(
    "daily",
    pa.schema(
        [
            ("client_id", pa.string()),
            ("day", TS),  # midnight, local time
            ("hours", pa.int64()),  # readings that day
            ("active_kwh", pa.float64()),
            ("reactive_kvarh", pa.float64()),
            ("voltage_fa", pa.float64()),  # mean of the day's readings
            ("voltage_fc", pa.float64()),
            *((h, pa.float64()) for h in HOUR_COLUMNS),  # active energy per hour of day
        ]
    ),
    "client_id",
    "Readings summed per customer and day (one column per hour of day), written by ingest;"
    " the dashboard's views read it so a scan is bounded by the view, not by the history.",
    time_column="day",
    time_major=True,
)

MONTHLY = TableSpec(
    "monthly",
    pa.schema(
        [
            ("client_id", pa.string()),
            ("month", TS),  # first day of the month, midnight, local time
            ("days", pa.int64()),  # days with readings
            ("hours", pa.int64()),
            ("active_kwh", pa.float64()),
            ("reactive_kvarh", pa.float64()),
            *((h, pa.float64()) for h in HOUR_COLUMNS),
        ]
    ),
    "client_id",
    "The daily table summed per customer and month, written with it: energy per customer over"
    " a long period reads one row per customer and whole month, not one per day.",
    time_column="month",
    time_major=True,
)

FLEET_DAILY = TableSpec(
    "fleet_daily",
    pa.schema(
        [
            ("sector", pa.string()),  # "" for customers without a sector
            ("day", TS),  # midnight, local time
            ("customers", pa.int64()),  # customers with readings that day
            ("hours", pa.int64()),
            ("active_kwh", pa.float64()),
            ("reactive_kvarh", pa.float64()),
            *((h, pa.float64()) for h in HOUR_COLUMNS),
        ]
    ),
    None,
    "The daily table summed per sector and day, kept by ingest in the same commit: views of"
    " the whole fleet or a sector read sectors x days rows, whatever the number of customers.",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        READINGS,
        CUSTOMERS,
        DATA_QUALITY,
        INGESTIONS,
        QUARANTINE,
        MODELS,
        SCORES,
        ALERTS,
        FEEDBACK,
        DAILY,
        MONTHLY,
        FLEET_DAILY,
    )
}


def spec(name: str) -> TableSpec:
    """Return the spec of a table, with a clear error for an unknown name."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(
            f"unknown table {name!r}; known tables: {', '.join(sorted(TABLES))}"
        ) from None


def stored_params(value: Any) -> dict[str, Any]:
    """The ``params`` column of a row (a JSON object, as ``alerts``, ``data_quality`` and
    ``models`` store it) as a fresh dict: empty for a missing, unreadable or non-object value."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str) and value:
        try:
            out = json.loads(value)
        except ValueError:
            return {}
        return out if isinstance(out, dict) else {}
    return {}


def watched(params: pd.Series) -> pd.Series:
    """Per stored alert (its ``params`` column), whether it is only watched (kept with the
    reason in ``params.watch``, ranked after every raised alert, not e-mailed)."""
    return params.map(lambda p: bool(stored_params(p).get("watch"))).astype(bool)


def now_utc() -> pd.Timestamp:
    """The current time at the precision the tables store (milliseconds, UTC)."""
    return pd.Timestamp.now(tz="UTC").floor("ms")


class GatheredTables(MutableMapping[str, pa.Table]):
    """A dict of small Arrow tables by key (a customer's rows of one table), held gathered.

    Every ``gather`` tables set are concatenated into one table and each key is kept as a range
    of it: Arrow's objects and buffers cost ~30 KB a table, far more than a customer's day of a
    30-column table, and an ingest of 10,000 customers keeps two such tables per customer until
    its commit. Reads return the same rows (a zero-copy slice); the order is a dict's.
    """

    def __init__(self, gather: int = 256) -> None:
        self._gather = gather
        self._held: dict[str, pa.Table | tuple[pa.Table, int, int]] = {}
        self._loose: list[tuple[str, pa.Table]] = []  # set since the last gathering

    def __setitem__(self, key: str, value: pa.Table) -> None:
        self._held[key] = value
        self._loose.append((key, value))
        if len(self._loose) >= self._gather:
            self._gather_loose()

    def _gather_loose(self) -> None:
        live: list[tuple[str, pa.Table]] = []
        for key, table in self._loose:
            if self._held.get(key) is table:  # not set again since
                live.append((key, table))
        self._loose = []
        if len(live) < 2 or any(not t.schema.equals(live[0][1].schema) for _, t in live):
            return
        gathered = pa.concat_tables([t for _, t in live]).combine_chunks()
        offset = 0
        for key, table in live:
            self._held[key] = (gathered, offset, table.num_rows)
            offset += table.num_rows

    def __getitem__(self, key: str) -> pa.Table:
        held = self._held[key]
        if isinstance(held, pa.Table):
            return held
        table, offset, length = held
        return table.slice(offset, length)

    def __delitem__(self, key: str) -> None:
        del self._held[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)
