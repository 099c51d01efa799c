"""Detectors: hourly anomaly scores from reported versus expected energy and electrical evidence.

Every detector turns a customer's scored hours into a score where 1 is the edge of what the
customer's own clean history shows (its calibration tail) and larger is more suspicious:

- ``deficit_day`` / ``deficit_week``: the mean normalised shortfall over a centred day / week
  (under-registration, random share, clipping, off-windows; the week catches subtle losses,
  but an hour only counts when its own day also falls short);
- ``shape``: the share of the day's energy moved away from the expected daily profile
  (reversed profile, flat reporting), only for customers that have a daily profile;
- ``stopped``: a day or more of exact zeros where energy was expected;
- ``constant``: a day or more of identical non-zero values (flat reporting);
- ``reverse``: negative active energy (reversed wiring);
- ``reactive`` and ``voltage``: electrical evidence that strengthens a deficit (power factor
  change, one phase collapsing or the phases diverging); never an alert on its own.

All functions are pure: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

KAPPA = 0.1  # residual scale: expected + KAPPA x level (keeps idle hours from dividing by ~0)

# Knobs (values explained in docs/decisions/detection.md).
CALIBRATION_QUANTILE = 0.99  # score 1 = this quantile of the clean calibration statistic ...
CALIBRATION_FULL_DAYS = 60  # a shorter calibration tail widens spreads by sqrt(60 / days)
MIN_SPREAD = {
    "deficit_day": 0.05,
    "deficit_week": 0.02,
    "shape": 0.05,
    "reversal_day": 0.05,
    "peak_day": 0.05,
    "peak_week": 0.02,
    "reversal_week": 0.02,
    "shape_week": 0.02,
    "reactive": 0.1,
    "flat": 0.3,
}
# A day closer to the *reversed* profile of the customer's own previous two weeks (ending 3
# days before, so a reversal does not become its own reference at once) than to that profile:
# profiles shift in new data (customer 19's shifts moved), so the model's and the history's
# profiles are not always the reference a reversal is judged against.
TRAIL_DAYS = 14
TRAIL_GAP_DAYS = 3
MIN_TRAIL_STRENGTH = 0.1  # the reference must have a profile whose reversal moves a tenth of it
STOPPED_MIN_HOURS = 24
CONSTANT_MIN_HOURS = 24
IDLE_RUN_HOURS = 6  # a value the meter repeats this long in clean times is its idle reading
MIN_PROFILE_STRENGTH = 0.1  # below this share of movable energy a day has no shape to check
MIN_REVERSAL_SHARE = 0.08  # a day whose reversal moves less than 8 % has no profile to reverse
LIBRARY_BLOCK_DAYS = 28  # the history's profiles, one per four weeks
RECENT_PROFILE_DAYS = 56  # the reversal is also judged against the history's last 8 weeks
MIN_RECENT_REVERSAL_SHARE = 0.2  # ... for a profile whose reversal moves a fifth of the day
MIN_SUPPORT_DAYS = 56  # the shape at a level seen fewer days (8 weeks) is not reliable
VOLTAGE_COLLAPSE = 0.7  # a phase below 70 % of its usual median has collapsed
EVIDENCE_BOOST = 1.25  # a deficit backed by electrical evidence scores this much more
DETECTORS = (
    "deficit_day", "deficit_week", "peak", "shape", "stopped", "zero_hours", "constant", "reverse",
    "flat",
)  # fmt: skip
# A constant run is judged against the longest one the customer's history shows: only a run
# this many times longer (and at least CONSTANT_MIN_HOURS) is flat reporting. A meter idling
# at one value every weekend (customer 4: 13-22 h) keeps its idle runs; a meter stuck for
# weeks is never excused because it once repeated a value for a day.
CONSTANT_RUN_FACTOR = 2.0
MAX_SHORT_ZERO_SHARE = 0.002  # a history with fewer short zero runs than this never idles at 0
HOUR_WEIGHT_FLOOR = 0.5  # a window score counts half for an hour that is not short itself
TIE_BREAK = 0.1  # weight of the hour's own shortfall, ranking manipulated hours within a day


def default_stats() -> dict[str, float]:
    """Calibration statistics for a model without a usable calibration tail (wide)."""
    return {
        "deficit_day_med": 0.0,
        "deficit_day_spread": 0.3,
        "deficit_week_med": 0.0,
        "deficit_week_spread": 0.15,
        "shape_med": 0.0,
        "shape_spread": 0.3,
        "shape_week_med": 0.0,
        "shape_week_spread": 0.2,
        "reversal_day_med": 0.0,
        "reversal_day_spread": 0.3,
        "reversal_week_med": 0.0,
        "reversal_week_spread": 0.2,
        "reversal_strength": 0.0,
        "peak_day_med": 0.0,
        "peak_day_spread": 0.5,
        "peak_week_med": 0.0,
        "peak_week_spread": 0.3,
        "profile_strength": 0.0,
        "reactive_med": 0.0,
        "reactive_spread": 0.5,
        "voltage_fa_med": 0.0,
        "voltage_fc_med": 0.0,
        "voltage_divergence": 1.0,
        "max_constant_run": 0.0,
        "idle_constant_kwh": -1.0,
        "short_zero_share": 1.0,
        "hour_deficit_edge": 0.5,
        "flat_med": 0.0,
        "flat_spread": 1.0,
    }


def _rolling_mean(values: np.ndarray, hours: int) -> np.ndarray:
    return (
        pd.Series(values)
        .rolling(hours, center=True, min_periods=max(1, hours // 2))
        .mean()
        .to_numpy()
    )


def normalised_deficit(active: np.ndarray, expected: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(expected - reported) / (expected + KAPPA x level): positive when energy is missing."""
    scale = expected + KAPPA * level
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (expected - active) / scale
    return np.where(np.isfinite(u), u, np.nan)


def day_numbers(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Whole days since the series' first day, for each hour (one pass, no groupby): the
    key every per-day statistic below sums on with ``np.bincount``."""
    idx = pd.DatetimeIndex(ts)
    if not len(idx):
        return np.zeros(0, dtype=np.int64)
    # whatever the index's unit (the lake's timestamps are in seconds or microseconds)
    days = idx.as_unit("s").asi8 // 86_400
    return np.asarray(days - days.min(), dtype=np.int64)


def _per_day(day_no: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` per day number."""
    return np.bincount(day_no, weights=values)


def _days_and_hours(ts: pd.Series, day: np.ndarray) -> tuple[int, np.ndarray]:
    """How many day rows, and each hour's column (hour of day), a days x 24 matrix of an
    hourly series needs (one reading per hour, as the lake holds them)."""
    return int(day.max()) + 1, pd.DatetimeIndex(ts).hour.to_numpy()


def calendar_day_sums(
    ts: pd.Series | pd.DatetimeIndex, *values: np.ndarray
) -> tuple[pd.DatetimeIndex, list[np.ndarray]]:
    """The calendar days with at least one row (midnights, in ``ts``'s unit) and, per such
    day, the sum of each of ``values`` (missing values count as 0)."""
    idx = pd.DatetimeIndex(ts)
    if not len(idx):
        return pd.DatetimeIndex([]), [np.array([]) for _ in values]
    day = day_numbers(idx)
    seen = np.flatnonzero(np.bincount(day) > 0)
    sums = [_per_day(day, np.nan_to_num(np.asarray(v, dtype=float)))[seen] for v in values]
    days = pd.DatetimeIndex(idx.min().floor("D") + pd.to_timedelta(seen, unit="D"))
    return days.as_unit(idx.unit), sums


def _row_quantile(m: np.ndarray, q: float) -> np.ndarray:
    """Per row, the ``q`` quantile of its non-missing values, linearly interpolated (numpy's
    and pandas' default); NaN for a row with none. A sort per row: ``np.nanquantile`` along an
    axis loops in Python."""
    ordered = np.sort(m, axis=1)  # NaN last
    n = np.isfinite(m).sum(axis=1)
    pos = q * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    rows = np.arange(len(m))
    low, high = ordered[rows, lo], ordered[rows, hi]
    with np.errstate(invalid="ignore"):
        value = low + (high - low) * (pos - lo)
    return np.where(n > 0, np.where(hi == lo, low, value), np.nan)


def daily_shape_distance(ts: pd.Series, active: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per hour: the share of its day's energy that sits in other hours than expected.

    Half the L1 distance between the reported and expected daily profiles, each normalised
    to sum to one; 0 for an identical shape, near 1 for a fully displaced one.
    """
    day = day_numbers(ts)
    if not len(day):
        return np.array([])
    a = np.clip(np.nan_to_num(np.asarray(active, dtype=float)), 0, None)
    e = np.clip(np.nan_to_num(np.asarray(expected, dtype=float)), 0, None)
    sum_a, sum_e = _per_day(day, a)[day], _per_day(day, e)[day]
    counts = np.bincount(day)[day]
    with np.errstate(divide="ignore", invalid="ignore"):
        pa_ = a / sum_a
        pe = e / sum_e
    diff = _per_day(day, np.nan_to_num(np.abs(pa_ - pe)))[day] / 2
    valid = (sum_a > 0) & (sum_e > 0) & (counts >= 20)
    return np.where(valid, diff, np.nan)


def daily_flatness(ts: pd.Series, active: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per hour: how much flatter its day is than expected, ``log(sd(expected) / sd(reported))``
    of the day's hours (0 = the expected intraday variation, large = a flat line).

    Flat reporting (the same or nearly the same value every hour, h5) and a random share of the
    average (h4) erase the day's profile while the day's energy may be right: no deficit
    detector sees them. NaN for days with fewer than 20 readings or no expected variation.
    """
    day = day_numbers(ts)
    if not len(day):
        return np.array([])
    n_days, hours = _days_and_hours(ts, day)

    def std(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # per day, over the day's non-missing hours: count, mean and sample std (ddof 1), taken
        # from the day's lowest value so that a constant day has a std of exactly 0
        m = np.full((n_days, 24), np.nan)
        m[day, hours] = np.asarray(v, dtype=float)
        ok = np.isfinite(m)
        n = ok.sum(axis=1).astype(float)
        base = np.where(n > 0, np.fmin.reduce(m, axis=1), 0.0)
        d = np.where(ok, m - base[:, None], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = d.sum(axis=1) / n
            dev = np.where(ok, d - mean[:, None], 0.0)
            sd = np.sqrt((dev * dev).sum(axis=1) / (n - 1))
        return n[day], (base + mean)[day], np.where(n > 1, sd, np.nan)[day]

    counts, _, sd_a = std(active)
    _, mean_e, sd_e = std(expected)
    floor = 1e-3 * np.abs(mean_e) + 1e-9  # an exact constant is as flat as can be, not infinite
    with np.errstate(divide="ignore", invalid="ignore"):
        flat = np.log(sd_e / np.maximum(sd_a, floor))
    valid = (counts >= 20) & np.isfinite(flat) & (sd_e > 0)
    return np.where(valid, flat, np.nan)


def _by_day(
    ts: pd.Series, active: np.ndarray, *others: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Day number of each hour, whether each day has all 24 hours of ``active``, and per day
    and hour of day (days x 24) the sums of ``active`` and of each of ``others`` (missing and
    negative values count as 0)."""
    day_no = day_numbers(ts)
    n_days = int(day_no.max()) + 1
    cell = day_no * 24 + pd.DatetimeIndex(ts).hour.to_numpy()
    size = n_days * 24
    seen = np.bincount(cell, weights=np.isfinite(active).astype(float), minlength=size)
    full = np.asarray((seen.reshape(n_days, 24) > 0).all(axis=1), dtype=bool)
    sums = [
        np.asarray(
            np.bincount(cell, weights=np.clip(np.nan_to_num(v), 0, None), minlength=size),
            dtype=float,
        ).reshape(n_days, 24)
        for v in (active, *others)
    ]
    return day_no, full, sums


def _profile_distances(
    ts: pd.Series,
    active: np.ndarray,
    expected: np.ndarray,
    days: int,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per hour, over the centred ``days`` of summed daily profiles: the share of energy away
    from the expected profile, and that share minus the share away from the *reversed*
    expected profile (positive when the day runs backwards). With ``reference`` (24 values),
    that fixed daily profile stands in for the expected one."""
    if len(ts) == 0:
        return np.array([]), np.array([])
    day_no, full, (a, e) = _by_day(ts, active, expected)
    n_days = len(full)
    a[~full], e[~full] = 0.0, 0.0
    if days > 1:
        half = days // 2
        ca = np.vstack([np.zeros((1, 24)), np.cumsum(a, axis=0)])
        ce = np.vstack([np.zeros((1, 24)), np.cumsum(e, axis=0)])
        lo = np.clip(np.arange(n_days) - half, 0, n_days)
        hi = np.clip(np.arange(n_days) + half + 1, 0, n_days)
        a, e = ca[hi] - ca[lo], ce[hi] - ce[lo]
        counts = np.concatenate([[0], np.cumsum(full)])
        enough = (counts[hi] - counts[lo]) >= (days + 1) // 2
    else:
        enough = full
    sa, se = a.sum(axis=1), e.sum(axis=1)
    ok = enough & (sa > 0) & (se > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        na = a / sa[:, None]
        ne = e / se[:, None]
    if reference is not None:
        ref = np.clip(np.asarray(reference, dtype=float), 0, None)
        ne = np.broadcast_to(ref / max(float(ref.sum()), 1e-12), (n_days, 24))
        ok = enough & (sa > 0)
    dist = np.abs(na - ne).sum(axis=1) / 2
    reverse = dist - np.abs(na - ne[:, ::-1]).sum(axis=1) / 2
    dist = np.where(ok, dist, np.nan)
    reverse = np.where(ok, reverse, np.nan)
    return dist[day_no], reverse[day_no]


def weekly_shape_distance(ts: pd.Series, active: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per hour: :func:`daily_shape_distance` of the centred week's summed daily profiles.

    Summing seven days by hour of day averages the noise out while a shifted or flattened
    profile persists.
    """
    return _profile_distances(ts, active, expected, 7)[0]


def reversal_contrast(
    ts: pd.Series, active: np.ndarray, expected: np.ndarray, days: int = 7
) -> np.ndarray:
    """Per hour: how much closer the centred days' profile is to the *reversed* expected one.

    Noise moves both distances alike and cancels; a day run backwards (h6) turns it positive.
    """
    return _profile_distances(ts, active, expected, days)[1]


def recent_profile(
    ts: pd.Series, active: np.ndarray, days: int = RECENT_PROFILE_DAYS
) -> np.ndarray:
    """The customer's daily profile over its last ``days`` complete days (24 shares summing
    to 1; empty when there is none)."""
    a = np.asarray(active, dtype=float)
    if not len(a):
        return np.array([])
    _, full, (sums,) = _by_day(ts, a)
    keep = full & (np.arange(len(full)) >= len(full) - 1 - days)
    if not keep.any():
        return np.array([])
    profile = sums[keep].sum(axis=0)
    total = profile.sum()
    return profile / total if total > 0 else np.array([])


def block_profiles(ts: pd.Series, active: np.ndarray, days: int = LIBRARY_BLOCK_DAYS) -> np.ndarray:
    """The daily profile (24 shares) of each ``days``-long block of the series that holds at
    least half its days complete: the profiles the customer has shown."""
    a = np.asarray(active, dtype=float)
    if not len(a):
        return np.zeros((0, 24))
    _, full, (sums,) = _by_day(ts, a)
    block = np.arange(len(full)) // days
    out = []
    for b in np.unique(block[full]).tolist():
        rows = full & (block == b)
        if rows.sum() < days // 2:
            continue
        profile = sums[rows].sum(axis=0)
        if profile.sum() > 0:
            out.append(profile / profile.sum())
    return np.array(out) if out else np.zeros((0, 24))


def recent_reversal_contrast(
    ts: pd.Series, active: np.ndarray, profile: np.ndarray, days: int
) -> np.ndarray:
    """Per hour: how much closer the centred days' profile is to the *reversed* recent profile
    than to the recent profile itself (:func:`recent_profile` of the history's end)."""
    return _profile_distances(ts, active, np.zeros(len(active)), days, reference=profile)[1]


def _day_profiles(ts: pd.Series, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Day number of each hour, and each day's profile (24 shares; NaN unless complete)."""
    day_no, full, (sums,) = _by_day(ts, active)
    total = sums.sum(axis=1)
    ok = full & (total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        profiles = np.where(ok[:, None], sums / total[:, None], np.nan)
    return day_no, profiles


def trailing_reversal(
    ts: pd.Series, active: np.ndarray, library: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """Per hour: how much closer its day's profile is to the *reversed* profile of the
    customer's own ``TRAIL_DAYS`` ending ``TRAIL_GAP_DAYS`` before the day than to that
    profile itself, and than to every profile of ``library`` (the profiles the history has
    shown: going back to older shifts is not a reversal). NaN where the reference has fewer
    than half its days or no profile worth reversing (``MIN_TRAIL_STRENGTH``)."""
    if not len(active):
        return np.array([])
    day_no, profiles = _day_profiles(ts, active)
    n_days = len(profiles)
    complete = np.isfinite(profiles).all(axis=1)
    # day d's reference: the complete days among d - GAP - TRAIL_DAYS .. d - GAP - 1 (fewer at
    # the start of the series); NaN rows (incomplete days) drop out of the median
    padded = np.vstack([np.full((TRAIL_GAP_DAYS + TRAIL_DAYS, 24), np.nan), profiles])
    windows = np.lib.stride_tricks.sliding_window_view(padded[:n_days + TRAIL_DAYS], TRAIL_DAYS,
                                                       axis=0)  # fmt: skip
    counts = np.concatenate([[0], np.cumsum(complete)])
    lo = np.clip(np.arange(n_days) - TRAIL_GAP_DAYS - TRAIL_DAYS, 0, None)
    hi = np.arange(n_days) - TRAIL_GAP_DAYS
    enough = (hi > lo) & ((counts[np.clip(hi, 0, None)] - counts[lo]) >= TRAIL_DAYS // 2)
    days = np.flatnonzero(complete & enough)
    out = np.full(n_days, np.nan)
    if not len(days):
        return out[day_no]
    picked = windows[days]  # days x 24 x TRAIL_DAYS
    ref = _row_quantile(picked.reshape(-1, TRAIL_DAYS), 0.5).reshape(len(days), 24)
    ref = ref / ref.sum(axis=1, keepdims=True)
    rev = ref[:, ::-1]
    strong = np.abs(ref - rev).sum(axis=1) / 2 >= MIN_TRAIL_STRENGTH
    p = profiles[days]
    to_reversed = np.abs(p - rev).sum(axis=1) / 2
    contrast = np.abs(p - ref).sum(axis=1) / 2 - to_reversed
    for shown in library:
        shown = np.asarray(shown, dtype=float)
        contrast = np.minimum(contrast, np.abs(p - shown).sum(axis=1) / 2 - to_reversed)
    out[days[strong]] = contrast[strong]
    return out[day_no]


def library_of(stats: dict[str, float]) -> list[np.ndarray]:
    """The history's 4-week profiles kept in ``stats`` (``profile_lib_<k>_<hour>``)."""
    out, k = [], 0
    while np.isfinite(stats.get(f"profile_lib_{k}_0", np.nan)):
        out.append(np.array([stats[f"profile_lib_{k}_{h}"] for h in range(24)]))
        k += 1
    return out


def daily_peak_shortfall(ts: pd.Series, active: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per hour: how far its day's peak hours fall below the expected peak (log ratio, > 0 short).

    The 90th percentile of the day's reported hours against that of the expected hours: a cap
    (h7), a random share of the average (h4) or flat reporting (h5) remove the peaks even where
    the day's total moves little.
    """
    day = day_numbers(ts)
    if not len(day):
        return np.array([])
    n_days, hour = _days_and_hours(ts, day)
    a = np.full((n_days, 24), np.nan)
    e = np.full((n_days, 24), np.nan)
    a[day, hour] = np.clip(np.asarray(active, dtype=float), 0, None)
    e[day, hour] = np.asarray(expected, dtype=float)
    counts = np.isfinite(a).sum(axis=1)
    peak_a, peak_e = _row_quantile(a, 0.9), _row_quantile(e, 0.9)
    with np.errstate(divide="ignore", invalid="ignore"):
        short = np.log(peak_e / peak_a)
    short = np.where((counts >= 20) & (peak_e > 0) & (peak_a > 0), short, np.nan)
    return np.asarray(short[day], dtype=float)


def daily_reactive_log_ratio(ts: pd.Series, active: np.ndarray, reactive: np.ndarray) -> np.ndarray:
    """Per hour: log of its day's reactive-to-active energy ratio (NaN where undefined)."""
    day = day_numbers(ts)
    if not len(day):
        return np.array([])
    sum_a = _per_day(day, np.nan_to_num(np.asarray(active, dtype=float)))[day]
    sum_q = _per_day(day, np.nan_to_num(np.abs(np.asarray(reactive, dtype=float))))[day]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(sum_q / sum_a)
    return np.where(np.isfinite(ratio) & (sum_a > 0), ratio, np.nan)


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of ``True`` it belongs to (0 outside)."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros(len(mask), dtype=int)
    if not mask.any():
        return out
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        out[start:end] = end - start
    return out


def constant_runs(active: np.ndarray) -> np.ndarray:
    """For each hour, the length of the run of identical non-zero values it belongs to."""
    a = np.asarray(active, dtype=float)
    same = np.zeros(len(a), dtype=bool)
    if len(a) > 1:
        eq = (a[1:] == a[:-1]) & (a[1:] != 0)
        same[1:] |= eq
        same[:-1] |= eq
    return run_lengths(same)


def idle_constant(active: np.ndarray) -> float:
    """The value of the longest run of identical non-zero readings, when it lasts at least
    ``IDLE_RUN_HOURS`` (a meter's idle reading, e.g. 0.3 kWh every weekend night); else -1."""
    a = np.nan_to_num(np.asarray(active, dtype=float))
    runs = constant_runs(a)
    if not len(runs) or runs.max() < IDLE_RUN_HOURS:
        return -1.0
    return float(a[int(np.argmax(runs))])


def short_zero_hours(active: np.ndarray) -> np.ndarray:
    """Hours of exact zero in runs shorter than a day (an off-window, not an outage)."""
    a = np.asarray(active, dtype=float)
    zero = a == 0
    return zero & (run_lengths(zero) < STOPPED_MIN_HOURS)


def short_zero_share(active: np.ndarray) -> float:
    """Share of a series' hours that are exact zeros in runs shorter than a day."""
    a = np.asarray(active, dtype=float)
    return float(short_zero_hours(a).mean()) if len(a) else 0.0


def _spread(values: np.ndarray, floor: float, margin: float = 1.0) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if len(v) < 24:
        return 0.0, floor * 3
    med = float(np.median(v))
    spread = max((float(np.quantile(v, CALIBRATION_QUANTILE)) - med) * margin, floor)
    # Centre on the clean median only when the model over-expects there; a calibration tail
    # that ran above expectation (a campaign) must not make ordinary hours look short.
    return max(med, 0.0), spread


def calibrated_spread(values: np.ndarray, floor: str) -> tuple[float, float]:
    """Median (when positive) and 99th-percentile spread of a clean statistic, floored by
    ``MIN_SPREAD[floor]``: a score of 1 is a clean 1-in-100 value."""
    return _spread(np.asarray(values, dtype=float), MIN_SPREAD[floor])


def calibrate(
    frame: pd.DataFrame, pred: pd.DataFrame, band: tuple[float, float], clean: np.ndarray
) -> dict[str, float]:
    """Clean-period statistics of every detector, from the model's calibration tail."""
    stats = default_stats()
    if frame.empty:
        return stats
    ts = frame["ts"]
    active = frame["active_kwh"].to_numpy(dtype=float)
    expected = pred["expected_kwh"].to_numpy()
    level = pred["level_kwh"].to_numpy()
    u = np.where(clean, np.clip(normalised_deficit(active, expected, level), -1, 1), np.nan)
    margin = _margin(clean)
    for name, hours in (("deficit_day", 24), ("deficit_week", 168)):
        med, spread = _spread(_rolling_mean(u, hours), MIN_SPREAD[name], margin)
        stats[f"{name}_med"], stats[f"{name}_spread"] = med, spread
    stats.update(_shape_stats(ts, active, expected, clean, margin))
    peak = np.where(clean, daily_peak_shortfall(ts, active, expected), np.nan)
    stats["peak_day_med"], stats["peak_day_spread"] = _spread(peak, MIN_SPREAD["peak_day"], margin)
    peak_week = _rolling_mean(peak, 168)
    stats["peak_week_med"], stats["peak_week_spread"] = _spread(
        peak_week, MIN_SPREAD["peak_week"], margin
    )
    flat_day = np.where(clean, daily_flatness(ts, active, expected), np.nan)
    stats["flat_med"], stats["flat_spread"] = _spread(flat_day, MIN_SPREAD["flat"], margin)
    # how much energy a flat or a reversed day would move (nothing to check below a floor)
    flat = np.full(len(expected), np.nanmean(expected) if len(expected) else 0.0)
    strength = daily_shape_distance(ts, flat, expected)
    reverse = -reversal_contrast(ts, expected, expected, 1)
    stats["profile_strength"] = (
        float(np.nanmedian(strength)) if np.isfinite(strength).any() else 0.0
    )
    stats["reversal_strength"] = float(np.nanmedian(reverse)) if np.isfinite(reverse).any() else 0.0
    react = daily_reactive_log_ratio(ts, active, frame["reactive_kvarh"].to_numpy(dtype=float))
    react = np.where(clean, react, np.nan)
    if np.isfinite(react).any():
        med = float(np.nanmedian(react))
        spread = float(np.nanquantile(np.abs(react - med), CALIBRATION_QUANTILE))
        stats["reactive_med"], stats["reactive_spread"] = med, max(spread, MIN_SPREAD["reactive"])
    for phase in ("voltage_fa", "voltage_fc"):
        v = frame[phase].to_numpy(dtype=float)
        stats[f"{phase}_med"] = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
    va, vc = frame["voltage_fa"].to_numpy(dtype=float), frame["voltage_fc"].to_numpy(dtype=float)
    ref = max(stats["voltage_fa_med"], stats["voltage_fc_med"], 1.0)
    div = np.abs(va - vc) / ref
    if np.isfinite(div).any():
        stats["voltage_divergence"] = max(float(np.nanquantile(div, 0.999)) * 1.5, 0.1)
    stats["max_constant_run"] = float(constant_runs(active).max(initial=0))
    stats["idle_constant_kwh"] = idle_constant(np.where(clean, active, np.nan))
    stats["short_zero_share"] = short_zero_share(active)
    stats["hour_deficit_edge"] = max(-band[0], 0.05)
    return stats


def _margin(clean: np.ndarray) -> float:
    """How much wider a spread is taken: a short tail holds few independent days or weeks,
    so its 99th percentile is too low (1 from ``CALIBRATION_FULL_DAYS`` clean days on)."""
    days = max(float(np.asarray(clean).sum()) / 24, 1.0)
    return max(1.0, float(np.sqrt(CALIBRATION_FULL_DAYS / days)))


def _shape_stats(
    ts: pd.Series, active: np.ndarray, expected: np.ndarray, clean: np.ndarray, margin: float
) -> dict[str, float]:
    """The shape and reversal detectors' clean-period medians and spreads."""
    out: dict[str, float] = {}
    shape = np.where(clean, daily_shape_distance(ts, active, expected), np.nan)
    out["shape_med"], out["shape_spread"] = _spread(shape, MIN_SPREAD["shape"], margin)
    shape_week = np.where(clean, weekly_shape_distance(ts, active, expected), np.nan)
    out["shape_week_med"], out["shape_week_spread"] = _spread(
        shape_week, MIN_SPREAD["shape_week"], margin
    )
    for name, n_days in (("reversal_day", 1), ("reversal_week", 7)):
        contrast = np.where(clean, reversal_contrast(ts, active, expected, n_days), np.nan)
        out[f"{name}_med"], out[f"{name}_spread"] = _spread(contrast, MIN_SPREAD[name], margin)
    return out


def shape_calibration(
    frame: pd.DataFrame, pred: pd.DataFrame, clean: np.ndarray
) -> dict[str, float]:
    """:func:`calibrate`'s shape and reversal statistics alone (the same values), for a model
    that takes the wider of its tail's and its whole history's shape spreads."""
    if frame.empty:
        return {}
    return _shape_stats(
        frame["ts"],
        frame["active_kwh"].to_numpy(dtype=float),
        pred["expected_kwh"].to_numpy(),
        clean,
        _margin(clean),
    )


def recent_profile_stats(
    ts: pd.Series,
    active: np.ndarray,
    tail_ts: pd.Series,
    tail_active: np.ndarray,
    before: np.ndarray,
) -> dict[str, float]:
    """``recent_profile_0`` .. ``_23``: the history's last weeks' daily profile, and
    ``recent_reversal_spread``: how far the calibration tail's weeks came towards the reversed
    profile of the weeks before the tail (``before``, 24 shares), from its median to its
    99th percentile, widened for a short tail like every spread. Empty without full days."""
    profile = recent_profile(ts, active)
    if len(profile) != 24 or len(before) != 24:
        return {}
    contrast = np.fmin(
        recent_reversal_contrast(tail_ts, tail_active, before, 7),
        recent_reversal_contrast(tail_ts, tail_active, before, 1),
    )
    days = max(float(np.isfinite(tail_active).sum()) / 24, 1.0)
    margin = max(1.0, float(np.sqrt(CALIBRATION_FULL_DAYS / days)))
    _, spread = _spread(contrast, MIN_SPREAD["reversal_week"], margin)
    out = {f"recent_profile_{h}": float(v) for h, v in enumerate(profile)}
    out["recent_reversal_spread"] = spread
    for k, shown in enumerate(block_profiles(ts, active)):
        out.update({f"profile_lib_{k}_{h}": float(v) for h, v in enumerate(shown)})
    return out


def detect(frame: pd.DataFrame, stats: dict[str, float]) -> pd.DataFrame:
    """Score each hour of a customer's scored readings.

    Parameters
    ----------
    frame
        One customer's hours on a regular hourly grid (missing hours as NaN), sorted, with
        ``ts``, ``active_kwh``, ``reactive_kvarh``, ``voltage_fa``, ``voltage_fc``,
        ``expected_kwh``, ``level_kwh``.
    stats
        The model's calibration statistics (:func:`calibrate`).

    Returns
    -------
    DataFrame
        One column per detector (scores, 1 = the edge of clean behaviour), ``reactive`` and
        ``voltage`` evidence flags, ``score`` (combined, with a small tie-break by the hour's
        own shortfall), ``flag`` (a detector reached 1) and ``detectors`` (names that fired).
    """
    ts = frame["ts"]
    active = frame["active_kwh"].to_numpy(dtype=float)
    expected = frame["expected_kwh"].to_numpy(dtype=float)
    level = frame["level_kwh"].to_numpy(dtype=float)
    present = np.isfinite(active)
    u = normalised_deficit(active, expected, level)
    # outages and reversed wiring are scored by their own detectors, not as huge deficits
    u_clip = np.clip(u, -1.0, 1.0)
    # a customer that never idles at exactly 0 does not start to for a few hours a day
    if stats.get("short_zero_share", 1.0) < MAX_SHORT_ZERO_SHARE:
        unexpected = short_zero_hours(np.where(present, active, np.nan)) & (
            np.nan_to_num(expected) > KAPPA * np.nan_to_num(level)
        )
        # those hours are scored as such; the day's other hours are judged on their own
        u_clip = np.where(unexpected, np.nan, u_clip)
    else:
        unexpected = np.zeros(len(frame), dtype=bool)
    s_zero = np.where(unexpected, 3.0, 0.0)
    d24 = _rolling_mean(u_clip, 24)
    d168 = _rolling_mean(u_clip, 168)
    s24 = (d24 - stats["deficit_day_med"]) / stats["deficit_day_spread"]
    s168 = (d168 - stats["deficit_week_med"]) / stats["deficit_week_spread"]
    # an hour counts for the week only when its own day also falls short by the week's edge
    s168 = np.minimum(s168, (d24 - stats["deficit_week_med"]) / stats["deficit_week_spread"])

    if stats["profile_strength"] >= MIN_PROFILE_STRENGTH:
        shape = daily_shape_distance(ts, active, expected)
        s_shape = (shape - stats["shape_med"]) / stats["shape_spread"]
        week = weekly_shape_distance(ts, active, expected)
        s_week = (week - stats.get("shape_week_med", 0.0)) / stats.get("shape_week_spread", 0.2)
        # as for the deficit: the day itself must also look displaced at the week's edge
        s_week = np.minimum(s_week, (shape - stats["shape_med"]) / stats["shape_week_spread"])
        s_shape = np.fmax(s_shape, s_week)
    else:
        s_shape = np.zeros(len(frame))
    if stats.get("reversal_strength", 0.0) >= MIN_REVERSAL_SHARE:
        rday = reversal_contrast(ts, active, expected, 1)
        rweek = reversal_contrast(ts, active, expected, 7)
        s_rev = (rweek - stats["reversal_week_med"]) / stats["reversal_week_spread"]
        s_rev = np.minimum(
            s_rev, (rday - stats["reversal_day_med"]) / stats["reversal_week_spread"]
        )
        s_shape = np.fmax(s_shape, np.nan_to_num(s_rev))
    if "level_support_days" in frame:
        # a profile is only judged at a level the customer has spent weeks at
        known = frame["level_support_days"].to_numpy(dtype=float) >= MIN_SUPPORT_DAYS
        s_shape = np.where(known, s_shape, 0.0)
    profile = np.array([stats.get(f"recent_profile_{h}", np.nan) for h in range(24)])
    if np.isfinite(profile).all():
        strength = float(np.abs(profile - profile[::-1]).sum() / 2)
        if strength >= MIN_RECENT_REVERSAL_SHARE:
            # the week (and its day) closer to the reversed recent profile than to the recent
            # profile itself, against how far the calibration tail drifted from the weeks
            # before it. The model's expected profile is the whole history's (a customer whose
            # shifts moved looks reversed against it); the history's last weeks are what the
            # customer did just before.
            rw = recent_reversal_contrast(ts, active, profile, 7)
            rd = recent_reversal_contrast(ts, active, profile, 1)
            # ... and closer to it than to any profile the history has shown (a customer
            # going back to its older shifts is not reversing its day)
            d_recent, c_recent = _profile_distances(ts, active, active, 7, reference=profile)
            to_reversed = d_recent - c_recent
            for shown in library_of(stats):
                d_shown = _profile_distances(ts, active, active, 7, reference=shown)[0]
                rw = np.fmin(rw, d_shown - to_reversed)
            s_recent = np.fmin(rw, rd) / stats.get("recent_reversal_spread", 1.0)
            s_shape = np.fmax(s_shape, np.nan_to_num(s_recent))

    if "trail_reversal_spread" in stats:
        trail = trailing_reversal(ts, np.where(present, active, np.nan), library_of(stats))
        s_trail = (trail - stats["trail_reversal_med"]) / stats["trail_reversal_spread"]
        s_shape = np.fmax(s_shape, np.nan_to_num(s_trail))

    peak = daily_peak_shortfall(ts, active, expected)
    s_peak_day = (peak - stats.get("peak_day_med", 0.0)) / stats.get("peak_day_spread", 0.5)
    s_peak = (_rolling_mean(peak, 168) - stats.get("peak_week_med", 0.0)) / stats.get(
        "peak_week_spread", 0.3
    )
    s_peak = np.minimum(
        s_peak, (peak - stats.get("peak_week_med", 0.0)) / stats.get("peak_week_spread", 0.3)
    )
    s_peak = np.fmax(s_peak, s_peak_day)

    expecting = np.nan_to_num(expected) > 0
    zero_runs = run_lengths(present & (active == 0))
    s_stopped = np.where((zero_runs >= STOPPED_MIN_HOURS) & expecting, 5.0, 0.0)
    flat_line = np.nan_to_num(active)
    runs = constant_runs(flat_line)
    longest = max(float(stats.get("max_constant_run", 0.0)), 0.0)
    # idling longer than usual at the meter's own idle reading is a shutdown, not flat
    # reporting: the deficit detectors judge the energy it misses
    at_idle = flat_line == stats.get("idle_constant_kwh", -1.0)
    needed = CONSTANT_MIN_HOURS if longest < CONSTANT_MIN_HOURS else CONSTANT_RUN_FACTOR * longest
    s_constant = np.where((runs >= needed) & ~at_idle, 3.0, 0.0)
    if stats["profile_strength"] >= MIN_PROFILE_STRENGTH:
        flatness = daily_flatness(ts, active, expected)
        s_flat = (flatness - stats.get("flat_med", 0.0)) / stats.get("flat_spread", 1.0)
    else:  # no daily profile to lose
        s_flat = np.zeros(len(frame))
    s_reverse = np.where(present & (active < 0), 5.0, 0.0)

    react = daily_reactive_log_ratio(ts, active, frame["reactive_kvarh"].to_numpy(dtype=float))
    reactive = np.abs(react - stats["reactive_med"]) > stats["reactive_spread"]
    va = frame["voltage_fa"].to_numpy(dtype=float)
    vc = frame["voltage_fc"].to_numpy(dtype=float)
    ref = max(stats["voltage_fa_med"], stats["voltage_fc_med"], 1.0)
    collapse = np.zeros(len(frame), dtype=bool)
    for v, med in ((va, stats["voltage_fa_med"]), (vc, stats["voltage_fc_med"])):
        if med > 0:
            collapse |= np.nan_to_num(v, nan=med) < VOLTAGE_COLLAPSE * med
    diverge = np.nan_to_num(np.abs(va - vc) / ref) > stats["voltage_divergence"]
    voltage = collapse | diverge

    scores = {
        "deficit_day": np.nan_to_num(s24),
        "deficit_week": np.nan_to_num(s168),
        "peak": np.nan_to_num(s_peak),
        "shape": np.nan_to_num(s_shape),
        "stopped": s_stopped,
        "constant": s_constant,
        "zero_hours": s_zero,
        "reverse": s_reverse,
        "flat": np.nan_to_num(s_flat),
    }
    stacked = np.column_stack([scores[name] for name in DETECTORS])
    combined = stacked.max(axis=1)
    deficit = np.maximum(np.maximum(scores["deficit_day"], scores["deficit_week"]), scores["peak"])
    backed = (reactive | voltage) & (deficit > 0.5)
    combined = np.where(backed, np.maximum(combined, deficit * EVIDENCE_BOOST), combined)
    combined = np.where(present, np.maximum(combined, 0.0), np.nan)
    flag = combined >= 1.0
    # Within a flagged stretch, the hours that themselves fall short rank first (h2, h7):
    # the window scores are scaled by how short the hour itself is, down to half.
    edge = stats.get("hour_deficit_edge", 0.5)
    own = np.clip(np.nan_to_num(u) / edge, 0.0, 1.0)
    windowed = np.fmax(np.fmax(scores["deficit_day"], scores["deficit_week"]), scores["peak"])
    damp = np.where(windowed >= combined, HOUR_WEIGHT_FLOOR + (1 - HOUR_WEIGHT_FLOOR) * own, 1.0)
    combined = combined * damp + TIE_BREAK * np.clip(np.nan_to_num(u) / edge, 0.0, 3.0)
    fired = stacked >= 1.0
    # each distinct combination of detectors joined once (a day repeats a few of them)
    bits = fired.astype(np.int64) @ (1 << np.arange(len(DETECTORS), dtype=np.int64))
    combos, where = np.unique(bits, return_inverse=True)
    text = [",".join(n for i, n in enumerate(DETECTORS) if c >> i & 1) for c in combos]
    labels = [text[i] for i in where.reshape(-1)]
    # built in one construction (a column inserted at a time is a block insert each)
    return pd.DataFrame(
        {
            **scores,
            "reactive": reactive,
            "voltage": voltage,
            "voltage_collapse": collapse,
            "score": combined,
            "flag": flag & present,
            "detectors": labels,
        },
        index=frame.index,
    )
