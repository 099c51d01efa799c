"""Forecast origins: nothing observed at or after an origin reaches the forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd

from meterwatch.evaluation.protocol import _mape, period_mape, rolling_origin_predictions
from meterwatch.periods import to_periods


class _LastKnown:
    """Predicts every row as the last active value it can see (NaN = hidden)."""

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        known = frame["active_kwh"].ffill().to_numpy()
        value = np.where(frame["active_kwh"].isna(), known, frame["active_kwh"])
        return pd.DataFrame({"expected_kwh": value, "lower_kwh": value, "upper_kwh": value})


def _frame(n: int, start: str) -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq="h")
    return pd.DataFrame(
        {"ts": ts, "active_kwh": np.arange(n, dtype=float), "reactive_kvarh": 0.0,
         "voltage_fa": 400.0, "voltage_fc": 400.0}
    )  # fmt: skip


def test_each_block_sees_only_the_readings_before_its_origin() -> None:
    history = _frame(48, "2022-01-01")
    new = _frame(24, "2022-01-03").assign(active_kwh=lambda f: 1000.0 + f.index)
    out = rolling_origin_predictions(_LastKnown(), history, new, step_hours=8)
    expected = np.repeat([47.0, 1007.0, 1015.0], 8)  # the hour before each 8-hour origin
    np.testing.assert_array_equal(out["expected_kwh"].to_numpy(), expected)


def test_mape_skips_zero_actuals() -> None:
    assert _mape(np.array([0.0, 2.0, 4.0]), np.array([5.0, 1.0, 5.0])) == 37.5


def test_a_stub_period_is_not_judged() -> None:
    """The new part ends where the readings end: its last period may hold one hour, which
    scaled to a full period is an extrapolation (here the night hour x 12), not a total."""
    ts = pd.date_range("2022-01-03", periods=24 * 3 + 1, freq="h")
    day = np.where((ts.hour >= 8) & (ts.hour < 20), 10.0, 1.0)
    frame = pd.DataFrame({"ts": ts, "active_kwh": day})
    periods = to_periods(frame, 12, ts[0])
    assert periods["hours"].tolist() == [12] * 6 + [1]
    assert periods["active"].iloc[-1] == 12.0  # 1 kWh at midnight, "12 kWh" for the period
    predicted = periods["active"].to_numpy().copy()
    predicted[-1] = 66.0  # the 00:00-12:00 periods' real total, which the stub does not show
    assert _mape(periods["active"].to_numpy(), predicted) > 60  # one stub among 7 periods
    assert period_mape(periods, predicted, 12) == 0.0
    # a period with half its hours read is still judged
    gappy = to_periods(frame.drop(frame.index[30:36]), 12, ts[0])
    wrong = np.where(gappy["hours"] == 6, 2 * gappy["active"], gappy["active"])
    assert period_mape(gappy, wrong, 12) > 0
