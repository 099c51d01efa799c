"""GatheredTables: a dict of small Arrow tables held as ranges of gathered ones."""

from __future__ import annotations

import pyarrow as pa

from meterwatch.tables import GatheredTables


def piece(key: str, n: int, start: float = 0.0) -> pa.Table:
    return pa.table({"client_id": [key] * n, "x": [start + i for i in range(n)]})


def test_reads_as_the_dict_it_stands_for_through_gathering_and_resetting() -> None:
    held, plain = GatheredTables(gather=3), {}
    for i in range(8):
        held[f"C{i}"] = plain[f"C{i}"] = piece(f"C{i}", i % 3 + 1, 10 * i)
        if i == 4:  # set again after its first gathering, and before the second
            held["C1"] = plain["C1"] = piece("C1", 2, 99)
            held["C3"] = plain["C3"] = piece("C3", 1, 77)
    del held["C5"], plain["C5"]
    assert list(held) == list(plain) and len(held) == len(plain)
    for key, table in plain.items():
        assert held[key].equals(table), key
    assert "C5" not in held and "C6" in held
    gathered = {id(v[0]) for v in held._held.values() if isinstance(v, tuple)}
    assert len(gathered) == 3  # C0-C2; C3, C4 and C1 set again; C3 set again, C5, C6 (C7 loose)
    assert isinstance(held._held["C7"], pa.Table)


def test_tables_of_other_schemas_stay_as_they_are() -> None:
    held = GatheredTables(gather=2)
    held["A"] = piece("A", 2)
    held["B"] = pa.table({"client_id": ["B"], "y": [1]})
    assert held["A"].equals(piece("A", 2)) and held["B"].column_names == ["client_id", "y"]
