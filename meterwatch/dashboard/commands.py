"""``meterwatch serve``: the operators' dashboard."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    from meterwatch.cli import err_console
    from meterwatch.dashboard.server import AuthRequiredError, serve
    from meterwatch.settings import Settings

    settings = Settings.load(lake=args.lake)
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
        if exc.name is None or exc.name.split(".")[0] not in (
            "panel",
            "hvplot",
            "holoviews",
            "bokeh",
        ):
            raise
        err_console.print(
            f"[red]error[/red] the dashboard needs {exc.name}: pip install 'meterwatch[dashboard]'"
        )
        return 2
    return 0


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
