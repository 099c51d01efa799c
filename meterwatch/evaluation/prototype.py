"""The prototype's method, re-implemented as docs/domain-notes.md#the-prototype describes it (the baseline).

Per customer: resample to a coarse period (8 to 48 hours; the reference table's
``Frecuencia``), fit XGBoost on the previous periods' values (``Rezago`` lags), the same
period's reactive energy, the month and the period's start hour; zeros replaced by the
customer's mean before training. The one-step prediction of each new period uses the
*observed* previous periods (so a sustained theft drags the forecast down with it), a fixed
band of +-20 % marks periods outside it as anomalous, and a red alert shows while more than
20 % of the recent periods are anomalous. LSTM customers of the reference table get the
XGBoost defaults below: the evaluation re-implements only the XGBoost kind.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from meterwatch.periods import to_periods

DEFAULT_FREQ_HOURS = 12


@dataclass(frozen=True)
class PrototypeConfig:
    """One customer's prototype settings.

    Attributes
    ----------
    freq_hours
        Period length in hours (the prototype resampled to 8, 12, 24 or 48 hours).
    lags
        Number of previous periods fed to the model.
    n_estimators, max_depth, learning_rate
        XGBoost hyperparameters (the reference's ``Hiperparametros`` for XGB customers).
    band
        Half-width of the band as a share of the prediction.
    alert_share
        A red alert shows when more than this share of the recent periods is anomalous.
    recent_hours
        How far back "recent" reaches, in hours (converted to whole periods).
    use_reactive
        Feed the same period's reactive energy.
    """

    freq_hours: int = DEFAULT_FREQ_HOURS
    lags: int = 15
    n_estimators: int = 100
    max_depth: int = 5
    learning_rate: float = 0.1
    band: float = 0.20
    alert_share: float = 0.20
    recent_hours: int = 336
    use_reactive: bool = True


def read_reference(path: str | Path) -> pd.DataFrame:
    """Read the prototype's per-customer table (``seed_best_models.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``client_id`` (``Cliente <N>``), ``freq_hours``, ``lags``, ``model``,
        ``hyperparameters`` (the raw tuple text) and ``reference_mape`` (percent).
    """
    raw = pd.read_csv(path)
    freq = raw["Frecuencia"].astype(str).str.upper().str.rstrip("H").astype(int)
    return pd.DataFrame(
        {
            "client_id": "Cliente " + raw["Cliente"].astype(str).str.strip(),
            "freq_hours": freq,
            "lags": raw["Rezago"].astype(int),
            "model": raw["Modelo"].astype(str),
            "hyperparameters": raw["Hiperparametros"].astype(str),
            "use_reactive": (
                raw["Incluye_reactiva"].astype(str).str.upper().eq("SI")
                if "Incluye_reactiva" in raw.columns
                else True
            ),
            "reference_mape": raw["MAPE"].astype(float),
        }
    )


def configs_from_reference(
    reference: pd.DataFrame | None, base: PrototypeConfig | None = None
) -> dict[str, PrototypeConfig]:
    """Per-customer configurations from the reference table (XGB rows keep their tuple)."""
    base = base or PrototypeConfig()
    out: dict[str, PrototypeConfig] = {}
    if reference is None:
        return out
    for row in reference.to_dict("records"):
        config = replace(base, freq_hours=int(row["freq_hours"]), lags=int(row["lags"]))
        if str(row["model"]).upper() == "XGB":
            try:
                n_estimators, max_depth, learning_rate, *_ = ast.literal_eval(
                    str(row["hyperparameters"])
                )
                config = replace(
                    config,
                    n_estimators=int(n_estimators),
                    max_depth=int(max_depth),
                    learning_rate=float(learning_rate),
                    use_reactive=bool(row["use_reactive"]),
                )
            except (ValueError, SyntaxError):
                pass
        out[str(row["client_id"])] = config
    return out


def _features(
    values: np.ndarray, periods: pd.DataFrame, lags: int, use_reactive: bool
) -> np.ndarray:
    """Feature matrix for every position of ``values`` (lags are NaN before the start)."""
    n = len(values)
    cols = []
    for k in range(1, lags + 1):
        lagged = np.full(n, np.nan)
        lagged[k:] = values[:-k]
        cols.append(lagged)
    if use_reactive:
        cols.append(periods["reactive"].to_numpy(dtype=float))
    start = pd.DatetimeIndex(periods["start"])
    cols.append(start.month.to_numpy(dtype=float))
    cols.append(start.hour.to_numpy(dtype=float))
    return np.column_stack(cols)


class PrototypeModel:
    """One customer's prototype forecaster (fitted on its history)."""

    def __init__(self, config: PrototypeConfig) -> None:
        self.config = config
        self._history: pd.DataFrame | None = None
        self._booster: object | None = None

    def fit(self, history: pd.DataFrame) -> PrototypeModel:
        """Fit on one customer's hourly history (zeros replaced by its mean, as the prototype did)."""
        import xgboost as xgb

        cfg = self.config
        frame = history.sort_values("ts")
        active = frame["active_kwh"].to_numpy(dtype=float)
        nonzero = active[active != 0]
        mean = float(nonzero.mean()) if len(nonzero) else 0.0
        frame = frame.assign(active_kwh=np.where(active == 0, mean, active))
        periods = to_periods(frame, cfg.freq_hours, pd.Timestamp(frame["ts"].iloc[0]))
        y = periods["active"].to_numpy(dtype=float)
        x = _features(y, periods, cfg.lags, cfg.use_reactive)
        usable = slice(min(cfg.lags, max(len(y) - 2, 0)), None)
        params = {
            "max_depth": cfg.max_depth,
            "eta": cfg.learning_rate,
            "nthread": 1,
            "tree_method": "hist",
            "objective": "reg:squarederror",
        }
        self._booster = xgb.train(
            params, xgb.DMatrix(x[usable], label=y[usable]), num_boost_round=cfg.n_estimators
        )
        self._history = periods
        return self

    def predict_periods(self, new: pd.DataFrame) -> pd.DataFrame:
        """One-step-ahead predictions for the new hourly rows, period by period.

        Each period's lags are the *observed* previous periods (history, then the new
        data as reported), as the prototype ran.

        Returns
        -------
        pandas.DataFrame
            The new periods (``start``, ``active``, ``hours``, ...) with ``predicted``.
        """
        if self._history is None or self._booster is None:
            raise RuntimeError("fit the model first")
        cfg = self.config
        frame = new.sort_values("ts")
        periods = to_periods(frame, cfg.freq_hours, pd.Timestamp(frame["ts"].iloc[0]))
        both = pd.concat([self._history, periods], ignore_index=True)
        values = both["active"].to_numpy(dtype=float)
        x = _features(values, both, cfg.lags, cfg.use_reactive)[len(self._history) :]
        import xgboost as xgb

        periods["predicted"] = self._booster.predict(xgb.DMatrix(x))  # type: ignore[attr-defined]
        return periods

    def detect(self, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Hourly scores and flags, and the periods at which a red alert showed.

        Returns
        -------
        tuple of pandas.DataFrame
            ``(hourly, alerts)``: hourly rows of ``new`` with ``score`` (relative deviation
            from the prediction), ``is_anomaly``, ``expected_kwh``, ``lower_kwh`` and
            ``upper_kwh`` (the period's values spread evenly over its hours); alert rows with
            ``alert_ts`` (last hour of a period where the alert rule holds).
        """
        cfg = self.config
        frame = new.sort_values("ts").reset_index(drop=True)
        periods = self.predict_periods(frame)
        pred = periods["predicted"].to_numpy(dtype=float)
        actual = periods["active"].to_numpy(dtype=float)
        score = np.abs(actual - pred) / np.maximum(np.abs(pred), 1e-6)
        anomalous = score > cfg.band
        window = max(1, cfg.recent_hours // cfg.freq_hours)
        recent = (
            pd.Series(anomalous.astype(float)).rolling(window, min_periods=1).sum() / window
        ).to_numpy()
        red = recent > cfg.alert_share
        origin = pd.Timestamp(frame["ts"].iloc[0])
        idx = ((frame["ts"] - origin) // pd.Timedelta(hours=cfg.freq_hours)).to_numpy()
        pos = np.searchsorted(periods["period"].to_numpy(), idx)
        per_hour = pred[pos] / cfg.freq_hours
        hourly = frame.assign(
            score=score[pos],
            is_anomaly=anomalous[pos].astype(np.int8),
            expected_kwh=per_hour,
            lower_kwh=per_hour * (1 - cfg.band),
            upper_kwh=per_hour * (1 + cfg.band),
        )
        ends = periods["start"] + pd.Timedelta(hours=cfg.freq_hours - 1)
        alerts = pd.DataFrame({"alert_ts": ends[red].to_numpy()})
        return hourly, alerts
