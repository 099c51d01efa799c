"""A dashboard session opened the way a browser opens it, without drawing anything.

The page (a plain HTTP GET), then the page's websocket with the session token the page
carries, until the server has sent the session's document (Bokeh's ``PULL-DOC-REPLY``). Used
by ``bench/serve_sessions.py`` to time what a session costs the server, and by the tests to
check what a served document holds.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

TOKEN = re.compile(r'"token":\s*"([^"]+)"')


@dataclass(frozen=True)
class Session:
    """A session opened: seconds until the page came and until the document came (0 and
    empty when only the page was asked for), and the document's JSON text."""

    page_s: float
    total_s: float
    document: str


async def open_session(url: str, *, page_only: bool = False, timeout_s: float = 300) -> Session:
    """Open a session of the dashboard at ``url`` (its page, then its document)."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    started = time.perf_counter()
    page = (await AsyncHTTPClient().fetch(url, request_timeout=timeout_s)).body.decode()
    page_s = time.perf_counter() - started
    if page_only:
        return Session(page_s, page_s, "")
    found = TOKEN.search(page)
    if found is None:
        raise ValueError(f"the page at {url} carries no session token")
    request = HTTPRequest(
        url.replace("http", "ws", 1).rstrip("/") + "/ws",
        headers={"Origin": url.rstrip("/")},
        request_timeout=timeout_s,
    )
    connection = await websocket_connect(request, subprotocols=["bokeh", found.group(1)])
    try:

        async def message() -> tuple[str, str]:
            """One Bokeh message: header, metadata, content, then two frames per buffer."""
            parts = []
            for _ in range(3):
                part = await connection.read_message()
                if part is None:
                    raise ConnectionError("the server closed the session's websocket")
                parts.append(part)
            header = json.loads(parts[0])
            for _ in range(header.get("num_buffers", 0)):
                await connection.read_message()
                await connection.read_message()
            return str(header["msgtype"]), str(parts[2])

        await message()  # ACK
        for part in (json.dumps({"msgid": "1", "msgtype": "PULL-DOC-REQ"}), "{}", "{}"):
            await connection.write_message(part)
        kind, content = await message()
    finally:
        connection.close()
    if kind != "PULL-DOC-REPLY":
        raise ConnectionError(f"the server answered {kind} to PULL-DOC-REQ")
    return Session(page_s, time.perf_counter() - started, content)
