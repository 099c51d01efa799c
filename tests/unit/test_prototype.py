"""The prototype baseline: reference table, periods, band and red-alert rule."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from meterwatch.evaluation.prototype import (
    PrototypeConfig,
    PrototypeModel,
    configs_from_reference,
    read_reference,
)
from meterwatch.periods import to_periods

REFERENCE = """Cliente,Frecuencia,Rezago,Modelo,Hiperparametros,Imputado,Incluye_reactiva,MAPE
1,12H,15,XGB,"(500, 3, 0.01, 0.1)",SI,SI,6.4
4,24H,30,LSTM,"(100, 'tanh', 25)",NO,NO,6.2
"""


def test_reference_table_sets_frequency_lags_and_hyperparameters() -> None:
    ref = read_reference(io.StringIO(REFERENCE))  # type: ignore[arg-type]
    assert ref["client_id"].tolist() == ["Cliente 1", "Cliente 4"]
    configs = configs_from_reference(ref)
    assert configs["Cliente 1"] == PrototypeConfig(
        freq_hours=12, lags=15, n_estimators=500, max_depth=3, learning_rate=0.01
    )
    # LSTM customers keep the frequency and lags, with the XGBoost defaults
    assert configs["Cliente 4"].freq_hours == 24 and configs["Cliente 4"].lags == 30
    assert configs["Cliente 4"].n_estimators == PrototypeConfig().n_estimators


def _hours(n: int, start: str = "2022-01-01", level: float = 2.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=n, freq="h")
    active = level * (1 + 0.3 * np.sin(ts.hour / 24 * 2 * np.pi)) * rng.uniform(0.97, 1.03, n)
    return pd.DataFrame({"ts": ts, "active_kwh": active, "reactive_kvarh": 0.3 * active})


def test_periods_sum_hours_and_scale_partial_periods() -> None:
    frame = _hours(30).assign(active_kwh=1.0, reactive_kvarh=0.5)
    periods = to_periods(frame, 12, frame["ts"].iloc[0])
    assert periods["hours"].tolist() == [12, 12, 6]
    assert periods["active"].tolist() == [12.0, 12.0, 12.0]  # the 6-hour tail scaled to 12
    assert periods["start"].iloc[2] == pd.Timestamp("2022-01-02 00:00")


def test_a_stopped_meter_is_flagged_and_raises_the_red_alert() -> None:
    config = PrototypeConfig(freq_hours=12, lags=4, n_estimators=30)
    history = _hours(24 * 60)
    model = PrototypeModel(config).fit(history)
    new = _hours(24 * 20, start=str(history["ts"].iloc[-1] + pd.Timedelta(hours=1)), seed=1)
    hourly, alerts = model.detect(new)
    assert hourly["is_anomaly"].mean() < 0.1 and alerts.empty  # clean: inside the ±20 % band
    stopped = new.copy()
    stopped.loc[24 * 10 :, "active_kwh"] = 0.0
    hourly, alerts = model.detect(stopped)
    assert hourly["is_anomaly"].iloc[24 * 10 :].all()
    assert not alerts.empty
    assert alerts["alert_ts"].min() >= stopped["ts"].iloc[24 * 10]
    assert hourly["score"].iloc[24 * 10 :].min() == pytest.approx(1.0)  # |0 - ŷ| / ŷ


def test_zeros_in_the_history_are_replaced_by_the_mean() -> None:
    config = PrototypeConfig(freq_hours=24, lags=3, n_estimators=30)
    history = _hours(24 * 60)
    history.loc[24 * 20 : 24 * 30, "active_kwh"] = 0.0  # an outage the prototype hid
    model = PrototypeModel(config).fit(history)
    new = _hours(24 * 10, start=str(history["ts"].iloc[-1] + pd.Timedelta(hours=1)), seed=2)
    periods = model.predict_periods(new)
    assert (periods["predicted"] > 0.5 * periods["active"]).all()
