"""Commands of the detection engine: ``train`` and ``score``."""

from __future__ import annotations

import click
from rich.markup import escape

from meterwatch.cli.common import (
    console,
    err_console,
    existing_lake,
    lake_option,
    language_option,
    progress_bar,
    settings_for,
)


def customer_ids(given: list[str] | None, known: set[str]) -> list[str] | None:
    """The ``--clients`` as the lake names them: a bare number ``1`` is "Cliente 1" when the
    lake has no customer called ``1`` but has that one."""
    if given is None:
        return None
    return [
        f"Cliente {c}" if c.isdigit() and c not in known and f"Cliente {c}" in known else c
        for c in given
    ]


@click.command("train")
@lake_option
@click.option(
    "--clients", multiple=True, metavar="ID...", help="only these customers (--clients 1 2 3)"
)
@click.argument("more_clients", nargs=-1, metavar="")
@language_option("language of the findings")
def cmd_train(
    lake: str | None, clients: tuple[str, ...], more_clients: tuple[str, ...], language: str | None
) -> int:
    """Fit one model per customer on its readings."""
    import pandas as pd

    from meterwatch.detect.pipeline import train
    from meterwatch.storage.base import customers_with_readings
    from meterwatch.tables import stored_params

    if more_clients and not clients:
        raise click.UsageError(f"unexpected argument {more_clients[0]!r}")
    settings = settings_for(lake, language)
    source = existing_lake(settings)
    known = set(customers_with_readings(source))
    chosen = customer_ids([*clients, *more_clients] if clients else None, known)
    with progress_bar("Training") as update:
        result = train(source, clients=chosen, settings=settings, progress=update)
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


@click.command("score")
@lake_option
@language_option("language of the alerts")
def cmd_score(lake: str | None, language: str | None) -> int:
    """Score new hours, raise and update alerts."""
    from meterwatch.detect.pipeline import score
    from meterwatch.notify import ConsoleSink, OutboxSink

    settings = settings_for(lake, language)
    source = existing_lake(settings)
    if source.read("models").empty:
        err_console.print(
            "[red]error[/red] no trained models in this lake yet:"
            f" run `meterwatch train --lake {escape(settings.lake)}` first"
        )
        return 1
    outbox = OutboxSink(source)
    with progress_bar("Scoring") as update:
        result = score(
            source, sinks=(outbox, ConsoleSink(console)), settings=settings, progress=update
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
    if result.corrected:
        console.print(
            f"corrected readings scored again: {', '.join(escape(c) for c in result.corrected)}"
        )
    if result.deferred:
        console.print(
            f"{len(result.deferred)} customers never scored left for the next run"
            f" (history_max_customers {settings.history_max_customers}): run score again"
        )
    return 0


COMMANDS = (cmd_train, cmd_score)
