"""``meterwatch serve``: the operators' dashboard."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.markup import escape


def cmd_serve(args: argparse.Namespace) -> int:
    from meterwatch.cli import NotALakeError, err_console, lake_problem
    from meterwatch.settings import Settings

    settings = Settings.load(lake=args.lake)
    problem = lake_problem(settings.lake)
    if problem is not None:
        raise NotALakeError(problem)
    try:
        from meterwatch.dashboard.server import AuthRequiredError, serve
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, err_console)
    try:
        serve(
            settings.lake,
            port=args.port,
            address=args.address,
            show=args.show,
            dashboard_url=settings.dashboard_url,
        )
    except AuthRequiredError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        return 2
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, err_console)
    return 0


def _missing_extra(exc: ModuleNotFoundError, err_console: Any) -> int:
    """Say which extra to install when a dashboard library is missing (other errors raise)."""
    if exc.name is None or exc.name.split(".")[0] not in ("panel", "hvplot", "holoviews", "bokeh"):
        raise exc
    # escape: rich would read "[dashboard]" as markup and print "pip install 'meterwatch'"
    err_console.print(
        "[red]error[/red]",
        escape(f"the dashboard needs {exc.name}: pip install 'meterwatch[dashboard]'"),
    )
    return 2


def add_commands(sub: Any, lake_option: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``serve`` to the CLI."""
    p = sub.add_parser("serve", help="serve the operators' dashboard")
    lake_option(p)
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs a password)",
    )
    p.add_argument(
        "--show",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="open a browser tab (default: no)",
    )
    p.set_defaults(func=cmd_serve)
