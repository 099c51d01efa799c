"""``meterwatch serve``: the operators' dashboard."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
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
            users_path=settings.dashboard_users,
            behind_proxy=args.behind_proxy,
        )
    except AuthRequiredError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        return 2
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, err_console)
    return 0


def _read_password() -> str:
    """The new password: typed twice on a terminal, else the first line of stdin."""
    import getpass
    import sys

    from meterwatch.dashboard.accounts import AccountError

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    """Add, remove or list the dashboard's operators (passwords stored as scrypt hashes)."""
    from meterwatch.cli import console, err_console
    from meterwatch.dashboard.accounts import (
        AccountError,
        UsersBackend,
        UsersFile,
        UsersSecret,
        add_user,
        load_document,
        remove_user,
        save_document,
    )
    from meterwatch.dashboard.server import users_backend
    from meterwatch.settings import Settings

    settings = Settings.load(lake=args.lake)
    backend: UsersBackend
    if args.secret:
        backend = UsersSecret(args.secret)
    elif args.users:
        backend = UsersFile(Path(args.users))
    else:
        found = users_backend(settings.lake, settings.dashboard_users)
        if found is None:
            err_console.print(
                "[red]error[/red] an S3 lake keeps its users in a secret: --secret ID"
            )
            return 2
        backend = found
    try:
        doc = load_document(backend)
        if args.action == "list":
            for name in sorted(doc["users"]):
                console.print(f"{name}\t{doc['users'][name].get('created_at', '')}")
            return 0
        if args.name is None:
            raise AccountError(f"users {args.action} needs a NAME")
        if args.action == "add":
            user = add_user(doc, args.name, _read_password())
        else:
            user = remove_user(doc, args.name)
        save_document(backend, doc)
    except AccountError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        return 2
    done = "added (or password changed)" if args.action == "add" else "removed"
    console.print(f"user {user} {done} in {backend.describe()}")
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
        help="address to listen on (default 127.0.0.1; any other needs accounts: meterwatch users)",
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="a TLS proxy in front (App Runner): client address from X-Forwarded-For",
    )
    p.add_argument(
        "--show",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="open a browser tab (default: no)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="add, remove or list the dashboard's operators")
    p.add_argument("action", choices=("add", "remove", "list"))
    p.add_argument("name", nargs="?", help="the operator's user name (add, remove)")
    lake_option(p)
    p.add_argument("--users", metavar="FILE", help="users file (default <lake>/_meta/users.json)")
    p.add_argument(
        "--secret", metavar="ID", help="AWS Secrets Manager secret holding the users instead"
    )
    p.set_defaults(func=cmd_users)
