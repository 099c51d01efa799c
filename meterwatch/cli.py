"""The ``meterwatch`` command line: parses arguments and calls the core.

Each command builds its objects from :class:`~meterwatch.settings.Settings` (the
composition root) and prints a short, readable summary.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from meterwatch import __version__
from meterwatch.settings import Settings
from meterwatch.storage import (
    DamagedLakeError,
    Lake,
    LegacyLakeError,
    ReadOnlyQueryError,
    is_lake,
    open_lake,
)

# soft_wrap: paths and error messages stay on one line, whole, for grep and copy-paste.
console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(lake=getattr(args, "lake", None), language=getattr(args, "language", None))


class NotALakeError(Exception):
    """A command that reads a lake was pointed at a folder that holds none."""


def lake_problem(uri: str) -> str | None:
    """Why ``uri`` is not a lake a command can read, or ``None`` when it is one.

    Only ``ingest`` (and ``synth``/``demo``) create a lake: every other command refuses a
    folder without one instead of creating an empty lake there and reporting 0 rows. An S3
    lake is not checked here (its tables are in Glue; a wrong URI fails on the first read).
    """
    if uri.startswith("s3://"):
        return None
    root = Path(uri).expanduser()
    if is_lake(root):
        return None
    what = "does not exist" if not root.exists() else "holds no meterwatch lake"
    return (
        f"{uri} {what}: check --lake (or $METERWATCH_LAKE);"
        f" `meterwatch ingest FILES --lake {uri}` creates a lake"
    )


def existing_lake(settings: Settings) -> Lake:
    """Open the settings' lake, which must exist (:func:`lake_problem`)."""
    problem = lake_problem(settings.lake)
    if problem is not None:
        raise NotALakeError(problem)
    return open_lake(settings.lake, settings)


def _lake(args: argparse.Namespace) -> Lake:
    return existing_lake(_settings(args))


def print_table(table: Table) -> None:
    """Print ``table`` whole: off a terminal (a pipe, a log) rich would squeeze it into 80
    columns and cut its headers ("acc…"), so it gets the width it needs there."""
    if console.is_terminal:
        console.print(table)
        return
    needed = Measurement.get(console, console.options.update_width(1_000), table).maximum
    narrow = console.width
    console.width = max(narrow, needed)
    try:
        console.print(table)
    finally:
        console.width = narrow


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar (on a terminal) fed by ``update(done, total, item)`` calls."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[item]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None, item="")

        def update(done: int, total: int, item: str) -> None:
            bar.update(task, completed=done, total=total, item=item)

        yield update


# ingest -----------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    from meterwatch.ingest import ingest_paths
    from meterwatch.ingest.rules import IngestRules

    settings = _settings(args)
    lake = open_lake(settings.lake)
    started = time.perf_counter()
    with progress_bar("Ingesting") as update:
        report = ingest_paths(
            lake,
            args.paths,
            sectors=args.sectors or (),
            language=settings.language,
            progress=update,
            rules=IngestRules.from_settings(settings),
        )
    elapsed = time.perf_counter() - started
    for error in report.errors:
        err_console.print("[red]error[/red]", escape(str(error)))
    for path, why in report.skipped:
        err_console.print("[yellow]skipped[/yellow]", escape(f"{path}: {why}"))
    if report.rejected_examples:
        err_console.print(
            f"[yellow]{report.rows_rejected} rows rejected[/yellow] (kept in the quarantine), e.g.:"
        )
        for example in report.rejected_examples[:10]:
            err_console.print(" ", escape(example))
    table = Table(title=f"Ingest {report.run_id} into {lake.uri}", show_edge=False)
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
def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    lake = _lake(args)
    try:
        frame = lake.query(args.query)
    except (duckdb.Error, ReadOnlyQueryError) as exc:
        err_console.print("[red]SQL error[/red]:", escape(str(exc)))
        return 2
    if args.csv:
        frame.to_csv(sys.stdout, index=False)
        return 0
    table = Table(show_edge=False)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.head(args.limit).itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    print_table(table)
    if len(frame) > args.limit:
        console.print(f"({len(frame):,} rows, first {args.limit} shown; use --csv for all)")
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


def cmd_export(args: argparse.Namespace) -> int:
    from meterwatch import tables
    from meterwatch.spreadsheet import escape_formulas

    lake = _lake(args)
    name = args.table.replace("-", "_")
    try:
        spec = tables.spec(name)
    except KeyError as exc:
        err_console.print(f"[red]error[/red] {exc.args[0]}")
        return 2
    columns = list(spec.columns)
    if name == "readings":
        columns.insert(columns.index("voltage_fc") + 1, "sector")
    order = EXPORT_ORDER.get(args.table, "")
    # Table and column names come from the registry (the argument is one of its choices).
    sql = f"SELECT {', '.join(columns)} FROM {name}" + (f" ORDER BY {order}" if order else "")  # noqa: S608
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = lake.query(sql)
    if args.operator or args.language:
        if name != "alerts":
            err_console.print("[red]error[/red] --operator and --language export alerts only")
            return 2
        from meterwatch.notify import alerts_for_operators
        from meterwatch.tariffs import Tariffs

        settings = _settings(args)
        frame = alerts_for_operators(frame, settings.language, Tariffs.from_settings(settings))
        # utf-8-sig: a spreadsheet opened by double click reads the accents right
        escape_formulas(frame).to_csv(out, index=False, encoding="utf-8-sig")
    else:
        escape_formulas(frame).to_csv(out, index=False)
    console.print(f"{len(frame):,} rows of {name} written to {out}")
    return 0


# check ----------------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from meterwatch.integrity import check_lake

    lake = _lake(args)
    report = check_lake(lake, orphan_min_age=timedelta(minutes=args.orphan_age))
    for damaged in report.damaged:
        err_console.print("[red]damaged[/red]", escape(str(damaged)))
    for key in report.orphans_removed:
        console.print(
            "orphaned model artefact removed (a train that never committed):", escape(key)
        )
    for key in report.orphans_kept:
        console.print(
            f"orphaned model artefact younger than {args.orphan_age} min, kept "
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


# demo / synth --------------------------------------------------------------------------------------
def cmd_synth(args: argparse.Namespace) -> int:
    from meterwatch.synth import generate_fleet

    with progress_bar("Generating") as update:
        summary = generate_fleet(
            Path(args.out), n_customers=args.customers, days=args.days, seed=args.seed,
            progress=lambda done, total: update(done, total, ""),
        )  # fmt: skip
    console.print(
        f"{summary.n_customers} customers, {summary.n_rows:,} rows written to {summary.data_dir}; "
        f"labels in {summary.labels_path}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from meterwatch.demo import run_demo

    return run_demo(args, console)


def _fleet_size(text: str) -> int:
    """A fleet size for ``synth`` and ``demo``: the labelled events need 6 customers or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 6:
        raise argparse.ArgumentTypeError(
            f"{value} is too few: the fleet's labelled losses and defects need at least 6"
        )
    return value


# wiring ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterwatch",
        description="Find non-technical electricity losses in hourly meter data.",
    )
    parser.add_argument("--version", action="version", version=f"meterwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def lake_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--lake", help="lake folder or s3:// URI (default: $METERWATCH_LAKE or ./lake)"
        )

    p = sub.add_parser("ingest", help="validate meter files and upsert them into the lake")
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="files (.csv, .csv.gz, .xlsx) or folders"
    )
    lake_option(p)
    p.add_argument(
        "--sectors", action="append", metavar="FILE", help="customer-to-sector map (.xlsx or .csv)"
    )
    p.add_argument("--language", choices=("es", "en"), help="language of the stored findings")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sql", help="run a SQL query over the lake's tables")
    p.add_argument("query", help='e.g. "SELECT client_id, count(*) FROM readings GROUP BY 1"')
    lake_option(p)
    p.add_argument("--csv", action="store_true", help="print every row as CSV")
    p.add_argument("--limit", type=int, default=50, help="rows to show as a table (default 50)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("export", help="write a table to a CSV file")
    p.add_argument("table", choices=sorted(EXPORT_ORDER), help="table to export")
    p.add_argument("--out", required=True, metavar="FILE.csv")
    lake_option(p)
    p.add_argument(
        "--operator",
        action="store_true",
        help="alerts for operators: headers, kinds and evidence in their language, loss in PEN",
    )
    p.add_argument(
        "--language", choices=("es", "en"), help="language of the operator export (implies it)"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "check", help="verify every data file against its checksum; remove orphaned artefacts"
    )
    lake_option(p)
    p.add_argument(
        "--orphan-age",
        type=float,
        default=60,
        metavar="MINUTES",
        help="remove orphaned model artefacts older than this (default 60)",
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("synth", help="generate a synthetic fleet with labelled events")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--customers", type=_fleet_size, default=30, help="customers (at least 6; default 30)"
    )
    p.add_argument("--days", type=int, default=760)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("demo", help="generate the demo fleet and run the whole pipeline on it")
    p.add_argument("--dir", default="demo", help="where the demo fleet is written (default ./demo)")
    lake_option(p)
    p.add_argument(
        "--customers", type=_fleet_size, default=30, help="customers (at least 6; default 30)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-serve", action="store_true", help="do not open the dashboard at the end")
    p.add_argument("--port", type=int, default=5006, help="dashboard port (default 5006)")
    p.set_defaults(func=cmd_demo)

    # Commands of the other units, each in its own module (``add_commands(sub, lake_option)``).
    for module in _COMMAND_MODULES:
        try:
            importlib.import_module(module).add_commands(sub, lake_option)
        except ModuleNotFoundError as exc:  # an optional extra (e.g. panel) is not installed
            if exc.name is None or exc.name.split(".")[0] == "meterwatch":
                raise
    return parser


_COMMAND_MODULES: tuple[str, ...] = (
    "meterwatch.detect.commands",  # detection engine: train, score
    "meterwatch.evaluation.commands",  # evaluation: evaluate
    "meterwatch.storage.commands",  # storage: migrate-lake
    # dashboard: serve
    "meterwatch.dashboard.commands",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``meterwatch`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DamagedLakeError as exc:
        err_console.print("[red]error[/red]", escape(str(exc)))
        err_console.print("`meterwatch check` lists every damaged file")
        return 2
    except (NotALakeError, LegacyLakeError) as exc:
        err_console.print("[red]error[/red]", escape(str(exc)))
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
