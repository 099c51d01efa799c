"""A shortfall that comes back on the same days every week while the customer's other days are
normal is a changed weekly routine: raised twice, then watched (``policy.weekly_routine``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from meterwatch.alerts.policy import _routine_book, extract_events, weekly_routine
from meterwatch.alerts.render import evidence_sentence

START = pd.Timestamp("2023-01-02")  # a Monday


def _weeks(expected_day: list[float], actual_day: list[float], weeks: int = 5) -> pd.DataFrame:
    """Hourly scores over ``weeks`` weeks: each weekday's expected and reported energy per
    hour (Monday first); an hour is flagged where it reports less than 80 % of expected."""
    ts = pd.date_range(START, periods=weeks * 7 * 24, freq="h")
    day = ts.dayofweek.to_numpy()
    expected = np.asarray(expected_day, dtype=float)[day]
    active = np.asarray(actual_day, dtype=float)[day]
    flagged = active < 0.8 * expected
    return pd.DataFrame(
        {
            "ts": ts,
            "active_kwh": active,
            "expected_kwh": expected,
            "score": np.where(flagged, 4.0, 0.1),
            "is_anomaly": flagged.astype(int),
            "detectors": np.where(flagged, "deficit_day", ""),
        }
    )


def _raised(events: list) -> list:
    return [e for e in events if not e.params.get("watch")]


def test_a_shortfall_on_the_same_days_each_week_is_watched_from_its_third_week() -> None:
    # Mondays and Tuesdays at half their expectation, the other days as expected (customer 1
    # of the real data after its routine changed in December 2021)
    scored = _weeks([10, 10, 10, 10, 10, 10, 10], [5, 5, 10, 10, 10, 10, 10])
    events = extract_events("A", scored)
    assert len(events) == 5 and all(e.kind == "under_registration" for e in events)
    assert [e.params["watch"] for e in events] == [None, None, *["weekly_routine"] * 3]
    first, third = events[0], events[2]
    assert third.severity == "low" and third.confidence < first.confidence
    assert third.lost_kwh == first.lost_kwh > 0  # kept with its estimate, ranked lower
    sentence = evidence_sentence(third.kind, third.params, "es")
    assert "rutina semanal" in sentence


def test_a_loss_of_every_working_day_is_no_routine() -> None:
    # idle at weekends, 40 % missing on every working day for five weeks: each week's
    # shortfall recurs, but no working day was normal
    scored = _weeks([10, 10, 10, 10, 10, 0.5, 0.5], [6, 6, 6, 6, 6, 0.5, 0.5])
    events = extract_events("A", scored)
    assert len(events) == 5 and len(_raised(events)) == 5


def test_a_shortfall_that_moves_between_days_is_no_routine() -> None:
    scored = _weeks([10] * 7, [10] * 7)
    # week k loses its day k: a different day every week
    for k in range(5):
        day = START + pd.Timedelta(days=8 * k)
        hit = (scored["ts"] >= day) & (scored["ts"] < day + pd.Timedelta(days=2))
        scored.loc[hit, ["active_kwh", "is_anomaly", "score"]] = [4.0, 1, 4.0]
        scored.loc[hit, "detectors"] = "deficit_day"
    events = extract_events("A", scored)
    assert len(events) == 5 and len(_raised(events)) == 5


def test_the_weeks_before_a_daily_runs_window_come_from_earlier_scores() -> None:
    scored = _weeks([10] * 7, [5, 5, 10, 10, 10, 10, 10])
    cut = START + pd.Timedelta(days=27)  # a daily run rebuilds events from the fifth week's eve
    window, before = scored[scored["ts"] >= cut], scored[scored["ts"] < cut]
    alone = extract_events("A", window.reset_index(drop=True))
    assert [e.params["watch"] for e in alone] == [None]  # nothing to compare it with
    helped = extract_events("A", window.reset_index(drop=True), earlier=before)
    assert [e.params["watch"] for e in helped] == ["weekly_routine"]


def test_weekly_routine_needs_every_week_before() -> None:
    scored = _weeks([10] * 7, [5, 5, 10, 10, 10, 10, 10], weeks=3)
    third_week = scored[
        (scored["ts"] >= START + pd.Timedelta(days=14)) & (scored["is_anomaly"] == 1)
    ]
    assert weekly_routine(_routine_book(scored, None), third_week["ts"].to_numpy())
    gap = scored.copy()
    second_week = (gap["ts"] >= START + pd.Timedelta(days=7)) & (
        gap["ts"] < START + pd.Timedelta(days=14)
    )
    gap.loc[second_week, "is_anomaly"] = 0  # the week before was fine: not a routine (yet)
    assert not weekly_routine(_routine_book(gap, None), third_week["ts"].to_numpy())
    assert not weekly_routine(_routine_book(scored.iloc[:0], None), third_week["ts"].to_numpy())


def test_a_loss_split_by_sundays_into_six_day_events_is_no_routine() -> None:
    # a working Sunday that the loss leaves unflagged splits it into weekly events: one normal
    # day against six short ones is a loss, not a routine
    scored = _weeks([10] * 7, [6, 6, 6, 6, 6, 6, 10])
    events = extract_events("A", scored)
    assert len(events) == 5 and len(_raised(events)) == 5


def test_a_shortfall_the_rest_of_its_week_made_up_for_is_watched() -> None:
    # one week: Monday and Tuesday short by 8 kWh an hour, Thursday to Saturday 6 kWh an hour
    # above what was expected (the work moved to later days); a loss leaves them as expected
    scored = _weeks([10, 10, 10, 10, 10, 10, 10], [2, 2, 10, 16, 16, 16, 10], weeks=1)
    events = extract_events("A", scored)
    assert [e.params["watch"] for e in events] == ["moved_in_week"]
    assert "otros días de la misma semana" in evidence_sentence(
        events[0].kind, events[0].params, "es"
    )
    lost = _weeks([10] * 7, [2, 2, 10, 10, 10, 10, 10], weeks=1)  # nothing made up: raised
    assert [e.params["watch"] for e in extract_events("A", lost)] == [None]
    partly = _weeks([10] * 7, [2, 2, 10, 14, 14, 14, 10], weeks=1)  # 288 of 384 kWh: raised
    assert [e.params["watch"] for e in extract_events("A", partly)] == [None]
