"""The operators' dashboard: ``serve`` and ``users``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from meterwatch.cli.common import (
    NotALakeError,
    console,
    err_console,
    lake_option,
    lake_problem,
    settings_for,
)

if TYPE_CHECKING:  # the accounts module loads only for the commands that use it
    from meterwatch.dashboard.accounts import UsersBackend
    from meterwatch.settings import Settings


@click.command("serve")
@lake_option
@click.option("--port", type=int, default=5006, help="port (default 5006)")
@click.option(
    "--address",
    default="127.0.0.1",
    help="address to listen on (default 127.0.0.1; any other needs accounts: meterwatch users)",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="a TLS proxy in front (App Runner): client address from X-Forwarded-For",
)
@click.option("--show/--no-show", default=False, help="open a browser tab (default: no)")
def cmd_serve(lake: str | None, port: int, address: str, behind_proxy: bool, show: bool) -> int:
    """Serve the operators' dashboard."""
    settings = settings_for(lake)
    problem = lake_problem(settings.lake)
    if problem is not None:
        raise NotALakeError(problem)
    try:
        from meterwatch.dashboard.server import AuthRequiredError, serve
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, err_console)
    try:
        serve(
            settings,
            port=port,
            address=address,
            show=show,
            behind_proxy=behind_proxy,
            users=users_backend(settings),
        )
    except AuthRequiredError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        return 2
    except ModuleNotFoundError as exc:
        return _missing_extra(exc, err_console)
    return 0


def users_backend(settings: Settings) -> UsersBackend | None:
    """Where the dashboard's users live: the AWS Secrets Manager secret named in
    ``METERWATCH_DASHBOARD_SECRET``, else the users file (:func:`users_file`)."""
    from meterwatch.adapters.aws.secrets import UsersSecret
    from meterwatch.dashboard.server import users_file

    if settings.dashboard_secret:
        return UsersSecret(settings.dashboard_secret)
    return users_file(settings)


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


@click.command("users")
@click.argument("action", type=click.Choice(("add", "remove", "list")))
@click.argument("name", required=False)
@lake_option
@click.option("--users", metavar="FILE", help="users file (default <lake>/_meta/users.json)")
@click.option("--secret", metavar="ID", help="AWS Secrets Manager secret holding the users instead")
def cmd_users(
    action: str, name: str | None, lake: str | None, users: str | None, secret: str | None
) -> int:
    """Add, remove or list the dashboard's operators (passwords stored as scrypt hashes).

    NAME is the operator's user name (add, remove).
    """
    from meterwatch.adapters.aws.secrets import UsersSecret
    from meterwatch.dashboard.accounts import (
        AccountError,
        UsersFile,
        add_user,
        load_document,
        remove_user,
        save_document,
    )

    settings = settings_for(lake)
    backend: UsersBackend
    if secret:
        backend = UsersSecret(secret)
    elif users:
        backend = UsersFile(Path(users))
    else:
        found = users_backend(settings)
        if found is None:
            err_console.print(
                "[red]error[/red] an S3 lake keeps its users in a secret: --secret ID"
            )
            return 2
        backend = found
    try:
        doc = load_document(backend)
        if action == "list":
            for name in sorted(doc["users"]):
                console.print(f"{name}\t{doc['users'][name].get('created_at', '')}")
            return 0
        if name is None:
            raise AccountError(f"users {action} needs a NAME")
        user = add_user(doc, name, _read_password()) if action == "add" else remove_user(doc, name)
        save_document(backend, doc)
    except AccountError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        return 2
    done = "added (or password changed)" if action == "add" else "removed"
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


COMMANDS = (cmd_serve, cmd_users)
