"""The one-step forecaster alone on the forecast protocol (for comparing variants quickly).

Usage::

    nice .venv/bin/python bench/forecast_quick.py --lake /tmp/fclake [--against OLD.csv] [--out NEW.csv]

``meterwatch evaluate --forecast`` also fits the detection model from rolling origins and the
prototype re-implementation (about 70 s); this runs only
:func:`meterwatch.detect.forecast.forecast_new_periods` on the same split, at the reference's
``Frecuencia`` (about 20 s), and prints the count below the reference and the median ratio.
The product MAPEs are identical to ``evaluate``'s ``mape`` column. ``--against`` takes a
``forecast.csv`` of ``meterwatch evaluate`` (or an earlier ``--out`` of this script) and adds
the head-to-head comparison with its ``mape`` (and its ``prototype_mape`` when present).
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

from meterwatch.detect.forecast import forecast_new_periods  # noqa: E402
from meterwatch.evaluation.protocol import load_readings, period_mape, split_history  # noqa: E402
from meterwatch.evaluation.prototype import read_reference  # noqa: E402
from meterwatch.storage import open_lake  # noqa: E402


def main() -> int:
    """Run the forecaster on every customer and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--reference", default=str(REFERENCE))
    parser.add_argument("--against", help="an earlier forecast.csv to compare with")
    parser.add_argument("--out", help="write the per-customer table here (csv)")
    args = parser.parse_args()
    frame, _ = load_readings(open_lake(args.lake))
    ref = read_reference(args.reference).set_index("client_id")
    train, test = split_history(frame)
    started = time.perf_counter()
    rows = []
    for client, history in train.groupby("client_id", sort=True):
        new = test[test["client_id"] == client]
        if new.empty or client not in ref.index:
            continue
        freq = int(ref.loc[client, "freq_hours"])
        periods, model = forecast_new_periods(history, new, freq)
        rows.append(
            {
                "client_id": client,
                "mape": period_mape(periods, periods["predicted"].to_numpy(), freq),
                "reference_mape": float(ref.loc[client, "reference_mape"]),
                "forecast_target": model.choice,
            }
        )
    seconds = time.perf_counter() - started
    out = pd.DataFrame(rows).set_index("client_id")
    ratio = out["mape"] / out["reference_mape"]
    print(
        f"{len(out)} customers ({seconds:.0f} s): below the reference on "
        f"{(out['mape'] < out['reference_mape']).sum()}/{len(out)}, median ratio "
        f"{ratio.median():.3f}, median MAPE {out['mape'].median():.2f} %, "
        f"mean MAPE {out['mape'].mean():.2f} %"
    )
    if args.against:
        old = pd.read_csv(args.against).set_index("client_id").reindex(out.index)
        for name, column in (
            ("earlier run", "mape"),
            ("prototype re-implementation", "prototype_mape"),
        ):
            if column in old:
                print(
                    f"vs {name}: better on {(out['mape'] < old[column]).sum()}/{len(out)}, "
                    f"median ratio {(out['mape'] / old[column]).median():.3f}"
                )
    if args.out:
        out.to_csv(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
