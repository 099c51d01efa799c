"""The dashboard server's cost of new sessions, without a browser.

Starts ``meterwatch serve`` on a lake, opens one session (the store warms), then opens
``--sessions`` sessions at once and reports when they were served: total, median and 95th
percentile, repeated ``--rounds`` times. A session is what a browser asks of the server: the
page (a plain HTTP GET, which creates a Panel session and builds the default view's queries
and Bokeh models), then the page's websocket with the token the page carries, until the
server has sent the document (``PULL-DOC-REPLY``). With ``--page-only`` only the GET is timed
(the measure of the runs before 2026-12-07). What a browser adds on its side (drawing) is not
in it: ``bench/dashboard.py --sessions`` measures that, with Chromium on the same cores.

Usage: ``python bench/serve_sessions.py --lake LAKE [--sessions 20] [--rounds 3]
[--processes N]``; ``--processes`` sets the server's processes (``METERWATCH_DASHBOARD_PROCESSES``;
default: the server's own default); with ``--code DIR`` the server runs another checkout's code
(``PYTHONPATH=DIR``), to compare two versions in the same minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from meterwatch.dashboard.probe import open_session


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        response.read()
    return time.perf_counter() - started


async def session(url: str, *, page_only: bool = False) -> float:
    """Seconds until the server has sent a new session's page (and its document)."""
    return (await open_session(url, page_only=page_only)).total_s


async def sessions_at_once(url: str, n: int, *, page_only: bool) -> list[float]:
    return list(await asyncio.gather(*(session(url, page_only=page_only) for _ in range(n))))


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped (exit {process.returncode})")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer on {url} within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--processes", type=int, help="the server's processes (default: its own)")
    parser.add_argument("--page-only", action="store_true", help="time the page's GET only")
    parser.add_argument("--code", help="a checkout whose code the server runs (PYTHONPATH)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.code:
        env["PYTHONPATH"] = str(Path(args.code).resolve())
    if args.processes:
        env["METERWATCH_DASHBOARD_PROCESSES"] = str(args.processes)
    url = f"http://127.0.0.1:{args.port}/"
    command = [sys.executable, "-m", "meterwatch.cli", "serve", "--lake", args.lake]
    server = subprocess.Popen(
        [*command, "--port", str(args.port)],
        env=env,
        # `python -m` puts the working folder first on the path: run in the checkout served
        cwd=Path(args.code).resolve() if args.code else Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    what = "page" if args.page_only else "page and document"
    try:
        wait_until_up(url, server)
        time.sleep(2)  # every process warms its store
        alone = min(asyncio.run(session(url, page_only=args.page_only)) for _ in range(3))
        print(f"one session alone ({what}): {alone:.2f} s")
        for k in range(1, args.rounds + 1):
            started = time.perf_counter()
            times = sorted(
                asyncio.run(sessions_at_once(url, args.sessions, page_only=args.page_only))
            )
            total = time.perf_counter() - started
            p50 = times[len(times) // 2]
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"round {k}: {args.sessions} sessions ({what}) served in {total:.2f} s "
                f"(p50 {p50:.2f} s, p95 {p95:.2f} s)"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        # a server of several processes: they stop within a second of their parent
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get(url)
            except OSError:
                break
            time.sleep(0.5)


if __name__ == "__main__":
    main()
