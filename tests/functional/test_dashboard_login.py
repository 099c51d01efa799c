"""The dashboard's login over HTTP: one account per operator, throttling, hardened cookies.

One real ``meterwatch serve`` (a subprocess) on a small lake with a users file; requests go
through urllib without following redirects, cookies handled by hand so ``Secure`` ones are
sent over the test's plain HTTP as the TLS proxy would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pytest

from meterwatch.dashboard.accounts import UsersFile, add_user, empty_document, save_document
from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake

pytest.importorskip("panel")

PASSWORD = "correct horse battery"


@dataclass
class Reply:
    status: int
    body: str
    headers: list[tuple[str, str]]

    def cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


@dataclass
class Browser:
    """Just enough of a browser: a cookie jar that ignores Secure (TLS ends at the proxy)."""

    base: str
    forwarded_for: str = ""
    jar: dict[str, str] = field(default_factory=dict)

    def request(self, path: str, form: dict[str, str] | None = None) -> Reply:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data)
        if self.jar:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.jar.items()))
        if self.forwarded_for:
            req.add_header("X-Forwarded-For", self.forwarded_for)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=30) as resp:
                reply = Reply(resp.status, resp.read().decode(), list(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            reply = Reply(exc.code, exc.read().decode(), list(exc.headers.items()))
        for raw in reply.cookies():
            for name, morsel in SimpleCookie(raw).items():
                self.jar[name] = morsel.value
        return reply

    def login(self, user: str, password: str) -> Reply:
        page = self.request("/login?next=%2F")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.body)
        assert xsrf, page.body
        form = {"username": user, "password": password, "_xsrf": xsrf.group(1), "next": "/"}
        return self.request("/login", form)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.scenarios import hourly_frame, write_electrodunas

    root = tmp_path_factory.mktemp("login")
    for n in (1, 2):
        write_electrodunas(root / "fleet", n, hourly_frame(24 * 14, seed=n, level=5.0))
    ingest_paths(open_lake(str(root / "lake")), [root / "fleet"])
    doc = empty_document()
    add_user(doc, "ana", PASSWORD)
    add_user(doc, "luis", "another long passphrase")
    add_user(doc, "marta", "marta's long passphrase")
    save_document(UsersFile(root / "lake" / "_meta" / "users.json"), doc)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERWATCH_DASHBOARD")}
    env["METERWATCH_DASHBOARD_URL"] = "https://dashboard.example.com"  # reached over TLS
    server = subprocess.Popen(
        [sys.executable, "-m", "meterwatch.cli", "serve", "--lake", str(root / "lake"),
         "--port", str(port), "--no-show", "--behind-proxy"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                Browser(base).request("/login")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_dashboard_needs_a_login(dashboard: str) -> None:
    reply = Browser(dashboard).request("/")
    assert reply.status == 302 and "login" in reply.header("Location")


def test_an_operator_logs_in_with_their_own_password_only(dashboard: str) -> None:
    browser = Browser(dashboard, forwarded_for="10.0.0.1")
    assert browser.login("luis", PASSWORD).status == 401  # ana's password is not luis's
    assert browser.login("nobody", PASSWORD).status == 401  # no shared password, any name
    assert browser.login("ana", " ").status == 401
    assert "meterwatch_user" not in browser.jar
    reply = browser.login("ana", PASSWORD)
    assert reply.status == 302 and reply.header("Location") == "/"
    assert browser.request("/").status == 200


def test_session_cookie_is_secure_httponly_samesite_and_stays_out_of_the_page(
    dashboard: str,
) -> None:
    from bokeh.util.token import get_token_payload

    browser = Browser(dashboard, forwarded_for="10.0.0.2")
    reply = browser.login("ana", PASSWORD)
    session = next(c for c in reply.cookies() if c.startswith("meterwatch_user="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax"} <= flags
    form_cookie = Browser(dashboard).request("/login").cookies()
    assert form_cookie and all(
        {"httponly", "secure", "samesite=lax"} <= {p.strip().lower() for p in c.split(";")[1:]}
        for c in form_cookie
    )
    page = browser.request("/")
    assert page.status == 200
    tokens = re.findall(r'"token":\s*"([^"]+)"', page.body)
    assert tokens, "the page embeds a Bokeh session token"
    for token in tokens:
        payload = get_token_payload(token)
        assert not payload.get("cookies")
        assert "Cookie" not in payload.get("headers", {})
    cookie_value = browser.jar["meterwatch_user"]
    assert cookie_value not in page.body
    assert cookie_value.split("|")[-1] not in page.body  # not even the signature


def test_guessing_slows_down_then_locks_the_user(dashboard: str) -> None:
    attacker = Browser(dashboard, forwarded_for="10.9.9.9")
    statuses = [attacker.login("marta", f"guess number {i}").status for i in range(8)]
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]  # waits begin after five failures
    # the right password does not help while the wait lasts, even from another address
    other = Browser(dashboard, forwarded_for="10.9.9.10")
    reply = other.login("marta", "marta's long passphrase")
    assert reply.status == 429 and int(reply.header("Retry-After")) >= 1
    assert "meterwatch_user" not in other.jar


def test_a_next_url_off_the_site_is_ignored(dashboard: str) -> None:
    browser = Browser(dashboard, forwarded_for="10.0.0.3")
    page = browser.request("/login?next=https%3A%2F%2Fevil.example%2F")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.body)
    assert xsrf is not None
    reply = browser.request(
        "/login",
        {"username": "ana", "password": PASSWORD, "_xsrf": xsrf.group(1), "next": "//evil.example"},
    )
    assert reply.status == 302 and reply.header("Location") == "/"


def test_a_login_form_posted_without_its_xsrf_token_is_refused(dashboard: str) -> None:
    browser = Browser(dashboard, forwarded_for="10.0.0.4")
    reply = browser.request("/login", {"username": "ana", "password": PASSWORD})
    assert reply.status == 403 and "meterwatch_user" not in browser.jar


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("https://other-app.us-east-1.awsapprunner.com", None, False),  # another app there
        ("https://evil.example", None, False),
        ("https://dashboard.example.com", None, True),  # the configured public address
        ("https://abc123.us-east-1.awsapprunner.com", "abc123.us-east-1.awsapprunner.com", True),
    ],
)
def test_websockets_only_from_the_service_itself(
    dashboard: str, origin: str, host: str | None, accepted: bool
) -> None:
    """A websocket is accepted from the configured address or the page's own host only."""
    browser = Browser(dashboard, forwarded_for="10.0.0.5")
    assert browser.login("ana", PASSWORD).status == 302
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": origin,
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.jar.items()),
    }
    if host:
        headers["Host"] = host
    port = int(dashboard.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if not host:
            head += f"Host: 127.0.0.1:{port}\r\n"
        sock.sendall(f"GET /ws HTTP/1.1\r\n{head}\r\n".encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0].decode()
    assert (" 403 " not in status_line) is accepted, status_line
