"""The dashboard's login: a Bokeh auth provider over :class:`~meterwatch.dashboard.accounts.Accounts`.

Panel's ``basic_auth`` takes one password for every user name, never slows down, and sets
cookies without ``Secure`` or ``SameSite``; this provider replaces it. The session cookie is
signed (tornado's ``cookie_secret``), ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` on any
address but localhost; it holds the user name and a fingerprint of the user's hash, so a
changed password or a removed user ends the sessions signed before. The user who opened a
session is read from the request that created it (``request_user``), never from the
browser-visible session token, which carries no cookie (see ``serve``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from bokeh.server.auth_provider import AuthProvider
from tornado.ioloop import IOLoop
from tornado.web import RequestHandler

from meterwatch.dashboard.accounts import Accounts, LoginThrottle
from meterwatch.dashboard.texts import tr

COOKIE = "meterwatch_user"
SESSION_DAYS = 0.5  # a working day; then the operator logs in again
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
_REQUEST_ATTR = "meterwatch_user"


def request_user(request: Any) -> str | None:
    """The logged-in user of the HTTP request that opened a session (``None`` without login)."""
    user = getattr(request, _REQUEST_ATTR, None)
    return str(user) if user else None


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this server only (no open redirect)."""
    target = (target or "").strip()
    parsed = urlparse(target)
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or parsed.scheme
        or parsed.netloc
        or any(ord(c) < 32 for c in target)
    ):
        return "/"
    return target


class DashboardAuth(AuthProvider):
    """Per-operator login with throttling and hardened cookies.

    Parameters
    ----------
    accounts
        The users and their hashes.
    secure
        Mark cookies ``Secure`` (the dashboard is reached over HTTPS); requests that arrive
        over HTTPS get ``Secure`` cookies in any case.
    behind_proxy
        The client address is the last ``X-Forwarded-For`` entry (the one the proxy added),
        and ``X-Forwarded-Proto: https`` counts as HTTPS. Off, the socket's peer address.
    throttle
        Failed-login bookkeeping; a fresh :class:`LoginThrottle` by default.
    """

    def __init__(
        self,
        accounts: Accounts,
        *,
        secure: bool,
        behind_proxy: bool = False,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.accounts = accounts
        self.secure = secure
        self.behind_proxy = behind_proxy
        self.throttle = throttle or LoginThrottle()
        attrs = {"auth": self}
        self._login_handler = type("LoginHandler", (_LoginHandler,), attrs)
        self._logout_handler = type("LogoutHandler", (_LogoutHandler,), attrs)
        super().__init__()

    # AuthProvider -------------------------------------------------------------------------
    @property
    def get_user(self) -> Callable[[Any], str | None]:  # type: ignore[override]
        # Bokeh types the argument as a request; it passes the handler (as Panel's does).
        return self.user_of

    @property
    def login_url(self) -> str:
        return LOGIN_PATH

    @property
    def login_handler(self) -> type[RequestHandler]:
        return self._login_handler

    @property
    def logout_url(self) -> str:
        return LOGOUT_PATH

    @property
    def logout_handler(self) -> type[RequestHandler]:
        return self._logout_handler

    # helpers ------------------------------------------------------------------------------
    def user_of(self, handler: RequestHandler) -> str | None:
        """The user a request's session cookie names, if the cookie is valid and current."""
        raw = handler.get_signed_cookie(COOKIE, max_age_days=SESSION_DAYS)
        if not raw:
            return None
        user, _, stamp = raw.decode("utf-8", "replace").rpartition(":")
        if not user or self.accounts.stamp(user) != stamp:
            return None
        setattr(handler.request, _REQUEST_ATTR, user)
        return user

    def client_address(self, handler: RequestHandler) -> str:
        if self.behind_proxy:
            forwarded = handler.request.headers.get("X-Forwarded-For", "")
            last = forwarded.split(",")[-1].strip()
            if last:
                return last
        return str(handler.request.remote_ip)

    def is_https(self, handler: RequestHandler) -> bool:
        if handler.request.protocol == "https":
            return True
        proto = handler.request.headers.get("X-Forwarded-Proto", "")
        return self.behind_proxy and proto.split(",")[-1].strip().lower() == "https"


class _AuthHandler(RequestHandler):
    auth: DashboardAuth

    def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
        """Every cookie these pages set: HttpOnly, SameSite=Lax, Secure unless plain localhost."""
        kwargs["httponly"] = True
        kwargs["samesite"] = "Lax"
        kwargs["secure"] = self.auth.secure or self.auth.is_https(self)
        super().set_cookie(name, value, *args, **kwargs)

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        )

    def lang(self) -> str:
        return "en" if self.get_argument("idioma", "") == "en" else "es"


class _LoginHandler(_AuthHandler):
    def get(self) -> None:
        self.write(self._page(""))

    async def post(self) -> None:
        self.check_xsrf_cookie()
        name = self.get_body_argument("username", "")
        password = self.get_body_argument("password", "")
        throttle = self.auth.throttle
        keys = [f"user:{name.strip().lower()[:64]}", f"addr:{self.auth.client_address(self)}"]
        wait = throttle.wait_s(keys)
        if wait > 0:
            seconds = int(wait) + 1
            self.set_status(429)
            self.set_header("Retry-After", str(seconds))
            self.write(self._page(tr("login.wait", self.lang(), seconds=seconds)))
            return
        # Counted before the check: parallel guesses cannot all pass the wait above.
        throttle.failed(keys)
        user = await IOLoop.current().run_in_executor(
            None, self.auth.accounts.verify, name, password
        )
        if user is None:
            self.set_status(401)
            self.write(self._page(tr("login.failed", self.lang())))
            return
        throttle.succeeded(keys)
        stamp = self.auth.accounts.stamp(user)
        self.set_signed_cookie(COOKIE, f"{user}:{stamp}", expires_days=SESSION_DAYS)
        self.redirect(safe_next(self.get_body_argument("next", "/")))

    def _page(self, message: str) -> str:
        lang = self.lang()
        target = html.escape(safe_next(self.get_argument("next", "/")), quote=True)
        alert = f'<p class="err" role="alert">{html.escape(message)}</p>' if message else ""
        return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(tr("login.title", lang))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;background:#f1f5f9;display:flex;justify-content:center;
padding-top:12vh}}form{{background:#fff;padding:28px;border-radius:8px;width:300px;
box-shadow:0 1px 4px #0002}}label,input,button{{display:block;width:100%;box-sizing:border-box}}
input{{margin:4px 0 14px;padding:8px}}button{{padding:9px;background:#1d4ed8;color:#fff;border:0;
border-radius:4px}}.err{{color:#b91c1c}}</style></head><body>
<form method="post" action=".{LOGIN_PATH}?idioma={lang}">
<h1 style="font-size:20px">{html.escape(tr("login.title", lang))}</h1>{alert}
{self.xsrf_form_html()}<input type="hidden" name="next" value="{target}">
<label for="username">{html.escape(tr("login.user", lang))}</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{html.escape(tr("login.password", lang))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{html.escape(tr("login.submit", lang))}</button>
</form></body></html>"""


class _LogoutHandler(_AuthHandler):
    def get(self) -> None:
        self.clear_cookie(COOKIE)
        self.redirect(f".{LOGIN_PATH}")
