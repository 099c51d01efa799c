"""``meterwatch evaluate``: the evaluation protocol on a lake, as a command."""

from __future__ import annotations

import shlex
import sys

import click

from meterwatch.cli.common import console, err_console, lake_option, settings_for


@click.command("evaluate")
@lake_option
@click.option("--seeds", type=int, default=3, help="random draws per tier (default 3)")
@click.option(
    "--seed-offset",
    default="0",
    metavar="N|fresh",
    help="first seed (default 0); 'fresh' draws a new random one (printed) on every run",
)
@click.option(
    "--tier",
    type=click.Choice(("standard", "subtle", "wide", "both", "all")),
    default="both",
    help="both = standard and subtle (docs/domain-notes.md); wide = wider ranges and variants; all",
)
@click.option(
    "--customers",
    type=click.Choice(("all", "tune", "holdout")),
    default="all",
    help="judge every customer, or only one half of the fixed split (tune on one, "
    "report the other)",
)
@click.option(
    "--forecast", is_flag=True, help="also measure forecast accuracy (MAPE, band coverage)"
)
@click.option(
    "--reference", metavar="FILE", help="the prototype's per-customer table (seed_best_models.csv)"
)
@click.option(
    "--out", default="evaluation", metavar="DIR", help="report folder (default ./evaluation)"
)
@click.option(
    "--detector",
    multiple=True,
    type=click.Choice(("product", "prototype")),
    help="what to evaluate (repeatable; default: product and prototype, or the prototype alone when the engine is missing)",
)
@click.option("--workers", type=int, default=1, help="prototype fits in parallel (default 1)")
@click.option(
    "--increment-hours",
    type=int,
    metavar="H",
    help="feed the product the new data H hours at a time, scoring after each (default: at once)",
)
@click.option(
    "--labels",
    metavar="FILE",
    help="losses known to be in the data (e.g. demo/labels.csv from meterwatch synth): "
    "counted as positives",
)
def cmd_evaluate(
    lake: str | None,
    seeds: int,
    seed_offset: str,
    tier: str,
    customers: str,
    forecast: bool,
    reference: str | None,
    out: str,
    detector: tuple[str, ...],
    workers: int,
    increment_hours: int | None,
    labels: str | None,
) -> int:
    """Measure detection (injected labelled losses) and forecast accuracy on the lake's data."""
    from rich.markup import escape

    from meterwatch.evaluation.report import PLOTS_NEED, plotting_available

    if not plotting_available():  # say so now, not after the draws
        err_console.print("[red]error[/red]", escape(PLOTS_NEED))
        return 2
    from meterwatch.evaluation.report import headline_table
    from meterwatch.evaluation.run import evaluate_lake
    from meterwatch.storage import open_lake

    settings = settings_for(lake)
    source = open_lake(settings.lake, settings)
    from meterwatch.evaluation.protocol import fresh_seed

    tiers = {"both": ("standard", "subtle"), "all": ("standard", "subtle", "wide")}.get(
        tier, (tier,)
    )
    first_seed = fresh_seed() if seed_offset == "fresh" else int(seed_offset)
    err_console.print(f"seeds {first_seed} to {first_seed + seeds - 1}")
    try:
        outcome = evaluate_lake(
            source,
            out=out,
            seeds=seeds,
            seed_offset=first_seed,
            tiers=tiers,
            customers=customers,
            detectors=list(detector) or None,
            forecast=forecast,
            reference=reference,
            settings=settings,
            workers=workers,
            increment_hours=increment_hours,
            labels=labels,
            command="meterwatch " + shlex.join(sys.argv[1:]),
            progress=lambda line: err_console.print(line),
        )
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        err_console.print(f"[red]error[/red] {exc}")
        return 2
    if outcome.detection is not None:
        table = headline_table(outcome.detection.summary())
        console.print(table.to_string(index=False))
    if outcome.forecast is not None:
        from meterwatch.evaluation.report import forecast_summary

        stats = forecast_summary(outcome.forecast)
        if stats:
            console.print(
                f"forecast: MAPE below the reference on {stats['better_than_reference']:.0f}/{stats['customers']:.0f}"
                f" customers, median ratio {stats['median_ratio']:.3f}"
            )
    console.print(f"report written to {outcome.report}")
    return 0


COMMANDS = (cmd_evaluate,)
