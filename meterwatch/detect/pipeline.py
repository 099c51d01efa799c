"""Train and score: the detection engine's two entry points, on any :class:`Lake`.

``train`` fits one model per customer and stores it in the lake's model store; ``score`` scores
the hours each customer's model has not seen yet, writes ``scores`` and ``alerts`` in one
transaction and hands new or updated alerts to the sinks.
"""

from __future__ import annotations

import json
import multiprocessing
import pickle
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meterwatch.alerts.policy import (
    MERGE_GAP_HOURS,
    OPEN_WITHIN_HOURS,
    PENDING,
    ROUTINE_LOOKBACK,
    SENT,
    TOGETHER_BEFORE_DAYS,
    TOGETHER_LOOKBACK_DAYS,
    WITHDRAWN,
    Event,
    extract_events,
    merge_alerts,
    typed_alerts,
)
from meterwatch.detect import detectors as det
from meterwatch.detect.model import (
    FORMAT_VERSION,
    MIN_HISTORY_DAYS,
    OUTAGE_SHARE,
    CustomerModel,
    fit_customer,
)
from meterwatch.ids import natural_key
from meterwatch.quality import Finding, findings_frame
from meterwatch.settings import Settings
from meterwatch.storage.base import Lake, customers_with_readings
from meterwatch.tables import MODELS, SCORES, now_utc, stored_params

Progress = Callable[[int, int, str], None]
READING_COLUMNS = ["ts", "active_kwh", "reactive_kvarh", "voltage_fa", "voltage_fc"]
# readings before the first new hour that the windows need: the centred weeks and the trailing
# reversal's reference (detectors.TRAIL_DAYS ending TRAIL_GAP_DAYS before the day)
CONTEXT_DAYS = 18
# Hours already scored within this many days of the last scored hour are scored again when new
# hours arrive: the centred windows (the level's week, the detectors' weeks) looked past the
# data's edge when they were first scored. Level (3 days ahead) + a detector week (3.5 days).
REVISE_DAYS = 7
SECTOR_DROP = 0.15  # peers this much below their expectation make a shared drop
SECTOR_FLOOR = 0.3  # a sector drop never explains more than 70 % of a customer's
MIN_SECTOR_PEERS = 2
# "Some peers fell too" (not most): at least MIN_SECTOR_PEERS and this share of the peers
# present. Two of the real data's three or four peers, as before; in a sector of hundreds, two
# is the daily churn of its customers' own idle days and losses, a quarter is a shared drop.
SOME_PEERS_SHARE = 0.25
PEER_OUTAGE_RATIO = 0.1  # a peer reporting under 10 % of its expectation is down, not dropping
# Peers whose regime level moved in lockstep with the customer's over the history (correlation
# of the daily log levels; customers 2, 3 and 4 share every campaign step at 0.99, the next
# closest pair of the real data is 0.85) are "tied": a drop they share is the customer's regime.
TIE_CORRELATION = 0.95
TIE_MIN_DAYS = 56  # days of history both must have, as MIN_SUPPORT_DAYS for a level
# A scoring run reads, per customer, only the window its new hours need (issue 13: a run
# linear in customers). Scores are read back this many days from the customer's last reading
# to find its last scored hour and the flagged hours its ongoing events are rebuilt from; a
# customer scored longer ago than that is read whole (a backlog, rare).
SCORES_LOOKBACK_DAYS = 45
# Events are rebuilt from the scores starting this long before the first hour scored again:
# an event ending more than a day (MERGE_GAP_HOURS) before it cannot merge with new flags, and
# one that was open at the last run (OPEN_WITHIN_HOURS) must be seen to close. Alerts that
# reach into this margin pull it back to their start (a long ongoing event is rebuilt whole).
EVENT_MARGIN = pd.Timedelta(hours=MERGE_GAP_HOURS + OPEN_WITHIN_HOURS + 24)
# readings an event's register check looks at before its start (alerts.registers_stepped_together)
REGISTER_DAYS = TOGETHER_BEFORE_DAYS + TOGETHER_LOOKBACK_DAYS + 1
# customers prepared, scored and written together: bounds a run's memory, not its reads
SHARD_SIZE = 250
# scores typed and handed to the transaction together, at most about this many rows: a daily
# run's shard goes in one piece, a first score's history (two years are ~17,000 rows a
# customer) in pieces of a dozen customers or so
SCORE_ROWS_WRITTEN_TOGETHER = 200_000
_EARLIEST = pd.Timestamp("1700-01-01")  # "from the start": a whole partition
# History scored walk-forward starts once a customer has this many days before an origin: the
# shape is only judged at levels seen for as long (detectors.MIN_SUPPORT_DAYS).
WALK_MIN_DAYS = det.MIN_SUPPORT_DAYS


@dataclass
class TrainResult:
    """What a training run did."""

    model_version: str
    models: pd.DataFrame  # rows written to the ``models`` table
    fallbacks: list[str] = field(default_factory=list)  # customers on the sector profile
    skipped: list[str] = field(default_factory=list)  # customers with no readings at all
    seconds: float = 0.0
    # hours of standing alerts left out of the training history (see training_exclusions)
    excluded_hours: int = 0

    @property
    def n_models(self) -> int:
        return len(self.models)


@dataclass
class ScoreResult:
    """What a scoring run did."""

    hours_scored: int = 0  # hours scored for the first time
    hours_revised: int = 0  # hours of the revision margin scored again (rows overwritten)
    history_hours: int = 0  # hours before the models' trained_until scored walk-forward
    anomalies: int = 0
    alerts_new: int = 0
    alerts_updated: int = 0
    alerts_withdrawn: int = 0  # alerts on the revised edge that no event supports any more
    customers: int = 0
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)  # new or updated alerts
    skipped: list[str] = field(default_factory=list)  # customers without a model
    # never-scored customers left for the next run (Settings.history_max_customers)
    deferred: list[str] = field(default_factory=list)
    # customers whose readings an ingest corrected (or filled in late) after their last
    # scoring, scored again from the first such hour after their models' trained_until (the
    # walk-forward history before it stays as scored; the finding names the correction)
    corrected: list[str] = field(default_factory=list)
    seconds: float = 0.0


# helpers --------------------------------------------------------------------------------------
def _readings(lake: Lake, client: str) -> pd.DataFrame:
    frame = lake.read("readings", partitions=[client], columns=READING_COLUMNS)
    return frame.sort_values("ts").reset_index(drop=True)


def _sectors(lake: Lake) -> dict[str, str | None]:
    customers = lake.read("customers", columns=["client_id", "sector"])
    return {
        str(c): (None if pd.isna(s) else str(s))
        for c, s in zip(customers["client_id"], customers["sector"], strict=True)
    }


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.reindex(columns=columns)


# train ----------------------------------------------------------------------------------------------
def training_exclusions(lake: Lake) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp, str]]]:
    """Per customer, the windows of its standing alerts that a model must not learn from.

    A theft that goes on across a retraining would otherwise become a level the customer "has
    sustained before" and stop being flagged. Every alert counts except a withdrawn one and one
    whose latest inspection found a false alarm (that consumption was real: the model should
    learn it); a confirmed loss or a meter fault is not consumption to learn either.
    Read with the tables, not SQL, so a training job needs no query permissions.
    """
    alerts = lake.read("alerts", columns=["alert_id", "client_id", "window_start", "window_end",
                                          "status"])  # fmt: skip
    if alerts.empty:
        return {}
    alerts = alerts[alerts["status"].astype(str) != WITHDRAWN]
    feedback = lake.read("feedback", columns=["feedback_id", "alert_id", "status", "created_at"])
    if not feedback.empty:
        latest = (
            feedback.sort_values(["created_at", "feedback_id"])
            .groupby("alert_id", sort=False)["status"]
            .last()
        )
        judged = alerts["alert_id"].map(latest)
        alerts = alerts[judged.astype(object).ne("false_alarm").to_numpy()]
    out: dict[str, list[tuple[pd.Timestamp, pd.Timestamp, str]]] = {}
    starts = pd.to_datetime(alerts["window_start"])
    ends = pd.to_datetime(alerts["window_end"])
    for client, start, end, alert_id in zip(
        alerts["client_id"].astype(str), starts, ends, alerts["alert_id"].astype(str), strict=True
    ):
        out.setdefault(client, []).append((start, end, alert_id))
    return out


def train(
    lake: Lake,
    *,
    clients: Iterable[str] | None = None,
    until: datetime | pd.Timestamp | Mapping[str, datetime | pd.Timestamp] | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Fit one model per customer on its readings up to ``until`` and store them.

    Parameters
    ----------
    lake
        The lake: readings are read from it, artefacts go to ``models/<client>/<version>.json``
        in its object store and the ``models`` table is rewritten (rows of other customers kept).
    clients
        Customers to train (default: every customer with readings).
    until
        Last hour a model may see (default: all readings); a mapping gives one per customer
        (the evaluation's 80/20 split), customers missing from it see all their readings.
    settings
        Runtime settings (``workers``, ``language``).
    progress
        ``progress(done, total, client)`` after each customer.

    Customers with less than ``MIN_HISTORY_DAYS`` days get the sector profile scaled to their
    own level and a ``model.insufficient_history`` data-quality finding; none crashes the run.
    The windows of standing alerts (:func:`training_exclusions`) are left out of each history:
    retraining does not learn an ongoing loss as a known level.
    """
    started = time.perf_counter()
    settings = settings or Settings()  # the defaults: an entry point passes its own
    trained_at = now_utc()
    version = trained_at.strftime("%Y%m%dT%H%M%S%fZ")
    available = customers_with_readings(lake)
    wanted = sorted(available) if clients is None else [c for c in clients if c in available]
    skipped = [] if clients is None else [c for c in clients if c not in available]
    sectors = _sectors(lake)

    exclusions = training_exclusions(lake)
    excluded: dict[str, tuple[int, list[str]]] = {}

    def history(client: str) -> pd.DataFrame:
        frame = _readings(lake, client)
        limit = until.get(client) if isinstance(until, Mapping) else until
        if limit is not None:
            frame = frame[frame["ts"] <= pd.Timestamp(limit)]
        keep = np.ones(len(frame), dtype=bool)
        ids = []
        for start, end, alert_id in exclusions.get(client, []):
            inside = ((frame["ts"] >= start) & (frame["ts"] < end)).to_numpy()
            if inside.any():
                keep &= ~inside
                ids.append(alert_id)
        if ids:
            excluded[client] = (int((~keep).sum()), ids)
        return frame[keep].reset_index(drop=True)

    def days(frame: pd.DataFrame) -> int:
        return int(frame["ts"].dt.floor("D").nunique()) if len(frame) else 0

    frames = {c: history(c) for c in wanted}
    skipped += [c for c in wanted if frames[c].empty]
    full = [c for c in wanted if days(frames[c]) >= MIN_HISTORY_DAYS]
    short = [c for c in wanted if 0 < days(frames[c]) < MIN_HISTORY_DAYS]
    total = len(full) + len(short)

    rows = []
    findings: list[Finding] = []

    def store(client: str, model: CustomerModel) -> None:
        """Write the model's artefact now and keep only its row: a fleet's models are not
        held together (10,000 customers' trees and tables peaked at 2.6 GB)."""
        if client in excluded:
            hours, ids = excluded[client]
            model.params = {**model.params, "excluded_hours": hours, "excluded_alerts": ids}
        key = f"models/{client}/{version}.json"
        lake.put_object(key, model.to_bytes())
        rows.append(
            {
                "client_id": client,
                "model_version": version,
                "format_version": FORMAT_VERSION,
                "kind": model.kind,
                "artifact_key": key,
                "trained_at": trained_at,
                "trained_from": model.trained_from,
                "trained_until": model.trained_until,
                "n_train": model.n_train,
                "mape": model.metrics.get("mape"),
                "mae": model.metrics.get("mae"),
                "coverage": model.metrics.get("coverage"),
                "params": json.dumps(model.params, default=str),
            }
        )

    work = _fits(
        fit_customer,
        (frames[c] for c in full),
        len(full),
        settings.worker_count,
        settings.fit_processes_from,
    )
    # the sector profiles the short histories fall back on
    profiles: dict[str | None, list[np.ndarray]] = {}
    for i, (client, model) in enumerate(zip(full, work, strict=True), start=1):
        profiles.setdefault(sectors.get(client), []).append(model.profile)
        store(client, model)
        del frames[client], model
        if progress:
            progress(i, total, client)
    fleet = [p for group in profiles.values() for p in group]
    for i, client in enumerate(short, start=len(full) + 1):
        peers = profiles.get(sectors.get(client)) or fleet
        profile = np.median(np.stack(peers), axis=0) if peers else None
        frame = frames.pop(client)
        store(client, fit_customer(frame, sector_profile=profile))
        findings.append(
            Finding(
                "model.insufficient_history", "warning", client,
                frame["ts"].iloc[0].to_pydatetime(), frame["ts"].iloc[-1].to_pydatetime(),
                len(frame), {"n_days": days(frame), "min_days": MIN_HISTORY_DAYS},
            )
        )  # fmt: skip
        if progress:
            progress(i, total, client)

    new_models = _models_frame(pd.DataFrame(rows))
    with lake.transaction() as tx:
        old = tx.read("models").to_pandas()
        keep = old[~old["client_id"].isin(new_models["client_id"])]
        tx.overwrite("models", _models_frame(pd.concat([keep, new_models], ignore_index=True)))
        touched = sorted({f.client_id for f in findings if f.client_id} | set(full))
        if touched:
            dq = tx.read("data_quality", partitions=touched).to_pandas()
            dq = dq[~dq["code"].astype(str).str.startswith("model.")]
            fresh = findings_frame(findings, settings.language)
            tx.overwrite_partitions(
                "data_quality", pd.concat([dq, fresh], ignore_index=True), touched
            )
    return TrainResult(
        model_version=version,
        models=new_models,
        fallbacks=short,
        skipped=skipped,
        seconds=time.perf_counter() - started,
        excluded_hours=sum(h for h, _ in excluded.values()),
    )


def _models_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=MODELS.columns).copy()
    out["format_version"] = out["format_version"].astype("int32")
    out["n_train"] = out["n_train"].astype("int64")
    for col in ("trained_from", "trained_until"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[s]")
    out["trained_at"] = pd.to_datetime(out["trained_at"], utc=True).astype("datetime64[ms, UTC]")
    for col in ("mape", "mae", "coverage"):
        out[col] = out[col].astype(float)
    return out


def load_model(lake: Lake, artifact_key: str, *, trees: bool = True) -> CustomerModel:
    """Load a stored model from the lake's model store (``trees=False``: its booster decoded
    only if the trees are run; :meth:`CustomerModel.from_bytes`)."""
    return CustomerModel.from_bytes(lake.get_object(artifact_key), trees=trees)


# score -------------------------------------------------------------------------------------------
@dataclass
class _Work:
    client: str
    model: CustomerModel
    version: str
    grid: pd.DataFrame  # readings on a regular hourly grid, context included, with predictions
    new_from: pd.Timestamp  # first hour to score (the revision margin included)
    first_new: pd.Timestamp | None = None  # first hour never scored before
    # the customer's active and reactive readings (events compare both registers around them)
    registers: pd.DataFrame | None = None


def _on_grid(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    hours = pd.date_range(frame["ts"].iloc[0], frame["ts"].iloc[-1], freq="h")
    grid = frame.set_index("ts").reindex(hours)
    grid.index.name = "ts"
    return grid.reset_index()


#: Data-quality findings of ingest that name hours already stored which changed, or arrived late
#: inside the stored period: hours to score (again) from their first one on.
REVISED_READINGS = ("readings.corrected", "readings.late")


def pending_corrections(
    lake: Lake, clients: Sequence[str], scores: Mapping[str, pd.DataFrame]
) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Per customer, the first and last hour of the readings an ingest corrected or filled in
    late after its last scoring run (its ``REVISED_READINGS`` findings detected after the last
    ``scored_at`` of ``scores``, its recent scores): hours scored on the values they replaced,
    or never scored (a gap when they were)."""
    if not clients:
        return {}
    dq = lake.read(
        "data_quality",
        partitions=list(clients),
        columns=["client_id", "code", "period_start", "period_end", "detected_at"],
    )
    dq = dq[dq["code"].isin(REVISED_READINGS)]
    out: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for client, found in dq.groupby("client_id", sort=False):
        mine = scores.get(str(client))
        if mine is None or mine.empty:
            continue
        last_run = pd.to_datetime(mine["scored_at"], utc=True).max()
        after = found[pd.to_datetime(found["detected_at"], utc=True) > last_run]
        if len(after):
            first, last = after["period_start"].min(), after["period_end"].max()
            out[str(client)] = (pd.Timestamp(first), pd.Timestamp(last))
    return out


def _revise_base(trained_until: pd.Timestamp, last_scored: pd.Timestamp | None) -> pd.Timestamp:
    """The hour after which a run scores (new hours and the revised edge start after it)."""
    if last_scored is not None and last_scored > trained_until:
        return max(trained_until, last_scored - pd.Timedelta(days=REVISE_DAYS))
    return trained_until


def _events_from(
    base: pd.Timestamp,
    last_scored: pd.Timestamp | None,
    alerts: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
) -> pd.Timestamp:
    """First hour of the scores a customer's events are rebuilt from (see ``EVENT_MARGIN``).

    Alerts reaching into the margin move it back to their start: an event that overlaps one
    of them is rebuilt whole, and the alerts before it stay out of reach of the new events.
    """
    start = min(base, last_scored if last_scored is not None else base) - EVENT_MARGIN
    reach = pd.Timedelta(hours=2 * MERGE_GAP_HOURS)
    for window_start, window_end in sorted(alerts, key=lambda a: a[1], reverse=True):
        if window_end + reach >= start:
            start = min(start, window_start - reach)
    return start


def _prepare(
    lake: Lake,
    row: pd.Series,
    readings: pd.DataFrame,
    last_scored: pd.Timestamp | None,
    corrected: pd.Timestamp | None = None,
) -> _Work | None:
    """The work of scoring a customer's new hours (None: nothing to score), from the revised
    edge on, and from ``corrected`` on: hours already scored whose readings a later ingest
    changed (never before the model's ``trained_until``)."""
    client = str(row["client_id"])
    trained_until = pd.Timestamp(row["trained_until"])
    after = trained_until
    if last_scored is not None and last_scored > after:
        after = last_scored
    new = readings["ts"] > after
    again = (
        (readings["ts"] > max(trained_until, corrected - pd.Timedelta(hours=1)))
        & (readings["ts"] <= after)
        if corrected is not None
        else pd.Series(False, index=readings.index)
    )
    if not new.any() and not again.any():
        return None
    first_new = readings.loc[new, "ts"].iloc[0] if new.any() else after + pd.Timedelta(hours=1)
    # the edge of the previous run is scored again now that the days after it exist
    start = first_new
    if last_scored is not None and last_scored > trained_until and new.any():
        revise = readings["ts"] > max(trained_until, last_scored - pd.Timedelta(days=REVISE_DAYS))
        start = min(start, readings.loc[revise, "ts"].iloc[0])
    if again.any():
        start = min(start, readings.loc[again, "ts"].iloc[0])
    context = readings[readings["ts"] >= start - pd.Timedelta(days=CONTEXT_DAYS)]
    model = load_model(lake, str(row["artifact_key"]), trees=False)
    grid = prepare_grid(model, context)
    # scoring needs the model's statistics, not its trees: free them while the run goes on
    model.drop_trees()
    registers = readings[["ts", "active_kwh", "reactive_kvarh"]]
    return _Work(client, model, str(row["model_version"]), grid, start, first_new, registers)


def prepare_grid(model: CustomerModel, readings: pd.DataFrame) -> pd.DataFrame:
    """Readings on a regular hourly grid with the model's expectation, band and level."""
    grid = _on_grid(readings[READING_COLUMNS].sort_values("ts").reset_index(drop=True))
    grid["present"] = grid["active_kwh"].notna()
    return pd.concat([grid, model.predict(grid)], axis=1)


def score_readings(
    model: CustomerModel,
    readings: pd.DataFrame,
    new_from: pd.Timestamp,
    *,
    client_id: str = "",
    model_version: str = "",
) -> pd.DataFrame:
    """Score one customer's readings from ``new_from`` on (earlier rows are context only).

    The pure core of :func:`score` without the lake and without sector peers: rows of the
    ``scores`` table for the hours at or after ``new_from``.
    """
    work = _Work(client_id, model, model_version, prepare_grid(model, readings), new_from)
    return _score_rows(work, pd.Series(dtype=float), now_utc())


def _daily_ratio(grid: pd.DataFrame) -> pd.Series:
    """Per day with readings: reported over expected energy of its read hours, 0 to 2."""
    present = grid["present"].to_numpy(dtype=bool)
    days, (sum_a, sum_e) = det.calendar_day_sums(
        pd.DatetimeIndex(grid["ts"])[present],
        grid["active_kwh"].to_numpy(dtype=float)[present],
        grid["expected_kwh"].to_numpy(dtype=float)[present],
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sum_e > 0, sum_a / sum_e, np.nan)
    return pd.Series(ratio, index=days, dtype=float).clip(0, 2)


def tied_peers(
    levels: dict[str, pd.Series], sectors: dict[str, str | None]
) -> dict[str, list[str]]:
    """Per customer, the sector peers whose regime level moved in lockstep with its own.

    ``levels`` are the histories' daily regime levels (``CustomerModel.level_series``). Each
    is taken relative to its median, in log terms (outage days below ``OUTAGE_SHARE`` of the
    median left out); a peer is tied when the two series correlate at ``TIE_CORRELATION`` or
    more over at least ``TIE_MIN_DAYS`` common days. Customers whose level never moved have
    no co-movement to learn and tie to nobody (their correlation is noise).
    """
    by_sector: dict[str, list[str]] = {}
    for client in levels:
        sector = sectors.get(client)
        if sector is not None and not levels[client].empty:
            by_sector.setdefault(sector, []).append(client)
    out: dict[str, list[str]] = {c: [] for c in levels}
    for members in by_sector.values():
        if len(members) < 2:
            continue
        # the sector's levels on their common calendar, one column per customer
        table = pd.DataFrame({c: levels[c].astype(float) for c in members})
        values = table.to_numpy(dtype=float)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
            median = np.nanmedian(values, axis=0)
            keep = np.isfinite(median) & (median > 0)
            values, median = values[:, keep], median[keep]
            values = np.log(np.where(values > OUTAGE_SHARE * median, values, np.nan) / median)
        if values.shape[1] < 2:
            continue
        names = np.asarray([str(c) for c in table.columns[keep]], dtype=object)
        for i, peers in _correlated_columns(values):
            out[names[i]] = sorted(names[peers].tolist())
    return out


TIE_BLOCK_CELLS = 500_000  # correlations computed per block of columns: ~4 MB an array


def _correlated_columns(values: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Per column of ``values`` (days x customers, NaN = missing), the other columns whose
    Pearson correlation over their common days is at least ``TIE_CORRELATION`` with at
    least ``TIE_MIN_DAYS`` common days: ``DataFrame.corr(min_periods=...)``'s pairwise
    complete correlation, from sums over the common days that are matrix products, a block of
    columns against all at a time. Memory is a few blocks of ``TIE_BLOCK_CELLS``, not the
    customers-squared matrix; the work is BLAS's, not a Python-level pair loop (a sector of
    2,000 customers took 10 s with ``DataFrame.corr``)."""
    n = values.shape[1]
    # centred per column first (the correlation does not change; the sums lose less)
    m = np.isfinite(values).astype(float)
    centre = np.nansum(values, axis=0) / np.maximum(m.sum(axis=0), 1.0)
    x = np.where(m > 0, values - centre, 0.0)
    x2 = x * x
    block = max(1, TIE_BLOCK_CELLS // max(n, 1))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        mb, xb, x2b = m[:, lo:hi], x[:, lo:hi], x2[:, lo:hi]
        count = mb.T @ m  # common days of each pair
        sx, sy = xb.T @ m, mb.T @ x  # each side's sum over the common days
        sxx, syy = x2b.T @ m, mb.T @ x2
        sxy = xb.T @ x
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = sxy - sx * sy / count
            vx = sxx - sx * sx / count
            vy = syy - sy * sy / count
            # a series flat over the common days has no correlation (pandas: NaN)
            flat = (vx <= 1e-12 * np.maximum(sxx, 1.0)) | (vy <= 1e-12 * np.maximum(syy, 1.0))
            r = np.where(flat | (count < TIE_MIN_DAYS), np.nan, cov / np.sqrt(vx * vy))
        for k in range(hi - lo):
            row = r[k]
            row[lo + k] = np.nan
            yield lo + k, np.flatnonzero(row >= TIE_CORRELATION)


def _sector_tables(
    ratios: dict[str, pd.Series], sectors: dict[str, str | None]
) -> Iterator[tuple[str | None, list[str], pd.DataFrame]]:
    """Per sector (``None``: customers without one), its customers and their daily ratios
    side by side (days x customers)."""
    by_sector: dict[str | None, list[str]] = {}
    for client in ratios:
        by_sector.setdefault(sectors.get(client), []).append(client)
    for sector, members in by_sector.items():
        yield sector, members, pd.DataFrame({c: ratios[c] for c in members})


def sector_factors(
    ratios: dict[str, pd.Series],
    sectors: dict[str, str | None],
    tied: dict[str, list[str]] | None = None,
) -> dict[str, pd.Series]:
    """Per customer and day, how far its sector peers fell below their own expectation.

    The factor is the ratio reported/expected that a majority of the customer's sector peers
    fell to: of its n peers present that day, the (n // 2 + 1)-th lowest (the second of two
    or three, the third of four or five), so that peers in trouble of their own (a theft, an
    idle spell) are not a sector drop unless they are most of it; peers near zero are outages
    and left out. It is 1 when that peer did not fall by more than ``SECTOR_DROP``, and never
    below ``SECTOR_FLOOR``.

    A customer with ``tied`` peers (see :func:`tied_peers`) follows them: on a day every tied
    peer present fell by more than ``SECTOR_DROP``, the customer's own ratio is taken as the
    factor (as deep as the shared drop takes it, never below ``SECTOR_FLOOR``): a level move
    the peers that shared every earlier regime change share too is a regime, not a loss.
    """
    out: dict[str, pd.Series] = {}
    for sector, members, table in _sector_tables(ratios, sectors):
        # a peer's stopped meter is its own outage, not a drop of the sector's demand
        table = table.where(table >= PEER_OUTAGE_RATIO)
        if sector is None or len(members) < 2:
            for client in members:
                out[client] = pd.Series(1.0, index=table.index)
            continue
        values = table.to_numpy(dtype=float)
        present = np.isfinite(values)
        total = present.sum(axis=1)
        # Of a customer's n peers present, the (n // 2 + 1)-th lowest ratio is the sector's
        # k-th lowest of the day, or its (k + 1)-th where the customer itself is among the k
        # lowest: one sort of the sector per day, not one per customer (linear in its size).
        ordered = np.sort(values, axis=1)  # NaN last
        ordered = np.concatenate([ordered, np.full((len(values), 1), np.nan)], axis=1)
        day = np.arange(len(values))
        last = ordered.shape[1] - 1
        for j, client in enumerate(members):
            own = values[:, j]
            counts = total - present[:, j]
            k = counts // 2 + 1  # a majority of the peers present
            kth = ordered[day, np.clip(k - 1, 0, last)]
            among = np.where(present[:, j] & (own <= kth), ordered[day, np.clip(k, 0, last)], kth)
            most = np.where(counts >= 2, among, 1.0)
            factor = np.where((counts >= MIN_SECTOR_PEERS) & (most < 1 - SECTOR_DROP),
                              np.maximum(most, SECTOR_FLOOR), 1.0)  # fmt: skip
            mine = [p for p in (tied or {}).get(client, []) if p in table.columns and p != client]
            if mine:
                shared = table[mine]
                dropped = (shared.notna().sum(axis=1) >= 1) & (
                    (shared < 1 - SECTOR_DROP) | shared.isna()
                ).all(axis=1)
                mine_own = table[client].clip(upper=1.0).fillna(1.0).clip(lower=SECTOR_FLOOR)
                factor = np.where(
                    dropped.to_numpy(), np.minimum(factor, mine_own.to_numpy()), factor
                )
            out[client] = pd.Series(factor, index=table.index)
    return out


def peers_fallen(
    ratios: dict[str, pd.Series], sectors: dict[str, str | None]
) -> dict[str, pd.Series]:
    """Per customer and day, whether some of its sector peers fell by more than
    ``SECTOR_DROP``: at least ``MIN_SECTOR_PEERS`` of them and ``SOME_PEERS_SHARE`` of the
    peers present (outages under ``PEER_OUTAGE_RATIO`` left out of both, as in
    :func:`sector_factors`).

    Where some fell but not most of them, the sector factor leaves the expectation alone; the
    customer's event is still raised, and this names the peers' partial drop in its evidence
    and lowers its confidence (a holiday two of four plants share). A share, not a count:
    in a large sector a few peers fall on any day for reasons of their own.
    """
    out: dict[str, pd.Series] = {}
    for sector, members, table in _sector_tables(ratios, sectors):
        if sector is None or len(members) < 2:
            for client in members:
                out[client] = pd.Series(False, index=table.index)
            continue
        values = table.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            up = values >= PEER_OUTAGE_RATIO
            fell = up & (values < 1 - SECTOR_DROP)
        total, present = fell.sum(axis=1), up.sum(axis=1)
        for j, client in enumerate(members):
            count, peers = total - fell[:, j], present - up[:, j]
            some = (count >= MIN_SECTOR_PEERS) & (count >= SOME_PEERS_SHARE * peers)
            out[client] = pd.Series(some, index=table.index)
    return out


def _score_rows(
    work: _Work, factor: pd.Series, scored_at: pd.Timestamp, fallen: pd.Series | None = None
) -> pd.DataFrame:
    grid = work.grid
    day = grid["ts"].dt.floor("D")
    f = factor.reindex(day).fillna(1.0).to_numpy()
    some = (
        fallen.reindex(day).fillna(False).to_numpy(dtype=bool) & (f >= 1.0)
        if fallen is not None
        else np.zeros(len(f), dtype=bool)
    )
    adjusted = grid.copy(deep=False)  # copy-on-write: the grid itself is not changed
    adjusted["expected_kwh"] = grid["expected_kwh"].to_numpy() * f
    hourly = det.detect(adjusted, work.model.stats)
    flagged = hourly["flag"].to_numpy()
    labels = hourly["detectors"].to_numpy().astype(object)
    evidence = {
        "reactive": hourly["reactive"].to_numpy(),
        "voltage_collapse": hourly["voltage_collapse"].to_numpy(),
        "voltage_divergence": (hourly["voltage"] & ~hourly["voltage_collapse"]).to_numpy(),
        "sector": f < 1.0,
        "sector_some": some,
    }
    for name, mask in evidence.items():
        add = flagged & mask
        labels[add] = [f"{lbl},{name}" if lbl else name for lbl in labels[add]]
    scale = adjusted["expected_kwh"].to_numpy()
    lower = grid["lower_kwh"].to_numpy() * f
    upper = grid["upper_kwh"].to_numpy() * np.where(f < 1, 1.0, f)
    keep = (grid["present"].to_numpy()) & (grid["ts"] >= work.new_from).to_numpy()
    rows = pd.DataFrame(
        {
            "client_id": work.client,
            "ts": grid["ts"].to_numpy()[keep],
            "active_kwh": grid["active_kwh"].to_numpy()[keep],
            "expected_kwh": scale[keep],
            "lower_kwh": lower[keep],
            "upper_kwh": upper[keep],
            "score": np.round(hourly["score"].to_numpy()[keep], 4),
            "is_anomaly": flagged[keep].astype("int8"),
            "detectors": labels[keep],
            "model_version": work.version,
            "scored_at": scored_at,
        }
    )
    return rows


def walk_forward_origins(
    first: Mapping[str, pd.Timestamp], until: Mapping[str, pd.Timestamp], step_days: int
) -> list[pd.Timestamp]:
    """Midnights from the earliest customer's ``WALK_MIN_DAYS``-th day on, ``step_days``
    apart, up to the last ``until``: where the walk-forward models of the history start."""
    if not first or step_days <= 0:
        return []
    start = min(pd.Timestamp(t) for t in first.values()) + pd.Timedelta(days=WALK_MIN_DAYS)
    end = max(pd.Timestamp(t) for t in until.values())
    return list(pd.date_range(start.ceil("D"), end, freq=f"{step_days}D"))


@dataclass
class _WalkTask:
    """One walk-forward model: the readings it is fitted on and the ones it scores, and the
    customer's model of the origin before (fitted on the readings before ``previous_origin``),
    which calibrates this one (:func:`~meterwatch.detect.model.fit_customer`)."""

    before: pd.DataFrame
    context: pd.DataFrame
    previous: CustomerModel | None = None
    previous_origin: pd.Timestamp | None = None
    # the model calibrates the customer's next origin: its trees travel back (as bytes), as a
    # level the shape table does not hold (a rise) runs them
    keep_trees: bool = False


def _walk_one(task: _WalkTask) -> tuple[CustomerModel, pd.DataFrame]:
    """Fit a walk-forward model and put its context on the grid; the trees are dropped (scoring
    reads the shape table), so what travels back from a worker process is small."""
    calibrated_by = (
        (task.previous, task.previous_origin)
        if task.previous is not None and task.previous_origin is not None
        else None
    )
    model = fit_customer(task.before.reset_index(drop=True), calibrated_by=calibrated_by)
    grid = prepare_grid(model, task.context.reset_index(drop=True))
    model.drop_trees(keep_stored=task.keep_trees)
    return model, grid


#: Fits handed to the workers ahead of the one being read, per worker: enough to keep them
#: busy, few enough that the readings they are fitted on (sliced when handed over) stay few.
FITS_AHEAD = 8


def _pool(n: int, workers: int, processes_from: int) -> Executor:
    """Worker processes for ``n`` fits where :func:`_fits` says so, else threads."""
    if workers > 1 and 0 < processes_from <= n:
        try:
            return ProcessPoolExecutor(
                max_workers=min(workers, n), mp_context=multiprocessing.get_context("spawn")
            )
        except (OSError, NotImplementedError, PermissionError) as exc:
            warnings.warn(f"model fits in threads: no worker processes ({exc})", stacklevel=3)
    return ThreadPoolExecutor(max_workers=max(1, workers))


def _chained_fits(
    fn: Callable[[Any], Any],
    build: Callable[[int, Any], Any],
    previous: Sequence[int],
    workers: int,
    processes_from: int,
    carry: Callable[[Any], Any] = lambda result: result,
) -> Iterator[Any]:
    """``fn(build(i, result of task previous[i]))`` for each task ``i`` in order, as
    :func:`_fits`, where a task needs the result of an earlier one (``previous[i]`` < ``i``,
    or -1 for none): the walk-forward's model of a customer's origin calibrates the model of
    its next origin. A task is handed over once the one it needs is done (a wait, if any, of
    the main process, never of a worker); at most ``FITS_AHEAD`` per worker ahead of the one
    being read, and a result (``carry`` of it: what the next task needs) is kept only until
    the task that needs it is handed over.
    """
    n = len(previous)
    if n == 0:
        return
    pool = _pool(n, workers, processes_from)
    futures: dict[int, Future[Any]] = {}
    done: dict[int, Any] = {}  # results read, still needed by a task not handed over
    following = dict.fromkeys(range(n), -1)  # the task that needs each task's result
    for j, p in enumerate(previous):
        if p >= 0:
            following[p] = j
    handed = 0

    def hand_over(j: int) -> None:
        p = previous[j]
        before = None
        if p >= 0:
            before = done.pop(p) if p in done else carry(futures[p].result())
        futures[j] = pool.submit(fn, build(j, before))

    try:
        for i in range(n):
            while handed < n and (handed <= i or handed - i < FITS_AHEAD * max(1, workers)):
                hand_over(handed)
                handed += 1
            result = futures.pop(i).result()
            if following[i] >= handed:  # its follower is not handed over yet
                done[i] = carry(result)
            yield result
    except BrokenProcessPool as exc:
        raise RuntimeError(
            "a model-fitting worker process died (a worker imports the program's main "
            'module: guard its top level with `if __name__ == "__main__":`, or set '
            "fit_processes_from to 0 for threads)"
        ) from exc
    finally:  # a run that fails (or stops reading) does not wait for the fits not started
        pool.shutdown(wait=True, cancel_futures=True)


def _fits(
    fn: Callable[[Any], Any], items: Iterable[Any], n: int, workers: int, processes_from: int
) -> Iterator[Any]:
    """``fn`` of each of the ``n`` items, in order, the items drawn only as the workers need
    them: model fits (``fn`` a module-level function where processes may run it), or any
    per-customer work in threads (``processes_from`` 0).

    The fits hold Python's lock for most of their time (pandas and numpy between the trees), so
    threads share about one core's worth of it: with ``processes_from`` items or more and more
    than one worker they run in worker processes (started fresh: ``spawn`` is safe whatever
    threads this process holds). Where processes cannot start (AWS Lambda has no ``/dev/shm``
    for their locks) the fits fall back to threads. At most ``FITS_AHEAD`` items per worker are
    handed over ahead of the result being read, so an iterator that slices readings keeps
    memory bounded whatever the number of fits.
    """
    drawn = iter(items)  # items are handed over in order: the next one is the one asked for
    yield from _chained_fits(fn, lambda _i, _before: next(drawn), [-1] * n, workers, processes_from)


def _history_scores(
    readings: Mapping[str, pd.DataFrame],
    rows: Sequence[pd.Series],
    sectors: dict[str, str | None],
    tied: dict[str, list[str]],
    settings: Settings,
    scored_at: pd.Timestamp,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """Score customers' histories walk-forward: ``scores`` rows up to each ``trained_until``.

    For each origin (:func:`walk_forward_origins`) every customer with ``WALK_MIN_DAYS`` of
    readings before it gets a model fitted only on the readings before the origin, which
    scores the next ``settings.history_step_days`` days exactly as new hours are scored
    (same context, sector peers, detectors). Flagged hours are *not* left out of later fits:
    doing so kept a level that fell and stayed unknown for ever, and flagged it quarter after
    quarter (real data: 171 raised alerts against 127; customer 18's negative block merged into
    an 18-month event). A loss that outlasts its quarter is therefore learnt by the next model
    once sustained (10 of 15 days): its alert keeps its true start, its end may come early.
    This is what puts the real events of a lake's history in the inbox on day one,
    each with its true start, instead of only the hours after the last training.
    """
    step = pd.Timedelta(days=settings.history_step_days)
    readings = {c: f for c, f in readings.items() if not f.empty}
    until = {str(r["client_id"]): pd.Timestamp(r["trained_until"]) for r in rows}
    first = {c: f["ts"].iloc[0] for c, f in readings.items()}
    origins = walk_forward_origins(
        first, {c: until[c] for c in readings}, settings.history_step_days
    )
    lookahead = pd.Timedelta(days=REVISE_DAYS)
    context_before = pd.Timedelta(days=CONTEXT_DAYS)
    # every (origin, customer) model in one queue, in order: the fits do not depend on each
    # other, so the workers never wait at an origin while the one before it is scored
    tasks: list[tuple[int, str]] = []
    for k, origin in enumerate(origins):
        end = origin + step
        for client in sorted(readings):
            if first[client] + pd.Timedelta(days=WALK_MIN_DAYS) > origin or origin > until[client]:
                continue
            ts = readings[client]["ts"]
            if not ((ts >= origin) & (ts < end + lookahead) & (ts <= until[client])).any():
                continue  # nothing of the origin's quarter to score
            tasks.append((k, client))

    # each customer's model of an origin calibrates its model of the next one
    latest: dict[str, int] = {}
    previous: list[int] = []
    for i, (_, client) in enumerate(tasks):
        previous.append(latest.get(client, -1))
        latest[client] = i
    followed = {p for p in previous if p >= 0}

    def walk_task(i: int, before: CustomerModel | None) -> _WalkTask:
        """The readings a walk-forward fit needs, sliced only when it is handed over."""
        k, client = tasks[i]
        origin = origins[k]
        frame = readings[client]
        ts = frame["ts"]
        context = frame[(ts >= origin - context_before) & (ts < origin + step + lookahead)]
        task = _WalkTask(frame[ts < origin], context, keep_trees=i in followed)
        if before is not None:
            task.previous, task.previous_origin = before, origins[tasks[previous[i]][0]]
        return task

    out: dict[str, list[pd.DataFrame]] = {c: [] for c in readings}

    def score_origin(k: int, works: list[_Work]) -> None:
        origin = origins[k]
        end = origin + step
        inside = {w.client: w.grid[(w.grid["ts"] >= origin) & (w.grid["ts"] < end)] for w in works}
        ratios = {c: _daily_ratio(g) for c, g in inside.items()}
        factors = sector_factors(ratios, sectors, tied)
        fallen = peers_fallen(ratios, sectors)
        for w in works:
            scored = _score_rows(w, factors[w.client], scored_at, fallen[w.client])
            scored = scored[(scored["ts"] < end) & (scored["ts"] <= until[w.client])]
            out[w.client].append(scored)

    pending: list[_Work] = []
    current = -1
    fitted = _chained_fits(
        _walk_one,
        walk_task,
        previous,
        settings.worker_count,
        settings.fit_processes_from,
        carry=lambda result: result[0],  # the model; its grid is scored here, not carried
    )
    for (k, client), (model, grid) in zip(tasks, fitted, strict=True):
        if k != current:
            if pending:
                score_origin(current, pending)
            if progress:
                for j in range(current + 1, k + 1):
                    progress(j + 1, len(origins), f"{origins[j]:%Y-%m-%d}")
            pending, current = [], k
        origin = origins[k]
        # scored with the shape table: a copy without the trees (the next origin's fit may
        # still be reading them)
        model = model.without_trees()
        pending.append(_Work(client, model, f"walk-{origin:%Y%m%d}", grid, origin, origin))
    if pending:
        score_origin(current, pending)
    if progress:
        for j in range(current + 1, len(origins)):
            progress(j + 1, len(origins), f"{origins[j]:%Y-%m-%d}")
    return {c: pd.concat(parts, ignore_index=True) for c, parts in out.items() if parts}


def _typed_scores(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reindex(columns=SCORES.columns).copy()
    out["ts"] = pd.to_datetime(out["ts"]).astype("datetime64[s]")
    out["is_anomaly"] = out["is_anomaly"].astype("int8")
    out["scored_at"] = pd.to_datetime(out["scored_at"], utc=True).astype("datetime64[ms, UTC]")
    out["detectors"] = out["detectors"].astype(str)
    return out


def _model_quality(model: CustomerModel) -> float:
    """0 to 1: how far the model's held-out coverage is from nominal (fallbacks get 0.3)."""
    if model.kind != "xgboost":
        return 0.3
    coverage = model.metrics.get("coverage", float("nan"))
    if not np.isfinite(coverage):
        return 0.5
    return float(np.clip(1 - abs(coverage - 0.95) * 4, 0.2, 1.0))


def deliver_pending(lake: Lake, sinks: Sequence[Any], language: str) -> pd.DataFrame:
    """Send every alert whose delivery is pending to every sink, then mark them sent.

    The second half of the transactional outbox (``alerts._mark_notified``): alerts are
    committed ``pending`` with the scores; a run killed before or while sending, or a sink that
    fails, leaves them pending and the next run sends them (at least once). Returns the alerts
    sent.
    """
    alerts = lake.read("alerts")
    if alerts.empty:
        return alerts
    pending = alerts["params"].map(lambda p: stored_params(p).get("delivery") == PENDING)
    batch = typed_alerts(alerts[pending.to_numpy()]).reset_index(drop=True)
    if batch.empty:
        return batch
    for sink in sinks:
        sink.send(batch, language)  # a failure raises: the batch stays pending
    ids = set(batch["alert_id"])
    with lake.transaction() as tx:
        current = tx.read("alerts").to_pandas()

        def sent(row: pd.Series) -> str:
            params = stored_params(row["params"])
            if row["alert_id"] in ids and params.get("delivery") == PENDING:
                params["delivery"] = SENT
            return json.dumps(params, ensure_ascii=False, default=str)

        if not current.empty:
            current["params"] = current.apply(sent, axis=1)
            tx.overwrite("alerts", typed_alerts(current))
    return batch


def score(
    lake: Lake,
    *,
    sinks: Sequence[Any] = (),
    settings: Settings | None = None,
    progress: Progress | None = None,
    clients: Iterable[str] | None = None,
) -> ScoreResult:
    """Score new hours (:func:`score_new`), then deliver every pending alert
    (:func:`deliver_pending`); ``result.alerts`` are the alerts delivered.

    Without ``clients``, a fleet larger than ``settings.scoring_shard_size`` is scored in
    shards of whole sectors one after the other (:func:`scoring_shards`; the same scores and
    alerts as one run, each shard its own commit, but for a sector larger than a shard, scored
    in parts): the process holds one shard, not the fleet.
    A run killed between two shards leaves the shards before it committed; the next run scores
    the rest.
    """
    settings = settings or Settings()  # the defaults: an entry point passes its own
    shards = scoring_shards(lake, settings.scoring_shard_size) if clients is None else []
    if len(shards) > 1:
        started = time.perf_counter()
        parts = [
            score_new(lake, settings=settings, progress=progress, clients=shard) for shard in shards
        ]
        result = _combined(parts)
        modelled = {c for shard in shards for c in shard}
        result.skipped = sorted(set(customers_with_readings(lake)) - modelled)
        result.seconds = time.perf_counter() - started
    else:
        result = score_new(lake, settings=settings, progress=progress, clients=clients)
    result.alerts = deliver_pending(lake, sinks, settings.language)
    return result


def score_new(
    lake: Lake,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
    clients: Iterable[str] | None = None,
) -> ScoreResult:
    """Score every customer's new hours, write ``scores`` and ``alerts``, queue the alerts.

    ``clients``, when given, limits the run to those customers: a shard of whole sectors
    (:func:`scoring_shards`; the sector factors and tied peers compare a customer with its
    sector's customers of the same run), so that shards scored one after the other give the
    scores and alerts of one run over all of them.

    New hours are the readings after the model's ``trained_until`` and after the last hour
    already in ``scores``, so running it twice scores nothing twice. When a customer has new
    hours, its last ``REVISE_DAYS`` days already scored are scored again and their rows
    overwritten (one row per customer-hour): the centred windows saw past the data's edge the
    first time, and scoring day by day then gives the scores of scoring the period at once.
    Events are rebuilt from each touched customer's recent scores (``EVENT_MARGIN`` before the
    revised edge, back to the start of any alert reaching into it); an event that goes on
    updates its alert (same id, new ``updated_at``); an alert on the revised edge that no event
    supports any more is withdrawn (status ``withdrawn``). Each sink's ``send(alerts, language)``
    receives the new and withdrawn alerts and the updates that matter (severity up, event
    ended, estimated loss 1.5 times what was last sent): an ongoing alert does not repeat
    itself every day.

    Cost is linear in customers: customers are handled in shards of ``SHARD_SIZE``, each
    shard's recent scores and readings windows in one read each (a never-scored customer's
    whole history, once), and only the windows are kept until the one commit.
    """
    started = time.perf_counter()
    settings = settings or Settings()  # the defaults: an entry point passes its own
    result = ScoreResult()
    models = lake.read("models")
    if models.empty:
        return result
    available = set(customers_with_readings(lake))
    if clients is not None:
        available &= {str(c) for c in clients}
    rows = [r for _, r in models.iterrows() if r["client_id"] in available]
    result.skipped = sorted(available - {str(r["client_id"]) for r in rows})
    customers = lake.read("customers", columns=["client_id", "sector", "last_ts"])
    sectors = {
        str(c): (None if pd.isna(s) else str(s))
        for c, s in zip(customers["client_id"], customers["sector"], strict=True)
    }
    last_reading = {
        str(c): pd.Timestamp(t)
        for c, t in zip(customers["client_id"], customers["last_ts"], strict=True)
        if not pd.isna(t)
    }
    alert_windows: dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]] = {}
    for c, a, b in lake.read(
        "alerts", columns=["client_id", "window_start", "window_end"]
    ).itertuples(index=False):
        alert_windows.setdefault(str(c), []).append((pd.Timestamp(a), pd.Timestamp(b)))

    spill = tempfile.TemporaryDirectory(prefix="meterwatch-score-")
    try:
        return _score_shards(lake, settings, progress, result, started, rows, sectors,
                             last_reading, alert_windows, Path(spill.name))  # fmt: skip
    finally:
        spill.cleanup()


def _combined(parts: Sequence[ScoreResult]) -> ScoreResult:
    """The counts of several shards' runs added up, their lists of customers joined."""
    out = ScoreResult()
    for part in parts:
        out.hours_scored += part.hours_scored
        out.hours_revised += part.hours_revised
        out.history_hours += part.history_hours
        out.anomalies += part.anomalies
        out.alerts_new += part.alerts_new
        out.alerts_updated += part.alerts_updated
        out.alerts_withdrawn += part.alerts_withdrawn
        out.customers += part.customers
        out.deferred += part.deferred
        out.corrected += part.corrected
    return out


def scoring_shards(lake: Lake, max_customers: int) -> list[list[str]]:
    """The customers with a model, in shards of at most ``max_customers`` for runs of
    :func:`score_new` one shard at a time: a customer is compared with its sector's
    customers of the same run, so a sector is kept whole where the bound allows. A larger
    sector is split into near-equal parts in customer order (a shard's memory grows with its
    customers: ~0.37 MiB each, docs/deploy.md); its customers' sector factors are then those
    of their part, the ratio a majority of the part fell to, which for parts of over a
    thousand customers is the sector's within its sampling noise (tied peers in different
    parts are not recognised as tied). Customers without a sector have no peers and fill the
    shards' room. Largest units first, each into the first shard with room (first-fit
    decreasing): few shards, each under the bound."""
    if max_customers < 1:
        raise ValueError("max_customers must be at least 1")
    modelled = {str(c) for c in lake.read("models", columns=["client_id"])["client_id"]}
    customers = lake.read("customers", columns=["client_id", "sector"])
    groups: dict[str, list[str]] = {}
    alone: list[str] = []
    for client, sector in zip(customers["client_id"], customers["sector"], strict=True):
        if str(client) not in modelled:
            continue
        if isinstance(sector, str) and sector:
            groups.setdefault(sector, []).append(str(client))
        else:
            alone.append(str(client))
    return pack_shards(groups, alone, max_customers)


def pack_shards(
    groups: Mapping[str, Sequence[str]], alone: Sequence[str], max_customers: int
) -> list[list[str]]:
    """:func:`scoring_shards` of customers grouped by sector (``alone``: without one)."""
    units: list[list[str]] = []
    for members in groups.values():
        parts = -(-len(members) // max_customers)  # ceil: a sector beyond the bound in parts
        ordered = sorted(members, key=natural_key)
        size, extra = divmod(len(ordered), parts)
        start = 0
        for k in range(parts):
            end = start + size + (1 if k < extra else 0)
            units.append(ordered[start:end])
            start = end
    units.sort(key=lambda g: (-len(g), g[0]))
    shards: list[list[str]] = []
    for unit in units:
        room = next((s for s in shards if len(s) + len(unit) <= max_customers), None)
        if room is None:
            shards.append(list(unit))
        else:
            room.extend(unit)
    for client in sorted(alone):
        room = next((s for s in shards if len(s) < max_customers), None)
        if room is None:
            shards.append([client])
        else:
            room.append(client)
    return shards


def _score_shards(
    lake: Lake,
    settings: Settings,
    progress: Progress | None,
    result: ScoreResult,
    started: float,
    rows: list[pd.Series],
    sectors: dict[str, str | None],
    last_reading: dict[str, pd.Timestamp],
    alert_windows: dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]],
    spill: Path,
) -> ScoreResult:
    """:func:`score_new` after its one read of the small tables.

    Each shard's scoring windows are prepared, reduced to their daily ratios (all the sector
    factors need) and spilled to ``spill`` until the factors are known: a run's memory holds
    one shard, not the fleet.
    """
    history_on = settings.history_step_days > 0
    works: list[_Work] = []
    ratios: dict[str, pd.Series] = {}
    spilled: list[tuple[Path, list[str]]] = []
    whole: dict[str, pd.DataFrame] = {}  # never-scored customers' readings (walk-forward)
    recent: dict[str, pd.DataFrame] = {}  # scores kept for the events (from events_from on)
    events_from: dict[str, pd.Timestamp] = {}  # absent: rebuilt from the whole partition
    unscored: list[pd.Series] = []
    fitted: dict[str, CustomerModel] = {}
    done = 0
    fresh_taken = 0  # never-scored customers taken this run (Settings.history_max_customers)
    for shard in [rows[i : i + SHARD_SIZE] for i in range(0, len(rows), SHARD_SIZE)]:
        clients = [str(r["client_id"]) for r in shard]
        lowest = _EARLIEST
        lookback = pd.Timedelta(days=SCORES_LOOKBACK_DAYS)
        # Which customers were scored before is read from the scores themselves, not from a
        # listing of the table's partitions (every data file's customer column, issue 13):
        # the recent window of every customer of the shard, then the whole partition of those
        # with none there (scored long ago, or never: a new customer, rare after the first run)
        old = lake.read_since(
            "scores", {c: last_reading.get(c, lowest + lookback) - lookback for c in clients}
        )
        old_by = {str(c): f for c, f in old.groupby("client_id", sort=False)}
        unknown = [c for c in clients if c not in old_by]
        if unknown:
            older = lake.read("scores", partitions=unknown)
            old_by.update({str(c): f for c, f in older.groupby("client_id", sort=False)})
        missing = [c for c in unknown if c in old_by]  # scored long ago: read whole
        seen = [c for c in clients if c in old_by]
        if history_on and settings.history_max_customers:
            # a first score walks the whole history (~6 MB, ~1.7 CPU s a customer of two
            # years): beyond the bound, never-scored customers wait for the next run, whole
            fresh = [c for c in clients if c not in old_by]
            room = max(settings.history_max_customers - fresh_taken, 0)
            later = set(fresh[room:])
            fresh_taken += len(fresh) - len(later)
            if later:
                result.deferred.extend(c for c in clients if c in later)
                shard = [r for r in shard if str(r["client_id"]) not in later]
                clients = [c for c in clients if c not in later]
                done += len(later)
                if not shard:
                    continue
        last_scored = {c: pd.Timestamp(f["ts"].max()) for c, f in old_by.items()}
        corrected = pending_corrections(lake, seen, old_by)
        read_from: dict[str, pd.Timestamp] = {}
        for r in shard:
            c = str(r["client_id"])
            if c not in seen:
                # never scored: the whole history (walk-forward), events from the new scores
                read_from[c] = lowest
                events_from[c] = lowest
                recent[c] = pd.DataFrame(columns=SCORES.columns)
                continue
            trained_until = pd.Timestamp(r["trained_until"])
            base = _revise_base(trained_until, last_scored.get(c))
            if c in corrected and corrected[c][1] <= trained_until:
                del corrected[c]  # inside the walk-forward history only: those scores stay
            if c in corrected:
                result.corrected.append(c)
                base = min(base, max(trained_until, corrected[c][0] - pd.Timedelta(hours=1)))
            start = _events_from(base, last_scored.get(c), alert_windows.get(c, []))
            frame = old_by[c]
            if c not in missing and start < last_reading.get(c, lowest) - lookback:
                # the events reach further back than the scores read: whole partition (rare)
                read_from[c] = lowest
                continue
            events_from[c] = start
            # and the weeks before, where a weekly routine is recognised (policy.weekly_routine)
            recent[c] = frame[frame["ts"] >= start - ROUTINE_LOOKBACK]
            read_from[c] = min(
                start - pd.Timedelta(days=REGISTER_DAYS), base - pd.Timedelta(days=CONTEXT_DAYS)
            )
        readings = lake.read_since("readings", read_from, columns=["client_id", *READING_COLUMNS])
        by_client = {
            str(c): f.drop(columns="client_id").sort_values("ts").reset_index(drop=True)
            for c, f in readings.groupby("client_id", sort=False)
        }
        del readings, old, old_by
        empty = pd.DataFrame(columns=READING_COLUMNS)
        jobs = [(r, by_client.get(str(r["client_id"]), empty)) for r in shard]

        def prepare(
            job: tuple[pd.Series, pd.DataFrame],
            last: dict[str, Any] = last_scored,
            fixes: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = corrected,
        ) -> Any:
            row, frame = job
            client = str(row["client_id"])
            fix = fixes.get(client)
            return _prepare(lake, row, frame, last.get(client), fix[0] if fix else None)

        prepared = list(_fits(prepare, jobs, len(jobs), settings.worker_count, 0))
        for row, work in zip(shard, prepared, strict=True):
            c = str(row["client_id"])
            if work is not None:
                works.append(work)
                fitted[c] = work.model
            if c not in seen and history_on:
                unscored.append(row)
                whole[c] = by_client.get(c, empty)
                if c not in fitted:
                    fitted[c] = load_model(lake, str(row["artifact_key"]), trees=False)
                    fitted[c].drop_trees()
            elif work is None:
                recent.pop(c, None)
                events_from.pop(c, None)
        kept = [w for w in prepared if w is not None]
        for w in kept:
            ratios[w.client] = _daily_ratio(w.grid)
        path = spill / f"{len(spilled)}.pkl"
        with open(path, "wb") as fh:
            pickle.dump({w.client: (w.grid, w.registers, recent.pop(w.client, None)) for w in kept},
                        fh, protocol=pickle.HIGHEST_PROTOCOL)  # fmt: skip
        for w in kept:
            w.grid, w.registers = w.grid.iloc[:0], None
        spilled.append((path, clients))
        done += len(shard)
        if progress:
            progress(done, len(rows), clients[-1])
    if not works and not unscored:
        result.seconds = time.perf_counter() - started
        return result
    tied = tied_peers({c: m.level_series for c, m in fitted.items()}, sectors)
    scored_at = now_utc()
    history = (
        _history_scores(whole, unscored, sectors, tied, settings, scored_at, progress)
        if unscored
        else {}
    )
    factors = sector_factors(ratios, sectors, tied)
    fallen = peers_fallen(ratios, sectors)
    by_work = {w.client: w for w in works}
    touched = sorted(set(by_work) | set(history))
    if not touched:
        result.seconds = time.perf_counter() - started
        return result
    # counted, not kept: a shard's scores are dropped once written (a first score of two years
    # of history held every customer's scores twice over until the commit)
    hours_scored = anomalies = revised_total = 0
    history_hours = int(sum(len(s) for s in history.values()))
    from_history = set(history)
    events: dict[str, list[Event]] = {}
    with lake.transaction() as tx:
        for path, clients in spilled:
            shard_clients = [c for c in clients if c in by_work or c in from_history]
            with open(path, "rb") as spilled_file:
                windows = pickle.load(spilled_file)  # this run's own file
            path.unlink()
            for c, (grid, registers, window) in windows.items():
                by_work[c].grid, by_work[c].registers = grid, registers
                if window is not None:
                    recent[c] = window
            if not shard_clients:
                continue
            for chunk in _by_rows(
                shard_clients,
                [
                    len(history[c]) if c in from_history else len(by_work[c].grid)
                    for c in shard_clients
                ],
                SCORE_ROWS_WRITTEN_TOGETHER,
            ):
                new_scores: dict[str, pd.DataFrame] = {}
                since: dict[str, pd.Timestamp] = {}
                raw: list[pd.DataFrame] = []
                rows_of: dict[str, int] = {}
                for c in chunk:
                    parts = [history.pop(c)] if c in from_history else []
                    w = by_work.get(c)
                    if w is not None:
                        parts.append(_score_rows(w, factors[c], scored_at, fallen[c]))
                    raw.extend(parts)
                    rows_of[c] = sum(len(p) for p in parts)
                # typed together (per customer it is mostly pandas' overhead), in pieces (a
                # shard of whole histories at once peaked at several copies of its scores);
                # each customer's rows are then its slice, in order
                typed = _typed_scores(pd.concat(raw, ignore_index=True))
                del raw
                offset = 0
                for c in chunk:
                    w = by_work.get(c)
                    new_scores[c] = typed.iloc[offset : offset + rows_of[c]].reset_index(drop=True)
                    offset += rows_of[c]
                    since[c] = (
                        w.new_from if (w is not None and c not in from_history) else _EARLIEST
                    )
                    scored = new_scores[c]
                    if c not in from_history and w is not None:
                        scored = scored[scored["ts"] >= w.first_new]
                        revised_total += len(new_scores[c]) - len(scored)
                    hours_scored += len(scored)  # every customer of a shard has one or the other
                    anomalies += int(scored["is_anomaly"].sum())
                tx.replace_since("scores", typed, since)
                for c in chunk:
                    mine, registers, earlier = _event_inputs(
                        lake, tx, c, new_scores[c], since[c], recent.get(c), events_from.get(c),
                        whole.get(c), by_work.get(c),
                    )  # fmt: skip
                    events[c] = extract_events(
                        c, mine, model_quality=_model_quality(fitted[c]), registers=registers,
                        earlier=earlier, young=_young_hours(mine, fitted[c].trained_from),
                    )  # fmt: skip
                del typed, new_scores
                for c in chunk:
                    recent.pop(c, None)
                    whole.pop(c, None)
                    if c in by_work:
                        by_work[c].grid, by_work[c].registers = by_work[c].grid.iloc[:0], None
        events = {c: events[c] for c in sorted(events)}
        existing = tx.read("alerts").to_pandas()
        revised = {w.client: w.new_from for w in works if w.first_new != w.new_from}
        alerts, new_ids, updated_ids, withdrawn_ids, _notify = merge_alerts(
            existing, events, sectors, revised_from=revised
        )
        tx.overwrite("alerts", alerts)
    result.history_hours = history_hours
    result.hours_scored = hours_scored
    result.hours_revised = revised_total
    result.anomalies = anomalies
    result.alerts_withdrawn = len(withdrawn_ids)
    result.alerts_new, result.alerts_updated = len(new_ids), len(updated_ids)
    result.customers = len(touched)
    result.seconds = time.perf_counter() - started
    return result


def _by_rows(clients: Sequence[str], rows: Sequence[int], limit: int) -> Iterator[list[str]]:
    """``clients`` in order, in consecutive groups of at most ``limit`` rows (a customer with
    more is a group of its own)."""
    group: list[str] = []
    total = 0
    for client, n in zip(clients, rows, strict=True):
        if group and total + n > limit:
            yield group
            group, total = [], 0
        group.append(client)
        total += n
    if group:
        yield group


#: A walk-forward model fitted on less than this much of the customer's history has not seen
#: a whole year of it: a lower level in a season it never saw looks like a loss to it.
YOUNG_MODEL = pd.Timedelta(days=365)


def _young_hours(scores: pd.DataFrame, first: Any) -> np.ndarray:
    """Per score row, whether the walk-forward model that scored it (``walk-YYYYMMDD``: fitted
    on the readings before that origin) knew less than ``YOUNG_MODEL`` of the customer, whose
    readings start at ``first`` (its trained model's ``trained_from``); never for the hours
    the trained model scored (the daily runs)."""
    versions = scores["model_version"].astype(str) if "model_version" in scores else None
    if versions is None or first is None or pd.isna(first):
        return np.zeros(len(scores), dtype=bool)
    walk = versions.str.startswith("walk-").to_numpy()
    origin = pd.to_datetime(versions.str[5:].where(walk), format="%Y%m%d", errors="coerce")
    return np.asarray(walk & ((origin - pd.Timestamp(first)) < YOUNG_MODEL).to_numpy(), bool)


def _event_inputs(
    lake: Lake,
    tx: Any,
    client: str,
    new_scores: pd.DataFrame,
    new_from: pd.Timestamp,
    recent: pd.DataFrame | None,
    events_from: pd.Timestamp | None,
    whole: pd.DataFrame | None,
    work: _Work | None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """The scores a customer's events are rebuilt from, its readings around them, and the
    scores just before (``extract_events``' ``earlier``; ``None`` when the first hold them).

    The recent window gives the events of the whole history that can still change, exactly:
    unless a flagged stretch runs across the window's first day, then (rare) the customer's
    whole partition and readings are read.
    """
    register_cols = ["ts", "active_kwh", "reactive_kvarh"]
    if whole is not None:
        return new_scores, whole[register_cols], None
    if recent is not None and events_from is not None and work is not None:
        before = recent[recent["ts"] < new_from]
        mine = pd.concat([before, new_scores], ignore_index=True) if len(before) else new_scores
        earlier = mine[mine["ts"] < events_from]
        mine = mine[mine["ts"] >= events_from]
        edge = mine[mine["ts"] <= events_from + pd.Timedelta(hours=MERGE_GAP_HOURS)]
        if not edge["is_anomaly"].astype(bool).any():
            return mine, work.registers, earlier
    mine = tx.read("scores", partitions=[client]).to_pandas()
    if work is not None and events_from is None:
        return mine, work.registers, None  # its readings were read whole
    readings = lake.read("readings", partitions=[client], columns=register_cols)
    return mine, readings.sort_values("ts").reset_index(drop=True), None
