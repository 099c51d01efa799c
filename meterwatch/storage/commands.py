"""Storage commands: ``meterwatch migrate-lake``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def cmd_migrate_lake(args: argparse.Namespace) -> int:
    from meterwatch.settings import Settings
    from meterwatch.storage.migrate import MigrationError, migrate_lake

    lake = Settings.load(lake=args.lake).lake
    try:
        report = migrate_lake(lake)
    except MigrationError as exc:
        print(f"error: {exc}")
        return 2
    if not report.migrated:
        print(f"{lake} is already an Iceberg lake: nothing to do")
        return 0
    for name, rows in report.rows.items():
        print(f"{name:14} {rows:>12,} rows")
    print(
        f"migrated to Apache Iceberg in {report.seconds:.1f} s;"
        f" the old files are in {report.legacy_folder} (delete it once satisfied)"
    )
    return 0


def add_commands(sub: Any, lake_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the storage commands on the CLI's subparsers."""
    p = sub.add_parser(
        "migrate-lake", help="convert a lake of the retired snapshot-log format to Apache Iceberg"
    )
    lake_option(p)
    p.set_defaults(func=cmd_migrate_lake)
