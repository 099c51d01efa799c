"""Storage: the lake interface and its backends, chosen by the lake URI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from meterwatch.storage.base import (
    DamagedFile,
    DamagedLakeError,
    Lake,
    LegacyLakeError,
    ReadOnlyQueryError,
    Transaction,
    Verification,
)

if TYPE_CHECKING:
    from meterwatch.settings import Settings


CATALOG_FILE = "catalog.db"  # the Iceberg catalog of a local lake


def is_lake(root: Path) -> bool:
    """Whether ``root`` holds a meterwatch lake (Iceberg, or an old one still to migrate)."""
    return (root / CATALOG_FILE).is_file() or is_legacy_lake(root)


def is_legacy_lake(root: Path) -> bool:
    """Whether ``root`` holds a lake in the retired snapshot-log format, not yet migrated."""
    return (root / "_meta" / "CURRENT").is_file() and not (root / CATALOG_FILE).is_file()


def open_lake(uri: str, settings: Settings | None = None) -> Lake:
    """Open the lake at ``uri``: a local folder, or ``s3://bucket/prefix`` in AWS.

    A local lake keeps its tables in Apache Iceberg (:mod:`meterwatch.storage.local`); a
    folder still in the retired snapshot-log format raises :class:`LegacyLakeError` (see
    :mod:`meterwatch.storage.migrate`). For an S3 lake, ``settings`` names the raw bucket,
    the Glue database, the Athena workgroup and the table format (default:
    :meth:`Settings.load`, i.e. the ``METERWATCH_*`` environment).
    """
    if uri.startswith("s3://"):
        from meterwatch.settings import Settings

        s = settings or Settings.load()
        if s.s3_table_format == "iceberg":
            from meterwatch.storage.glue import GlueLake

            return GlueLake(
                uri,
                raw_uri=s.raw_lake,
                glue_database=s.glue_database,
                athena_workgroup=s.athena_workgroup,
            )
        if s.s3_table_format != "snapshot-log":
            raise ValueError(f"unknown s3_table_format {s.s3_table_format!r}")
        from meterwatch.storage.s3 import S3Lake

        return S3Lake(
            uri,
            raw_uri=s.raw_lake,
            glue_database=s.glue_database,
            athena_workgroup=s.athena_workgroup,
        )
    from meterwatch.storage.local import LocalLake

    if is_legacy_lake(Path(uri).expanduser()):
        raise LegacyLakeError(
            f"{uri} holds a lake in the retired snapshot-log format:"
            f" `meterwatch migrate-lake --lake {uri}` converts it to Apache Iceberg"
        )
    return LocalLake(uri)


__all__ = [
    "DamagedFile",
    "DamagedLakeError",
    "Lake",
    "LegacyLakeError",
    "ReadOnlyQueryError",
    "Transaction",
    "Verification",
    "is_lake",
    "is_legacy_lake",
    "open_lake",
]
