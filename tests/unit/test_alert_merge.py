"""Alerts: merging across runs (withdrawn edge alerts) and what an event's evidence says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from meterwatch.alerts.policy import Event, merge_alerts
from meterwatch.alerts.render import evidence_sentence


def _event(client: str, start: str, end: str, kind: str = "under_registration") -> Event:
    return Event(client, kind, pd.Timestamp(start), pd.Timestamp(end), 48, 0.8, 10.0, 50.0,
                 "medium", 0.7, {"ongoing": True})  # fmt: skip


def test_an_edge_alert_the_revision_no_longer_supports_is_withdrawn() -> None:
    sectors = {"A": None, "B": None}
    first, new_ids, _, _, _ = merge_alerts(
        pd.DataFrame(),
        {
            "A": [_event("A", "2023-01-05", "2023-01-08")],
            "B": [_event("B", "2023-01-01", "2023-01-03")],
        },
        sectors,
    )
    assert len(new_ids) == 2
    a_id = first.loc[first["client_id"] == "A", "alert_id"].iloc[0]
    # A's edge was revised from 4 January: its event is gone, the alert is withdrawn (kept,
    # announced, worth no visit); B was not revised: kept as it was
    second, new_ids, updated, withdrawn, told = merge_alerts(
        first, {"A": [], "B": []}, sectors, revised_from={"A": pd.Timestamp("2023-01-04")}
    )
    assert not new_ids and not updated and withdrawn == [a_id] and told == [a_id]
    status = dict(zip(second["client_id"], second["status"], strict=True))
    assert status == {"A": "withdrawn", "B": "open"}
    assert second.loc[second["client_id"] == "B", "rank"].iloc[0] == 1
    # a later run that revises A again does not announce the withdrawal twice
    third, _, _, again, _ = merge_alerts(
        second, {"A": []}, sectors, revised_from={"A": pd.Timestamp("2023-01-05")}
    )
    assert again == [] and (third["status"] == "withdrawn").sum() == 1
    # the loss shows up again: the same alert comes back
    fourth, new_ids, updated, _, _ = merge_alerts(
        third, {"A": [_event("A", "2023-01-06", "2023-01-09")]}, sectors
    )
    assert not new_ids and updated == [a_id]
    assert fourth.loc[fourth["alert_id"] == a_id, "status"].iloc[0] == "open"


def test_a_revised_event_may_start_later_than_the_edge_saw_it() -> None:
    sectors = {"A": None}
    first, _, _, _, _ = merge_alerts(pd.DataFrame(), {"A": [_event("A", "2023-01-05", "2023-01-08")]},
                                  sectors)  # fmt: skip
    later = {"A": [_event("A", "2023-01-06", "2023-01-10")]}
    kept, _, _, _, _ = merge_alerts(first, later, sectors)
    assert kept["window_start"].iloc[0] == pd.Timestamp("2023-01-05")  # the window only grows
    revised, _, updated, _, _ = merge_alerts(first, later, sectors,
                                          revised_from={"A": pd.Timestamp("2023-01-04")})  # fmt: skip
    assert revised["window_start"].iloc[0] == pd.Timestamp("2023-01-06")
    assert revised["alert_id"].iloc[0] == first["alert_id"].iloc[0] and len(updated) == 1


def _scored(active: np.ndarray, expected: np.ndarray) -> pd.DataFrame:
    n = len(active)
    return pd.DataFrame(
        {
            "ts": pd.date_range("2023-01-08", periods=n, freq="h"),
            "active_kwh": active,
            "expected_kwh": expected,
            "score": np.full(n, 2.0),
            "is_anomaly": np.ones(n, dtype=int),
            "detectors": ["deficit_day"] * n,
        }
    )


def _registers(active: np.ndarray, reactive: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.date_range("2023-01-01", periods=len(active), freq="h"),
            "active_kwh": active,
            "reactive_kvarh": reactive,
        }
    )


def test_both_registers_stepping_down_together_is_watched_not_hidden() -> None:
    """A shunted current transformer lowers both registers in proportion, exactly as a real
    change of demand does: the event is kept (watched, ranked low, reason named), never
    dropped."""
    from meterwatch.alerts.policy import extract_events, registers_stepped_together

    hours = np.arange(24 * 12)
    day = 10 + 5 * np.sin(hours * 2 * np.pi / 24)
    week, after = slice(0, 24 * 7), slice(24 * 7, None)
    step = np.where(hours < 24 * 7, 1.0, 0.8)  # a 20 % step down on the 8th day
    demand = _registers(day * step, 0.3 * day * step)  # both registers in proportion
    tamper = _registers(day * step, 0.3 * day)  # the reactive register unchanged
    clipped = np.minimum(day, np.quantile(day, 0.4))
    capped = _registers(np.r_[day[week], clipped[after]], 0.3 * np.r_[day[week], clipped[after]])
    start, last = pd.Timestamp("2023-01-08"), pd.Timestamp("2023-01-12 23:00")
    assert registers_stepped_together(demand, start, last)
    assert not registers_stepped_together(tamper, start, last)
    assert not registers_stepped_together(capped, start, last)  # peaks clipped: current cut

    scored = _scored((day * step)[after], day[after])
    (watched,) = extract_events("c", scored, registers=demand)  # 20 %: demand, or a shunted CT
    assert watched.params["watch"] == "registers_together" and watched.severity == "low"
    (event,) = extract_events("c", scored, registers=tamper)
    assert event.kind == "under_registration" and not event.params["registers_together"]
    assert event.params["watch"] is None and watched.confidence < event.confidence
    # a deep step of both registers is still raised, saying so, with less confidence
    deep = np.where(hours < 24 * 7, 1.0, 0.5)
    (big,) = extract_events(
        "c", _scored((day * deep)[after], day[after]), registers=_registers(day * deep, day * deep)
    )
    (same,) = extract_events(
        "c", _scored((day * deep)[after], day[after]), registers=_registers(day * deep, day)
    )
    assert big.params["registers_together"] and big.confidence < same.confidence
    assert "misma proporción" in evidence_sentence(big.kind, big.params)


def test_a_step_some_days_before_the_event_is_compared_from_before_the_step() -> None:
    """A plateau that began a few days before the model's training ended is not a level the
    customer sustained; its event starts with the new data, whose week before already sat at
    the lower level. The registers are compared from the week before the step."""
    from meterwatch.alerts.policy import registers_stepped_together

    hours = np.arange(24 * 36)
    day = 10 + 5 * np.sin(hours * 2 * np.pi / 24)
    step = np.where(hours < 24 * 24, 1.0, 0.8)  # down 20 % on 2023-01-25, the event from 02-01
    start, last = pd.Timestamp("2023-02-01"), pd.Timestamp("2023-02-05 23:00")
    demand = _registers(day * step, 0.3 * day * step)
    tamper = _registers(day * step, 0.3 * day)
    assert registers_stepped_together(demand, start, last)
    assert not registers_stepped_together(tamper, start, last)
    # no step within three weeks before the event: nothing to compare with, not "together"
    long_ago = np.where(hours < 24 * 3, 1.0, 0.8)
    assert not registers_stepped_together(
        _registers(day * long_ago, 0.3 * day * long_ago), start, last
    )


def _growing(end: str, lost: float, severity: str = "medium", ongoing: bool = True) -> Event:
    return Event("A", "under_registration", pd.Timestamp("2023-01-01"), pd.Timestamp(end), 48,
                 0.8, lost, 5 * lost, severity, 0.7, {"ongoing": ongoing})  # fmt: skip


def test_an_ongoing_alert_is_sent_again_only_when_it_matters() -> None:
    sectors = {"A": None}
    alerts, new_ids, _, _, told = merge_alerts(
        pd.DataFrame(), {"A": [_growing("2023-01-05", 100.0)]}, sectors
    )
    assert told == new_ids  # a new alert is sent
    (alert_id,) = new_ids
    # the next day it grew a little: updated in the table, not sent again
    alerts, _, updated, _, told = merge_alerts(alerts, {"A": [_growing("2023-01-06", 130.0)]},
                                               sectors)  # fmt: skip
    assert updated == [alert_id] and told == []
    # ... until the loss reaches 1.5 times what was sent (100 kWh) ...
    alerts, _, _, _, told = merge_alerts(alerts, {"A": [_growing("2023-01-07", 150.0)]}, sectors)
    assert told == [alert_id]
    alerts, _, _, _, told = merge_alerts(alerts, {"A": [_growing("2023-01-08", 200.0)]}, sectors)
    assert told == []  # 200 < 1.5 x 150
    # ... or the severity rises, or the event ends
    alerts, _, _, _, told = merge_alerts(
        alerts, {"A": [_growing("2023-01-09", 210.0, severity="high")]}, sectors
    )
    assert told == [alert_id]
    alerts, _, _, _, told = merge_alerts(
        alerts, {"A": [_growing("2023-01-09", 210.0, severity="high", ongoing=False)]}, sectors
    )
    assert told == [alert_id] and alerts["status"].iloc[0] == "closed"


def test_an_alert_stores_codes_and_parameters_and_is_read_in_either_language() -> None:
    """Scoring needs no language: the row holds the evidence codes and figures; the e-mail,
    the export and the inbox write them in their reader's language."""
    import json

    from meterwatch.alerts.notification import render_alert_message
    from meterwatch.alerts.render import alert_evidence, alerts_for_operators

    event = _event("A", "2022-11-28 19:00", "2023-01-12 05:00")
    event.params.update(lost_kwh=2442.2, loss_pct=57.4, n_hours=1065, reactive_change=True,
                        start="2022-11-28 19:00", end="2023-01-12 05:00")  # fmt: skip
    alerts, *_ = merge_alerts(pd.DataFrame(), {"A": [event]}, {"A": "Agua"})
    row = alerts.iloc[0]
    assert json.loads(row["evidence"]) == ["alert.under_registration", "alert.evidence.reactive"]
    es = alert_evidence(row["kind"], row["params"], row["evidence"], "es")
    en = alert_evidence(row["kind"], row["params"], row["evidence"], "en")
    assert es.startswith("Registra 57 % menos de lo esperado")
    assert "entre 28/11/2022 19:00 y 12/01/2023 05:00" in es and "faltan unos 2\u202f442 kWh" in es
    assert es.endswith("La relación reactiva/activa cambió.")
    assert "about 2,442 kWh missing" in en and en.endswith("The reactive-to-active ratio changed.")
    _, body = render_alert_message(alerts, "en")
    assert en in body and "Under-registration" in body
    sheet = alerts_for_operators(alerts, "es")
    assert sheet["Evidencia"].iloc[0] == es and sheet["Tipo"].iloc[0] == "Subregistro"


def test_an_older_alert_without_codes_shows_its_stored_sentence() -> None:
    from meterwatch.alerts.render import alert_evidence

    stored = "Registra 20 % menos de lo esperado."
    assert alert_evidence("under_registration", "{}", stored, "en") == stored
    assert alert_evidence("under_registration", None, None, "es") == ""


def test_an_event_some_sector_peers_share_is_raised_named_and_less_confident() -> None:
    """Two of four peers falling is not a sector drop (the expectation is left alone), but
    it is worth saying: the event stays raised, names the peers' partial drop and ranks
    below the same event on its own."""
    from meterwatch.alerts.policy import extract_events

    hours = np.arange(24 * 5)
    day = 10 + 5 * np.sin(hours * 2 * np.pi / 24)
    alone = _scored(0.6 * day, day)
    shared = alone.assign(detectors="deficit_day,sector_some")
    (event,) = extract_events("c", alone)
    (named,) = extract_events("c", shared)
    assert not event.params["some_peers_fell"] and named.params["some_peers_fell"]
    assert named.params["watch"] is None and named.severity == event.severity
    assert named.confidence < event.confidence
    assert "no la mayoría" in evidence_sentence(named.kind, named.params)
    assert "no la mayoría" not in evidence_sentence(event.kind, event.params)


def test_a_loss_the_reactive_register_did_not_share_is_measured_by_it() -> None:
    """A scaled active register leaves the reactive one counting. Where the model expected
    the lower level (one the customer had shown), the event's loss is what the reactive
    register implies at the ratio of the week before, not the model's near-zero shortfall."""
    from meterwatch.alerts.policy import extract_events, registers_diverged

    hours = np.arange(24 * 12)
    day = 10 + 5 * np.sin(hours * 2 * np.pi / 24)
    after = slice(24 * 7, None)
    step = np.where(hours < 24 * 7, 1.0, 0.3)  # 70 % of the active energy gone from day 8
    tamper = _registers(day * step, 0.4 * day)  # the reactive register unchanged
    demand = _registers(day * step, 0.4 * day * step)  # both fell: demand (or a shunted CT)
    power_factor = _registers(day, 0.4 * day * np.where(hours < 24 * 7, 1.0, 2.0))
    start, last = pd.Timestamp("2023-01-08"), pd.Timestamp("2023-01-12 23:00")
    assert registers_diverged(tamper, start, last) == 1 / 0.4
    assert registers_diverged(demand, start, last) is None
    assert registers_diverged(power_factor, start, last) is None  # no active step at all
    # the model expected the lower level: a shortfall of 5 % only
    reported = (day * step)[after]
    scored = _scored(reported, reported * 1.05)
    (event,) = extract_events("c", scored, registers=tamper)
    assert event.params["registers_diverged"] and event.params["watch"] is None
    assert event.lost_kwh == pytest.approx(float((day[after] - reported).sum()))
    assert event.params["loss_pct"] == pytest.approx(70.0, abs=0.1)
    assert "reactiva no" in evidence_sentence(event.kind, event.params)
    (watched,) = extract_events("c", scored, registers=demand)
    assert not watched.params["registers_diverged"] and watched.params["watch"] == "small_loss"


def test_an_events_reported_and_expected_energy_are_of_the_same_hours() -> None:
    """The stored figures add up: expected - reported = lost, all over the flagged hours. A
    meter switched off eight hours a day is one event over five days; the window's other
    hours (here above the expectation) are in neither figure (the reported energy used to be
    the whole window's, so it could exceed the expected energy of an event losing 15 %)."""
    from meterwatch.alerts.policy import extract_events

    hours = np.arange(24 * 5)
    expected = 10 + 5 * np.sin(hours * 2 * np.pi / 24)
    off = (hours % 24 >= 8) & (hours % 24 < 16)
    scored = _scored(np.where(off, 0.0, 1.3 * expected), expected)
    scored["is_anomaly"] = off.astype(int)
    scored["detectors"] = np.where(off, "zero_hours", "")
    (event,) = extract_events("c", scored)
    p = event.params
    assert p["expected_kwh"] == pytest.approx(float(expected[off].sum()), abs=0.06)
    assert p["reported_kwh"] == 0.0
    assert p["expected_kwh"] - p["reported_kwh"] == pytest.approx(p["lost_kwh"], abs=0.1)
