"""AWS backend on Apache Iceberg: tables in S3, catalogued in Glue, read by Athena as Iceberg.

Each lake table is a Glue table of type ``ICEBERG`` (created with pyiceberg's Glue catalog)
with its data and metadata under ``s3://bucket/prefix/curated/<table>/``, partitioned and
sorted as the local lake (:mod:`meterwatch.storage.iceberg_tables`). Glue commits one table
at a time, so a run's commit point is a create-only commit record
``_meta/commits/<seq>.json`` (``If-None-Match: *``: of two writers racing for a sequence
number exactly one wins) naming every table's metadata location and the size and SHA-256 of
the data files. meterwatch reads through the newest record; after it, the Glue tables'
``metadata_location`` are moved forward for Athena (and any lag is repaired by the next
commit). Raw files, objects and the Athena SQL rewrite are those of :class:`S3Lake`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from meterwatch import tables
from meterwatch.storage.iceberg_lake import METADATA_KEPT, IcebergLake, IcebergTransaction
from meterwatch.storage.iceberg_tables import TableChange, referenced_paths
from meterwatch.storage.s3 import (
    GC_MIN_AGE,
    AthenaEngine,
    CommitConflict,
    DuckDBEngine,
    QueryEngine,
    S3Lake,
    split_uri,
    to_athena,
)

COMMITS = "_meta/commits/"


class GlueLake(IcebergLake):
    """A lake under ``s3://bucket/prefix`` whose tables are Iceberg tables in Glue.

    Parameters are those of :class:`~meterwatch.storage.s3.S3Lake`.
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
    ) -> None:
        from pyiceberg.io.pyarrow import PyArrowFileIO

        self._blobs = S3Lake(
            uri,
            raw_uri=raw_uri,
            glue_database=glue_database,
            athena_workgroup=athena_workgroup,
            session=session,
            register_partitions=False,
        )
        self.uri = self._blobs.uri
        self.bucket, self.prefix = split_uri(self.uri)
        self.session = self._blobs.session
        self._s3 = self._blobs._s3
        self._glue = self.session.client("glue")
        self.glue_database = glue_database
        self.engine: QueryEngine = engine or AthenaEngine(
            glue_database, athena_workgroup, self.session
        )
        self._io_properties = {"s3.region": self.session.region_name or "us-east-1"}
        endpoint = self._s3.meta.endpoint_url
        if "amazonaws.com" not in endpoint:  # a stand-in such as moto's server
            self._io_properties["s3.endpoint"] = endpoint
        self.io = PyArrowFileIO(self._io_properties)
        self._init_states()
        newest = self._newest()
        if newest["seq"] == 0 or set(newest["tables"]) != set(tables.TABLES):
            try:
                self._create_tables(newest)
            except Exception as exc:
                # A role that may not create them (the dashboard, before the first ingest)
                # reads the lake (or a table a newer release added) as empty; the first writer
                # creates the tables.
                if not _denied(exc):
                    raise

    # commit records ---------------------------------------------------------------------------
    def _list_commits(self) -> list[str]:
        return sorted(o["Key"] for o in self._blobs._list(COMMITS))

    def _newest(self) -> dict[str, Any]:
        keys = self._list_commits()
        if not keys:
            return {"seq": 0, "tables": {}, "files": {}}
        doc: dict[str, Any] = json.loads(
            self._s3.get_object(Bucket=self.bucket, Key=keys[-1])["Body"].read()
        )
        return doc

    def _put_commit(self, doc: dict[str, Any]) -> None:
        rel = f"{COMMITS}{doc['seq']:012d}.json"
        try:
            self._blobs._put(rel, json.dumps(doc).encode(), IfNoneMatch="*")
        except self._s3.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise CommitConflict(
                    f"commit {doc['seq']} was made by another writer; run again"
                ) from exc
            raise

    def _catalog(self) -> Any:
        from pyiceberg.catalog.glue import GlueCatalog

        props = {**self._io_properties, "glue.region": self._io_properties["s3.region"]}
        if "s3.endpoint" in self._io_properties:
            props["glue.endpoint"] = self._io_properties["s3.endpoint"]
        return GlueCatalog(self.glue_database, **props)

    def _create_tables(self, newest: dict[str, Any]) -> None:
        """Create the Glue database's missing Iceberg tables and record them in a commit: the
        first commit of a new lake, or the tables a newer release added to an existing one
        (their committed tables are kept as they are)."""
        from meterwatch.storage.iceberg_tables import create_tables

        catalog = self._catalog()
        create_tables(
            catalog, _S3Folder(f"s3://{self.bucket}/{self.prefix}/curated"), self.glue_database
        )
        added = {
            name: catalog.load_table((self.glue_database, name)).metadata_location
            for name in tables.TABLES
            if name not in newest["tables"]
        }
        doc = {
            "seq": newest["seq"] + 1,
            **({"created_at": datetime.now(UTC).isoformat()} if newest["seq"] else {}),
            "tables": {**newest["tables"], **added},
            "files": newest["files"],
        }
        with contextlib.suppress(CommitConflict):  # another process created them first
            self._put_commit(doc)

    def _locations(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._newest()["tables"].items()))

    def _publish(self, changes: Sequence[TableChange], digests: dict[str, tuple[int, str]]) -> None:
        doc = self._newest()
        for change in changes:
            if doc["tables"].get(change.name) != change.base_location:
                raise CommitConflict(f"{change.name}: another writer committed first; run again")
        new = {
            "seq": doc["seq"] + 1,
            "created_at": datetime.now(UTC).isoformat(),
            "tables": {**doc["tables"], **{c.name: c.metadata_location for c in changes}},
            "files": {**doc["files"], **{p: list(v) for p, v in digests.items()}},
        }
        self._put_commit(new)  # the commit point
        self._point_glue(new["tables"])

    def _point_glue(self, locations: dict[str, str]) -> None:
        """Move each Glue table's ``metadata_location`` to the committed one (for Athena).

        After the commit point, so best effort: a table this role may not update (the
        dashboard updates the feedback table only) is left to the next writer, which repairs
        any lag."""
        for name, location in locations.items():
            try:
                self._point_one(name, location)
            except self._glue.exceptions.ClientError as exc:
                if not _denied(exc):
                    raise

    def _point_one(self, name: str, location: str) -> None:
        table = self._glue.get_table(DatabaseName=self.glue_database, Name=name)["Table"]
        params = dict(table.get("Parameters", {}))
        if params.get("metadata_location") == location:
            return
        params["previous_metadata_location"] = params.get("metadata_location", "")
        params["metadata_location"] = location
        table_input = {
            k: table[k]
            for k in ("Name", "Description", "TableType", "StorageDescriptor")
            if k in table
        }
        table_input["Parameters"] = params
        self._glue.update_table(
            DatabaseName=self.glue_database,
            TableInput=table_input,
            **({"VersionId": table["VersionId"]} if "VersionId" in table else {}),
        )

    def _recorded(self) -> dict[str, tuple[int, str]]:
        return {p: (int(v[0]), str(v[1])) for p, v in self._newest()["files"].items()}

    def _collect_garbage(self, names: Sequence[str]) -> None:
        """Delete unreferenced files of ``names`` old enough that no writer is still on them."""
        state = self.state()
        cutoff = datetime.now(UTC) - GC_MIN_AGE
        stale = []
        for name in names:
            keep = {self._rel(p) for p in referenced_paths(state[name].table, METADATA_KEPT)}
            stale += [
                rel
                for o in self._blobs._list(f"curated/{name}/")
                if (rel := self._blobs._rel(o["Key"])) not in keep and o["LastModified"] < cutoff
            ]
        try:
            self._blobs._delete(stale)
        except self._s3.exceptions.ClientError as exc:
            if not _denied(exc):  # a role without delete (the dashboard) leaves them
                raise

    # files ------------------------------------------------------------------------------------
    def _filesystem(self) -> Any:
        return self.io.fs_by_scheme("s3", self.bucket)

    def _data_path(self, location: str) -> str:
        return location.removeprefix("s3://")

    def _key(self, location: str) -> str:
        return location.removeprefix(f"s3://{self.bucket}/")

    def _rel(self, location: str) -> str:
        return self._blobs._rel(self._key(location))

    def _size(self, location: str) -> int:
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=self._key(location))
        except self._s3.exceptions.ClientError as exc:
            raise FileNotFoundError(location) from exc
        return int(head["ContentLength"])

    def _digest(self, location: str) -> tuple[int, str]:
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=self._key(location))
        except self._s3.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(location) from exc
        data = obj["Body"].read()
        return len(data), hashlib.sha256(data).hexdigest()

    # the rest of the interface ------------------------------------------------------------------
    def transaction(self) -> IcebergTransaction:
        return IcebergTransaction(self)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        athena_sql, values = to_athena(sql, params)
        if not self.state().tables:
            # No writer has created the tables yet (a fresh deployment before its first
            # ingest): Athena would fail on a missing table; the same SQL on DuckDB over the
            # empty tables answers with the query's columns and no rows.
            return DuckDBEngine(self).run(athena_sql, values)
        return self.engine.run(athena_sql, values)

    def put_raw(self, source: Path, sha256: str, data: bytes | None = None) -> str:
        return self._blobs.put_raw(source, sha256, data)

    def get_raw(self, key: str) -> bytes:
        return self._blobs.get_raw(key)

    def put_object(self, key: str, data: bytes) -> None:
        self._blobs.put_object(key, data)

    def get_object(self, key: str) -> bytes:
        return self._blobs.get_object(key)

    def object_modified(self, key: str) -> datetime:
        return self._blobs.object_modified(key)

    def delete_object(self, key: str) -> None:
        self._blobs.delete_object(key)

    def list_objects(self, prefix: str) -> list[str]:
        return self._blobs.list_objects(prefix)


def _denied(exc: BaseException) -> bool:
    """Whether ``exc`` (boto3 or pyiceberg wrapping it) is an access denial."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code", "")
            if code in ("AccessDenied", "AccessDeniedException"):
                return True
        if "AccessDenied" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _S3Folder:
    """An ``s3://`` folder that ``create_tables`` can join table names onto."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def __truediv__(self, name: str) -> _S3Folder:
        return _S3Folder(f"{self.url}/{name}")

    def as_uri(self) -> str:
        return self.url
