"""The lake's tables as Apache Iceberg tables: schemas, partitioning, and one table's commit.

Shared by the backends that keep their tables in Iceberg. What this module decides:

- every table of :mod:`meterwatch.tables` is an Iceberg table in namespace ``meterwatch``;
  its columns are the spec's, widened where Iceberg has no narrower type (``int8`` is an
  Iceberg ``int``, timestamps are microseconds); reads cast back to the spec's schema;
- a table with a partition column (the customer) is partitioned by
  ``bucket(BUCKETS, client_id)``; files are sorted by customer and hour, with row groups
  small enough that a customer's read skips most of its file;
- writes are copy-on-write, and touch only the files that hold rows they replace: replacing
  a customer (``overwrite_partitions``) rewrites its bucket's files, replacing its rows from
  an hour on (``replace_since``, on a table with a ``TableSpec.time_column``) only the files
  whose last hour is at or after it (Iceberg keeps each column's bounds per file), and new
  hours after every stored one are a new file beside the others (a day's ingest or score
  writes the day, not the history). A bucket that would hold ``COMPACT_FILES`` files has its
  small files merged (tiered: the largest, the history, is rewritten with them only once
  they add up to a quarter of it). Readers never need delete files, so a table's content is
  exactly its live data files.

pyiceberg builds the manifests, snapshots and metadata (:func:`plan_change`); the caller
publishes the new metadata location of every changed table at once (the lake's commit).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.io.pyarrow import PyArrowFileIO

from meterwatch import tables

NAMESPACE = "meterwatch"
BUCKETS = 16
ROW_GROUP_ROWS = 32_768  # about two customer-years of hours: a customer's read skips the rest
# Row groups of the tables sorted by period (TableSpec.time_major): at 264,000 customers a
# bucket's file holds ~16,500 customers a day, so a period's scan reads at most about half a
# day (of daily) or half a month (of monthly) beyond its own rows at either end.
TIME_MAJOR_ROW_GROUP_ROWS = 8_192
COMPACT_AT = 16  # an unpartitioned table with more live files than this is rewritten as one
# A bucket that a write adds a file to has its files merged once it would hold this many: the
# smaller ones alone while their rows add up to less than a quarter of the largest's (the
# bucket's history is not rewritten for a week of daily files), all of them after that.
COMPACT_FILES = 8
COMPACT_SHARE = 0.25
HOME_PROPERTY = "meterwatch.home"
ROOT_PROPERTY = "meterwatch.root"


def table_properties(metadata_kept: int, spec: tables.TableSpec) -> dict[str, str]:
    """The Iceberg table properties a lake table is created with."""
    rows = TIME_MAJOR_ROW_GROUP_ROWS if spec.time_major else ROW_GROUP_ROWS
    layout = (
        f"bucket({BUCKETS}, {spec.partition_by}), sorted by {', '.join(spec.sort_columns)}"
        if spec.partition_by
        else "unpartitioned"
    )
    return {
        "write.parquet.row-group-limit": str(rows),
        "write.parquet.compression-codec": "zstd",
        "commit.manifest-merge.enabled": "true",
        "write.metadata.previous-versions-max": str(metadata_kept),
        "meterwatch.partitioning": layout,
    }


# types -----------------------------------------------------------------------------------------
def _stored_type(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(dtype):
        return pa.timestamp("us", tz=dtype.tz)
    if pa.types.is_int8(dtype) or pa.types.is_int16(dtype):
        return pa.int32()
    return dtype


@cache
def stored_schema(table: str) -> pa.Schema:
    """The Arrow schema a table's rows are written with (the spec's, widened for Iceberg)."""
    schema = tables.spec(table).schema
    return pa.schema([pa.field(f.name, _stored_type(f.type)) for f in schema])


def to_arrow(table: str, data: pa.Table | pd.DataFrame) -> pa.Table:
    """Convert ``data`` to the table's Arrow schema (column order and types)."""
    schema = tables.spec(table).schema
    if isinstance(data, pd.DataFrame):
        missing = [c for c in schema.names if c not in data.columns]
        if missing:
            raise ValueError(f"{table}: missing columns {missing}")
        return pa.Table.from_pandas(data[schema.names], schema=schema, preserve_index=False)
    missing = [c for c in schema.names if c not in data.column_names]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
    return data.select(schema.names).cast(schema)


@lru_cache(maxsize=1024)
def bucket_of(value: str | None) -> int | None:
    """The Iceberg bucket (murmur3, the spec's) of a customer id; None for a missing one."""
    if value is None:
        return None
    return int(_bucket_fn()(value))


@lru_cache(maxsize=1)
def _bucket_fn() -> Callable[[Any], Any]:
    from pyiceberg.transforms import BucketTransform
    from pyiceberg.types import StringType

    return BucketTransform(BUCKETS).transform(StringType())


# file IO -----------------------------------------------------------------------------------------
class RootedIO(PyArrowFileIO):
    """pyiceberg's local file IO, with the lake's original root mapped onto where it is now.

    Iceberg metadata records absolute paths. A lake folder that was copied or moved still
    names its files under the root it was created at (``home``); this IO reads and writes
    them under ``root`` instead, so the metadata never needs rewriting.
    """

    def __init__(self, properties: dict[str, str]) -> None:
        # pyiceberg builds file IOs from catalog properties (``py-io-impl``), hence these.
        super().__init__(properties)
        self.home = str(Path(properties[HOME_PROPERTY]))
        self.root = str(Path(properties[ROOT_PROPERTY]))

    @classmethod
    def properties_for(cls, home: str | Path, root: str | Path) -> dict[str, str]:
        """Catalog properties under which pyiceberg builds this IO itself."""
        return {
            "py-io-impl": f"{cls.__module__}.{cls.__qualname__}",
            HOME_PROPERTY: str(home),
            ROOT_PROPERTY: str(root),
        }

    def physical(self, location: str) -> str:
        """The local path of a location the metadata names."""
        path = urlparse(location).path if location.startswith("file:") else location
        if self.home != self.root and (path == self.home or path.startswith(self.home + "/")):
            path = self.root + path[len(self.home) :]
        return path

    def logical(self, path: Path) -> str:
        """The location the metadata uses for a local path under the lake."""
        rel = path.relative_to(self.root)
        return (Path(self.home) / rel).as_uri()

    def parse_location(  # type: ignore[override]
        self, location: str, properties: Any = None
    ) -> tuple[str, str, str]:
        return "file", "", self.physical(location)


# tables ----------------------------------------------------------------------------------------
def _iceberg_type(dtype: pa.DataType) -> Any:
    from pyiceberg import types as it

    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return it.StringType()
    if pa.types.is_timestamp(dtype):
        return it.TimestamptzType() if dtype.tz else it.TimestampType()
    if pa.types.is_float64(dtype):
        return it.DoubleType()
    if pa.types.is_int64(dtype):
        return it.LongType()
    if pa.types.is_int32(dtype):
        return it.IntegerType()
    raise TypeError(f"no Iceberg type for {dtype}")


def _iceberg_schema(table: str) -> Any:
    """The table's Iceberg schema: the spec's columns in order, field ids 1..n, optional."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField

    return Schema(
        *(
            NestedField(i, f.name, _iceberg_type(f.type), required=False)
            for i, f in enumerate(stored_schema(table), start=1)
        )
    )


def create_tables(catalog: Any, curated: Any, namespace: str = NAMESPACE) -> None:
    """Create the namespace and every missing table (idempotent) under the folder ``curated``."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError
    from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
    from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortField, SortOrder
    from pyiceberg.transforms import BucketTransform, IdentityTransform

    existing = set()
    try:
        catalog.create_namespace(namespace)
    except NamespaceAlreadyExistsError:
        existing = {name for _ns, name in catalog.list_tables(namespace)}
    for name, spec in tables.TABLES.items():
        if name in existing:
            continue
        schema = _iceberg_schema(name)
        partition_spec = UNPARTITIONED_PARTITION_SPEC
        sort_order = UNSORTED_SORT_ORDER
        if spec.partition_by is not None:
            source = schema.find_field(spec.partition_by).field_id
            partition_spec = PartitionSpec(
                PartitionField(
                    source_id=source,
                    field_id=1000,
                    transform=BucketTransform(BUCKETS),
                    name=f"{spec.partition_by}_bucket",
                )
            )
        sort_fields = spec.sort_columns
        if sort_fields:
            sort_order = SortOrder(
                *(
                    SortField(
                        source_id=schema.find_field(c).field_id, transform=IdentityTransform()
                    )
                    for c in sort_fields
                )
            )
        catalog.create_table(
            (namespace, name),
            schema=schema,
            location=(curated / name).as_uri(),
            partition_spec=partition_spec,
            sort_order=sort_order,
            properties={**table_properties(5, spec), "comment": spec.description},
        )


@dataclass(frozen=True)
class DataFileRef:
    """A live data file of a table's current snapshot."""

    path: str  # as the metadata names it
    bucket: int | None  # the customer bucket, None for unpartitioned tables or no customer
    size: int
    rows: int
    data_file: Any = field(compare=False, repr=False)  # pyiceberg DataFile
    last: int | None = None  # its latest time-column value, microseconds (None: unknown)


def micros(value: Any) -> int:
    """A naive timestamp as microseconds since 1970 (what Iceberg's bounds hold)."""
    return int(pd.Timestamp(value).value // 1000)


def file_ref(metadata: Any, name: str, df: Any) -> DataFileRef:
    """A data file's reference: its bucket (whatever spec wrote it) and last hour."""
    from pyiceberg.conversions import from_bytes
    from pyiceberg.transforms import BucketTransform

    # a file just written has no spec id yet: the current spec wrote it
    spec_id = getattr(df, "_spec_id", None)
    spec = metadata.specs().get(spec_id) if spec_id is not None else None
    spec = spec or metadata.spec()
    bucket = None
    for i, pf in enumerate(spec.fields):
        if isinstance(pf.transform, BucketTransform):
            bucket = df.partition[i]
    last = None
    column = tables.spec(name).time_column
    if column is not None and df.upper_bounds:
        ts_field = metadata.schema().find_field(column)
        bound = df.upper_bounds.get(ts_field.field_id)
        if bound is not None:
            last = int(from_bytes(ts_field.field_type, bound))
    return DataFileRef(df.file_path, bucket, df.file_size_in_bytes, df.record_count, df, last)


def data_file_refs(table: Any) -> list[DataFileRef]:
    """The live data files of a pyiceberg table's current snapshot."""
    snapshot = table.metadata.current_snapshot()
    if snapshot is None:
        return []
    name = table.name()[-1]
    refs = []
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            refs.append(file_ref(table.metadata, name, entry.data_file))
    return refs


def referenced_paths(table: Any, metadata_kept: int) -> set[str]:
    """Every file a table's kept snapshots and metadata files need (the rest is garbage)."""
    metadata = table.metadata
    out = {table.metadata_location}
    out |= {entry.metadata_file for entry in metadata.metadata_log[-metadata_kept:]}
    for snapshot in metadata.snapshots:
        out.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            out.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                out.add(entry.data_file.file_path)
    return out


@dataclass
class TableChange:
    """One table's next state, written but not yet published."""

    name: str
    table: Any  # the pyiceberg table it starts from
    metadata: Any  # the new TableMetadata
    added: list[DataFileRef]
    base_location: str = ""
    metadata_location: str = ""

    def written_paths(self) -> list[str]:
        """The files this change wrote: data files, manifests, manifest list, metadata."""
        base = {s.snapshot_id for s in self.table.metadata.snapshots}
        out = [f.path for f in self.added]
        for snapshot in self.metadata.snapshots:
            if snapshot.snapshot_id in base:
                continue
            out.append(snapshot.manifest_list)
            out += [m.manifest_path for m in snapshot.manifests(self.table.io)]
        out.append(self.metadata_location)
        return out

    def write_metadata(self) -> None:
        from pyiceberg.serializers import ToOutputFile

        ToOutputFile.table_metadata(self.metadata, self.table.io.new_output(self.metadata_location))


def new_metadata_location(change: TableChange) -> str:
    """Where a change's metadata file goes: the next version number, a fresh name."""
    from pyiceberg.catalog import MetastoreCatalog

    version = MetastoreCatalog._parse_metadata_version(change.base_location) + 1
    return f"{change.metadata.location}/metadata/{version:05d}-{uuid.uuid4()}.metadata.json"


def _bucket_pieces(
    spec: tables.TableSpec, content: list[PendingRows]
) -> dict[int | None, list[PendingRows]]:
    """``content``'s rows by customer bucket (spilled rows stay on disk until they are written)."""
    column = spec.partition_by
    assert column is not None
    groups: dict[int | None, list[PendingRows]] = {}
    while content:
        rows = content.pop(0)  # released once split: the caller's list empties as it goes
        if not isinstance(rows, pa.Table):  # one partition (spilled: read back with its bucket)
            groups.setdefault(bucket_of(rows.partition), []).append(rows)
            continue
        values = rows.column(column).cast(spec.schema.field(column).type)
        distinct = pc.unique(values)
        buckets = [bucket_of(v) for v in distinct.to_pylist()]
        if len(set(buckets)) == 1:
            groups.setdefault(buckets[0], []).append(rows)
            continue
        codes = np.asarray([-1 if b is None else b for b in buckets], dtype=np.int64)[
            pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False)
        ]
        for code in np.unique(codes):
            bucket = None if code < 0 else int(code)
            groups.setdefault(bucket, []).append(rows.filter(pa.array(codes == code)))
    return groups


def since_mask(
    data: pa.Table, column: str, time: str, since: Mapping[Any, Any]
) -> pa.ChunkedArray | pa.Array:
    """True for the rows of ``data`` whose partition ``column`` is in ``since`` and whose
    ``time`` is at or after that partition's hour (the rows a ``replace_since`` replaces)."""
    keys = [k for k in since if k is not None]
    present = pa.array(keys, type=data.schema.field(column).type)
    bounds = pa.array([micros(since[k]) for k in keys], pa.int64())
    at = data.column(time).cast(pa.timestamp("us")).cast(pa.int64())
    mask = pc.greater_equal(
        at, pc.take(bounds, pc.index_in(data.column(column), value_set=present))
    )
    if None in since:
        missing = pc.and_(
            pc.is_null(data.column(column)), pc.greater_equal(at, micros(since[None]))
        )
        mask = pc.or_(pc.fill_null(mask, False), missing)
    return pc.fill_null(mask, False)


def _sorted_for_storage(table: str, rows: pa.Table) -> pa.Table:
    keys = [(c, "ascending") for c in tables.spec(table).sort_columns if c in rows.column_names]
    if keys and rows.num_rows > 1:
        rows = rows.sort_by(keys)
    return rows.cast(stored_schema(table))


def partition_mask(data: pa.Table, column: str, values: Iterable[str | None]) -> pa.ChunkedArray:
    """True for the rows of ``data`` whose ``column`` is one of ``values`` (None: missing)."""
    wanted = list(values)
    present = pa.array([v for v in wanted if v is not None], type=data.schema.field(column).type)
    mask = pc.is_in(data.column(column), value_set=present)
    if None in wanted:
        mask = pc.or_(mask, pc.is_null(data.column(column)))
    return pc.fill_null(mask, False)


def split_by(data: pa.Table, column: str) -> list[tuple[str | None, pa.Table]]:
    """``data``'s rows grouped by ``column`` (sorted once and sliced: one pass, any count)."""
    data = data.sort_by([(column, "ascending")])
    keys = data.column(column).to_pylist()
    groups = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            groups.append((keys[start], data.slice(start, i - start)))
            start = i
    return groups


WRITE_BATCH_ROWS = 250_000  # rows a commit sorts and writes at once (at least a bucket)


@dataclass(frozen=True)
class SpilledRows:
    """Rows of one partition that a transaction moved out of memory into a scratch Parquet file
    until its commit (see ``iceberg_lake.SPILL_BYTES``)."""

    path: str
    partition: str | None
    num_rows: int

    def load(self, schema: pa.Schema) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path).cast(schema)


@dataclass(frozen=True, slots=True)
class HeldRows:
    """Rows of one partition held in memory as a range of a table that a transaction gathered
    many partitions' small writes into (see ``iceberg_lake.GATHER_ROWS``): one Arrow table per
    256 customers instead of one per customer, whose objects and buffers cost ~30 KB each (a
    one-day ingest of 10,000 customers peaked at 1,896 MB, 1,099 MB gathered)."""

    table: pa.Table
    offset: int
    num_rows: int
    partition: str | None

    def rows(self) -> pa.Table:
        """The range as held (text columns dictionary-encoded), without a copy."""
        return self.table.slice(self.offset, self.num_rows)

    def load(self, schema: pa.Schema) -> pa.Table:
        return self.rows().cast(schema)


PendingRows: TypeAlias = "pa.Table | SpilledRows | HeldRows"


def materialize(rows: PendingRows, schema: pa.Schema) -> pa.Table:
    """A transaction's pending rows in ``schema`` (read back when spilled, text decoded)."""
    return rows.cast(schema) if isinstance(rows, pa.Table) else rows.load(schema)


def in_memory(rows: PendingRows) -> pa.Table | None:
    """``rows`` as a table when they are held in memory (as held, not cast), else ``None``."""
    if isinstance(rows, pa.Table):
        return rows
    return rows.rows() if isinstance(rows, HeldRows) else None


def materialize_all(pieces: Sequence[PendingRows], schema: pa.Schema) -> pa.Table:
    """``pieces`` in ``schema``, concatenated in order: the pieces held in memory with one
    schema are cast once together (a run holds one piece per customer and table; casting each
    on its own was most of the cost), spilled ones read back."""
    parts: list[pa.Table] = []
    run: list[pa.Table] = []  # consecutive pieces in memory with one schema (written or gathered)
    for piece in pieces:
        table = in_memory(piece)
        if run and (table is None or not table.schema.equals(run[0].schema)):
            parts.append(pa.concat_tables(run).cast(schema))
            run = []
        if table is None:
            parts.append(materialize(piece, schema))
        else:
            run.append(table)
    if run:
        parts.append(pa.concat_tables(run).cast(schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()


def plan_change(
    table: Any,
    files: Sequence[DataFileRef],
    overwritten: bool,
    replaced: set[str | None],
    rows: Sequence[PendingRows],
    *,
    read: Callable[[Sequence[DataFileRef]], pa.Table],
    snapshots_kept: int,
    since: dict[str | None, Any] | None = None,
) -> TableChange | None:
    """Write a table's new data files and build its next metadata (None: nothing changes).

    ``rows`` are the rows the transaction adds (spec schema). With ``overwritten`` they are
    the whole table; else the rows of the ``replaced`` partitions are dropped first, and the
    rows of the partitions in ``since`` from that partition's hour on. ``read`` reads live
    files (spec schema). Only files that may hold dropped rows are rewritten (a bucket's files
    for a replaced customer; for ``since``, the files whose last hour is at or after it), plus
    a bucket's smaller files once it would hold ``COMPACT_FILES`` files (all of them once
    those add up to ``COMPACT_SHARE`` of its largest).
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files
    from pyiceberg.table.update import update_table_metadata
    from pyiceberg.table.update.snapshot import ExpireSnapshots

    name = table.name()[-1]
    spec = tables.spec(name)
    new = [r for r in rows if r.num_rows]
    since = dict(since or {})
    deleted: list[DataFileRef] = []
    parts: Iterator[pa.Table]
    if overwritten:
        deleted = list(files)
        parts = _overwritten_parts(spec, new)
    elif spec.partition_by is not None:
        parts = _partitioned_parts(spec, files, replaced, since, new, read, deleted)
    else:
        if not new:
            return None
        deleted = list(files) if len(files) >= COMPACT_AT else []
        content = ([read(deleted)] if deleted else []) + list(new)
        parts = iter([materialize_all(content, spec.schema)])

    txn = table.transaction()
    added_files = []
    # A few buckets at a time: the rows are sorted and written in slices of about
    # WRITE_BATCH_ROWS instead of concatenated, sorted and split whole (a 1,000-customer ingest
    # held four copies of it); a small commit is still one write. A bucket's old rows are read
    # only when its turn comes, so a commit holds one bucket's files at a time.
    batch: list[pa.Table] = []
    for part in itertools.chain(parts, [None]):
        if part is not None and part.num_rows:
            batch.append(part)
        if batch and (part is None or sum(b.num_rows for b in batch) >= WRITE_BATCH_ROWS):
            data = _sorted_for_storage(name, pa.concat_tables(batch))
            batch = []
            added_files += list(_dataframe_to_data_files(txn.table_metadata, data, table.io))
            del data
    if not deleted and not added_files:
        return None
    producer = (
        txn.update_snapshot().overwrite() if deleted else txn.update_snapshot().merge_append()
    )
    with producer as snapshot:
        for f in deleted:
            snapshot.delete_data_file(f.data_file)
        for df in added_files:
            snapshot.append_data_file(df)
    old = sorted(txn.table_metadata.snapshots, key=lambda s: s.sequence_number)
    expired = [s.snapshot_id for s in old[:-snapshots_kept]]
    if expired:
        ExpireSnapshots(txn).by_ids(expired).commit()
    metadata = update_table_metadata(
        table.metadata,
        txn._updates,
        enforce_validation=True,
        metadata_location=table.metadata_location,
    )
    added = [file_ref(metadata, name, df) for df in added_files]
    return TableChange(name, table, metadata, added, base_location=table.metadata_location)


def _overwritten_parts(spec: tables.TableSpec, new: list[PendingRows]) -> Iterator[pa.Table]:
    """A replaced table's new rows, a bucket at a time (all together when unpartitioned)."""
    if not new:
        return
    if spec.partition_by is None:  # text columns a transaction kept dictionary-encoded
        yield materialize_all(new, spec.schema)
        return
    groups = _bucket_pieces(spec, new)
    for bucket in sorted(groups, key=lambda b: (b is None, b)):
        yield materialize_all(groups.pop(bucket), spec.schema)


def _partitioned_parts(
    spec: tables.TableSpec,
    files: Sequence[DataFileRef],
    replaced: set[str | None],
    since: dict[str | None, Any],
    new: list[PendingRows],
    read: Callable[[Sequence[DataFileRef]], pa.Table],
    deleted: list[DataFileRef],
) -> Iterator[pa.Table]:
    """Per touched bucket: the rows kept from the files it rewrites, then its new rows; the
    rewritten files are added to ``deleted`` as their bucket is reached."""
    column = spec.partition_by
    assert column is not None
    time = spec.time
    lowest = -(2**63)
    # per bucket, the earliest hour (microseconds) from which its stored rows may be replaced
    floor: dict[int | None, int] = {}
    for value in replaced:
        floor[bucket_of(value)] = lowest
    for value, hour in since.items():
        b = bucket_of(value)
        floor[b] = min(floor.get(b, 2**63 - 1), lowest if hour is None else micros(hour))
    groups = _bucket_pieces(spec, new)
    by_bucket: dict[int | None, list[DataFileRef]] = {}
    for f in files:
        by_bucket.setdefault(f.bucket, []).append(f)
    for bucket in sorted(set(groups) | set(floor), key=lambda b: (b is None, b)):
        live = by_bucket.get(bucket, [])
        lo = floor.get(bucket)
        rewrite = [f for f in live if lo is not None and (f.last is None or f.last >= lo)]
        pieces = groups.pop(bucket, [])
        fresh = materialize_all(pieces, spec.schema) if pieces else None
        if fresh is not None and fresh.num_rows:
            others = [f for f in live if f not in rewrite]
            if len(others) + 1 >= COMPACT_FILES:
                largest = max(others, key=lambda f: f.rows)
                rest = [f for f in others if f is not largest]
                small = sum(f.rows for f in rest) < COMPACT_SHARE * largest.rows
                rewrite += rest if small else others
        if rewrite:
            kept = read(rewrite)
            drop = partition_mask(kept, column, replaced) if replaced else None
            if since:
                late = since_mask(kept, column, time, since)
                drop = late if drop is None else pc.or_(drop, late)
            if drop is not None:
                kept = kept.filter(pc.invert(drop))
            deleted += rewrite
            yield kept
        if fresh is not None:
            yield fresh
