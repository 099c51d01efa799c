"""Model artifacts between a training shard and the lake.

A SageMaker shard must not commit to the lake itself: parallel shards would race for the
``models`` table. Instead it trains against a private staging lake holding only its
customers' data and exports what training wrote; the register step then commits every
shard's models in one transaction. The artifact (``SM_MODEL_DIR``, tarred by SageMaker):

- ``manifest.json``: format, clients, model version;
- ``models.parquet``: the rows of the ``models`` table;
- ``findings.parquet``: the ``model.*`` data-quality findings;
- ``objects/<key>``: the model files, at the keys the rows name.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from meterwatch.storage.base import Lake, customers_with_readings
from meterwatch.storage.local import LocalLake

ARTIFACT_FORMAT = 1
MODEL_FINDINGS = "model."


def stage(source: Lake, clients: Sequence[str], folder: Path) -> LocalLake:
    """A local lake with the customers table and the readings and findings of ``clients``."""
    staged = LocalLake(folder)
    wanted = set(clients)
    with staged.transaction() as tx:
        tx.overwrite("customers", source.read("customers"))
        parts = [c for c in customers_with_readings(source) if c in wanted]
        if parts:
            tx.overwrite_partitions("readings", source.read("readings", partitions=parts), parts)
        findings = source.read("data_quality", partitions=sorted(wanted))
        dq_parts = sorted({str(c) for c in findings["client_id"]}) if len(findings) else []
        if dq_parts:
            tx.overwrite_partitions("data_quality", findings, dq_parts)
    return staged


def export(staged: LocalLake, clients: Sequence[str], model_dir: Path) -> dict[str, object]:
    """Write what training put in ``staged`` as an artifact under ``model_dir``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    models = staged.read("models")
    findings = staged.read("data_quality")
    findings = findings[findings["code"].astype(str).str.startswith(MODEL_FINDINGS)]
    models.to_parquet(model_dir / "models.parquet", index=False)
    findings.to_parquet(model_dir / "findings.parquet", index=False)
    for key in models["artifact_key"]:
        target = model_dir / "objects" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(staged.get_object(key))
    manifest: dict[str, object] = {
        "format": ARTIFACT_FORMAT,
        "clients": list(clients),
        "models": len(models),
        "model_versions": sorted(set(models["model_version"].astype(str))),
    }
    (model_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def unpack(archive: Path, folder: Path) -> Path:
    """Extract a SageMaker ``model.tar.gz`` (only plain files, inside ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder


#: Model objects stored at once by :func:`register`: each is one request to the object store
#: (~20 ms on S3), so a shard of a few hundred takes a fraction of a second, not seconds.
PUT_THREADS = 16


def _put_objects(lake: Lake, folder: Path, keys: Sequence[str]) -> None:
    """Store ``folder / key`` as the lake object ``key`` for every key, ``PUT_THREADS`` at a
    time (the first failure raises, after the others finished)."""
    if len(keys) <= 1:
        for key in keys:
            lake.put_object(key, (folder / key).read_bytes())
        return
    with ThreadPoolExecutor(max_workers=min(PUT_THREADS, len(keys))) as pool:
        done = [pool.submit(lambda k: lake.put_object(k, (folder / k).read_bytes()), key)
                for key in keys]  # fmt: skip
    for future in done:
        future.result()


def stage_artifact(lake: Lake, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Store an unpacked artifact's model objects in ``lake`` (``PUT_THREADS`` at a time);
    return its ``models`` rows and ``model.*`` findings, for :func:`commit_models`. Objects
    are keyed by model version, so storing them before the commit changes nothing a reader
    sees."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"{folder}: artifact format {manifest.get('format')} is not supported")
    rows = pd.read_parquet(folder / "models.parquet")
    _put_objects(lake, folder / "objects", [str(k) for k in rows["artifact_key"]])
    return rows, pd.read_parquet(folder / "findings.parquet")


#: Customers whose data-quality findings :func:`commit_models` rewrites together: a fleet's
#: findings (~10 a customer, a few hundred bytes each) are read a part at a time, not at once.
FINDINGS_CHUNK = 5_000


def commit_models(
    lake: Lake, models: Sequence[pd.DataFrame], findings: Sequence[pd.DataFrame]
) -> pd.DataFrame:
    """Commit staged shards' ``models`` rows and findings in one transaction (their objects
    already stored: :func:`stage_artifact`).

    Rows of other customers are kept; a customer's ``model.*`` findings are replaced by the
    shard's. Returns the registered ``models`` rows.
    """
    from meterwatch.storage.local import to_arrow

    models = [m for m in models if not m.empty]
    if not models:
        return pd.DataFrame()
    new = pd.concat(models, ignore_index=True)
    clients = set(new["client_id"].astype(str))
    fresh = pd.concat(list(findings), ignore_index=True) if findings else pd.DataFrame()
    touched = sorted(clients)
    with lake.transaction() as tx:
        old = tx.read("models").to_pandas()
        keep = old[~old["client_id"].isin(clients)]
        merged = pd.concat([to_arrow("models", keep).to_pandas(), new], ignore_index=True)
        tx.overwrite("models", to_arrow("models", merged))
        fresh_by = (
            {str(c): g for c, g in fresh.groupby("client_id", sort=False)}
            if not fresh.empty
            else {}
        )
        for i in range(0, len(touched), FINDINGS_CHUNK):
            part = touched[i : i + FINDINGS_CHUNK]
            dq = tx.read("data_quality", partitions=part).to_pandas()
            kept = dq[~dq["code"].astype(str).str.startswith(MODEL_FINDINGS)]
            mine = [fresh_by[c] for c in part if c in fresh_by]
            if len(kept) == len(dq) and not mine:
                continue  # no model finding before or now: the partitions stay as they are
            frames = [f for f in (kept, *mine) if not f.empty] or [kept]
            tx.overwrite_partitions("data_quality", pd.concat(frames, ignore_index=True), part)
    return new


def register(lake: Lake, artifact_dirs: Iterable[Path]) -> pd.DataFrame:
    """Commit the models of every artifact to ``lake`` in one transaction: each unpacked
    artifact staged (:func:`stage_artifact`) as it comes, then :func:`commit_models`.

    Rows of other customers are kept; a customer's ``model.*`` findings are replaced by the
    artifact's. Returns the registered ``models`` rows.
    """
    models: list[pd.DataFrame] = []
    findings: list[pd.DataFrame] = []
    for folder in artifact_dirs:
        rows, found = stage_artifact(lake, folder)
        models.append(rows)
        findings.append(found)
    return commit_models(lake, models, findings)
