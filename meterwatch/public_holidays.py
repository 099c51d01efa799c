"""Peruvian national public holidays (the calendar the synthetic data and the forecaster share)."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pandas as pd

COUNTRY = "PE"


def peru_holidays(first: dt.date, last: dt.date) -> list[tuple[dt.date, str]]:
    """The national holidays from ``first`` to ``last`` (inclusive), oldest first.

    The calendar is the ``holidays`` library's for Peru (laws as enacted each year: the
    Batalla de Junín, 6 August, and the Batalla de Ayacucho, 9 December, from 2022; the
    Batalla de Arica, 7 June, and the Día de la Fuerza Aérea, 23 July, from 2024), with
    Spanish names.
    """
    calendar = holidays.country_holidays(
        COUNTRY, years=range(first.year, last.year + 1), language="es"
    )
    return sorted((day, str(name)) for day, name in calendar.items() if first <= day <= last)


def holiday_share(start: pd.DatetimeIndex, hours: int) -> np.ndarray:
    """Share of the ``hours`` hours from each ``start`` that fall on a holiday."""
    if len(start) == 0:
        return np.zeros(0)
    first = start.min().date()
    last = (start.max() + pd.Timedelta(hours=hours)).date()
    days = np.array([np.datetime64(d, "D") for d, _ in peru_holidays(first, last)], dtype="M8[D]")
    stamps = start.to_numpy()[:, None] + np.arange(hours).astype("timedelta64[h]")[None, :]
    return np.asarray(np.isin(stamps.astype("M8[D]"), days).mean(axis=1), dtype=float)
