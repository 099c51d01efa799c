"""What every command group shares: the consoles, the progress bar, the settings, the lake.

Only the CLI prints: the core reports progress through plain callbacks
(``progress(done, total, item)``) that :func:`progress_bar` feeds into a rich bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from meterwatch.settings import Settings
from meterwatch.storage import Lake, is_lake, open_lake

# soft_wrap: paths and error messages stay on one line, whole, for grep and copy-paste.
console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


#: Model fits from which the command's ``train`` and ``score`` use worker processes, unless
#: ``METERWATCH_FIT_PROCESSES_FROM`` says otherwise (``Settings.fit_processes_from``).
CLI_FIT_PROCESSES_FROM = 64


def settings_for(lake: str | None = None, language: str | None = None) -> Settings:
    """The command's settings: its options over the ``METERWATCH_*`` environment.

    Worker processes for model fits are the command's choice, not the library's default: a
    spawned worker imports the program's main module, which the ``meterwatch`` command guards
    and a caller's own script may not (its top level would run again in every worker).
    """
    settings = Settings.load(lake=lake, language=language)
    if "fit_processes_from" not in settings.model_fields_set:
        settings = settings.model_copy(update={"fit_processes_from": CLI_FIT_PROCESSES_FROM})
    return settings


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


def lake_option(command: F) -> F:
    """``--lake``: the lake folder or ``s3://`` URI."""
    return click.option(
        "--lake", help="lake folder or s3:// URI (default: $METERWATCH_LAKE or ./lake)"
    )(command)


def language_option(what: str) -> Callable[[F], F]:
    """``--language es|en`` (default: the settings')."""
    return click.option("--language", type=click.Choice(("es", "en")), help=what)
