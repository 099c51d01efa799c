"""An under-registration of the day-one history found by a walk-forward model that knew less
than a year of the customer is watched, not raised: a season that model never saw looks to it
like a loss (``young_model``). The daily runs' hours, and events still recent, are untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd

from meterwatch.alerts.policy import extract_events
from meterwatch.alerts.render import evidence_sentence
from meterwatch.detect.pipeline import _young_hours

START = pd.Timestamp("2021-03-01")


def _scored(days: int, short_from: int, short_days: int, version: str) -> pd.DataFrame:
    """``days`` of hourly scores, 40 % short for ``short_days`` from day ``short_from``."""
    ts = pd.date_range(START, periods=days * 24, freq="h")
    day = np.arange(len(ts)) // 24
    short = (day >= short_from) & (day < short_from + short_days)
    expected = np.full(len(ts), 10.0)
    active = np.where(short, 6.0, 10.0)
    return pd.DataFrame(
        {
            "ts": ts,
            "active_kwh": active,
            "expected_kwh": expected,
            "score": np.where(short, 4.0, 0.1),
            "is_anomaly": short.astype(int),
            "detectors": np.where(short, "deficit_day", ""),
            "model_version": version,
        }
    )


def test_a_young_walk_models_old_shortfall_is_watched_with_the_reason() -> None:
    scored = _scored(120, short_from=10, short_days=20, version="walk-20210301")
    first = START - pd.Timedelta(days=60)  # the model knew 60 days of the customer
    young = _young_hours(scored, first)
    assert young.all()
    (event,) = extract_events("A", scored, young=young)
    assert event.kind == "under_registration" and event.params["watch"] == "young_model"
    assert event.params["historical"] and event.severity == "low"
    assert event.lost_kwh > 0  # kept with its estimate, ranked after the raised ones
    assert "menos de un año" in evidence_sentence(event.kind, event.params, "es")
    assert "less than a year" in evidence_sentence(event.kind, event.params, "en")
    # the same hours scored by a model that knew more than a year: raised
    old_enough = START - pd.Timedelta(days=400)
    (raised,) = extract_events("A", scored, young=_young_hours(scored, old_enough))
    assert raised.params["watch"] is None


def test_a_recent_shortfall_and_the_daily_runs_hours_are_raised() -> None:
    first = START - pd.Timedelta(days=60)
    # still news (ended within HISTORY_NOTICE_DAYS of the latest reading): raised
    recent = _scored(40, short_from=20, short_days=15, version="walk-20210301")
    (event,) = extract_events("A", recent, young=_young_hours(recent, first))
    assert event.params["watch"] is None and not event.params["historical"]
    # hours of the trained model (a daily run): never young, whatever its history
    daily = _scored(120, short_from=10, short_days=20, version="20210701T000000000000Z")
    assert not _young_hours(daily, first).any()
    (event,) = extract_events("A", daily, young=_young_hours(daily, first))
    assert event.params["watch"] is None
