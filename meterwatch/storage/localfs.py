"""What a lake in a local folder does with its files, whatever its table format: durable writes
(write to a temporary name, fsync, rename, fsync the folder) and the ``objects/`` store.

Shared by the Iceberg lake (:mod:`meterwatch.storage.local`) and the retired snapshot-log lake
(:mod:`meterwatch.storage.legacy`, kept to migrate from).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all, and durably (a crash leaves the old file or the new)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


class LocalObjects:
    """The ``objects/`` folder of a local lake (model artifacts, outbox files): keys are paths
    under it, never outside; writes are atomic."""

    root: Path

    def _object_path(self, key: str) -> Path:
        path = (self.root / "objects" / key).resolve()
        if not path.is_relative_to(self.root / "objects"):
            raise ValueError(f"object key escapes the lake: {key!r}")
        return path

    def put_object(self, key: str, data: bytes) -> None:
        path = self._object_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)

    def get_object(self, key: str) -> bytes:
        try:
            return self._object_path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def object_modified(self, key: str) -> datetime:
        try:
            mtime = self._object_path(key).stat().st_mtime
        except FileNotFoundError:
            raise KeyError(key) from None
        return datetime.fromtimestamp(mtime, UTC)

    def delete_object(self, key: str) -> None:
        self._object_path(key).unlink(missing_ok=True)

    def list_objects(self, prefix: str) -> list[str]:
        base = self.root / "objects"
        start = self._object_path(prefix) if prefix else base
        if start.is_file():
            return [prefix]
        if not start.exists():
            return []
        return sorted(
            str(p.relative_to(base))
            for p in start.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )
