"""CLI commands of the detection engine: ``train`` and ``score``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.markup import escape


def customer_ids(given: list[str] | None, known: set[str]) -> list[str] | None:
    """The ``--clients`` as the lake names them: a bare number ``1`` is "Cliente 1" when the
    lake has no customer called ``1`` but has that one."""
    if given is None:
        return None
    return [
        f"Cliente {c}" if c.isdigit() and c not in known and f"Cliente {c}" in known else c
        for c in given
    ]


def cmd_train(args: argparse.Namespace) -> int:
    import pandas as pd

    from meterwatch.cli import _settings, console, existing_lake, progress_bar
    from meterwatch.detect.pipeline import train
    from meterwatch.tables import stored_params

    settings = _settings(args)
    lake = existing_lake(settings)
    known = {str(p) for p in lake.partitions("readings") if p is not None}
    clients = customer_ids(args.clients, known)
    with progress_bar("Training") as update:
        result = train(lake, clients=clients, settings=settings, progress=update)
    console.print(
        f"{result.n_models} models trained (version {result.model_version}) in {result.seconds:.1f} s"
    )
    if result.fallbacks:
        console.print(f"sector profile for short histories: {', '.join(result.fallbacks)}")
    if result.skipped:
        console.print(f"[yellow]no readings[/yellow]: {', '.join(result.skipped)}")
    if result.excluded_hours:
        console.print(
            f"{result.excluded_hours:,} hours of standing alerts left out of the histories"
            " (an alert inspected as a false alarm is learnt)"
        )
    if not result.models.empty:
        m = result.models
        held_out = pd.DataFrame([stored_params(p).get("held_out") or {} for p in m["params"]])
        console.print(
            f"held-out fit: median hourly MAE {m['mae'].median():.3f} kWh,"
            f" median band coverage {m['coverage'].median():.1%}"
            + "".join(
                f", median {label} {held_out[key].median():.1f} %"
                for key, label in (("period_mape_24", "24 h MAPE"), ("wape", "hourly WAPE"))
                if key in held_out and held_out[key].notna().any()
            )
        )
    return 0 if result.n_models else 1


def cmd_score(args: argparse.Namespace) -> int:
    from meterwatch.cli import _settings, console, err_console, existing_lake, progress_bar
    from meterwatch.detect.pipeline import score
    from meterwatch.notify import ConsoleSink, OutboxSink

    settings = _settings(args)
    lake = existing_lake(settings)
    if lake.read("models").empty:
        err_console.print(
            "[red]error[/red] no trained models in this lake yet:"
            f" run `meterwatch train --lake {escape(settings.lake)}` first"
        )
        return 1
    outbox = OutboxSink(lake)
    with progress_bar("Scoring") as update:
        result = score(
            lake, sinks=(outbox, ConsoleSink(console)), settings=settings, progress=update
        )
    console.print(
        f"{result.hours_scored:,} hours scored for {result.customers} customers"
        f" ({result.hours_revised:,} of the previous edge revised),"
        f" {result.anomalies:,} anomalous; alerts: {result.alerts_new} new,"
        f" {result.alerts_updated} updated, {result.alerts_withdrawn} withdrawn"
        f" ({result.seconds:.1f} s)"
    )
    for key in outbox.keys:
        console.print(f"outbox: {key}")
    if result.skipped:
        console.print(f"no model yet (run train): {', '.join(result.skipped)}")
    return 0


def add_commands(sub: Any, lake_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``train`` and ``score`` on the main parser."""
    p = sub.add_parser("train", help="fit one model per customer on its readings")
    lake_option(p)
    p.add_argument("--clients", nargs="+", metavar="ID", help="only these customers")
    p.add_argument("--language", choices=("es", "en"), help="language of the findings")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("score", help="score new hours, raise and update alerts")
    lake_option(p)
    p.add_argument("--language", choices=("es", "en"), help="language of the alerts")
    p.set_defaults(func=cmd_score)
