"""The demo: a synthetic fleet through the whole pipeline, on the embedded default."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from meterwatch.settings import Settings
from meterwatch.storage import open_lake
from meterwatch.texts import render


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

    console.rule("[bold]3. Train")
    from meterwatch.alerts.render import alert_evidence
    from meterwatch.alerts.sinks import OutboxSink
    from meterwatch.detect.pipeline import score, train
    from meterwatch.texts import kind_label

    # Train on the first 80 % of each customer's period and score the rest as "new" data,
    # where the synthetic fleet plants its losses.
    customers = lake.read("customers", columns=["client_id", "first_ts", "last_ts"])
    until = {
        str(c): f + (last - f) * 0.8
        for c, f, last in zip(
            customers["client_id"], customers["first_ts"], customers["last_ts"], strict=True
        )
    }
    with progress_bar("Training") as update:
        trained = train(lake, until=until, settings=settings, progress=update)
    console.print(
        f"{trained.n_models} models (first 80 % of each series) in {trained.seconds:.1f} s"
    )

    console.rule("[bold]4. Score")
    with progress_bar("Scoring") as update:
        scored = score(lake, sinks=(OutboxSink(lake),), settings=settings, progress=update)
    console.print(
        f"{scored.hours_scored:,} hours scored, {scored.anomalies:,} anomalous;"
        f" alerts: {scored.alerts_new} new, {scored.alerts_updated} updated"
    )
    top = lake.query("SELECT * FROM alerts WHERE status <> 'withdrawn' ORDER BY rank LIMIT 10")
    for row in top.itertuples(index=False):
        console.print(
            f"{row.rank:>2}. {escape(str(row.client_id))} · {kind_label(str(row.kind), settings.language)}"
            f" · {render('{kwh:,.0f}', settings.language, kwh=row.lost_kwh_estimate)} kWh"
            f" · {escape(alert_evidence(row.kind, row.params, row.evidence, settings.language))}"
        )

    console.rule("[bold]5. The lake")
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
    if not report.ingested_anything:
        return 1
    if getattr(args, "no_serve", False):
        return 0
    return _serve(settings, console, port=getattr(args, "port", 5006))


def _serve(settings: Settings, console: Console, *, port: int) -> int:
    """Step 6: open the operators' dashboard on the demo lake (until Ctrl+C)."""
    console.rule("[bold]6. Dashboard")
    try:
        from meterwatch.dashboard.server import serve
    except ImportError:
        console.print(
            "The dashboard needs the 'dashboard' extra: pip install -e '.[dashboard]'; "
            f"then: meterwatch serve --lake {settings.lake}"
        )
        return 0
    console.print(
        f"Dashboard: [bold]http://127.0.0.1:{port}[/bold] (Ctrl+C to stop). "
        f"Later: meterwatch serve --lake {settings.lake}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings.lake, port=port, address="127.0.0.1", show=False)
    return 0
