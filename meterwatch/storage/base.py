"""The storage interface every backend implements.

Domain code receives a :class:`Lake` and never decides where it runs. A lake has three
zones that map onto S3 prefixes in AWS:

- ``raw/``: input files kept verbatim, addressed by content hash;
- ``curated/<table>/``: the tables of :mod:`meterwatch.tables`;
- ``objects/``: opaque blobs such as trained models and evaluation reports.

Writes happen inside a :class:`Transaction`; a transaction is all or nothing and a
reader sees either the state before it or the state after it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class DamagedFile:
    """A live data file that is missing or differs from what its commit recorded."""

    table: str
    path: str  # relative to the lake
    problem: str  # "missing", or what differs (size, checksum)

    def __str__(self) -> str:
        return f"{self.table}: {self.path} ({self.problem})"


@dataclass(frozen=True)
class Verification:
    """What :meth:`Lake.verify` found."""

    files: int  # live data files checked
    unrecorded: int  # of which committed before checksums were kept (presence checked only)
    damaged: list[DamagedFile]


class DamagedLakeError(RuntimeError):
    """A read hit a live data file that is missing or damaged (see ``meterwatch check``)."""

    def __init__(self, damaged: Sequence[DamagedFile]) -> None:
        self.damaged = list(damaged)
        shown = "; ".join(str(d) for d in self.damaged[:5])
        more = f" and {len(self.damaged) - 5} more" if len(self.damaged) > 5 else ""
        super().__init__(f"damaged data in the lake: {shown}{more}")


class LegacyLakeError(RuntimeError):
    """A local lake still in the retired snapshot-log format (``meterwatch migrate-lake``)."""


class ReadOnlyQueryError(ValueError):
    """A query that is not a read (SELECT): the lake's SQL is read-only."""


class Transaction(ABC):
    """A set of table writes committed together."""

    @abstractmethod
    def append(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        """Add rows to a table."""

    @abstractmethod
    def overwrite_partitions(
        self, table: str, data: pa.Table | pd.DataFrame, partitions: Iterable[str | None]
    ) -> None:
        """Replace the listed partitions of a partitioned table with ``data``'s rows.

        A listed partition with no rows in ``data`` ends up empty.
        """

    @abstractmethod
    def overwrite(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        """Replace the whole content of a table."""

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def replace_since(
        self, table: str, data: pa.Table | pd.DataFrame, since: Mapping[str, datetime | None]
    ) -> None:
        """In each partition named in ``since``, replace the rows whose ``ts`` is at or after
        that partition's hour with ``data``'s rows of the partition; earlier rows are kept.

        A scoring run rewrites only its customers' recent hours (the new ones and the revised
        edge). This default reads the partitions and rewrites them whole; a backend that can
        delete by predicate (Iceberg) overrides it and touches only the recent files.
        """
        from meterwatch import tables

        spec = tables.spec(table)
        if spec.partition_by is None:
            raise ValueError(f"table {table!r} is not partitioned")
        time = spec.time
        old = self.read(table, partitions=list(since)).to_pandas()
        if not old.empty:
            bounds = ts_bounds(old[spec.partition_by], since)
            old = old[~(old[time].to_numpy(dtype="datetime64[s]") >= bounds)]
        new = data.to_pandas() if isinstance(data, pa.Table) else data
        if not new.empty:
            stray = set(
                new[spec.partition_by].astype(object).where(new[spec.partition_by].notna(), None)
            )
            if stray - set(since):
                raise ValueError(
                    f"{table}: rows for partitions not being replaced: "
                    f"{sorted(map(str, stray - set(since)))[:5]}"
                )
            early = new[time].to_numpy(dtype="datetime64[s]") < ts_bounds(
                new[spec.partition_by], since
            )
            if early.any():
                raise ValueError(f"{table}: rows before the hour their partition is replaced from")
        parts = [f for f in (old, new) if not f.empty]
        merged = pd.concat(parts, ignore_index=True) if parts else new
        self.overwrite_partitions(table, merged, list(since))

    @abstractmethod
    def read(self, table: str, *, partitions: Sequence[str | None] | None = None) -> pa.Table:
        """Read a table as this transaction would leave it (its own writes included)."""

    @abstractmethod
    def commit(self) -> None:
        """Make every write of the transaction visible at once."""

    @abstractmethod
    def abort(self) -> None:
        """Drop every write of the transaction."""


class Lake(ABC):
    """A data lake holding raw files, curated tables and objects."""

    uri: str

    # raw zone -----------------------------------------------------------------
    @abstractmethod
    def put_raw(self, source: Path, sha256: str, data: bytes | None = None) -> str:
        """Keep an input file verbatim; return its key. Idempotent for the same content.

        ``data``, when given, is the file's bytes already in memory (saves a second read).
        """

    @abstractmethod
    def get_raw(self, key: str) -> bytes:
        """Return the bytes of a raw file."""

    # curated tables -------------------------------------------------------------
    @abstractmethod
    def transaction(self) -> Transaction:
        """Start a write transaction (use it as a context manager)."""

    @abstractmethod
    def read(
        self,
        table: str,
        *,
        partitions: Sequence[str | None] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Read a table (optionally only some partitions and columns) as a DataFrame."""

    def read_since(
        self,
        table: str,
        since: Mapping[str, datetime | None],
        *,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The rows of the partitions named in ``since`` whose time column (``ts``; ``day`` for
        ``daily``) is at or after that partition's hour, in one read (a scoring shard reads its
        customers' recent windows; ingest the ``daily`` rows it replaces).

        It reads the partitions from the earliest of those hours (:meth:`_read_window`) and
        keeps each partition's rows from its own hour on.
        """
        from meterwatch import tables

        spec = tables.spec(table)
        if spec.partition_by is None:
            raise ValueError(f"table {table!r} is not partitioned")
        key, time = spec.partition_by, spec.time
        wanted = None if columns is None else list(dict.fromkeys([*columns, key, time]))
        hours = [pd.Timestamp(t) for t in since.values() if t is not None]
        earliest = min(hours) if hours and len(hours) == len(since) else None
        frame = self._read_window(table, list(since), wanted, earliest)
        if frame.empty:
            return frame if columns is None else frame[list(columns)]
        keep = frame[time].to_numpy(dtype="datetime64[s]") >= ts_bounds(frame[key], since)
        out = frame[keep].reset_index(drop=True)
        return out if columns is None else out[list(columns)]

    def _read_window(
        self,
        table: str,
        partitions: Sequence[str | None],
        columns: Sequence[str] | None,
        ts_from: datetime | None,
    ) -> pd.DataFrame:
        """``partitions`` of ``table``, at least their rows from ``ts_from`` on (None: all).

        This default reads the partitions whole; a backend that can push the hour down to its
        scan (Iceberg: row groups before it are skipped) overrides it.
        """
        return self.read(table, partitions=partitions, columns=columns)

    @abstractmethod
    def partitions(self, table: str) -> list[str | None]:
        """List the partition values present in a partitioned table."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a read-only SQL query over the tables, with bound parameters."""

    # objects ------------------------------------------------------------------------
    @abstractmethod
    def put_object(self, key: str, data: bytes) -> None:
        """Store a blob (a model, a report) under ``objects/<key>``."""

    @abstractmethod
    def get_object(self, key: str) -> bytes:
        """Return a blob stored with :meth:`put_object`; ``KeyError`` when absent."""

    @abstractmethod
    def list_objects(self, prefix: str) -> list[str]:
        """List blob keys under a prefix."""

    def object_modified(self, key: str) -> datetime:
        """When a blob was last written (UTC); ``KeyError`` when absent."""
        raise NotImplementedError

    def delete_object(self, key: str) -> None:
        """Delete a blob (no error when it is already gone)."""
        raise NotImplementedError

    # integrity ------------------------------------------------------------------------
    def verify(self) -> Verification:
        """Check every live data file against the size and SHA-256 recorded at its commit."""
        raise NotImplementedError


# The hour a ``replace_since`` of None stands for: before any reading (pandas' earliest day).
EARLIEST = pd.Timestamp("1677-09-22")


def ts_bounds(keys: pd.Series, since: Mapping[str, datetime | None]) -> Any:
    """Per row, the hour of its partition in ``since`` (numpy datetime64[s])."""
    hours = {str(k): pd.Timestamp(v) if v is not None else EARLIEST for k, v in since.items()}
    return pd.to_datetime(keys.astype(str).map(hours)).to_numpy(dtype="datetime64[s]")


def customers_with_readings(lake: Lake) -> list[str]:
    """Customers with at least one reading, from the ``customers`` table (one row each, kept by
    ingest in the same commit as the readings): a read of one small table instead of every
    readings file's partition column (issue 13). A lake whose ``customers`` table is empty
    (written by a tool that keeps only ``readings``) is listed from the partitions instead."""
    customers = lake.read("customers", columns=["client_id", "n_readings"])
    if customers.empty:
        return sorted(str(p) for p in lake.partitions("readings") if p is not None)
    held = customers["n_readings"].fillna(0).astype("int64") > 0
    return sorted(str(c) for c in customers.loc[held, "client_id"])
