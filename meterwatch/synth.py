"""Deterministic synthetic fleet of large customers in the ElectroDunas export layout.

The demo and the tests must not depend on the real data, so this module writes a fleet that looks
like it: one ``DATOSCLIENTE<N>.csv`` per customer, the sector workbook, and a ``labels.csv`` next to
(not inside) the data folder that says where the losses, campaigns, holidays and data defects are.

Everything is drawn from ``numpy.random.default_rng`` streams keyed by the seed, so the same seed
gives byte-identical files. Each customer is generated, written and dropped before the next one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from openpyxl import Workbook

from meterwatch.public_holidays import peru_holidays

SECTORS: tuple[str, ...] = (
    "Elaboración de cacao y chocolate y de productos de confitería",
    "Cultivo de Árboles Frutales y Nueces",
    "Cultivo de otros frutos y nueces de árboles y arbustos",
    "Cultivo de hortalizas y melones, raíces y tubérculos",
    "Captación, tratamiento y distribución de agua",
    "Venta al por mayor de metales y minerales metalíferos",
)
COCOA, FRUIT_TREES, OTHER_TREE_CROPS, VEGETABLES, WATER, METALS = SECTORS

DATA_COLUMNS: tuple[str, ...] = (
    "Fecha",
    "Active_energy",
    "Reactive_energy",
    "Voltaje_FA",
    "Voltaje_FC",
)
LABEL_COLUMNS: tuple[str, ...] = ("client_id", "family", "start", "end", "is_loss", "params")
LOSS_FAMILIES: frozenset[str] = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "stopped_meter", "negative_energy"}
)
SECTOR_WORKBOOK = "sector_economico_clientes.xlsx"

# Loss events planted in the evaluation part of the series, cycled over the loss customers.
# The second h1 is a lifted potential transformer (one phase voltage collapses).
_EVALUATION_FAMILIES: tuple[str, ...] = (
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "h7",
    "h8",
    "negative_energy",
    "h1",
)
# Nominal event length in days (low, high); clamped to the room a customer has.
_EVENT_DAYS: dict[str, tuple[int, int]] = {
    "h1": (21, 60),
    "h2": (14, 45),
    "h3": (14, 45),
    "h4": (14, 45),
    "h5": (14, 30),
    "h6": (14, 30),
    "h7": (21, 60),
    "h8": (7, 21),
    "negative_energy": (2, 10),
    "stopped_meter": (7, 42),
}
# Thefts that often go on until someone inspects: they may run to the end of the series.
_OPEN_ENDED = frozenset({"h1", "h3", "h4", "h7"})
_DAY_ALIGNED = frozenset({"h2", "h6"})
_EVALUATION_SHARE = 0.2
_HOURS_PER_DAY = 24
_VOLTAGE_LEVELS = (380.0, 460.0, 650.0, 1000.0, 1500.0, 2000.0)


@dataclass(frozen=True)
class FleetSummary:
    """What :func:`generate_fleet` wrote.

    ``n_rows`` counts every line after the header in every customer file, malformed and
    duplicated lines included.
    """

    out_dir: Path
    data_dir: Path
    labels_path: Path
    n_customers: int
    n_rows: int
    clients: list[str]


@dataclass(frozen=True)
class _Calendar:
    """Hour-by-hour calendar shared by every customer of the fleet."""

    timestamps: np.ndarray  # datetime64[s], start of each hour
    hour_of_day: np.ndarray
    day_index: np.ndarray
    weekday: np.ndarray  # 0 = Monday
    day_of_year: np.ndarray
    holiday_hour: np.ndarray  # bool
    holidays: list[tuple[int, str]]  # (first hour index, name)

    @property
    def hours(self) -> int:
        return len(self.timestamps)

    @property
    def evaluation_start(self) -> int:
        """First hour of the evaluation part (last 20 %), on a midnight."""
        cut = int(np.ceil(self.hours * (1 - _EVALUATION_SHARE) / _HOURS_PER_DAY))
        return cut * _HOURS_PER_DAY


@dataclass
class _Profile:
    """Parameters of one customer's true consumption and electrical behaviour."""

    sector: str
    base_kwh: float
    standby: float
    on_start: int
    on_hours: int
    saturday: float
    sunday: float
    season_amplitude: float
    season_peak_day: float
    season_sharpness: float
    sigma_day: float
    sigma_hour: float
    spike_rate: float
    tan_phi: float
    reactive_base_kvarh: float
    sigma_reactive: float
    nominal_fa: float
    nominal_fc: float
    sigma_voltage: float

    def weekday_shape(self) -> np.ndarray:
        """Weekday load by hour of day, before normalisation."""
        on = np.zeros(_HOURS_PER_DAY)
        on[(self.on_start + np.arange(self.on_hours)) % _HOURS_PER_DAY] = 1.0
        # Machines ramp up and down over about an hour.
        on = 0.25 * np.roll(on, 1) + 0.5 * on + 0.25 * np.roll(on, -1)
        return self.standby + (1 - self.standby) * on

    def reversal_shift(self) -> float:
        """Share of the daily energy that a reversed profile (h6) moves to other hours."""
        shape = self.weekday_shape()
        return float(np.abs(shape - shape[::-1]).sum() / (2 * shape.sum()))


@dataclass
class _Event:
    family: str
    start: int
    end: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Campaign:
    start: int
    end: int
    plateaus: list[tuple[int, float]]  # (first hour, factor), in order


@dataclass
class _CustomerPlan:
    number: int
    profile: _Profile
    campaigns: list[_Campaign] = field(default_factory=list)
    events: list[_Event] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    duplicate_of: int | None = None

    @property
    def client_id(self) -> str:
        return f"Cliente {self.number}"


def generate_fleet(
    out_dir: Path,
    *,
    n_customers: int = 30,
    days: int = 760,
    seed: int = 7,
    start: str = "2021-01-01",
    events: bool = True,
    defects: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> FleetSummary:
    """Write a synthetic fleet of hourly meter data in the ElectroDunas layout.

    Parameters
    ----------
    out_dir
        Folder to write into; ``data/`` holds the customer files and the sector workbook,
        ``labels.csv`` sits beside it so that ingesting ``data/`` does not see it.
    n_customers, days, start
        Fleet size, series length in days and first day (local time, midnight).
    seed
        Same seed, same bytes.
    events
        Plant labelled losses (h1 to h8, stopped meter, negative energy) on about a third of the
        customers, mostly in the last 20 % of the series.
    defects
        Plant data defects: a duplicated customer, gaps and malformed rows.
    progress
        Called with (customers written, customers in total) after each customer.

    Returns
    -------
    FleetSummary

    Raises
    ------
    ValueError
        For fewer than 30 days, or fewer than 6 customers when events or defects are asked for.
    """
    if days < 30:
        raise ValueError("days must be at least 30")
    if n_customers < (6 if events or defects else 1):
        raise ValueError("a fleet with events or defects needs at least 6 customers")
    out_dir = Path(out_dir)
    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    calendar = _build_calendar(start, days)
    plans = _plan_fleet(n_customers, calendar, seed, events=events, defects=defects)

    label_rows: list[tuple[str, str, str, str, int, str]] = []
    labels_by_customer: dict[int, list[tuple[str, str, str, str, int, str]]] = {}
    lines_by_customer: dict[int, int] = {}
    for done, plan in enumerate(plans, start=1):
        path = data_dir / f"DATOSCLIENTE{plan.number}.csv"
        if plan.duplicate_of is not None:
            # The twin is generated before (lower number), so its file is already there.
            shutil.copyfile(data_dir / f"DATOSCLIENTE{plan.duplicate_of}.csv", path)
            rows = [
                (plan.client_id, *row[1:])
                for row in labels_by_customer[plan.duplicate_of]
                if row[1] in ("campaign", "holiday")
            ]
            end = _timestamp(calendar, calendar.hours)
            of = json.dumps({"of": f"Cliente {plan.duplicate_of}"}, sort_keys=True)
            rows.append((plan.client_id, "duplicate_customer", _timestamp(calendar, 0), end, 0, of))
            lines_by_customer[plan.number] = lines_by_customer[plan.duplicate_of]
        else:
            content, rows = _customer_file(plan, calendar, seed)
            path.write_bytes(content)
            lines_by_customer[plan.number] = content.count(b"\n") - 1
        labels_by_customer[plan.number] = rows
        label_rows.extend(rows)
        if progress is not None:
            progress(done, len(plans))

    _write_sector_workbook(data_dir / SECTOR_WORKBOOK, plans, seed)
    labels_path = out_dir / "labels.csv"
    with labels_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LABEL_COLUMNS)
        writer.writerows(label_rows)
    return FleetSummary(
        out_dir=out_dir,
        data_dir=data_dir,
        labels_path=labels_path,
        n_customers=n_customers,
        n_rows=sum(lines_by_customer.values()),
        clients=[plan.client_id for plan in plans],
    )


def read_labels(path: Path) -> pd.DataFrame:
    """Read a fleet's ``labels.csv`` with ``start`` and ``end`` as timestamps.

    ``params`` stays a JSON string (``json.loads`` it where needed); ``is_loss`` is an int.
    """
    labels = pd.read_csv(path, dtype={"client_id": str, "family": str, "params": str})
    for column in ("start", "end"):
        labels[column] = pd.to_datetime(labels[column], format="%Y-%m-%d %H:%M:%S")
    labels["is_loss"] = labels["is_loss"].astype(int)
    return labels


# ---------------------------------------------------------------------------------------------
# Calendar


def _build_calendar(start: str, days: int) -> _Calendar:
    first = dt.date.fromisoformat(start)
    hours = days * _HOURS_PER_DAY
    timestamps = np.datetime64(first, "s") + np.arange(hours).astype("timedelta64[h]")
    index = np.arange(hours)
    day_index = index // _HOURS_PER_DAY
    day_dates = np.datetime64(first, "D") + np.arange(days)
    weekday_of_day = (day_dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    year_start = day_dates.astype("datetime64[Y]").astype("datetime64[D]")
    day_of_year = (day_dates - year_start).astype(np.int64)
    holidays = peru_holidays(first, first + dt.timedelta(days=days - 1))
    holiday_day = np.zeros(days, dtype=bool)
    holiday_starts = []
    for date, name in holidays:
        offset = (date - first).days
        holiday_day[offset] = True
        holiday_starts.append((offset * _HOURS_PER_DAY, name))
    return _Calendar(
        timestamps=timestamps,
        hour_of_day=index % _HOURS_PER_DAY,
        day_index=day_index,
        weekday=weekday_of_day[day_index],
        day_of_year=day_of_year[day_index],
        holiday_hour=holiday_day[day_index],
        holidays=holiday_starts,
    )


def _timestamp(calendar: _Calendar, hour: int) -> str:
    moment = calendar.timestamps[0] + np.timedelta64(hour, "h")
    return str(moment).replace("T", " ")


# ---------------------------------------------------------------------------------------------
# Planning: who is what, and where events go


def _draw_profile(sector: str, rng: np.random.Generator) -> _Profile:
    """Customer parameters; the sector sets the daily and seasonal pattern."""
    if sector == WATER:
        # Pumping concentrates in the cheap night hours; every day of the week alike.
        on_start, on_hours = int(rng.integers(20, 24)), int(rng.integers(6, 11))
        standby, saturday, sunday = (
            rng.uniform(0.15, 0.5),
            rng.uniform(0.9, 1.0),
            rng.uniform(0.85, 1.0),
        )
        season = (rng.uniform(0.1, 0.25), 45.0, 1.5)  # more water in the southern summer
    elif sector == COCOA:
        on_start, on_hours = int(rng.integers(5, 8)), int(rng.integers(10, 17))
        standby, saturday, sunday = (
            rng.uniform(0.3, 0.6),
            rng.uniform(0.6, 0.9),
            rng.uniform(0.2, 0.5),
        )
        season = (rng.uniform(0.05, 0.15), 300.0, 2.0)  # chocolate for Christmas
    elif sector == METALS:
        on_start, on_hours = int(rng.integers(7, 9)), int(rng.integers(9, 12))
        standby, saturday, sunday = (
            rng.uniform(0.1, 0.4),
            rng.uniform(0.4, 0.7),
            rng.uniform(0.1, 0.3),
        )
        season = (rng.uniform(0.0, 0.08), 180.0, 1.0)
    else:
        # Agro: irrigation and packing in the day, a harvest season that depends on the crop.
        on_start, on_hours = int(rng.integers(6, 9)), int(rng.integers(8, 12))
        standby, saturday, sunday = (
            rng.uniform(0.15, 0.5),
            rng.uniform(0.8, 1.0),
            rng.uniform(0.4, 0.8),
        )
        harvest_peak = {FRUIT_TREES: 30.0, OTHER_TREE_CROPS: 150.0, VEGETABLES: 280.0}[sector]
        season = (rng.uniform(0.3, 0.8), harvest_peak, 3.0)
    if rng.random() < 0.2:
        # Some customers run around the clock: hardly any daily or weekly profile.
        standby, saturday, sunday = rng.uniform(0.8, 0.95), 1.0, rng.uniform(0.9, 1.0)
    power_factor = rng.uniform(0.8, 0.98)
    base_kwh = float(np.exp(rng.uniform(np.log(0.05), np.log(6.0))))
    nominal = float(rng.choice(_VOLTAGE_LEVELS)) * rng.uniform(0.92, 1.1)
    return _Profile(
        sector=sector,
        base_kwh=base_kwh,
        standby=float(standby),
        on_start=on_start,
        on_hours=on_hours,
        saturday=float(saturday),
        sunday=float(sunday),
        season_amplitude=float(season[0]),
        season_peak_day=float(season[1] + rng.uniform(-30, 30)),
        season_sharpness=float(season[2]),
        sigma_day=float(rng.uniform(0.03, 0.12)),
        sigma_hour=float(rng.uniform(0.05, 0.25)),
        spike_rate=float(rng.uniform(0.0, 0.004)),
        tan_phi=float(np.tan(np.arccos(power_factor))),
        reactive_base_kvarh=float(base_kwh * rng.uniform(0.01, 0.08)),
        sigma_reactive=float(rng.uniform(0.05, 0.25)),
        nominal_fa=nominal,
        nominal_fc=nominal * rng.uniform(0.985, 1.015),
        sigma_voltage=float(rng.uniform(0.015, 0.06)),
    )


def _free_start(
    rng: np.random.Generator,
    occupied: list[tuple[int, int]],
    low: int,
    high: int,
    length: int,
    *,
    step: int = 1,
    margin: int = 0,
) -> int | None:
    """A random start in [low, high - length] whose interval (plus margin) avoids ``occupied``."""
    starts = np.arange(low, high - length + 1, step)
    for begin, end in occupied:
        starts = starts[(starts + length + margin <= begin) | (starts >= end + margin)]
    return None if len(starts) == 0 else int(rng.choice(starts))


def _plan_fleet(
    n_customers: int, calendar: _Calendar, seed: int, *, events: bool, defects: bool
) -> list[_CustomerPlan]:
    fleet_rng = np.random.default_rng([seed, 0])
    plans = []
    for number in range(1, n_customers + 1):
        # Contiguous sector blocks, as in the real workbook.
        sector = SECTORS[(number - 1) * len(SECTORS) // n_customers]
        plans.append(
            _CustomerPlan(number, _draw_profile(sector, np.random.default_rng([seed, 1, number])))
        )

    order = [int(i) for i in fleet_rng.permutation(n_customers)]
    twin = duplicate = None
    if defects:
        twin, duplicate = sorted(order[:2])
        plans[duplicate].duplicate_of = plans[twin].number
    reserved = {i for i in (twin, duplicate) if i is not None}
    pool = [i for i in order if i not in reserved]
    loss_customers: list[int] = []
    if events:
        n_loss = max(1, round(n_customers / 3))
        loss_customers = pool[:n_loss]
        _plan_losses([plans[i] for i in loss_customers], calendar, fleet_rng)
    _plan_campaigns(plans, set(loss_customers), reserved - {twin}, calendar, fleet_rng)
    if defects:
        defect_pool = [i for i in order if i not in reserved]
        for i in defect_pool[-2:]:
            plans[i].gaps = _draw_gaps(calendar, fleet_rng)
        kinds = ["non_numeric", "missing_field", "repeated_header", "duplicate_timestamp"]
        malformed = defect_pool[-4:-2] if n_customers >= 10 else defect_pool[-1:]
        for j, i in enumerate(malformed):
            share = len(kinds) // len(malformed)
            plans[i].malformed = kinds[j * share : (j + 1) * share]
    return plans


def _plan_losses(plans: list[_CustomerPlan], calendar: _Calendar, rng: np.random.Generator) -> None:
    """Spread the loss families over the loss customers, in non-overlapping slots."""
    families = [
        _EVALUATION_FAMILIES[k % len(_EVALUATION_FAMILIES)]
        for k in range(max(len(_EVALUATION_FAMILIES), len(plans)))
    ]
    # A reversed profile only moves energy where the day has a shape to reverse, so the h6
    # events go to the customers whose profile changes most under reversal.
    by_shift = sorted(plans, key=lambda p: -p.profile.reversal_shift())
    assigned: dict[int, list[str]] = {p.number: [] for p in plans}
    n_h6 = families.count("h6")
    for plan in by_shift[:n_h6]:
        assigned[plan.number].append("h6")
        if plan.profile.reversal_shift() < 0.3:
            plan.profile.standby, plan.profile.on_start, plan.profile.on_hours = 0.2, 14, 9
            plan.profile.saturday, plan.profile.sunday = 0.9, 0.6
    rest = [f for f in families if f != "h6"]
    slots = [p.number for p in plans if not assigned[p.number]] + [p.number for p in plans]
    for k, family in enumerate(rest):
        assigned[slots[k % len(slots)]].append(family)

    n_h1 = 0
    evaluation_start, hours = calendar.evaluation_start, calendar.hours
    for plan in plans:
        names = assigned[plan.number]
        slot = (hours - evaluation_start) // len(names)
        for k, family in enumerate(names):
            low = evaluation_start + k * slot
            high = hours if k == len(names) - 1 else low + slot
            event = _draw_event(family, low, high, plan.profile, calendar, rng)
            if family == "h1":
                n_h1 += 1
                if n_h1 % 2 == 0:
                    # A lifted potential transformer: phase C reads almost nothing and the
                    # meter registers about half the energy on both registers.
                    event.params = {
                        "a": round(float(rng.uniform(0.45, 0.55)), 3),
                        "mechanism": "lifted_pt",
                        "phase": "FC",
                        "registers": "active+reactive",
                    }
            plan.events.append(event)

    # Losses in the history part too, as in the real data (stopped meters, reversed wiring).
    history_families = ("stopped_meter", "negative_energy")
    for k, plan in enumerate(plans[: max(2, len(plans) // 10)]):
        family = history_families[k % len(history_families)]
        length = _event_length(family, evaluation_start // 4, rng)
        begin = _free_start(rng, [], evaluation_start // 10, evaluation_start * 9 // 10, length)
        if begin is not None:
            plan.events.append(_Event(family, begin, begin + length, {}))


def _event_length(family: str, room: int, rng: np.random.Generator) -> int:
    low, high = _EVENT_DAYS[family]
    days = int(rng.integers(low, high + 1))
    return max(_HOURS_PER_DAY, min(days * _HOURS_PER_DAY, room))


def _draw_event(
    family: str,
    low: int,
    high: int,
    profile: _Profile,
    calendar: _Calendar,
    rng: np.random.Generator,
) -> _Event:
    step = 1
    if family in _DAY_ALIGNED:
        step = _HOURS_PER_DAY
        low = -(-low // _HOURS_PER_DAY) * _HOURS_PER_DAY
    length = _event_length(family, (high - low) * 4 // 5, rng)
    if family in _DAY_ALIGNED:
        length = max(_HOURS_PER_DAY, length // _HOURS_PER_DAY * _HOURS_PER_DAY)
    begin = _free_start(rng, [], low, high, length, step=step)
    begin = low if begin is None else begin
    end = begin + length
    if family in _OPEN_ENDED and high == calendar.hours and rng.random() < 0.4:
        end = calendar.hours  # still going on when the data ends
    params: dict[str, Any] = {}
    if family == "h1":
        params = {
            "a": round(float(rng.uniform(0.3, 0.8)), 3),
            "mechanism": "scaled_register",
            "registers": "active",
        }
    elif family == "h2":
        # The meter goes off in the hours that matter: the customer's working hours.
        offset = int(rng.integers(0, max(1, profile.on_hours // 2)))
        params = {
            "window_start_hour": (profile.on_start + offset) % _HOURS_PER_DAY,
            "window_hours": int(rng.integers(4, 11)),
        }
    elif family in ("h3", "h4"):
        g_low = round(float(rng.uniform(0.05, 0.3)), 3)
        params = {"g_low": g_low, "g_high": round(float(rng.uniform(g_low + 0.3, 0.95)), 3)}
    elif family == "h7":
        # The cap cuts the peaks: a share of the customer's usual high load, not of its median,
        # which for customers idle most of the day is the standby level.
        params = {"cap_share_of_p95": round(float(rng.uniform(0.3, 0.8)), 3)}
    return _Event(family, begin, end, params)


def _plan_campaigns(
    plans: list[_CustomerPlan],
    loss_customers: set[int],
    skipped: set[int],
    calendar: _Calendar,
    rng: np.random.Generator,
) -> None:
    """Campaigns on about a third of the customers, sector mates on different dates."""
    hours, evaluation_start = calendar.hours, calendar.evaluation_start
    week = 7 * _HOURS_PER_DAY
    candidates = [i for i in rng.permutation(len(plans)) if int(i) not in skipped]
    n_campaigns = max(2, round(len(plans) * 0.35))
    for i in (int(c) for c in candidates[:n_campaigns]):
        plan = plans[i]
        # On loss customers a campaign ends well before the losses, so losses stay readable.
        high = evaluation_start - 2 * week if i in loss_customers else hours - week
        length_days = int(rng.integers(60, 301))
        length = min(length_days * _HOURS_PER_DAY, (high - week) * 2 // 5)
        length = length // _HOURS_PER_DAY * _HOURS_PER_DAY
        occupied = [(e.start, e.end) for e in plan.events]
        begin = _free_start(rng, occupied, week, high, length, step=_HOURS_PER_DAY, margin=week)
        if begin is None or length < 2 * _HOURS_PER_DAY:
            continue
        factor = float(np.exp(rng.uniform(np.log(2.0), np.log(10.0))))
        plateaus = [(begin, factor)]
        if length >= 60 * _HOURS_PER_DAY and rng.random() < 0.5:
            # Campaigns often step between levels before ending.
            second = begin + length // 2 // _HOURS_PER_DAY * _HOURS_PER_DAY
            plateaus.append((second, max(1.5, factor * float(rng.uniform(0.5, 1.5)))))
        plan.campaigns.append(_Campaign(begin, begin + length, plateaus))


def _draw_gaps(calendar: _Calendar, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A few missing hours and one missing day, away from the first and last day."""
    hours = calendar.hours
    day = _HOURS_PER_DAY
    missing_day = int(rng.integers(2, hours // day - 2)) * day
    gaps = [(missing_day, missing_day + day)]
    for _ in range(int(rng.integers(3, 6))):
        length = int(rng.integers(1, 4))
        begin = _free_start(rng, gaps, day, hours - day, length, margin=2)
        if begin is not None:
            gaps.append((begin, begin + length))
    return sorted(gaps)


# ---------------------------------------------------------------------------------------------
# One customer's readings


@dataclass
class _Readings:
    active: np.ndarray
    reactive: np.ndarray
    voltage_fa: np.ndarray
    voltage_fc: np.ndarray


def _true_readings(
    profile: _Profile, campaigns: list[_Campaign], calendar: _Calendar, rng: np.random.Generator
) -> tuple[_Readings, np.ndarray]:
    """What an honest meter would record, and the per-hour activity factor used for holidays."""
    hours, days = calendar.hours, int(calendar.day_index[-1]) + 1
    activity = np.array([1, 1, 1, 1, 1, profile.saturday, profile.sunday])[calendar.weekday]
    holiday_factor = min(profile.sunday, profile.saturday)
    activity = np.where(calendar.holiday_hour, holiday_factor, activity)
    shape = profile.weekday_shape()
    load = profile.standby + (shape[calendar.hour_of_day] - profile.standby) * activity
    week_activity = (5 + profile.saturday + profile.sunday) / 7
    week_mean = profile.standby + (float(shape.mean()) - profile.standby) * week_activity
    phase = 2 * np.pi * (calendar.day_of_year - profile.season_peak_day) / 365.25
    harvest = np.exp(profile.season_sharpness * (np.cos(phase) - 1))
    season = 1 + profile.season_amplitude * (harvest - harvest.mean())
    level = np.ones(hours)
    for campaign in campaigns:
        bounds = [p[0] for p in campaign.plateaus[1:]] + [campaign.end]
        for (begin, factor), end in zip(campaign.plateaus, bounds, strict=True):
            level[begin:end] = factor
    noise = rng.normal(0, profile.sigma_day, days)[calendar.day_index]
    noise += rng.normal(0, profile.sigma_hour, hours)
    spikes = np.where(rng.random(hours) < profile.spike_rate, rng.uniform(1.3, 2.5, hours), 1.0)
    active = profile.base_kwh / week_mean * load * season * level * np.exp(noise) * spikes

    reactive = active * profile.tan_phi * np.exp(rng.normal(0, profile.sigma_reactive, hours))
    reactive += profile.reactive_base_kvarh * np.exp(rng.normal(0, 0.1, hours))

    # Voltage sags a little with the customer's own load, plus occasional supply sags.
    relative_load = active / active.mean()
    droop = 1 - 0.01 * np.clip(relative_load, 0, 5)
    common = rng.normal(0, profile.sigma_voltage * 0.7, hours)
    sag = np.ones(hours)
    for _ in range(rng.poisson(days / 60)):
        begin = int(rng.integers(0, hours - 6))
        sag[begin : begin + int(rng.integers(1, 7))] = rng.uniform(0.6, 0.9)
    spread = profile.sigma_voltage * 0.7
    voltage_fa = profile.nominal_fa * droop * sag * (1 + common + rng.normal(0, spread, hours))
    voltage_fc = profile.nominal_fc * droop * sag * (1 + common + rng.normal(0, spread, hours))
    return _Readings(active, reactive, voltage_fa, voltage_fc), activity


def _apply_event(
    event: _Event,
    true: _Readings,
    reported: _Readings,
    calendar: _Calendar,
    rng: np.random.Generator,
) -> None:
    """Turn the honest readings inside the event into what the manipulated meter reports.

    Tampering with the active register (h1, h3 to h6) leaves the reactive register alone, so the
    ratio moves; interrupting the current (h2, h7, h8, stopped meter) takes both registers.
    """
    window = slice(event.start, event.end)
    x = true.active[window]
    hours = event.end - event.start
    family, params = event.family, event.params
    if family == "h1":
        reported.active[window] = params["a"] * x
        if params["mechanism"] == "lifted_pt":
            reported.reactive[window] = params["a"] * true.reactive[window]
            residual = rng.uniform(0.01, 0.05, hours) * true.voltage_fc[window]
            reported.voltage_fc[window] = residual
    elif family == "h2":
        hour_of_day = calendar.hour_of_day[window]
        inside = (hour_of_day - params["window_start_hour"]) % _HOURS_PER_DAY < params[
            "window_hours"
        ]
        reported.active[window] = np.where(inside, 0.0, x)
        reported.reactive[window] = np.where(inside, 0.0, true.reactive[window])
    elif family == "h3":
        reported.active[window] = rng.uniform(params["g_low"], params["g_high"], hours) * x
    elif family == "h4":
        params["mean_kwh"] = round(float(x.mean()), 4)
        g = rng.uniform(params["g_low"], params["g_high"], hours)
        reported.active[window] = g * x.mean()
    elif family == "h5":
        params["mean_kwh"] = round(float(x.mean()), 4)
        reported.active[window] = np.full(hours, x.mean())
    elif family == "h6":
        reported.active[window] = x.reshape(-1, _HOURS_PER_DAY)[:, ::-1].ravel()
    elif family == "h7":
        cap = params["cap_share_of_p95"] * float(np.quantile(x, 0.95))
        params["cap_kwh"] = round(cap, 4)
        clipped = np.minimum(x, cap)
        reported.active[window] = clipped
        reported.reactive[window] = true.reactive[window] * clipped / x
    elif family in ("h8", "stopped_meter"):
        reported.active[window] = 0.0
        reported.reactive[window] = 0.0
    elif family == "negative_energy":
        reported.active[window] = -x
    if family in LOSS_FAMILIES:
        params["hours"] = hours
        params["lost_kwh"] = round(float(np.sum(x - reported.active[window])), 3)


def _customer_file(
    plan: _CustomerPlan, calendar: _Calendar, seed: int
) -> tuple[bytes, list[tuple[str, str, str, str, int, str]]]:
    """The customer's CSV bytes and its label rows."""
    rng = np.random.default_rng([seed, 2, plan.number])
    true, activity = _true_readings(plan.profile, plan.campaigns, calendar, rng)
    reported = _Readings(**{name: values.copy() for name, values in vars(true).items()})
    for event in plan.events:
        _apply_event(event, true, reported, calendar, rng)

    labelled: list[tuple[str, int, int, dict[str, Any]]] = []
    labelled += [(e.family, e.start, e.end, e.params) for e in plan.events]
    for campaign in plan.campaigns:
        factors = [round(f, 3) for _, f in campaign.plateaus]
        labelled.append(
            (
                "campaign",
                campaign.start,
                campaign.end,
                {"factor": max(factors), "plateaus": factors},
            )
        )
    for begin, name in calendar.holidays:
        labelled.append(
            (
                "holiday",
                begin,
                begin + _HOURS_PER_DAY,
                {"name": name, "factor": round(float(activity[begin + 12]), 3)},
            )
        )

    keep = np.ones(calendar.hours, dtype=bool)
    for begin, end in plan.gaps:
        keep[begin:end] = False
        labelled.append(("gap", begin, end, {"hours": end - begin}))
    content = _csv_bytes(calendar.timestamps[keep], reported, keep)
    if plan.malformed:
        content, malformed = _corrupt(content, plan.malformed, rng)
        kept_hours = np.flatnonzero(keep)
        for kind, line, row in malformed:
            hour = int(kept_hours[row])
            labelled.append(("malformed_row", hour, hour + 1, {"kind": kind, "line": line}))

    rows = [
        (
            plan.client_id,
            family,
            _timestamp(calendar, begin),
            _timestamp(calendar, end),
            int(family in LOSS_FAMILIES),
            json.dumps(params, sort_keys=True, ensure_ascii=False),
        )
        for family, begin, end, params in sorted(labelled, key=lambda r: (r[1], r[0]))
    ]
    return content, rows


# ---------------------------------------------------------------------------------------------
# Writing


_ZERO_FIELD = re.compile(rb",(-?)0(?=[,\r])")
_SHORT_EXPONENT = re.compile(rb"e([+-])(\d)(?=[,\r])")
_MODIFIED_PROPERTY = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*<")


def _csv_bytes(timestamps: np.ndarray, readings: _Readings, keep: np.ndarray) -> bytes:
    """CSV in the ElectroDunas export style: CRLF line ends and Python's float spelling."""
    columns = [
        pa.array(timestamps, type=pa.timestamp("s")),
        readings.active[keep],
        readings.reactive[keep],
        readings.voltage_fa[keep],
        readings.voltage_fc[keep],
    ]
    table = pa.table(dict(zip(DATA_COLUMNS, columns, strict=True)))
    sink = io.BytesIO()
    options = pa_csv.WriteOptions(quoting_header="none", quoting_style="none", batch_size=65536)
    pa_csv.write_csv(table, sink, options)
    content = sink.getvalue().replace(b"\n", b"\r\n")
    # Arrow writes 0.0 as "0" and 1e-05 as "1e-5"; the real export (Python repr) does not.
    content = _ZERO_FIELD.sub(rb",\g<1>0.0", content)
    if b"e-" in content or b"e+" in content:
        content = _SHORT_EXPONENT.sub(rb"e\g<1>0\g<2>", content)
    return content


def _corrupt(
    content: bytes, kinds: list[str], rng: np.random.Generator
) -> tuple[bytes, list[tuple[str, int, int]]]:
    """Plant malformed lines; returns the bytes and (kind, 1-based line, data row index)."""
    lines = content.split(b"\r\n")[:-1]
    header, data = lines[0], lines[1:]
    rows = np.sort(rng.choice(np.arange(1, len(data) - 1, 3), size=len(kinds), replace=False))
    edits = dict(zip((int(r) for r in rows), kinds, strict=True))
    out = [header]
    planted = []
    for row, line in enumerate(data):
        kind = edits.get(row)
        if kind == "repeated_header":
            out.append(header)
            planted.append((kind, len(out), row))
        if kind == "non_numeric":
            fields = line.split(b",")
            fields[1] = b"abc"
            line = b",".join(fields)
        elif kind == "missing_field":
            line = line.rsplit(b",", 1)[0]
        out.append(line)
        if kind in ("non_numeric", "missing_field"):
            planted.append((kind, len(out), row))
        elif kind == "duplicate_timestamp":
            out.append(line)
            planted.append((kind, len(out), row))
    return b"\r\n".join(out) + b"\r\n", planted


def _write_sector_workbook(path: Path, plans: list[_CustomerPlan], seed: int) -> None:
    """The sector workbook, with the stray spaces of the real one, and stable bytes."""
    rng = np.random.default_rng([seed, 3])
    padded = {1, int(rng.integers(2, len(plans) + 1))} if len(plans) > 1 else {1}
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Hoja1"
    sheet.append(["Cliente:", "Sector Económico:"])
    for plan in plans:
        name = plan.client_id + (" " if plan.number in padded else "")
        sheet.append([name, plan.profile.sector])
    workbook.properties.created = dt.datetime(2021, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl stamps the zip entries and the "modified" property with the current time.
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as sink,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2021, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED_PROPERTY.sub(rb"\g<1>2021-01-01T00:00:00Z<", content)
            sink.writestr(entry, content)
