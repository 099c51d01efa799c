"""Cost of the tied-peer search (``pipeline.tied_peers``) for one sector of N customers.

    nice .venv/bin/python bench/tied_peers.py --customers 2000 5000 10000 [--days 730]

Each size runs in its own process: N synthetic daily level histories (random walks, one
customer in 50 following a shared path, a third of them starting late), all in one sector;
CPU seconds and wall time of the ``tied_peers`` call alone, the process's peak RSS, and the
number of ties found.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one(n: int, days: int) -> dict[str, float]:
    import numpy as np
    import pandas as pd

    from meterwatch.detect.pipeline import tied_peers

    rng = np.random.default_rng(0)
    index = pd.date_range("2021-01-01", periods=days, freq="D")
    shared = np.cumsum(rng.normal(0, 0.05, days))
    levels = {}
    for i in range(n):
        path = shared if i % 50 == 0 else np.cumsum(rng.normal(0, 0.05, days))
        values = np.exp(path + rng.normal(0, 0.01, days)) * 10
        values[: rng.integers(0, days // 3)] = np.nan
        levels[f"c{i}"] = pd.Series(values, index=index)
    sectors = dict.fromkeys(levels, "one sector")
    cpu, wall = time.process_time(), time.perf_counter()
    out = tied_peers(levels, sectors)
    return {
        "customers": n,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ties": sum(len(v) for v in out.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.days)))
        return
    print("| customers in the sector | CPU s | wall s | peak MiB | ties |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n in args.customers:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--days", str(args.days)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {n:,} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | {r['peak_mib']:.0f} | {r['ties']:,} |"
        )


if __name__ == "__main__":
    main()
