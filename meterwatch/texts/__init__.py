"""Operator-facing text: one catalog (:mod:`meterwatch.texts.catalog`), one lookup.

Tables store a dotted code and its parameters; every reader (dashboard, export, console,
e-mail) renders them with :func:`t` in its language, Spanish by default, English available.
Numbers, days and hours are written the way each language reads them.
"""

from __future__ import annotations

import math
import numbers
import string
from datetime import date, datetime, time
from typing import Any

from meterwatch.texts.catalog import CATALOG

__all__ = [
    "CATALOG",
    "DATE_FORMATS",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "NUMBER_SEPARATORS",
    "UNIT_SPACE",
    "fmt_day",
    "fmt_number",
    "fmt_percent",
    "fmt_time",
    "kind_label",
    "language_of",
    "placeholders",
    "reason_list",
    "render",
    "t",
]

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"  # the operators'

# How each language groups thousands and marks decimals (Python writes "," and ".").
NUMBER_SEPARATORS: dict[str, tuple[str, str]] = {"es": ("\u202f", ","), "en": (",", ".")}
# What stands between a number and its unit sign (Spanish "25 %", English "25%").
UNIT_SPACE: dict[str, str] = {"es": "\u202f", "en": ""}
# How each language writes a day and an hour (Spanish 28/11/2022 19:00; English ISO).
DATE_FORMATS: dict[str, tuple[str, str]] = {
    "es": ("%d/%m/%Y", "%d/%m/%Y %H:%M"),
    "en": ("%Y-%m-%d", "%Y-%m-%d %H:%M"),
}


def language_of(language: Any) -> str:
    """``language`` when the catalog has it, else the operators' default (Spanish)."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def placeholders(template: str) -> set[str]:
    """The named fields of a catalog template (``{n_hours:,}`` -> ``n_hours``)."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return None if value != value else value  # NaT is a datetime that is not itself
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _fmt(value: Any, language: str, which: int) -> str:
    when = _as_datetime(value)
    if when is not None:
        return when.strftime(DATE_FORMATS.get(language, DATE_FORMATS["en"])[which])
    missing = value is None or isinstance(value, datetime)  # None or NaT
    return "" if missing else str(value)


def fmt_day(value: Any, language: str = "es") -> str:
    """A day as ``language`` writes it (``28/11/2022``, ``2022-11-28``); other text as it is,
    a missing one empty."""
    return _fmt(value, language, 0)


def fmt_time(value: Any, language: str = "es") -> str:
    """An hour as ``language`` writes it (``28/11/2022 19:00``); other text as it is."""
    return _fmt(value, language, 1)


class _NumberFormatter(string.Formatter):
    """``str.format`` that writes numbers the way the dashboard shows them: in Spanish
    thousands grouped by a narrow no-break space and a decimal comma (``2 442``, ``0,49``),
    so that an alert's sentence and the figures around it on the same screen agree."""

    def __init__(self, language: str) -> None:
        super().__init__()
        thousands, decimal = NUMBER_SEPARATORS.get(language, NUMBER_SEPARATORS["en"])
        self.separators = str.maketrans({",": thousands, ".": decimal})

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "," and isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(float(value))  # a count read back as a float (JSON, pandas) stays a count
        try:
            text = super().format_field(value, format_spec)
        except (TypeError, ValueError):  # a missing or text value where a number was expected
            return "–" if value is None else str(value)
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return text.translate(self.separators)
        return text


def render(template: str, language: str = "es", **params: Any) -> str:
    """Format ``template`` with ``params``, numbers in ``language``'s convention (Spanish
    ``12 345,6``, English ``12,345.6``)."""
    return _NumberFormatter(language).format(template, **params)


def reason_list(counts: dict[str, int], language: str = "es") -> str:
    """``reason: count`` for each message code of ``counts``, in ``language``."""
    return ", ".join(
        render("{text}: {n:,}", language, text=t(str(code), language), n=n)
        for code, n in counts.items()
    )


def t(code: str, language: str = "es", **params: Any) -> str:
    """Render the catalog entry ``code`` in ``language`` with ``params``.

    An unknown code renders as the code itself followed by its parameters, so a missing
    translation is visible instead of crashing a screen. A ``reason_counts`` parameter
    (message code -> count, as stored with a finding) is written as the ``reasons`` list in
    the same language; ``start`` and ``end`` (times, or ISO text) as the language writes hours
    (:data:`DATE_FORMATS`).
    """
    language = language_of(language)
    if isinstance(params.get("reason_counts"), dict):
        params = {**params, "reasons": reason_list(params["reason_counts"], language)}
    # start and end of a finding or an alert are kept in ISO form and read in the language
    params = {k: fmt_time(v, language) if k in ("start", "end") else v for k, v in params.items()}
    entry = CATALOG.get(code)
    if entry is None:
        detail = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{code} ({detail})" if detail else code
    template = entry[language]
    try:
        return render(template, language, **params)
    except (KeyError, ValueError, IndexError):
        return f"{template} {params}"


def kind_label(kind: Any, language: str = "es") -> str:
    """An alert kind's name for people (``Subregistro``); an unknown kind as it is stored."""
    entry = CATALOG.get(f"kind.{kind}")
    return str(kind) if entry is None else entry[language_of(language)]


def fmt_number(value: Any, language: str = "es", digits: int = 0) -> str:
    """A number for people: thousands grouped, Spanish ``12 345,6``, English ``12,345.6``."""
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    return render(f"{{number:,.{digits}f}}", language, number=number)


def fmt_percent(share: Any, language: str = "es", digits: int = 0) -> str:
    """A share (0.25) as a percentage (``25 %``)."""
    if share is None:
        return "–"
    try:
        number = float(share)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    return f"{fmt_number(100 * number, language, digits)}{UNIT_SPACE.get(language, '')}%"
