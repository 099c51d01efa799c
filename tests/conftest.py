"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.scenarios import SHARED_DATA, hourly_frame, write_electrodunas


@pytest.fixture(autouse=True)
def fits_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engine constants that tests patch (fewer trees) do not reach spawned worker processes:
    model fits stay in threads, also in the ``meterwatch`` commands tests run (which would use
    processes); tests/unit/test_walk_processes.py checks that processes give the same models."""
    monkeypatch.setenv("METERWATCH_FIT_PROCESSES_FROM", "0")


@pytest.fixture
def small_fleet(tmp_path: Path) -> Path:
    """Three ElectroDunas files and a sector workbook, one month each."""
    folder = tmp_path / "fleet"
    for n in (1, 2, 3):
        write_electrodunas(folder, n, hourly_frame(24 * 30, seed=n, level=5.0 * n))
    pd.DataFrame(
        {
            "Cliente: ": ["Cliente 1 ", "Cliente 2", " Cliente 3"],
            "Sector Económico: ": ["Agua ", "Agua", " Cacao"],
        }
    ).to_excel(folder / "sector_economico_clientes.xlsx", index=False)
    return folder


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data/electrodunas is not present")
    return SHARED_DATA
