"""SageMaker training entry point: train one shard of customers, write the artifact.

SageMaker runs this (the image's ``train``) with:

- ``SM_MODEL_DIR``: where the artifact goes (SageMaker uploads it as ``model.tar.gz``);
- ``SM_HPS`` (or ``/opt/ml/input/config/hyperparameters.json``): ``clients`` (comma-separated
  customer ids of the shard), optionally ``until`` (last hour a model may see);
- ``SM_CHANNEL_LAKE`` (optional): a local copy of the lake; otherwise ``METERWATCH_LAKE``.

Run it locally the same way, e.g. ``SM_MODEL_DIR=out SM_CHANNEL_LAKE=lake
SM_HPS='{"clients": "Cliente 1"}' python training/train.py``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script by SageMaker
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HYPERPARAMETERS_FILE = Path("/opt/ml/input/config/hyperparameters.json")


def hyperparameters(env: Mapping[str, str]) -> dict[str, Any]:
    """The job's hyperparameters (SageMaker passes every value as a string)."""
    if env.get("SM_HPS"):
        return dict(json.loads(env["SM_HPS"]))
    if HYPERPARAMETERS_FILE.exists():
        return dict(json.loads(HYPERPARAMETERS_FILE.read_text()))
    return {}


def main(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Train the shard named by the hyperparameters; return the artifact's manifest."""
    from meterwatch.detect.artifacts import export, stage
    from meterwatch.detect.pipeline import train
    from meterwatch.settings import Settings
    from meterwatch.storage import open_lake

    env = os.environ if env is None else env
    hps = hyperparameters(env)
    clients = [c for c in str(hps.get("clients", "")).split(",") if c]
    if not clients:
        raise SystemExit("hyperparameter 'clients' (comma-separated customer ids) is required")
    settings = Settings.load(dict(env))
    source = open_lake(env.get("SM_CHANNEL_LAKE") or settings.lake, settings)
    model_dir = Path(env.get("SM_MODEL_DIR", "/opt/ml/model"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage(source, clients, Path(tmp) / "lake")
        result = train(staged, clients=clients, until=hps.get("until") or None, settings=settings)
        manifest = export(staged, clients, model_dir)
    manifest["skipped"] = result.skipped
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(manifest))
    return manifest


if __name__ == "__main__":
    main()
