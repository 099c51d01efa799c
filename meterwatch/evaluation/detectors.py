"""Detectors the harness can measure: the product's engine and the prototype's method.

A detector sees the history (``train``) and the new data (``test``) of every customer and
returns hourly scores and flags for the new data plus when it alerted which customer.
Both implementations fit once per history and reuse the fit for every draw of the same
history: the draws only change the new data.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from meterwatch import tables
from meterwatch.evaluation.prototype import PrototypeConfig, PrototypeModel
from meterwatch.settings import Settings

SCORE_COLUMNS = ["client_id", "ts", "score", "is_anomaly"]
ALERT_COLUMNS = ["client_id", "alert_ts", "alert_end"]
INBOX_COLUMNS = [
    "client_id", "rank", "kind", "severity", "confidence", "window_start", "window_end",
    "lost_kwh", "status", "params",
]  # fmt: skip


@dataclass
class DetectionResult:
    """What a detector says about the new data.

    Attributes
    ----------
    scores
        Hourly rows: ``client_id``, ``ts``, ``score`` (higher is more suspicious),
        ``is_anomaly`` (0/1). Hours a detector does not score count as score -inf, flag 0.
    alerts
        One row per alert: ``client_id``, ``alert_ts`` (when it was raised, or the first
        hour it covers) and ``alert_end`` (last hour it covers).
    """

    scores: pd.DataFrame
    alerts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ALERT_COLUMNS))
    customer_scores: dict[str, float] = field(default_factory=dict)
    """Customer -> how high it stands in the detector's list of visits (higher first); the
    customer-level average precision reads it. Empty: the customer's highest hourly score."""
    inbox: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Every alert and watched event the detector listed (its own columns), for the report's
    ``detection_inbox.csv``: what an operator would have seen after the draw."""

    @property
    def alerted(self) -> set[str]:
        """Customers with at least one alert in the new period."""
        return set(self.alerts["client_id"].astype(str))


class Detector(Protocol):
    """Anything the harness can evaluate."""

    name: str

    def run(
        self, train: pd.DataFrame, test: pd.DataFrame, sectors: Mapping[str, str]
    ) -> DetectionResult:
        """Learn from ``train``, judge ``test`` (both hourly, every customer)."""
        ...


def _fingerprint(train: pd.DataFrame) -> tuple[Any, ...]:
    """A cheap identity of a history (the draws of one evaluation share it)."""
    last = train.groupby("client_id", sort=True)["ts"].max()
    return (len(train), tuple(last.index), tuple(last.to_numpy()), float(train["active_kwh"].sum()))


class PrototypeDetector:
    """The prototype's method (see :mod:`meterwatch.evaluation.prototype`).

    Parameters
    ----------
    configs
        Per-customer settings (from the reference table); others get ``default``.
    default
        Settings of customers absent from ``configs``.
    workers
        Customers fitted in parallel (XGBoost runs one thread per fit).
    """

    name = "prototype"

    def __init__(
        self,
        configs: Mapping[str, PrototypeConfig] | None = None,
        default: PrototypeConfig | None = None,
        workers: int = 1,
    ) -> None:
        self.configs = dict(configs or {})
        self.default = default or PrototypeConfig()
        self.workers = max(1, workers)
        self._key: tuple[Any, ...] | None = None
        self._models: dict[str, PrototypeModel] = {}

    def config(self, client: str) -> PrototypeConfig:
        """The settings used for one customer."""
        return self.configs.get(client, self.default)

    def fit(self, train: pd.DataFrame) -> None:
        """Fit one model per customer on its history (skipped when already fitted)."""
        key = _fingerprint(train)
        if key == self._key:
            return
        groups = list(train.groupby("client_id", sort=True))

        def fit_one(item: tuple[Any, pd.DataFrame]) -> tuple[str, PrototypeModel]:
            client, frame = item
            return str(client), PrototypeModel(self.config(str(client))).fit(frame)

        with ThreadPoolExecutor(self.workers) as pool:
            self._models = dict(pool.map(fit_one, groups))
        self._key = key

    def run(
        self, train: pd.DataFrame, test: pd.DataFrame, sectors: Mapping[str, str]
    ) -> DetectionResult:
        self.fit(train)
        hourly_parts, alert_parts = [], []
        for client, frame in test.groupby("client_id", sort=True):
            model = self._models.get(str(client))
            if model is None or frame.empty:
                continue
            hourly, alerts = model.detect(frame)
            hourly_parts.append(hourly[SCORE_COLUMNS])
            if not alerts.empty:
                alert_parts.append(alerts.assign(client_id=str(client)))
        scores = pd.concat(hourly_parts, ignore_index=True) if hourly_parts else _empty_scores()
        alerts = (
            pd.concat(alert_parts, ignore_index=True).assign(alert_end=lambda f: f["alert_ts"])
            if alert_parts
            else pd.DataFrame(columns=ALERT_COLUMNS)
        )
        return DetectionResult(scores, alerts[ALERT_COLUMNS])


def _empty_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=t)
            for c, t in zip(
                SCORE_COLUMNS, ["object", "datetime64[ns]", "float64", "int8"], strict=True
            )
        }
    )


class ProductDetector:
    """The product's engine, run through its lake interface.

    The history goes into a temporary local lake (``readings`` and ``customers``, one
    transaction), ``meterwatch.detect.pipeline.train`` fits every customer up to its last
    history hour; for each draw a copy of that lake receives the new readings and
    ``meterwatch.detect.pipeline.score`` writes ``scores`` and ``alerts``, which are read
    back. An alert counts for the new period when it ends after the customer's history.

    Parameters
    ----------
    settings
        Passed to ``train`` and ``score`` (``None``: the engine's defaults).
    workdir
        Where the temporary lakes go (default: the system's temporary folder).
    progress
        Passed to ``train`` and ``score``.
    increment_hours
        When set, the new data arrives in blocks of this many hours per customer, each followed
        by a ``score`` call, as a production schedule would run it (slower); default: one call.
    """

    name = "product"

    def __init__(
        self,
        settings: Settings | None = None,
        workdir: str | Path | None = None,
        progress: Callable[..., None] | None = None,
        increment_hours: int | None = None,
    ) -> None:
        # the harness judges the new part only: the history is not scored walk-forward
        self.settings = (settings or Settings()).model_copy(update={"history_step_days": 0})
        self.progress = progress
        self.increment_hours = increment_hours
        self._tmp = Path(tempfile.mkdtemp(prefix="meterwatch-eval-", dir=workdir))
        self._key: tuple[Any, ...] | None = None
        self._runs = 0
        self.timings: dict[str, float] = {}

    @staticmethod
    def available() -> bool:
        """Whether the detection engine is installed in this checkout."""
        try:
            import meterwatch.detect.pipeline  # noqa: F401
        except ImportError:
            return False
        return True

    def close(self) -> None:
        """Remove the temporary lakes."""
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _base(self) -> Path:
        return self._tmp / "history"

    def fit(self, train: pd.DataFrame, sectors: Mapping[str, str]) -> None:
        """Write the history into a fresh lake and train the engine on it."""
        import time

        from meterwatch.detect import pipeline
        from meterwatch.storage.local import LocalLake

        key = _fingerprint(train)
        if key == self._key:
            return
        shutil.rmtree(self._base(), ignore_errors=True)
        lake = LocalLake(self._base())
        tx = lake.transaction()
        tx.append("readings", _readings_rows(train))
        tx.overwrite("customers", _customer_rows(train, sectors))
        tx.commit()
        started = time.perf_counter()
        pipeline.train(
            lake, until=train["ts"].max(), settings=self.settings, progress=self.progress
        )
        self.timings["train_s"] = time.perf_counter() - started
        self._key = key

    def run(
        self, train: pd.DataFrame, test: pd.DataFrame, sectors: Mapping[str, str]
    ) -> DetectionResult:
        import time

        from meterwatch.detect import pipeline
        from meterwatch.storage.local import LocalLake

        self.fit(train, sectors)
        self._runs += 1
        folder = self._tmp / f"draw-{self._runs}"
        shutil.copytree(self._base(), folder)
        try:
            lake = LocalLake(folder)
            test = test.sort_values(["client_id", "ts"]).reset_index(drop=True)
            position = test.groupby("client_id").cumcount().to_numpy()
            step = self.increment_hours or max(len(test), 1)
            block = position // step
            seen = train
            started = time.perf_counter()
            for k in np.unique(block):
                arriving = test[block == k]
                seen = pd.concat([seen, arriving], ignore_index=True)
                tx = lake.transaction()
                tx.append("readings", _readings_rows(arriving))
                tx.overwrite("customers", _customer_rows(seen, sectors))
                tx.commit()
                pipeline.score(lake, settings=self.settings, progress=self.progress)
            self.timings["score_s"] = time.perf_counter() - started
            scores = lake.read("scores", columns=SCORE_COLUMNS)
            alerts = lake.read("alerts")
            # an alert a later revision withdrew (and announced as withdrawn) is no alert
            alerts = alerts[alerts["status"] != "withdrawn"]
            inbox = alerts[[c for c in INBOX_COLUMNS if c in alerts.columns]].copy()
            # the inbox's order ranks every customer with an alert or a watched event
            # (a watched one is not raised: it counts for the ranking, not for F1)
            watched = tables.watched(alerts["params"])
            best_rank = alerts.groupby("client_id")["rank"].min()
            listed = {str(c): 1e6 - float(r) for c, r in best_rank.items()}
            alerts = alerts[~watched]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        history_end = train.groupby("client_id")["ts"].max()
        scores["ts"] = pd.to_datetime(scores["ts"])
        scores = scores[scores["ts"] > scores["client_id"].map(history_end)]
        scores = scores.reset_index(drop=True)
        top = scores.groupby("client_id")["score"].max()
        ranking = {str(c): float(v) for c, v in top.items()}
        ranking.update(listed)
        return DetectionResult(
            scores, _alert_times(alerts, history_end, scores), ranking, inbox.reset_index(drop=True)
        )


def _flagged_hours_needed(kind: str) -> int:
    """Flagged hours the engine needs before an event of ``kind`` becomes an alert."""
    try:
        import meterwatch.alerts.policy as engine_alerts
    except ImportError:
        return 1
    if kind in ("stopped_meter", "flat_reporting"):
        return 1
    if kind == "reverse_energy":
        return int(getattr(engine_alerts, "MIN_REVERSE_HOURS", 1))
    return int(getattr(engine_alerts, "MIN_EVENT_HOURS", 1))


def _alert_times(
    alerts: pd.DataFrame, history_end: pd.Series, scores: pd.DataFrame
) -> pd.DataFrame:
    """When each alert of the new period would have been raised by hourly scoring.

    ``params.first_alert_ts`` when the engine records it; else the hour at which the alert's
    window had collected the flagged hours the engine needs for an event of its kind (the
    scores are causal per hour, so a batch run flags the same hours an hourly run would).
    """
    if alerts.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    flagged = scores[scores["is_anomaly"] > 0].sort_values("ts")
    by_client = {str(c): g["ts"].to_numpy() for c, g in flagged.groupby("client_id")}
    rows = []
    for alert in alerts.to_dict("records"):
        client = str(alert["client_id"])
        start, end = pd.Timestamp(alert["window_start"]), pd.Timestamp(alert["window_end"])
        raised = start
        recorded = tables.stored_params(alert.get("params")).get("first_alert_ts")
        if recorded:
            raised = pd.Timestamp(recorded)
        else:
            hours = by_client.get(client, np.array([], dtype="datetime64[ns]"))
            inside = hours[(hours >= start.to_datetime64()) & (hours < end.to_datetime64())]
            if len(inside):
                needed = _flagged_hours_needed(str(alert.get("kind", "")))
                raised = pd.Timestamp(inside[min(needed, len(inside)) - 1])
        rows.append({"client_id": client, "alert_ts": raised, "alert_end": end})
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    keep = frame["alert_end"] > frame["client_id"].map(history_end)
    return frame[keep.fillna(False)].reset_index(drop=True)


def _readings_rows(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[c for c in tables.READINGS.columns if c != "ingestion_id"]].copy()
    out["ingestion_id"] = "evaluation"
    return out


def _customer_rows(frame: pd.DataFrame, sectors: Mapping[str, str]) -> pd.DataFrame:
    stats = frame.groupby("client_id", sort=True)["ts"].agg(["min", "max", "size"]).reset_index()
    return pd.DataFrame(
        {
            "client_id": stats["client_id"].astype(str),
            "sector": [sectors.get(str(c)) for c in stats["client_id"]],
            "first_ts": stats["min"],
            "last_ts": stats["max"],
            "n_readings": stats["size"].astype(np.int64),
            "series_hash": "",
            "source_file": "evaluation",
            "updated_at": tables.now_utc(),
        }
    )
