"""The dashboard server's cost of new sessions, without a browser.

Starts ``meterwatch serve`` on a lake, asks for the page once (the store warms), then opens
``--sessions`` pages at once (one thread each, plain HTTP GETs: each creates a Panel session,
which builds the default view's queries and Bokeh models) and reports when they were served:
total, median and 95th percentile. Repeated ``--rounds`` times. What a browser adds (the
websocket document, drawing) is not in it: ``bench/dashboard.py --sessions`` measures that, with
Chromium on the same cores.

Usage: ``python bench/serve_sessions.py --lake LAKE [--sessions 20] [--rounds 3]``; with
``--code DIR`` the server runs another checkout's code (``PYTHONPATH=DIR``), to compare two
versions in the same minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        response.read()
    return time.perf_counter() - started


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
    parser.add_argument("--code", help="a checkout whose code the server runs (PYTHONPATH)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.code:
        env["PYTHONPATH"] = str(Path(args.code).resolve())
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
    try:
        wait_until_up(url, server)
        alone = min(get(url) for _ in range(3))
        print(f"one session alone: {alone:.2f} s")
        for k in range(1, args.rounds + 1):
            started = time.perf_counter()
            with ThreadPoolExecutor(args.sessions) as pool:
                times = sorted(pool.map(lambda _: get(url), range(args.sessions)))
            total = time.perf_counter() - started
            p50 = times[len(times) // 2]
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"round {k}: {args.sessions} sessions served in {total:.2f} s "
                f"(p50 {p50:.2f} s, p95 {p95:.2f} s)"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
