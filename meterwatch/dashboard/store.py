"""What the dashboard shows, as frames: a selection goes in, tables come out.

The store reads the lake only through :mod:`meterwatch.queries` and knows nothing about
Panel, so every figure on screen can be tested (and benchmarked) without a browser.

Speed and memory: every view runs its own bounded query. A customer's views read its own
partition for the period shown; views across many customers read the ``daily`` table
(:mod:`meterwatch.daily`: a row per customer and day with 24 hour-of-day energy columns) for
the period shown only, so period, sector and hour-of-day filters never touch the hourly
readings and nothing grows with the history. Answers are kept in a cache capped in entries
and in bytes (least recently used out first), per lake version.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from meterwatch import daily
from meterwatch import feedback as feedback_core
from meterwatch.i18n import t
from meterwatch.queries import HOUR_COLUMNS, peer_sample, run_query
from meterwatch.settings import Settings
from meterwatch.storage.base import Lake
from meterwatch.tables import stored_params, watched
from meterwatch.tariffs import Tariffs

T = TypeVar("T")

#: Days of scored data that make a customer's "recent window".
RECENT_DAYS = 7
#: Share of anomalous hours in the recent window above which the big red alert shows.
ALERT_RATE = 0.20
#: Width of the peak-consumption window, hours.
PEAK_HOURS = 4
#: How long a lake version is trusted before the snapshot is read again (one page refresh
#: asks for it a few dozen times; reading a large lake's snapshot costs milliseconds).
VERSION_SECONDS = 2.0
#: The inbox's priorities: alerts raised (e-mailed, ranked first) and alerts only watched.
PRIORITIES = ("raised", "watched")
#: Tables whose changes keep the cache: no cached view reads them.
UNCACHED_TABLES = frozenset({"feedback", "ingestions"})
#: Memory the cached answers may hold, bytes (a 1,000-customer period is a few hundred kB).
MAX_CACHE_BYTES = 64 * 1024 * 1024
#: Days shown when the operator has chosen no period (the most recent ones).
DEFAULT_DAYS = 90
#: A selection longer than this many days shows daily points instead of hours.
HOURLY_MAX_DAYS = 45


#: Order of the findings list, what an operator must see first: rejected input, meters at
#: zero or running backwards, duplicated meters, then the rest; gaps (many, mostly an hour
#: long) last.
FINDING_IMPACT = {
    code: rank
    for rank, code in enumerate(
        (
            "ingest.file_rejected",
            "ingest.rows_rejected",
            "readings.zero_run",
            "readings.negative_energy",
            "customers.duplicate_series",
            "readings.voltage_implausible",
            "readings.duplicate_timestamp",
            "readings.corrected",
            "readings.late",
            "readings.missing_values",
            "customers.no_sector",
            "model.insufficient_history",
            "readings.gap",
        )
    )
}


@dataclass(frozen=True)
class Selection:
    """The operator's filters. ``None`` means "todos" (all).

    ``end`` is inclusive (the last day shown); hours are an inclusive hour-of-day range.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    hour_from: int = 0
    hour_to: int = 23
    client_id: str | None = None
    sector: str | None = None

    @property
    def all_hours(self) -> bool:
        return self.hour_from == 0 and self.hour_to == 23

    @property
    def days(self) -> int:
        if self.start is None or self.end is None:
            return 0
        return (self.end - self.start).days + 1

    def params(self) -> dict[str, Any]:
        """The bound parameters of the readings queries."""
        assert self.start is not None and self.end is not None, "normalise the selection first"
        return {
            "start": dt.datetime.combine(self.start, dt.time()),
            "end": dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()),
            "hour_from": int(self.hour_from),
            "hour_to": int(self.hour_to),
            "client_id": self.client_id,
            "sector": self.sector,
        }


@dataclass(frozen=True)
class Bounds:
    """Days with data in the lake."""

    first: dt.date
    last: dt.date
    customers: int


@dataclass(frozen=True)
class PeakWindow:
    """The consecutive hours of the day with the highest consumption."""

    start_hour: int
    end_hour: int  # exclusive, modulo 24
    kwh_per_day: float
    share: float  # of the selection's energy

    def label(self) -> str:
        return f"{self.start_hour:02d}:00–{self.end_hour % 24:02d}:00"


@dataclass(frozen=True)
class RecentAnomalies:
    """Anomalous hours of a customer in its last scored days."""

    hours: int
    anomalous_hours: int
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None

    @property
    def rate(self) -> float:
        return self.anomalous_hours / self.hours if self.hours else 0.0

    @property
    def alarm(self) -> bool:
        return self.hours > 0 and self.rate > ALERT_RATE


@dataclass(frozen=True)
class AlertEvidence:
    """What supports an alert, for an operator deciding on a visit."""

    alert: dict[str, Any]
    reported_kwh: float
    expected_kwh: float
    anomalous_hours: int
    ratio_window: float | None  # reactive / active energy in the alert window
    ratio_before: float | None  # same, in the four weeks before
    voltage_fa_window: float | None
    voltage_fa_before: float | None
    voltage_fc_window: float | None
    voltage_fc_before: float | None
    view: Selection  # the customer around the alert's window
    peers: pd.DataFrame  # day, customer, peer_median, peer_low, peer_high (index, 100 = usual)

    @property
    def missing_kwh(self) -> float:
        return max(self.expected_kwh - self.reported_kwh, 0.0)


def natural_key(client_id: str) -> tuple[str, int, str]:
    """Sort key that puts "Cliente 2" before "Cliente 10"."""
    head, _, tail = client_id.rpartition(" ")
    return (head, int(tail), "") if tail.isdigit() else (client_id, -1, client_id)


def peak_window(profile: pd.DataFrame, width: int = PEAK_HOURS) -> PeakWindow | None:
    """The ``width`` consecutive hours (wrapping past midnight) with the most energy.

    ``profile`` has ``hour``, ``active_kwh`` (total over the selection) and ``hours``
    (readings summed); hours absent from it count as no energy.
    """
    if profile.empty or float(profile["active_kwh"].sum()) <= 0:
        return None
    energy = np.zeros(24)
    energy[profile["hour"].to_numpy(dtype=int)] = profile["active_kwh"].to_numpy(dtype=float)
    counts = np.zeros(24)
    counts[profile["hour"].to_numpy(dtype=int)] = profile["hours"].to_numpy(dtype=float)
    sums = np.array([energy[(h + np.arange(width)) % 24].sum() for h in range(24)])
    best = int(np.argmax(sums))
    days = counts.max() if counts.max() > 0 else 1.0
    # Readings per hour of day over the selection = customer-days; per day = / that count.
    return PeakWindow(
        start_hour=best,
        end_hour=best + width,
        kwh_per_day=float(sums[best] / days),
        share=float(sums[best] / energy.sum()),
    )


#: A day with fewer readings than this share of a usual day of the selection is left out
#: of the daily charts: its small sum would read as a fall to 0, a stopped meter.
PARTIAL_DAY_SHARE = 0.5


def without_partial_days(frame: pd.DataFrame, time_column: str) -> pd.DataFrame:
    """``frame`` (one row per day, a ``hours`` count of readings) without the days that have
    fewer than :data:`PARTIAL_DAY_SHARE` of a usual day's readings (the last, partial day of a
    file; a day with no hours in the hour filter). The days left out are listed in
    ``attrs["partial_days"]``, for the screen to say so."""
    if frame.empty or "hours" not in frame:
        return frame
    hours = pd.to_numeric(frame["hours"]).astype(float)
    usual = float(hours.median())
    partial = hours < PARTIAL_DAY_SHARE * usual
    out = frame[~partial].reset_index(drop=True)
    out.attrs["partial_days"] = [pd.Timestamp(t) for t in frame.loc[partial, time_column]]
    return out


def daily_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Hourly scores summed to days (for long periods).

    ``is_anomaly`` becomes the number of hours flagged that day; ``anomalous_day`` marks days
    with at least a quarter of their hours flagged.
    """
    if scores.empty:
        return scores
    frame = scores.assign(day=scores["ts"].dt.floor("D"))
    out = (
        frame.groupby("day")
        .agg(
            active_kwh=("active_kwh", "sum"),
            expected_kwh=("expected_kwh", "sum"),
            lower_kwh=("lower_kwh", "sum"),
            upper_kwh=("upper_kwh", "sum"),
            score=("score", "max"),
            is_anomaly=("is_anomaly", "sum"),
            hours=("ts", "size"),
        )
        .reset_index()
        .rename(columns={"day": "ts"})
    )
    out["anomalous_day"] = (out["is_anomaly"] >= 6).astype("int8")
    return without_partial_days(out, "ts")


def period_bounds(sel: Selection) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime]:
    """A normalised selection's period [start, end) and the whole months [first, last) inside
    it (``first = last = end`` where there are none): the months are summed from ``monthly``,
    the days before and after them from ``daily``."""
    params = sel.params()
    start, end = params["start"], params["end"]
    first = (
        start if start.day == 1 else (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    )
    last = end.replace(day=1)
    if first >= last:
        return start, end, end, end
    return start, first, last, end


class DashboardStore:
    """Frames for the dashboard's views, with a small cache per lake version.

    Parameters
    ----------
    lake
        The lake to read.
    ttl_seconds
        How long cached frames live on a backend that has no snapshot counter.
    max_entries, max_bytes
        The cache's caps: answers kept at most, and their total size in memory.
    version_seconds
        How long the lake's version is trusted before it is checked again.
    tariffs
        Prices that value the alerts' losses in PEN (default: the settings').
    period_hours
        The period of the forecast error shown on the MAPE card (default: the settings').
    """

    def __init__(
        self,
        lake: Lake,
        ttl_seconds: float = 300.0,
        max_entries: int = 256,
        max_bytes: int = MAX_CACHE_BYTES,
        version_seconds: float = VERSION_SECONDS,
        tariffs: Tariffs | None = None,
        period_hours: int | None = None,
    ) -> None:
        self.lake = lake
        settings = Settings()  # the defaults: ``serve`` passes the settings' own
        self.tariffs = tariffs if tariffs is not None else Tariffs.from_settings(settings)
        self.period_hours = period_hours if period_hours is not None else settings.period_hours
        self.version_seconds = version_seconds
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._bytes = 0
        self._lock = threading.RLock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._version: tuple[float, Hashable] | None = None
        self._epoch = 0

    # cache ---------------------------------------------------------------------------
    def version(self) -> Hashable:
        """A token that changes when a cached table does (its files, or a time bucket).

        Feedback is left out: nothing cached reads it, and an operator's verdict must not
        throw away the readings aggregate.
        """
        now = time.monotonic()
        if self._version is not None and now - self._version[0] < self.version_seconds:
            return self._version[1]
        token = self._lake_version()
        self._version = (now, token)
        return token

    def _lake_version(self) -> Hashable:
        snapshot = getattr(self.lake, "snapshot", None)
        if callable(snapshot):
            tables = snapshot().tables
            files = tuple(
                (name, hash(tuple(f.path for f in entries)))
                for name, entries in sorted(tables.items())
                if name not in UNCACHED_TABLES
            )
            return (self._epoch, files)
        return (self._epoch, int(time.time() // self.ttl_seconds))

    def invalidate(self) -> None:
        """Forget every cached frame (after a write)."""
        with self._lock:
            self._epoch += 1
            self._version = None
            self._cache.clear()
            self._sizes.clear()
            self._bytes = 0

    def _cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        full = (self.version(), key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
            # One computation per key: a second session asking meanwhile waits for it.
            key_lock = self._computing.setdefault(full, threading.Lock())
        with key_lock:
            with self._lock:
                if full in self._cache:
                    return self._cache[full]
            value = compute()
            with self._lock:
                self._bytes -= self._sizes.pop(full, 0)
                self._cache[full] = value
                self._sizes[full] = _size(value)
                self._bytes += self._sizes[full]
                self._computing.pop(full, None)
                while len(self._cache) > 1 and (
                    len(self._cache) > self.max_entries or self._bytes > self.max_bytes
                ):
                    old, _ = self._cache.popitem(last=False)
                    self._bytes -= self._sizes.pop(old, 0)
        return value

    def cache_bytes(self) -> int:
        """Memory held by the cached answers (what :attr:`max_bytes` caps)."""
        return self._bytes

    def _has(self, key: Hashable) -> bool:
        with self._lock:
            return (self.version(), key) in self._cache

    def _query(self, name: str, **params: Any) -> pd.DataFrame:
        key = (name, tuple(sorted(params.items())))
        return self._cached(key, lambda: run_query(self.lake, name, **params))

    # the lake's contents -------------------------------------------------------------------
    def bounds(self) -> Bounds | None:
        """First and last day with readings, or ``None`` for an empty lake."""
        frame = self._query("data_bounds")
        if frame.empty or pd.isna(frame["first_ts"].iloc[0]):
            return None
        return Bounds(
            first=pd.Timestamp(frame["first_ts"].iloc[0]).date(),
            last=pd.Timestamp(frame["last_ts"].iloc[0]).date(),
            customers=int(frame["customers"].iloc[0]),
        )

    def customers(self, sector: str | None = None) -> pd.DataFrame:
        """Customers in natural order (client_id, sector, first_ts, last_ts, n_readings); of
        one sector when ``sector`` is given."""
        if sector:
            every = self.customers()
            return every[every["sector"] == sector]

        def ordered() -> pd.DataFrame:
            frame = self._query("customers")
            ids = [str(c) for c in frame["client_id"]]
            order = sorted(range(len(ids)), key=lambda i: natural_key(ids[i]))
            return frame.iloc[order].reset_index(drop=True)

        # sorted once per lake version: every selection is normalised against it
        return self._cached(("customers", "natural order"), ordered)

    def _customer_days(self) -> dict[str, tuple[Any, Any]]:
        """Each customer's first and last reading (cached: a lookup per selection)."""

        def days() -> dict[str, tuple[Any, Any]]:
            frame = self._query("customers")
            columns = (frame["client_id"], frame["first_ts"], frame["last_ts"])
            return {str(c): (a, b) for c, a, b in zip(*columns, strict=True)}

        return self._cached(("customers", "days"), days)

    def sectors(self) -> list[str]:
        return sorted(s for s in self.customers()["sector"].unique() if s)

    def bounds_for(self, client_id: str | None) -> Bounds | None:
        """Days with data of one customer (its own first and last reading), or of the lake."""
        if client_id is None:
            return self.bounds()
        first, last = self._customer_days().get(client_id, (None, None))
        if first is None or pd.isna(first):
            return self.bounds()
        return Bounds(first=pd.Timestamp(first).date(), last=pd.Timestamp(last).date(), customers=1)

    def normalise(self, selection: Selection) -> Selection:
        """Clamp the selection to days with data (the customer's, when one is chosen).

        Without a period, the last 90 days with data.
        """
        bounds = self.bounds_for(selection.client_id)
        if bounds is None:
            today = dt.date.today()
            return replace(selection, start=selection.start or today, end=selection.end or today)
        end = selection.end or bounds.last
        start = selection.start or max(bounds.first, end - dt.timedelta(days=DEFAULT_DAYS - 1))
        end = min(max(end, bounds.first), bounds.last)
        start = min(max(start, bounds.first), end)
        h0 = min(max(int(selection.hour_from), 0), 23)
        h1 = min(max(int(selection.hour_to), h0), 23)
        return replace(selection, start=start, end=end, hour_from=h0, hour_to=h1)

    # fleet-wide views, from the daily tables ----------------------------------------------------
    def warm(self) -> None:
        """Load what every page needs (bounds, customers); call at server start."""
        self.bounds()
        self.customers()

    def _built(self) -> tuple[bool, bool]:
        """Whether ingest has built ``fleet_daily`` and ``monthly`` (a lake from before them
        gets them at its next ingest; until then the views sum the ``daily`` rows)."""

        def check() -> tuple[bool, bool]:
            return (
                daily.known(self.lake, daily.FLEET_COMPLETE_KEY),
                daily.known(self.lake, daily.MONTHLY_COMPLETE_KEY),
            )

        return self._cached(("aggregates built",), check)

    def _fleet_days(self, sel: Selection) -> pd.DataFrame:
        """The selection's days, all customers or a sector: day, hours, h00..h23 (cached)."""
        params = sel.params()
        name = "daily_fleet" if self._built()[0] else "daily_fleet_by_customer_rows"
        return self._query(name, start=params["start"], end=params["end"], sector=sel.sector)

    @staticmethod
    def _hour_columns(sel: Selection) -> list[str]:
        return list(HOUR_COLUMNS[sel.hour_from : sel.hour_to + 1])

    def _sector_hours(self, sel: Selection) -> pd.DataFrame:
        """Energy of the selection per day and hour of day (day, hour, active_kwh, hours);
        cached: a fleet page's five views start from it (4-5 ms each at 90 days)."""
        return self._cached(("sector hours", sel), lambda: self._melt_sector_hours(sel))

    def _melt_sector_hours(self, sel: Selection) -> pd.DataFrame:
        days = self._fleet_days(sel)
        columns = self._hour_columns(sel)
        per_day = days.assign(day=pd.to_datetime(days["day"])).set_index("day")
        counts = per_day["hours"]
        long = (
            per_day[columns]
            .reset_index()
            .melt(id_vars="day", var_name="hour", value_name="active_kwh")
        )
        long["hour"] = long["hour"].str[1:].astype(int)
        # Customer-days with data, the same for every hour of that day.
        long["hours"] = long["day"].map(counts / 24).round().astype(int)
        long["active_kwh"] = long["active_kwh"].astype(float)
        return long.sort_values(["day", "hour"]).reset_index(drop=True)

    # views -----------------------------------------------------------------------------------
    def energy_by_customer(self, selection: Selection) -> pd.DataFrame:
        """Total active energy per customer (client_id, sector, active_kwh, hours), largest first."""
        sel = self.normalise(selection)
        if sel.client_id is not None:
            return self._query("energy_by_customer", **sel.params())
        every_hour = (sel.hour_from, sel.hour_to) == (0, 23)
        name = (
            "period_total_by_customer"
            if every_hour
            else f"period_h{sel.hour_from:02d}_{sel.hour_to:02d}_by_customer"
        )
        start, first, last, end = period_bounds(sel)
        if not self._built()[1]:  # no monthly rows yet: every day from daily
            first = last = end
        part = self._query(name, start=start, first=first, last=last, end=end, sector=sel.sector)
        hours = len(self._hour_columns(sel))
        out = pd.DataFrame(
            {
                "client_id": part["client_id"].astype(str),
                "sector": part["sector"].astype(str),
                "active_kwh": part["active_kwh"].astype(float),
                # readings in the hour range, assuming complete days (gaps are rare and small)
                "hours": pd.to_numeric(part["hours"]).astype("int64") * hours // 24,
            }
        )
        return out.sort_values(
            ["active_kwh", "client_id"], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)

    def total_kwh(self, selection: Selection) -> float:
        sel = self.normalise(selection)
        if sel.client_id is None:
            return float(self._sector_hours(sel)["active_kwh"].sum())
        return float(self.energy_by_customer(sel)["active_kwh"].sum())

    def series(self, selection: Selection) -> tuple[pd.DataFrame, str]:
        """Energy (and, for a customer, both voltages) over time, and the grain used."""
        sel = self.normalise(selection)
        grain = "hour" if sel.days <= HOURLY_MAX_DAYS else "day"
        if sel.client_id is not None:
            frame = self._query(f"series_{grain}", **sel.params())
            return (without_partial_days(frame, "period") if grain == "day" else frame), grain
        return self._cached(("fleet series", sel), lambda: self._fleet_series(sel, grain)), grain

    def _fleet_series(self, sel: Selection, grain: str) -> pd.DataFrame:
        frame = self._sector_hours(sel)
        if grain == "day":
            frame = frame.assign(period=frame["day"])
        else:
            frame = frame.assign(period=frame["day"] + pd.to_timedelta(frame["hour"], unit="h"))
        out = frame.groupby("period", as_index=False)[["active_kwh", "hours"]].sum()
        out = out.sort_values("period").reset_index(drop=True)
        return without_partial_days(out, "period") if grain == "day" else out

    def hour_profile(self, selection: Selection) -> pd.DataFrame:
        """Energy by hour of day (hour, active_kwh, hours, kwh_per_day)."""
        sel = self.normalise(selection)
        if sel.client_id is not None:
            frame = self._query("hour_profile", **sel.params())
        else:
            frame = (
                self._sector_hours(sel)
                .groupby("hour", as_index=False)[["active_kwh", "hours"]]
                .sum()
                .sort_values("hour")
            )
        frame = frame.reset_index(drop=True)
        # hours of one hour of day = customer-days; energy per day of the whole selection:
        days = max(sel.days, 1)
        frame["kwh_per_day"] = frame["active_kwh"] / days
        return frame

    def peak_window(self, selection: Selection) -> PeakWindow | None:
        sel = self.normalise(selection)
        window = peak_window(self.hour_profile(sel))
        if window is None:
            return None
        return replace(window, kwh_per_day=window.share * self.total_kwh(sel) / max(sel.days, 1))

    def heatmap(self, selection: Selection) -> pd.DataFrame:
        """Energy by day and hour of day (day, hour, active_kwh)."""
        sel = self.normalise(selection)
        if sel.client_id is not None:
            frame = self._query("load_heatmap", **sel.params())
            return frame.assign(day=pd.to_datetime(frame["day"]))
        return (
            self._sector_hours(sel)
            .groupby(["day", "hour"], as_index=False)[["active_kwh"]]
            .sum()
            .sort_values(["day", "hour"])
            .reset_index(drop=True)
        )

    # a customer's model and scores -----------------------------------------------------------
    def customer_scores(self, selection: Selection) -> tuple[pd.DataFrame, str]:
        """Reported vs expected energy, band and flags of the selected customer, and the grain."""
        sel = self.normalise(selection)
        if sel.client_id is None:
            return pd.DataFrame(), "hour"
        params = sel.params()
        frame = self._query(
            "customer_scores", client_id=sel.client_id, start=params["start"], end=params["end"]
        )
        # The scored period is often shorter than the selection: judge by what came back.
        span = frame["ts"].max() - frame["ts"].min() if len(frame) else pd.Timedelta(0)
        if span > pd.Timedelta(days=HOURLY_MAX_DAYS):
            return daily_scores(frame), "day"
        return frame, "hour"

    def model(self, client_id: str) -> dict[str, Any] | None:
        """A customer's current model, with ``period_mape`` (held-out MAPE of the energy per
        :attr:`period_hours`) and ``wape`` (hourly) when its training stored them."""
        frame = self._query("customer_model", client_id=client_id)
        if frame.empty:
            return None
        model = {str(k): v for k, v in frame.iloc[0].items()}
        held_out = stored_params(model.get("params")).get("held_out")
        held_out = held_out if isinstance(held_out, dict) else {}
        model["period_mape"] = _number(held_out.get(f"period_mape_{self.period_hours}"))
        model["wape"] = _number(held_out.get("wape"))
        return model

    def recent_anomalies(self, client_id: str, days: int = RECENT_DAYS) -> RecentAnomalies:
        last = self._query("customer_last_score", client_id=client_id)
        last_ts = last["last_ts"].iloc[0] if not last.empty else None
        if last_ts is None or pd.isna(last_ts):
            return RecentAnomalies(0, 0, None, None)
        since = pd.Timestamp(last_ts) - pd.Timedelta(days=days) + pd.Timedelta(hours=1)
        frame = self._query(
            "customer_anomaly_rate", client_id=client_id, since=since.to_pydatetime()
        )
        row = frame.iloc[0]
        return RecentAnomalies(
            hours=int(row["hours"] or 0),
            anomalous_hours=int(row["anomalous_hours"] or 0),
            window_start=pd.Timestamp(row["window_start"]),
            window_end=pd.Timestamp(row["window_end"]),
        )

    # alerts and feedback -------------------------------------------------------------------------
    def alert_kinds(self) -> list[str]:
        return [str(k) for k in self._query("alert_kinds")["kind"].dropna()]

    def alerts(self, **filters: Any) -> pd.DataFrame:
        """The alerts inbox for the filters of :meth:`inbox`: its first frame."""
        return self.inbox(**filters)[0]

    def inbox(
        self,
        *,
        client_id: str | None = None,
        sector: str | None = None,
        kind: str | None = None,
        inspection: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        priority: str | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The alerts inbox, worth most first, with each alert's latest inspection status;
        and the alerts the days alone leave out (every other filter kept): an inbox of the
        last 90 days after a first score of two years of history says how many more there
        are, instead of looking like the whole list. One query.

        ``client_id``, ``sector`` and the days ``start``..``end`` (inclusive; an alert whose
        window overlaps them) are the filter bar's; ``priority`` keeps the ``"raised"``
        alerts or the ``"watched"`` ones (kept for the operator, with the reason in their
        evidence, ranked after every raised one); ``loss_pen`` is the estimated loss in
        soles at the customer's tariff. Not cached: feedback written by another operator
        shows on the next refresh.
        """
        if priority not in (None, *PRIORITIES):
            raise ValueError(f"priority must be one of {PRIORITIES}, got {priority!r}")
        frame = run_query(
            self.lake, "alerts_inbox", sector=sector, kind=kind, inspection=inspection, since=None
        )
        keep = pd.Series(True, index=frame.index)
        if client_id is not None:
            keep &= frame["client_id"] == client_id
        if priority is not None:
            only = watched(frame["params"])
            keep &= only if priority == "watched" else ~only
        frame = frame[keep].reset_index(drop=True)
        frame["loss_pen"] = self.tariffs.loss_pen(frame) if len(frame) else pd.Series(dtype=float)
        days = pd.Series(True, index=frame.index)
        if start is not None:
            days &= pd.to_datetime(frame["window_end"]) >= pd.Timestamp(start)
        if end is not None:
            days &= pd.to_datetime(frame["window_start"]) < pd.Timestamp(end) + pd.Timedelta(days=1)
        return frame[days].reset_index(drop=True), frame[~days].reset_index(drop=True)

    def alert_count(self) -> int:
        """Standing (not withdrawn) alerts in the lake, whatever the filters."""
        frame = run_query(
            self.lake, "alerts_inbox", sector=None, kind=None, inspection=None, since=None
        )
        return len(frame)

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        frame = run_query(self.lake, "alert", alert_id=alert_id)
        return None if frame.empty else {str(k): v for k, v in frame.iloc[0].items()}

    def alert_feedback(self, alert_id: str) -> pd.DataFrame:
        return run_query(self.lake, "alert_feedback", alert_id=alert_id)

    def record_feedback(self, alert_id: str, status: str, note: str, author: str) -> str:
        """Append a verdict through the core (feedback views are never cached)."""
        return feedback_core.record_feedback(self.lake, alert_id, status, note, author)

    def confirmed_share(self) -> pd.DataFrame:
        """Per month of the verdict: inspected alerts, confirmed ones and the share confirmed."""
        frame = run_query(self.lake, "confirmed_share")
        frame["share"] = frame["confirmed"] / frame["inspected"].where(frame["inspected"] > 0)
        return frame

    def evidence(self, alert_id: str, context_days: int = 7) -> AlertEvidence | None:
        """The figures and series behind an alert (its window, before it, its sector peers)."""
        alert = self.alert(alert_id)
        if alert is None:
            return None
        client = str(alert["client_id"])
        start = pd.Timestamp(alert["window_start"]).floor("h")
        end = pd.Timestamp(alert["window_end"]).floor("h") + pd.Timedelta(hours=1)
        before = start - pd.Timedelta(days=28)
        scores = run_query(
            self.lake,
            "window_scores",
            client_id=client,
            start=start.to_pydatetime(),
            end=end.to_pydatetime(),
        ).iloc[0]
        energy = run_query(
            self.lake,
            "window_energy",
            client_id=client,
            start=start.to_pydatetime(),
            before=before.to_pydatetime(),
            end=end.to_pydatetime(),
        ).set_index("period")

        def pick(period: str, column: str) -> float | None:
            if period not in energy.index:
                return None
            value: Any = energy.at[period, column]
            return None if pd.isna(value) else float(value)

        def ratio(period: str) -> float | None:
            active, reactive = pick(period, "active_kwh"), pick(period, "reactive_kvarh")
            if active is None or reactive is None or abs(active) < 1e-9:
                return None
            return reactive / active

        bounds = self.bounds()
        view_start = (start - pd.Timedelta(days=context_days)).date()
        view_end = (end + pd.Timedelta(days=min(context_days, 3))).date()
        if bounds is not None:
            view_end = min(view_end, bounds.last)
        view = Selection(start=view_start, end=view_end, client_id=client)
        peers = self._peers(alert, before, end)
        return AlertEvidence(
            alert=alert,
            reported_kwh=float(scores["active_kwh"] or 0.0),
            expected_kwh=float(scores["expected_kwh"] or 0.0),
            anomalous_hours=int(scores["anomalous_hours"] or 0),
            ratio_window=ratio("window"),
            ratio_before=ratio("before"),
            voltage_fa_window=pick("window", "voltage_fa"),
            voltage_fa_before=pick("before", "voltage_fa"),
            voltage_fc_window=pick("window", "voltage_fc"),
            voltage_fc_before=pick("before", "voltage_fc"),
            view=view,
            peers=peers,
        )

    def _peers(
        self, alert: dict[str, Any], before: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Daily energy of the customer and its sector, each as % of its own usual level.

        The sector is at most ``PEER_SAMPLE`` - 1 of its customers (:func:`peer_sample`: the
        same ones for every alert of the customer); ``sector_peers`` says how many it has.
        """
        sector = alert.get("sector")
        columns = ["day", "customer", "peer_median", "peer_low", "peer_high", "peers",
                   "sector_peers"]  # fmt: skip
        if not sector or pd.isna(sector):
            return pd.DataFrame(columns=columns)
        client = str(alert["client_id"])
        members = self.customers(str(sector))["client_id"].astype(str)
        chosen = peer_sample(client, members)
        frame = run_query(
            self.lake,
            f"peers_daily_{len(chosen)}",
            start=before.floor("D").to_pydatetime(),
            end=end.ceil("D").to_pydatetime(),
            **{f"c{k}": c for k, c in enumerate(chosen)},
        )
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame["day"] = pd.to_datetime(frame["day"])
        wide = frame.pivot_table(index="day", columns="client_id", values="active_kwh")
        window_start = pd.Timestamp(alert["window_start"]).floor("D")
        usual = wide[wide.index < window_start].mean()
        usual = usual.where(usual.abs() > 1e-9)
        index = wide.divide(usual) * 100.0
        others = index.drop(columns=[client], errors="ignore")
        out = pd.DataFrame(
            {
                "day": index.index,
                "customer": index.get(client, np.nan),
                "peer_median": others.median(axis=1) if others.shape[1] else np.nan,
                "peer_low": others.quantile(0.25, axis=1) if others.shape[1] else np.nan,
                "peer_high": others.quantile(0.75, axis=1) if others.shape[1] else np.nan,
                "peers": others.shape[1],
                "sector_peers": int((members != client).sum()),
            }
        )
        return out.reset_index(drop=True)

    # data quality --------------------------------------------------------------------------------
    def quality(self, sector: str | None = None) -> pd.DataFrame:
        """Per customer: completeness, gaps, zero and negative runs, duplicates, quarantine."""
        frame = self._query("quality_by_customer", sector=sector).copy()
        expected = frame["expected_hours"].where(frame["expected_hours"] > 0)
        frame["completeness"] = (frame["n_readings"] / expected).clip(upper=1.0)
        findings = self._query("quality_findings", client_id=None)
        twins = findings[findings["code"] == "customers.duplicate_series"]
        others: dict[str, str] = {}
        for row in twins.itertuples(index=False):
            others[str(row.client_id)] = str(stored_params(row.params).get("other", ""))
        frame["duplicate_of"] = frame["client_id"].map(others).fillna("")
        order = sorted(
            range(len(frame)), key=lambda i: natural_key(str(frame["client_id"].iloc[i]))
        )
        return frame.iloc[order].reset_index(drop=True)

    def findings(self, client_id: str | None, language: str = "es") -> pd.DataFrame:
        """Data-quality findings with their sentence in ``language``, the ones that matter
        most first (:data:`FINDING_IMPACT`; then the longest), not pages of one-hour gaps."""
        frame = self._query("quality_findings", client_id=client_id).copy()
        if frame.empty:
            frame["text"] = []
            return frame
        impact = frame["code"].map(FINDING_IMPACT).fillna(len(FINDING_IMPACT))
        hours = pd.to_numeric(frame["n_hours"], errors="coerce").fillna(0)
        order = np.lexsort((-hours.to_numpy(), impact.to_numpy()))
        frame = frame.iloc[order].reset_index(drop=True)
        frame["text"] = [_finding_text(row, language) for row in frame.itertuples(index=False)]
        return frame

    def quarantine(self) -> pd.DataFrame:
        return self._query("quarantine_summary")


def _size(value: Any) -> int:
    """Bytes a cached answer holds (frames by their columns; anything else counts little)."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum())
    return 256


def _number(value: Any) -> float | None:
    """A stored figure as a float; ``None`` when missing or not a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _finding_text(row: Any, language: str) -> str:
    """Re-render a finding's sentence in ``language``; fall back to the stored one."""
    params = stored_params(row.params)
    start = pd.Timestamp(row.period_start)
    end = pd.Timestamp(row.period_end)
    params.setdefault("n_hours", row.n_hours)
    # i18n.t writes start and end as the language writes hours
    params.setdefault("start", "" if pd.isna(start) else start.isoformat(sep=" "))
    params.setdefault("end", "" if pd.isna(end) else end.isoformat(sep=" "))
    text = t(str(row.code), language, **params)
    if text.startswith(str(row.code)) or "{" in text:
        return str(row.message)
    return text
