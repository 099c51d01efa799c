"""Ingest speed: the 30 real customers and a synthetic fleet, against the raw CSV read floor.

Usage::

    .venv/bin/python bench/ingest.py [--fleet 1000] [--days 730] [--skip-fleet] [--write-results]

For each data set it measures, in one run: the time pyarrow needs just to read the CSV files
(the floor), a full ``meterwatch ingest`` into an empty lake (wall time, rows per second,
peak memory of the ingest process), and a re-ingest of the same files (the idempotent path).
Each ingest runs in a fresh child process so its peak memory (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _results import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
SHARED = ROOT.parent / "shared" / "data" / "electrodunas"


def child_ingest(data: str, lake: str) -> None:
    """Run in a child: ingest and print JSON figures."""
    sys.path.insert(0, str(ROOT))
    from meterwatch.ingest import ingest_paths
    from meterwatch.storage import open_lake

    started = time.perf_counter()
    report = ingest_paths(open_lake(lake), [data])
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "rows": report.rows_read, "accepted": report.rows_accepted,
                      "peak_mb": peak_mb}))  # fmt: skip


def child_floor(data: str) -> None:
    """Run in a child: read every CSV with pyarrow (type inference, threads) and nothing else."""
    import pyarrow.csv as pacsv

    files = sorted(p for p in Path(data).rglob("*.csv"))
    started = time.perf_counter()
    # Skip malformed rows (the synthetic fleet has a few) instead of failing the read.
    options = pacsv.ParseOptions(invalid_row_handler=lambda row: "skip")
    rows = sum(pacsv.read_csv(p, parse_options=options).num_rows for p in files)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(name: str, data: Path, repeats: int) -> dict[str, object]:
    lake = WORK / f"lake-{name}"
    floor = min(
        (run_child("--child-floor", str(data)) for _ in range(repeats)),
        key=lambda r: r["seconds"],
    )
    firsts = []
    for _ in range(repeats):
        shutil.rmtree(lake, ignore_errors=True)
        firsts.append(run_child("--child-ingest", str(data), str(lake)))
    again = run_child("--child-ingest", str(data), str(lake))
    first = min(firsts, key=lambda r: r["seconds"])
    median = sorted(r["seconds"] for r in firsts)[len(firsts) // 2]
    return {
        "name": name,
        "rows": int(first["rows"]),
        "floor_s": floor["seconds"],
        "ingest_s": first["seconds"],
        "ingest_median_s": median,
        "rows_per_s": first["rows"] / first["seconds"],
        "ratio_to_floor": first["seconds"] / floor["seconds"],
        "peak_mb": max(r["peak_mb"] for r in firsts),
        "reingest_s": again["seconds"],
        "repeats": repeats,
    }


def write_results(rows: list[dict[str, object]], command: str) -> None:
    lines = [
        "<!-- ingest:start -->",
        "## Ingest",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}  ",
        f"Date: {time.strftime('%Y-%m-%d')}",
        "",
        "| data | rows | pyarrow read floor (s) | ingest, best (s) | ingest, median (s) | rows/s (best) | × floor | peak memory (MB) | re-ingest (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {r['floor_s']:.2f} | {r['ingest_s']:.2f} | {r['ingest_median_s']:.2f} | "
            f"{r['rows_per_s']:,.0f} | {r['ratio_to_floor']:.1f} | {r['peak_mb']:,.0f} | {r['reingest_s']:.2f} |"
        )
    lines += [
        "",
        "Ingest = validate every row, keep the raw file, upsert by (customer, hour), data-quality findings, "
        "one atomic commit (fsync'd). Floor = `pyarrow.csv.read_csv` of the same files with type inference "
        "and threads, nothing else. Each figure from a fresh process into an empty lake; best and median "
        "of N runs (N = 5 for the real customers, 1 for the fleet), floor best of N. Re-ingest = the same "
        "files again into the filled lake (nothing changes).",
        "<!-- ingest:end -->",
    ]
    write_section("ingest", "\n".join(lines))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-ingest":
        child_ingest(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-floor":
        child_floor(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fleet", type=int, default=1000, help="synthetic customers (default 1000)"
    )
    parser.add_argument(
        "--days", type=int, default=730, help="days per synthetic customer (default 730)"
    )
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    if SHARED.exists():
        rows.append(measure("ElectroDunas, 30 customers", SHARED, repeats=5))
        print(rows[-1], flush=True)
    if not args.skip_fleet:
        sys.path.insert(0, str(ROOT))
        from meterwatch.synth import generate_fleet

        fleet_dir = WORK / f"fleet-{args.fleet}x{args.days}"
        if not (fleet_dir / "labels.csv").exists():
            generate_fleet(fleet_dir, n_customers=args.fleet, days=args.days, seed=11)
        rows.append(
            measure(
                f"synthetic, {args.fleet} customers × {args.days} days",
                fleet_dir / "data",
                repeats=1,
            )
        )
        print(rows[-1], flush=True)
    if args.write_results:
        write_results(rows, "python bench/ingest.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
