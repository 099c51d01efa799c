"""AWS backend: Parquet on S3, a snapshot log with conditional puts, Glue + Athena for SQL.

The layout under ``s3://bucket/prefix/`` mirrors the local lake:

- ``curated/<table>/[client_id=<id>/]<uuid>.parquet``: data files, written as a
  transaction goes;
- ``_meta/snapshots/<seq>.json``: the commit log. A transaction commits by creating the
  next snapshot with ``If-None-Match: *``; S3 lets exactly one writer create a key, so two
  writers racing for the same sequence number cannot both win (the loser gets
  :class:`CommitConflict` and nothing it wrote becomes visible). ``_meta/CURRENT`` is only
  a hint: readers start there and probe forward to the newest snapshot;
- ``_athena/<table>/[client_id=<id>/]manifest``: Hive symlink manifests listing the live
  files, which is what the Glue tables point at. Athena therefore reads the snapshot, never
  a half-written transaction or a file the snapshot dropped;
- ``objects/<key>``: models, reports.

Raw input files go to ``raw/sha256=<hash>/<name>``, in the lake's bucket or, when
``raw_uri`` is given, in a separate (versioned) raw bucket.

SQL is written once in DuckDB's dialect. :meth:`S3Lake.query` rewrites it for Athena
(Trino) with sqlglot and binds values as Athena execution parameters. The engine that runs
the rewritten SQL is a seam: :class:`AthenaEngine` in AWS, :class:`DuckDBEngine` in tests
(moto's Athena does not execute SQL), which runs the very same Trino SQL, transpiled back,
over the same Parquet files.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from meterwatch import tables
from meterwatch.storage.base import (
    DamagedFile,
    DamagedLakeError,
    Lake,
    ReadOnlyQueryError,
    Verification,
)
from meterwatch.storage.legacy import (
    NULL_PARTITION,
    FileEntry,
    Snapshot,
    SnapshotTransaction,
    parquet_bytes,
    verification,
)

SNAPSHOTS_KEPT = 20
SNAPSHOTS_PROTECTED = 3
# A file no snapshot references is only deleted once it is older than the longest a
# writer can run (a Lambda's 15 minutes), so a concurrent transaction's files survive.
GC_MIN_AGE = timedelta(minutes=30)
IO_THREADS = 16
SYMLINK_INPUT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
SYMLINK_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_MARK = "mwparam"
_MARK_RE = re.compile(rf"[:$@]?{_MARK}(\d+)\b")


class CommitConflict(RuntimeError):
    """Another writer committed first; nothing of this transaction became visible."""


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> (``bucket``, ``a/b``) with no trailing slash."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.strip("/")


def glue_type(dtype: pa.DataType) -> str:
    """The Glue/Athena column type of an Arrow type."""
    if pa.types.is_string(dtype):
        return "string"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_float64(dtype):
        return "double"
    if pa.types.is_int64(dtype):
        return "bigint"
    if pa.types.is_int32(dtype):
        return "int"
    if pa.types.is_int8(dtype):
        return "tinyint"
    raise TypeError(f"no Glue type for {dtype}")


def glue_columns(spec: tables.TableSpec) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Data columns and partition keys of a table, as Glue column definitions."""
    cols = [
        {"Name": f.name, "Type": glue_type(f.type)}
        for f in spec.schema
        if f.name != spec.partition_by
    ]
    keys = [{"Name": spec.partition_by, "Type": "string"}] if spec.partition_by else []
    return cols, keys


def glue_table_input(spec: tables.TableSpec, lake_url: str) -> dict[str, Any]:
    """The Glue ``TableInput`` of a lake table (used by the CDK app and the tests).

    The table reads the Hive symlink manifests under ``_athena/<table>/``, so Athena sees
    exactly the files of the current snapshot.
    """
    cols, keys = glue_columns(spec)
    return {
        "Name": spec.name,
        "Description": spec.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": keys,
        "StorageDescriptor": {
            "Columns": cols,
            "Location": f"{lake_url.rstrip('/')}/_athena/{spec.name}/",
            "InputFormat": SYMLINK_INPUT,
            "OutputFormat": SYMLINK_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
    }


def partition_folder(spec: tables.TableSpec, value: str | None) -> str:
    """``client_id=<quoted value>`` (the Hive-style folder of a partition)."""
    name = NULL_PARTITION if value is None else quote(str(value), safe="")
    return f"{spec.partition_by}={name}"


# SQL ---------------------------------------------------------------------------------------
def to_athena(
    sql: str, params: Sequence[Any] | dict[str, Any] | None = None
) -> tuple[str, list[Any]]:
    """Rewrite a DuckDB-dialect query for Athena (Trino) with positional parameters.

    Tables become subqueries listing the columns in the order of :mod:`meterwatch.tables`
    (Athena puts partition keys last), and ``readings`` gains the customer's ``sector``, as
    the local lake's view does. Named parameters (``$name``) become ``?`` in order.
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(tree, exp.Query):  # SELECT, UNION, ... (Athena would run DDL and DML)
        raise ReadOnlyQueryError(
            f"the lake's SQL is read-only (SELECT): {type(tree).__name__.upper()} refused"
        )
    # 1. Give every parameter a numbered marker and find its value. The tree's walk order is
    #    not always the text's (a WITH clause is visited last), so ``?`` are counted in the
    #    order their markers appear in the text.
    placeholders = list(tree.find_all(exp.Placeholder))
    original = [p.this for p in placeholders]
    for k, p in enumerate(placeholders):
        p.set("this", f"{_MARK}{k}")
    named = isinstance(params, dict)
    positional = list(params) if params is not None and not named else []
    value_of: dict[int, Any] = {}
    identity: dict[int, str] = {}  # same identity = the same value by construction
    sequential = 0
    for k in _marks(tree.sql(dialect="duckdb")):
        name = original[k]
        if named:
            assert isinstance(params, dict)
            value_of[k], identity[k] = params[name], f"${name}"
        elif name and str(name).isdigit():
            value_of[k], identity[k] = positional[int(name) - 1], f"${name}"
        else:
            value_of[k], identity[k] = positional[sequential], f"?{sequential}"
            sequential += 1
    _group_by_ordinals(tree, identity)

    # 2. Tables -> column-ordered subqueries (readings with its sector).
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}

    def rewrite(node: exp.Expression) -> exp.Expression:
        if (
            isinstance(node, exp.Table)
            and not node.db
            and node.name in tables.TABLES
            and node.name not in ctes
        ):
            return exp.Subquery(
                this=sqlglot.parse_one(_table_select(node.name), read="trino"),
                alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name)),
            )
        return node

    # 3. Trino text, markers -> ``?`` with the values in text order.
    text = tree.transform(rewrite, copy=True).sql(dialect="trino")
    return _MARK_RE.sub("?", text), [value_of[k] for k in _marks(text)]


def _marks(text: str) -> list[int]:
    return [int(m) for m in _MARK_RE.findall(text)]


def _group_by_ordinals(tree: Any, identity: dict[int, str]) -> None:
    """``GROUP BY <expr with a parameter>`` -> ``GROUP BY <ordinal>`` when it is selected.

    With positional parameters, the select list's ``$p`` and the GROUP BY's ``$p`` become two
    different ``?``, and neither Trino nor DuckDB can tell they group the same expression.
    """
    from sqlglot import exp

    def key(node: exp.Expression) -> str:
        return _MARK_RE.sub(lambda m: identity[int(m.group(1))], node.sql(dialect="duckdb"))

    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if group is None:
            continue
        keys = [key(p.unalias()) for p in select.expressions]
        group.set(
            "expressions",
            [
                exp.Literal.number(keys.index(key(g)) + 1)
                if g.find(exp.Placeholder) and key(g) in keys
                else g
                for g in group.expressions
            ],
        )


def _table_select(name: str) -> str:
    spec = tables.spec(name)
    if name == "readings":
        cols = ", ".join(f"r.{c}" for c in spec.columns)
        return (
            f"SELECT {cols}, c.sector FROM readings AS r "  # noqa: S608 (registry names)
            "LEFT JOIN customers AS c ON r.client_id = c.client_id"
        )
    return f"SELECT {', '.join(spec.columns)} FROM {name}"  # noqa: S608 (registry names)


class QueryEngine(Protocol):
    """Runs Athena (Trino) SQL with positional parameters over a lake's tables."""

    def run(self, sql: str, params: list[Any]) -> pd.DataFrame: ...


class AthenaEngine:
    """Athena through awswrangler; values travel as execution parameters, never in the SQL."""

    def __init__(self, database: str, workgroup: str, session: Any = None) -> None:
        self.database = database
        self.workgroup = workgroup
        self.session = session

    def run(self, sql: str, params: list[Any]) -> pd.DataFrame:
        import awswrangler as wr

        return wr.athena.read_sql_query(
            sql,
            database=self.database,
            workgroup=self.workgroup,
            params=[_athena_literal(v) for v in params] if params else None,
            paramstyle="qmark",
            ctas_approach=False,
            boto3_session=self.session,
        )


def _athena_literal(value: Any) -> str:
    # Execution parameters are SQL literals, passed beside the query (server-side binding).
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, pd.Timestamp | datetime):
        return (
            f"TIMESTAMP '{pd.Timestamp(value).tz_localize(None):%Y-%m-%d %H:%M:%S.%f}'"[:-4] + "'"
        )
    if isinstance(value, date):
        return f"DATE '{value:%Y-%m-%d}'"
    return "'" + str(value).replace("'", "''") + "'"


class DuckDBEngine:
    """Runs the Athena SQL on DuckDB over a lake's current snapshot (tests, laptops).

    ``lake`` is any backend: the S3 lake in tests against moto, or a local lake to check
    that the Athena rewrite of a query returns what the original returns locally.
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.executed: list[str] = []  # the Trino SQL seen, for tests to inspect

    def run(self, sql: str, params: list[Any]) -> pd.DataFrame:
        import duckdb
        import sqlglot

        self.executed.append(sql)
        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            for name, spec in tables.TABLES.items():
                frame = self.lake.read(name)
                con.register(name, pa.Table.from_pandas(frame, schema=spec.schema))
            local_sql = sqlglot.transpile(sql, read="trino", write="duckdb")[0]
            cur = con.execute(local_sql, params) if params else con.execute(local_sql)
            return cur.df()
        finally:
            con.close()


# the lake ---------------------------------------------------------------------------------
class S3Transaction(SnapshotTransaction):
    """Writes Parquet objects as it goes; :meth:`commit` publishes them in one snapshot."""

    def __init__(self, lake: S3Lake) -> None:
        super().__init__(lake.snapshot())
        self._lake = lake
        self._written: list[str] = []

    def _write_files(self, table: str, data: pa.Table) -> list[FileEntry]:
        spec = tables.spec(table)
        groups: list[tuple[str | None, pa.Table]] = []
        if spec.partition_by is None:
            groups = [(None, data)]
        else:
            # Sort once and slice: cheaper than one filter per partition value.
            data = data.sort_by(spec.partition_by)
            keys = data.column(spec.partition_by).to_pylist()
            start = 0
            for i in range(1, len(keys) + 1):
                if i == len(keys) or keys[i] != keys[start]:
                    groups.append((keys[start], data.slice(start, i - start)))
                    start = i
        jobs = []
        for value, part in groups:
            if part.num_rows == 0:
                continue
            folder = f"curated/{table}"
            if spec.partition_by is not None:
                folder += "/" + partition_folder(spec, value)
            rel = f"{folder}/{uuid.uuid4().hex}.parquet"
            jobs.append((rel, value, part))

        def put(job: tuple[str, str | None, pa.Table]) -> FileEntry:
            rel, value, part = job
            data = parquet_bytes(part).to_pybytes()
            # Create-only (new uuid names): IAM grants writers like the dashboard no more.
            self._lake._put(rel, data, IfNoneMatch="*")
            return FileEntry(rel, value, part.num_rows, len(data), hashlib.sha256(data).hexdigest())

        with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
            entries = list(pool.map(put, jobs))
        self._written.extend(e.path for e in entries)
        return entries

    def read(self, table: str, *, partitions: Sequence[str | None] | None = None) -> pa.Table:
        self._check_open()
        entries = self._tables.get(table, [])
        if partitions is not None:
            wanted = set(partitions)
            entries = [f for f in entries if f.partition in wanted]
        return self._lake._read_files(table, entries, None)

    def commit(self) -> None:
        self._check_open()
        self._closed = True
        if self._tables == self._base.tables:
            return
        new = Snapshot(self._base.seq + 1, self._tables)
        try:
            self._lake._publish(new, self._base)
        except CommitConflict:
            self._delete_written()
            raise

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._delete_written()

    def _delete_written(self) -> None:
        self._lake._delete(self._written)


class S3Lake(Lake):
    """A lake under ``s3://bucket/prefix``, catalogued in Glue and queried with Athena.

    Parameters
    ----------
    uri
        ``s3://bucket/prefix`` of the curated lake.
    raw_uri
        Where raw files are kept (``s3://raw-bucket/prefix``); default: ``<uri>/raw``.
    glue_database, athena_workgroup
        Catalogue database holding one table per lake table, and the Athena workgroup.
    engine
        What runs SQL; default Athena. Tests pass :class:`DuckDBEngine`.
    session
        A ``boto3.Session`` (default: the ambient credentials and region).
    register_partitions
        Add new partitions to Glue at commit (off when no catalogue exists, e.g. in tests
        of the storage alone).
    """

    def __init__(
        self,
        uri: str,
        *,
        raw_uri: str = "",
        glue_database: str = "meterwatch",
        athena_workgroup: str = "meterwatch",
        engine: QueryEngine | None = None,
        session: Any = None,
        register_partitions: bool = True,
    ) -> None:
        import boto3

        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = split_uri(self.uri)
        self.raw_bucket, raw_prefix = split_uri(raw_uri) if raw_uri else (self.bucket, "")
        self.raw_prefix = raw_prefix if raw_uri else self.prefix
        self.glue_database = glue_database
        self.session = session or boto3.Session()
        self._s3 = self.session.client("s3")
        self._glue = self.session.client("glue") if register_partitions else None
        self.engine: QueryEngine = engine or AthenaEngine(
            glue_database, athena_workgroup, self.session
        )

    # keys ------------------------------------------------------------------------------------
    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _url(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self._key(rel)}"

    def _put(self, rel: str, data: bytes, **extra: Any) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self._key(rel), Body=data, **extra)

    def _get(self, rel: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=self._key(rel))["Body"].read()
        return body

    def _list(self, rel_prefix: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(rel_prefix)
        )
        for page in pages:
            out.extend(page.get("Contents", []))
        return out

    def _rel(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def _delete(self, rels: Sequence[str]) -> None:
        for i in range(0, len(rels), 1000):
            chunk = rels[i : i + 1000]
            self._s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(r)} for r in chunk], "Quiet": True},
            )

    # snapshots ---------------------------------------------------------------------------------
    def _snapshot_rel(self, seq: int) -> str:
        return f"_meta/snapshots/{seq:012d}.json"

    def _try_get(self, rel: str) -> bytes | None:
        try:
            return self._get(rel)
        except self._s3.exceptions.NoSuchKey:
            return None

    def snapshot(self) -> Snapshot:
        """The committed state of the lake as of now."""
        hint = self._try_get("_meta/CURRENT")
        try:
            seq = int(hint.decode().strip()) if hint else 0
        except ValueError:
            seq = 0
        text = self._try_get(self._snapshot_rel(seq)) if seq > 0 else None
        if seq and text is None:
            # A hint naming no snapshot (written by hand, or by a role that may only write
            # the hint): the newest snapshot that exists, not an empty lake.
            keys = sorted(o["Key"] for o in self._list("_meta/snapshots/"))
            seq = int(keys[-1].rsplit("/", 1)[-1].split(".")[0]) if keys else 0
            text = self._try_get(self._snapshot_rel(seq)) if seq else None
        # CURRENT is written after the snapshot it names: probe forward for newer ones.
        while True:
            newer = self._try_get(self._snapshot_rel(seq + 1))
            if newer is None:
                break
            seq, text = seq + 1, newer
        return Snapshot.from_json(text.decode()) if text else Snapshot(0)

    def _publish(self, new: Snapshot, base: Snapshot) -> None:
        try:
            self._put(self._snapshot_rel(new.seq), new.to_json().encode(), IfNoneMatch="*")
        except self._s3.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise CommitConflict(
                    f"snapshot {new.seq} was committed by another writer; run again"
                ) from exc
            raise
        # Committed. What follows only makes the commit visible to Athena and tidies up;
        # a crash here is repaired by the next commit (manifests are rewritten from the
        # snapshot for every table that changed since its base).
        self._put("_meta/CURRENT", f"{new.seq}\n".encode())
        self._publish_manifests(new, base)
        self._collect_garbage(new, base)

    def _publish_manifests(self, new: Snapshot, base: Snapshot) -> None:
        jobs: list[tuple[str, bytes]] = []
        added: dict[str, set[str | None]] = {}
        for name, spec in tables.TABLES.items():
            files, old = new.files(name), base.files(name)
            if files == old and new.seq > 1:
                continue
            if spec.partition_by is None:
                body = "".join(self._url(f.path) + "\n" for f in files)
                jobs.append((f"_athena/{name}/manifest", body.encode()))
                continue
            by_part: dict[str | None, list[str]] = {}
            for f in files:
                by_part.setdefault(f.partition, []).append(self._url(f.path))
            old_by_part: dict[str | None, list[str]] = {}
            for f in old:
                old_by_part.setdefault(f.partition, []).append(self._url(f.path))
            for value in set(by_part) | set(old_by_part):
                urls = by_part.get(value, [])
                if urls != old_by_part.get(value, []):
                    rel = f"_athena/{name}/{partition_folder(spec, value)}/manifest"
                    jobs.append((rel, "".join(u + "\n" for u in urls).encode()))
            added[name] = set(by_part) - set(old_by_part)
        with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
            list(pool.map(lambda job: self._put(job[0], job[1]), jobs))
        if self._glue is not None:
            for name, values in added.items():
                self._register_partitions(name, values)

    def _register_partitions(self, table: str, values: Iterable[str | None]) -> None:
        assert self._glue is not None
        spec = tables.spec(table)
        cols, _keys = glue_columns(spec)
        inputs = [
            {
                "Values": [NULL_PARTITION if v is None else str(v)],
                "StorageDescriptor": {
                    "Columns": cols,
                    "Location": self._url(f"_athena/{table}/{partition_folder(spec, v)}/"),
                    "InputFormat": SYMLINK_INPUT,
                    "OutputFormat": SYMLINK_OUTPUT,
                    "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
                },
            }
            for v in values
        ]
        for i in range(0, len(inputs), 100):
            resp = self._glue.batch_create_partition(
                DatabaseName=self.glue_database,
                TableName=table,
                PartitionInputList=inputs[i : i + 100],
            )
            for err in resp.get("Errors", []):
                if err.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException":
                    raise RuntimeError(f"glue partition for {table}: {err}")

    def _collect_garbage(self, new: Snapshot, base: Snapshot) -> None:
        """Delete old snapshots and data files no recent snapshot references.

        Only the tables this commit changed are listed: a lake of many customers has many
        files, and the others cannot have new garbage from this commit.
        """
        snaps = sorted(o["Key"] for o in self._list("_meta/snapshots/"))
        self._delete([self._rel(k) for k in snaps[:-SNAPSHOTS_KEPT]])
        live: set[str] = set()
        for seq in range(max(1, new.seq - SNAPSHOTS_PROTECTED + 1), new.seq + 1):
            text = new.to_json() if seq == new.seq else (self._try_get(self._snapshot_rel(seq)))
            if text:
                snap = Snapshot.from_json(text if isinstance(text, str) else text.decode())
                live.update(f.path for files in snap.tables.values() for f in files)
        cutoff = datetime.now(UTC) - GC_MIN_AGE
        changed = [t for t in tables.TABLES if new.files(t) != base.files(t)]
        stale = [
            self._rel(o["Key"])
            for table in changed
            for o in self._list(f"curated/{table}/")
            if self._rel(o["Key"]) not in live and o["LastModified"] < cutoff
        ]
        self._delete(stale)

    # raw zone ------------------------------------------------------------------------------------
    def _raw_key(self, rel: str) -> str:
        return f"{self.raw_prefix}/{rel}" if self.raw_prefix else rel

    def put_raw(self, source: Path, sha256: str, data: bytes | None = None) -> str:
        rel = f"raw/sha256={sha256}/{source.name}"
        body = source.read_bytes() if data is None else data
        try:
            self._s3.put_object(
                Bucket=self.raw_bucket, Key=self._raw_key(rel), Body=body, IfNoneMatch="*"
            )
        except self._s3.exceptions.ClientError as exc:
            # The same content is already kept: putting it again is a no-op.
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                raise
        return rel

    def get_raw(self, key: str) -> bytes:
        obj = self._s3.get_object(Bucket=self.raw_bucket, Key=self._raw_key(key))
        data: bytes = obj["Body"].read()
        return data

    # tables -------------------------------------------------------------------------------------------
    def transaction(self) -> S3Transaction:
        return S3Transaction(self)

    def _read_files(
        self, table: str, entries: Sequence[FileEntry], columns: Sequence[str] | None
    ) -> pa.Table:
        schema = tables.spec(table).schema
        cols = list(columns) if columns is not None else schema.names
        if not entries:
            return schema.empty_table().select(cols)

        def fetch(entry: FileEntry) -> pa.Table:
            data = self._try_get(entry.path)
            if data is None:
                raise DamagedLakeError([DamagedFile(table, entry.path, "missing")])
            try:
                return pq.read_table(io.BytesIO(data), columns=cols)
            except pa.ArrowException as exc:
                problem = str(exc).splitlines()[0][:200]
                raise DamagedLakeError([DamagedFile(table, entry.path, problem)]) from exc

        with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
            parts = list(pool.map(fetch, entries))
        return pa.concat_tables(parts).cast(pa.schema([schema.field(c) for c in cols]))

    def read(
        self,
        table: str,
        *,
        partitions: Sequence[str | None] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        entries = self.snapshot().files(table)
        if partitions is not None:
            wanted = set(partitions)
            entries = [f for f in entries if f.partition in wanted]
        return self._read_files(table, entries, columns).to_pandas()

    def partitions(self, table: str) -> list[str | None]:
        if tables.spec(table).partition_by is None:
            raise ValueError(f"table {table!r} is not partitioned")
        return sorted(
            {f.partition for f in self.snapshot().files(table)}, key=lambda v: (v is None, v)
        )

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        athena_sql, values = to_athena(sql, params)
        return self.engine.run(athena_sql, values)

    # integrity ------------------------------------------------------------------------------------
    def verify(self) -> Verification:
        """Check every live data file against the size and SHA-256 recorded at its commit."""
        snap = self.snapshot()
        entries = [f for files in snap.tables.values() for f in files]

        def digest(entry: FileEntry) -> tuple[str, tuple[int, str] | None]:
            data = self._try_get(entry.path)
            if data is None:
                return entry.path, None
            return entry.path, (len(data), hashlib.sha256(data).hexdigest())

        with ThreadPoolExecutor(max_workers=IO_THREADS) as pool:
            found = dict(pool.map(digest, entries))
        return verification(snap, found.__getitem__)

    # objects --------------------------------------------------------------------------------------------
    def _object_rel(self, key: str) -> str:
        clean = key.strip("/")
        if ".." in clean.split("/"):
            raise ValueError(f"object key escapes the lake: {key!r}")
        return f"objects/{clean}"

    def put_object(self, key: str, data: bytes) -> None:
        self._put(self._object_rel(key), data)

    def get_object(self, key: str) -> bytes:
        data = self._try_get(self._object_rel(key))
        if data is None:
            raise KeyError(key)
        return data

    def object_modified(self, key: str) -> datetime:
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=self._key(self._object_rel(key)))
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise KeyError(key) from None
            raise
        modified: datetime = head["LastModified"]
        return modified

    def delete_object(self, key: str) -> None:
        self._delete([self._object_rel(key)])

    def list_objects(self, prefix: str) -> list[str]:
        base = self._key("objects/")
        return sorted(o["Key"][len(base) :] for o in self._list(self._object_rel(prefix)))


__all__ = [
    "AthenaEngine",
    "CommitConflict",
    "DuckDBEngine",
    "S3Lake",
    "glue_columns",
    "to_athena",
]
