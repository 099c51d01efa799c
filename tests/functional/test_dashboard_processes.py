"""The dashboard served by several processes: every session gets its whole document, styled
from this server, whichever process its page and its websocket reach; the processes stop with
their parent.

One real ``meterwatch serve`` with ``METERWATCH_DASHBOARD_PROCESSES=2`` on a small lake;
sessions opened as a browser opens them (:mod:`meterwatch.dashboard.probe`), several at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake

pytest.importorskip("panel")


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    from tests.scenarios import hourly_frame, write_electrodunas

    root: Path = tmp_path_factory.mktemp("processes")
    for n in (1, 2, 3):
        write_electrodunas(root / "fleet", n, hourly_frame(24 * 21, seed=n, level=4.0 + n))
    ingest_paths(open_lake(str(root / "lake")), [root / "fleet"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERWATCH_DASHBOARD")}
    env["METERWATCH_DASHBOARD_PROCESSES"] = "2"
    server = subprocess.Popen(
        [sys.executable, "-m", "meterwatch.cli", "serve", "--lake", str(root / "lake"),
         "--port", str(port), "--no-show"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while not _up(url):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.3)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_session_gets_its_document_styled_from_this_server(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    from panel.io.resources import CDN_DIST

    from meterwatch.dashboard.probe import open_session

    url, _ = served

    async def several() -> list[str]:
        opened = await asyncio.gather(*(open_session(url, timeout_s=120) for _ in range(8)))
        return [s.document for s in opened]

    documents = asyncio.run(several()) + asyncio.run(several())
    for document in documents:
        assert "meterwatch" in document and "Cliente 2" in document
        # a document built where the page was not rendered must not point at the CDN (an
        # offline server's pages would draw unstyled: the inbox as a list of words)
        assert CDN_DIST not in document
        assert "static/extensions/panel" in document


def test_the_processes_stop_with_their_parent(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, server = served
    assert _up(url)
    server.terminate()
    server.wait(timeout=10)
    deadline = time.monotonic() + 15
    while _up(url):
        assert time.monotonic() < deadline, "a dashboard process outlived its parent"
        time.sleep(0.3)
