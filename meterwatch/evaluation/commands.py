"""``meterwatch evaluate``: the evaluation protocol on a lake, as a command."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    lake_option: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``evaluate`` on the ``meterwatch`` command line."""
    p = sub.add_parser(
        "evaluate",
        help="measure detection (injected labelled losses) and forecast accuracy on the lake's data",
    )
    lake_option(p)
    p.add_argument("--seeds", type=int, default=3, help="random draws per tier (default 3)")
    p.add_argument(
        "--seed-offset",
        default="0",
        metavar="N|fresh",
        help="first seed (default 0); 'fresh' draws a new random one (printed) on every run",
    )
    p.add_argument(
        "--tier",
        choices=("standard", "subtle", "wide", "both", "all"),
        default="both",
        help="both = standard and subtle (DOMAIN.md); wide = wider ranges and variants; all",
    )
    p.add_argument(
        "--customers",
        choices=("all", "tune", "holdout"),
        default="all",
        help="judge every customer, or only one half of the fixed split (tune on one, "
        "report the other)",
    )
    p.add_argument(
        "--forecast",
        action="store_true",
        help="also measure forecast accuracy (MAPE, band coverage)",
    )
    p.add_argument(
        "--reference",
        metavar="FILE",
        help="the prototype's per-customer table (seed_best_models.csv)",
    )
    p.add_argument(
        "--out", default="evaluation", metavar="DIR", help="report folder (default ./evaluation)"
    )
    p.add_argument(
        "--detector",
        action="append",
        choices=("product", "prototype"),
        help="what to evaluate (repeatable; default: product and prototype, or the prototype alone when the engine is missing)",
    )
    p.add_argument("--workers", type=int, default=1, help="prototype fits in parallel (default 1)")
    p.add_argument(
        "--increment-hours",
        type=int,
        metavar="H",
        help="feed the product the new data H hours at a time, scoring after each (default: at once)",
    )
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="losses known to be in the data (e.g. demo/labels.csv from meterwatch synth): "
        "counted as positives",
    )
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run the evaluation and print the headline figures."""
    from meterwatch.cli import _settings, console, err_console
    from meterwatch.evaluation.report import headline_table
    from meterwatch.evaluation.run import evaluate_lake
    from meterwatch.storage import open_lake

    settings = _settings(args)
    lake = open_lake(settings.lake)
    from meterwatch.evaluation.protocol import fresh_seed

    tiers = {"both": ("standard", "subtle"), "all": ("standard", "subtle", "wide")}.get(
        args.tier, (args.tier,)
    )
    seed_offset = fresh_seed() if args.seed_offset == "fresh" else int(args.seed_offset)
    err_console.print(f"seeds {seed_offset} to {seed_offset + args.seeds - 1}")
    try:
        outcome = evaluate_lake(
            lake,
            out=args.out,
            seeds=args.seeds,
            seed_offset=seed_offset,
            tiers=tiers,
            customers=args.customers,
            detectors=args.detector,
            forecast=args.forecast,
            reference=args.reference,
            settings=settings,
            workers=args.workers,
            increment_hours=args.increment_hours,
            labels=args.labels,
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
