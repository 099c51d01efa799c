"""Serving the dashboard: address, authentication, one store shared by every session."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Mapping
from urllib.parse import urlparse

LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
PASSWORD_ENV = "METERWATCH_DASHBOARD_PASSWORD"
SECRET_ENV = "METERWATCH_DASHBOARD_SECRET"
COOKIE_ENV = "METERWATCH_DASHBOARD_COOKIE_SECRET"


class AuthRequiredError(RuntimeError):
    """The dashboard would be reachable from the network without a password."""


def is_local(address: str) -> bool:
    return address in LOCAL_ADDRESSES


def read_secret(name: str) -> str:
    """Read the password from an AWS Secrets Manager secret (plain text or ``{"password": ...}``)."""
    import boto3  # only when a secret is configured

    value = boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    try:
        doc = json.loads(value)
    except ValueError:
        return str(value)
    if isinstance(doc, dict) and "password" in doc:
        return str(doc["password"])
    return str(value)


def resolve_password(address: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The basic-auth password for ``address``, or ``None`` on localhost without one.

    Raises
    ------
    AuthRequiredError
        On any other address when neither a password nor a secret name is configured.
    """
    env = os.environ if environ is None else environ
    password = env.get(PASSWORD_ENV, "")
    if not password and env.get(SECRET_ENV):
        password = read_secret(env[SECRET_ENV])
    if password:
        return password
    if is_local(address):
        return None
    raise AuthRequiredError(
        f"refusing to serve the dashboard on {address} without authentication: set "
        f"{PASSWORD_ENV} (a password) or {SECRET_ENV} (an AWS Secrets Manager secret name), "
        "or serve on 127.0.0.1"
    )


def serve(
    lake_uri: str,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    dashboard_url: str = "",
    environ: Mapping[str, str] | None = None,
) -> None:
    """Serve the dashboard over ``lake_uri`` until interrupted."""
    password = resolve_password(address, environ)
    import panel as pn

    from meterwatch.dashboard.app import create_app
    from meterwatch.dashboard.store import DashboardStore
    from meterwatch.storage import open_lake

    store = DashboardStore(open_lake(lake_uri))
    # The lake-wide aggregate takes seconds on a large fleet: load it before the first visit.
    threading.Thread(target=store.warm, name="meterwatch-warm", daemon=True).start()
    origins = {f"localhost:{port}", f"127.0.0.1:{port}", f"{address}:{port}"}
    if dashboard_url:
        origins.add(urlparse(dashboard_url).netloc)
    kwargs: dict[str, object] = {}
    if password is not None:
        env = os.environ if environ is None else environ
        kwargs["basic_auth"] = password
        kwargs["cookie_secret"] = env.get(COOKIE_ENV) or secrets.token_hex(32)
    pn.extension("tabulator", notifications=False)
    pn.serve(
        {"/": lambda: create_app(store)},
        port=port,
        address=address,
        show=show,
        title="meterwatch",
        allow_websocket_origin=sorted(o for o in origins if o),
        **kwargs,
    )
