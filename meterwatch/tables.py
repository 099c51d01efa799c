"""The lake's tables: name, zone, schema and partition column.

Every table maps one-to-one onto a folder under the lake's curated zone locally and an
S3 prefix plus a Glue/Athena table in AWS. This module is the single source of truth
for column names and types; storage backends and the Glue catalogue are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    name: str
    schema: pa.Schema
    partition_by: str | None
    description: str

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


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

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (READINGS, CUSTOMERS, DATA_QUALITY, INGESTIONS, QUARANTINE)
}


def spec(name: str) -> TableSpec:
    """Return the spec of a table, with a clear error for an unknown name."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(
            f"unknown table {name!r}; known tables: {', '.join(sorted(TABLES))}"
        ) from None


def now_utc() -> pd.Timestamp:
    """The current time at the precision the tables store (milliseconds, UTC)."""
    return pd.Timestamp.now(tz="UTC").floor("ms")
