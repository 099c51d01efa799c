"""Bytes Athena would scan per dashboard view at 264,000 customers, from files of that scale.

    cd /tmp && python /path/to/bench/athena_bytes.py --lake LAKE [--customers 264000]

The arithmetic of docs/decisions/dashboard-query-layer.md took its bytes per row from the
30-customer lake, whose files hold 30 customers a day: there a row group's customer ids are a
dictionary of a few values (0.1 B a row) and per-file overheads weigh. At 264,000 customers a
bucket's file holds ~16,500 customers a day and every row of a row group has its own id. This
writes one bucket's files as the lake writes them (the table's stored schema, sorted by period
then customer, ``TIME_MAJOR_ROW_GROUP_ROWS`` rows a group, zstd), for customers whose ids
hash into one bucket and whose values are the real customers' daily and monthly rows of
``LAKE`` (each synthetic customer one real customer's series times its own random scale, so
the numbers have the entropy real readings have), and reads the compressed size of each
column chunk. Prints bytes per row for the columns each view reads and the views' scans.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAILY_DAYS = 28  # days of daily rows written (the figures are per row and day)
MONTHS = 12
PEER_DAYS = 56  # an alert's comparison: 28 days before and a window of up to 4 weeks


def _column_bytes(path: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    out: dict[str, int] = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            out[chunk.path_in_schema] = (
                out.get(chunk.path_in_schema, 0) + chunk.total_compressed_size
            )
    return out


def _bucket_ids(count: int, bucket: int, total: int, seed: int) -> list[str]:
    """``count`` customer ids of a fleet of ``total`` (``Cliente <n>``) that fall in ``bucket``."""
    from meterwatch.storage.iceberg_tables import bucket_of

    rng = np.random.default_rng(seed)
    ids: list[str] = []
    for n in rng.permutation(total) + 1:
        name = f"Cliente {n}"
        if bucket_of(name) == bucket:
            ids.append(name)
            if len(ids) == count:
                break
    return sorted(ids)


def _scaled_rows(source, key: str, ids: list[str], periods: int, seed: int):  # type: ignore[no-untyped-def]
    """Rows of ``source`` (one table's rows of the real customers) for ``ids``: each id one
    real customer's last ``periods`` rows, its energy columns times a random scale."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    by_client = {
        c: g.sort_values(key).tail(periods).reset_index(drop=True)
        for c, g in source.groupby("client_id")
        if g[key].nunique() >= periods
    }
    real = sorted(by_client)
    energy = [c for c in source.columns if c == "active_kwh" or c == "reactive_kvarh" or
              (c.startswith("h") and c[1:].isdigit())]  # fmt: skip
    parts = []
    for k, name in enumerate(ids):
        rows = by_client[real[k % len(real)]].copy()
        rows["client_id"] = name
        rows[energy] = rows[energy] * float(rng.lognormal(0.0, 1.0))
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def _write(frame, table: str, path: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    from meterwatch import tables
    from meterwatch.storage.iceberg_tables import TIME_MAJOR_ROW_GROUP_ROWS, stored_schema

    schema = stored_schema(table)
    keys = [(c, "ascending") for c in tables.spec(table).sort_columns]
    data = pa.Table.from_pandas(frame[schema.names], preserve_index=False)
    data = data.cast(schema).sort_by(keys)
    pq.write_table(data, path, row_group_size=TIME_MAJOR_ROW_GROUP_ROWS, compression="zstd")
    sizes = _column_bytes(path)
    return {c: b / data.num_rows for c, b in sizes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="a lake with daily and monthly rows")
    parser.add_argument("--customers", type=int, default=264_000)
    parser.add_argument("--out", default="athena_bytes_scratch")
    args = parser.parse_args()

    from meterwatch.settings import Settings
    from meterwatch.storage import open_lake
    from meterwatch.storage.iceberg_tables import BUCKETS

    lake = open_lake(args.lake, Settings())
    per_bucket = args.customers // BUCKETS
    ids = _bucket_ids(per_bucket, 0, args.customers, seed=1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    daily = _write(
        _scaled_rows(lake.read("daily"), "day", ids, DAILY_DAYS, seed=2),
        "daily",
        out / "daily.parquet",
    )
    monthly = _write(
        _scaled_rows(lake.read("monthly"), "month", ids, MONTHS, seed=3),
        "monthly",
        out / "monthly.parquet",
    )
    hour = [f"h{h:02d}" for h in range(24)]
    d_total = sum(daily[c] for c in ("client_id", "day", "hours", "active_kwh"))
    m_total = sum(monthly[c] for c in ("client_id", "month", "hours", "active_kwh"))
    d_hour = float(np.mean([daily[c] for c in hour]))
    m_hour = float(np.mean([monthly[c] for c in hour]))
    mb = 1e6
    day_set = args.customers * d_total / mb  # one day of every customer, totals read
    month_set = args.customers * m_total / mb
    customers_mb = args.customers * 10 / mb  # the customers table for the join (~10 B each)
    print(f"{args.customers:,} customers, {per_bucket:,} in one bucket's files")
    print("| table | client_id | period | hours | active_kwh | a row, totals | an hour column |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, sizes, period, total, per_hour in (
        ("daily", daily, "day", d_total, d_hour),
        ("monthly", monthly, "month", m_total, m_hour),
    ):
        print(
            f"| {name} | {sizes['client_id']:.2f} | {sizes[period]:.2f} | {sizes['hours']:.2f} | "
            f"{sizes['active_kwh']:.2f} | {total:.2f} B | {per_hour:.2f} B |"
        )
    print()
    print("| view | scan at this fleet |")
    print("| --- | ---: |")
    print(f"| one day of `daily`, every customer, totals | {day_set:.1f} MB |")
    print(f"| one month of `monthly`, every customer, totals | {month_set:.1f} MB |")
    peers = per_bucket * PEER_DAYS * d_total / mb
    print(f"| an alert's peers: one bucket, {PEER_DAYS} days | {peers:.1f} MB |")
    for months, edges in ((2, 0), (2, 22), (2, 58), (12, 0), (12, 58)):
        scan = months * month_set + edges * day_set + customers_mb
        print(
            f"| energy per customer: {months} whole months and {edges} edge days | {scan:.0f} MB |"
        )


if __name__ == "__main__":
    main()
