"""Sector peers as context: a drop the sector shares is less suspicious."""

from __future__ import annotations

import pandas as pd

from meterwatch.detect.pipeline import sector_factors


def ratios(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2023-01-01", periods=len(values), freq="D"))


def test_a_drop_two_peers_share_scales_the_expectation() -> None:
    sectors = {c: "cacao" for c in "abcd"}
    out = sector_factors(
        {"a": ratios([1, 0.5]), "b": ratios([1, 0.6]), "c": ratios([1, 0.55]), "d": ratios([1, 1])},
        sectors,
    )
    assert out["a"].iloc[0] == 1.0
    assert out["a"].iloc[1] == 0.6  # second-lowest of its peers (0.55, 0.6, 1.0)
    assert out["d"].iloc[1] == 0.55


def test_one_peer_theft_or_outage_explains_nothing() -> None:
    sectors = {c: "agua" for c in "abcd"}
    out = sector_factors(
        {"a": ratios([0.5]), "b": ratios([0.0]), "c": ratios([0.95]), "d": ratios([1.0])},
        sectors,
    )
    # for d: b is an outage (left out), a alone fell: no sector drop
    assert out["d"].iloc[0] == 1.0


def test_customers_without_sector_or_peers_are_left_alone() -> None:
    out = sector_factors({"a": ratios([0.4]), "b": ratios([0.4])}, {"a": None, "b": "x"})
    assert out["a"].iloc[0] == 1.0 and out["b"].iloc[0] == 1.0
