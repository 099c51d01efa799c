"""Sector peers as context: a drop the sector shares is less suspicious."""

from __future__ import annotations

import pandas as pd
import pytest

from meterwatch.detect.pipeline import sector_factors


def ratios(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2023-01-01", periods=len(values), freq="D"))


def test_a_drop_most_peers_share_scales_the_expectation() -> None:
    sectors = {c: "cacao" for c in "abcd"}
    out = sector_factors(
        {"a": ratios([1, 0.5]), "b": ratios([1, 0.6]), "c": ratios([1, 0.55]), "d": ratios([1, 1])},
        sectors,
    )
    assert out["a"].iloc[0] == 1.0
    assert out["a"].iloc[1] == 0.6  # 2 of its 3 peers fell (0.55, 0.6, 1.0): the 2nd lowest
    assert out["d"].iloc[1] == 0.55


def test_two_of_four_peers_falling_is_not_a_sector_drop() -> None:
    """Two peers in trouble at once (one's own theft, another's idle spell) are not most of
    the sector: with four peers, three must fall (a 44 % loss of a vegetable grower was hidden
    by two such peers at 0.1-0.2 of their expectation under the second-lowest rule)."""
    sectors = {c: "hortalizas" for c in "abcde"}
    out = sector_factors(
        {
            "a": ratios([0.55]),
            "b": ratios([0.12]),
            "c": ratios([0.15]),
            "d": ratios([0.95]),
            "e": ratios([1.1]),
        },
        sectors,
    )
    assert out["a"].iloc[0] == 1.0
    # the third of four falls too: a sector drop, as deep as the third-lowest peer
    out = sector_factors(
        {
            "a": ratios([0.55]),
            "b": ratios([0.12]),
            "c": ratios([0.15]),
            "d": ratios([0.7]),
            "e": ratios([1.1]),
        },
        sectors,
    )
    assert out["a"].iloc[0] == 0.7


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


def levels(steps: list[tuple[int, float]], noise: float = 0.0, seed: int = 0) -> pd.Series:
    """A daily regime level made of (days, level) steps, with optional multiplicative noise."""
    import numpy as np

    values = np.concatenate([np.full(days, level) for days, level in steps])
    rng = np.random.default_rng(seed)
    values = values * np.exp(rng.normal(0, noise, len(values)))
    return pd.Series(values, index=pd.date_range("2022-01-01", periods=len(values), freq="D"))


def test_peers_that_shared_every_campaign_step_are_tied() -> None:
    from meterwatch.detect.pipeline import tied_peers

    campaign = [(120, 2.0), (60, 6.0), (30, 7.5), (30, 4.0), (150, 2.0)]
    out = tied_peers(
        {
            "a": levels(campaign, 0.02, 1),
            "b": levels([(d, v * 0.5) for d, v in campaign], 0.02, 2),
            # same sector, its own campaign at another time
            "c": levels([(200, 3.0), (90, 6.0), (100, 3.0)], 0.02, 3),
            # a steady customer: its correlation with anyone is noise
            "d": levels([(390, 1.0)], 0.05, 4),
            # lockstep, but another sector
            "e": levels(campaign, 0.02, 5),
        },
        {"a": "cacao", "b": "cacao", "c": "cacao", "d": "cacao", "e": "agua"},
    )
    assert out["a"] == ["b"] and out["b"] == ["a"]
    assert out["c"] == [] and out["d"] == [] and out["e"] == []


def test_tied_peers_are_pandas_pairwise_correlation_in_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The matrix-product correlation gives DataFrame.corr(min_periods)'s ties: gaps, late
    starters, too few common days, flat series and outage days, whatever the block size."""
    import numpy as np

    from meterwatch.detect import pipeline

    rng = np.random.default_rng(7)
    days = 300
    index = pd.date_range("2022-01-01", periods=days, freq="D")
    shared = [np.cumsum(rng.normal(0, 0.05, days)) for _ in range(3)]
    series: dict[str, pd.Series] = {}
    for i in range(40):
        if i % 7 == 0:
            values = np.full(days, 4.0)  # never moved
        elif i % 3 == 0:
            values = np.exp(np.cumsum(rng.normal(0, 0.05, days)))  # its own path
        else:  # one of three lockstep groups, a little noise of its own
            values = 3 * np.exp(shared[i % 3] + rng.normal(0, 0.01 * (i % 5), days))
        values = values.copy()
        gap = int(rng.integers(0, days - 30))
        values[gap : gap + int(rng.integers(0, 30))] = np.nan
        values[rng.integers(0, days, 3)] = 0.0  # outage days
        start = int(rng.integers(0, 260)) if i % 4 == 0 else 0  # a few start late
        series[f"c{i}"] = pd.Series(values, index=index).iloc[start:]
    sectors = {c: "ab"[i % 2] for i, c in enumerate(series)}

    expected: dict[str, list[str]] = {}
    for sector in "ab":
        logs = {}
        for c, level in series.items():
            if sectors[c] != sector:
                continue
            median = float(np.nanmedian(level.to_numpy()))
            logs[c] = np.log(level.where(level > pipeline.OUTAGE_SHARE * median) / median)
        corr = pd.DataFrame(logs).corr(min_periods=pipeline.TIE_MIN_DAYS)
        for c in corr.columns:
            row = corr[c].drop(c)
            expected[c] = sorted(row.index[(row >= pipeline.TIE_CORRELATION).to_numpy()])
    assert sum(len(v) for v in expected.values()) >= 20  # the case has ties to find
    for block_cells in (500_000, 40, 1):
        monkeypatch.setattr(pipeline, "TIE_BLOCK_CELLS", block_cells)
        assert pipeline.tied_peers(series, sectors) == expected


def test_a_drop_the_tied_peers_share_is_the_customers_regime() -> None:
    sectors = {c: "cacao" for c in "abcde"}
    day = ratios
    base = {"c": day([1.0, 1.0, 1.0]), "d": day([1.0, 1.0, 1.0]), "e": day([1.0, 1.0, 1.0])}
    # a and b fall together on day 1 (a deeper than b); on day 2 only a falls
    inputs = {"a": day([1.0, 0.3, 0.5]), "b": day([1.0, 0.55, 1.0]), **base}
    out = sector_factors(inputs, sectors, {"a": ["b"], "b": ["a"]})
    assert out["a"].iloc[1] == 0.3  # its own ratio: the shared drop explains it
    assert out["b"].iloc[1] == 0.55
    assert out["a"].iloc[2] == 1.0  # a's drop alone stays a loss
    # without the tie, a's peers (b 0.55, c, d, e at 1.0) explain nothing: one peer fell
    untied = sector_factors(inputs, sectors)
    assert untied["a"].iloc[1] == 1.0


def test_a_tied_drop_never_explains_more_than_the_floor() -> None:
    from meterwatch.detect.pipeline import SECTOR_FLOOR

    sectors = {"a": "cacao", "b": "cacao"}
    out = sector_factors({"a": ratios([0.15]), "b": ratios([0.5])}, sectors, {"a": ["b"]})
    assert out["a"].iloc[0] == SECTOR_FLOOR


def test_natural_key_sorts_ids_with_unicode_digits() -> None:
    """Found by the ingest attack battery: a superscript one is a digit to isdigit()."""
    from meterwatch.ids import natural_key

    assert sorted(["Cliente 10", "¹", "Cliente 2", "٣"], key=natural_key)[:2] == [
        "Cliente 2",
        "Cliente 10",
    ]


def _majority_peer(values: dict[str, float | None], client: str) -> float | None:
    """The definition, one customer at a time: of its n usable peers' ratios, sorted, the
    (n // 2 + 1)-th lowest (the highest ratio a majority of the peers are at or below)."""
    from meterwatch.detect.pipeline import PEER_OUTAGE_RATIO

    peers = sorted(
        v
        for c, v in values.items()
        if c != client and v is not None and v == v and v >= PEER_OUTAGE_RATIO
    )
    return peers[len(peers) // 2] if len(peers) >= 2 else None


def test_factors_follow_the_definition_peer_by_peer_on_random_sectors() -> None:
    """The factors come from one sort of the sector per day (linear in its size); they must
    equal the definition applied to each customer's own peers, ties and gaps included."""
    import numpy as np

    from meterwatch.detect.pipeline import (
        MIN_SECTOR_PEERS,
        PEER_OUTAGE_RATIO,
        SECTOR_DROP,
        SECTOR_FLOOR,
    )

    rng = np.random.default_rng(7)
    days = pd.date_range("2023-01-01", periods=6, freq="D")
    for _ in range(200):
        n = int(rng.integers(2, 9))
        pool = [0.02, 0.5, 0.5, 0.8, 0.9, 1.0, 1.2, np.nan]
        table = {f"c{i}": rng.choice(pool, size=len(days)) for i in range(n)}
        out = sector_factors({c: pd.Series(v, index=days) for c, v in table.items()},
                             {c: "s" for c in table})  # fmt: skip
        for d in range(len(days)):
            values = {c: float(v[d]) for c, v in table.items()}
            for client in table:
                second = _majority_peer(values, client)
                peers = sum(
                    1
                    for c, v in values.items()
                    if c != client and v == v and v >= PEER_OUTAGE_RATIO
                )
                expected = 1.0
                if second is not None and peers >= MIN_SECTOR_PEERS and second < 1 - SECTOR_DROP:
                    expected = max(second, SECTOR_FLOOR)
                assert out[client].iloc[d] == expected, (values, client)


def test_peers_fallen_counts_the_peers_that_dropped_outages_left_out() -> None:
    from meterwatch.detect.pipeline import peers_fallen

    sectors = {c: "hortalizas" for c in "abcde"} | {"z": None}
    out = peers_fallen(
        {
            "a": ratios([0.55, 1.0]),
            "b": ratios([0.12, 1.0]),
            "c": ratios([0.05, 0.8]),  # an outage on day 1: not a fall
            "d": ratios([0.95, 0.7]),
            "e": ratios([1.1, 1.0]),
            "z": ratios([0.2, 0.2]),
        },
        sectors,
    )
    assert out["a"].tolist() == [False, True]  # b alone (day 1); c and d (day 2)
    assert out["e"].tolist() == [True, True]  # a and b; c and d
    assert out["z"].tolist() == [False, False]  # no sector, no peers


def test_some_peers_fell_is_a_share_of_a_large_sector_not_two_of_its_customers() -> None:
    from meterwatch.detect.pipeline import peers_fallen

    # 400 peers: on day 1 ten of them fell (their own idle days), on day 2 a third of them
    n = 400
    table = {f"c{i}": ratios([0.5 if i < 10 else 1.0, 0.6 if i < 134 else 1.0]) for i in range(n)}
    out = peers_fallen({**table, "me": ratios([0.4, 0.4])}, {c: "big" for c in [*table, "me"]})
    assert out["me"].tolist() == [False, True]
    # three of four peers' sector as before: two fallen peers are some
    small = {"a": ratios([0.5]), "b": ratios([0.5]), "c": ratios([1.0]), "d": ratios([1.0])}
    got = peers_fallen({**small, "me": ratios([0.4])}, {c: "s" for c in [*small, "me"]})
    assert got["me"].tolist() == [True]


def test_a_sector_larger_than_a_shard_is_scored_in_near_equal_parts() -> None:
    from meterwatch.detect.pipeline import pack_shards

    big = [f"c{i}" for i in range(1, 11)]  # ten customers, shards of four
    shards = pack_shards({"big": big, "small": ["s1", "s2"]}, ["z"], 4)
    assert all(len(s) <= 4 for s in shards)
    assert sorted(c for s in shards for c in s) == sorted([*big, "s1", "s2", "z"])
    parts = [[c for c in s if c.startswith("c")] for s in shards]
    assert sorted(len(p) for p in parts if p) == [3, 3, 4]  # near-equal, in customer order
    assert [c for p in parts for c in p] == [f"c{i}" for i in range(1, 11)]
    # a sector within the bound stays whole
    assert any(s[:2] == ["s1", "s2"] or {"s1", "s2"} <= set(s) for s in shards)
