"""Local backend: Apache Iceberg tables in a folder, a SQLite catalog, DuckDB for SQL.

Layout of a lake folder (``docs/decisions/lake-iceberg.md``):

- ``catalog.db``: pyiceberg's SQL catalog (SQLite): one row per table naming its current
  metadata file, plus meterwatch's ``meterwatch_files`` (size and SHA-256 of every data file
  a commit published, for ``meterwatch check``);
- ``curated/<table>/metadata/``, ``curated/<table>/data/[client_id_bucket=<n>/]``: each
  table's Iceberg metadata and Parquet data files. Tables with a customer column are
  partitioned by ``bucket(16, client_id)`` (and by month of their hour or day where they have
  one) and every file is sorted by customer and hour, so a customer's read opens one bucket's
  files and skips the row groups of the others;
- ``raw/``, ``objects/``, ``_meta/`` as before (raw input, models and reports, users, lock).

A transaction keeps its writes in memory and, at commit, rewrites the files that hold the
rows it replaces (copy-on-write; new hours after the stored ones are a new file), writes
each table's new Iceberg snapshot and metadata file, fsyncs them, and publishes every
table's new metadata location in ONE SQLite transaction: that is the commit point. pyiceberg commits one table at a time,
so meterwatch does the catalog swap itself; a process killed before it leaves the catalog as
it was (the files it wrote are collected at the next commit), one killed after it has
committed everything. Writers are serialised by an exclusive lock on ``_meta/lock``.

Iceberg metadata holds absolute paths. The lake records the root its metadata was written
under; a copied or moved lake folder maps that root onto where it now is (:class:`_RootedIO`),
so it keeps working, while other Iceberg readers need the original path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from meterwatch import tables
from meterwatch.storage import CATALOG_FILE
from meterwatch.storage.base import DamagedFile, DamagedLakeError, ReadOnlyQueryError
from meterwatch.storage.iceberg_lake import (
    METADATA_KEPT,
    IcebergLake,
    IcebergTransaction,
    LakeState,
)
from meterwatch.storage.iceberg_tables import NAMESPACE, TableChange, to_arrow
from meterwatch.storage.legacy import READ_STATEMENTS, VIEWS, file_digest
from meterwatch.storage.localfs import LocalObjects, fsync_path

CATALOG_NAME = "meterwatch"

__all__ = ["LocalLake", "LocalTransaction", "to_arrow"]

LocalTransaction = IcebergTransaction


@dataclass(frozen=True)
class _Connection:
    """The DuckDB of one lake state, and the tables it could not open (damaged files)."""

    locations: tuple[tuple[str, str], ...]
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


def _duckdb_type(dtype: pa.DataType) -> str | None:
    """The DuckDB type a column is cast to when Iceberg stores it wider, else None."""
    if pa.types.is_int8(dtype):
        return "TINYINT"
    if pa.types.is_int16(dtype):
        return "SMALLINT"
    return None


class LocalLake(LocalObjects, IcebergLake):
    """A lake in a local folder, its tables in Apache Iceberg."""

    def __init__(self, root: str | Path, *, home: str | Path | None = None) -> None:
        from meterwatch.storage.iceberg_tables import RootedIO

        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        self._meta = self.root / "_meta"
        for sub in ("_meta", "raw", "curated", "objects"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._db_path = self.root / CATALOG_FILE
        self._init_meterwatch_tables(Path(home) if home is not None else self.root)
        self.io = RootedIO(RootedIO.properties_for(self._home(), self.root))
        if {name for name, _loc in self._locations()} != set(tables.TABLES):
            self._create_tables()
        self._init_states()
        self._con_lock = threading.Lock()
        self._con: _Connection | None = None
        self._unsynced: list[Path] = []
        self._unsynced_lock = threading.Lock()

    def _create_tables(self) -> None:
        """Create pyiceberg's catalog schema and every missing table (a new lake)."""
        from pyiceberg.catalog.sql import SqlCatalog

        from meterwatch.storage.iceberg_tables import RootedIO, create_tables

        home = Path(self.io.home)
        catalog = SqlCatalog(
            CATALOG_NAME,
            uri=f"sqlite:///{self._db_path}",
            warehouse=(home / "curated").as_uri(),
            **RootedIO.properties_for(home, self.root),
        )
        with self._lock():
            create_tables(catalog, home / "curated")
        catalog.engine.dispose()

    # catalog --------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._db_path, timeout=60, isolation_level=None)
        con.execute("PRAGMA synchronous = FULL")
        return con

    def _init_meterwatch_tables(self, home: Path) -> None:
        with contextlib.closing(self._db()) as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS meterwatch_files"
                " (path TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT NOT NULL)"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS meterwatch_lake (key TEXT PRIMARY KEY, value TEXT)"
            )
            con.execute("INSERT OR IGNORE INTO meterwatch_lake VALUES ('home', ?)", [str(home)])

    def _home(self) -> str:
        """The root the lake's metadata was written under (where it was created)."""
        with contextlib.closing(self._db()) as con:
            (home,) = con.execute("SELECT value FROM meterwatch_lake WHERE key = 'home'").fetchone()
        return str(home)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        fd = os.open(self._meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _locations(self) -> tuple[tuple[str, str], ...]:
        with contextlib.closing(self._db()) as con:
            known = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'iceberg_tables'"
            ).fetchone()
            if known is None:
                return ()
            rows = con.execute(
                "SELECT table_name, metadata_location FROM iceberg_tables"
                " WHERE catalog_name = ? AND table_namespace = ?",
                [CATALOG_NAME, NAMESPACE],
            ).fetchall()
        return tuple(sorted((str(n), str(loc)) for n, loc in rows))

    def _publish(self, changes: Sequence[TableChange], digests: dict[str, tuple[int, str]]) -> None:
        """Point the catalog at every changed table's new metadata in one SQLite transaction."""
        with contextlib.closing(self._db()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                for change in changes:
                    cur = con.execute(
                        "UPDATE iceberg_tables SET metadata_location = ?,"
                        " previous_metadata_location = ? WHERE catalog_name = ?"
                        " AND table_namespace = ? AND table_name = ? AND metadata_location = ?",
                        [
                            change.metadata_location,
                            change.base_location,
                            CATALOG_NAME,
                            NAMESPACE,
                            change.name,
                            change.base_location,
                        ],
                    )
                    if cur.rowcount != 1:
                        raise RuntimeError(f"{change.name}: another writer committed first")
                con.executemany(
                    "INSERT OR REPLACE INTO meterwatch_files VALUES (?, ?, ?)",
                    [(path, size, sha) for path, (size, sha) in digests.items()],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def kept_files(self, names: Sequence[str] | None = None) -> set[Path]:
        """Every file of the tables (all when None) that a kept snapshot or metadata needs."""
        from meterwatch.storage.iceberg_tables import referenced_paths

        state = self.state()
        return {
            self._local(p)
            for name in (names if names is not None else list(tables.TABLES))
            for p in referenced_paths(state[name].table, METADATA_KEPT)
        }

    def _collect_garbage(self, names: Sequence[str]) -> None:
        """Delete files of ``names`` that no kept snapshot or metadata file references.

        Writers hold the lake's lock, so a file no kept snapshot names is garbage: an old
        version, or a file of a transaction that was aborted or killed.
        """
        keep = self.kept_files(names)
        gone: list[str] = []
        for name in names:
            for dirpath, _dirs, files in os.walk(self.root / "curated" / name):
                for file in files:
                    full = Path(dirpath) / file
                    if full not in keep:
                        gone.append(self.io.logical(full))
                        full.unlink(missing_ok=True)
        if gone:
            with contextlib.closing(self._db()) as con:
                con.executemany("DELETE FROM meterwatch_files WHERE path = ?", [(g,) for g in gone])

    def _local(self, location: str) -> Path:
        return Path(self.io.physical(location))

    def _filesystem(self) -> Any:
        return None

    def _data_path(self, location: str) -> str:
        return str(self._local(location))

    def _size(self, location: str) -> int:
        return self._local(location).stat().st_size

    def _digest(self, location: str) -> tuple[int, str]:
        return file_digest(self._local(location))

    def _make_durable(self, changes: Sequence[TableChange]) -> None:
        # fsync in parallel: the catalog must not point at data a power cut could lose.
        to_sync = self._take_unsynced()
        to_sync += [self._local(p) for c in changes for p in c.written_paths()]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(fsync_path, to_sync))

    def _rel(self, location: str) -> str:
        return str(self._local(location).relative_to(self.root))

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
    def transaction(self) -> IcebergTransaction:
        fd = os.open(self._meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)

        def release() -> None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

        try:
            return IcebergTransaction(self, release)
        except BaseException:
            release()
            raise

    # integrity ------------------------------------------------------------------------------------
    def _recorded(self) -> dict[str, tuple[int, str]]:
        with contextlib.closing(self._db()) as con:
            rows = con.execute("SELECT path, size, sha256 FROM meterwatch_files").fetchall()
        return {str(p): (int(s), str(h)) for p, s, h in rows}

    # SQL ----------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor with one view per table, over the current state."""
        with self._cursor(self.state()) as (cursor, _broken):
            yield cursor

    @contextlib.contextmanager
    def _cursor(
        self, state: LakeState
    ) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, list[DamagedFile]]]]:
        with self._con_lock:
            if self._con is None or self._con.locations != state.locations:
                if self._con is not None:
                    self._con.con.close()
                self._con = self._build_connection(state)
            cursor = self._con.con.cursor()
            broken = self._con.broken
        try:
            yield cursor, broken
        finally:
            cursor.close()

    def _build_connection(self, state: LakeState) -> _Connection:
        """An in-memory DuckDB holding one view per table, and nothing else it can reach.

        Each view reads the live Parquet files of the table's current Iceberg snapshot (the
        upserts are copy-on-write, so there are no delete files to apply). Once the views
        exist, external access is switched off and the configuration locked, as before.
        """
        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        con.execute("SET enable_object_cache = true")
        broken: dict[str, list[DamagedFile]] = {}
        for name, spec in tables.TABLES.items():
            files = [str(self._local(f.path)) for f in state[name].files]
            created = False
            if files:
                # The list and the columns come from the catalog, never from user input.
                listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                select = ", ".join(
                    f'CAST("{c.name}" AS {t}) AS "{c.name}"'
                    if (t := _duckdb_type(c.type))
                    else f'"{c.name}"'
                    for c in spec.schema
                )
                try:
                    con.execute(
                        f"CREATE VIEW _t_{name} AS SELECT {select} FROM read_parquet([{listing}])"  # noqa: S608
                    )
                    created = True
                except duckdb.Error as exc:
                    one = LakeState(state.locations, {name: state[name]})
                    damage = self._damage_behind(one, exc)
                    if not isinstance(damage, DamagedLakeError):
                        raise
                    broken[name] = damage.damaged
            if not created:
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
        return _Connection(state.locations, con, broken)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a read-only query (SELECT, EXPLAIN, DESCRIBE, SHOW) over the tables.

        Raises :class:`ReadOnlyQueryError` for any other statement, and
        :class:`DamagedLakeError` when a data file it reads is missing or damaged.
        """
        state = self.state()
        with self._cursor(state) as (cur, broken):
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
                raise self._damage_behind(state, exc) from exc
