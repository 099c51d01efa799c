"""Convert a local lake from the retired snapshot-log format into Apache Iceberg.

``meterwatch migrate-lake --lake PATH`` runs :func:`migrate_lake`. The old lake is read with
the old reader (:mod:`meterwatch.storage.legacy`, kept only for this) and every table is
written into a new Iceberg lake built beside it in ``PATH/_migrating/``; the row counts of
every table are compared, then the old ``curated/`` and snapshot log move to
``PATH/_legacy/`` and the new tables and ``catalog.db`` into place. Renaming ``catalog.db``
is the last step: until then the folder is the old lake (a killed migration is simply run
again), after it the Iceberg one. Raw files, objects (models, outbox) and users stay where
they are. ``_legacy/`` is kept for the operator to delete once satisfied.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from meterwatch import tables
from meterwatch.storage import CATALOG_FILE, is_legacy_lake

STAGING = "_migrating"
LEGACY = "_legacy"


class MigrationError(RuntimeError):
    """The old lake could not be converted (nothing was changed)."""


@dataclass
class MigrationReport:
    """What :func:`migrate_lake` did."""

    migrated: bool  # False: the folder already held an Iceberg lake
    rows: dict[str, int] = field(default_factory=dict)  # per table, identical old and new
    legacy_folder: Path | None = None
    seconds: float = 0.0


def _restore_interrupted(root: Path) -> None:
    """Undo the moves of a migration killed between its renames (old lake back in place)."""
    legacy = root / LEGACY
    if (root / CATALOG_FILE).exists() or not (legacy / "CURRENT").exists():
        return
    if (root / "curated").exists():
        shutil.rmtree(root / "curated")
    os.replace(legacy / "curated", root / "curated")
    os.replace(legacy / "snapshots", root / "_meta" / "snapshots")
    os.replace(legacy / "CURRENT", root / "_meta" / "CURRENT")


def migrate_lake(root: str | Path) -> MigrationReport:
    """Convert the old-format lake at ``root`` to Iceberg, keeping every row (idempotent).

    Raises :class:`MigrationError` when the folder holds no lake or the old lake has
    damaged files (``meterwatch check`` on the old lake names them).
    """
    from meterwatch.storage.legacy import SnapshotLake
    from meterwatch.storage.local import LocalLake

    started = time.perf_counter()
    root = Path(root).expanduser().resolve()
    _restore_interrupted(root)
    if (root / CATALOG_FILE).is_file():
        return MigrationReport(migrated=False)
    if not is_legacy_lake(root):
        raise MigrationError(f"{root} holds no meterwatch lake")
    old = SnapshotLake(root)
    damaged = old.verify().damaged
    if damaged:
        shown = "; ".join(str(d) for d in damaged[:5])
        raise MigrationError(f"the old lake has damaged files, nothing was changed: {shown}")

    staging = root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    new = LocalLake(staging, home=root)
    rows = {}
    for name, spec in tables.TABLES.items():
        data = old.read_arrow(name)
        rows[name] = data.num_rows
        with new.transaction() as tx:
            if spec.partition_by is None:
                tx.overwrite(name, data)
            else:
                values = data.column(spec.partition_by).unique().to_pylist()
                tx.overwrite_partitions(name, data, values)
    for name, count in rows.items():
        got = new.read_arrow(name).num_rows
        if got != count:
            raise MigrationError(f"{name}: {count} rows in the old lake, {got} migrated")

    legacy = root / LEGACY
    legacy.mkdir(exist_ok=True)
    os.replace(root / "curated", legacy / "curated")
    os.replace(root / "_meta" / "snapshots", legacy / "snapshots")
    os.replace(root / "_meta" / "CURRENT", legacy / "CURRENT")
    os.replace(staging / "curated", root / "curated")
    os.replace(staging / CATALOG_FILE, root / CATALOG_FILE)  # the commit point
    shutil.rmtree(staging, ignore_errors=True)
    return MigrationReport(
        migrated=True, rows=rows, legacy_folder=legacy, seconds=time.perf_counter() - started
    )
