"""S3 and Glue requests of the S3 lake per ingest, against a local moto server.

Usage::

    .venv/bin/python bench/s3_requests.py [--customers 30 200] [--days 60]

For each fleet size it ingests a synthetic fleet's history, then a one-day increment for
every customer (the daily file), then the same increment again (a redelivered event), and
counts the S3 and Glue API calls of each step by operation. Request counts, not timings,
are the point: they drive the S3 request cost in docs/deploy.md (moto's latency is not S3's).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def split_fleet(data: Path, history: Path, increment: Path) -> None:
    """History = all but the last day of each customer file; increment = the last day."""
    import pandas as pd

    history.mkdir(parents=True)
    increment.mkdir(parents=True)
    for path in sorted(data.glob("DATOSCLIENTE*.csv")):
        frame = pd.read_csv(path)
        frame.iloc[:-24].to_csv(history / path.name, index=False)
        frame.iloc[-24:].to_csv(increment / path.name, index=False)


def run(customers: int, days: int, endpoint: str) -> dict[str, Any]:
    import boto3

    from meterwatch import tables
    from meterwatch.ingest.pipeline import ingest_paths
    from meterwatch.storage.s3 import DuckDBEngine, S3Lake, glue_table_input
    from meterwatch.synth import generate_fleet

    counts: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".")
        counts[f"{service}:{operation}"] += 1

    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call.s3", count)
    session.events.register("before-call.glue", count)
    name = f"bench-{customers}-{int(time.time())}"
    session.client("s3").create_bucket(Bucket=name)
    glue = session.client("glue")
    glue.create_database(DatabaseInput={"Name": name.replace("-", "_")})
    for spec in tables.TABLES.values():
        glue.create_table(
            DatabaseName=name.replace("-", "_"),
            TableInput=glue_table_input(spec, f"s3://{name}/lake"),
        )
    with tempfile.TemporaryDirectory() as tmp:
        generate_fleet(
            Path(tmp) / "fleet", n_customers=customers, days=days, events=False, defects=False
        )
        split_fleet(Path(tmp) / "fleet" / "data", Path(tmp) / "history", Path(tmp) / "day")
        lake = S3Lake(f"s3://{name}/lake", glue_database=name.replace("-", "_"), session=session)
        lake.engine = DuckDBEngine(lake)
        steps = {}
        for step, folder in (
            ("history", "history"),
            ("daily file", "day"),
            ("same file again", "day"),
        ):
            counts.clear()
            started = time.perf_counter()
            report = ingest_paths(lake, [Path(tmp) / folder])
            steps[step] = {
                "seconds": round(time.perf_counter() - started, 1),
                "rows": report.rows_accepted,
                "requests": dict(counts),
            }
    return {"customers": customers, "days": days, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[30, 200])
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import os

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        print(
            "| customers | step | rows | S3 PUT | S3 GET | S3 LIST | S3 DELETE | Glue | PUT per customer |"
        )
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in args.customers:
            result = run(n, args.days, f"http://{host}:{port}")
            for step, figures in result["steps"].items():
                req = Counter(figures["requests"])
                put = req["s3:PutObject"]
                get = req["s3:GetObject"]
                lst = req["s3:ListObjectsV2"]
                delete = req["s3:DeleteObjects"]
                glue = sum(v for k, v in req.items() if k.startswith("glue:"))
                print(
                    f"| {n} | {step} | {figures['rows']:,} | {put} | {get} | {lst} | {delete} "
                    f"| {glue} | {put / n:.1f} |"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
