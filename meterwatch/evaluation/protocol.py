"""The evaluation protocol (docs/domain-notes.md#detection-protocol) on a lake's own data.

Detection: each customer's readings are split at 80 % of its rows (history / new data);
labelled manipulations go into the new data of about half the customers (per tier and
seed, :func:`meterwatch.evaluation.inject.make_draw`); every detector judges every draw;
metrics are computed per draw and summarised as mean +- standard deviation over seeds.

Forecast: per customer, a one-step-ahead forecast of the last 20 % at the prototype's
frequency (:func:`forecast_accuracy`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from meterwatch.evaluation import metrics
from meterwatch.evaluation.detectors import DetectionResult, Detector
from meterwatch.evaluation.inject import FAMILIES, REAL_EVENTS, Draw, make_draw
from meterwatch.evaluation.prototype import PrototypeConfig, PrototypeModel
from meterwatch.periods import to_periods
from meterwatch.storage import Lake

READING_COLUMNS = ["client_id", "ts", "active_kwh", "reactive_kvarh", "voltage_fa", "voltage_fc"]
HISTORY_SHARE = 0.8
# Forecast origins of the product model: every period for periods of 8 hours or more, every
# day (day-ahead) for finer periods, with this much recent context.
MIN_ORIGIN_STEP_HOURS = 8
CONTEXT_DAYS = 21
# A period is judged when at least this share of its hours was read. The new part ends where
# the readings end, so its last period is a stub (one hour of 8 to 48 on the ElectroDunas
# data, the 00:00 reading of 2023-04-01): scaled to a full period it is an extrapolation of
# one hour, not a measured total, and its error says nothing about the forecast.
MIN_JUDGED_SHARE = 0.5
Progress = Callable[[str], None]


def load_readings(lake: Lake) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every customer's hourly readings (sorted) and its sector, from the lake."""
    frame = lake.query(
        "SELECT client_id, ts, active_kwh, reactive_kvarh, voltage_fa, voltage_fc "
        "FROM readings ORDER BY client_id, ts"
    )
    frame["ts"] = pd.to_datetime(frame["ts"])
    customers = lake.read("customers", columns=["client_id", "sector"])
    sectors = {
        str(c): str(s)
        for c, s in zip(customers["client_id"], customers["sector"], strict=True)
        if s is not None and s == s
    }
    return frame, sectors


def split_history(
    frame: pd.DataFrame, share: float = HISTORY_SHARE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each customer's rows in time: the first ``share`` is history, the rest new."""
    frame = frame.sort_values(["client_id", "ts"]).reset_index(drop=True)
    position = frame.groupby("client_id").cumcount().to_numpy()
    size = frame.groupby("client_id")["ts"].transform("size").to_numpy()
    is_history = position < np.floor(size * share)
    return frame[is_history].reset_index(drop=True), frame[~is_history].reset_index(drop=True)


@dataclass
class DrawResult:
    """Metrics of one detector on one draw."""

    detector: str
    tier: str
    seed: int
    rows: list[dict[str, object]] = field(default_factory=list)
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = 0.0


SPLIT_SALT = "meterwatch-holdout-v1"


def split_customers(clients: Collection[str]) -> dict[str, list[str]]:
    """A fixed split of customers into a ``tune`` half and a ``holdout`` half.

    Customers are ordered by a salted hash of their id and cut in the middle: the same set
    always splits the same way, and values are set looking at ``tune`` only while quality is
    reported on ``holdout``.
    """
    import hashlib

    ids = sorted({str(c) for c in clients})
    ordered = sorted(ids, key=lambda c: hashlib.sha256(f"{SPLIT_SALT}:{c}".encode()).hexdigest())
    half = len(ordered) // 2
    return {"tune": sorted(ordered[:half]), "holdout": sorted(ordered[half:])}


def fresh_seed() -> int:
    """A new random first seed (printed by the callers) so no run re-uses known draws."""
    import secrets

    return 1000 + secrets.randbelow(9_000_000)


def score_draw(
    draw: Draw,
    result: DetectionResult,
    detector: str,
    tier: str,
    seed: int,
    judged: Collection[str] | None = None,
) -> DrawResult:
    """Compute every metric of one detector on one draw.

    Returns
    -------
    DrawResult
        ``rows``: one dict per (family, metric) with ``family`` = ``all`` for the whole
        draw; ``customers``: one row per customer (truth, alerted, delay).
    """
    test = draw.test
    rows = (
        test["client_id"].isin(set(judged)).to_numpy()
        if judged is not None
        else np.ones(len(test), dtype=bool)
    )
    merged = test[["client_id", "ts"]].merge(
        result.scores[["client_id", "ts", "score", "is_anomaly"]].drop_duplicates(
            ["client_id", "ts"]
        ),
        on=["client_id", "ts"],
        how="left",
    )
    score = merged["score"].to_numpy(dtype=float)
    score = np.where(np.isnan(score), -np.inf, score)
    flag = merged["is_anomaly"].fillna(0).to_numpy(dtype=float) > 0
    score, flag, labels, family_of = score[rows], flag[rows], draw.labels[rows], draw.family[rows]
    clients = sorted(test["client_id"][rows].unique())
    positives = {c: f for c, f in draw.positives.items() if c in set(clients)}
    alerted = result.alerted & set(clients)
    cm = metrics.customer_metrics(clients, positives, alerted)
    delays = metrics.detection_delays(
        {c: t for c, t in draw.starts.items() if c in positives}, result.alerts
    )
    # the list of visits: every judged customer, in the detector's order
    top = pd.Series(score).groupby(test["client_id"][rows].to_numpy()).max()
    ranking = np.array([result.customer_scores.get(c, float(top.get(c, -np.inf))) for c in clients])
    truth = np.array([c in positives for c in clients])
    out = DrawResult(detector, tier, seed)

    def add(family: str, name: str, value: float) -> None:
        out.rows.append(
            {
                "detector": detector,
                "tier": tier,
                "seed": seed,
                "family": family,
                "metric": name,
                "value": float(value),
            }
        )

    add("all", "precision", cm.precision)
    add("all", "recall", cm.recall)
    add("all", "f1", cm.f1)
    add("all", "false_customers", cm.false_customers)
    add("all", "clean_customers", cm.fp + cm.tn)
    add("all", "positive_customers", cm.tp + cm.fn)
    add("all", "customer_ap", metrics.average_precision(truth, ranking))
    add("all", "hourly_ap", metrics.average_precision(labels, score))
    add("all", "hourly_f1", metrics.hourly_f1(labels, flag))
    add(
        "all",
        "delay_hours_median",
        float(np.median(list(delays.values()))) if delays else float("nan"),
    )

    negatives = ~labels
    for family in (*FAMILIES, *REAL_EVENTS):
        members = [c for c, f in positives.items() if f == family]
        if not members:
            continue
        hit = sum(c in alerted for c in members)
        add(family, "customers", len(members))
        add(family, "recall", hit / len(members))
        mine = labels & (family_of == family)
        subset = mine | negatives
        add(family, "hourly_ap", metrics.average_precision(mine[subset], score[subset]))
        add(family, "hourly_recall", float((flag & mine).sum() / max(mine.sum(), 1)))
        fam_delays = [delays[c] for c in members if c in delays]
        if fam_delays:
            add(family, "delay_hours_median", float(np.median(fam_delays)))

    out.customers = pd.DataFrame(
        {
            "detector": detector,
            "tier": tier,
            "seed": seed,
            "client_id": clients,
            "truth": [positives.get(c, "") for c in clients],
            "alerted": [c in alerted for c in clients],
            "delay_hours": [delays.get(c, np.nan) for c in clients],
        }
    )
    return out


@dataclass
class DetectionEvaluation:
    """Every draw's metrics, and their summary."""

    rows: pd.DataFrame
    customers: pd.DataFrame
    events: pd.DataFrame
    timings: pd.DataFrame
    inbox: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """Mean, standard deviation, min and max over seeds per detector, tier, family, metric."""
        if self.rows.empty:
            return pd.DataFrame(
                columns=["detector", "tier", "family", "metric", "mean", "std", "min", "max", "n"]
            )
        grouped = self.rows.groupby(["detector", "tier", "family", "metric"], sort=False)["value"]
        return grouped.agg(
            mean="mean",
            std=lambda v: float(v.std(ddof=1)) if v.notna().sum() > 1 else 0.0,
            min="min",
            max="max",
            n="count",
        ).reset_index()


def evaluate_detection(
    frame: pd.DataFrame,
    sectors: Mapping[str, str],
    detectors: Sequence[Detector],
    *,
    tiers: Sequence[str] = ("standard", "subtle"),
    seeds: Sequence[int] = (0, 1, 2),
    progress: Progress | None = None,
    known_events: pd.DataFrame | None = None,
    judged: Collection[str] | None = None,
) -> DetectionEvaluation:
    """Run the detection protocol: every detector on every (tier, seed) draw.

    Parameters
    ----------
    frame
        Hourly readings of every customer (``READING_COLUMNS``).
    sectors
        Customer -> sector.
    detectors
        What to measure.
    tiers, seeds
        The draws.
    progress
        Called with a short line after each detector run.
    known_events
        Losses known to be in the data (a synthetic fleet's labels): positives where they
        fall in the new part (:func:`meterwatch.evaluation.inject.make_draw`).
    judged
        Customers the metrics count (default: all); every customer is still scored.
    """
    train, test = split_history(frame)
    rows, customers, events, timings, inboxes = [], [], [], [], []
    for tier in tiers:
        for seed in seeds:
            draw = make_draw(train, test, tier, seed, known_events=known_events)
            events.append(draw.events_frame().assign(tier=tier, seed=seed))
            for detector in detectors:
                started = time.perf_counter()
                result = detector.run(train, draw.test, sectors)
                seconds = time.perf_counter() - started
                scored = score_draw(draw, result, detector.name, tier, seed, judged)
                rows.extend(scored.rows)
                customers.append(scored.customers)
                if not result.inbox.empty:
                    inboxes.append(
                        result.inbox.assign(detector=detector.name, tier=tier, seed=seed)
                    )
                timings.append(
                    {"detector": detector.name, "tier": tier, "seed": seed, "seconds": seconds}
                )
                if progress:
                    f1 = next(
                        r["value"]
                        for r in scored.rows
                        if r["metric"] == "f1" and r["family"] == "all"
                    )
                    progress(
                        f"{detector.name} {tier} seed {seed}: customer F1 {f1:.2f} ({seconds:.1f} s)"
                    )
    return DetectionEvaluation(
        pd.DataFrame(rows),
        pd.concat(customers, ignore_index=True) if customers else pd.DataFrame(),
        pd.concat(events, ignore_index=True) if events else pd.DataFrame(),
        pd.DataFrame(timings),
        pd.concat(inboxes, ignore_index=True) if inboxes else pd.DataFrame(),
    )


# forecast --------------------------------------------------------------------------------------
def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error (percent) over non-zero actual values."""
    keep = actual != 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.abs(actual[keep] - predicted[keep]) / np.abs(actual[keep])) * 100)


def judged(periods: pd.DataFrame, freq_hours: int) -> np.ndarray:
    """Which periods (``hours`` read of ``freq_hours``) a forecast is judged on
    (``MIN_JUDGED_SHARE``)."""
    return periods["hours"].to_numpy(dtype=float) >= MIN_JUDGED_SHARE * freq_hours


def period_mape(periods: pd.DataFrame, predicted: np.ndarray, freq_hours: int) -> float:
    """MAPE of the period forecasts ``predicted`` against ``periods["active"]``, over the
    judged periods (:func:`judged`) whose actual value is not 0."""
    keep = judged(periods, freq_hours)
    actual = periods["active"].to_numpy(dtype=float)
    return _mape(actual[keep], np.asarray(predicted, dtype=float)[keep])


def product_forecaster() -> Callable[[pd.DataFrame], object] | None:
    """``meterwatch.detect.model.fit_customer`` when the engine is installed, else ``None``."""
    try:
        from meterwatch.detect.model import fit_customer
    except ImportError:
        return None
    return fit_customer


def period_forecaster() -> (
    Callable[[pd.DataFrame, pd.DataFrame, int], tuple[pd.DataFrame, object]] | None
):
    """``meterwatch.detect.forecast.forecast_new_periods`` when the engine is installed."""
    try:
        from meterwatch.detect.forecast import forecast_new_periods
    except ImportError:
        return None
    return forecast_new_periods


def forecast_accuracy(
    frame: pd.DataFrame,
    *,
    freq_hours: Mapping[str, int] | None = None,
    reference_mape: Mapping[str, float] | None = None,
    prototype_configs: Mapping[str, PrototypeConfig] | None = None,
    use_product: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Forecast accuracy per customer on its last 20 %.

    The product's period MAPE (``mape``) is its one-step-ahead forecaster
    (``detect.forecast.forecast_new_periods``: fitted on the history, each new period
    forecast from the observed periods before it), at the prototype's period counted from
    the first new hour (partial periods scaled to a full one). Its hourly figures
    (``hourly_mape``, ``hourly_wape``, ``coverage``) are those of the detection model
    (``detect.model.fit_customer``) from rolling origins (:func:`rolling_origin_predictions`);
    ``detection_mape`` is that model's period MAPE and ``batch_mape`` the same model asked
    once for the whole series. The prototype's re-implementation forecasts the same periods
    one step ahead. MAPE skips periods (hours) whose actual value is exactly 0, and period
    MAPEs are judged on the periods read for at least ``MIN_JUDGED_SHARE`` of their hours
    (``n_test`` of them): the new part's last period is a stub of the data's last hour.

    Returns
    -------
    pandas.DataFrame
        ``client_id, freq, n_test, mape, reference_mape, prototype_mape, hourly_mape,
        hourly_wape, coverage, detection_mape, batch_mape, forecast_target, level`` (``mape`` is
        the product's when available, else the prototype re-implementation's; ``coverage``
        = share of new hours inside the band).
    """
    freq_hours = dict(freq_hours or {})
    reference_mape = dict(reference_mape or {})
    prototype_configs = dict(prototype_configs or {})
    fit_customer = product_forecaster() if use_product else None
    forecast_periods = period_forecaster() if use_product else None
    train, test = split_history(frame)
    rows = []
    for client, history in train.groupby("client_id", sort=True):
        client = str(client)
        new = test[test["client_id"] == client]
        if new.empty:
            continue
        hours = int(freq_hours.get(client, 1))
        origin = pd.Timestamp(new["ts"].iloc[0])
        actual_periods = to_periods(new, hours, origin)
        config = prototype_configs.get(client, PrototypeConfig())
        prototype = PrototypeModel(replace_freq(config, hours)).fit(history)
        proto_periods = prototype.predict_periods(new)
        prototype_mape = period_mape(actual_periods, proto_periods["predicted"].to_numpy(), hours)
        row: dict[str, object] = {
            "client_id": client,
            "freq": f"{hours}H",
            "n_test": int(judged(actual_periods, hours).sum()),
            "mape": prototype_mape,
            "reference_mape": reference_mape.get(client, np.nan),
            "prototype_mape": prototype_mape,
            "hourly_mape": np.nan,
            "hourly_wape": np.nan,
            "coverage": np.nan,
            "batch_mape": np.nan,
            "detection_mape": np.nan,
            "onestep_hourly_mape": np.nan,
            "onestep_hourly_wape": np.nan,
            "forecast_target": "",
            "origin_step_hours": hours,
            "level": "",
            "model": "prototype",
        }
        if fit_customer is not None:
            model = fit_customer(history.reset_index(drop=True))
            step = hours if hours >= MIN_ORIGIN_STEP_HOURS else 24
            causal = rolling_origin_predictions(model, history, new, step)
            batch = plain_predict(
                model, pd.concat([history, new], ignore_index=True)[READING_COLUMNS[1:]]
            ).iloc[len(history) :]
            actual = new["active_kwh"].to_numpy(dtype=float)
            expected = causal["expected_kwh"].to_numpy(dtype=float)
            shape = expected
            periods = to_periods(new.assign(active_kwh=expected), hours, origin)
            batch_periods = to_periods(
                new.assign(active_kwh=batch["expected_kwh"].to_numpy(dtype=float)), hours, origin
            )
            inside = (actual >= causal["lower_kwh"].to_numpy()) & (
                actual <= causal["upper_kwh"].to_numpy()
            )
            row.update(
                detection_mape=period_mape(actual_periods, periods["active"].to_numpy(), hours),
                batch_mape=period_mape(actual_periods, batch_periods["active"].to_numpy(), hours),
                hourly_mape=_mape(actual, expected),
                hourly_wape=float(
                    np.abs(actual - expected).sum() / max(np.abs(actual).sum(), 1e-12) * 100
                ),
                coverage=float(np.mean(inside)),
                origin_step_hours=step,
                level="plain" if _has_plain_level(model) else "gated",
                model="product",
            )
        if forecast_periods is not None:
            ours, forecaster = forecast_periods(history, new, hours)
            actual = new["active_kwh"].to_numpy(dtype=float)
            hourly = spread_over_hours(
                new, ours, hours, shape if fit_customer is not None else None
            )
            row.update(
                mape=period_mape(ours, ours["predicted"].to_numpy(), hours),
                onestep_hourly_mape=_mape(actual, hourly),
                onestep_hourly_wape=float(
                    np.abs(actual - hourly).sum() / max(np.abs(actual).sum(), 1e-12) * 100
                ),
                forecast_target=str(getattr(forecaster, "choice", "")),
                model="product",
            )
        rows.append(row)
        if progress:
            progress(f"forecast {client}: MAPE {row['mape']:.1f} % at {hours} h")
    return pd.DataFrame(rows)


def spread_over_hours(
    new: pd.DataFrame, periods: pd.DataFrame, freq_hours: int, shape: np.ndarray | None
) -> np.ndarray:
    """Hourly values of period forecasts: each period's ``predicted`` total shared over its
    hours in proportion to ``shape`` (the detection model's expected hours), evenly where
    there is no shape. ``predicted`` is per full period, so a partial period gets its share.
    """
    origin = pd.Timestamp(new["ts"].iloc[0])
    idx = ((new["ts"] - origin) // pd.Timedelta(hours=freq_hours)).to_numpy()
    pos = np.searchsorted(periods["period"].to_numpy(), idx)
    n_hours = np.bincount(pos, minlength=len(periods)).astype(float)
    weights = np.ones(len(new)) if shape is None else np.clip(np.nan_to_num(shape), 0, None)
    total = np.bincount(pos, weights=weights, minlength=len(periods))
    share = np.where(
        total[pos] > 0, weights / np.where(total[pos] > 0, total[pos], 1), 1 / n_hours[pos]
    )
    energy = periods["predicted"].to_numpy(dtype=float) * n_hours / freq_hours
    return np.asarray(energy[pos] * share, dtype=float)


def _has_plain_level(model: object) -> bool:
    import inspect

    predict = getattr(model, "predict", None)
    return predict is not None and "gated" in inspect.signature(predict).parameters


def plain_predict(model: object, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's forecast for ``frame``: ``predict(frame, gated=False)`` when the model has
    a plain (ungated) level for forecasting, else ``predict(frame)``."""
    if _has_plain_level(model):
        return model.predict(frame, gated=False)  # type: ignore[attr-defined]
    return model.predict(frame)  # type: ignore[attr-defined]


def rolling_origin_predictions(
    model: object, history: pd.DataFrame, new: pd.DataFrame, step_hours: int
) -> pd.DataFrame:
    """The product model's forecast of the new rows from forecast origins ``step_hours`` apart.

    For each origin, ``predict`` gets the last ``CONTEXT_DAYS`` days of readings before it
    plus the rows up to the next origin with their active energy hidden (NaN), so nothing
    observed at or after the origin reaches the forecast.

    Returns
    -------
    pandas.DataFrame
        ``expected_kwh``, ``lower_kwh``, ``upper_kwh`` aligned with ``new``'s rows.
    """
    columns = READING_COLUMNS[1:]
    known = pd.concat([history[columns], new[columns]], ignore_index=True)
    n_history = len(history)
    ts = known["ts"]
    origin0 = pd.Timestamp(new["ts"].iloc[0])
    block = ((new["ts"] - origin0) // pd.Timedelta(hours=step_hours)).to_numpy()
    parts = []
    for b in np.unique(block):
        rows = np.flatnonzero(block == b) + n_history
        start_ts = ts.iloc[rows[0]]
        context_from = int(
            np.searchsorted(
                ts.to_numpy(), (start_ts - pd.Timedelta(days=CONTEXT_DAYS)).to_datetime64()
            )
        )
        frame = known.iloc[context_from : rows[-1] + 1].copy()
        frame.loc[frame.index >= rows[0], "active_kwh"] = np.nan
        predicted = plain_predict(model, frame.reset_index(drop=True))
        parts.append(predicted.iloc[-len(rows) :].reset_index(drop=True))
    return pd.concat(parts, ignore_index=True)


def replace_freq(config: PrototypeConfig, hours: int) -> PrototypeConfig:
    """``config`` at another period length."""
    from dataclasses import replace

    return replace(config, freq_hours=hours)
