"""Synthesize the app once per module (a synth takes seconds): templates and nag report."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk")
pytest.importorskip("cdk_nag")

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ALERT_EMAILS = ["operaciones@example.pe", "perdidas@example.pe"]
OPS_EMAILS = ["nube@example.pe"]
SCAN_LIMIT = 5 * 1024**3


def context(**meterwatch: Any) -> dict[str, Any]:
    """cdk.json's context with some ``meterwatch`` keys replaced."""
    ctx = json.loads((ROOT / "cdk.json").read_text())["context"]
    ctx["meterwatch"] = {**ctx["meterwatch"], **meterwatch}
    return ctx


@dataclass
class Synth:
    template: dict[str, Any]
    report: dict[str, Any]
    outdir: Path

    def resources(self, kind: str) -> list[dict[str, Any]]:
        return [
            r.get("Properties", {})
            for r in self.template["Resources"].values()
            if r["Type"] == kind
        ]

    def find(self, kind: str, needle: str) -> dict[str, Any]:
        """The one resource of ``kind`` whose properties mention ``needle``."""
        hits = [p for p in self.resources(kind) if needle in json.dumps(p)]
        assert len(hits) == 1, f"{len(hits)} {kind} mention {needle!r}"
        return hits[0]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def snapshot_log_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The stack of a deployment kept on the retired snapshot-log table format."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), table_format="snapshot-log")


def synthesize(outdir: Path, **meterwatch: Any) -> Synth:
    import aws_cdk as cdk

    from infra.app import build_app

    app = cdk.App(
        outdir=str(outdir),
        context=context(
            alert_emails=ALERT_EMAILS,
            ops_emails=OPS_EMAILS,
            athena_bytes_scanned_limit=SCAN_LIMIT,
            **meterwatch,
        ),
    )
    _, stack = build_app(app)
    app.synth()
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Synth(template, report, outdir)
