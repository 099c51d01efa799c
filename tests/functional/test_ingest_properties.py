"""Property: whatever rows are corrupted, counts reconcile and exactly those rows are quarantined."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake

CORRUPTIONS = {
    "number": lambda ts: f"{ts},x1,0.2,460,460",
    "fields": lambda ts: f"{ts},1.0",
    "timestamp": lambda ts: "2022-13-45 99:00:00,1.0,0.2,460,460",
    "empty": lambda ts: "",
    "minute": lambda ts: ts.replace(":00:00", ":17:00") + ",1.0,0.2,460,460",
    "active": lambda ts: f"{ts},,0.2,460,460",
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_rows=st.integers(min_value=1, max_value=60),
    corrupt=st.dictionaries(st.integers(0, 59), st.sampled_from(sorted(CORRUPTIONS)), max_size=15),
    crlf=st.booleans(),
)
def test_reconciliation(n_rows: int, corrupt: dict[int, str], crlf: bool) -> None:
    corrupt = {i: kind for i, kind in corrupt.items() if i < n_rows}
    lines = ["Fecha,Active_energy,Reactive_energy,Voltaje_FA,Voltaje_FC"]
    for i in range(n_rows):
        ts = f"2022-01-{1 + i // 24:02d} {i % 24:02d}:00:00"
        lines.append(CORRUPTIONS[corrupt[i]](ts) if i in corrupt else f"{ts},{i + 0.5},0.2,460,460")
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "DATOSCLIENTE3.csv"
        path.write_text(text, newline="")
        lake = open_lake(tmp + "/lake")
        report = ingest_paths(lake, [path])
        if len(corrupt) == n_rows and all(k == "empty" for k in corrupt.values()) and n_rows == 1:
            return  # a file with only an empty line after the header is an empty file
        assert report.rows_read == n_rows
        assert report.rows_read == report.rows_accepted + report.rows_rejected
        quarantined = set(lake.read("quarantine")["line"])
        assert quarantined == {i + 2 for i in corrupt}
        got = lake.read("readings")["active_kwh"].tolist()
        assert got == [i + 0.5 for i in range(n_rows) if i not in corrupt]
