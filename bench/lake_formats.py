"""Old snapshot-log lake vs Iceberg lake: ingest time and one customer's read.

nice .venv/bin/python bench/lake_formats.py ../shared/data/electrodunas /tmp/lakes
.venv/bin/meterwatch synth --out /tmp/fleet300 --customers 300 --days 365 --seed 3
nice .venv/bin/python bench/lake_formats.py /tmp/fleet300 /tmp/lakes300
"""

import shutil
import statistics
import sys
import time
from pathlib import Path

from meterwatch.ingest import ingest_paths
from meterwatch.storage.legacy import SnapshotLake
from meterwatch.storage.local import LocalLake

src = Path(sys.argv[1])
work = Path(sys.argv[2])
work.mkdir(parents=True, exist_ok=True)
for name, cls in (("old", SnapshotLake), ("iceberg", LocalLake)):
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    t = time.perf_counter()
    c = time.process_time()
    lake = cls(root)
    ingest_paths(lake, [src])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    lake = cls(root)
    clients = sorted(lake.query("SELECT DISTINCT client_id FROM readings")["client_id"])
    probe = clients[len(clients) // 2]
    lake.read("readings", partitions=[probe])
    times = []
    for _ in range(20):
        t = time.perf_counter()
        n = len(lake.read("readings", partitions=[probe]))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    q = lake.query("SELECT client_id, sum(active_kwh) FROM readings GROUP BY 1")
    tq = time.perf_counter() - t
    size = sum(p.stat().st_size for p in (root / "curated").rglob("*") if p.is_file())
    print(
        f"{name:8} customers={len(clients)} ingest wall={wall:.1f}s cpu={cpu:.1f}s | read one customer ({n} rows) median={statistics.median(times) * 1000:.1f} ms | fleet sum query {tq * 1000:.0f} ms | curated {size / 1e6:.1f} MB",
        flush=True,
    )
