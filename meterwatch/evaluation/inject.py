"""Labelled manipulations (families h1 to h8) and real events in the new part of a series.

Each family is a function of the true hourly consumption ``x(t)`` over a window (docs/domain-notes.md#loss-families,
after Jokar et al. 2016). The loss share ``L`` of a draw sets the family's parameter so that
the window loses about ``L`` of its energy: ``a = 1 - L`` (h1), a daily off-window whose
hours carry ``L`` of the energy (h2), ``g(t)`` with mean ``1 - L`` (h3, h4) and a cap that
clips ``L`` of the energy (h7). h5 (flat average), h6 (reversed daily profile) and h8
(stopped meter) have no loss parameter: their definition fixes what they do.

The hourly label of a manipulation is the set of hours whose reported active energy differs
from the truth: an h2 window that falls on idle hours, or an h7 cap above an hour's value,
leaves those hours unlabelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

FAMILIES: tuple[str, ...] = ("h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8")
REAL_EVENTS: tuple[str, ...] = ("stopped_meter", "negative_energy")
Tier = Literal["standard", "subtle", "wide"]
TIERS: tuple[Tier, ...] = ("standard", "subtle", "wide")

# A run of exactly zero active energy this long in the new data is a stopped meter.
STOPPED_METER_MIN_HOURS = 24
# h5 and h6 are only losses where the customer has a daily profile: moving the energy of
# the mean training day (flat average or reversed) must shift at least this share of it.
PROFILE_MIN_SHIFT = 0.10
# Registers: tampering with the active register (h1, h3 to h6) leaves the reactive register
# alone; interrupting the current (h2, h7, h8) takes both.
_CURRENT_INTERRUPTED = frozenset({"h2", "h7", "h8"})


@dataclass(frozen=True)
class TierSpec:
    """Random parameter ranges of a tier.

    Attributes
    ----------
    loss
        Range of the loss share ``L`` (fraction of the window's energy that goes unbilled).
    days
        Range of the window length in days (clamped to the new part's length).
    """

    loss: tuple[float, float]
    days: tuple[int, int]
    variants: bool = False
    """Also draw the variants real thefts take: log-uniform window lengths, a shunted
    current transformer (h1, h3 with the reactive register scaled too), noisy flat reporting
    (h5 with 1-10 % noise), a second event in the same customer."""


TIER_SPECS: dict[str, TierSpec] = {
    # docs/domain-notes.md#detection-protocol: standard = losses of 20 to 90 %; subtle = 5 to 40 %, shorter windows.
    "standard": TierSpec(loss=(0.20, 0.90), days=(14, 60)),
    "subtle": TierSpec(loss=(0.05, 0.40), days=(3, 14)),
    # wider than the protocol's tiers, so figures do not rest on the ranges values were set on
    "wide": TierSpec(loss=(0.03, 0.95), days=(1, 120), variants=True),
}
SECOND_EVENT_SHARE = 0.2  # in the wide tier, this share of injected customers gets two events


@dataclass(frozen=True)
class Injection:
    """One manipulation of one customer's new data.

    Attributes
    ----------
    client_id, family
        Customer and family (``h1`` to ``h8``).
    start, end
        Row positions in the customer's new part, ``end`` exclusive.
    params
        Family parameters (``a``, ``window_start_hour`` and ``window_hours``, ``g_low`` and
        ``g_high``, ``cap_kwh``), plus ``loss_share`` when the family has one.
    """

    client_id: str
    family: str
    start: int
    end: int
    params: dict[str, Any]


def daily_profile_shift(ts: pd.Series, active: np.ndarray) -> tuple[float, float]:
    """Share of the mean day's energy moved by a flat average (h5) and by a reversal (h6).

    Parameters
    ----------
    ts, active
        Hour starts and active energy of a customer's history.

    Returns
    -------
    tuple of float
        ``(flat_shift, reversed_shift)``, each in [0, 1].
    """
    hours = pd.DatetimeIndex(ts).hour.to_numpy()
    sums = np.bincount(hours, weights=np.clip(active, 0, None), minlength=24)
    counts = np.bincount(hours, minlength=24)
    profile = np.divide(sums, counts, out=np.zeros(24), where=counts > 0)
    total = profile.sum()
    if total <= 0:
        return 0.0, 0.0
    flat = 0.5 * float(np.abs(profile - profile.mean()).sum() / total)
    reverse = 0.5 * float(np.abs(profile - profile[::-1]).sum() / total)
    return flat, reverse


def apply_family(
    family: str,
    x: np.ndarray,
    hour_of_day: np.ndarray,
    params: dict[str, Any],
    rng: np.random.Generator,
) -> np.ndarray:
    """What a manipulated meter reports for the true hourly values ``x`` of a window.

    Parameters
    ----------
    family
        ``h1`` to ``h8``.
    x
        True active energy of the window's hours.
    hour_of_day
        Hour of day (0 to 23) of each value; h6 reverses whole days (rows whose days are
        complete, 24 consecutive hours starting at 0), other partial days stay as they are.
    params
        The family's parameters (see :class:`Injection`).
    rng
        Random stream for h3 and h4.

    Returns
    -------
    numpy.ndarray
        The reported values, same length as ``x``.
    """
    n = len(x)
    if family == "h1":
        return params["a"] * x
    if family == "h2":
        inside = (hour_of_day - params["window_start_hour"]) % 24 < params["window_hours"]
        return np.where(inside, 0.0, x)
    if family == "h3":
        return rng.uniform(params["g_low"], params["g_high"], n) * x
    if family == "h4":
        return rng.uniform(params["g_low"], params["g_high"], n) * float(x.mean())
    if family == "h5":
        return np.full(n, float(x.mean()))
    if family == "h6":
        out = x.copy()
        starts = np.flatnonzero(hour_of_day == 0)
        for s in starts:
            if s + 24 <= n and np.array_equal(hour_of_day[s : s + 24], np.arange(24)):
                out[s : s + 24] = x[s : s + 24][::-1]
        return out
    if family == "h7":
        return np.minimum(x, params["cap_kwh"])
    if family == "h8":
        return np.zeros(n)
    raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


def _cap_for_loss(x: np.ndarray, loss: float) -> float:
    """The cap ``c`` for which ``sum(min(x, c))`` is ``(1 - loss) * sum(x)``."""
    values = np.sort(np.clip(x, 0, None))[::-1]
    if len(values) == 0 or values.sum() <= 0:
        return 0.0
    target = loss * values.sum()
    top_sums = np.cumsum(values)
    following = np.r_[values[1:], 0.0]
    # Clipping at the (k+1)-th value removes top_sums[k] - (k+1) * following[k]: non-decreasing.
    removed = top_sums - np.arange(1, len(values) + 1) * following
    k = min(int(np.searchsorted(removed, target)), len(values) - 1)
    return float((top_sums[k] - target) / (k + 1))


def draw_params(
    family: str,
    x: np.ndarray,
    hour_of_day: np.ndarray,
    loss: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Parameters of ``family`` that take about ``loss`` of the window's energy."""
    if family == "h1":
        return {"a": round(1.0 - loss, 4), "loss_share": round(loss, 4)}
    if family == "h2":
        start_hour = int(rng.integers(0, 24))
        total = float(np.clip(x, 0, None).sum())
        best_hours, best_gap = 1, np.inf
        for k in range(1, 24):
            inside = (hour_of_day - start_hour) % 24 < k
            share = float(np.clip(x[inside], 0, None).sum()) / total if total > 0 else k / 24
            if abs(share - loss) < best_gap:
                best_hours, best_gap = k, abs(share - loss)
        return {
            "window_start_hour": start_hour,
            "window_hours": best_hours,
            "loss_share": round(loss, 4),
        }
    if family in ("h3", "h4"):
        mean = 1.0 - loss
        spread = min(loss, 1.0 - loss, 0.3)
        return {
            "g_low": round(mean - spread, 4),
            "g_high": round(mean + spread, 4),
            "loss_share": round(loss, 4),
        }
    if family == "h7":
        return {"cap_kwh": round(_cap_for_loss(x, loss), 6), "loss_share": round(loss, 4)}
    if family in ("h5", "h6", "h8"):
        return {}
    raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


def read_known_events(path: str | Path) -> pd.DataFrame:
    """The loss events of a labels file (``client_id, family, start, end, is_loss, ...``).

    Rows with ``is_loss`` 0 (campaigns, holidays, gaps: context, not losses) are dropped.
    """
    frame = pd.read_csv(path)
    missing = {"client_id", "family", "start", "end"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: not a labels file, missing columns {sorted(missing)}")
    if "is_loss" in frame.columns:
        frame = frame[frame["is_loss"].astype(int) == 1]
    return pd.DataFrame(
        {
            "client_id": frame["client_id"].astype(str),
            "family": frame["family"].astype(str),
            "start": pd.to_datetime(frame["start"]),
            "end": pd.to_datetime(frame["end"]),
        }
    ).reset_index(drop=True)


def real_event_mask(active: np.ndarray) -> dict[str, np.ndarray]:
    """Hours of real events already in new data: stopped meter (zero runs) and negative energy."""
    zero = active == 0
    stopped = np.zeros(len(active), dtype=bool)
    edges = np.diff(np.r_[0, zero.astype(np.int8), 0])
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if e - s >= STOPPED_METER_MIN_HOURS:
            stopped[s:e] = True
    return {"stopped_meter": stopped, "negative_energy": active < 0}


@dataclass
class Draw:
    """One random draw of the protocol: the new data as it arrives, with its truth.

    Attributes
    ----------
    test
        The new part of every customer, manipulated (same rows as the input's new part).
    labels
        Boolean hourly truth aligned with ``test`` rows (``True`` = manipulated or real event).
    family
        Per ``test`` row the family behind a positive label (``""`` for negatives).
    injections
        The manipulations, one per injected customer.
    positives
        Customer -> family (``h1``... or a real event name) of every positive customer.
    starts
        Customer -> first positive hour (the start a detection delay is counted from).
    """

    test: pd.DataFrame
    labels: np.ndarray
    family: np.ndarray
    injections: list[Injection]
    positives: dict[str, str]
    starts: dict[str, pd.Timestamp]

    def events_frame(self) -> pd.DataFrame:
        """The draw's positives as a table (one row per positive customer)."""
        rows = []
        for client, fam in sorted(self.positives.items()):
            mask = (self.test["client_id"].to_numpy() == client) & self.labels
            inj = next((i for i in self.injections if i.client_id == client), None)
            rows.append(
                {
                    "client_id": client,
                    "family": fam,
                    "start": self.starts[client],
                    "n_hours": int(mask.sum()),
                    "params": dict(inj.params) if inj else {},
                }
            )
        return pd.DataFrame(rows, columns=["client_id", "family", "start", "n_hours", "params"])


def make_draw(
    train: pd.DataFrame,
    test: pd.DataFrame,
    tier: str,
    seed: int,
    *,
    share: float = 0.5,
    known_events: pd.DataFrame | None = None,
) -> Draw:
    """Inject labelled manipulations into the new data of about ``share`` of the customers.

    Parameters
    ----------
    train, test
        History and new part of every customer (columns ``client_id``, ``ts``,
        ``active_kwh``, ``reactive_kvarh``, ...; rows sorted by customer and time).
    tier
        ``standard`` or ``subtle`` (see :data:`TIER_SPECS`).
    seed
        Seed of the draw: the same seed gives the same draw.
    share
        Share of the customers without a real event that receive a manipulation.
    known_events
        Losses already in the data and known to be there (``client_id, family, start, end``;
        e.g. the labels a synthetic fleet writes next to its files): the hours of the new
        part they cover count as positives, like the real events found in the data, and
        their customers receive no injection.

    Returns
    -------
    Draw
        The manipulated new data and its hourly and per-customer truth.
    """
    spec = TIER_SPECS[tier]
    rng = np.random.default_rng([seed, list(TIER_SPECS).index(tier)])
    out = test.sort_values(["client_id", "ts"]).reset_index(drop=True)
    active = out["active_kwh"].to_numpy(dtype=float).copy()
    reactive = out["reactive_kvarh"].to_numpy(dtype=float).copy()
    labels = np.zeros(len(out), dtype=bool)
    family = np.full(len(out), "", dtype=object)
    clients = out["client_id"].to_numpy()
    order = sorted(pd.unique(clients))
    bounds = _row_ranges(clients)
    positives: dict[str, str] = {}
    starts: dict[str, pd.Timestamp] = {}
    ts_all = out["ts"]

    for client in order:
        lo, hi = bounds[client]
        for name, mask in real_event_mask(active[lo:hi]).items():
            if mask.any():
                labels[lo:hi] |= mask
                family[lo:hi][mask] = name
                positives.setdefault(client, name)
        if known_events is not None and len(known_events):
            ts_client = ts_all.iloc[lo:hi]
            for event in known_events[known_events["client_id"] == client].itertuples():
                inside = ((ts_client >= event.start) & (ts_client < event.end)).to_numpy()
                if inside.any():
                    labels[lo:hi] |= inside
                    family[lo:hi][inside] = str(event.family)
                    positives.setdefault(client, str(event.family))
        if client in positives:
            first = lo + int(np.flatnonzero(labels[lo:hi])[0])
            starts[client] = ts_all.iloc[first]

    candidates = [c for c in order if c not in positives]
    n_inject = round(len(candidates) * share)
    chosen = (
        sorted(rng.choice(candidates, size=n_inject, replace=False).tolist()) if n_inject else []
    )
    train_groups = {c: g for c, g in train.groupby("client_id", sort=False)}
    rotation = [str(f) for f in rng.permutation(FAMILIES)]
    injections: list[Injection] = []
    for client in rng.permutation(chosen).tolist():
        lo, hi = bounds[client]
        history = train_groups.get(client)
        flat_shift, reverse_shift = (
            daily_profile_shift(history["ts"], history["active_kwh"].to_numpy(dtype=float))
            if history is not None
            else (0.0, 0.0)
        )
        eligible = {
            "h5": flat_shift >= PROFILE_MIN_SHIFT,
            "h6": reverse_shift >= PROFILE_MIN_SHIFT,
        }
        n_events = 2 if spec.variants and rng.random() < SECOND_EVENT_SHARE else 1
        for _ in range(n_events):
            pick = next((f for f in rotation if eligible.get(f, True)), "h1")
            rotation.remove(pick)
            rotation.append(pick)
            before = active[lo:hi].copy()
            injection = _inject_one(client, pick, lo, hi, ts_all, active, reactive, spec, rng)
            changed = ~np.isclose(active[lo:hi], before, rtol=1e-9, atol=1e-12)
            if not changed.any():
                continue
            injections.append(injection)
            labels[lo:hi] |= changed
            family[lo:hi][changed] = pick
            if client not in positives:
                positives[client] = pick
            first = ts_all.iloc[lo + injection.start]
            starts[client] = min(starts.get(client, first), first)

    out["active_kwh"] = active
    out["reactive_kvarh"] = reactive
    return Draw(
        out, labels, family, sorted(injections, key=lambda i: i.client_id), positives, starts
    )


def _row_ranges(clients: np.ndarray) -> dict[str, tuple[int, int]]:
    """Customer -> (first row, last row + 1) of rows sorted by customer."""
    positions = pd.Series(np.arange(len(clients))).groupby(clients).agg(["min", "max"])
    return {str(c): (int(lo), int(hi) + 1) for c, lo, hi in positions.itertuples()}


def _inject_one(
    client: str,
    family: str,
    lo: int,
    hi: int,
    ts_all: pd.Series,
    active: np.ndarray,
    reactive: np.ndarray,
    spec: TierSpec,
    rng: np.random.Generator,
) -> Injection:
    """Manipulate one customer's new rows ``lo:hi`` in place and describe the manipulation."""
    n = hi - lo
    if spec.variants:  # a day to months, each order of magnitude as likely
        hours_long = float(
            np.exp(rng.uniform(np.log(spec.days[0] * 24), np.log(spec.days[1] * 24)))
        )
        length = max(1, min(int(hours_long), n))
    else:
        days = int(rng.integers(spec.days[0], spec.days[1] + 1))
        length = max(1, min(days * 24, n))
    hours = pd.DatetimeIndex(ts_all.iloc[lo:hi]).hour.to_numpy()
    start = int(rng.integers(0, n - length + 1))
    if family in ("h2", "h6"):
        # Day-aligned: start at a midnight, whole days.
        midnights = np.flatnonzero(hours[: n - min(length, n) + 1] == 0)
        if len(midnights):
            start = int(rng.choice(midnights))
        length = (
            max(24, min(length // 24 * 24, (n - start) // 24 * 24))
            if n - start >= 24
            else n - start
        )
    end = start + length
    loss = float(rng.uniform(*spec.loss))
    window = slice(lo + start, lo + end)
    x = active[window].copy()
    params = draw_params(family, x, hours[start:end], loss, rng)
    if spec.variants and family in ("h1", "h3") and rng.random() < 0.5:
        params["reactive_scaled"] = True  # a shunted CT lowers both registers
    if spec.variants and family == "h5" and rng.random() < 0.5:
        params["noise"] = round(float(rng.uniform(0.01, 0.10)), 4)  # a noisy flat line
    reported = apply_family(family, x, hours[start:end], params, rng)
    if params.get("noise"):
        reported = reported * (1 + params["noise"] * rng.standard_normal(len(reported)))
    active[window] = reported
    if family in _CURRENT_INTERRUPTED or params.get("reactive_scaled"):
        ratio = np.divide(reported, x, out=np.zeros_like(x), where=x != 0)
        reactive[window] = reactive[window] * np.clip(ratio, 0, 1)
    return Injection(client, family, start, end, params)
