"""Lake integrity: data files against their recorded checksums, orphaned model artefacts.

What ``meterwatch check`` runs. A commit records the size and SHA-256 of every data file it
publishes; :func:`check_lake` reads every live file back and names those that are missing or
differ. A ``train`` killed between writing its model artefacts and committing the ``models``
table leaves artefacts no model row references: the check removes them once they are old
enough that no train can still be about to commit them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from meterwatch.storage.base import DamagedFile, DamagedLakeError, Lake

# A train writes its artefacts just before it commits; one younger than this may belong to a
# train still running.
ORPHAN_MIN_AGE = timedelta(hours=1)
MODELS_PREFIX = "models/"


@dataclass
class CheckReport:
    """What :func:`check_lake` found."""

    files: int  # live data files checked
    unrecorded: int  # of which committed before checksums were kept (presence checked only)
    damaged: list[DamagedFile] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    orphans_kept: list[str] = field(default_factory=list)  # too recent to remove yet
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.damaged


def orphaned_artifacts(lake: Lake) -> list[str]:
    """Model artefacts that no committed model row references and that no model superseded.

    An artefact newer than its customer's current model (or of a customer with no model) was
    written by a train that never committed. Older unreferenced versions are superseded
    models, kept as history.
    """
    models = lake.read("models", columns=["client_id", "model_version", "artifact_key"])
    referenced = set(models["artifact_key"].astype(str))
    current = dict(
        zip(models["client_id"].astype(str), models["model_version"].astype(str), strict=True)
    )
    orphans = []
    for key in lake.list_objects(MODELS_PREFIX):
        client, _, name = key.removeprefix(MODELS_PREFIX).rpartition("/")
        if key in referenced or not client or not name.endswith(".json"):
            continue
        version = name.removesuffix(".json")
        if client in current and version <= current[client]:
            continue
        orphans.append(key)
    return orphans


def check_lake(
    lake: Lake, *, orphan_min_age: timedelta = ORPHAN_MIN_AGE, now: datetime | None = None
) -> CheckReport:
    """Verify every live data file and remove the orphaned model artefacts old enough.

    Parameters
    ----------
    lake
        The lake to check.
    orphan_min_age
        An orphaned artefact younger than this is reported, not removed (a train may be
        about to commit it).
    now
        The time the ages are measured against (default: now).
    """
    started = time.perf_counter()
    found = lake.verify()
    report = CheckReport(files=found.files, unrecorded=found.unrecorded, damaged=found.damaged)
    now = now or datetime.now(UTC)
    try:
        orphans = orphaned_artifacts(lake)
    except DamagedLakeError:
        orphans = []  # the models table itself is damaged: already reported above
    for key in orphans:
        try:
            age = now - lake.object_modified(key)
        except KeyError:
            continue
        if age >= orphan_min_age:
            lake.delete_object(key)
            report.orphans_removed.append(key)
        else:
            report.orphans_kept.append(key)
    report.seconds = time.perf_counter() - started
    return report
