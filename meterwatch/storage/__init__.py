"""Storage: the lake interface and its backends, chosen by the lake URI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meterwatch.storage.base import (
    DamagedFile,
    DamagedLakeError,
    Lake,
    ReadOnlyQueryError,
    Transaction,
    Verification,
)

if TYPE_CHECKING:
    from meterwatch.settings import Settings


def open_lake(uri: str, settings: Settings | None = None) -> Lake:
    """Open the lake at ``uri``: a local folder, or ``s3://bucket/prefix`` in AWS.

    For an S3 lake, ``settings`` names the raw bucket, the Glue database and the Athena
    workgroup: the entry point passes the settings it loaded (without them, the defaults).
    """
    if uri.startswith("s3://"):
        from meterwatch.settings import Settings
        from meterwatch.storage.s3 import S3Lake

        s = settings or Settings()
        return S3Lake(
            uri,
            raw_uri=s.raw_lake,
            glue_database=s.glue_database,
            athena_workgroup=s.athena_workgroup,
        )
    from meterwatch.storage.local import LocalLake

    return LocalLake(uri)


__all__ = [
    "DamagedFile",
    "DamagedLakeError",
    "Lake",
    "ReadOnlyQueryError",
    "Transaction",
    "Verification",
    "open_lake",
]
