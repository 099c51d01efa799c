"""Peruvian national public holidays (the calendar the synthetic data and the forecaster share)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

PERU_FIXED_HOLIDAYS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "Año Nuevo"),
    (5, 1, "Día del Trabajo"),
    (6, 29, "San Pedro y San Pablo"),
    (7, 28, "Fiestas Patrias"),
    (7, 29, "Fiestas Patrias"),
    (8, 30, "Santa Rosa de Lima"),
    (10, 8, "Combate de Angamos"),
    (11, 1, "Todos los Santos"),
    (12, 8, "Inmaculada Concepción"),
    (12, 25, "Navidad"),
)


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 19 * l) // 433
    month = (h + l - 7 * m + 90) // 25
    return dt.date(year, month, (h + l - 7 * m + 33 * month + 19) % 32)


def peru_holidays(first: dt.date, last: dt.date) -> list[tuple[dt.date, str]]:
    """The national holidays from ``first`` to ``last`` (inclusive), oldest first."""
    holidays = []
    for year in range(first.year, last.year + 1):
        easter = easter_sunday(year)
        holidays.append((easter - dt.timedelta(days=3), "Jueves Santo"))
        holidays.append((easter - dt.timedelta(days=2), "Viernes Santo"))
        holidays.extend((dt.date(year, m, d), name) for m, d, name in PERU_FIXED_HOLIDAYS)
    return sorted(h for h in holidays if first <= h[0] <= last)


def holiday_share(start: pd.DatetimeIndex, hours: int) -> np.ndarray:
    """Share of the ``hours`` hours from each ``start`` that fall on a holiday."""
    if len(start) == 0:
        return np.zeros(0)
    first = start.min().date()
    last = (start.max() + pd.Timedelta(hours=hours)).date()
    days = np.array([np.datetime64(d, "D") for d, _ in peru_holidays(first, last)], dtype="M8[D]")
    stamps = start.to_numpy()[:, None] + np.arange(hours).astype("timedelta64[h]")[None, :]
    return np.asarray(np.isin(stamps.astype("M8[D]"), days).mean(axis=1), dtype=float)
