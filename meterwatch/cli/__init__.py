"""The ``meterwatch`` command line, at the top of the package: it imports the core, never
the other way round (``tests/unit/test_imports.py``)."""

from __future__ import annotations

from meterwatch.cli.app import app, main

__all__ = ["app", "main"]
