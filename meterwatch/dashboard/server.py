"""Serving the dashboard: address, accounts, one store shared by every session."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from urllib.parse import urlparse

from meterwatch.dashboard.accounts import Accounts, UsersBackend, UsersFile, load_document
from meterwatch.settings import Settings

LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
PASSWORD_ENV = "METERWATCH_DASHBOARD_PASSWORD"
SECRET_ENV = "METERWATCH_DASHBOARD_SECRET"


class AuthRequiredError(RuntimeError):
    """The dashboard would be reachable from the network without accounts to log in with."""


def is_local(address: str) -> bool:
    return address in LOCAL_ADDRESSES


def users_file(settings: Settings) -> UsersFile | None:
    """The dashboard's users file: ``METERWATCH_DASHBOARD_USERS``, else
    ``<lake>/_meta/users.json`` for a local lake (``None`` for an S3 lake). A users secret
    (``METERWATCH_DASHBOARD_SECRET``) is an AWS adapter the entry point chooses instead."""
    if settings.dashboard_users:
        return UsersFile(Path(settings.dashboard_users))
    if settings.lake.startswith("s3://"):
        return None
    return UsersFile(Path(settings.lake) / "_meta" / "users.json")


def resolve_accounts(
    address: str, users: UsersBackend | None, *, retired_password: str = ""
) -> Accounts | None:
    """The accounts the dashboard on ``address`` logs in with, or ``None`` (localhost, no users).

    A secret is used even while it holds no user (accounts are re-read every 30 s, so users
    added later can log in without a restart); a users file must hold at least one.

    Raises
    ------
    AuthRequiredError
        When ``METERWATCH_DASHBOARD_PASSWORD`` is set (retired: one shared password cannot
        tell operators apart), or on any address but localhost without accounts.
    """
    if retired_password:
        raise AuthRequiredError(
            f"{PASSWORD_ENV} is no longer read: one shared password cannot tell operators "
            "apart. Create one account per operator with `meterwatch users add NAME` (or "
            f"--secret for {SECRET_ENV}) and unset {PASSWORD_ENV}"
        )
    backend = users
    if backend is not None and backend.remote:
        accounts = Accounts(backend)
        accounts.users()  # fail now, not at the first login, if the secret cannot be read
        return accounts
    if backend is not None and load_document(backend)["users"]:
        return Accounts(backend)
    if is_local(address):
        return None
    where = backend.describe() if backend is not None else "no users file (S3 lake)"
    raise AuthRequiredError(
        f"refusing to serve the dashboard on {address} without accounts ({where}): add "
        f"operators with `meterwatch users add NAME`, or set {SECRET_ENV} (an AWS Secrets "
        "Manager secret holding the users), or serve on 127.0.0.1"
    )


def serve(
    settings: Settings,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    behind_proxy: bool = False,
    users: UsersBackend | None = None,
) -> None:
    """Serve the dashboard over the settings' lake until interrupted.

    ``users``: where the accounts live (default: :func:`users_file`).

    With accounts, every page needs a login (:mod:`meterwatch.dashboard.login`); cookies are
    ``Secure`` unless the dashboard is served on localhost over plain HTTP. ``behind_proxy``:
    a TLS proxy (App Runner) in front adds ``X-Forwarded-For``/``-Proto``.
    """
    accounts = resolve_accounts(
        address,
        users if users is not None else users_file(settings),
        retired_password=settings.dashboard_password,
    )
    import panel as pn

    from meterwatch.dashboard.app import create_app
    from meterwatch.dashboard.login import DashboardAuth
    from meterwatch.dashboard.store import DashboardStore
    from meterwatch.storage import open_lake
    from meterwatch.tariffs import Tariffs

    store = DashboardStore(
        open_lake(settings.lake, settings),
        tariffs=Tariffs.from_settings(settings),
        period_hours=settings.period_hours,
    )
    dashboard_url = settings.dashboard_url
    # Bounds and customers, which every page needs, before the first visit.
    threading.Thread(target=store.warm, name="meterwatch-warm", daemon=True).start()
    origins = {f"localhost:{port}", f"127.0.0.1:{port}", f"{address}:{port}"}
    if dashboard_url:
        origins.add(urlparse(dashboard_url).netloc)
    kwargs: dict[str, object] = {}
    if accounts is not None:
        secure = not is_local(address) or urlparse(dashboard_url).scheme == "https"
        kwargs["auth_provider"] = DashboardAuth(accounts, secure=secure, behind_proxy=behind_proxy)
        kwargs["cookie_secret"] = settings.dashboard_cookie_secret or secrets.token_hex(32)
    if behind_proxy:
        _accept_same_origin_websockets()
    # Bokeh's integrity checks of every new page only log developers' warnings: ~8 % of a
    # session's cost (bench/serve_sessions.py); METERWATCH_DASHBOARD_VALIDATE=1 runs them.
    from bokeh.settings import settings as bokeh_settings

    bokeh_settings.perform_document_validation.set_value(settings.dashboard_validate)
    pn.extension("tabulator", notifications=False)
    pn.serve(
        {"/": lambda: create_app(store)},
        port=port,
        address=address,
        show=show,
        title="meterwatch",
        allow_websocket_origin=sorted(o for o in origins if o),
        # Bokeh copies the request's cookies and headers into the session token it writes
        # into the page, where scripts can read it: none of them go there (the user is read
        # from the request itself, see login.request_user).
        include_cookies=[],
        exclude_headers=["Cookie", "Authorization"],
        **kwargs,
    )


def _accept_same_origin_websockets() -> None:
    """Also accept a websocket whose ``Origin`` is the host the browser asked for.

    Behind App Runner the service's own address is only known once it exists, so it cannot
    be in its configuration; a wildcard over the provider's domain would admit any other app
    there. A page's ``Origin`` equal to the request's ``Host`` is the page of this very
    service (tornado's own default rule); every other origin still needs the allow-list.
    """
    from bokeh.server.urls import per_app_patterns

    for i, entry in enumerate(per_app_patterns):
        pattern, handler = entry[0], entry[1]
        if pattern == r"/ws" and not getattr(handler, "same_origin", False):

            class SameOriginWSHandler(handler):  # type: ignore[valid-type,misc]
                same_origin = True

                def check_origin(self, origin: str) -> bool:
                    host = str(self.request.headers.get("Host", "")).lower()
                    if host and urlparse(origin).netloc.lower() == host:
                        return True
                    return bool(super().check_origin(origin))

            per_app_patterns[i] = (pattern, SameOriginWSHandler, *entry[2:])
