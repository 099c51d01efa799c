"""The demo: a synthetic fleet through the whole pipeline, on the embedded default."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from meterwatch.settings import Settings
from meterwatch.storage import open_lake


def run_demo(args: argparse.Namespace, console: Console) -> int:
    """Generate the demo fleet, ingest it and print what is in the lake.

    The fleet is deterministic (``--seed``), so running the demo again re-ingests the
    same files and changes nothing.
    """
    from meterwatch.cli import progress_bar
    from meterwatch.ingest import ingest_paths
    from meterwatch.synth import generate_fleet

    settings = Settings.load(lake=args.lake)
    lake = open_lake(settings.lake)
    out = Path(args.dir)
    console.rule("[bold]1. Synthetic fleet")
    with progress_bar("Generating") as update:
        fleet = generate_fleet(
            out, n_customers=args.customers, seed=args.seed, progress=lambda d, t: update(d, t, "")
        )
    console.print(
        f"{fleet.n_customers} customers, {fleet.n_rows:,} rows in {fleet.data_dir}; labels in {fleet.labels_path}"
    )

    console.rule("[bold]2. Ingest")
    with progress_bar("Ingesting") as update:
        report = ingest_paths(lake, [fleet.data_dir], language=settings.language, progress=update)
    for error in report.errors:
        console.print("[red]error[/red]", escape(str(error)))
    console.print(
        f"rows read = accepted + rejected: {report.rows_read:,} = {report.rows_accepted:,} + {report.rows_rejected:,}"
    )
    for example in report.rejected_examples[:5]:
        console.print("  rejected:", escape(example))

    console.rule("[bold]3. The lake")
    summary = lake.query(
        "SELECT count(DISTINCT client_id) AS customers, count(*) AS readings, min(ts) AS first_hour, "
        "max(ts) AS last_hour, round(sum(active_kwh)) AS active_kwh FROM readings"
    )
    console.print(summary.to_string(index=False))
    findings = lake.query(
        "SELECT code, count(*) AS findings FROM data_quality GROUP BY code ORDER BY code"
    )
    console.print(findings.to_string(index=False))
    hint = 'meterwatch sql "SELECT * FROM customers"'
    console.print(f"\nLake: {lake.uri}. Try: {hint} --lake {settings.lake}")
    return 0 if report.ingested_anything else 1
