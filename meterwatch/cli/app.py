"""The ``meterwatch`` command line: parses arguments and calls the core.

One module per command group (:mod:`~meterwatch.cli.lake`, :mod:`~meterwatch.cli.demo`,
:mod:`~meterwatch.cli.detect`, :mod:`~meterwatch.cli.evaluation`,
:mod:`~meterwatch.cli.dashboard`); each command builds its objects from
:class:`~meterwatch.settings.Settings` (the composition root) and prints a short, readable
summary. The core never imports this package.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.markup import escape

from meterwatch import __version__
from meterwatch.cli import dashboard, demo, detect, evaluation, lake
from meterwatch.cli.common import NotALakeError, err_console
from meterwatch.storage import DamagedLakeError, LegacyLakeError


@click.group(
    name="meterwatch",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__, "--version", prog_name="meterwatch", message="%(prog)s %(version)s"
)
def app() -> None:
    """Find non-technical electricity losses in hourly meter data."""


for _group in (lake, demo, detect, evaluation, dashboard):
    for _command in _group.COMMANDS:
        app.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``meterwatch`` command; returns the exit status."""
    try:
        result = app.main(args=list(argv) if argv is not None else None, prog_name="meterwatch",
                          standalone_mode=False)  # fmt: skip
    except click.ClickException as exc:  # a usage error: status 2, as before
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except click.Abort:
        err_console.print("interrupted")
        return 130
    except DamagedLakeError as exc:
        err_console.print("[red]error[/red]", escape(str(exc)))
        err_console.print("`meterwatch check` lists every damaged file")
        return 2
    except (NotALakeError, LegacyLakeError) as exc:
        err_console.print("[red]error[/red]", escape(str(exc)))
        return 2
    return int(result or 0)
