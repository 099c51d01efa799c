"""Dashboard speed: first full render and filter-change latency, at 30 and 1,000 customers.

Usage::

    .venv/bin/python bench/dashboard.py [--skip-fleet] [--skip-browser] [--changes 30]
        [--sessions 20] [--write-results]

Data sets: the 30 real ElectroDunas customers (``../shared/data/electrodunas`` ingested into
``bench/_work/lake30``) and a synthetic fleet of 1,000 customers × 730 days
(``bench/_work/lake1000``); both get detection tables written by ``tests/dashboard_lake.py``
when they have none, and are kept for the next run.

Measured per data set:
- store level, first render: a fresh store (empty cache) answering everything the
  consumption view and the alerts inbox need;
- store level, filter change: p50/p95 over a fixed random sequence of selections (sector,
  customer, hour range, period), each answering the whole consumption view;
- browser: time from navigation to every chart drawn, and from choosing a customer until
  every chart of the customer (its forecast included) is drawn, median of 5, in headless
  Chromium (Debian package ``/usr/bin/chromium``; no browser is downloaded);
- concurrent sessions (``--sessions N``): N pages opened at once on one server, each timed
  until its charts are drawn (p50, p95).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import machine, write_section  # noqa: E402

from meterwatch.dashboard.store import DashboardStore, Selection  # noqa: E402
from meterwatch.storage import open_lake  # noqa: E402
from tests.dashboard_lake import write_detection  # noqa: E402

WORK = ROOT / "bench" / "_work"
SHARED = ROOT.parent / "shared" / "data" / "electrodunas"
START, END = "<!-- dashboard:start -->", "<!-- dashboard:end -->"


def prepare(name: str) -> Path:
    lake_dir = WORK / name
    if name == "lake30" and not (lake_dir / "catalog.db").exists():
        from meterwatch.ingest import ingest_paths

        ingest_paths(open_lake(str(lake_dir)), [SHARED])
    if name == "lake1000" and not (lake_dir / "catalog.db").exists():
        from meterwatch.ingest import ingest_paths
        from meterwatch.synth import generate_fleet

        fleet = generate_fleet(WORK / "fleet1000", n_customers=1000, days=730)
        ingest_paths(open_lake(str(lake_dir)), [fleet.data_dir])
    lake = open_lake(str(lake_dir))
    if lake.read("daily", columns=["client_id"]).empty or lake.read("fleet_daily").empty:
        # a lake from before the daily tables: any ingest fills them (the same files again)
        from meterwatch.ingest import ingest_paths

        ingest_paths(lake, [SHARED if name == "lake30" else WORK / "fleet1000" / "data"])
    if lake.query("SELECT count(*) AS n FROM alerts")["n"].iloc[0] == 0:
        write_detection(lake)
    return lake_dir


def consumption_view(store: DashboardStore, sel: Selection) -> None:
    """Everything the consumption view asks the store for."""
    store.energy_by_customer(sel)
    store.series(sel)
    store.hour_profile(sel)
    store.peak_window(sel)
    store.heatmap(sel)
    store.total_kwh(sel)
    if sel.client_id is not None:
        store.customer_scores(sel)
        store.model(sel.client_id)
        store.recent_anomalies(sel.client_id)


def selections(store: DashboardStore, n: int, seed: int = 1) -> list[Selection]:
    rng = random.Random(seed)
    bounds = store.bounds()
    assert bounds is not None
    customers = store.customers()
    sectors = store.sectors()
    out = []
    for _ in range(n):
        days = rng.choice([7, 30, 90, 365])
        end = bounds.last - dt.timedelta(days=rng.randrange(0, 60))
        start = max(bounds.first, end - dt.timedelta(days=days - 1))
        h0 = rng.choice([0, 0, 6, 8])
        h1 = rng.choice([23, 23, 17, 20])
        kind = rng.random()
        client = str(rng.choice(list(customers["client_id"]))) if kind < 0.4 else None
        sector = rng.choice(sectors) if 0.4 <= kind < 0.7 else None
        out.append(Selection(start, end, h0, h1, client, sector))
    return out


def store_figures(lake_dir: Path, changes: int) -> dict[str, float]:
    store = DashboardStore(open_lake(str(lake_dir)))
    started = time.perf_counter()
    consumption_view(store, Selection())
    store.alerts()
    first = time.perf_counter() - started
    timings = []
    for sel in selections(store, changes):
        t0 = time.perf_counter()
        consumption_view(store, sel)
        timings.append(time.perf_counter() - t0)
    timings.sort()
    return {
        "first_render_s": first,
        "cache_mb": store.cache_bytes() / 2**20,
        "change_p50_s": statistics.median(timings),
        "change_p95_s": timings[max(0, round(0.95 * len(timings)) - 1)],
        "changes": len(timings),
    }


# Every chart drawn: Bokeh finished rendering, each plot attached to the page with a size.
CHARTS_DRAWN = """() => {
  const views = [...Bokeh.index.all_views()].filter(v => v.el != null)
  if (!views.length || !views.every(v => v.has_finished())) return 0
  return views.filter(v => (v.model.type === "Figure" || v.model.type === "Plot")
    && v.el.isConnected && v.bbox != null && v.bbox.width > 0 && v.bbox.height > 0).length
}"""
CHROMIUM = "/usr/bin/chromium"


def _serve(lake_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "meterwatch.cli", "serve", "--lake", str(lake_dir),
         "--port", str(port), "--no-show"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=60).read()
            break
        except OSError:
            time.sleep(0.3)
    return server, url


def browser_figures(lake_dir: Path) -> dict[str, float]:
    if not Path(CHROMIUM).exists():
        return {}
    from playwright.sync_api import sync_playwright

    server, url = _serve(lake_dir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            figures = {}
            for label in ("first_load_cold_s", "first_load_warm_s"):
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 4", timeout=120_000)
                figures[label] = time.perf_counter() - t0
            clients = page.locator(".mw-f-client select")
            changes = []
            for i in range(2, 7):
                client = clients.locator("option").nth(i).inner_text()
                t0 = time.perf_counter()
                clients.select_option(label=client)
                page.get_by_text(f"· {client}", exact=False).first.wait_for(timeout=60_000)
                page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 5", timeout=60_000)
                changes.append(time.perf_counter() - t0)
            figures["customer_change_s"] = statistics.median(changes)
            figures["customer_change_max_s"] = max(changes)
            browser.close()
        return figures
    finally:
        server.terminate()
        server.wait(timeout=10)


def session_figures(lake_dir: Path, sessions: int) -> dict[str, float]:
    """``sessions`` pages opened at once; each timed until its charts are drawn."""
    if sessions <= 0 or not Path(CHROMIUM).exists():
        return {}
    import asyncio

    from playwright.async_api import async_playwright

    server, url = _serve(lake_dir)

    async def run() -> list[float]:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

            async def one() -> float:
                page = await browser.new_page(viewport={"width": 1366, "height": 768})
                t0 = time.perf_counter()
                await page.goto(url, timeout=300_000)
                await page.wait_for_function(f"() => ({CHARTS_DRAWN})() >= 4", timeout=300_000)
                return time.perf_counter() - t0

            times = await asyncio.gather(*(one() for _ in range(sessions)))
            await browser.close()
            return sorted(times)

    try:
        times = asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "sessions": sessions,
        "sessions_p50_s": statistics.median(times),
        "sessions_p95_s": times[max(0, round(0.95 * len(times)) - 1)],
    }


def write_results(rows: list[tuple[str, dict[str, float], dict[str, float]]], command: str) -> None:
    lines = [
        START,
        "## Dashboard",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}; {dt.date.today():%Y-%m-%d}.",
        "",
        "| data set | first render (store) | filter change p50 / p95 (store) | cache | browser first load cold / warm | browser customer change, median of 5 (max) | concurrent sessions p50 / p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, st, br in rows:
        load = (
            f"{br['first_load_cold_s']:.2f} s / {br['first_load_warm_s']:.2f} s"
            if "first_load_cold_s" in br
            else "–"
        )
        change = (
            f"{br['customer_change_s']:.2f} s ({br['customer_change_max_s']:.2f} s)"
            if "customer_change_s" in br
            else "–"
        )
        sessions = (
            f"{int(br['sessions'])} sessions: {br['sessions_p50_s']:.1f} s / {br['sessions_p95_s']:.1f} s"
            if "sessions" in br else "–"
        )  # fmt: skip
        lines.append(
            f"| {name} | {st['first_render_s']:.2f} s "
            f"| {1000 * st['change_p50_s']:.0f} / {1000 * st['change_p95_s']:.0f} ms "
            f"| {st['cache_mb']:.1f} MB | {load} | {change} | {sessions} |"
        )
    lines += [
        "",
        "Store level = every query and frame the consumption view needs, without drawing, from a",
        "cold store (first render: the default page, last 90 days, plus the alerts inbox); views",
        "across customers read the `daily` table for the period shown (no whole-history",
        "aggregate, no warm-up). A filter change is a random selection (period 7–365 days, hour",
        "range, customer or sector or all) on the same store; cache = memory its answers hold",
        "after the run (capped at 64 MB).",
        "Browser = headless Chromium on the same machine, from navigation (or choosing a customer)",
        "until every chart is drawn (Bokeh finished, plots attached with a size). Concurrent",
        "sessions = N pages opened at once in one Chromium against one server (one thread),",
        "each until its charts are drawn; Chromium shares the two cores with the server.",
        "Targets: customer change < 1 s at 30 customers (issue 14); 1,000 customers first render",
        "≤ 2 s, filter change p95 ≤ 500 ms; 20 sessions at 300 customers p95 ≤ 3 s (issue 13).",
        END,
    ]
    write_section("dashboard", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=0)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sets = [("30 real customers", "lake30")]
    if not args.skip_fleet:
        sets.append(("1,000 synthetic customers × 730 days", "lake1000"))
    rows = []
    for label, name in sets:
        lake_dir = prepare(name)
        st = store_figures(lake_dir, args.changes)
        br = {} if args.skip_browser else browser_figures(lake_dir)
        if not args.skip_browser:
            br.update(session_figures(lake_dir, args.sessions))
        print(label, {k: round(v, 3) for k, v in {**st, **br}.items()}, flush=True)
        rows.append((label, st, br))
    if args.write_results:
        write_results(rows, "nice .venv/bin/python bench/dashboard.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
