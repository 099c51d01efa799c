"""Train CPU against a plain per-customer XGBoost fit, on the same customers in the same run.

Issue 11 asks that training cost at most 3 times "a plain per-customer XGBoost fit". The plain
fit here: the customer's whole history, features hour of day, day of week and month, target the
hourly active energy, the product's own XGBoost parameters and number of rounds (one thread).
The product's fit: :func:`meterwatch.detect.model.fit_customer` on the same readings (shape on
the first 80 %, band and detector statistics on the held-out tail, the final shape on
everything). Both are timed in CPU seconds of this process (``time.process_time``), one customer
after the other, plain first; the ratio is of the totals.

Usage: ``python bench/train_cost.py --lake LAKE [--repeats 3]`` (a lake holding the real files:
``meterwatch ingest ../shared/data/electrodunas --lake LAKE``).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
import xgboost as xgb

from meterwatch.detect import model
from meterwatch.storage import open_lake


def plain_fit(frame: pd.DataFrame) -> xgb.Booster:
    """A plain per-customer XGBoost forecaster: calendar features, every hour of the history."""
    ts = pd.DatetimeIndex(frame["ts"])
    features = np.column_stack([ts.hour, ts.dayofweek, ts.month]).astype(float)
    target = frame["active_kwh"].to_numpy(dtype=float)
    ok = np.isfinite(target)
    matrix = xgb.DMatrix(features[ok], label=target[ok])
    return xgb.train(model.XGB_PARAMS, matrix, num_boost_round=model.XGB_ROUNDS)


def cpu(fn: object, *args: object) -> float:
    started = time.process_time()
    fn(*args)  # type: ignore[operator]
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--repeats", type=int, default=3, help="best of N per customer")
    args = parser.parse_args()
    lake = open_lake(args.lake)
    clients = sorted(c for c in lake.partitions("readings") if c is not None)
    rows = []
    for client in clients:
        frame = lake.read("readings", partitions=[client])
        frame["ts"] = pd.to_datetime(frame["ts"])
        frame = frame.sort_values("ts").reset_index(drop=True)
        plain = min(cpu(plain_fit, frame) for _ in range(args.repeats))
        ours = min(cpu(model.fit_customer, frame) for _ in range(args.repeats))
        rows.append({"client_id": client, "hours": len(frame), "plain_s": plain, "ours_s": ours})
    table = pd.DataFrame(rows)
    total_plain, total_ours = table["plain_s"].sum(), table["ours_s"].sum()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"\n{len(table)} customers, {table['hours'].sum():,} hours; CPU-s best of {args.repeats}:"
        f" plain XGBoost {total_plain:.2f}, meterwatch fit_customer {total_ours:.2f},"
        f" ratio {total_ours / total_plain:.2f} (median per customer"
        f" {(table['ours_s'] / table['plain_s']).median():.2f});"
        f" {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
