"""Labelled manipulations: each family changes exactly the intended hours; draws are seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from meterwatch.evaluation.inject import (
    FAMILIES,
    TIER_SPECS,
    _cap_for_loss,
    apply_family,
    daily_profile_shift,
    draw_params,
    make_draw,
    real_event_mask,
)


def _window(days: int = 3, offset_hours: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    hours = (np.arange(days * 24) + offset_hours) % 24
    x = (2 + np.sin(hours / 24 * 2 * np.pi)) * rng.uniform(0.9, 1.1, len(hours))
    return x, hours


def test_h1_scales_every_hour() -> None:
    x, hours = _window()
    out = apply_family("h1", x, hours, {"a": 0.4}, np.random.default_rng(0))
    np.testing.assert_allclose(out, 0.4 * x)


def test_h2_zeroes_only_the_daily_window() -> None:
    x, hours = _window()
    params = {"window_start_hour": 22, "window_hours": 5}  # 22:00 to 02:59, across midnight
    out = apply_family("h2", x, hours, params, np.random.default_rng(0))
    inside = np.isin(hours, [22, 23, 0, 1, 2])
    assert (out[inside] == 0).all()
    np.testing.assert_array_equal(out[~inside], x[~inside])


def test_h3_and_h4_stay_inside_their_ranges() -> None:
    x, hours = _window()
    params = {"g_low": 0.2, "g_high": 0.6}
    h3 = apply_family("h3", x, hours, params, np.random.default_rng(0))
    assert ((h3 / x >= 0.2) & (h3 / x <= 0.6)).all()
    h4 = apply_family("h4", x, hours, params, np.random.default_rng(0))
    assert ((h4 >= 0.2 * x.mean()) & (h4 <= 0.6 * x.mean())).all()
    assert len(np.unique(h4)) == len(x)  # random share per hour, not one value


def test_h5_reports_the_window_mean() -> None:
    x, hours = _window()
    out = apply_family("h5", x, hours, {}, np.random.default_rng(0))
    np.testing.assert_allclose(out, x.mean())
    assert out.sum() == pytest.approx(x.sum())  # moves energy between hours, loses none


def test_h6_reverses_whole_days_only() -> None:
    x, hours = _window(days=3, offset_hours=20)  # starts at 20:00: 4 partial hours first
    out = apply_family("h6", x, hours, {}, np.random.default_rng(0))
    np.testing.assert_array_equal(out[:4], x[:4])  # the partial first day is left alone
    np.testing.assert_array_equal(out[4:28], x[4:28][::-1])
    np.testing.assert_array_equal(out[28:52], x[28:52][::-1])
    np.testing.assert_array_equal(out[52:], x[52:])  # partial last day


def test_h7_clips_only_hours_above_the_cap() -> None:
    x, hours = _window()
    params = draw_params("h7", x, hours, 0.3, np.random.default_rng(0))
    out = apply_family("h7", x, hours, params, np.random.default_rng(0))
    above = x > params["cap_kwh"]
    np.testing.assert_allclose(out[above], params["cap_kwh"])
    np.testing.assert_array_equal(out[~above], x[~above])
    assert 1 - out.sum() / x.sum() == pytest.approx(0.3, abs=1e-4)


def test_h8_reports_zero() -> None:
    x, hours = _window()
    assert (apply_family("h8", x, hours, {}, np.random.default_rng(0)) == 0).all()


@pytest.mark.parametrize("loss", [0.05, 0.4, 0.9])
def test_cap_takes_the_asked_share(loss: float) -> None:
    x = np.random.default_rng(3).lognormal(0, 1, 500)
    cap = _cap_for_loss(x, loss)
    assert 1 - np.minimum(x, cap).sum() / x.sum() == pytest.approx(loss, abs=1e-9)


@pytest.mark.parametrize("family", ["h1", "h2", "h3", "h4", "h7"])
def test_parameters_take_about_the_drawn_loss(family: str) -> None:
    x, hours = _window(days=14)
    params = draw_params(family, x, hours, 0.35, np.random.default_rng(0))
    out = apply_family(family, x, hours, params, np.random.default_rng(0))
    tolerance = 0.05 if family == "h2" else 0.03  # h2 moves whole hours; h3/h4 are random
    assert 1 - out.sum() / x.sum() == pytest.approx(0.35, abs=tolerance)


def test_profile_shift_separates_flat_and_shaped_customers() -> None:
    ts = pd.Series(pd.date_range("2022-01-01", periods=24 * 20, freq="h"))
    flat = np.ones(len(ts))
    shaped = np.where(ts.dt.hour.between(8, 17), 5.0, 0.5)
    assert daily_profile_shift(ts, flat) == (0.0, 0.0)
    flat_shift, reverse_shift = daily_profile_shift(ts, shaped)
    assert flat_shift > 0.3 and reverse_shift > 0.1


def test_real_events_need_a_day_of_zeros() -> None:
    active = np.ones(100)
    active[10:20] = 0  # ten idle hours: not a stopped meter
    active[40:70] = 0  # thirty hours: a stopped meter
    active[80:82] = -1
    events = real_event_mask(active)
    assert events["stopped_meter"].sum() == 30 and events["stopped_meter"][40:70].all()
    assert events["negative_energy"].sum() == 2


def _fleet(n: int = 8, days: int = 100, flat: tuple[int, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frames = []
    for i in range(n):
        ts = pd.date_range("2022-01-01", periods=days * 24, freq="h")
        shape = np.ones(len(ts)) if i in flat else 1 + 0.8 * np.sin((ts.hour - 12) / 24 * 2 * np.pi)
        active = (1 + i) * shape * rng.lognormal(0, 0.05, len(ts))
        frames.append(
            pd.DataFrame(
                {
                    "client_id": f"Cliente {i}",
                    "ts": ts,
                    "active_kwh": active,
                    "reactive_kvarh": 0.3 * active,
                    "voltage_fa": 460.0,
                    "voltage_fc": 460.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    from meterwatch.evaluation.protocol import split_history

    return split_history(frame)


def test_draw_is_deterministic_by_seed() -> None:
    train, test = _split(_fleet())
    a = make_draw(train, test, "standard", 4)
    b = make_draw(train, test, "standard", 4)
    c = make_draw(train, test, "standard", 5)
    pd.testing.assert_frame_equal(a.test, b.test)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.positives == b.positives
    assert not (a.test["active_kwh"].equals(c.test["active_kwh"]) and a.positives == c.positives)


def test_draw_labels_exactly_the_changed_hours() -> None:
    train, test = _split(_fleet())
    draw = make_draw(train, test, "standard", 1)
    original = test.sort_values(["client_id", "ts"]).reset_index(drop=True)
    changed = ~np.isclose(draw.test["active_kwh"], original["active_kwh"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(changed, draw.labels)
    assert len(draw.positives) == 4  # half of eight customers
    for injection in draw.injections:
        rows = draw.test["client_id"] == injection.client_id
        labelled = np.flatnonzero(draw.labels[rows.to_numpy()])
        assert labelled.min() >= injection.start and labelled.max() < injection.end


@pytest.mark.parametrize("tier", ["standard", "subtle"])
def test_tier_parameters(tier: str) -> None:
    spec = TIER_SPECS[tier]
    train, test = _split(_fleet(n=16))
    for seed in range(4):
        draw = make_draw(train, test, tier, seed)
        for injection in draw.injections:
            assert injection.end - injection.start <= spec.days[1] * 24
            if "loss_share" in injection.params:
                assert spec.loss[0] <= injection.params["loss_share"] <= spec.loss[1]
            if injection.family == "h1":
                assert injection.params["a"] == pytest.approx(1 - injection.params["loss_share"])


def test_flat_customers_get_no_h5_or_h6() -> None:
    flat = tuple(range(0, 16, 2))
    train, test = _split(_fleet(n=16, flat=flat))
    families = set()
    for seed in range(8):
        for injection in make_draw(train, test, "standard", seed).injections:
            families.add(injection.family)
            if int(injection.client_id.split()[-1]) in flat:
                assert injection.family not in ("h5", "h6")
    assert families == set(FAMILIES)


def test_real_event_customers_are_positive_and_not_injected() -> None:
    fleet = _fleet()
    train, test = _split(fleet)
    test = test.copy()
    rows = np.flatnonzero(test["client_id"] == "Cliente 3")[:48]
    test.loc[rows, "active_kwh"] = 0.0
    draw = make_draw(train, test, "standard", 0)
    assert draw.positives["Cliente 3"] == "stopped_meter"
    assert all(i.client_id != "Cliente 3" for i in draw.injections)
    assert draw.starts["Cliente 3"] == test.loc[rows[0], "ts"]


def test_known_events_are_positives_and_their_customers_get_no_injection(tmp_path) -> None:
    from meterwatch.evaluation.inject import read_known_events

    train, test = _split(_fleet())
    first_new = test.loc[test["client_id"] == "Cliente 3", "ts"].min()
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "client_id": ["Cliente 3", "Cliente 3", "Cliente 5"],
            "family": ["h1", "campaign", "h8"],
            "start": [first_new + pd.Timedelta(days=2), first_new, pd.Timestamp("2021-01-01")],
            "end": [
                first_new + pd.Timedelta(days=5),
                first_new + pd.Timedelta(days=9),
                pd.Timestamp("2021-02-01"),
            ],
            "is_loss": [1, 0, 1],
            "params": ["{}", "{}", "{}"],
        }
    ).to_csv(labels, index=False)
    known = read_known_events(labels)
    assert list(known["family"]) == ["h1", "h8"]  # context rows (is_loss 0) are not losses
    draw = make_draw(train, test, "standard", 0, known_events=known)
    mine = (draw.test["client_id"] == "Cliente 3").to_numpy()
    assert draw.positives["Cliente 3"] == "h1"
    assert draw.labels[mine].sum() == 3 * 24  # exactly the labelled hours of the new part
    assert not any(i.client_id == "Cliente 3" for i in draw.injections)
    # an event that lies in the history is not a positive of the new part
    assert draw.positives.get("Cliente 5", "") != "h8"
    # the data itself is not changed for a known event
    before = test.sort_values(["client_id", "ts"]).reset_index(drop=True)
    assert np.allclose(draw.test.loc[mine, "active_kwh"], before.loc[mine, "active_kwh"])


def test_a_file_that_is_not_a_labels_file_is_a_clear_error(tmp_path) -> None:
    from meterwatch.evaluation.inject import read_known_events

    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"x\.csv: not a labels file"):
        read_known_events(path)
