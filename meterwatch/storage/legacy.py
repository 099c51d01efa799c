"""The retired local backend (a hand-written snapshot log), kept to migrate old lakes.

The S3 backend (:mod:`meterwatch.storage.s3`) still builds on its snapshot bookkeeping.

Every commit writes new Parquet files under ``curated/<table>/`` and then a new snapshot
(a JSON list of the live files of every table). Switching the ``CURRENT`` pointer with an
atomic rename is the commit point: a process killed at any moment leaves either the old
or the new snapshot current, and files no snapshot references are collected later.
Writers are serialised by an exclusive lock on ``_meta/lock``.

The snapshot records each data file's size and SHA-256, so :meth:`SnapshotLake.verify` (the
``meterwatch check`` command) can tell a damaged or missing file from a good one, and a read
that fails on one names the table and the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import threading
import uuid
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from meterwatch import tables
from meterwatch.storage.base import (
    DamagedFile,
    DamagedLakeError,
    Lake,
    ReadOnlyQueryError,
    Transaction,
    Verification,
)
from meterwatch.storage.iceberg_tables import to_arrow
from meterwatch.storage.localfs import LocalObjects, atomic_write, fsync_path

NULL_PARTITION = "__null__"
MAX_PENDING_WRITES = 8
SNAPSHOTS_KEPT = 20  # snapshot files kept for inspection
SNAPSHOTS_PROTECTED = 3  # files of the newest snapshots survive GC, for readers still on them
VIEWS = {
    # The curated readings carry the customer's sector through the customers table, so a
    # new sector map never rewrites readings.
    "readings": "SELECT r.*, c.sector FROM _t_readings r LEFT JOIN _t_customers c USING (client_id)",
}


# Statement kinds a query may hold: reading only (DESCRIBE and SHOW parse as SELECT).
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the lake root
    partition: str | None
    rows: int
    # Recorded at commit; None in snapshots written before checksums were kept.
    size: int | None = None
    sha256: str | None = None

    def to_json(self) -> list[Any]:
        head: list[Any] = [self.path, self.partition, self.rows]
        return head if self.size is None else [*head, self.size, self.sha256]

    @classmethod
    def from_json(cls, item: Sequence[Any]) -> FileEntry:
        path, part, rows, *digest = item
        size, sha256 = (int(digest[0]), digest[1]) if digest else (None, None)
        return cls(path, part, int(rows), size, sha256)


@dataclass
class Snapshot:
    seq: int
    tables: dict[str, list[FileEntry]] = field(default_factory=dict)

    def files(self, table: str) -> list[FileEntry]:
        return self.tables.get(table, [])

    def to_json(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "created_at": datetime.now(UTC).isoformat(),
                "tables": {
                    name: [f.to_json() for f in files]
                    for name, files in sorted(self.tables.items())
                },
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        doc = json.loads(text)
        return cls(
            seq=int(doc["seq"]),
            tables={
                name: [FileEntry.from_json(item) for item in files]
                for name, files in doc["tables"].items()
            },
        )


def parquet_bytes(part: pa.Table, **options: Any) -> pa.Buffer:
    """``part`` encoded as one Parquet file (zstd; dictionaries for the text columns only)."""
    # Dictionary-encode only the repetitive text columns: trying it on measurements costs
    # time and gains nothing.
    text_cols = [f.name for f in part.schema if pa.types.is_string(f.type)]
    sink = pa.BufferOutputStream()
    pq.write_table(part, sink, compression="zstd", use_dictionary=text_cols, **options)
    return sink.getvalue()


@dataclass(frozen=True)
class _Connection:
    """The DuckDB of one snapshot, and the tables it could not open (damaged files)."""

    seq: int
    con: duckdb.DuckDBPyConnection
    broken: dict[str, list[DamagedFile]]


def _tables_read(cur: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """The lake tables a query reads (every table when DuckDB cannot tell)."""
    try:
        names = {n.removeprefix("_t_") for n in cur.get_table_names(sql, qualified=False)}
    except duckdb.Error:
        return set(tables.TABLES)
    for view, definition in VIEWS.items():
        if view in names:
            names |= {t for t in tables.TABLES if f"_t_{t} " in definition + " "}
    return names


def _write_parquet(part: pa.Table, path: Path) -> tuple[int, str]:
    """Write ``part`` to ``path``; return the file's size and SHA-256 (hashed before writing)."""
    data = parquet_bytes(part, compression_level=1)
    digest = hashlib.sha256(memoryview(data)).hexdigest()
    with open(path, "wb") as fh:
        fh.write(memoryview(data))
    return data.size, digest


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def verification(snap: Snapshot, digest: Callable[[str], tuple[int, str] | None]) -> Verification:
    """:func:`find_damage` over every live file, with the counts ``meterwatch check`` prints."""
    entries = [f for files in snap.tables.values() for f in files]
    return Verification(
        files=len(entries),
        unrecorded=sum(f.sha256 is None for f in entries),
        damaged=find_damage(snap, digest),
    )


def find_damage(
    snap: Snapshot, digest: Callable[[str], tuple[int, str] | None], *, full: bool = True
) -> list[DamagedFile]:
    """The live files of ``snap`` that are missing or differ from what their commit recorded.

    ``digest(path)`` returns a file's size and SHA-256 (None when it is missing); with
    ``full=False`` it may return an empty hash and only sizes are compared (a quick look).
    Files of snapshots older than the checksums are checked for presence only.
    """
    damaged = []
    for table, files in sorted(snap.tables.items()):
        for entry in files:
            found = digest(entry.path)
            if found is None:
                damaged.append(DamagedFile(table, entry.path, "missing"))
            elif entry.size is not None and found[0] != entry.size:
                damaged.append(
                    DamagedFile(table, entry.path, f"size {found[0]} bytes, {entry.size} recorded")
                )
            elif full and entry.sha256 is not None and found[1] != entry.sha256:
                damaged.append(
                    DamagedFile(table, entry.path, "checksum differs from the recorded one")
                )
    return damaged


class SnapshotTransaction(Transaction):
    """A transaction over a snapshot's file lists: what every backend's writes have in common.

    A backend supplies :meth:`_write_files` (store the rows, return their file entries); the
    table bookkeeping of append, overwrite and partition overwrite is the same everywhere.
    """

    def __init__(self, base: Snapshot) -> None:
        self._base = base
        self._tables: dict[str, list[FileEntry]] = {k: list(v) for k, v in base.tables.items()}
        self._closed = False

    @abstractmethod
    def _write_files(self, table: str, data: pa.Table) -> list[FileEntry]:
        """Store ``data`` (one file per partition value) and return the new file entries."""

    def append(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        self._check_open()
        arrow = to_arrow(table, data)
        self._tables.setdefault(table, []).extend(self._write_files(table, arrow))

    def overwrite_partitions(
        self, table: str, data: pa.Table | pd.DataFrame, partitions: Iterable[str | None]
    ) -> None:
        self._check_open()
        spec = tables.spec(table)
        if spec.partition_by is None:
            raise ValueError(f"table {table!r} is not partitioned")
        arrow = to_arrow(table, data)
        replaced = set(partitions)
        stray = set(arrow.column(spec.partition_by).unique().to_pylist()) - replaced
        if stray:
            raise ValueError(
                f"{table}: rows for partitions not being replaced: {sorted(map(str, stray))[:5]}"
            )
        kept = [f for f in self._tables.get(table, []) if f.partition not in replaced]
        self._tables[table] = kept + self._write_files(table, arrow)

    def overwrite(self, table: str, data: pa.Table | pd.DataFrame) -> None:
        self._check_open()
        arrow = to_arrow(table, data)
        self._tables[table] = self._write_files(table, arrow)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("transaction already committed or aborted")


class LocalTransaction(SnapshotTransaction):
    """Writes files as it goes; :meth:`commit` publishes them in one new snapshot."""

    def __init__(self, lake: SnapshotLake, lock_fd: int) -> None:
        super().__init__(lake.snapshot())
        self._lake = lake
        self._lock_fd = lock_fd
        self._written: list[Path] = []
        self._closed = False
        # Parquet files are encoded and written in a background thread (pyarrow releases the
        # GIL) while the caller prepares the next one; reads and the commit wait for them.
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[tuple[int, str]]] = {}
        self._digests: dict[str, tuple[int, str]] = {}  # lake-relative path -> size, sha256

    def _submit_write(self, part: pa.Table, path: Path) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parquet")
        while len(self._pending) >= MAX_PENDING_WRITES:  # bound the memory held by the queue
            self._settle(next(iter(self._pending)))
        self._pending[str(path)] = self._pool.submit(_write_parquet, part, path)

    def _settle(self, key: str) -> None:
        """Wait for one pending write and keep its digest; re-raise its error."""
        digest = self._pending.pop(key).result()
        self._digests[str(Path(key).relative_to(self._lake.root))] = digest

    def _wait(self, files: Iterable[str] | None = None) -> None:
        """Wait for the pending writes of ``files`` (all when None); re-raise their errors."""
        keys = list(self._pending) if files is None else [f for f in files if f in self._pending]
        for key in keys:
            self._settle(key)

    # writing ---------------------------------------------------------------------------
    def _write_files(self, table: str, data: pa.Table) -> list[FileEntry]:
        spec = tables.spec(table)
        groups: list[tuple[str | None, pa.Table]]
        if spec.partition_by is None:
            groups = [(None, data)]
        else:
            groups = []
            col = data.column(spec.partition_by)
            values = col.unique().to_pylist()
            if len(values) == 1:
                groups = [(values[0], data)]
            else:
                # Sort once and slice: cheaper than one filter per partition value.
                data = data.sort_by(spec.partition_by)
                keys = data.column(spec.partition_by).to_pylist()
                start = 0
                for i in range(1, len(keys) + 1):
                    if i == len(keys) or keys[i] != keys[start]:
                        groups.append((keys[start], data.slice(start, i - start)))
                        start = i
        entries = []
        for value, part in groups:
            if part.num_rows == 0:
                continue
            folder = self._lake.root / "curated" / table
            if spec.partition_by is not None:
                name = NULL_PARTITION if value is None else quote(str(value), safe="")
                folder = folder / f"{spec.partition_by}={name}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{uuid.uuid4().hex}.parquet"
            self._written.append(path)
            self._submit_write(part, path)
            entries.append(FileEntry(str(path.relative_to(self._lake.root)), value, part.num_rows))
        return entries

    def read(self, table: str, *, partitions: Sequence[str | None] | None = None) -> pa.Table:
        self._check_open()
        snap = Snapshot(self._base.seq, self._tables)
        files = self._lake._files(snap, table, partitions)
        self._wait(files)
        return self._lake._read_files(table, files, None)

    # ending --------------------------------------------------------------------------------
    def commit(self) -> None:
        self._check_open()
        try:
            self._wait()
            changed = self._tables != self._base.tables
            to_sync = self._lake._take_unsynced()
            if changed:
                live = {f.path for files in self._tables.values() for f in files}
                to_sync += [p for p in self._written if str(p.relative_to(self._lake.root)) in live]
            # fsync in parallel: the waits overlap, and the snapshot must not point at data
            # a power cut could lose.
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(fsync_path, to_sync))
            if changed:
                new = Snapshot(self._base.seq + 1, self._with_digests())
                self._lake._publish(new)
                self._lake._collect_garbage()
        finally:
            self._release()

    def _with_digests(self) -> dict[str, list[FileEntry]]:
        """The file lists with the size and checksum of every file this transaction wrote."""
        out = {}
        for table, files in self._tables.items():
            entries = []
            for f in files:
                digest = self._digests.get(f.path)
                entries.append(
                    FileEntry(f.path, f.partition, f.rows, *digest) if digest is not None else f
                )
            out[table] = entries
        return out

    def abort(self) -> None:
        if self._closed:
            return
        try:
            for future in self._pending.values():
                with contextlib.suppress(Exception):
                    future.result()
            self._pending.clear()
            for path in self._written:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        finally:
            self._release()

    def _release(self) -> None:
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)


class SnapshotLake(LocalObjects, Lake):
    """A lake in a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        self._meta = self.root / "_meta"
        self._con_lock = threading.Lock()
        self._con: _Connection | None = None
        # Raw files written but not yet fsynced: the next commit syncs them with its own
        # files, in parallel, before it publishes a snapshot that names them.
        self._unsynced: list[Path] = []
        self._unsynced_lock = threading.Lock()
        for sub in ("_meta/snapshots", "raw", "curated", "objects"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # snapshots ------------------------------------------------------------------------------
    def _current_seq(self) -> int:
        try:
            return int((self._meta / "CURRENT").read_text().strip())
        except FileNotFoundError:
            return 0

    def snapshot(self) -> Snapshot:
        """The committed state of the lake as of now."""
        seq = self._current_seq()
        if seq == 0:
            return Snapshot(0)
        return Snapshot.from_json((self._meta / "snapshots" / f"{seq:012d}.json").read_text())

    def _publish(self, snap: Snapshot) -> None:
        atomic_write(self._meta / "snapshots" / f"{snap.seq:012d}.json", snap.to_json().encode())
        atomic_write(self._meta / "CURRENT", f"{snap.seq}\n".encode())

    def recent_snapshots(self) -> list[Snapshot]:
        """The newest snapshots, whose files garbage collection keeps."""
        out = []
        for path in sorted((self._meta / "snapshots").glob("*.json"))[-SNAPSHOTS_PROTECTED:]:
            with contextlib.suppress(FileNotFoundError, ValueError):
                out.append(Snapshot.from_json(path.read_text()))
        return out

    def _collect_garbage(self) -> None:
        """Delete data files no recent snapshot references (old versions, killed writers)."""
        snaps = sorted((self._meta / "snapshots").glob("*.json"))
        for old in snaps[:-SNAPSHOTS_KEPT]:
            old.unlink(missing_ok=True)
        live = {
            f.path
            for snap in self.recent_snapshots()
            for files in snap.tables.values()
            for f in files
        }
        curated = self.root / "curated"
        for dirpath, _dirs, files in os.walk(curated):
            for name in files:
                full = Path(dirpath) / name
                if str(full.relative_to(self.root)) not in live:
                    full.unlink(missing_ok=True)
        for tmp in self._meta.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # raw zone ----------------------------------------------------------------------------------
    def put_raw(self, source: Path, sha256: str, data: bytes | None = None) -> str:
        key = f"raw/sha256={sha256}/{source.name}"
        target = self.root / key
        size = source.stat().st_size if data is None else len(data)
        try:
            kept = target.stat().st_size == size  # a power cut can leave a short file
        except FileNotFoundError:
            kept = False
        if not kept:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            if data is None:
                shutil.copyfile(source, tmp)
            else:
                tmp.write_bytes(data)
            os.replace(tmp, target)
            with self._unsynced_lock:
                self._unsynced.append(target)
        return key

    def _take_unsynced(self) -> list[Path]:
        with self._unsynced_lock:
            out, self._unsynced = self._unsynced, []
        return out

    def get_raw(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    # tables ---------------------------------------------------------------------------------------
    def transaction(self) -> LocalTransaction:
        fd = os.open(self._meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return LocalTransaction(self, fd)

    def _files(
        self, snap: Snapshot, table: str, partitions: Sequence[str | None] | None
    ) -> list[str]:
        entries = snap.files(table)
        if partitions is not None:
            wanted = set(partitions)
            entries = [f for f in entries if f.partition in wanted]
        return [str(self.root / f.path) for f in entries]

    def read_arrow(
        self,
        table: str,
        *,
        partitions: Sequence[str | None] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Like :meth:`read`, as an Arrow table."""
        snap = self.snapshot()
        try:
            return self._read_files(table, self._files(snap, table, partitions), columns)
        except (OSError, pa.ArrowException) as exc:
            raise self._damage_behind(snap, exc) from exc

    def _read_files(self, table: str, files: list[str], columns: Sequence[str] | None) -> pa.Table:
        schema = tables.spec(table).schema
        cols = list(columns) if columns is not None else None
        if not files:
            empty = schema.empty_table()
            return empty.select(cols) if cols else empty
        return pads.dataset(files, schema=schema, format="parquet").to_table(columns=cols)

    # integrity ------------------------------------------------------------------------------------
    def _digest(self, path: str, *, full: bool) -> tuple[int, str] | None:
        try:
            if full:
                return file_digest(self.root / path)
            return (self.root / path).stat().st_size, ""
        except FileNotFoundError:
            return None

    def verify(self) -> Verification:
        """Check every live data file against the size and SHA-256 recorded at its commit."""
        return verification(self.snapshot(), lambda path: self._digest(path, full=True))

    def _damage_behind(self, snap: Snapshot, exc: Exception) -> Exception:
        """The :class:`DamagedLakeError` behind a failed read, or ``exc`` when there is none.

        A quick look (presence and size of every live file), plus the live files the error
        message names (a snapshot without recorded sizes cannot tell a truncated file).
        """
        damaged = find_damage(snap, lambda path: self._digest(path, full=False), full=False)
        named = {d.path for d in damaged}
        message = str(exc)
        for table, files in snap.tables.items():
            for f in files:
                if f.path not in named and str(self.root / f.path) in message:
                    damaged.append(DamagedFile(table, f.path, message.splitlines()[0][:200]))
        return DamagedLakeError(damaged) if damaged else exc

    def read(
        self,
        table: str,
        *,
        partitions: Sequence[str | None] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        return self.read_arrow(table, partitions=partitions, columns=columns).to_pandas()

    def partitions(self, table: str) -> list[str | None]:
        if tables.spec(table).partition_by is None:
            raise ValueError(f"table {table!r} is not partitioned")
        return sorted(
            {f.partition for f in self.snapshot().files(table)}, key=lambda v: (v is None, v)
        )

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor with one view per table, over the current snapshot."""
        with self._cursor() as (cursor, _broken):
            yield cursor

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, list[DamagedFile]]]]:
        snap = self.snapshot()
        with self._con_lock:
            if self._con is None or self._con.seq != snap.seq:
                if self._con is not None:
                    self._con.con.close()
                self._con = self._build_connection(snap)
            cursor = self._con.con.cursor()
            broken = self._con.broken
        try:
            yield cursor, broken
        finally:
            cursor.close()

    def _build_connection(self, snap: Snapshot) -> _Connection:
        """An in-memory DuckDB holding one view per table, and nothing else it can reach.

        Once the views exist, external access is switched off (no file outside the tables'
        data folders can be read, none written, no extension loaded) and the configuration is
        locked, so a query cannot switch it back on. The folders are allowed rather than each
        live file: DuckDB takes ~0.1 s per thousand allowed paths, at every new snapshot.
        """
        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        con.execute("SET enable_object_cache = true")
        broken: dict[str, list[DamagedFile]] = {}
        for name, spec in tables.TABLES.items():
            files = self._files(snap, name, None)
            created = False
            if files:
                # The list is built from the snapshot, never from user input.
                listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                try:
                    con.execute(f"CREATE VIEW _t_{name} AS SELECT * FROM read_parquet([{listing}])")  # noqa: S608
                    created = True
                except duckdb.Error as exc:
                    # A missing or unreadable file: the queries that read this table fail
                    # naming it, the others still run (over an empty stand-in).
                    one = Snapshot(snap.seq, {name: snap.files(name)})
                    damage = self._damage_behind(one, exc)
                    if not isinstance(damage, DamagedLakeError):
                        raise
                    broken[name] = damage.damaged
            if not created:
                # Cursors do not see registered Arrow objects: materialise an empty table.
                con.register("_empty", spec.schema.empty_table())
                con.execute(f"CREATE TABLE _t_{name} AS SELECT * FROM _empty")  # noqa: S608 (registry name)
                con.unregister("_empty")
        for name in tables.TABLES:
            view = VIEWS.get(name, f"SELECT * FROM _t_{name}")  # noqa: S608 (registry name)
            con.execute(f"CREATE VIEW {name} AS {view}")
        folders = [f"{self.root / 'curated' / name}{os.sep}" for name in tables.TABLES]
        con.execute("SET allowed_directories = ?", [folders])
        con.execute("SET python_enable_replacements = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return _Connection(snap.seq, con, broken)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a read-only query (SELECT, EXPLAIN, DESCRIBE, SHOW) over the tables.

        Raises :class:`ReadOnlyQueryError` for any other statement, and
        :class:`DamagedLakeError` when a data file it reads is missing or damaged.
        """
        snap = self.snapshot()
        with self._cursor() as (cur, broken):
            kinds = [s.type.name for s in cur.extract_statements(sql)]
            refused = sorted(set(kinds) - READ_STATEMENTS)
            if refused:
                raise ReadOnlyQueryError(
                    f"the lake's SQL is read-only (SELECT, EXPLAIN, DESCRIBE, SHOW): "
                    f"{', '.join(refused)} refused"
                )
            if broken:
                hit = _tables_read(cur, sql) & set(broken)
                if hit:
                    raise DamagedLakeError([d for t in sorted(hit) for d in broken[t]])
            try:
                result = cur.execute(sql, params) if params is not None else cur.execute(sql)
                return result.df()
            except duckdb.Error as exc:
                raise self._damage_behind(snap, exc) from exc
