"""What the Iceberg backends share: reads, transactions and integrity over Iceberg tables.

:class:`IcebergLake` reads a table at a consistent cut of every table's metadata location
(:meth:`IcebergLake._locations`), selects a customer's bucket files and reads them with
pyarrow, and checks live files against the checksums recorded at their commit.
:class:`IcebergTransaction` keeps a run's writes in memory and at commit writes each changed
table's files and metadata (:func:`~meterwatch.storage.iceberg_tables.plan_change`); the
backend then publishes every table's new metadata location in one step
(:meth:`IcebergLake._publish`): a SQLite transaction locally, a create-only commit record
in S3.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import tempfile
import threading
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from meterwatch import tables
from meterwatch.storage.base import (
    EARLIEST,
    DamagedFile,
    DamagedLakeError,
    Lake,
    Transaction,
    Verification,
)
from meterwatch.storage.iceberg_tables import (
    NAMESPACE,
    DataFileRef,
    HeldRows,
    PendingRows,
    SpilledRows,
    TableChange,
    bucket_of,
    data_file_refs,
    in_memory,
    materialize,
    materialize_all,
    micros,
    new_metadata_location,
    partition_mask,
    plan_change,
    since_mask,
    split_by,
    to_arrow,
)

SNAPSHOTS_KEPT = 5  # per table: readers still on a recent snapshot keep their files
METADATA_KEPT = 5  # metadata files kept per table besides the current one
# A transaction keeps at most this much of its written partitions in memory; beyond it they go
# to scratch Parquet files until the commit (a 1,000-customer ingest holds 17.5 million rows).
SPILL_BYTES = 256 * 2**20
# A partition's write of fewer rows than GATHER_ROWS is gathered with other partitions' small
# writes of the same table, GATHER_PIECES of them or GATHER_ROWS rows at a time, into one table
# (``HeldRows``) instead of being held as a table of its own: Arrow's objects and buffers for a
# table cost ~30 KB (a customer's daily row has 30 columns), more than a day of its readings.
GATHER_ROWS = 10_000
GATHER_PIECES = 256


@dataclass(frozen=True)
class TableState:
    """One table at one committed metadata file: its pyiceberg table and live data files."""

    name: str
    metadata_location: str
    table: Any  # pyiceberg.table.Table
    files: list[DataFileRef]

    def select(
        self, partitions: Sequence[str | None] | None, ts_from: datetime | None = None
    ) -> list[DataFileRef]:
        """The files that can hold rows of ``partitions`` (all files when None) at or after
        ``ts_from`` (a file whose last hour is before it is not opened)."""
        files = self.files
        if partitions is not None and tables.spec(self.name).partition_by is not None:
            buckets = {bucket_of(p) for p in partitions}
            files = [f for f in files if f.bucket in buckets]
        if ts_from is not None and tables.spec(self.name).time_column is not None:
            first = micros(ts_from)
            files = [f for f in files if f.last is None or f.last >= first]
        return list(files)


@dataclass(frozen=True)
class LakeState:
    """Every table at the metadata locations one catalog read returned (a consistent cut)."""

    locations: tuple[tuple[str, str], ...]
    tables: dict[str, TableState] = field(hash=False, compare=False)

    def __getitem__(self, name: str) -> TableState:
        tables.spec(name)  # a clear error for an unknown table
        return self.tables[name]


def _row_filter(table: str, partitions: Sequence[str | None] | None) -> pc.Expression | None:
    column = tables.spec(table).partition_by
    if partitions is None or column is None:
        return None
    values = [p for p in partitions if p is not None]
    expr = pc.field(column).isin(
        pa.array(values, type=tables.spec(table).schema.field(column).type)
    )
    if None in partitions:
        expr = expr | pc.field(column).is_null()
    return expr


def _compact(rows: pa.Table) -> pa.Table:
    """``rows`` with their text columns dictionary-encoded, as a transaction keeps them until
    its commit: a customer's rows repeat one customer id and one ingestion id, and a
    1,000-customer ingest holds 17.5 million rows. Read back and written in the table's schema.
    """
    columns = [
        pc.dictionary_encode(col) if pa.types.is_string(col.type) else col for col in rows.columns
    ]
    return pa.table(columns, names=rows.column_names)


@dataclass
class _Pending:
    """One table's writes in a transaction, applied at commit."""

    overwritten: bool = False  # the whole table is replaced by ``rows``
    replaced: set[str | None] = field(default_factory=set)  # partitions replaced
    # partitions whose stored rows are replaced from an hour on (``replace_since``)
    since: dict[str | None, datetime] = field(default_factory=dict)
    by_partition: dict[str | None, list[PendingRows]] = field(default_factory=dict)
    appended: list[pa.Table] = field(default_factory=list)

    def rows(self) -> list[PendingRows]:
        return [*self.appended, *itertools.chain.from_iterable(self.by_partition.values())]


class IcebergTransaction(Transaction):
    """Keeps its writes in memory; :meth:`commit` publishes every table's change at once."""

    def __init__(self, lake: IcebergLake, release: Callable[[], None] = lambda: None) -> None:
        self._lake = lake
        self._release_lock = release
        self._base = lake.state()
        self._pending: dict[str, _Pending] = {}
        self._closed = False
        self._held = 0  # bytes of partition rows held in memory
        self._scratch: str | None = None  # folder of the spilled partitions
        # per table, the small partition writes not gathered yet (held as written meanwhile)
        self._gathering: dict[str, list[tuple[_Pending, str | None, pa.Table]]] = {}

    # writing --------------------------------------------------------------------------------
    def append(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        self._check_open()
        arrow = to_arrow(table, data)
        if arrow.num_rows:
            self._pending.setdefault(table, _Pending()).appended.append(arrow)
        else:
            self._pending.setdefault(table, _Pending())

    def overwrite_partitions(
        self, table: str, data: pa.Table | pd.DataFrame, partitions: Iterable[str | None]
    ) -> None:
        replaced = set(partitions)
        arrow, column, values = self._partition_rows(table, data, replaced)
        pending = self._pending.setdefault(table, _Pending())
        pending.replaced |= replaced
        for value in replaced:
            pending.by_partition[value] = []
            pending.since.pop(value, None)
        if pending.appended:
            pending.appended = [
                t.filter(pc.invert(partition_mask(t, column, replaced))) for t in pending.appended
            ]
        self._hold(table, pending, arrow, column, values)

    def replace_since(
        self, table: str, data: pa.Table | pd.DataFrame, since: Mapping[str, datetime | None]
    ) -> None:
        """Recorded, not read: at commit only the files that hold a partition's rows from its
        hour on are rewritten (``plan_change``). ``data``'s rows must be at or after their
        partition's hour (earlier ones would duplicate the rows that are kept)."""
        hours = {k: EARLIEST if v is None else pd.Timestamp(v) for k, v in since.items()}
        arrow, column, values = self._partition_rows(table, data, set(hours))
        spec = tables.spec(table)
        time = spec.time
        if arrow.num_rows:
            if len(values) == 1:  # one customer (an ingest's upsert): its first hour suffices
                first = pc.min(arrow.column(time)).as_py()
                early = first is not None and pd.Timestamp(first) < hours[values[0]]
            else:
                early = not pc.all(since_mask(arrow, column, time, hours)).as_py()
            if early:
                raise ValueError(f"{table}: rows before the hour their partition is replaced from")
        pending = self._pending.setdefault(table, _Pending())
        for value, hour in hours.items():
            held = pending.by_partition.get(value)
            if held:  # rows this transaction wrote for it: keep those before the hour
                joined = materialize_all(held, spec.schema)
                kept = joined.filter(pc.invert(since_mask(joined, column, time, {value: hour})))
                held[:] = [_compact(kept)] if kept.num_rows else []
            if value not in pending.replaced:
                previous = pending.since.get(value)
                pending.since[value] = hour if previous is None else min(previous, hour)
                pending.by_partition.setdefault(value, [])
        if pending.appended:
            pending.appended = [
                t.filter(pc.invert(since_mask(t, column, time, hours))) for t in pending.appended
            ]
        self._hold(table, pending, arrow, column, values)

    def _partition_rows(
        self, table: str, data: pa.Table | pd.DataFrame, partitions: set[str | None]
    ) -> tuple[pa.Table, str, list[Any]]:
        """``data`` in the table's schema, its partition column and the partition values it
        holds, refusing rows of partitions the write does not replace."""
        self._check_open()
        column = tables.spec(table).partition_by
        if column is None:
            raise ValueError(f"table {table!r} is not partitioned")
        arrow = to_arrow(table, data)
        values = arrow.column(column).unique().to_pylist()
        stray = set(values) - partitions
        if stray:
            raise ValueError(
                f"{table}: rows for partitions not being replaced: {sorted(map(str, stray))[:5]}"
            )
        return arrow, column, values

    def _hold(
        self, table: str, pending: _Pending, arrow: pa.Table, column: str, values: list[Any]
    ) -> None:
        """Keep ``arrow``'s rows by partition until the commit (spilled beyond the budget);
        a partition's few rows are gathered with others' (:meth:`_gather`)."""
        if arrow.num_rows == 0:
            return
        pieces = [(values[0], arrow)] if len(values) == 1 else list(split_by(arrow, column))
        for value, rows in pieces:
            if rows.num_rows >= GATHER_ROWS:
                compact = _compact(rows)
                pending.by_partition[value].append(compact)
                self._held += compact.nbytes
                continue
            pending.by_partition[value].append(rows)  # read back as it is until gathered
            self._held += rows.nbytes
            gathering = self._gathering.setdefault(table, [])
            gathering.append((pending, value, rows))
            if (
                len(gathering) >= GATHER_PIECES
                or sum(r.num_rows for *_, r in gathering) >= GATHER_ROWS
            ):
                self._gather(table)
        if self._held > SPILL_BYTES:
            self._spill()

    def _gather(self, table: str) -> None:
        """Copy ``table``'s small partition writes not gathered yet into one compact table and
        hold each as a range of it. A write since replaced (a later ``replace_since`` or
        ``overwrite_partitions`` of its partition, an ``overwrite`` of the table) is left out."""
        live: list[tuple[list[PendingRows], int, str | None, pa.Table]] = []
        for pending, value, rows in self._gathering.pop(table, []):
            self._held -= rows.nbytes  # counted again as part of the gathered table
            held = pending.by_partition.get(value) if self._pending.get(table) is pending else None
            at = next((i for i, p in enumerate(held or []) if p is rows), None)
            if held is not None and at is not None:
                live.append((held, at, value, rows))
        if not live:
            return
        gathered = _compact(pa.concat_tables([rows for *_, rows in live]).combine_chunks())
        self._held += gathered.nbytes
        offset = 0
        for held, at, value, rows in live:
            held[at] = HeldRows(gathered, offset, rows.num_rows, value)
            offset += rows.num_rows

    def _spill(self) -> None:
        """Move every partition's rows held in memory to a scratch Parquet file."""
        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="meterwatch-transaction-")
        for table in list(self._gathering):  # every piece held compact, in one schema
            self._gather(table)
        for pending in self._pending.values():
            for value, pieces in pending.by_partition.items():
                held = [t for t in map(in_memory, pieces) if t is not None]
                if not held:
                    continue
                data = pa.concat_tables(held)
                path = os.path.join(self._scratch, f"{uuid.uuid4().hex}.parquet")
                pq.write_table(data, path)
                kept = [p for p in pieces if in_memory(p) is None]
                pieces[:] = [*kept, SpilledRows(path, value, data.num_rows)]
        self._held = 0

    def overwrite(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        self._check_open()
        arrow = to_arrow(table, data)
        self._pending[table] = _Pending(overwritten=True, appended=[arrow])

    def read(self, table: str, *, partitions: Sequence[str | None] | None = None) -> pa.Table:
        """The table as this transaction would leave it (its own writes included)."""
        self._check_open()
        spec = tables.spec(table)
        pending = self._pending.get(table)
        parts: list[pa.Table] = []
        if pending is None or not pending.overwritten:
            base = self._lake._read_state(self._base, table, partitions, None)
            # only the read partitions' own replacements: a run that upserts customer after
            # customer does not match each read against every customer written before
            wanted = set(partitions) if partitions is not None else None
            replaced = pending.replaced if pending is not None else set()
            since = pending.since if pending is not None else {}
            if wanted is not None:
                replaced = replaced & wanted
                since = {p: since[p] for p in wanted if p in since}
            column = spec.partition_by
            if replaced:
                assert column is not None
                base = base.filter(pc.invert(partition_mask(base, column, replaced)))
            if since:
                assert column is not None
                late = since_mask(base, column, spec.time, since)
                base = base.filter(pc.invert(late))
            parts.append(base)
        if pending is not None:
            row_filter = _row_filter(table, partitions)
            if row_filter is None or partitions is None:
                parts += [materialize(r, spec.schema) for r in pending.rows()]
            else:
                # Rows written by partition are looked up, not filtered: a run that upserts
                # customer after customer reads each one back in constant time.
                parts += [rows.filter(row_filter) for rows in pending.appended]
                parts += [
                    materialize(r, spec.schema)
                    for p in set(partitions)
                    for r in pending.by_partition.get(p, [])
                ]
        if not parts:
            return spec.schema.empty_table()
        return pa.concat_tables([p.cast(spec.schema) for p in parts])

    # ending ---------------------------------------------------------------------------------
    def commit(self) -> None:
        self._check_open()
        try:
            changes: list[TableChange] = []
            missing = sorted(set(self._pending) - set(self._base.tables))
            if missing:
                raise RuntimeError(
                    f"the lake has no tables {missing} yet and this role may not create them:"
                    " the first ingest creates them"
                )
            for name, pending in self._pending.items():
                change = plan_change(
                    self._base[name].table,
                    self._base[name].files,
                    pending.overwritten,
                    pending.replaced,
                    pending.rows(),
                    read=functools.partial(self._lake._read_files, name, columns=None),
                    snapshots_kept=SNAPSHOTS_KEPT,
                    since=dict(pending.since),
                )
                if change is not None:
                    changes.append(change)
            for change in changes:
                change.metadata_location = new_metadata_location(change)
                change.write_metadata()
            self._lake._make_durable(changes)
            if changes:
                digests = {f.path: self._lake._digest(f.path) for c in changes for f in c.added}
                self._lake._publish(changes, digests)
                self._lake._collect_garbage([c.name for c in changes])
        finally:
            self._release()

    def abort(self) -> None:
        if self._closed:
            return
        self._pending.clear()
        self._release()

    def _release(self) -> None:
        self._closed = True
        self._gathering.clear()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self._release_lock()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("transaction already committed or aborted")


@dataclass(frozen=True)
class LiveFiles:
    """The live data files of every table at one consistent cut."""

    tables: dict[str, list[DataFileRef]]


class IcebergLake(Lake):
    """A lake whose tables are Iceberg tables; backends supply the catalog and the files."""

    io: Any  # the pyiceberg FileIO of the table files

    def _init_states(self) -> None:
        self._states: dict[str, TableState] = {}
        self._states_lock = threading.Lock()
        # A data file never changes: the partition values it holds, read once per process.
        self._file_partitions: dict[str, frozenset[str | None]] = {}

    def snapshot(self) -> LiveFiles:
        """Every table's live data files now (what caches key on, as with the old lake)."""
        state = self.state()
        return LiveFiles({name: list(t.files) for name, t in state.tables.items()})

    # what a backend supplies -------------------------------------------------------------------
    @abstractmethod
    def _locations(self) -> tuple[tuple[str, str], ...]:
        """Every table's current metadata location, read at one point (a consistent cut)."""

    @abstractmethod
    def _publish(self, changes: Sequence[TableChange], digests: dict[str, tuple[int, str]]) -> None:
        """Make every change visible at once, recording the new files' size and SHA-256."""

    @abstractmethod
    def _recorded(self) -> dict[str, tuple[int, str]]:
        """Size and SHA-256 of the data files, as their commits recorded them."""

    @abstractmethod
    def _collect_garbage(self, names: Sequence[str]) -> None:
        """Delete files of the tables ``names`` that no kept snapshot references."""

    @abstractmethod
    def _filesystem(self) -> Any:
        """The pyarrow filesystem the data files are read with (None: local files)."""

    @abstractmethod
    def _data_path(self, location: str) -> str:
        """A data file's path on :meth:`_filesystem`."""

    @abstractmethod
    def _rel(self, location: str) -> str:
        """A data file's path relative to the lake, as damage reports name it."""

    @abstractmethod
    def _size(self, location: str) -> int:
        """A file's size (``FileNotFoundError`` when it is missing)."""

    @abstractmethod
    def _digest(self, location: str) -> tuple[int, str]:
        """A file's size and SHA-256 (``FileNotFoundError`` when it is missing)."""

    def _make_durable(self, changes: Sequence[TableChange]) -> None:
        """Before the publish: make the changes' files durable (local fsync; S3 already is)."""

    # reading ----------------------------------------------------------------------------------
    def state(self) -> LakeState:
        """Every table as of the catalog now (one read: a consistent cut across tables)."""
        from pyiceberg.serializers import FromInputFile
        from pyiceberg.table import Table

        locations = self._locations()
        out = {}
        with self._states_lock:
            for name, location in locations:
                cached = self._states.get(location)
                if cached is None:
                    metadata = FromInputFile.table_metadata(self.io.new_input(location))
                    # No catalog object: the lake publishes its commits itself (see _publish).
                    table = Table((NAMESPACE, name), metadata, location, self.io, None)  # type: ignore[arg-type]
                    cached = TableState(name, location, table, data_file_refs(table))
                    self._states[location] = cached
                out[name] = cached
            live = set(dict(locations).values())
            for stale in [loc for loc in self._states if loc not in live]:
                del self._states[stale]
        return LakeState(locations, out)

    def _read_files(
        self, table: str, files: Sequence[DataFileRef], columns: Sequence[str] | None,
        row_filter: pc.Expression | None = None,
    ) -> pa.Table:  # fmt: skip
        schema = tables.spec(table).schema
        cols = list(columns) if columns is not None else list(schema.names)
        target = pa.schema([schema.field(c) for c in cols])
        if not files:
            return target.empty_table()
        paths = [self._data_path(f.path) for f in files]
        dataset = pads.dataset(paths, format="parquet", filesystem=self._filesystem())
        data = dataset.to_table(columns=cols, filter=row_filter)
        return data.cast(target)

    def _read_state(
        self,
        state: LakeState,
        table: str,
        partitions: Sequence[str | None] | None,
        columns: Sequence[str] | None,
        ts_from: datetime | None = None,
    ) -> pa.Table:
        # no files (an empty table) where no writer has created the lake's tables yet
        files = state[table].select(partitions, ts_from) if table in state.tables else []
        row_filter = _row_filter(table, partitions)
        spec = tables.spec(table)
        if ts_from is not None:
            time = spec.time
            ts_type = spec.schema.field(time).type
            since = pc.field(time) >= pa.scalar(pd.Timestamp(ts_from).to_pydatetime(), ts_type)
            row_filter = since if row_filter is None else row_filter & since
        try:
            data = self._read_files(table, files, columns, row_filter)
        except (OSError, pa.ArrowException) as exc:
            raise self._damage_behind(state, exc) from exc
        # A bucket with more than one file (a day appended beside its history): rows come back
        # in file order; readers get each customer's rows in time order, as from one file.
        keys = [c for c in (spec.partition_by, spec.time_column) if c and c in data.column_names]
        if len(keys) == 2 and len({f.bucket for f in files}) < len(files):
            data = data.sort_by([(k, "ascending") for k in keys])
        return data

    def read_arrow(
        self,
        table: str,
        *,
        partitions: Sequence[str | None] | None = None,
        columns: Sequence[str] | None = None,
        ts_from: datetime | None = None,
    ) -> pa.Table:
        """Like :meth:`read`, as an Arrow table; ``ts_from`` keeps the hours from it on
        (pushed down to the scan: row groups before it are skipped)."""
        return self._read_state(self.state(), table, partitions, columns, ts_from)

    def read(
        self,
        table: str,
        *,
        partitions: Sequence[str | None] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        return self.read_arrow(table, partitions=partitions, columns=columns).to_pandas()

    def _read_window(
        self,
        table: str,
        partitions: Sequence[str | None],
        columns: Sequence[str] | None,
        ts_from: datetime | None,
    ) -> pd.DataFrame:
        """The partitions and the earliest hour pushed down to the scan (files of other buckets
        are not opened; row groups before the hour are skipped)."""
        return self.read_arrow(
            table, partitions=partitions, columns=columns, ts_from=ts_from
        ).to_pandas()

    def partitions(self, table: str) -> list[str | None]:
        column = tables.spec(table).partition_by
        if column is None:
            raise ValueError(f"table {table!r} is not partitioned")
        state = self.state()
        files = state[table].files if table in state.tables else []  # none: no tables yet
        values: set[str | None] = set()
        try:
            for f in files:
                held = self._file_partitions.get(f.path)
                if held is None:  # only the partition column of a file not seen before,
                    # a batch at a time: memory bounded by a batch, not by the file
                    dataset = pads.dataset(
                        [self._data_path(f.path)], format="parquet", filesystem=self._filesystem()
                    )
                    found: set[str | None] = set()
                    for batch in dataset.to_batches(columns=[column]):
                        found.update(pc.unique(batch.column(0)).to_pylist())
                    held = frozenset(found)
                    self._file_partitions[f.path] = held
                values |= held
        except (OSError, pa.ArrowException) as exc:
            raise self._damage_behind(state, exc) from exc
        if len(self._file_partitions) > 4 * len(files) + 64:  # forget files no longer live
            live = {f.path for t in state.tables.values() for f in t.files}
            for path in [p for p in self._file_partitions if p not in live]:
                self._file_partitions.pop(path, None)
        return sorted(values, key=lambda v: (v is None, v))

    # integrity ------------------------------------------------------------------------------------
    def _find_damage(self, state: LakeState, *, full: bool) -> list[DamagedFile]:
        recorded = self._recorded() if full else {}
        damaged = []
        for name in sorted(state.tables):
            for f in state[name].files:
                rel = self._rel(f.path)
                try:
                    size, sha = self._digest(f.path) if full else (self._size(f.path), "")
                except FileNotFoundError:
                    damaged.append(DamagedFile(name, rel, "missing"))
                    continue
                if size != f.size:
                    damaged.append(DamagedFile(name, rel, f"size {size} bytes, {f.size} recorded"))
                elif full and f.path in recorded and recorded[f.path][1] != sha:
                    damaged.append(DamagedFile(name, rel, "checksum differs from the recorded one"))
        return damaged

    def verify(self) -> Verification:
        """Check every live data file against the size and SHA-256 recorded at its commit."""
        state = self.state()
        recorded = self._recorded()
        files = [f for s in state.tables.values() for f in s.files]
        return Verification(
            files=len(files),
            unrecorded=sum(f.path not in recorded for f in files),
            damaged=self._find_damage(state, full=True),
        )

    def _damage_behind(self, state: LakeState, exc: Exception) -> Exception:
        """The :class:`DamagedLakeError` behind a failed read, or ``exc`` when there is none."""
        damaged = self._find_damage(state, full=False)
        named = {d.path for d in damaged}
        message = str(exc)
        for name in sorted(state.tables):
            for f in state[name].files:
                rel = self._rel(f.path)
                if rel not in named and self._data_path(f.path) in message:
                    damaged.append(DamagedFile(name, rel, message.splitlines()[0][:200]))
        return DamagedLakeError(damaged) if damaged else exc
