"""Detectors on small named scenarios: one customer, a history, then new hours."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from meterwatch.alerts.policy import extract_events
from meterwatch.detect import model as model_mod
from meterwatch.detect.model import CustomerModel, fit_customer, gate_levels, known_levels
from meterwatch.detect.pipeline import score_readings

TRAIL_START = 10  # TRAIL_GAP_DAYS + half of TRAIL_DAYS: the first day with a reference
HISTORY_DAYS = 70
NEW_DAYS = 35


@pytest.fixture(autouse=True)
def few_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "XGB_ROUNDS", 25)


def customer(days: int, seed: int = 0, level: float = 10.0, noise: float = 0.08) -> pd.DataFrame:
    """A factory with a strong daily profile (day shift) and mild noise."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2022-01-03", periods=days * 24, freq="h")
    hour = ts.hour.to_numpy()
    shape = np.where((hour >= 7) & (hour < 19), 1.6, 0.4)
    active = level * shape * rng.lognormal(0, noise, len(ts))
    return pd.DataFrame(
        {
            "ts": ts,
            "active_kwh": active,
            "reactive_kvarh": active * 0.4 * rng.lognormal(0, 0.05, len(ts)),
            "voltage_fa": 460 + rng.normal(0, 4, len(ts)),
            "voltage_fc": 460 + rng.normal(0, 4, len(ts)),
        }
    )


def run(frame: pd.DataFrame, history_days: int = HISTORY_DAYS) -> tuple[pd.DataFrame, list]:
    cut = frame["ts"].iloc[0] + pd.Timedelta(days=history_days)
    model = fit_customer(frame[frame["ts"] < cut])
    scores = score_readings(model, frame, cut, client_id="c1")
    return scores, extract_events("c1", scores, model_quality=1.0)


def new_part(frame: pd.DataFrame, start_day: int, days: int) -> np.ndarray:
    t0 = frame["ts"].iloc[0] + pd.Timedelta(days=HISTORY_DAYS + start_day)
    return ((frame["ts"] >= t0) & (frame["ts"] < t0 + pd.Timedelta(days=days))).to_numpy()


def test_clean_customer_raises_nothing() -> None:
    scores, events = run(customer(HISTORY_DAYS + NEW_DAYS, seed=1))
    assert events == []
    assert scores["is_anomaly"].mean() < 0.02


def test_noisy_clean_customer_gets_a_wide_band_not_alerts() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=2, noise=0.5)
    cut = frame["ts"].iloc[0] + pd.Timedelta(days=HISTORY_DAYS)
    model = fit_customer(frame[frame["ts"] < cut])
    steady = fit_customer(customer(HISTORY_DAYS, seed=2)[lambda f: f["ts"] < cut])
    assert model.band[1] - model.band[0] > 2 * (steady.band[1] - steady.band[0])
    _, events = run(frame)
    assert events == []


def test_the_band_widens_for_a_noisier_regime_not_for_a_loss() -> None:
    """A customer whose new hours scatter three times more than its history still gets a band
    holding most of them (the held-out tail's band alone would not); a 40 % loss steps the
    residuals without scattering them and leaves the band as it was, also in its first days."""
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=3)
    cut = frame["ts"].iloc[0] + pd.Timedelta(days=HISTORY_DAYS)
    model = fit_customer(frame[frame["ts"] < cut])
    new = (frame["ts"] >= cut).to_numpy()
    rng = np.random.default_rng(7)
    noisy = frame.copy()
    noisy.loc[new, "active_kwh"] *= rng.lognormal(0, 0.25, new.sum())
    theft = frame.copy()
    theft.loc[new, "active_kwh"] *= 0.6

    def coverage(f: pd.DataFrame, weeks_in: int = 2) -> tuple[float, float]:
        pred = model.predict(f)
        late = new & (f["ts"] >= cut + pd.Timedelta(days=7 * weeks_in)).to_numpy()
        a = f["active_kwh"].to_numpy()
        inside = (a >= pred["lower_kwh"].to_numpy()) & (a <= pred["upper_kwh"].to_numpy())
        width = (pred["upper_kwh"] - pred["lower_kwh"]).to_numpy()
        return float(inside[late].mean()), float(np.median(width[late]))

    still = model.stats.pop("band_step_spread")
    fixed_cover, fixed_width = coverage(noisy)
    model.stats["band_step_spread"] = still
    adapted_cover, adapted_width = coverage(noisy)
    assert fixed_cover < 0.8 and adapted_cover > 0.9 and adapted_width > 1.5 * fixed_width
    # the expectation of a theft does not drop (gated level), nor does its band widen: the
    # hours stay outside it, the band no wider than the held-out tail's (from the first hour
    # of the theft: the step itself is one hour-to-hour change, not scatter)
    theft_cover, theft_width = coverage(theft, weeks_in=0)
    assert theft_cover < 0.05 and theft_width <= 1.02 * fixed_width


def test_stopped_meter_week_is_a_stopped_meter_alert() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=3)
    frame.loc[new_part(frame, 10, 7), "active_kwh"] = 0.0
    _scores, events = run(frame)
    assert [e.kind for e in events] == ["stopped_meter"]
    assert events[0].n_hours >= 7 * 24 - 2
    assert events[0].severity == "high"
    assert events[0].lost_kwh == pytest.approx(10 * 7 * 24, rel=0.25)


def test_under_registration_of_15_percent_over_a_month_stays_flagged() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=4)
    hit = new_part(frame, 3, 30)
    frame.loc[hit, "active_kwh"] *= 0.85
    scores, events = run(frame)
    assert [e.kind for e in events] == ["under_registration"]
    flagged = scores.set_index("ts")["is_anomaly"].reindex(frame.loc[hit, "ts"])
    # the expectation does not follow the loss down: the whole month stays flagged
    assert flagged.mean() > 0.8
    assert flagged.iloc[-24 * 5 :].mean() > 0.8
    assert 0.05 < events[0].params["loss_pct"] / 100 < 0.3


def test_reversed_daily_profile_is_a_load_shape_change() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=5)
    hit = new_part(frame, 5, 14)
    values = frame.loc[hit, "active_kwh"].to_numpy().reshape(-1, 24)[:, ::-1].ravel()
    frame.loc[hit, "active_kwh"] = values
    _, events = run(frame)
    assert [e.kind for e in events] == ["load_shape_change"]


def test_negative_block_is_reverse_energy() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=6)
    hit = new_part(frame, 8, 2)
    frame.loc[hit, "active_kwh"] *= -1
    _, events = run(frame)
    assert "reverse_energy" in [e.kind for e in events]


def test_end_of_a_campaign_raises_nothing() -> None:
    # base load, a three-month campaign at 4x, back to base; the campaign ends in the new part
    frame = customer(120 + NEW_DAYS, seed=7)
    days = (frame["ts"] - frame["ts"].iloc[0]).dt.days.to_numpy()
    frame.loc[(days >= 30) & (days < 130), "active_kwh"] *= 4
    scores, events = run(frame, history_days=120)
    assert events == []
    assert scores["is_anomaly"].mean() < 0.1


def test_gate_keeps_known_levels_and_rises_and_snaps_up_new_lows() -> None:
    known = np.log(np.array([1.0, 4.0]))
    # known, known, a rise, below all, a partial loss in the upper regime, a busy base
    out = gate_levels(np.array([1.02, 4.0, 9.0, 0.6, 3.0, 1.5]), known)
    np.testing.assert_allclose(out, [1.02, 4.0, 9.0, 1.0, 4.0, 1.5])


def test_known_levels_leave_out_ramps_and_outages() -> None:
    days = pd.date_range("2022-01-01", periods=60, freq="D")
    level = np.r_[np.full(25, 1.0), np.linspace(1.0, 3.0, 5), np.full(25, 3.0), np.zeros(5)]
    known = np.exp(known_levels(pd.Series(level, index=days)))
    assert known.min() == pytest.approx(1.0, rel=0.02)
    assert known.max() == pytest.approx(3.0, rel=0.02)
    assert not ((known > 1.2) & (known < 2.5)).any()


def test_model_round_trip_and_format_version() -> None:
    frame = customer(30, seed=8)
    model = fit_customer(frame)
    again = CustomerModel.from_bytes(model.to_bytes())
    pd.testing.assert_frame_equal(model.predict(frame), again.predict(frame))
    assert {"mape", "mae", "coverage"} <= set(again.metrics)
    # the daily regime level travels with the model (sector co-movement is learnt from it)
    assert len(again.level_series) == 30
    np.testing.assert_allclose(
        again.level_series.to_numpy(), model.level_series.to_numpy(), rtol=1e-5
    )
    assert again.level_series.index.equals(model.level_series.index)
    bad = model.to_bytes().replace(b'"format_version": 1', b'"format_version": 99')
    with pytest.raises(ValueError, match="format version"):
        CustomerModel.from_bytes(bad)


def test_the_shape_table_gives_the_trees_numbers_without_running_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scoring reads the shape from the model's table (known levels, a level at or below 0, a
    missing level); the numbers are the trees' to the bit, and a level the table does not
    hold, or a model stored before the table, runs the trees."""
    import json

    frame = customer(HISTORY_DAYS, seed=12)
    step = (frame["ts"] >= frame["ts"].iloc[0] + pd.Timedelta(days=30)).to_numpy()
    frame["active_kwh"] *= np.where(step, 1.8, 1.0)  # a second regime: several known levels
    model = CustomerModel.from_bytes(fit_customer(frame).to_bytes())
    known = len(model.known_log_levels)
    assert known >= 2 and model.shape_table.shape == (known + 2, 7, 24)
    ts = frame["ts"]
    levels = model.nearest_known(model.levels(frame))
    levels[:30], levels[30:50], levels[50:60] = 0.0, np.nan, -1.0
    trees = model._trees(pd.DatetimeIndex(ts), levels)
    np.testing.assert_array_equal(model._shape(ts, levels), trees)
    # no tree is loaded or run for the tabled levels
    monkeypatch.setattr(CustomerModel, "_trees", lambda *a: pytest.fail("trees ran"))
    model.drop_trees(keep_stored=True)
    model._shape(ts, levels)
    monkeypatch.undo()
    # a level between the known ones is not in the table: the trees answer
    odd = levels.copy()
    odd[100:110] = np.exp(model.known_log_levels[0]) * 1.01
    np.testing.assert_array_equal(model._shape(ts, odd), model._trees(pd.DatetimeIndex(ts), odd))
    # a model written before the table predicts as it did
    doc = json.loads(model.to_bytes())
    del doc["shape_table"]
    older = CustomerModel.from_bytes(json.dumps(doc).encode())
    assert older.shape_table.shape == (0, 7, 24)
    pd.testing.assert_frame_equal(older.predict(frame), model.predict(frame))
    # loaded without decoding the booster (scoring): the same predictions, the trees decoded
    # when a level needs them (and an older model's), the same bytes written back
    stored = model.to_bytes()
    lazy = CustomerModel.from_bytes(stored, trees=False)
    assert lazy.booster == b"" and lazy._booster_text
    pd.testing.assert_frame_equal(lazy.predict(frame), model.predict(frame))
    assert lazy.booster == b""  # the table answered
    assert lazy.to_bytes() == stored
    np.testing.assert_array_equal(lazy._shape(ts, odd), model._shape(ts, odd))
    assert lazy.booster == model.booster  # decoded once the trees ran
    older_lazy = CustomerModel.from_bytes(json.dumps(doc).encode(), trees=False)
    pd.testing.assert_frame_equal(older_lazy.predict(frame), model.predict(frame))
    older_lazy.drop_trees()
    assert not older_lazy._has_trees()


def test_trees_run_once_per_group_of_levels_between_the_same_cuts() -> None:
    """At fit time the trees run once per (hour, weekday, interval between the level's
    histogram cuts): every split on the level is at a cut, so the numbers are the same to the
    bit as running every row (levels at, between and beyond the cuts, and missing ones)."""
    from meterwatch.detect.model import _fit_regressor, _predict_distinct

    frame = customer(HISTORY_DAYS, seed=21)
    frame["active_kwh"] *= np.where(np.arange(len(frame)) > len(frame) // 2, 1.7, 1.0)
    model = fit_customer(frame)
    level = model.levels(frame)
    regressor, cuts = _fit_regressor(frame, level, np.isfinite(level))
    assert cuts is not None and len(cuts) > 10 and cuts.dtype == np.float32
    rng = np.random.default_rng(5)
    # each cut, the float just below it and just above it, at one hour and weekday (a row at a
    # split goes right, the one just below it left), then random levels, some missing
    edges = np.concatenate(
        [np.nextafter(cuts, np.float32(-np.inf)), cuts, np.nextafter(cuts, np.float32(np.inf))]
    )
    logs = np.concatenate([edges, rng.uniform(cuts[0] - 1, cuts[-1] + 1, 5000)]).astype(np.float32)
    logs[len(edges) :][rng.random(5000) < 0.02] = np.nan
    hour, weekday = rng.integers(0, 24, len(cuts)), rng.integers(0, 7, len(cuts))
    features = np.column_stack(
        [
            np.r_[np.tile(hour, 3), rng.integers(0, 24, 5000)],
            np.r_[np.tile(weekday, 3), rng.integers(0, 7, 5000)],
            logs,
        ]
    ).astype(np.float32)
    every = np.asarray(regressor.inplace_predict(features))
    np.testing.assert_array_equal(_predict_distinct(regressor, features, cuts), every)
    np.testing.assert_array_equal(_predict_distinct(regressor, features, None), every)
    # a model's table is the same with and without the grouping
    table = model.shape_table.copy()
    model._level_cuts = None
    model.build_shape_table()
    np.testing.assert_array_equal(model.shape_table, table)


def test_short_history_falls_back_to_the_sector_profile() -> None:
    frame = customer(5, seed=9)
    profile = np.ones((7, 24))
    model = fit_customer(frame, sector_profile=profile)
    assert model.kind == "sector_profile"
    pred = model.predict(frame)
    assert (pred["upper_kwh"] >= pred["lower_kwh"]).all()


def test_daily_off_window_is_caught_at_hourly_resolution() -> None:
    # h2: the meter is off from 20:00 to 02:00 every day for ten days
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=10)
    hit = new_part(frame, 4, 10)
    hours = frame["ts"].dt.hour
    off = hit & ((hours >= 20) | (hours < 2)).to_numpy()
    frame.loc[off, "active_kwh"] = 0.0
    scores, events = run(frame)
    assert [e.kind for e in events] == ["under_registration"]
    assert events[0].params["zero_hours"] >= 50
    by_ts = scores.set_index("ts")
    # the switched-off hours rank above the same days' normal hours
    off_scores = by_ts.loc[frame.loc[off, "ts"], "score"]
    on_scores = by_ts.loc[frame.loc[hit & ~off, "ts"], "score"]
    assert off_scores.median() > on_scores.median()


def test_flat_reporting_is_its_own_kind() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=11)
    hit = new_part(frame, 6, 5)
    frame.loc[hit, "active_kwh"] = frame.loc[hit, "active_kwh"].mean()
    _, events = run(frame)
    assert "flat_reporting" in [e.kind for e in events]


def test_electrical_evidence_backs_an_under_registration() -> None:
    # a lifted potential transformer: phase A collapses and the active register reads 60 %
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=12)
    hit = new_part(frame, 3, 20)
    frame.loc[hit, "active_kwh"] *= 0.6
    frame.loc[hit, "voltage_fa"] = 120.0
    _, events = run(frame)
    assert [e.kind for e in events] == ["voltage_anomaly"]
    assert events[0].params["voltage_anomaly"]
    # the reactive register was not touched: the power factor changed too
    assert events[0].params["reactive_change"]


def test_reversed_profile_is_seen_whatever_the_timestamp_unit() -> None:
    # the lake stores timestamps in microseconds: whole days must still be whole days
    from meterwatch.detect.detectors import reversal_contrast

    ts = pd.date_range("2024-01-01", periods=24 * 10, freq="h")
    expected = np.tile(np.arange(24.0), 10)
    active = expected.copy()
    active[24 * 5 : 24 * 6] = active[24 * 5 : 24 * 6][::-1]
    for unit in ("ns", "us", "s"):
        contrast = reversal_contrast(pd.Series(ts.as_unit(unit)), active, expected, 1)
        assert contrast[24 * 5] > 0.4
        assert (contrast[: 24 * 5] < 0).all()


def test_reversed_profile_with_microsecond_timestamps_is_a_load_shape_change() -> None:
    frame = customer(HISTORY_DAYS + NEW_DAYS, seed=5)
    frame["ts"] = frame["ts"].dt.as_unit("us")
    hit = new_part(frame, 5, 14)
    values = frame.loc[hit, "active_kwh"].to_numpy().reshape(-1, 24)[:, ::-1].ravel()
    frame.loc[hit, "active_kwh"] = values
    _, events = run(frame)
    assert [e.kind for e in events] == ["load_shape_change"]


def idling_factory(days: int, seed: int) -> pd.DataFrame:
    """Works weekdays; on Sundays the meter reads exactly 0.3 kWh from 02:00 to 20:00."""
    frame = customer(days, seed=seed)
    idle = (frame["ts"].dt.dayofweek == 6) & frame["ts"].dt.hour.between(2, 19)
    frame.loc[idle, "active_kwh"] = 0.3
    return frame


def test_long_idle_at_the_meters_own_idle_reading_is_not_flat_reporting() -> None:
    frame = idling_factory(HISTORY_DAYS + NEW_DAYS, seed=13)
    # a two-day shutdown: the meter sits at its usual idle reading for 48 hours
    frame.loc[new_part(frame, 8, 2), "active_kwh"] = 0.3
    _, events = run(frame)
    assert "flat_reporting" not in [e.kind for e in events]


def test_flat_reporting_at_another_value_is_still_flat_reporting() -> None:
    frame = idling_factory(HISTORY_DAYS + NEW_DAYS, seed=14)
    hit = new_part(frame, 8, 5)
    frame.loc[hit, "active_kwh"] = frame.loc[hit, "active_kwh"].mean()
    _, events = run(frame)
    assert "flat_reporting" in [e.kind for e in events]


def morning_factory(days: int, seed: int, moved_days: int = 0) -> pd.DataFrame:
    """Works mornings (03:00 to 12:00); for its first ``moved_days`` it worked afternoons."""
    frame = customer(days, seed=seed)
    hour = frame["ts"].dt.hour.to_numpy()
    day = ((frame["ts"] - frame["ts"].iloc[0]).dt.days).to_numpy()
    morning = np.where((hour >= 3) & (hour < 12), 2.0, 0.4)
    afternoon = np.where((hour >= 12) & (hour < 21), 2.0, 0.4)
    shape = np.where(day < moved_days, afternoon, morning)
    rng = np.random.default_rng(seed)
    frame["active_kwh"] = 10 * shape * rng.lognormal(0, 0.08, len(frame))
    return frame


def test_reversal_during_a_new_campaign_is_a_load_shape_change() -> None:
    # a campaign at three times the level starts with the new data: the model has no weeks at
    # that level to judge its shape, but the day still runs backwards against the recent one
    frame = morning_factory(HISTORY_DAYS + NEW_DAYS, seed=15)
    frame.loc[new_part(frame, 0, NEW_DAYS), "active_kwh"] *= 3
    hit = new_part(frame, 7, 14)
    values = frame.loc[hit, "active_kwh"].to_numpy().reshape(-1, 24)[:, ::-1].ravel()
    frame.loc[hit, "active_kwh"] = values
    scores, events = run(frame)
    assert [e.kind for e in events] == ["load_shape_change"]
    flagged = scores.set_index("ts")["is_anomaly"].reindex(frame.loc[hit, "ts"])
    assert flagged.mean() > 0.7


def test_a_campaign_with_its_usual_profile_raises_no_reversal() -> None:
    frame = morning_factory(HISTORY_DAYS + NEW_DAYS, seed=16)
    frame.loc[new_part(frame, 0, NEW_DAYS), "active_kwh"] *= 3
    _, events = run(frame)
    assert events == []


def test_going_back_to_an_older_shift_is_not_a_reversal() -> None:
    # afternoons for 60 days, mornings for 60, then afternoons again: the day of the new part
    # is the reversed recent day, but one the customer has shown before
    frame = morning_factory(120 + NEW_DAYS, seed=17, moved_days=60)
    back = morning_factory(120 + NEW_DAYS, seed=18, moved_days=200)
    days = ((frame["ts"] - frame["ts"].iloc[0]).dt.days).to_numpy()
    frame.loc[days >= 125, "active_kwh"] = back.loc[days >= 125, "active_kwh"]
    _, events = run(frame, history_days=120)
    assert "load_shape_change" not in [e.kind for e in events]


def _profiled_days(profiles: list[np.ndarray]) -> tuple[pd.Series, np.ndarray]:
    ts = pd.Series(pd.date_range("2023-01-01", periods=24 * len(profiles), freq="h"))
    rng = np.random.default_rng(3)
    active = np.concatenate(profiles) * rng.uniform(0.95, 1.05, 24 * len(profiles))
    return ts, active


def test_trailing_reversal_finds_a_day_run_backwards_against_the_customers_own_weeks() -> None:
    from meterwatch.detect.detectors import trailing_reversal

    day = np.r_[np.full(8, 1.0), np.full(10, 4.0), np.full(6, 2.0)]
    ts, active = _profiled_days([day] * 20 + [day[::-1]] * 3 + [day] * 4)
    out = trailing_reversal(ts, active).reshape(-1, 24)[:, 0]
    assert np.isnan(out[:TRAIL_START]).all()  # no two-week reference yet
    assert (out[20:23] > 0.15).all()  # the reversed days
    assert (out[TRAIL_START:20] < 0).all() and (out[23:] < 0).all()


def test_trailing_reversal_ignores_a_return_to_a_profile_the_history_has_shown() -> None:
    from meterwatch.detect.detectors import trailing_reversal

    day = np.r_[np.full(8, 1.0), np.full(10, 4.0), np.full(6, 2.0)]
    ts, active = _profiled_days([day] * 20 + [day[::-1]] * 3)
    shown = day[::-1] / day.sum()  # an older shift, reversed against the recent weeks
    out = trailing_reversal(ts, active, [shown]).reshape(-1, 24)[:, 0]
    assert (out[20:23] <= 0).all()


def test_trailing_reversal_needs_a_profile_to_reverse() -> None:
    from meterwatch.detect.detectors import trailing_reversal

    ts, active = _profiled_days([np.full(24, 2.0)] * 25)
    assert np.isnan(trailing_reversal(ts, active)).all()


def test_a_public_holiday_is_expected_like_a_sunday() -> None:
    """A plant that runs its Sunday routine on public holidays (8 and 9 December 2022, a
    Thursday and a Friday) is not an under-registration: the shape model reads a holiday's
    weekday as Sunday, in its history and in the new hours (without it, two days at a third of
    a working day's energy were a 48-hour event)."""
    from meterwatch.detect.model import SUNDAY, _weekday_hour
    from meterwatch.public_holidays import peru_holidays

    frame = customer(390, seed=4)
    ts = pd.DatetimeIndex(frame["ts"])
    holidays = {d for d, _ in peru_holidays(dt.date(2022, 1, 1), dt.date(2023, 1, 31))}
    rest = (ts.dayofweek == SUNDAY) | np.isin(ts.date, list(holidays))
    frame.loc[rest, "active_kwh"] *= 0.3
    cut = pd.Timestamp("2022-11-20")
    model = fit_customer(frame[frame["ts"] < cut])
    scores = score_readings(model, frame, cut, client_id="c1")
    events = extract_events("c1", scores, model_quality=1.0)
    assert not [e for e in events if e.params.get("watch") is None], events
    days = scores.assign(day=scores["ts"].dt.floor("D")).groupby("day")["expected_kwh"].sum()
    sunday = days[pd.Timestamp("2022-12-11")]
    assert days[pd.Timestamp("2022-12-08")] == pytest.approx(sunday, rel=0.15)
    assert days[pd.Timestamp("2022-12-07")] > 2 * sunday  # an ordinary Wednesday
    # the weekday the model sees; the shape table is built on a week without a holiday
    weekday, _ = _weekday_hour(pd.DatetimeIndex(["2022-12-07", "2022-12-08", "2022-12-09"]))
    assert weekday.tolist() == [2, SUNDAY, SUNDAY]
    table_week = pd.date_range("2024-01-08", periods=7 * 24, freq="h")
    assert _weekday_hour(table_week)[0].reshape(7, 24)[:, 0].tolist() == list(range(7))
