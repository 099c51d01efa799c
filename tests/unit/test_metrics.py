"""Detection metrics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from meterwatch.evaluation.metrics import (
    average_precision,
    customer_metrics,
    detection_delays,
    hourly_f1,
    mean_std,
)


def test_customer_metrics_count_alerts_per_customer() -> None:
    m = customer_metrics(
        customers=["a", "b", "c", "d", "e"],
        positives=["a", "b", "c"],
        alerted=["a", "b", "d", "zz"],
    )
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 1, 1, 1)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    assert m.false_customers == 1


def test_customer_metrics_with_nothing_to_find() -> None:
    m = customer_metrics(["a", "b"], [], [])
    assert math.isnan(m.precision) and math.isnan(m.recall) and math.isnan(m.f1)


def test_average_precision_hand_computed() -> None:
    # ranks: + - + -  -> P@1 = 1, P@3 = 2/3; AP = 0.5 * 1 + 0.5 * 2/3
    ap = average_precision(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1]))
    assert ap == pytest.approx(0.5 + 1 / 3)


def test_average_precision_takes_ties_as_one_threshold() -> None:
    # scikit-learn: thresholds 0.5 (P = 1/2, R = 1/2) and 0.1 (P = 2/3, R = 1)
    ap = average_precision(np.array([1, 0, 1]), np.array([0.5, 0.5, 0.1]))
    assert ap == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)


def test_average_precision_perfect_constant_and_missing_scores() -> None:
    assert average_precision(np.array([0, 1, 1]), np.array([0.1, 0.9, 0.8])) == 1.0
    # one threshold for everything: precision = prevalence
    assert average_precision(np.array([0, 0, 0, 1]), np.zeros(4)) == pytest.approx(0.25)
    # NaN scores rank last
    assert average_precision(np.array([1, 0]), np.array([np.nan, 0.3])) == pytest.approx(0.5)
    assert math.isnan(average_precision(np.zeros(3), np.arange(3.0)))


def test_hourly_f1_hand_computed() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    flags = np.array([1, 1, 0, 1, 0, 0], dtype=bool)  # tp 2, fn 1, fp 1
    assert hourly_f1(labels, flags) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


def test_detection_delays_count_from_the_start() -> None:
    start = pd.Timestamp("2022-03-01 00:00")
    alerts = pd.DataFrame(
        {
            "client_id": ["a", "a", "b", "c"],
            "alert_ts": pd.to_datetime(
                ["2022-02-01 00:00", "2022-03-02 06:00", "2022-02-20 00:00", "2022-02-01 00:00"]
            ),
            "alert_end": pd.to_datetime(["2022-02-03", "2022-03-03", "2022-03-05", "2022-02-02"]),
        }
    )
    delays = detection_delays({"a": start, "b": start, "c": start, "d": start}, alerts)
    assert delays == {"a": 30.0, "b": 0.0}  # c's alert ended before; d was never alerted


def test_mean_std_ignores_nan() -> None:
    mean, std, n = mean_std([1.0, 3.0, float("nan")])
    assert (mean, n) == (2.0, 2) and std == pytest.approx(math.sqrt(2))
