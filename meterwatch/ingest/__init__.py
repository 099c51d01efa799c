"""Ingest: read, validate and upsert meter files into the lake."""

from meterwatch.ingest.errors import IngestError
from meterwatch.ingest.pipeline import FileResult, IngestReport, ingest_paths

__all__ = ["FileResult", "IngestError", "IngestReport", "ingest_paths"]
