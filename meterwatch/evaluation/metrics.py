"""Detection metrics: per customer, per hour and detection delay.

Pure functions on arrays and sets; no I/O. Average precision follows scikit-learn's
``average_precision_score`` (step-wise area under the precision-recall curve, tied scores
taken as one threshold) so figures are comparable with published ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CustomerMetrics:
    """Was an alert raised for the right customers?"""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        return f1_score(self.tp, self.fp, self.fn)

    @property
    def false_customers(self) -> int:
        """Clean customers that were alerted."""
        return self.fp


def f1_score(tp: int, fp: int, fn: int) -> float:
    """F1 from counts; ``nan`` when there is nothing to find and nothing was flagged."""
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else float("nan")


def customer_metrics(
    customers: Iterable[str], positives: Iterable[str], alerted: Iterable[str]
) -> CustomerMetrics:
    """Confusion counts of the per-customer alert decision.

    Parameters
    ----------
    customers
        Every customer evaluated.
    positives
        Customers with a manipulation or a real event in their new data.
    alerted
        Customers the detector alerted in the new period (others are ignored).
    """
    everyone = set(customers)
    pos = set(positives) & everyone
    hit = set(alerted) & everyone
    tp = len(pos & hit)
    fp = len(hit - pos)
    fn = len(pos - hit)
    return CustomerMetrics(tp=tp, fp=fp, fn=fn, tn=len(everyone) - tp - fp - fn)


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of ``scores`` for binary ``labels`` (scikit-learn's definition).

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct score thresholds, highest first.
    Returns ``nan`` when there is no positive.
    """
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # The last index of each run of equal scores is a threshold.
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / n_pos
    steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(steps * precision))


def hourly_f1(labels: np.ndarray, flags: np.ndarray) -> float:
    """F1 of the hourly anomaly flag against the hourly truth."""
    y = np.asarray(labels, dtype=bool)
    f = np.asarray(flags, dtype=bool)
    return f1_score(int((y & f).sum()), int((~y & f).sum()), int((y & ~f).sum()))


def detection_delays(
    starts: Mapping[str, pd.Timestamp], alert_times: pd.DataFrame
) -> dict[str, float]:
    """Hours from the start of each positive customer's event to its first alert.

    Parameters
    ----------
    starts
        Customer -> first manipulated (or real-event) hour.
    alert_times
        Columns ``client_id`` and ``alert_ts`` (when an alert was raised, or the earliest
        hour it covers). Only alerts at or after a customer's start count: an earlier
        alert that is still open when the event starts counts as a delay of 0.

    Returns
    -------
    dict
        Customer -> delay in hours, for customers alerted after their start.
    """
    out: dict[str, float] = {}
    if alert_times.empty:
        return out
    frame = alert_times.copy()
    if "alert_end" not in frame.columns:
        frame["alert_end"] = frame["alert_ts"]
    for client, start in starts.items():
        rows = frame[(frame["client_id"] == client) & (frame["alert_end"] >= start)]
        if rows.empty:
            continue
        first = max(pd.Timestamp(rows["alert_ts"].min()), pd.Timestamp(start))
        out[client] = (first - pd.Timestamp(start)) / pd.Timedelta(hours=1)
    return out


def mean_std(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean and sample standard deviation of the finite values, and how many there were."""
    arr = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(arr) == 0:
        return float("nan"), float("nan"), 0
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return float(arr.mean()), std, len(arr)
