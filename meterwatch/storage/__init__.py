"""Storage: the lake interface and its backends, chosen by the lake URI."""

from __future__ import annotations

from meterwatch.storage.base import Lake, Transaction


def open_lake(uri: str) -> Lake:
    """Open the lake at ``uri``: a local folder, or ``s3://bucket/prefix`` in AWS."""
    if uri.startswith("s3://"):
        raise NotImplementedError("the S3 + Glue + Athena backend is not available yet")
    from meterwatch.storage.local import LocalLake

    return LocalLake(uri)


__all__ = ["Lake", "Transaction", "open_lake"]
