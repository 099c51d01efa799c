"""From flagged hours to alerts: events, their kind, lost energy, evidence, rank.

An alert is one loss event of one customer. Flagged hours less than a day apart are one
event (an inspector visits once). Alerts keep their id across scoring runs: an event that goes
on updates its alert (``updated_at`` changes) instead of raising a new one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from meterwatch.alerts.render import evidence_codes, stored_evidence
from meterwatch.detect.detectors import CONSTANT_MIN_HOURS, STOPPED_MIN_HOURS
from meterwatch.tables import ALERTS, now_utc, stored_params, watched

# Alert kinds, in the order a tie is settled (documented in docs/alerts.md).
KINDS = (
    "reverse_energy",
    "stopped_meter",
    "flat_reporting",
    "voltage_anomaly",
    "load_shape_change",
    "under_registration",
)
WITHDRAWN = "withdrawn"  # status of an alert the revised scores no longer support
PENDING, SENT = "pending", "sent"  # params.delivery of an alert the sinks must hear of
# An ongoing alert changes every day (its window and estimate grow); its recipients hear of it
# again only when it matters: severity rose, the event ended, or the estimated loss grew this
# much since they were last told.
NOTIFY_GROWTH = 1.5
MERGE_GAP_HOURS = 24  # flagged hours closer than this are one event
MIN_EVENT_HOURS = 36  # a deficit must last a day and a half to be worth a visit
MIN_SHAPE_HOURS = 72  # a profile change three: noisy customers' shapes wander for a day or two
MIN_REVERSE_HOURS = 3  # fewer negative hours are a glitch, not reversed wiring
# A flagged stretch of at least a day is never dropped: below the thresholds above (or with
# no net energy missing, or both registers stepping down together) it is kept as a *watch*
# alert, ranked after every raised alert with the reason in its evidence, and not e-mailed.
MIN_CANDIDATE_HOURS = 24
# Why an event is only watched (``params.watch``), in the order they are checked:
WATCH_REASONS = (
    "short",
    "no_net_loss",
    "small_loss",
    "registers_together",
    "young_model",
    "weekly_routine",
    "moved_in_week",
)
# A deficit at the same hours of the week in each of this many weeks before is a weekly routine
# (days of the week shifted), not a loss: once is a coincidence, twice in a row a pattern.
ROUTINE_WEEKS = 2
ROUTINE_LOOKBACK = pd.Timedelta(days=7 * ROUTINE_WEEKS + 1)  # scores the check reads before
# ... provided the week's other working days (expected to use at least half as much as the
# shortfall's days: idle days run far lower) were normal, and at least as many as its short
# days: not a loss of every working day that idle days split into weekly pieces.
ROUTINE_DAY_SHARE = 0.5
OPEN_WITHIN_HOURS = 24  # an event flagged in the last day of data is still open
# An event that ended this long before the customer's latest reading (the history scored on
# day one) goes to the inbox, not to the recipients' mail: it is news to nobody.
HISTORY_NOTICE_DAYS = 30
MIN_LOSS_SHARE = 0.1  # an under-registration must miss a tenth of the expected energy
# Both registers stepped down together (a change of demand, not tampering with the active one):
TOGETHER_BEFORE_DAYS = 7  # compared with the week before the event ...
TOGETHER_LOOKBACK_DAYS = 14  # ... or before the step, when demand fell up to two weeks earlier
TOGETHER_RATIO_SHARE = 1 / 3  # reactive/active ratio moved by less than a third of the step
FLAT_TOP_HOURS = 3  # a day with this many hours at its maximum ...
FLAT_TOP_TOLERANCE = 0.005  # ... (within 0.5 %) had its peaks clipped
MIN_STEP = 0.05  # a step under 5 % is no step
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}  # ranking ties, and "the severity rose"
HIGH_LOSS_SHARE = 0.3  # share of expected energy missing for a high severity
MEDIUM_LOSS_SHARE = 0.1


@dataclass
class Event:
    """One loss event of one customer, before it becomes an alert row."""

    client_id: str
    kind: str
    window_start: pd.Timestamp
    window_end: pd.Timestamp  # exclusive: the hour after the last flagged one
    n_hours: int
    anomaly_rate: float
    lost_kwh: float
    expected_kwh: float
    severity: str
    confidence: float
    params: dict[str, Any] = field(default_factory=dict)


class _Fired:
    """Which detectors fired in each hour of a run of scores, read by name.

    The hours hold few distinct combinations of names: each is split once, and the series is
    factorised once for every name and window read from it (a customer's history is read a
    dozen times per event)."""

    def __init__(self, detectors: pd.Series) -> None:
        self.codes, combos = pd.factorize(detectors.fillna(""))
        self.names = [frozenset(str(c).split(",")) for c in combos]
        self.hits: dict[str, np.ndarray] = {}

    def __call__(self, name: str, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Per hour ``lo`` to ``hi`` (exclusive; the end when None), whether ``name`` fired."""
        hit = self.hits.get(name)
        if hit is None:
            hit = self.hits[name] = np.array([name in n for n in self.names], dtype=bool)
        codes = self.codes[lo:hi]
        return hit[codes] if len(self.names) else np.zeros(len(codes), dtype=bool)

    def window(self, lo: int, hi: int) -> Callable[[str], np.ndarray]:
        """:meth:`__call__` over the hours ``lo`` to ``hi`` (exclusive)."""
        return lambda name: self(name, lo, hi)


def _kind(fired: Callable[[str], np.ndarray], flagged: np.ndarray) -> str:
    hours = {name: int((fired(name) & flagged).sum()) for name in (
        "reverse", "stopped", "constant", "shape", "deficit_day", "deficit_week", "voltage_collapse",
        "zero_hours", "peak", "flat",
    )}  # fmt: skip
    if hours["reverse"] >= MIN_REVERSE_HOURS:
        return "reverse_energy"
    if hours["stopped"] >= STOPPED_MIN_HOURS:
        return "stopped_meter"
    deficit = max(hours["deficit_day"], hours["deficit_week"], hours["peak"])
    if hours["constant"] >= CONSTANT_MIN_HOURS or (
        hours["flat"] >= MIN_EVENT_HOURS and hours["flat"] > deficit
    ):
        return "flat_reporting"
    if hours["zero_hours"] >= MIN_REVERSE_HOURS and not hours["voltage_collapse"]:
        return "under_registration"  # a daily off-window: energy missing, not moved
    if hours["voltage_collapse"] >= 0.5 * max(int(flagged.sum()), 1) and deficit:
        return "voltage_anomaly"
    if hours["shape"] > deficit:
        return "load_shape_change"
    return "under_registration"


def extract_events(
    client_id: str,
    scored: pd.DataFrame,
    *,
    model_quality: float = 1.0,
    registers: pd.DataFrame | None = None,
    earlier: pd.DataFrame | None = None,
    young: np.ndarray | None = None,
) -> list[Event]:
    """Group a customer's flagged hours into alert-worthy events.

    Parameters
    ----------
    client_id
        The customer.
    scored
        Its rows of the ``scores`` table (sorted by ``ts``), with ``reactive_kvarh`` added when
        known (for the power-factor evidence).
    model_quality
        0 to 1; a poor model lowers the confidence of its alerts.
    registers
        The customer's readings (``ts``, ``active_kwh``, ``reactive_kvarh``) around the events:
        an under-registration of less than ``HIGH_LOSS_SHARE`` where both registers stepped
        down together (:func:`registers_stepped_together`) is a change of demand, not raised;
        a larger one is raised with that named in its evidence and a lower confidence.
    earlier
        Its scores (``ts``, ``is_anomaly``, ``expected_kwh``, ``active_kwh``) of the
        ``ROUTINE_LOOKBACK`` before ``scored`` (a daily run's scored window starts a few days
        back): the weeks a deficit is compared with (:func:`weekly_routine`,
        :func:`moved_in_week`).
    young
        Per row of ``scored`` (its order), whether the hour was scored by a walk-forward model
        of the history that knew less than a year of the customer: an under-registration of
        the day-one history found mostly in such hours, and over before the last
        ``HISTORY_NOTICE_DAYS``, is watched (``young_model``), not raised: a season such a
        model never saw looks to it like a loss.
    """
    if scored.empty:
        return []
    if young is not None:
        scored = scored.assign(_young=np.asarray(young, dtype=bool))
    scored = scored.sort_values("ts").reset_index(drop=True)
    book: _Weeks | None = None  # the weeks around deficits (built once, if needed)
    flagged = scored["is_anomaly"].to_numpy(dtype=bool)
    if not flagged.any():
        return []
    names = _Fired(scored["detectors"])
    ts = scored["ts"].to_numpy()
    hour = np.timedelta64(1, "h")
    idx = np.flatnonzero(flagged)
    groups: list[tuple[int, int]] = []
    start = prev = idx[0]
    for i in idx[1:]:
        if ts[i] - ts[prev] > MERGE_GAP_HOURS * hour:
            groups.append((start, prev))
            start = i
        prev = i
    groups.append((start, prev))

    last_ts = pd.Timestamp(ts[-1])
    events: list[Event] = []
    while groups:
        a, b = groups.pop(0)
        window = scored.iloc[a : b + 1]
        wflag = flagged[a : b + 1]
        fired = names.window(a, b + 1)
        kind = _kind(fired, wflag)
        defining = {"stopped_meter": "stopped", "reverse_energy": "reverse"}.get(kind)
        # a stopped meter's or reversed wiring's own readings (its window, below)
        own = np.flatnonzero(fired(defining) & wflag) if defining else np.empty(0, dtype=np.intp)
        if len(own):
            # A day or more of flagged hours before or after them (a deficit leading into the
            # stop) is a candidate of its own, not lost when the window is cut to them: the
            # group is split, in time order, and its pieces taken in turn.
            lead, tail = (a, a + own[0] - 1), (a + own[-1] + 1, b)
            big = [
                hi >= lo and flagged[lo : hi + 1].sum() >= MIN_CANDIDATE_HOURS
                for lo, hi in (lead, tail)
            ]
            if any(big):
                pieces = [(a + int(own[0]) if big[0] else a, a + int(own[-1]) if big[1] else b)]
                for (lo, hi), cut in zip((lead, tail), big, strict=True):
                    if cut:
                        part = lo + np.flatnonzero(flagged[lo : hi + 1])
                        pieces.append((int(part[0]), int(part[-1])))
                groups[:0] = sorted(pieces)
                continue
        n_flagged = int(wflag.sum())
        zero_days = pd.DatetimeIndex(ts[a : b + 1][fired("zero_hours")])
        recurring_zeros = zero_days.floor("D").nunique() >= 2
        if n_flagged < MIN_CANDIDATE_HOURS and kind != "reverse_energy" and not recurring_zeros:
            continue  # less than a day of flagged hours: not a sustained deviation
        watch: str | None = None
        if (
            kind not in ("reverse_energy", "stopped_meter", "flat_reporting")
            and not recurring_zeros
            and n_flagged < (MIN_SHAPE_HOURS if kind == "load_shape_change" else MIN_EVENT_HOURS)
        ):
            watch = "short"
        active = window["active_kwh"].to_numpy(dtype=float)
        expected = window["expected_kwh"].to_numpy(dtype=float)
        # the energy missing in the anomalous hours (an off-window's other hours are normal)
        lost = float(np.nansum((expected - active)[wflag]))
        total_expected = float(np.nansum(expected[wflag]))
        diverged = False
        # the registers' step into the event, measured once for both readings of it below
        step = (
            _register_step(registers, pd.Timestamp(ts[a]), pd.Timestamp(ts[b]))
            if kind == "under_registration" and registers is not None
            else None
        )
        if registers is not None and step is not None:
            # the reactive register as the reference where the active one fell alone
            per_q = _diverged(step)
            if per_q is not None:
                q = (
                    registers.set_index("ts")["reactive_kvarh"]
                    .reindex(pd.DatetimeIndex(ts[a : b + 1])[wflag])
                    .abs()
                    .to_numpy(dtype=float)
                )
                implied = per_q * q
                by_reactive = float(np.nansum(implied - active[wflag]))
                if by_reactive > lost:
                    lost, total_expected = by_reactive, float(np.nansum(implied))
                    diverged = True
        flat_hours = int((fired("flat") & wflag).sum())
        if (
            kind == "under_registration"
            and flat_hours >= MIN_EVENT_HOURS
            and lost <= MIN_LOSS_SHARE * total_expected
        ):
            # the day's profile is gone but its energy is not: flat reporting of the average
            kind, watch = "flat_reporting", None
        if watch is None and kind == "under_registration":
            if lost <= 0:
                watch = "no_net_loss"  # moved or flattened, not missing: the operator decides
            elif lost <= MIN_LOSS_SHARE * total_expected and not recurring_zeros:
                watch = "small_loss"  # within what the expectation itself can be off
        share = lost / total_expected if total_expected > 0 else 0.0
        if kind in ("reverse_energy", "stopped_meter") or share >= HIGH_LOSS_SHARE:
            severity = "high"
        elif share >= MEDIUM_LOSS_SHARE or kind in ("flat_reporting", "voltage_anomaly"):
            severity = "medium"
        else:
            severity = "low"
        reactive = bool((fired("reactive") & wflag).mean() >= 0.5)
        voltage = bool(
            ((fired("voltage_collapse") | fired("voltage_divergence")) & wflag).mean() >= 0.5
        )
        sector = bool((fired("sector") & wflag).mean() >= 0.5)
        # some peers fell too, not most of them: not absorbed, but named and less confident
        some_peers = not sector and bool((fired("sector_some") & wflag).mean() >= 0.5)
        # Tampering with the active register leaves the reactive one alone (the ratio moves);
        # a real step of demand takes both in proportion and keeps the profile. So does a
        # bypassed or shunted current transformer: both registers fall together is evidence
        # for demand *or* for that theft, never a reason to hide the event. A small one is
        # watched, a larger one raised, named, less confident.
        together = bool(
            kind == "under_registration"
            and registers is not None
            and not (reactive or voltage)
            and not recurring_zeros
            and (fired("shape") & wflag).mean() < 0.5
            and _together(step)
        )
        if together and share < HIGH_LOSS_SHARE and watch is None:
            watch = "registers_together"
        historical = last_ts - pd.Timestamp(ts[b]) > pd.Timedelta(days=HISTORY_NOTICE_DAYS)
        if (
            watch is None
            and kind == "under_registration"
            and historical
            and "_young" in scored
            and scored["_young"].to_numpy()[a : b + 1][wflag].mean() >= 0.5
        ):
            watch = "young_model"
        if watch is None and kind == "under_registration" and not recurring_zeros:
            if book is None:
                book = _routine_book(scored, earlier)
            if weekly_routine(book, ts[a : b + 1][wflag]):
                watch = "weekly_routine"
            elif moved_in_week(book, ts[a : b + 1][wflag], lost):
                watch = "moved_in_week"
        if watch is not None:
            severity = "low"
        mean_score = float(np.nanmean(window["score"].to_numpy(dtype=float)[wflag]))
        confidence = min(mean_score / 3.0, 1.0) * (0.5 + 0.5 * model_quality)
        confidence = confidence + 0.15 * (reactive or voltage) - 0.15 * together - 0.3 * sector
        confidence -= 0.15 * some_peers
        if watch is not None:
            confidence *= 0.5  # a watched event is a weaker case than a raised one
        confidence = float(np.clip(confidence, 0.05, 1.0))
        window_start = pd.Timestamp(ts[a])
        window_end = pd.Timestamp(ts[b]) + pd.Timedelta(hours=1)
        # a stopped meter or reversed wiring starts and ends with its own readings (the
        # day's windows around it flag a few hours on either side)
        if len(own):
            window_start = pd.Timestamp(ts[a + own[0]])
            window_end = pd.Timestamp(ts[a + own[-1]]) + pd.Timedelta(hours=1)
        zero_hours = int(((active == 0) & wflag).sum())
        events.append(
            Event(
                client_id=client_id,
                kind=kind,
                window_start=window_start,
                window_end=window_end,
                n_hours=n_flagged,
                anomaly_rate=n_flagged / max(len(window), 1),
                lost_kwh=max(lost, 0.0),
                expected_kwh=total_expected,
                severity=severity,
                confidence=confidence,
                params={
                    "lost_kwh": round(max(lost, 0.0), 1),
                    "loss_pct": round(100 * share, 1),
                    "expected_kwh": round(total_expected, 1),
                    # the same hours as expected_kwh and lost_kwh: the flagged ones
                    "reported_kwh": round(float(np.nansum(active[wflag])), 1),
                    "n_hours": n_flagged,
                    "zero_hours": zero_hours,
                    "negative_hours": int((active < 0).sum()),
                    "start": window_start.strftime("%Y-%m-%d %H:%M"),
                    "end": window_end.strftime("%Y-%m-%d %H:%M"),
                    "reactive_change": reactive,
                    "voltage_anomaly": voltage,
                    "sector_shares_drop": sector,
                    "some_peers_fell": some_peers,
                    "registers_together": together,
                    "registers_diverged": diverged,
                    "watch": watch,
                    "ongoing": bool(
                        last_ts - pd.Timestamp(ts[b]) <= pd.Timedelta(hours=OPEN_WITHIN_HOURS)
                    ),
                    "historical": historical,
                },
            )
        )
    return events


@dataclass
class _Weeks:
    """A customer's scores around its deficits, read by :func:`weekly_routine` and
    :func:`moved_in_week`: by hour (flag, expected and reported energy, one row an hour) and
    by day (their sums, ``flagged`` when any hour was), summed once for every event."""

    hours: pd.DataFrame
    days: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.hours.empty


def _routine_book(scored: pd.DataFrame, earlier: pd.DataFrame | None) -> _Weeks:
    """The customer's :class:`_Weeks`, ``earlier`` before ``scored``."""
    cols = ["ts", "is_anomaly", "expected_kwh", "active_kwh"]
    parts = [scored[cols]]
    if earlier is not None and len(earlier):
        parts.insert(0, earlier.loc[earlier["ts"] < scored["ts"].iloc[0], cols])
    book = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    hours = pd.DataFrame(
        {
            "flag": book["is_anomaly"].to_numpy(dtype=bool),
            "expected": pd.to_numeric(book["expected_kwh"], errors="coerce").to_numpy(dtype=float),
            "active": pd.to_numeric(book["active_kwh"], errors="coerce").to_numpy(dtype=float),
        },
        index=pd.DatetimeIndex(pd.to_datetime(book["ts"])),
    )
    if not hours.index.is_unique:
        hours = hours[~hours.index.duplicated(keep="last")]
    by_day = hours.groupby(pd.DatetimeIndex(hours.index).floor("D"))
    days = pd.DataFrame(
        {
            "expected": by_day["expected"].sum(min_count=1),
            "active": by_day["active"].sum(min_count=1),
            "flagged": by_day["flag"].any(),
        }
    )
    return _Weeks(hours, days)


def weekly_routine(book: _Weeks, hours: np.ndarray) -> bool:
    """Whether a deficit whose flagged hours are ``hours`` repeats a weekly routine.

    Two things must hold, both read from the customer's own scores (``book``,
    :func:`_routine_book`): at least half of the same hours of the week were flagged in each
    of the ``ROUTINE_WEEKS`` weeks before (the shortfall comes back every week at the same
    days and hours), and in the week before the event every working day of another weekday
    (expected to use at least ``ROUTINE_DAY_SHARE`` of the event's lightest day) had no flagged
    hour, and there were at least as many of them as the event has days that fell short (by
    ``MIN_LOSS_SHARE`` of their expected energy): the shortfall takes a few days of the week,
    the rest of the customer's working week is normal. A loss of every working day recurs
    weekly too wherever idle days split it (a drop on a customer idle at weekends, a loss cut
    by Sundays into six-day events); it fails the second: its other working days were not
    normal, or fewer than its own. A changed weekly routine (the days of work shifted since the
    model was fitted) passes both; it is watched, not raised, from its third week on.
    """
    if not len(hours) or book.empty:
        return False
    at = pd.DatetimeIndex(hours)
    flags = book.hours["flag"]
    for k in range(1, ROUTINE_WEEKS + 1):
        back = flags.reindex(at - pd.Timedelta(days=7 * k))
        if float(back.fillna(False).astype(bool).mean()) < 0.5:
            return False
    expected, active = book.days["expected"], book.days["active"]
    flagged_day = book.days["flagged"]
    own = at.floor("D").unique()
    lightest = expected.reindex(own).min()
    if not np.isfinite(lightest):
        return False
    # the days that themselves fell short (the centred windows flag hours of the days around)
    short = int((active.reindex(own) < (1 - MIN_LOSS_SHARE) * expected.reindex(own)).sum())
    first = own.min()
    weekdays = set(own.dayofweek)
    normal = 0
    for k in range(1, 8):
        day = first - pd.Timedelta(days=k)
        if day.dayofweek in weekdays or day not in expected.index:
            continue
        if expected[day] >= ROUTINE_DAY_SHARE * lightest:  # a working day
            if flagged_day[day]:
                return False  # the rest of the week was not normal: a loss, not a routine
            normal += 1
    return normal >= max(short, 1)


def moved_in_week(book: _Weeks, hours: np.ndarray, lost: float) -> bool:
    """Whether the energy a deficit of less than a week misses (``lost``, over its flagged
    ``hours``) was used on the other days of its week: the reported energy of the week's
    other hours exceeds their expectation by at least as much.

    The week is the seven days around the event's days (centred; kept within the scores at
    the edges of the data), read from ``book`` (:func:`_routine_book`). No threshold of its
    own: the surplus must cover the whole deficit. A loss leaves the other
    days as expected, so their surplus is noise around zero; a week whose days moved (a plant
    that worked its Saturday on the Monday before, a stale weekday pattern) balances.
    """
    if not len(hours) or lost <= 0 or book.empty:
        return False
    at = pd.DatetimeIndex(hours)
    first, last = at.min().floor("D"), at.max().floor("D")
    days = (last - first).days + 1
    if days >= 7:
        return False  # a week or more: no other days to have used it
    start = first - pd.Timedelta(days=(7 - days) // 2)
    end = start + pd.Timedelta(days=7)
    index = book.hours.index
    begin, edge = index.min().floor("D"), index.max() + pd.Timedelta(hours=1)
    if end > edge:
        start, end = start - (end - edge), edge
    if start < begin:
        start, end = begin, min(begin + pd.Timedelta(days=7), edge)
    other = (index >= start) & (index < end) & ~index.isin(at)
    surplus = (book.hours["active"] - book.hours["expected"]).to_numpy()[other]
    return bool(np.nansum(surplus) >= lost)


_Step = tuple[float, float, float, float, pd.DataFrame, pd.DataFrame]


def _register_step(
    registers: pd.DataFrame, start: pd.Timestamp, last: pd.Timestamp
) -> _Step | None:
    """Mean active and reactive energy (``m0``, ``q0``) of the week before ``start`` and of
    the hours ``start`` to ``last`` (``m1``, ``q1``), and those readings, where the active one
    stepped down by at least ``MIN_STEP``. When the week before ``start`` is already at the
    event's level, the reference is the latest week before it, ending up to
    ``TOGETHER_LOOKBACK_DAYS`` before ``start``, that stood at least ``MIN_STEP`` higher."""
    if registers.empty:
        return None
    if not registers["ts"].is_monotonic_increasing:
        registers = registers.sort_values("ts", kind="stable").reset_index(drop=True)
    # the readings are in time order: each period is a slice (a history's registers are read
    # once per day looked back)
    ts = pd.DatetimeIndex(pd.to_datetime(registers["ts"]))
    active = np.clip(registers["active_kwh"].to_numpy(dtype=float), 0, None)

    def rows(lo: pd.Timestamp, hi: pd.Timestamp, *, right: Literal["left", "right"]) -> slice:
        return slice(int(ts.searchsorted(lo, "left")), int(ts.searchsorted(hi, right)))

    now = rows(start, last, right="right")
    during = registers.iloc[now]
    if len(during) < 24:
        return None
    m1 = float(np.nanmean(active[now]))
    q1 = float(np.nanmean(np.abs(during["reactive_kvarh"].to_numpy(dtype=float))))
    if not (np.isfinite(m1) and m1 > 0 and np.isfinite(q1) and q1 > 0):
        return None
    for back in range(TOGETHER_LOOKBACK_DAYS + 1):
        end = start - pd.Timedelta(days=back)
        then = rows(end - pd.Timedelta(days=TOGETHER_BEFORE_DAYS), end, right="left")
        if then.stop - then.start < 72:
            return None
        m0 = float(np.nanmean(active[then]))
        if np.isfinite(m0) and m0 > 0 and np.log(m0 / m1) >= MIN_STEP:
            break
    else:
        return None
    before = registers.iloc[then]
    q0 = float(np.nanmean(np.abs(before["reactive_kvarh"].to_numpy(dtype=float))))
    if not (np.isfinite(q0) and q0 > 0):
        return None
    return m0, q0, m1, q1, before, during


def registers_diverged(
    registers: pd.DataFrame, start: pd.Timestamp, last: pd.Timestamp
) -> float | None:
    """Active energy per unit of reactive energy before the event, where the active register
    stepped down from the week before ``start`` and the reactive one held (moved by less than
    ``TOGETHER_RATIO_SHARE`` of the active step): the mirror of
    :func:`registers_stepped_together`. Tampering with the active register (a scaled meter)
    leaves the reactive one counting, so the reactive register times this ratio is what the
    active one should have read. ``None`` where the registers did not diverge."""
    return _diverged(_register_step(registers, start, last))


def _diverged(found: _Step | None) -> float | None:
    if found is None:
        return None
    m0, q0, m1, q1, _, _ = found
    step = float(np.log(m0 / m1))
    if abs(float(np.log(q0 / q1))) >= TOGETHER_RATIO_SHARE * step:
        return None
    return m0 / q0


def registers_stepped_together(
    registers: pd.DataFrame, start: pd.Timestamp, last: pd.Timestamp
) -> bool:
    """Whether the active and reactive registers stepped down together from the week before
    ``start`` to the hours ``start`` to ``last``, each day keeping its profile.

    When the week before ``start`` is already at the event's level (the step came a few days
    earlier: a plateau shorter than the gate's "sustained", just before the model's training
    ended), the reference is the latest week before it, ending up to
    ``TOGETHER_LOOKBACK_DAYS`` before ``start``, that stood at least ``MIN_STEP`` higher.

    Measured on the readings themselves, not against the model: the step is the log ratio of
    the mean active energy before and during; the reactive/active ratio must have moved by
    less than ``TOGETHER_RATIO_SHARE`` of it (tampering with the active register moves it by
    all of it), and the days must not have become flat-topped (a cap clips the peak hours to
    one value; less production lowers the peaks but they still vary): the share of days with
    ``FLAT_TOP_HOURS`` hours within ``FLAT_TOP_TOLERANCE`` of the day's maximum may not grow by
    more than a third from the week before.
    """
    return _together(_register_step(registers, start, last))


def _together(found: _Step | None) -> bool:
    if found is None:
        return False
    m0, q0, m1, q1, before, during = found
    step = float(np.log(m0 / m1))
    if abs(float(np.log((q1 / m1) / (q0 / m0)))) >= TOGETHER_RATIO_SHARE * step:
        return False
    flat0, flat1 = _flat_topped_days(before), _flat_topped_days(during)
    if not len(flat0) or not len(flat1):
        return False
    return bool(flat1.mean() - flat0.mean() <= 1 / 3)


def _flat_topped_days(frame: pd.DataFrame) -> np.ndarray:
    """Per day with at least 12 readings: whether ``FLAT_TOP_HOURS`` or more of its hours lie
    within ``FLAT_TOP_TOLERANCE`` of its maximum (the peaks were clipped to one value)."""
    a = frame["active_kwh"].clip(lower=0)
    day = pd.to_datetime(frame["ts"]).dt.floor("D").to_numpy()
    top = a.groupby(day).transform("max").to_numpy(dtype=float)
    near = pd.Series(
        (a.to_numpy(dtype=float) >= top * (1 - FLAT_TOP_TOLERANCE)) & (top > 0), index=a.index
    )
    counts = near.groupby(day).agg(["sum", "size"])
    counts = counts[counts["size"] >= 12]
    return (counts["sum"] >= FLAT_TOP_HOURS).to_numpy(dtype=bool)


def _overlaps(a_start: Any, a_end: Any, b_start: Any, b_end: Any) -> bool:
    gap = pd.Timedelta(hours=MERGE_GAP_HOURS)
    return bool(pd.Timestamp(a_start) <= pd.Timestamp(b_end) + gap) and bool(
        pd.Timestamp(a_end) + gap >= pd.Timestamp(b_start)
    )


def merge_alerts(
    existing: pd.DataFrame,
    events: dict[str, list[Event]],
    sectors: dict[str, str | None],
    *,
    revised_from: Mapping[str, pd.Timestamp] | None = None,
) -> tuple[pd.DataFrame, list[str], list[str], list[str], list[str]]:
    """Merge freshly extracted events into the alerts table.

    An event that overlaps (or touches, within a day) an alert of the same customer and kind
    keeps that alert's id and creation time; its row is updated only when the window or the
    figures changed. Alerts of customers in ``events`` that no event matches any more are
    kept as they were, except those ending after the customer's ``revised_from`` hour: their
    scores were revised (the data's edge scored again once the following days arrived) and no
    longer support them, so they are withdrawn: kept with status ``withdrawn`` (their sinks
    may have announced them: the withdrawal is announced too), ranked last. A later event that
    overlaps a withdrawn alert brings it back under the same id. Ranks are recomputed over the
    whole table.

    Returns
    -------
    (alerts, new_ids, updated_ids, withdrawn_ids, notify_ids)
        ``updated_ids`` are the alerts whose row changed; ``notify_ids`` those the sinks hear
        of: new and withdrawn alerts and updates that matter (the severity rose, the event
        ended, or the estimated loss reached ``NOTIFY_GROWTH`` times what was last sent, kept
        as ``params.notified_kwh``).
    """
    now = now_utc()
    existing = existing.copy() if not existing.empty else pd.DataFrame(columns=ALERTS.columns)
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in existing.to_dict("records")
    ]
    new_ids: list[str] = []
    updated_ids: list[str] = []
    revised = {str(k): pd.Timestamp(v) for k, v in (revised_from or {}).items()}
    withdrawn: set[int] = set()
    withdrawn_ids: list[str] = []
    notify: list[str] = []
    for client, client_events in events.items():
        used: set[int] = set()
        for ev in client_events:
            match = None
            for i, row in enumerate(rows):
                if i in used or row["client_id"] != client or row["kind"] != ev.kind:
                    continue
                if _overlaps(
                    row["window_start"], row["window_end"], ev.window_start, ev.window_end
                ):
                    match = i
                    break
            status = "open" if ev.params.get("ongoing") else "closed"
            fields = {
                "client_id": client,
                "sector": sectors.get(client),
                "kind": ev.kind,
                "window_start": ev.window_start,
                "window_end": ev.window_end,
                "anomaly_rate": round(ev.anomaly_rate, 4),
                "lost_kwh_estimate": round(ev.lost_kwh, 1),
                "severity": ev.severity,
                "status": status,
                # codes, not sentences: every reader writes them in its language
                "evidence": stored_evidence(evidence_codes(ev.kind, ev.params)),
                "n_hours": ev.n_hours,
                "confidence": round(ev.confidence, 3),
                "params": json.dumps(ev.params, ensure_ascii=False, default=str),
            }
            if match is None:
                alert_id = uuid.uuid4().hex[:16]
                rows.append({"alert_id": alert_id, "created_at": now, "updated_at": now,
                             "rank": 0, **fields})  # fmt: skip
                used.add(len(rows) - 1)
                new_ids.append(alert_id)
                # a watched event, or one long over, waits in the inbox
                if not ev.params.get("watch") and not ev.params.get("historical"):
                    _mark_notified(rows[-1])
                    notify.append(alert_id)
                continue
            used.add(match)
            row = rows[match]
            # the window only grows: an event seen in full earlier keeps its start (unless
            # that start lies in the revised edge, whose scores were replaced)
            edge = revised.get(client)
            old_start = pd.Timestamp(row["window_start"])
            if edge is None or old_start < edge:
                fields["window_start"] = min(old_start, ev.window_start)
            changed = any(
                str(row.get(k)) != str(v)
                for k, v in fields.items()
                if k in ("window_start", "window_end", "lost_kwh_estimate", "status", "severity")
            ) or bool(stored_params(row.get("params")).get("watch")) != bool(ev.params.get("watch"))
            if changed:
                before = {k: row.get(k) for k in ("severity", "status", "params")}
                row.update(fields)
                row["updated_at"] = now
                row["params"] = _carry_notified(before["params"], row["params"])
                updated_ids.append(str(row["alert_id"]))
                if not ev.params.get("watch") and _matters(before, row):
                    _mark_notified(row)
                    notify.append(str(row["alert_id"]))
        edge = revised.get(client)
        if edge is not None:
            withdrawn |= {
                i
                for i, row in enumerate(rows)
                if i not in used
                and row["client_id"] == client
                and pd.Timestamp(row["window_end"]) > edge
                and row["status"] != WITHDRAWN
            }
    for i in sorted(withdrawn):
        rows[i]["status"] = WITHDRAWN
        rows[i]["updated_at"] = now
        withdrawn_ids.append(str(rows[i]["alert_id"]))
        if stored_params(rows[i]["params"]).get("notified_kwh") is not None:
            notify.append(str(rows[i]["alert_id"]))  # the recipients heard of it: retract
            params = stored_params(rows[i]["params"])
            params["delivery"] = PENDING
            rows[i]["params"] = json.dumps(params, ensure_ascii=False, default=str)
    frame = pd.DataFrame(rows, columns=ALERTS.columns)
    if not frame.empty:
        value = frame["lost_kwh_estimate"].astype(float).fillna(0) * frame["confidence"].astype(
            float
        ).fillna(0.5)
        severity = frame["severity"].map(SEVERITY_RANK).fillna(0)
        is_open = (frame["status"] == "open").astype(int)
        # the visit worth most first: an ongoing loss counts double (it is still running);
        # a withdrawn alert is worth no visit
        worth = value * (1 + is_open) * (frame["status"] != WITHDRAWN)
        # raised alerts first, then the watched ones (kept, never hidden), then withdrawn
        raised = ~watched(frame["params"])
        tier = (frame["status"] != WITHDRAWN).astype(int) + raised.astype(int)
        order = pd.DataFrame({"t": tier, "w": worth, "s": severity}).sort_values(
            ["t", "w", "s"], ascending=False
        )
        frame.loc[order.index, "rank"] = np.arange(1, len(frame) + 1)
        frame = frame.sort_values("rank").reset_index(drop=True)
    return typed_alerts(frame), new_ids, updated_ids, withdrawn_ids, notify


def typed_alerts(frame: pd.DataFrame) -> pd.DataFrame:
    """The alerts frame with the column types of the ``alerts`` table."""
    out = frame.reindex(columns=ALERTS.columns).copy()
    for col in ("window_start", "window_end"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[s]")
    for col in ("created_at", "updated_at"):
        out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[ms, UTC]")
    for col in ("anomaly_rate", "lost_kwh_estimate", "confidence"):
        out[col] = out[col].astype(float)
    for col in ("rank", "n_hours"):
        out[col] = out[col].fillna(0).astype("int64")
    return out


def _carry_notified(old: Any, new: Any) -> str:
    """``new`` params keeping what the sinks were last told (``notified_kwh``) and a delivery
    still pending."""
    fresh = stored_params(new)
    before = stored_params(old)
    told = before.get("notified_kwh")
    if told is not None:
        fresh["notified_kwh"] = told
    if before.get("delivery") == PENDING:
        fresh["delivery"] = PENDING
    return json.dumps(fresh, ensure_ascii=False, default=str)


def _matters(before: dict[str, Any], row: dict[str, Any]) -> bool:
    """Whether an update is worth telling the recipients again: the severity rose, the event
    ended, or the estimated loss reached ``NOTIFY_GROWTH`` times what they were last told."""
    rose = SEVERITY_RANK.get(str(row["severity"]), 0) > SEVERITY_RANK.get(
        str(before.get("severity")), 0
    )
    ended = row["status"] == "closed" and before.get("status") == "open"
    told = stored_params(row["params"]).get("notified_kwh")
    lost = float(row["lost_kwh_estimate"] or 0.0)
    grew = told is None or lost >= NOTIFY_GROWTH * max(float(told), 1e-9)
    return bool(rose or ended or grew)


def _mark_notified(row: dict[str, Any]) -> None:
    """Record what the recipients will be told and queue the alert for delivery (the
    transactional outbox: the row is committed ``pending``, sent after the commit, then
    marked ``sent``; a run that dies in between leaves it pending for the next one)."""
    params = stored_params(row["params"])
    params["notified_kwh"] = round(float(row["lost_kwh_estimate"] or 0.0), 1)
    params["delivery"] = PENDING
    row["params"] = json.dumps(params, ensure_ascii=False, default=str)
