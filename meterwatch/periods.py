"""Hourly readings summed into periods of a fixed length (the prototype's frequencies)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def to_periods(frame: pd.DataFrame, freq_hours: int, origin: pd.Timestamp) -> pd.DataFrame:
    """Sum hourly rows into periods of ``freq_hours`` aligned on ``origin``.

    Periods before ``origin`` get negative indices; incomplete periods (gaps, the series'
    ends) are scaled up to a full period. Without ``reactive_kvarh`` the reactive sums are 0.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``active``, ``reactive``, ``hours``, ``start``, sorted by period.
    """
    period = ((frame["ts"] - origin) // pd.Timedelta(hours=freq_hours)).to_numpy()
    grouped = (
        pd.DataFrame(
            {
                "period": period,
                "active": frame["active_kwh"].to_numpy(dtype=float),
                "reactive": frame["reactive_kvarh"].fillna(0).to_numpy(dtype=float)
                if "reactive_kvarh" in frame
                else np.zeros(len(frame)),
            }
        )
        .groupby("period", sort=True)
        .agg(active=("active", "sum"), reactive=("reactive", "sum"), hours=("active", "size"))
        .reset_index()
    )
    scale = freq_hours / grouped["hours"]
    grouped["active"] *= scale
    grouped["reactive"] *= scale
    grouped["start"] = origin + pd.to_timedelta(grouped["period"] * freq_hours, unit="h")
    return grouped
