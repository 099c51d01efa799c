"""Commands over the lake: ``ingest``, ``sql``, ``export``, ``check``, ``migrate-lake``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from meterwatch.cli.common import (
    console,
    err_console,
    existing_lake,
    lake_option,
    language_option,
    print_table,
    progress_bar,
    settings_for,
)
from meterwatch.storage import ReadOnlyQueryError, open_lake


# ingest -----------------------------------------------------------------------------------
@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@lake_option
@click.option(
    "--sectors", multiple=True, metavar="FILE", help="customer-to-sector map (.xlsx or .csv)"
)
@language_option("language of the stored findings")
def cmd_ingest(
    paths: tuple[str, ...], lake: str | None, sectors: tuple[str, ...], language: str | None
) -> int:
    """Validate meter files (.csv, .csv.gz, .xlsx or folders) and upsert them into the lake."""
    from meterwatch.ingest import ingest_paths
    from meterwatch.ingest.rules import IngestRules

    settings = settings_for(lake, language)
    target = open_lake(settings.lake, settings)
    started = time.perf_counter()
    with progress_bar("Ingesting") as update:
        report = ingest_paths(
            target,
            list(paths),
            sectors=sectors,
            language=settings.language,
            progress=update,
            rules=IngestRules.from_settings(settings),
        )
    elapsed = time.perf_counter() - started
    for error in report.errors:
        err_console.print("[red]error[/red]", escape(str(error)))
    for path, why in report.skipped:
        err_console.print("[yellow]skipped[/yellow]", escape(f"{path}: {why}"))
    for problem in report.sector_problems:
        err_console.print("[yellow]sector map[/yellow]", escape(problem))
    if report.rejected_examples:
        err_console.print(
            f"[yellow]{report.rows_rejected} rows rejected[/yellow] (kept in the quarantine), e.g.:"
        )
        for example in report.rejected_examples[:10]:
            err_console.print(" ", escape(example))
    table = Table(title=f"Ingest {report.run_id} into {target.uri}", show_edge=False)
    shown = (
        report.files
        if len(report.files) <= 40
        else [f for f in report.files if f.status != "ok" or f.rows_rejected]
    )
    width = max((len(Path(f.path).name) for f in shown), default=4)
    table.add_column("file", no_wrap=True, min_width=min(width, 40))
    for col in ("status", "read", "accepted", "rejected", "new", "updated", "unchanged"):
        table.add_column(col, justify="left" if col == "status" else "right")
    for f in shown:
        table.add_row(
            Path(f.path).name, f.status, *(str(v) for v in (f.rows_read, f.rows_accepted, f.rows_rejected,
                                                            f.rows_inserted, f.rows_updated, f.rows_unchanged))
        )  # fmt: skip
    if shown:
        print_table(table)
    files_ok = sum(f.status != "rejected" for f in report.files)
    console.print(
        f"files: {len(report.files)} read, {files_ok} ingested, {len(report.files) - files_ok} rejected"
        f" (raw copies kept); sector maps: {len(report.sector_maps)}"
    )
    console.print(
        f"rows read = accepted + rejected: {report.rows_read:,} = {report.rows_accepted:,} + {report.rows_rejected:,}"
        f"  (new {report.total('rows_inserted'):,}, updated {report.total('rows_updated'):,},"
        f" unchanged {report.total('rows_unchanged'):,})"
    )
    console.print(
        f"customers in the lake: {report.customers_total} ({report.customers_with_sector} with a sector);"
        f" {elapsed:.2f} s"
    )
    if report.findings_by_code:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(report.findings_by_code.items()))
        console.print(f"data-quality findings in the lake: {codes}")
    if not report.ingested_anything:
        err_console.print("[red]nothing could be ingested[/red]")
        return 1
    return 0


# sql / export -----------------------------------------------------------------------------------
@click.command("sql")
@click.argument("query")
@lake_option
@click.option("--csv", "as_csv", is_flag=True, help="print every row as CSV")
@click.option("--limit", type=int, default=50, help="rows to show as a table (default 50)")
def cmd_sql(query: str, lake: str | None, as_csv: bool, limit: int) -> int:
    """Run a read-only SQL query over the lake's tables.

    QUERY, e.g. "SELECT client_id, count(*) FROM readings GROUP BY 1".
    """
    import duckdb

    source = existing_lake(settings_for(lake))
    try:
        frame = source.query(query)
    except (duckdb.Error, ReadOnlyQueryError) as exc:
        err_console.print("[red]SQL error[/red]:", escape(str(exc)))
        return 2
    if as_csv:
        frame.to_csv(sys.stdout, index=False)
        return 0
    table = Table(show_edge=False)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    print_table(table)
    if len(frame) > limit:
        console.print(f"({len(frame):,} rows, first {limit} shown; use --csv for all)")
    return 0


EXPORT_ORDER = {
    "readings": "client_id, ts",
    "data-quality": "client_id, period_start, code",
    "scores": "client_id, ts",
    "alerts": "rank, alert_id",
    "models": "client_id",
    "feedback": "created_at, feedback_id",
    "quarantine": "source_file, line",
    "customers": "",
    "ingestions": "started_at",
}


@click.command("export")
@click.argument("table", type=click.Choice(sorted(EXPORT_ORDER)))
@click.option("--out", required=True, metavar="FILE.csv")
@lake_option
@click.option(
    "--operator",
    is_flag=True,
    help="alerts for operators: headers, kinds and evidence in their language, loss in PEN",
)
@language_option("language of the operator export (implies it)")
def cmd_export(table: str, out: str, lake: str | None, operator: bool, language: str | None) -> int:
    """Write a table to a CSV file."""
    from meterwatch import tables
    from meterwatch.spreadsheet import escape_formulas

    settings = settings_for(lake, language)
    source = existing_lake(settings)
    name = table.replace("-", "_")
    try:
        spec = tables.spec(name)
    except KeyError as exc:
        err_console.print(f"[red]error[/red] {exc.args[0]}")
        return 2
    columns = list(spec.columns)
    if name == "readings":
        columns.insert(columns.index("voltage_fc") + 1, "sector")
    order = EXPORT_ORDER.get(table, "")
    # Table and column names come from the registry (the argument is one of its choices).
    sql = f"SELECT {', '.join(columns)} FROM {name}" + (f" ORDER BY {order}" if order else "")  # noqa: S608
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = source.query(sql)
    if operator or language:
        if name != "alerts":
            err_console.print("[red]error[/red] --operator and --language export alerts only")
            return 2
        from meterwatch.notify import alerts_for_operators
        from meterwatch.tariffs import Tariffs

        frame = alerts_for_operators(frame, settings.language, Tariffs.from_settings(settings))
        # utf-8-sig: a spreadsheet opened by double click reads the accents right
        escape_formulas(frame).to_csv(target, index=False, encoding="utf-8-sig")
    else:
        if name == "alerts":  # raised or watched, without reading params
            from meterwatch.alerts.render import with_priority

            frame = with_priority(frame)
        escape_formulas(frame).to_csv(target, index=False)
    console.print(f"{len(frame):,} rows of {name} written to {target}")
    return 0


# check ----------------------------------------------------------------------------------------------
@click.command("check")
@lake_option
@click.option(
    "--orphan-age",
    type=float,
    default=60,
    metavar="MINUTES",
    help="remove orphaned model artefacts older than this (default 60)",
)
def cmd_check(lake: str | None, orphan_age: float) -> int:
    """Verify every data file against its checksum; remove orphaned artefacts."""
    from datetime import timedelta

    from meterwatch.integrity import check_lake

    report = check_lake(
        existing_lake(settings_for(lake)), orphan_min_age=timedelta(minutes=orphan_age)
    )
    for damaged in report.damaged:
        err_console.print("[red]damaged[/red]", escape(str(damaged)))
    for key in report.orphans_removed:
        console.print(
            "orphaned model artefact removed (a train that never committed):", escape(key)
        )
    for key in report.orphans_kept:
        console.print(
            f"orphaned model artefact younger than {orphan_age:g} min, kept "
            "(a train may be committing it):",
            escape(key),
        )
    unrecorded = (
        f" ({report.unrecorded} committed before checksums were kept: presence checked only)"
        if report.unrecorded
        else ""
    )
    console.print(
        f"{report.files:,} data files checked{unrecorded}, {len(report.damaged)} damaged;"
        f" {report.seconds:.2f} s"
    )
    if not report.ok:
        err_console.print(
            "[red]the lake has damaged data files[/red]: restore them (or re-ingest the raw"
            " files into a new lake); queries that read them fail until then"
        )
        return 1
    return 0


@click.command("migrate-lake")
@lake_option
def cmd_migrate_lake(lake: str | None) -> int:
    """Convert a lake of the retired snapshot-log format to Apache Iceberg."""
    from meterwatch.storage.migrate import MigrationError, migrate_lake

    root = settings_for(lake=lake).lake
    try:
        report = migrate_lake(root)
    except MigrationError as exc:
        err_console.print("[red]error[/red]", escape(str(exc)))
        return 2
    if not report.migrated:
        console.print(f"{escape(root)} is already an Iceberg lake: nothing to do")
        return 0
    for name, rows in report.rows.items():
        console.print(f"{name:14} {rows:>12,} rows")
    console.print(
        f"migrated to Apache Iceberg in {report.seconds:.1f} s;"
        f" the old files are in {escape(str(report.legacy_folder))} (delete it once satisfied)"
    )
    return 0


COMMANDS = (cmd_ingest, cmd_sql, cmd_export, cmd_check, cmd_migrate_lake)
