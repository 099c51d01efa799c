"""One forecasting model per customer: expected hourly energy and a calibrated band.

The expected value of an hour is ``level(day) x shape(hour, weekday, level)``, where a
national public holiday's weekday is Sunday:

- ``shape`` is an XGBoost regressor on calendar features and the regime level only. It never
  sees the customer's recent observed values, so it cannot follow a sustained loss down
  (the prototype's first weak point).
- ``level`` is the customer's regime, the 7-day centred median of daily mean energy. At
  scoring time it is *gated*: a level the customer has shown before (the end of a campaign,
  a return to base load) or a rise is taken as it is; a level below what the customer has
  shown is snapped up to the nearest level it has shown. A theft therefore keeps being
  compared with the level it hides, while a campaign ending raises nothing.

The band is conformal: quantiles of normalised residuals on a held-out tail of the training
data, per customer, so a 95 % band holds about 95 % of clean hours for every customer and a
noisy customer gets a wide band instead of a flood of alerts. At prediction time the band
widens where the customer's last two weeks scatter more than that tail did (a new, noisier
regime), never for a step of the level.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from meterwatch.detect.detectors import KAPPA, calendar_day_sums
from meterwatch.public_holidays import peru_holidays

FORMAT_VERSION = 1
HOURS_PER_DAY = 24

# Knobs (values explained in docs/decisions/detection.md).
LEVEL_WINDOW_DAYS = 7  # regime level: centred median of this many daily means
LEVEL_TOLERANCE = 0.05  # a level within 5 % of one shown before counts as known
BAND_COVERAGE = 0.95  # the band's nominal coverage of clean hours
# The band widens where the customer's recent hours scatter more than its held-out tail did
# (a new regime, a noisier season): by the ratio of the spreads of the hour-to-hour changes of
# the normalised residual, the 14 days before the hour against the tail's, 1 to 3 times.
BAND_TRAIL_HOURS = 14 * 24
BAND_MAX_WIDEN = 3.0
CALIBRATION_SHARE = 0.2  # held-out tail of the training data for the band and the metrics
MIN_HISTORY_DAYS = 14  # less than this: the sector profile stands in for the model
LEVEL_SMOOTHING = (0.9, 0.95, 1.0, 1.05, 1.1)  # the shape is averaged over these level factors
SUPPORT_TOLERANCE = 0.1  # history "at a level" means within 10 % of it
STABLE_DAYS = 10  # a level held this many days out of 15 is a regime, not a ramp
OUTAGE_SHARE = 0.05  # days below 5 % of the median level are outages, not regimes
TARGET_CLIP_QUANTILE = 0.995  # shape targets above this quantile are clipped (catch-up spikes)
XGB_ROUNDS = 120
XGB_PARAMS: dict[str, Any] = {
    "max_depth": 5,
    "eta": 0.1,
    "subsample": 0.9,
    "min_child_weight": 20,
    "tree_method": "hist",
    "objective": "reg:squarederror",
    "nthread": 1,
    "seed": 0,
}
REQUIRED_COLUMNS = ("ts", "active_kwh", "reactive_kvarh", "voltage_fa", "voltage_fc")


# levels ---------------------------------------------------------------------------------
def daily_means(ts: pd.Series, active: np.ndarray) -> pd.Series:
    """Mean hourly energy of each calendar day (days with no readings absent)."""
    values = np.asarray(active, dtype=float)
    ok = np.isfinite(values)
    days, (total, n) = calendar_day_sums(ts, np.where(ok, values, 0.0), ok.astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(total / n, index=days)


def regime_level(daily: pd.Series) -> pd.Series:
    """The regime level of each day: centred rolling median of the daily means.

    A median over a week jumps exactly at a clean step (campaign start or end) and ignores a
    single odd day (a Sunday, a holiday).
    """
    if daily.empty:
        return daily
    full = daily.asfreq("D")
    level = full.rolling(LEVEL_WINDOW_DAYS, center=True, min_periods=1).median()
    return level.reindex(daily.index)


def stable_days(level: pd.Series) -> pd.Series:
    """Whether each day's regime level held (within ``LEVEL_TOLERANCE``) around it.

    A day counts when the level stayed within the tolerance for at least ``STABLE_DAYS`` of
    the ``2 x LEVEL_WINDOW_DAYS + 1`` days around it; ramps and the days next to a step do not.
    """
    if level.empty:
        return pd.Series(dtype=bool)
    full = level.asfreq("D") if isinstance(level.index, pd.DatetimeIndex) else level
    values = full.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(values > 0, values, np.nan))
    tol = np.log1p(LEVEL_TOLERANCE)
    half = LEVEL_WINDOW_DAYS
    count = np.zeros(len(logs))
    for k in range(-half, half + 1):
        shifted = np.roll(logs, k)
        if k > 0:
            shifted[:k] = np.nan
        elif k < 0:
            shifted[k:] = np.nan
        count += np.nan_to_num(np.abs(shifted - logs) <= tol)
    stable = np.isfinite(logs) & (count >= min(STABLE_DAYS, len(logs)))
    return pd.Series(stable, index=full.index).reindex(level.index).fillna(False).astype(bool)


def known_levels(level: pd.Series) -> np.ndarray:
    """Sorted log regime levels the customer has sustained, outages and ramps left out.

    The passing values of a ramp up or down are not regimes, and must not excuse a loss later
    (see :func:`stable_days`).
    """
    if level.empty:
        return np.array([], dtype=float)
    values = level.to_numpy(dtype=float)[stable_days(level).to_numpy()]
    if not len(values):
        return np.array([], dtype=float)
    values = values[values >= OUTAGE_SHARE * np.median(values)]
    # one value per 1 % step is plenty and keeps the artefact small
    return np.unique(np.round(np.log(values), 2))


def level_histogram(level: pd.Series) -> np.ndarray:
    """Days of history per 2 % step of log level (outage days left out)."""
    values = level.dropna().to_numpy(dtype=float)
    values = values[values > 0]
    if not len(values):
        return np.zeros((0, 2))
    values = values[values >= OUTAGE_SHARE * np.median(values)]
    bins, counts = np.unique(np.round(np.log(values) / 0.02) * 0.02, return_counts=True)
    return np.column_stack([bins, counts.astype(float)])


def gate_levels(level: np.ndarray, known_log: np.ndarray) -> np.ndarray:
    """Gate observed regime levels against the levels the customer has shown.

    A level close to a known one, or above all of them, is kept. A level below everything the
    customer has shown, or between two regimes but nearer the upper one (a partial loss during a
    campaign), is replaced by the known level above it; one nearer the lower regime belongs to
    it (a base load a little higher than usual) and is kept.
    """
    level = np.asarray(level, dtype=float)
    if not len(known_log):
        return level
    out = level.copy()
    tol = np.log1p(LEVEL_TOLERANCE)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_level = np.log(np.where(level > 0, level, np.nan))
    log_level = np.where(np.isnan(log_level), -np.inf, log_level)
    idx = np.searchsorted(known_log, log_level)
    below = known_log[np.clip(idx - 1, 0, len(known_log) - 1)]
    above = known_log[np.clip(idx, 0, len(known_log) - 1)]
    near = (np.abs(log_level - below) <= tol) | (np.abs(above - log_level) <= tol)
    higher = log_level > known_log[-1]
    lowest = log_level < known_log[0]
    nearer_upper = (above - log_level) < (log_level - below)
    snap = ~near & ~higher & ~np.isnan(level) & (lowest | nearer_upper)
    out[snap] = np.exp(above[snap])
    return out


def calendar_features(ts: pd.Series, level: np.ndarray) -> np.ndarray:
    """Features of the shape model: hour, weekday (a public holiday is a Sunday) and the log
    regime level."""
    weekday, hour = _weekday_hour(pd.DatetimeIndex(ts))
    return np.column_stack(
        [hour.astype(float), weekday.astype(float), np.log(np.maximum(level, 1e-6))]
    )


SUNDAY = 6


@functools.lru_cache(maxsize=16)
def _holiday_days(first_year: int, last_year: int) -> np.ndarray:
    """Days since 1970-01-01 of Peru's national public holidays in those years."""
    days = peru_holidays(dt.date(first_year, 1, 1), dt.date(last_year, 12, 31))
    return np.array([(d - dt.date(1970, 1, 1)).days for d, _ in days], dtype=np.int64)


def _weekday_hour(idx: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Day of week (Monday 0; a public holiday counts as a Sunday: most customers run their
    Sunday routine on it) and hour of day of hour starts, by integer arithmetic (pandas' field
    accessors cost more than the trees they feed); an aware index by its wall-clock time."""
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    seconds = idx.as_unit("s").asi8
    days = seconds // 86_400  # 1970-01-01 was a Thursday (3)
    weekday = (days + 3) % 7
    if len(days):
        first = dt.date(1970, 1, 1) + dt.timedelta(days=int(days.min()))
        last = dt.date(1970, 1, 1) + dt.timedelta(days=int(days.max()))
        weekday = np.where(np.isin(days, _holiday_days(first.year, last.year)), SUNDAY, weekday)
    return weekday, (seconds // 3_600) % 24


def _hour_level(ts: pd.Series, daily_level: pd.Series) -> np.ndarray:
    days = pd.DatetimeIndex(ts).floor("D")
    return daily_level.reindex(days).to_numpy(dtype=float)


# the model --------------------------------------------------------------------------------
@dataclass
class CustomerModel:
    """A customer's fitted model: shape, known levels, band and calibration statistics.

    ``predict`` gives the expected energy and band; ``stats`` holds the clean-period
    statistics the detectors standardise against. Use :func:`fit_customer` to build one and
    :meth:`to_bytes` / :meth:`from_bytes` to store it.
    """

    kind: str  # xgboost | sector_profile
    known_log_levels: np.ndarray
    band: tuple[float, float]  # quantiles of the normalised residual
    profile: np.ndarray  # 7 x 24 shape multipliers (weekday, hour), fallback and reference
    booster: bytes = b""
    trained_from: pd.Timestamp | None = None
    trained_until: pd.Timestamp | None = None
    n_train: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    # days of history per log-level step (column 0: log level, 1: days); empty = unknown
    level_days: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    # the history's regime level per calendar day (sector co-movement is learnt from it)
    level_series: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    # The shape at every level it is ever evaluated at (the known levels; a level at or below
    # 0; a missing level), per weekday and hour: rows of (known levels + 2) x 7 x 24, what the
    # trees give there. Scoring reads it instead of running (or even loading) the trees.
    shape_table: np.ndarray = field(default_factory=lambda: np.zeros((0, 7, 24)))
    _regressor: Any = field(default=None, repr=False, compare=False)
    # the booster as stored (base64), decoded only if the trees are run (``from_bytes`` with
    # ``trees=False``: scoring reads the shape table; decoding ~0.5 MB a model, only to drop
    # it, was about 3 % of a daily run's samples)
    _booster_text: str = field(default="", repr=False, compare=False)
    # the histogram cuts of the log-level feature the trees were grown on (float32; known at
    # fit time only): every split on the level is at one of them (``tree_method`` hist)
    _level_cuts: np.ndarray | None = field(default=None, repr=False, compare=False)

    def _has_trees(self) -> bool:
        return self._regressor is not None or bool(self.booster) or bool(self._booster_text)

    def drop_trees(self, *, keep_stored: bool = False) -> None:
        """Free the trees (scoring needs the statistics and the shape table, not them); with
        ``keep_stored`` only the loaded ones: the stored bytes stay, loaded again if ever run
        (a level the shape table does not hold)."""
        self._regressor = None
        if not keep_stored:
            self.booster, self._booster_text = b"", ""

    def without_trees(self) -> CustomerModel:
        """A copy that shares everything but the trees (left to this one)."""
        return replace(self, booster=b"", _regressor=None, _booster_text="")

    # prediction ---------------------------------------------------------------------
    def _table_rows(self, levels: np.ndarray) -> np.ndarray | None:
        """Row of :attr:`shape_table` for each of ``levels`` (the snapped levels
        ``nearest_known`` gives), or None where one of them is not a row: the trees then."""
        known = np.exp(self.known_log_levels)
        if len(self.shape_table) != len(known) + 2:
            return None
        rows = np.full(len(levels), -1, dtype=np.int64)
        missing = np.isnan(levels)
        rows[missing] = len(known) + 1
        rows[~missing & (levels <= 0)] = len(known)
        rest = np.flatnonzero(rows < 0)
        if len(rest):
            at = np.clip(np.searchsorted(known, levels[rest]), 0, max(len(known) - 1, 0))
            if not len(known) or not np.array_equal(known[at], levels[rest]):
                return None
            rows[rest] = at
        return rows

    def build_shape_table(self) -> None:
        """Fill :attr:`shape_table` from the trees (the same numbers :meth:`_shape` computes
        row by row: the trees see the same features)."""
        if self.kind != "xgboost" or not self._has_trees():
            return
        levels = np.r_[np.exp(self.known_log_levels), 0.0, np.nan]
        # a Monday and the week after it, 168 hours without a public holiday
        days = pd.date_range("2024-01-08", periods=7 * 24, freq="h")
        ts = pd.DatetimeIndex(np.tile(days.to_numpy(), len(levels)))
        level = np.repeat(levels, len(days))
        table = np.full((len(levels), 7, 24), np.nan)
        weekday, hour = _weekday_hour(ts)
        table[np.repeat(np.arange(len(levels)), len(days)), weekday, hour] = self._trees(ts, level)
        self.shape_table = table

    def _shape(self, ts: pd.Series, level: np.ndarray) -> np.ndarray:
        idx = pd.DatetimeIndex(ts)
        if self.kind != "xgboost" or not self._has_trees():
            weekday, hour = _weekday_hour(idx)
            return np.asarray(self.profile[weekday, hour], dtype=float)
        level = np.asarray(level, dtype=float)
        codes, uniques = pd.factorize(level, use_na_sentinel=False)
        rows = self._table_rows(np.asarray(uniques, dtype=float))
        if rows is not None:
            weekday, hour = _weekday_hour(idx)
            return np.asarray(self.shape_table[rows[codes], weekday, hour], dtype=float)
        return self._trees(idx, level)

    def _trees(self, idx: pd.DatetimeIndex, level: np.ndarray) -> np.ndarray:
        if self._regressor is None:
            import xgboost as xgb

            if not self.booster and not self._booster_text:
                # an empty booster would predict its base score: numbers, but wrong ones
                raise RuntimeError(
                    "the shape at a level the shape table does not hold needs the trees, "
                    "and this model's were dropped"
                )

            booster = xgb.Booster()
            if not self.booster and self._booster_text:
                self.booster = base64.b64decode(self._booster_text)
                self._booster_text = ""
            booster.load_model(bytearray(self.booster))
            booster.set_param({"nthread": 1})
            self._regressor = booster
        import xgboost as xgb

        # The features take few distinct values (hour x weekday x the known levels the scored
        # levels snap to): the trees run once per distinct (hour, weekday, level), the same
        # numbers as row by row at a fraction of the cost.
        codes, uniques = pd.factorize(np.asarray(level, dtype=float), use_na_sentinel=False)
        weekday, hour = _weekday_hour(idx)
        key = (codes.astype(np.int64) * 7 + weekday) * 24 + hour
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        level_of = np.asarray(uniques, dtype=float)[codes[first]]
        # Averaged over neighbouring levels: one odd day learnt at one exact level must not
        # become the expectation of every later day at that level. The features are
        # calendar_features' (hour, weekday, log level), the calendar part computed once.
        n = len(first)
        features = np.empty((len(LEVEL_SMOOTHING) * n, 3))
        features[:, 0] = np.tile(hour[first].astype(float), len(LEVEL_SMOOTHING))
        features[:, 1] = np.tile(weekday[first].astype(float), len(LEVEL_SMOOTHING))
        for k, f in enumerate(LEVEL_SMOOTHING):
            features[k * n : (k + 1) * n, 2] = np.log(np.maximum(level_of * f, 1e-6))
        raw = _predict_distinct(self._regressor, features.astype(np.float32), self._level_cuts)
        shape = np.maximum(np.asarray(raw, dtype=float), 0.0).reshape(len(LEVEL_SMOOTHING), -1)
        return np.asarray(shape.mean(axis=0)[inverse.reshape(-1)], dtype=float)

    def levels(self, frame: pd.DataFrame, *, gated: bool = True) -> np.ndarray:
        """The regime level of each row's day (kWh per hour), gated unless ``gated=False``."""
        daily = daily_means(frame["ts"], frame["active_kwh"].to_numpy(dtype=float))
        observed = regime_level(daily)
        if not gated:
            return _hour_level(frame["ts"], observed.ffill())
        kept = pd.Series(gate_levels(observed.to_numpy(), self.known_log_levels), observed.index)
        return _hour_level(frame["ts"], kept)

    def predict(self, frame: pd.DataFrame, *, gated: bool = True) -> pd.DataFrame:
        """Expected energy and the band for each row of ``frame``.

        Parameters
        ----------
        frame
            Hourly readings of this customer with columns ``ts``, ``active_kwh``,
            ``reactive_kvarh``, ``voltage_fa``, ``voltage_fc`` (sorted by ``ts``). The reported
            ``active_kwh`` sets the regime level (a week's median, gated against the levels
            the customer has shown, so a loss does not pull the expectation down); the hour's
            own value never enters its own expectation otherwise. Hours whose ``active_kwh`` is
            NaN (a forecast horizon) take the level of the days before them.
        gated
            ``False`` follows the observed level wherever it goes (a plain forecast, e.g. for the
            forecast-accuracy protocol); detection always uses the gated level.

        Returns
        -------
        DataFrame
            ``expected_kwh``, ``lower_kwh``, ``upper_kwh`` aligned with ``frame``'s index; the
            band holds about ``BAND_COVERAGE`` of clean hours.
        """
        if frame.empty:
            return pd.DataFrame({"expected_kwh": [], "lower_kwh": [], "upper_kwh": []}, dtype=float)
        expected, level = self.expectation(frame, gated=gated)
        scale = expected + KAPPA * level
        widen = self.band_widening(frame["active_kwh"].to_numpy(dtype=float), expected, scale)
        lo, hi = self.band
        return pd.DataFrame(
            {
                "expected_kwh": expected,
                "lower_kwh": np.maximum(expected + lo * widen * scale, 0.0),
                "upper_kwh": expected + hi * widen * scale,
                "level_kwh": level,
                "level_support_days": self.support_days(level),
            },
            index=frame.index,
        )

    def expectation(
        self, frame: pd.DataFrame, *, gated: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """``predict``'s expected energy and regime level alone (no band): what a calibration
        of the shape detectors needs from a whole history."""
        level = self.levels(frame, gated=gated)
        return level * self._shape(frame["ts"], self.nearest_known(level)), level

    def band_widening(
        self, active: np.ndarray, expected: np.ndarray, scale: np.ndarray
    ) -> np.ndarray:
        """Per hour, how much wider than the held-out tail's the band should be: the spread
        (2.5 % to 97.5 % quantile) of the hour-to-hour changes of the normalised residual over
        the ``BAND_TRAIL_HOURS`` before the hour (observed hours only, at least a week of them;
        never the hour itself), over the same spread on the tail, clipped to 1 ..
        ``BAND_MAX_WIDEN``. Hour-to-hour changes: a step of the level (a theft included) is
        one change, not scatter, so it does not widen the band; a noisier regime does.
        """
        reference = self.stats.get("band_step_spread", 0.0)
        if reference <= 0 or len(active) == 0:
            return np.ones(len(active))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = pd.Series((active - expected) / scale)
        alpha = (1 - BAND_COVERAGE) / 2
        rolling = z.diff().rolling(BAND_TRAIL_HOURS, min_periods=BAND_TRAIL_HOURS // 2)
        spread = (rolling.quantile(1 - alpha) - rolling.quantile(alpha)).shift(1).to_numpy()
        return np.clip(np.nan_to_num(spread / reference, nan=1.0), 1.0, BAND_MAX_WIDEN)

    def nearest_known(self, level: np.ndarray) -> np.ndarray:
        """The sustained level closest to each level: the regime whose shape applies.

        The shape model has only seen the regimes of the history; between them (the first days
        after a campaign, a level a little above the base) its trees are arbitrary.
        """
        level = np.asarray(level, dtype=float)
        known = self.known_log_levels
        if not len(known):
            return level
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.where(level > 0, level, np.nan))
        idx = np.clip(np.searchsorted(known, logs), 1, len(known) - 1) if len(known) > 1 else None
        if idx is None:
            out = np.full(len(level), np.exp(known[0]))
        else:
            lower, upper = known[idx - 1], known[idx]
            pick = np.where(np.abs(logs - lower) <= np.abs(upper - logs), lower, upper)
            out = np.exp(pick)
        return np.where(np.isfinite(logs), out, level)

    def support_days(self, level: np.ndarray) -> np.ndarray:
        """Days of history at a level within ``SUPPORT_TOLERANCE`` of each given level.

        The shape learnt at a level seen for a few days only is not worth judging a profile
        against (``inf`` when the model does not know its history).
        """
        level = np.asarray(level, dtype=float)
        if not len(self.level_days):
            return np.full(len(level), np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.where(level > 0, level, np.nan))
        bins, days = self.level_days[:, 0], self.level_days[:, 1]
        near = np.abs(logs[:, None] - bins[None, :]) <= np.log1p(SUPPORT_TOLERANCE)
        return (near * days[None, :]).sum(axis=1)

    # storage ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Serialise with the format version (JSON; the booster as base64 UBJSON)."""
        doc = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "known_log_levels": self.known_log_levels.tolist(),
            "band": list(self.band),
            "profile": np.round(self.profile, 6).tolist(),
            "booster": (
                self._booster_text
                if self._booster_text and not self.booster
                else base64.b64encode(self.booster).decode("ascii")
            ),
            "trained_from": None if self.trained_from is None else str(self.trained_from),
            "trained_until": None if self.trained_until is None else str(self.trained_until),
            "n_train": self.n_train,
            "metrics": self.metrics,
            "stats": self.stats,
            "params": self.params,
            "level_days": self.level_days.tolist(),
            "level_series": _series_doc(self.level_series),
            # float64 bytes, exact (JSON's decimal floats would be too, at twice the size)
            "shape_table": base64.b64encode(
                np.ascontiguousarray(self.shape_table, dtype="<f8").tobytes()
            ).decode("ascii"),
        }
        return json.dumps(doc).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, *, trees: bool = True) -> CustomerModel:
        """Load a model written by :meth:`to_bytes`; refuses an unknown format version.
        ``trees=False`` leaves the booster encoded until the trees are run (if ever)."""
        doc = json.loads(data.decode("utf-8"))
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"model format version {version} is not supported (expected {FORMAT_VERSION}); "
                "train again"
            )
        return cls(
            kind=doc["kind"],
            known_log_levels=np.asarray(doc["known_log_levels"], dtype=float),
            band=(float(doc["band"][0]), float(doc["band"][1])),
            profile=np.asarray(doc["profile"], dtype=float),
            booster=base64.b64decode(doc["booster"]) if trees else b"",
            trained_from=None if doc["trained_from"] is None else pd.Timestamp(doc["trained_from"]),
            trained_until=None
            if doc["trained_until"] is None
            else pd.Timestamp(doc["trained_until"]),
            n_train=int(doc["n_train"]),
            metrics={k: float(v) for k, v in doc["metrics"].items()},
            stats={k: float(v) for k, v in doc["stats"].items()},
            params=doc["params"],
            level_days=np.asarray(doc.get("level_days", []), dtype=float).reshape(-1, 2),
            level_series=_series_from_doc(doc.get("level_series")),
            # absent in models written before the table: the trees are run instead
            shape_table=np.frombuffer(
                base64.b64decode(doc.get("shape_table", "")), dtype="<f8"
            ).reshape(-1, 7, 24),
            _booster_text="" if trees else doc["booster"],
        )


def _series_doc(series: pd.Series) -> dict[str, Any] | None:
    """A daily series as its first day and values (``None`` for missing days)."""
    if series.empty:
        return None
    daily = series.asfreq("D")
    values = [None if not np.isfinite(v) else float(f"{v:.6g}") for v in daily.to_numpy()]
    return {"start": str(daily.index[0].date()), "values": values}


def _series_from_doc(doc: dict[str, Any] | None) -> pd.Series:
    if not doc:
        return pd.Series(dtype=float)
    values = np.array([np.nan if v is None else v for v in doc["values"]], dtype=float)
    return pd.Series(values, index=pd.date_range(doc["start"], periods=len(values), freq="D"))


# fitting ------------------------------------------------------------------------------------
def _clean_mask(frame: pd.DataFrame, level: np.ndarray) -> np.ndarray:
    """Rows fit to learn from: positive level, no negative energy, not an outage day."""
    from meterwatch.detect.detectors import STOPPED_MIN_HOURS, run_lengths

    active = frame["active_kwh"].to_numpy(dtype=float)
    ok = np.isfinite(active) & (active >= 0) & np.isfinite(level) & (level > 0)
    # the hours of a stopped meter are an outage even where the week's level is not yet 0
    ok &= ~((active == 0) & (run_lengths(active == 0) >= STOPPED_MIN_HOURS))
    median = np.nanmedian(level[ok]) if ok.any() else 0.0
    return ok & (level >= OUTAGE_SHARE * median)


def profile_of(frame: pd.DataFrame) -> np.ndarray:
    """The 7 x 24 (weekday, hour) shape multipliers of a series, relative to its level."""
    daily = daily_means(frame["ts"], frame["active_kwh"].to_numpy(dtype=float))
    level = _hour_level(frame["ts"], regime_level(daily))
    ok = _clean_mask(frame, level)
    out = np.ones((7, HOURS_PER_DAY))
    if not ok.any():
        return out
    weekday, hour = _weekday_hour(pd.DatetimeIndex(frame["ts"])[ok])
    ratio = frame["active_kwh"].to_numpy(dtype=float)[ok] / level[ok]
    table = pd.DataFrame({"d": weekday, "h": hour, "r": ratio}).groupby(["d", "h"])["r"].median()
    days = table.index.get_level_values(0).to_numpy(dtype=int)
    hours = table.index.get_level_values(1).to_numpy(dtype=int)
    out[days, hours] = table.to_numpy(dtype=float)
    return out


def reversed_share(ts: pd.Series, active: np.ndarray) -> float:
    """Share of the mean day's energy that reversing the day would move (0 for a flat day)."""
    hours = pd.DatetimeIndex(ts).hour.to_numpy()
    sums = np.bincount(hours, weights=np.clip(active, 0, None), minlength=24)
    counts = np.bincount(hours, minlength=24)
    day = np.divide(sums, counts, out=np.zeros(24), where=counts > 0)
    total = day.sum()
    return float(0.5 * np.abs(day - day[::-1]).sum() / total) if total > 0 else 0.0


def _cross_coverage(z: np.ndarray, clean: np.ndarray) -> float:
    """Held-out coverage of the band without judging it on its own residuals: the band's
    quantiles from one half of the tail's clean hours, counted on the other, both ways."""
    z = np.asarray(z, dtype=float)[np.asarray(clean, dtype=bool)]
    z = z[np.isfinite(z)]
    if len(z) < 96:
        return float("nan")
    alpha = (1 - BAND_COVERAGE) / 2
    halves = (z[: len(z) // 2], z[len(z) // 2 :])
    inside = []
    for fit, judge in (halves, halves[::-1]):
        lo, hi = np.quantile(fit, alpha), np.quantile(fit, 1 - alpha)
        inside.append((judge >= lo) & (judge <= hi))
    return float(np.concatenate(inside).mean())


def _predict_distinct(regressor: Any, features: np.ndarray, cuts: np.ndarray | None) -> np.ndarray:
    """The trees' output for each row of ``features`` (hour, weekday, log level; float32).

    With the level's histogram ``cuts`` (every split on the level is at one of them, and a
    row goes left where its value is below the split), two rows of the same hour and weekday
    whose levels have the same cuts at or below them follow the same path in every tree: the
    trees run once per such group, the same numbers to the bit. The five smoothing factors put
    neighbouring levels close together, so a table has fewer groups than rows.
    """
    if cuts is None or not len(features):
        return np.asarray(regressor.inplace_predict(features))
    level = features[:, 2]
    group = np.searchsorted(cuts, level, side="right").astype(np.int64)
    group[np.isnan(level)] = -1  # a missing level takes each tree's default branch
    key = ((group + 1) * 7 + features[:, 1].astype(np.int64)) * 24 + features[:, 0].astype(np.int64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    out = np.asarray(regressor.inplace_predict(features[first]))
    return out[inverse.reshape(-1)]


def _level_cuts(matrix: Any) -> np.ndarray | None:
    """The histogram cuts of the log-level feature (column 2) of a matrix trained on; None
    where XGBoost cannot give them (every row then runs the trees)."""
    try:
        indptr, values = matrix.get_quantile_cut()
    except (AttributeError, ValueError):  # XGBoostError is a ValueError
        return None
    return np.asarray(values[int(indptr[2]) : int(indptr[3])], dtype=np.float32)


def _fit_regressor(
    frame: pd.DataFrame, level: np.ndarray, mask: np.ndarray
) -> tuple[Any, np.ndarray | None]:
    """The shape's trees, and the level's histogram cuts they split at (``_predict_distinct``)."""
    import xgboost as xgb

    x = calendar_features(frame["ts"][mask], level[mask])
    y = frame["active_kwh"].to_numpy(dtype=float)[mask] / level[mask]
    # A meter that restarts after an outage may register the missed energy in one hour:
    # such spikes must not become a learned pattern.
    if len(y):
        y = np.minimum(y, np.quantile(y, TARGET_CLIP_QUANTILE))
    # one thread, as the trees (XGB_PARAMS): a matrix built with every core's OpenMP threads
    # while the other fitting worker holds the other core spun for ~25 ms a fit, about 1 s of
    # a first score's walk-forward fits in 6 (identical matrices and trees)
    matrix = xgb.DMatrix(x, label=y, nthread=1)
    booster = xgb.train(XGB_PARAMS, matrix, num_boost_round=XGB_ROUNDS)
    return booster, _level_cuts(matrix)


def fit_customer(
    frame: pd.DataFrame,
    *,
    sector_profile: np.ndarray | None = None,
    min_history_days: int = MIN_HISTORY_DAYS,
    calibrated_by: tuple[CustomerModel, pd.Timestamp] | None = None,
) -> CustomerModel:
    """Fit a customer's model on its hourly readings.

    Parameters
    ----------
    frame
        The customer's readings, columns ``ts``, ``active_kwh``, ``reactive_kvarh``,
        ``voltage_fa``, ``voltage_fc``, any order (sorted here).
    sector_profile
        The (weekday, hour) shape of the customer's sector; used instead of a fitted shape
        when the customer has less than ``min_history_days`` of history.
    min_history_days
        Days of history below which the sector profile stands in for the XGBoost model.
    calibrated_by
        ``(model, cut)``: a model fitted by this function on exactly the readings before
        ``cut`` (the walk-forward's model of the origin before). It is the probe the
        calibration tail (the readings from ``cut`` on) is judged with, instead of one fitted
        here on the first ``1 - CALIBRATION_SHARE`` of the history: the same trees, since the
        same readings give the same fit, so only the split moves (to ``cut``) and one fit of
        two is saved. Ignored when the model is not an XGBoost one or ``cut`` leaves either
        part without two weeks.

    Returns
    -------
    CustomerModel
        ``predict(frame)`` gives ``expected_kwh``, ``lower_kwh``, ``upper_kwh``; ``metrics``
        holds hourly MAPE, MAE and band coverage on the held-out tail of the history, and the
        figures operators read (:func:`held_out_accuracy`: hourly WAPE, period MAPE at 8, 12,
        24 and 48 h), also kept in ``params["held_out"]``.
    """
    from meterwatch.detect import detectors

    frame = frame.sort_values("ts").reset_index(drop=True)
    ts = frame["ts"]
    days = ts.dt.floor("D").nunique() if len(frame) else 0
    insufficient = days < min_history_days
    if insufficient:
        return _fallback(frame, sector_profile)

    active = frame["active_kwh"].to_numpy(dtype=float)
    n_days = int(days)
    cut_day = ts.dt.floor("D").min() + pd.Timedelta(days=round(n_days * (1 - CALIBRATION_SHARE)))
    given: CustomerModel | None = None
    if calibrated_by is not None and calibrated_by[0].kind == "xgboost":
        cut = pd.Timestamp(calibrated_by[1])
        before = ts < cut
        if (
            ts[before].dt.floor("D").nunique() >= min_history_days
            and ts[~before].dt.floor("D").nunique() >= min_history_days
        ):
            given, cut_day = calibrated_by[0], cut
    head = (ts < cut_day).to_numpy()
    fit_part, cal_part = frame[head], frame[~head].reset_index(drop=True)

    # 1. shape on the first part, levels known from it; band and statistics from the tail
    daily_fit = daily_means(fit_part["ts"], fit_part["active_kwh"].to_numpy(dtype=float))
    level_fit = regime_level(daily_fit)
    hour_level_fit = _hour_level(fit_part["ts"], level_fit)
    mask_fit = _clean_mask(fit_part, hour_level_fit)
    profile = profile_of(frame)
    if given is not None:
        probe = given
    else:
        probe = CustomerModel(
            kind="xgboost",
            known_log_levels=known_levels(level_fit),
            band=(-1.0, 1.0),
            profile=profile,
        )
        probe._regressor, probe._level_cuts = _fit_regressor(fit_part, hour_level_fit, mask_fit)
    pred = probe.predict(cal_part)
    cal_level = pred["level_kwh"].to_numpy()
    cal_ok = _clean_mask(cal_part, cal_level)
    exp = pred["expected_kwh"].to_numpy()
    act = cal_part["active_kwh"].to_numpy(dtype=float)
    z_tail = (act - exp) / (exp + KAPPA * cal_level)
    z = z_tail[cal_ok & np.isfinite(z_tail)]
    alpha = (1 - BAND_COVERAGE) / 2
    band = (
        (float(np.quantile(z, alpha)), float(np.quantile(z, 1 - alpha)))
        if len(z) >= 48
        else (-0.6, 0.6)
    )
    stats = detectors.calibrate(cal_part, pred, band, cal_ok)
    steps = np.diff(z_tail)[(cal_ok[1:] & cal_ok[:-1])]
    steps = steps[np.isfinite(steps)]
    if len(steps) >= 48:
        stats["band_step_spread"] = float(np.quantile(steps, 1 - alpha) - np.quantile(steps, alpha))

    # 2. the final shape on all the history, every level it has shown
    daily_all = daily_means(ts, active)
    level_all = regime_level(daily_all)
    hour_level_all = _hour_level(ts, level_all)
    mask_all = _clean_mask(frame, hour_level_all)
    booster, cuts = _fit_regressor(frame, hour_level_all, mask_all)
    raw = bytes(booster.save_raw("ubj"))

    # 3. a customer whose daily profile wandered over its history (shifts moved) may wander
    # again: shape statistics take the wider of the tail's and the whole history's spread
    final = CustomerModel(
        kind="xgboost", known_log_levels=known_levels(level_all), band=band, profile=profile
    )
    final._regressor = booster
    final._level_cuts = cuts
    final.build_shape_table()
    whole = pd.DataFrame({"expected_kwh": final.expectation(frame)[0]})
    for key, value in detectors.shape_calibration(frame, whole, mask_all).items():
        stats[key] = max(stats[key], value)
    stats["reversal_strength"] = reversed_share(frame["ts"][mask_all], active[mask_all])
    stats.update(
        detectors.recent_profile_stats(
            frame["ts"],
            np.where(mask_all, active, np.nan),
            cal_part["ts"],
            np.where(cal_ok, cal_part["active_kwh"].to_numpy(dtype=float), np.nan),
            detectors.recent_profile(
                fit_part["ts"],
                np.where(mask_fit, fit_part["active_kwh"].to_numpy(dtype=float), np.nan),
            ),
        )
    )

    # the trailing reversal against the history's own days (profile shifts included)
    trail = detectors.trailing_reversal(
        frame["ts"], np.where(mask_all, active, np.nan), detectors.library_of(stats)
    )
    tail_trail = np.where((ts >= cut_day).to_numpy(), trail, np.nan)
    if np.isfinite(tail_trail).sum() >= 24 * detectors.TRAIL_DAYS:
        tail_days = float(np.isfinite(tail_trail).sum()) / 24
        margin = max(1.0, float(np.sqrt(detectors.CALIBRATION_FULL_DAYS / tail_days)))
        med, spread = detectors.calibrated_spread(tail_trail, "reversal_day")
        stats["trail_reversal_med"], stats["trail_reversal_spread"] = med, spread * margin

    keep = cal_ok & (act > 0)
    mape = float(np.mean(np.abs(act[keep] - exp[keep]) / act[keep]) * 100) if keep.any() else np.nan
    held_out = held_out_accuracy(cal_part["ts"], act, exp, cal_ok)
    metrics = {
        "mape": mape,
        "mae": float(np.mean(np.abs(act[cal_ok] - exp[cal_ok]))) if cal_ok.any() else np.nan,
        "coverage": _cross_coverage(z_tail, cal_ok),
        **held_out,
    }
    return CustomerModel(
        kind="xgboost",
        known_log_levels=known_levels(level_all),
        band=band,
        profile=profile,
        booster=raw,
        trained_from=ts.iloc[0],
        trained_until=ts.iloc[-1],
        n_train=len(frame),
        metrics=metrics,
        stats=stats,
        # the operator's accuracy figures travel in params to the models table (its columns
        # hold the hourly ones)
        params={**XGB_PARAMS, "rounds": XGB_ROUNDS, "band": list(band), "held_out": held_out},
        level_days=level_histogram(level_all),
        level_series=level_all,
        shape_table=final.shape_table,
    )


#: Period lengths (hours) at which the held-out forecast is judged: the frequencies of the
#: reference prototypes (their coarsest one per customer); 24 h is the one shown by default.
PERIOD_HOURS = (8, 12, 24, 48)
MIN_PERIOD_SHARE = 0.5  # a period with fewer clean hours than this share is not judged


def held_out_accuracy(
    ts: pd.Series, actual: np.ndarray, expected: np.ndarray, ok: np.ndarray
) -> dict[str, float]:
    """Forecast accuracy an operator can trust, on the held-out tail's clean hours ``ok``.

    ``wape``: hourly weighted absolute percentage error, sum |error| / sum |actual| (percent;
    idle hours near 0 kWh do not blow it up as they do the hourly MAPE). ``period_mape_<h>``:
    MAPE of the energy summed over periods of ``h`` hours (:data:`PERIOD_HOURS`, aligned to
    midnight), over periods with at least half their hours clean and a non-zero total.
    """
    act, exp = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    good = np.asarray(ok, dtype=bool) & np.isfinite(act) & np.isfinite(exp)
    out: dict[str, float] = {"wape": np.nan}
    total = float(np.abs(act[good]).sum())
    if total > 0:
        out["wape"] = float(np.abs(act[good] - exp[good]).sum() / total * 100)
    stamps = pd.DatetimeIndex(pd.to_datetime(pd.Series(ts).reset_index(drop=True)))
    # whole hours since the epoch: a period of h hours is hour // h (aligned to midnight, as
    # pandas' floor), summed by bincount instead of a groupby per period length
    epoch_hours = (stamps.as_unit("s").asi8 // 3600)[good]
    for hours in PERIOD_HOURS:
        key = f"period_mape_{hours}"
        out[key] = np.nan
        if not good.any():
            continue
        period = epoch_hours // hours
        period = period - period.min()
        a_sum = np.bincount(period, weights=act[good])
        e_sum = np.bincount(period, weights=exp[good])
        n = np.bincount(period)
        judged = (n >= MIN_PERIOD_SHARE * hours) & (a_sum != 0)
        if judged.any():
            ape = np.abs(a_sum[judged] - e_sum[judged]) / np.abs(a_sum[judged])
            out[key] = float(ape.mean() * 100)
    return out


def _fallback(frame: pd.DataFrame, sector_profile: np.ndarray | None) -> CustomerModel:
    """The sector's shape scaled to the customer's own level, with a wide band."""
    from meterwatch.detect import detectors

    profile = sector_profile if sector_profile is not None else np.ones((7, HOURS_PER_DAY))
    levels = np.array([], dtype=float)
    series = pd.Series(dtype=float)
    if len(frame):
        daily = daily_means(frame["ts"], frame["active_kwh"].to_numpy(dtype=float))
        series = regime_level(daily)
        levels = known_levels(series)
    return CustomerModel(
        kind="sector_profile",
        known_log_levels=levels,
        band=(-0.8, 1.5),
        profile=np.asarray(profile, dtype=float),
        trained_from=frame["ts"].iloc[0] if len(frame) else None,
        trained_until=frame["ts"].iloc[-1] if len(frame) else None,
        n_train=len(frame),
        metrics={"mape": np.nan, "mae": np.nan, "coverage": np.nan},
        stats=detectors.default_stats(),
        params={"fallback": True},
        level_series=series,
    )
