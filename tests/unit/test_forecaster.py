"""The one-step-ahead period forecaster: causal, follows level shifts, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from meterwatch.detect.forecast import (
    TARGETS,
    PeriodForecaster,
    build_features,
    forecast_new_periods,
)
from meterwatch.periods import to_periods


def _hourly(days: int, seed: int = 0, level: float = 10.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2022-01-03", periods=24 * days, freq="h")
    profile = 1 + 0.5 * np.sin(2 * np.pi * ts.hour.to_numpy() / 24)
    weekday = np.where(ts.weekday.to_numpy() >= 5, 0.7, 1.0)
    active = level * profile * weekday * rng.lognormal(0, 0.05, len(ts))
    return pd.DataFrame({"ts": ts, "active_kwh": active, "reactive_kvarh": 0.3 * active})


def test_periods_align_on_origin() -> None:
    frame = _hourly(3)
    origin = pd.Timestamp("2022-01-04 05:00")
    periods = to_periods(frame, 12, origin)
    assert (periods.loc[periods["period"] == 0, "start"] == origin).all()
    assert periods["period"].min() < 0
    # partial first period scaled to 12 hours
    assert periods["hours"].iloc[0] == 5
    restored = (periods["active"] * periods["hours"] / 12).sum()
    assert np.isclose(restored, frame["active_kwh"].sum())


def test_features_use_only_the_past() -> None:
    periods = to_periods(_hourly(40), 12, pd.Timestamp("2022-01-03"))
    base = build_features(periods, 12, 1.0, base="day").x
    changed = periods.copy()
    changed.loc[50, "active"] *= 5
    changed.loc[50, "reactive"] *= 5
    after = build_features(changed, 12, 1.0, base="day").x
    np.testing.assert_array_equal(base[:51], after[:51])
    assert not np.allclose(base[51:], after[51:], equal_nan=True)


def test_changing_a_future_value_leaves_earlier_forecasts_alone() -> None:
    frame = _hourly(120)
    history, new = frame.iloc[: 24 * 100], frame.iloc[24 * 100 :]
    origin = pd.Timestamp(new["ts"].iloc[0])
    hist = to_periods(history, 12, origin)
    fresh = to_periods(new, 12, origin)
    model = PeriodForecaster(12).fit(hist)
    both = pd.concat([hist, fresh], ignore_index=True)
    before = model.predict(both)
    k = len(hist) + 10
    both.loc[k, "active"] *= 3
    after = model.predict(both)
    np.testing.assert_array_equal(before[: k + 1], after[: k + 1])
    assert not np.allclose(before[k + 1 :], after[k + 1 :])


def test_a_level_shift_is_followed_within_two_periods() -> None:
    frame = _hourly(160, seed=1)
    # a campaign in the history teaches a level shift; the new part shifts again
    frame.loc[24 * 40 : 24 * 80, "active_kwh"] *= 3
    start_new = 24 * 130
    frame.loc[24 * 140 :, "active_kwh"] *= 3
    history, new = frame.iloc[:start_new], frame.iloc[start_new:]
    periods, _ = forecast_new_periods(history, new, 24)
    shift = 10  # the shift starts at the tenth new day
    ratio = periods["predicted"].to_numpy() / periods["active"].to_numpy()
    assert np.all(np.abs(ratio[:shift] - 1) < 0.25)
    assert np.all(np.abs(ratio[shift + 2 :] - 1) < 0.25)


def test_deterministic() -> None:
    frame = _hourly(90, seed=3)
    history, new = frame.iloc[: 24 * 72], frame.iloc[24 * 72 :]
    first, m1 = forecast_new_periods(history, new, 8)
    second, m2 = forecast_new_periods(history, new, 8)
    np.testing.assert_array_equal(first["predicted"], second["predicted"])
    assert m1.choice == m2.choice


def test_spread_over_hours_keeps_period_totals_and_shape() -> None:
    from meterwatch.evaluation.protocol import spread_over_hours

    new = _hourly(2).iloc[:30]  # one full 12 h period, one full, one partial (6 h)
    origin = pd.Timestamp(new["ts"].iloc[0])
    periods = to_periods(new, 12, origin).assign(predicted=[12.0, 24.0, 36.0])
    shape = np.r_[np.ones(6), 3 * np.ones(6), np.ones(18)]
    hourly = spread_over_hours(new, periods, 12, shape)
    np.testing.assert_allclose(
        [hourly[:12].sum(), hourly[12:24].sum(), hourly[24:].sum()], [12, 24, 18]
    )
    np.testing.assert_allclose(hourly[6] / hourly[0], 3)
    flat = spread_over_hours(new, periods, 12, None)
    np.testing.assert_allclose(flat[:12], 1.0)


def test_gaps_in_the_readings_keep_lags_aligned() -> None:
    frame = _hourly(120, seed=5)
    gappy = frame.drop(frame.index[24 * 50 : 24 * 53]).reset_index(drop=True)  # 3 days missing
    history, new = gappy.iloc[: 24 * 90], gappy.iloc[24 * 90 :]
    periods, _ = forecast_new_periods(history, new, 12)
    assert len(periods) == len(new) // 12
    ratio = periods["predicted"].to_numpy() / periods["active"].to_numpy()
    assert np.all(np.abs(ratio - 1) < 0.25)


def test_forecast_accuracy_reports_the_one_step_forecaster() -> None:
    from meterwatch.evaluation.protocol import forecast_accuracy

    parts = []
    for n, level in ((1, 10.0), (2, 4.0)):
        part = _hourly(70, seed=n, level=level)
        parts.append(part.assign(client_id=f"Cliente {n}", voltage_fa=230.0, voltage_fc=230.0))
    frame = pd.concat(parts, ignore_index=True)
    out = forecast_accuracy(frame, freq_hours={"Cliente 1": 12, "Cliente 2": 24}).set_index(
        "client_id"
    )
    assert (out["model"] == "product").all()
    assert out.loc["Cliente 1", "freq"] == "12H"
    assert out["mape"].between(0, 15).all()
    assert out["onestep_hourly_mape"].notna().all() and out["coverage"].between(0, 1).all()
    assert out["forecast_target"].str.contains("absolute").all()


def test_weekly_and_holiday_features_use_only_the_past() -> None:
    for hours in (8, 24, 48):
        periods = to_periods(_hourly(80), hours, pd.Timestamp("2022-01-03"))
        names = build_features(periods, hours, 1.0, base="none").names
        assert {"mean_same_weekly", "holiday"} <= set(names)
        k = len(periods) // 2
        base = build_features(periods, hours, 1.0, base="week").x
        changed = periods.copy()
        changed.loc[k, "active"] *= 5
        after = build_features(changed, hours, 1.0, base="week").x
        np.testing.assert_array_equal(base[: k + 1], after[: k + 1])
        col = names.index("mean_same_weekly")
        step = {8: 21, 24: 7, 48: 7}[hours]  # periods until the same weekday and hour
        assert base[k + step, col] != after[k + step, col]


def test_members_are_weighted_by_their_validation_mape() -> None:
    frame = _hourly(120, seed=2)
    history, new = frame.iloc[: 24 * 100], frame.iloc[24 * 100 :]
    _, model = forecast_new_periods(history, new, 12)
    assert set(model.weights) == set(TARGETS)
    assert np.isclose(sum(model.weights.values()), 1)
    best = min(model.validation, key=lambda t: model.validation[t])
    assert model.weights[best] == max(model.weights.values())
    assert model.choice.startswith(best)


def test_holiday_share() -> None:
    import datetime as dt

    from meterwatch.public_holidays import holiday_share, peru_holidays

    days = [d for d, _ in peru_holidays(dt.date(2022, 1, 1), dt.date(2022, 12, 31))]
    assert dt.date(2022, 4, 15) in days  # Good Friday 2022
    assert dt.date(2022, 7, 28) in days
    # Batalla de Junín and Batalla de Ayacucho: national holidays since 2022, missing from
    # the hand-written calendar the `holidays` library replaced
    assert dt.date(2022, 8, 6) in days and dt.date(2022, 12, 9) in days
    assert dt.date(2021, 8, 6) not in [
        d for d, _ in peru_holidays(dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    ]
    start = pd.DatetimeIndex(["2022-07-27 12:00", "2022-07-30 12:00", "2022-07-31"])
    np.testing.assert_allclose(holiday_share(start, 24), [0.5, 0.0, 0.0])
