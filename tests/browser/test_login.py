"""Logging in to the dashboard in headless Chromium; the login signs inspection feedback."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, _free_port
from tests.dashboard_lake import build_lake

pytestmark = pytest.mark.browser

TIMEOUT = 30_000
PASSWORD = "rosa's field passphrase"


@pytest.fixture(scope="module")
def login_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package `chromium`)")
    pytest.importorskip("playwright")
    pytest.importorskip("panel")
    root = tmp_path_factory.mktemp("browser-login")
    build_lake(root, n_customers=6, days=45)
    lake = str(root / "lake")
    subprocess.run(
        [sys.executable, "-m", "meterwatch.cli", "users", "add", "rosa.quispe", "--lake", lake],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    log = (root / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "meterwatch.cli", "serve", "--lake", lake, "--port", str(port),
         "--no-show"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "login", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((root / "serve.log").read_text()) from None
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_login_then_feedback_is_signed_by_the_operator(page: Any, login_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    page.goto(login_url + "?vista=alertas")
    page.wait_for_url(re.compile(r"/login"), timeout=TIMEOUT)
    page.fill("#username", "rosa.quispe")
    page.fill("#password", "wrong password, long enough")
    page.click("button[type=submit]")
    expect(page.get_by_text("Usuario o contraseña incorrectos.")).to_be_visible()
    page.fill("#username", "rosa.quispe")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_text("Bandeja de alertas")).to_be_visible()
    # The session cookie is HttpOnly: no script on the page can read it.
    assert "meterwatch_user" not in page.evaluate("document.cookie")

    page.wait_for_selector(".tabulator-row", timeout=TIMEOUT)
    page.locator(".tabulator-row").first.locator(".tabulator-cell").nth(1).click()
    page.wait_for_url(re.compile(r"alerta="), timeout=TIMEOUT)
    expect(page.get_by_text("Registrado como rosa.quispe")).to_be_visible()
    assert page.locator(".mw-fb-author input").count() == 0  # no name anyone could type
    page.locator(".mw-fb-status select").select_option(label="en inspección")
    page.locator(".mw-fb-save button").click()
    expect(page.get_by_text("Guardado: en inspección por rosa.quispe.")).to_be_visible()

    page.goto(login_url + "logout")
    page.wait_for_url(re.compile(r"/login"), timeout=TIMEOUT)
    page.goto(login_url)
    page.wait_for_url(re.compile(r"/login"), timeout=TIMEOUT)
