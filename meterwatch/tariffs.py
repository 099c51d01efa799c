"""What a lost kWh is worth: the price in soles (PEN) of each customer's energy.

One default price (:attr:`~meterwatch.settings.Settings.tariff_pen_per_kwh`), overridden per
sector or per customer by a small CSV (:attr:`~meterwatch.settings.Settings.tariffs`)::

    sector,client_id,pen_per_kwh
    Minería,,0.48
    ,Cliente 7,0.71

A customer's own price wins over its sector's, which wins over the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from meterwatch.settings import Settings

DEFAULT_PEN_PER_KWH: float = Settings().tariff_pen_per_kwh


@dataclass(frozen=True)
class Tariffs:
    """Prices in PEN per kWh: a default, per sector and per customer."""

    default: float = DEFAULT_PEN_PER_KWH
    by_sector: dict[str, float] = field(default_factory=dict)
    by_client: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Tariffs:
        """The default price of ``settings``, with the overrides of its ``tariffs`` CSV."""
        if not settings.tariffs:
            return cls(default=settings.tariff_pen_per_kwh)
        return cls.read_csv(settings.tariffs, default=settings.tariff_pen_per_kwh)

    @classmethod
    def read_csv(cls, path: str | Path, default: float = DEFAULT_PEN_PER_KWH) -> Tariffs:
        """Read the overrides (``sector`` and/or ``client_id``, ``pen_per_kwh``) of a CSV."""
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "pen_per_kwh" not in frame:
            raise ValueError(f"{path}: a tariff file needs a pen_per_kwh column")
        by_sector: dict[str, float] = {}
        by_client: dict[str, float] = {}
        for row in frame.to_dict("records"):
            price = float(str(row["pen_per_kwh"]).replace(",", "."))
            client, sector = (
                str(row.get("client_id", "")).strip(),
                str(row.get("sector", "")).strip(),
            )
            if client:
                by_client[client] = price
            elif sector:
                by_sector[sector] = price
        return cls(default=default, by_sector=by_sector, by_client=by_client)

    def price(self, client_id: Any, sector: Any = None) -> float:
        """PEN per kWh of ``client_id`` (in ``sector``)."""
        if str(client_id) in self.by_client:
            return self.by_client[str(client_id)]
        if isinstance(sector, str) and sector in self.by_sector:
            return self.by_sector[sector]
        return self.default

    def loss_pen(self, alerts: pd.DataFrame) -> pd.Series:
        """The estimated loss of each alert (``lost_kwh_estimate``) in PEN."""
        kwh = pd.to_numeric(alerts["lost_kwh_estimate"], errors="coerce")
        prices = [
            self.price(c, s) for c, s in zip(alerts["client_id"], alerts["sector"], strict=True)
        ]
        values = kwh.to_numpy(dtype=float) * pd.Series(prices, dtype=float).to_numpy()
        return pd.Series([v if math.isfinite(v) else math.nan for v in values], index=alerts.index)
