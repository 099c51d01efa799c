"""One-step-ahead forecast of a customer's period totals (the forecast-accuracy model).

The detection model (:mod:`meterwatch.detect.model`) deliberately never looks at the
customer's latest readings, so that a sustained loss cannot drag its expectation down. A
*forecast* is judged differently: one step ahead, with every value up to the previous
period known (docs/domain-notes.md#forecast-accuracy). This module is that forecaster.

Per customer and period length (8 to 48 hours, or hourly):

- the hourly readings are summed into periods (:func:`meterwatch.periods.to_periods`);
- features of period ``t`` use periods before ``t`` only: the last few periods, the same
  period one to seven days before, the mean of the same period of the weekly cycle over the
  last four weeks, the means of the last day, week and four weeks, the previous period's
  reactive energy, the start hour, the weekday and the share of public-holiday hours;
- the target is ``log(y + c)`` (``c`` = ``FLOOR_SHARE`` x the history's median period), either
  as it is (``absolute``) or relative to the mean of the last day (``relative``), with the
  value features divided by that level too. The relative target follows a campaign's start
  or end within a period or two, which trees cannot do on an absolute target (they do not
  extrapolate past the levels they saw); the absolute target is steadier for customers with
  small values (the floor ``c`` keeps their ratios from blowing up);
- the three members (absolute, relative to the last day, relative to the same period a week
  before) are each fitted on the history minus its tail and forecast that tail one step
  ahead; their log forecasts are averaged with weights ``MAPE ** -WEIGHT_POWER`` and the
  members are refitted on the whole history. The new data is never used to weigh them.

Knob values are explained in ``docs/decisions/forecast.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from meterwatch.periods import to_periods
from meterwatch.public_holidays import holiday_share

HOURS_PER_DAY = 24
HOURS_PER_WEEK = 168

# Knobs (values explained in docs/decisions/forecast.md).
RECENT_HOURS = 96  # the previous periods covering this many hours are lags (at least MIN_RECENT)
MIN_RECENT = 4
DAILY_LAGS = 7  # same period 1..7 days before (periods of 24 h or less that divide a day)
SAME_WEEKS = 4  # mean of the same period of the weekly cycle over the last 4 weeks
FLOOR_SHARE = 0.1  # c = this share of the history's median period (log target, level floor)
VALIDATION_SHARE = 0.2  # tail of the history that weighs the members
MIN_VALIDATION_PERIODS = 20
MIN_FIT_PERIODS = 30
XGB_ROUNDS = 300
XGB_PARAMS: dict[str, Any] = {
    "max_depth": 4,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 3,
    "tree_method": "hist",
    "objective": "reg:absoluteerror",
    "nthread": 1,
    "seed": 0,
}
WEIGHT_POWER = 8.0  # member weight = its validation MAPE ** -WEIGHT_POWER
TARGETS = ("absolute", "relative", "weekly")
TARGET_BASE = {"absolute": "none", "relative": "day", "weekly": "week"}


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if 0 < k < len(values):
        out[k:] = values[:-k]
    return out


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` values *before* each position (NaN where none)."""
    prev = pd.Series(_shift(values, 1))
    return prev.rolling(max(window, 1), min_periods=1).mean().to_numpy()


def _nanmean(rows: list[np.ndarray]) -> np.ndarray:
    """Mean of the non-NaN values of each column (NaN where all are NaN)."""
    stacked = np.vstack(rows)
    known = np.isfinite(stacked)
    count = known.sum(axis=0)
    total = np.where(known, stacked, 0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


BASES = ("none", "day", "week")  # what the target is relative to (none: absolute)


@dataclass(frozen=True)
class Features:
    """Feature matrix of a period series and the pieces needed to undo the target."""

    x: np.ndarray
    level: np.ndarray  # the target's denominator (ones for an absolute target)
    names: list[str]


def base_level(y: np.ndarray, freq_hours: int, base: str) -> np.ndarray:
    """The level a relative target is divided by, from periods before each one.

    ``day``: mean of the last day's periods; ``week``: the same period one week before
    (the mean of the last week when the period does not divide a week); ``none``: NaN.
    """
    per_day = max(1, HOURS_PER_DAY // freq_hours)
    if base == "day":
        return _trailing_mean(y, per_day)
    if base == "week":
        if HOURS_PER_WEEK % freq_hours == 0:
            return _shift(y, HOURS_PER_WEEK // freq_hours)
        return _trailing_mean(y, round(HOURS_PER_WEEK / freq_hours))
    return np.full(len(y), np.nan)


def build_features(periods: pd.DataFrame, freq_hours: int, floor: float, *, base: str) -> Features:
    """Features of every period from the periods *before* it only.

    Parameters
    ----------
    periods
        Consecutive periods (``active``, ``reactive``, ``start``), oldest first.
    freq_hours
        Period length.
    floor
        ``c``: added to values before logs and to the level before dividing.
    base
        ``none`` (absolute target), ``day`` or ``week`` (value features divided by that
        level, see :func:`base_level`).
    """
    y = np.clip(periods["active"].to_numpy(dtype=float), 0, None)
    reactive = periods["reactive"].to_numpy(dtype=float)
    per_day = max(1, HOURS_PER_DAY // freq_hours)
    per_week = max(1, round(HOURS_PER_WEEK / freq_hours))
    relative = base != "none"
    level = base_level(y, freq_hours, base)
    scale = (level + floor) if relative else np.ones(len(y))
    cols: list[np.ndarray] = []
    names: list[str] = []

    def add(name: str, values: np.ndarray, *, value: bool = True) -> None:
        names.append(name)
        cols.append(values / scale if value else values)

    n_recent = max(MIN_RECENT, RECENT_HOURS // freq_hours)
    for k in range(1, n_recent + 1):
        add(f"lag{k}", _shift(y, k))
    if freq_hours <= HOURS_PER_DAY and HOURS_PER_DAY % freq_hours == 0:
        for d in range(1, DAILY_LAGS + 1):
            k = d * per_day
            if k > n_recent:
                add(f"day{d}", _shift(y, k))
    cycle = math.lcm(freq_hours, HOURS_PER_WEEK)  # hours until the same weekday and hour
    if cycle <= SAME_WEEKS * HOURS_PER_WEEK // 2:  # at least two of them
        step = cycle // freq_hours
        same = [_shift(y, w * step) for w in range(1, SAME_WEEKS * HOURS_PER_WEEK // cycle + 1)]
        add("mean_same_weekly", _nanmean(same))
    add("mean_day", _trailing_mean(y, per_day))
    add("mean_week", _trailing_mean(y, per_week))
    add("mean_4weeks", _trailing_mean(y, 4 * per_week))
    add("reactive1", _shift(reactive, 1))
    if relative:
        add("log_level", np.log(level + floor), value=False)
    start = pd.DatetimeIndex(periods["start"])
    add("hour", start.hour.to_numpy(dtype=float), value=False)
    add("weekday", start.weekday.to_numpy(dtype=float), value=False)
    add("holiday", holiday_share(start, freq_hours), value=False)
    return Features(np.column_stack(cols), level, names)


class _Member:
    """One XGBoost model on one target (absolute, or relative to a base level)."""

    def __init__(self, freq_hours: int, floor: float, base: str) -> None:
        self.freq_hours = freq_hours
        self.floor = floor
        self.base = base
        self.booster: Any = None

    def _offset(self, f: Features) -> np.ndarray:
        if self.base == "none":
            return np.zeros(len(f.level))
        return np.log(f.level + self.floor)

    def fit(self, periods: pd.DataFrame, rows: np.ndarray) -> _Member:
        import xgboost as xgb

        f = build_features(periods, self.freq_hours, self.floor, base=self.base)
        y = periods["active"].to_numpy(dtype=float)
        target = np.log(np.clip(y, 0, None) + self.floor) - self._offset(f)
        keep = rows & np.isfinite(target) & ~np.isnan(f.x[:, 0])
        self.booster = xgb.train(
            XGB_PARAMS,
            xgb.DMatrix(f.x[keep], label=target[keep], nthread=1),
            num_boost_round=XGB_ROUNDS,
        )
        return self

    def predict_log(self, periods: pd.DataFrame) -> np.ndarray:
        """``log(prediction + c)`` of every period (NaN where the base level is unknown)."""
        import xgboost as xgb

        f = build_features(periods, self.freq_hours, self.floor, base=self.base)
        out = np.asarray(self.booster.predict(xgb.DMatrix(f.x, nthread=1)), dtype=float)
        return out + self._offset(f)


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """MAPE in percent over the non-zero actual values (NaN when there are none)."""
    keep = np.isfinite(actual) & (actual != 0) & np.isfinite(predicted)
    if not keep.any():
        return float("nan")
    return float(np.mean(np.abs(actual[keep] - predicted[keep]) / np.abs(actual[keep])) * 100)


class PeriodForecaster:
    """One customer's one-step-ahead forecaster of period totals.

    Three members (``TARGETS``: the target absolute, relative to the last day, relative to
    the same period a week before) are averaged in log space, each weighted by its one-step
    MAPE on the tail of the history to the power ``-WEIGHT_POWER``: close to picking the
    best one where one is clearly better, close to their plain mean where they tie.

    Parameters
    ----------
    freq_hours
        Period length in hours.
    """

    def __init__(self, freq_hours: int) -> None:
        self.freq_hours = int(freq_hours)
        self.floor = 1.0
        self.validation: dict[str, float] = {}
        self.weights: dict[str, float] = {t: 1 / len(TARGETS) for t in TARGETS}
        self._members: dict[str, _Member] = {}

    @property
    def choice(self) -> str:
        """The members' weights, largest first (e.g. ``relative 0.71, weekly 0.20, ...``)."""
        ranked = sorted(self.weights.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{t} {w:.2f}" for t, w in ranked)

    def _combine(self, logs: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
        """Weighted mean in log space of the members that have a value, back to kWh."""
        stacked = np.vstack([logs[TARGET_BASE[t]] for t in weights])
        known = np.isfinite(stacked)
        w = np.array(list(weights.values()))[:, None] * known
        total = np.where(known, stacked, 0) * w
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total.sum(axis=0) / w.sum(axis=0)
        with np.errstate(over="ignore"):
            return np.clip(np.exp(out) - self.floor, 0, None)

    def fit(self, periods: pd.DataFrame) -> PeriodForecaster:
        """Fit on the customer's history periods (:func:`meterwatch.periods.to_periods`), weighing the members."""
        periods = periods.reset_index(drop=True)
        y = periods["active"].to_numpy(dtype=float)
        positive = y[y > 0]
        median = float(np.median(positive)) if len(positive) else 1.0
        self.floor = max(FLOOR_SHARE * median, 1e-6)
        n = len(periods)
        n_val = max(MIN_VALIDATION_PERIODS, round(VALIDATION_SHARE * n))
        if n - n_val >= MIN_FIT_PERIODS:
            fit_rows = np.arange(n) < n - n_val
            logs = {
                b: _Member(self.freq_hours, self.floor, b)
                .fit(periods, fit_rows)
                .predict_log(periods)
                for b in BASES
            }
            tail = ~fit_rows
            self.validation = {
                t: mape(y[tail], self._combine(logs, {t: 1.0})[tail]) for t in TARGETS
            }
            scored = {t: max(v, 1e-6) for t, v in self.validation.items() if np.isfinite(v)}
            if scored:
                best = min(scored.values())  # scaled by the best: no overflow for tiny MAPEs
                raw = {t: (best / v) ** WEIGHT_POWER for t, v in scored.items()}
                self.weights = {t: w / sum(raw.values()) for t, w in raw.items()}
        everything = np.ones(n, dtype=bool)
        self._members = {
            TARGET_BASE[t]: _Member(self.freq_hours, self.floor, TARGET_BASE[t]).fit(
                periods, everything
            )
            for t in self.weights
        }
        return self

    def predict(self, periods: pd.DataFrame) -> np.ndarray:
        """One-step-ahead forecast of every period from the periods before it.

        ``periods`` holds the history followed by the periods to forecast, with their
        observed values: the forecast of period ``t`` reads periods before ``t`` only.
        """
        if not self._members:
            raise RuntimeError("fit the forecaster first")
        periods = periods.reset_index(drop=True)
        logs = {b: m.predict_log(periods) for b, m in self._members.items()}
        return self._combine(logs, self.weights)


def forecast_new_periods(
    history: pd.DataFrame, new: pd.DataFrame, freq_hours: int
) -> tuple[pd.DataFrame, PeriodForecaster]:
    """Fit on one customer's hourly ``history`` and forecast ``new`` one period ahead.

    Periods are counted from the first new hour (history periods aligned on it).

    Returns
    -------
    tuple
        The new periods (``period``, ``start``, ``active``, ``hours``, ...) with
        ``predicted``; the fitted forecaster (its ``choice`` and ``validation`` MAPEs).
    """
    origin = pd.Timestamp(new["ts"].min())
    hist = consecutive(
        to_periods(history.sort_values("ts"), freq_hours, origin), freq_hours, origin
    )
    fresh = to_periods(new.sort_values("ts"), freq_hours, origin)
    model = PeriodForecaster(freq_hours).fit(hist)
    both = consecutive(pd.concat([hist, fresh], ignore_index=True), freq_hours, origin)
    predicted = pd.Series(model.predict(both), index=both["period"].to_numpy())
    return fresh.assign(predicted=predicted.reindex(fresh["period"]).to_numpy()), model


def consecutive(periods: pd.DataFrame, freq_hours: int, origin: pd.Timestamp) -> pd.DataFrame:
    """``periods`` with the missing ones (gaps in the readings) inserted as NaN, so that a
    lag of ``k`` rows is always ``k`` periods back."""
    if periods.empty:
        return periods.reset_index(drop=True)
    index = np.arange(int(periods["period"].min()), int(periods["period"].max()) + 1)
    out = periods.set_index("period").reindex(index)
    out.index.name = "period"
    out = out.reset_index()
    out["start"] = origin + pd.to_timedelta(out["period"] * freq_hours, unit="h")
    out["hours"] = out["hours"].fillna(0)
    return out
