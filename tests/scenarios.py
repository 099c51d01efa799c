"""Small meter files written by scenario, for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "electrodunas"


def hourly_frame(
    hours: int, start: str = "2022-01-01", seed: int = 0, level: float = 10.0
) -> pd.DataFrame:
    """A plausible hourly series: daily shape plus noise."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=hours, freq="h")
    shape = 1 + 0.5 * np.sin((ts.hour.to_numpy() - 6) / 24 * 2 * np.pi)
    active = level * shape * rng.lognormal(0, 0.1, hours)
    return pd.DataFrame(
        {
            "ts": ts,
            "active": active,
            "reactive": active * 0.4,
            "va": 460 + rng.normal(0, 5, hours),
            "vc": 460 + rng.normal(0, 5, hours),
        }
    )


def write_electrodunas(folder: Path, number: int, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as ``DATOSCLIENTE<number>.csv`` in the ElectroDunas layout."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"DATOSCLIENTE{number}.csv"
    out = pd.DataFrame(
        {
            "Fecha": frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Active_energy": frame["active"],
            "Reactive_energy": frame["reactive"],
            "Voltaje_FA": frame["va"],
            "Voltaje_FC": frame["vc"],
        }
    )
    out.to_csv(path, index=False)
    return path


def write_long(
    path: Path, frames: dict[str, pd.DataFrame], client_header: str = "client_id"
) -> Path:
    """Write several customers in the generic long layout."""
    rows = [
        pd.DataFrame(
            {
                client_header: client,
                "timestamp": f["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
                "active_kwh": f["active"],
                "reactive_kvarh": f["reactive"],
                "voltage_fa": f["va"],
                "voltage_fc": f["vc"],
            }
        )
        for client, f in frames.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(rows).to_csv(path, index=False)
    return path
