"""Serving the dashboard: address, accounts, one store shared by every session."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from meterwatch.dashboard.accounts import (
    Accounts,
    LoginThrottle,
    UsersBackend,
    UsersFile,
    load_document,
)
from meterwatch.settings import Settings

if TYPE_CHECKING:
    from meterwatch.dashboard.store import DashboardStore

LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
PASSWORD_ENV = "METERWATCH_DASHBOARD_PASSWORD"
SECRET_ENV = "METERWATCH_DASHBOARD_SECRET"
TITLE = "meterwatch"


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


def developer_checks(on: bool) -> None:
    """Bokeh's checks for developers, on or off for every page this process builds.

    Both only help someone writing dashboard code, and both run on every new page: the
    document's integrity checks (they only log warnings; ~8 % of a session's cost,
    bench/serve_sessions.py) and the signature check of every property callback Panel
    registers (``inspect.signature`` per callback, about a tenth of a session's CPU in
    process: median 218 -> 187 ms over eight alternating rounds of ten sessions), with its
    "similar attribute" suggestions. A wrong callback still fails when it is called.
    ``Settings.dashboard_validate`` (METERWATCH_DASHBOARD_VALIDATE=1) turns them on.
    """
    from bokeh.settings import settings as bokeh_settings

    bokeh_settings.perform_document_validation.set_value(on)
    bokeh_settings.perform_error_diagnostics.set_value(on)


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

    def make_store() -> DashboardStore:
        return DashboardStore(
            open_lake(settings.lake, settings),
            tariffs=Tariffs.from_settings(settings),
            period_hours=settings.period_hours,
        )

    processes = settings.dashboard_process_count
    stores = ProcessStore(make_store)
    dashboard_url = settings.dashboard_url
    origins = {f"localhost:{port}", f"127.0.0.1:{port}", f"{address}:{port}"}
    if dashboard_url:
        origins.add(urlparse(dashboard_url).netloc)
    kwargs: dict[str, object] = {}
    if accounts is not None:
        secure = not is_local(address) or urlparse(dashboard_url).scheme == "https"
        kwargs["auth_provider"] = DashboardAuth(
            accounts,
            secure=secure,
            behind_proxy=behind_proxy,
            throttle=LoginThrottle(path=_shared_file("logins.sqlite")) if processes > 1 else None,
        )
        # made before the processes fork: a login cookie one of them signs, the others read
        kwargs["cookie_secret"] = settings.dashboard_cookie_secret or secrets.token_hex(32)
    if behind_proxy:
        _accept_same_origin_websockets()
    developer_checks(settings.dashboard_validate)
    pn.extension("tabulator", notifications=False)
    if processes > 1:
        # A page's websocket may reach another process than the one that served the page,
        # which then builds the session's document again. The page is only a shell (the
        # document comes over the websocket): it is rendered from one kept session, and each
        # session's document is built once, where its websocket arrives.
        pn.config.reuse_sessions = True
    parent = os.getpid()
    server = pn.serve(
        {"/": lambda: session_document(create_app(stores.get()))},
        port=port,
        address=address,
        show=False,
        title=TITLE,
        allow_websocket_origin=sorted(o for o in origins if o),
        # Bokeh copies the request's cookies and headers into the session token it writes
        # into the page, where scripts can read it: none of them go there (the user is read
        # from the request itself, see login.request_user).
        include_cookies=[],
        exclude_headers=["Cookie", "Authorization"],
        num_procs=processes,
        start=False,
        **kwargs,
    )
    # From here on in each process (forked with the port): bounds and customers, which every
    # page needs, before the first visit.
    stores.warm_in_background()
    if processes > 1:
        from tornado import netutil
        from tornado.ioloop import PeriodicCallback

        # Tornado accepts every waiting connection at once (up to its listen backlog) before
        # serving any: a burst of pages would all go to the process that woke first. One at a
        # time, a process busy building a page leaves the next connection to an idle one.
        netutil._DEFAULT_BACKLOG = 1

        def orphaned() -> None:  # the parent only waits for its processes: they stop with it
            if os.getppid() != parent:
                server.io_loop.stop()

        PeriodicCallback(orphaned, 1000).start()
    if show:
        from tornado.process import task_id

        if task_id() in (None, 0):  # one tab, from the first process
            server.io_loop.add_callback(lambda: server.show("/"))
    server.start()
    server.io_loop.start()


def _shared_file(name: str) -> Path:
    """A file in a private folder the server's processes share, removed when the server (the
    processes' parent) exits."""
    folder = Path(tempfile.mkdtemp(prefix="meterwatch-serve-"))
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:  # not when one of the forked processes exits
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return folder / name


def session_document(view: Any) -> None:
    """Put a session's view into its document, its stylesheets served by this server.

    Panel points a page's stylesheets at the server's own copy when it renders the page, on
    the document of the session it renders: a document built for a websocket that reached
    another process (or for a kept session's page) would keep the CDN's address, which an
    offline server cannot reach, and draw unstyled (tables as lists of text). Doing it here
    covers every document, whoever built it, and every model the session adds later.
    """
    import panel as pn

    doc = view.server_doc(pn.state.curdoc, title=TITLE)
    try:
        from panel.io.resources import LOCAL_DIST, patch_model_css
    except ImportError:  # another Panel: its pages keep their own stylesheets
        return
    dist_url = f"{pn.state.rel_path}/{LOCAL_DIST}" if pn.state.rel_path else LOCAL_DIST
    # The models a session makes later (the inbox's table when the operator opens the alerts)
    # take their stylesheets' address from the document's template variables, which Panel
    # only sets where it renders the page: without it, in the other processes, they kept
    # the CDN's address and the inbox drew as a list of words.
    doc._template_variables["dist_url"] = dist_url
    # Panel's own patch (its hold of the document's events included), given the document's
    # stylesheets from the document's index of its models: for each root it walked the whole
    # model graph again, ~3 % of a session's server time
    patch_model_css(_StyleSheets(doc), dist_url=dist_url)  # type: ignore[arg-type]


class _StyleSheets:
    """A document's stylesheet models, shaped as the root ``patch_model_css`` walks."""

    def __init__(self, doc: Any) -> None:
        self.document = doc

    def select(self, _selector: Any) -> list[Any]:
        from bokeh.models import ImportedStyleSheet

        return [m for m in self.document.models if isinstance(m, ImportedStyleSheet)]


class ProcessStore:
    """The dashboard's store of this server process, made the first time it is asked for.

    Each process the server forks makes its own (lake handle, DuckDB connection, cache):
    nothing opened before the fork is shared between processes.
    """

    def __init__(self, make: Callable[[], DashboardStore]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._store: DashboardStore | None = None
        self._pid = -1

    def get(self) -> DashboardStore:
        with self._lock:
            if self._store is None or self._pid != os.getpid():
                self._store, self._pid = self._make(), os.getpid()
            return self._store

    def warm_in_background(self) -> None:
        """Load what every page needs in a thread (:meth:`DashboardStore.warm`)."""
        threading.Thread(
            target=lambda: self.get().warm(), name="meterwatch-warm", daemon=True
        ).start()


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
