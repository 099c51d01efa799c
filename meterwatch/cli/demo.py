"""``synth`` and ``demo``: a synthetic fleet, and that fleet through the whole pipeline."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from rich.markup import escape

from meterwatch.cli.common import console, lake_option, progress_bar, settings_for
from meterwatch.settings import Settings
from meterwatch.storage import open_lake
from meterwatch.texts import render


def _fleet_size(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """A fleet size for ``synth`` and ``demo``: the labelled events need 6 customers or more."""
    if value < 6:
        raise click.BadParameter(
            f"{value} is too few: the fleet's labelled losses and defects need at least 6"
        )
    return value


fleet_size_option = click.option(
    "--customers",
    type=int,
    default=30,
    callback=_fleet_size,
    help="customers (at least 6; default 30)",
)


@click.command("synth")
@click.option("--out", required=True, metavar="DIR")
@fleet_size_option
@click.option("--days", type=int, default=760)
@click.option("--seed", type=int, default=7)
def cmd_synth(out: str, customers: int, days: int, seed: int) -> int:
    """Generate a synthetic fleet with labelled events."""
    from meterwatch.synth import generate_fleet

    with progress_bar("Generating") as update:
        summary = generate_fleet(
            Path(out), n_customers=customers, days=days, seed=seed,
            progress=lambda done, total: update(done, total, ""),
        )  # fmt: skip
    console.print(
        f"{summary.n_customers} customers, {summary.n_rows:,} rows written to {summary.data_dir}; "
        f"labels in {summary.labels_path}"
    )
    return 0


@click.command("demo")
@click.option(
    "--dir", "folder", default="demo", help="where the demo fleet is written (default ./demo)"
)
@lake_option
@fleet_size_option
@click.option("--seed", type=int, default=7)
@click.option("--no-serve", is_flag=True, help="do not open the dashboard at the end")
@click.option("--port", type=int, default=5006, help="dashboard port (default 5006)")
def cmd_demo(
    folder: str, lake: str | None, customers: int, seed: int, no_serve: bool, port: int
) -> int:
    """Generate the demo fleet and run the whole pipeline on it."""
    return run_demo(
        settings_for(lake),
        Path(folder),
        customers=customers,
        seed=seed,
        serve=not no_serve,
        port=port,
    )


def run_demo(
    settings: Settings, out: Path, *, customers: int, seed: int, serve: bool, port: int
) -> int:
    """Generate the demo fleet, ingest it and print what is in the lake.

    The fleet is deterministic (``--seed``), so running the demo again re-ingests the
    same files and changes nothing.
    """
    from meterwatch.ingest import ingest_paths
    from meterwatch.synth import generate_fleet

    lake = open_lake(settings.lake, settings)
    console.rule("[bold]1. Synthetic fleet")
    with progress_bar("Generating") as update:
        fleet = generate_fleet(
            out, n_customers=customers, seed=seed, progress=lambda d, t: update(d, t, "")
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
    spans = lake.read("customers", columns=["client_id", "first_ts", "last_ts"])
    until = {
        str(c): f + (last - f) * 0.8
        for c, f, last in zip(spans["client_id"], spans["first_ts"], spans["last_ts"], strict=True)
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
    if not serve:
        return 0
    return _serve(settings, port=port)


def _serve(settings: Settings, *, port: int) -> int:
    """Step 6: open the operators' dashboard on the demo lake (until Ctrl+C)."""
    console.rule("[bold]6. Dashboard")
    try:
        from meterwatch.cli.dashboard import users_backend
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
        serve(settings, port=port, address="127.0.0.1", show=False, users=users_backend(settings))
    return 0


COMMANDS = (cmd_synth, cmd_demo)
