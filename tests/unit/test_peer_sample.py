"""Which sector peers an alert's comparison reads."""

from __future__ import annotations

import pytest

from meterwatch.queries import PEER_SAMPLE, peer_sample, peers_daily
from meterwatch.storage.iceberg_tables import BUCKETS, bucket_of


def test_a_small_sector_is_read_whole_with_the_customer_first() -> None:
    members = [f"Cliente {n}" for n in range(1, 9)]
    chosen = peer_sample("Cliente 4", members)
    assert chosen[0] == "Cliente 4"
    assert sorted(chosen) == sorted(members)


def test_a_large_sector_gives_a_fixed_sample_from_the_customers_own_bucket_first() -> None:
    members = [f"C{n:06d}" for n in range(5_000)]  # ~310 per bucket
    client = members[123]
    chosen = peer_sample(client, members)
    assert len(chosen) == PEER_SAMPLE and chosen[0] == client
    assert {bucket_of(c) for c in chosen} == {bucket_of(client)}  # one bucket's files
    # the same sample whatever order the members come in, and not simply the first ids
    assert peer_sample(client, list(reversed(members))) == chosen
    assert chosen[1:] != sorted(chosen[1:])


def test_a_thin_bucket_is_completed_from_the_next_ones_in_order() -> None:
    members = [f"C{n:06d}" for n in range(400)]  # ~25 per bucket
    client = members[0]
    chosen = peer_sample(client, members, size=60)
    own = bucket_of(client) or 0
    steps = [((bucket_of(c) or 0) - own) % BUCKETS for c in chosen[1:]]
    assert steps == sorted(steps) and steps[0] == 0
    assert len(chosen) == 60 and len(set(chosen)) == 60


def test_the_peer_query_takes_one_to_peer_sample_customers() -> None:
    assert peers_daily(3).params == {"start", "end", "c0", "c1", "c2"}
    with pytest.raises(ValueError, match="no peer query"):
        peers_daily(PEER_SAMPLE + 1)
