"""The forecast error operators read: per period and weighted, not the hourly MAPE."""

from __future__ import annotations

import numpy as np
import pandas as pd

from meterwatch.detect.model import held_out_accuracy


def test_a_forecast_right_per_day_but_an_hour_late_reads_right_per_day() -> None:
    ts = pd.Series(pd.date_range("2023-01-02", periods=14 * 24, freq="h"))
    hour = ts.dt.hour.to_numpy()
    actual = np.where((hour >= 8) & (hour < 18), 10.0, 0.05)  # idle nights near 0 kWh
    expected = np.roll(actual, 1)  # the same day, one hour late
    ok = np.ones(len(ts), dtype=bool)
    got = held_out_accuracy(ts, actual, expected, ok)
    hourly_mape = np.mean(np.abs(actual - expected) / actual) * 100
    assert hourly_mape > 500  # what the card used to show
    assert got["period_mape_24"] < 1.0
    assert got["period_mape_48"] < 1.0
    assert 15 < got["wape"] < 25  # two wrong hours of ten busy ones each day
    assert set(got) == {
        "wape",
        "period_mape_8",
        "period_mape_12",
        "period_mape_24",
        "period_mape_48",
    }


def test_periods_without_enough_clean_hours_are_not_judged() -> None:
    ts = pd.Series(pd.date_range("2023-01-02", periods=48, freq="h"))
    actual = np.full(48, 2.0)
    expected = np.full(48, 2.0)
    expected[24:] = 10.0  # a wrong second day ...
    ok = np.ones(48, dtype=bool)
    ok[30:] = False  # ... that has only 6 clean hours
    got = held_out_accuracy(ts, actual, expected, ok)
    assert got["period_mape_24"] == 0.0
    assert np.isnan(held_out_accuracy(ts, actual, expected, np.zeros(48, dtype=bool))["wape"])
