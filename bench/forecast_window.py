"""Forecast accuracy on the reference's own window (a side check of the forecast target).

Usage::

    nice .venv/bin/python bench/forecast_window.py --lake /tmp/fclake

The reference MAPEs (``seed_best_models.csv``) were measured on the prototype's extract, which
is shorter than ours: ``Len_total`` periods of ``Frecuencia`` from the customer's first hour.
This cuts every customer's readings there, then runs the usual protocol
(:func:`meterwatch.evaluation.protocol.forecast_accuracy`, 80 / 20 split) so the test window
is about the reference's, and prints the comparison with the reference and with the
prototype re-implementation on the same split.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from _results import REFERENCE  # noqa: E402

from meterwatch.evaluation.protocol import forecast_accuracy, load_readings  # noqa: E402
from meterwatch.evaluation.prototype import configs_from_reference, read_reference  # noqa: E402
from meterwatch.storage import open_lake  # noqa: E402


def main() -> int:
    """Cut to the reference's extract, run the forecast protocol, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--reference", default=str(REFERENCE))
    args = parser.parse_args()
    frame, _ = load_readings(open_lake(args.lake))
    ref = read_reference(args.reference)
    raw = pd.read_csv(args.reference)
    hours = dict(zip(ref["client_id"], ref["freq_hours"], strict=True))
    total = dict(zip(ref["client_id"], raw["Len_total"].astype(int), strict=True))
    parts = []
    for client, rows in frame.groupby("client_id"):
        if client in total:
            end = rows["ts"].min() + pd.Timedelta(hours=total[client] * hours[client])
            rows = rows[rows["ts"] < end]
        parts.append(rows)
    cut = pd.concat(parts, ignore_index=True)
    started = time.perf_counter()
    f = forecast_accuracy(
        cut,
        freq_hours=hours,
        reference_mape=dict(zip(ref["client_id"], ref["reference_mape"], strict=True)),
        prototype_configs=configs_from_reference(ref),
    )
    seconds = time.perf_counter() - started
    both = f.dropna(subset=["mape", "reference_mape"])
    print(f"{len(both)} customers cut to the reference's extract ({seconds:.0f} s)")
    for name, column in (("product", "mape"), ("prototype re-implementation", "prototype_mape")):
        ratio = both[column] / both["reference_mape"]
        print(
            f"{name}: below the reference on {(both[column] < both['reference_mape']).sum()}"
            f"/{len(both)}, median ratio {ratio.median():.2f}, median MAPE {both[column].median():.1f} %"
        )
    ratio = both["mape"] / both["prototype_mape"]
    print(
        f"product vs prototype re-implementation: better on "
        f"{(both['mape'] < both['prototype_mape']).sum()}/{len(both)}, median ratio {ratio.median():.2f}"
    )
    print(
        f[
            [
                "client_id",
                "freq",
                "n_test",
                "mape",
                "prototype_mape",
                "reference_mape",
                "forecast_target",
            ]
        ]
        .round(2)
        .to_string(index=False)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
