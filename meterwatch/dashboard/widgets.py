"""Small building blocks of the dashboard's views: HTML panes, KPI cards, live charts."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

import pandas as pd
import panel as pn
import param
from bokeh.models import CustomJS
from bokeh.models.widgets.tables import DateFormatter

from meterwatch.dashboard.texts import tr
from meterwatch.i18n import DATE_FORMATS, NUMBER_SEPARATORS, UNIT_SPACE

CSS = """
:host { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.mw-header { display:flex; align-items:baseline; gap:12px; flex-wrap:wrap; }
.mw-header h1 { font-size: 1.35rem; margin: 0; color: #0f172a; }
.mw-header span { color: #475569; font-size: 0.95rem; }
.mw-card { border:1px solid #e2e8f0; border-radius:8px; padding:10px 14px; background:#fff; height: 100%; box-sizing: border-box; }
.mw-card .t { color:#475569; font-size:0.85rem; }
.mw-card .v { color:#0f172a; font-size:1.55rem; font-weight:600; line-height:1.2; margin-top:2px; }
.mw-card .d { color:#64748b; font-size:0.8rem; margin-top:2px; }
.mw-card.bad .v { color:#b91c1c; }
.mw-alarm { background:#b91c1c; color:#fff; border-radius:8px; padding:14px 18px; font-size:1.25rem; font-weight:700; }
.mw-h2 { font-size:1.05rem; font-weight:600; color:#0f172a; margin:4px 0 0 0; }
.mw-hint { color:#64748b; font-size:0.85rem; }
.mw-evidence { color:#0f172a; font-size:0.95rem; }
"""


def parse_date(text: str) -> dt.date | None:
    """An ISO date from the URL, or None when empty or malformed."""
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def html(text: str, css_class: str = "") -> str:
    """``text``, escaped, in a div of ``css_class``."""
    return f'<div class="{css_class}">{escape(text)}</div>'


def pane(obj: str = "", **kwargs: Any) -> pn.pane.HTML:
    """An HTML pane that sees the dashboard's CSS (panes live in their own shadow DOM)."""
    return pn.pane.HTML(obj, stylesheets=[CSS], **kwargs)


def card(title: str, value: str, detail: str = "", bad: bool = False) -> str:
    """A KPI card (title, big value, detail line; red value when ``bad``), escaped."""
    cls = "mw-card bad" if bad else "mw-card"
    return (
        f'<div class="{cls}"><div class="t">{escape(title)}</div>'
        f'<div class="v">{escape(value)}</div><div class="d">{escape(detail)}</div></div>'
    )


_PAGINATION = ("first", "prev", "next", "last")


# Headers wrap onto two lines instead of widening their column past the screen.
TABLE_CSS = """
.tabulator .tabulator-header .tabulator-col .tabulator-col-content .tabulator-col-title {
  white-space: normal !important; text-overflow: clip !important;
}
"""


def data_table(frame: Any, language: str, **kwargs: Any) -> pn.widgets.Tabulator:
    """A read-only table whose own words (the pagination buttons) are in ``language``.

    ``layout="fit_columns"`` shares the screen's width among the columns (wide tables such as
    the data-quality one stay inside it; their headers wrap)."""
    words = {k: tr(f"table.{k}", language) for k in _PAGINATION}
    words |= {f"{k}_title": tr(f"table.{k}_title", language) for k in _PAGINATION}
    configuration = {"locale": language, "langs": {language: {"pagination": words}}}
    return pn.widgets.Tabulator(
        frame,
        show_index=False,
        disabled=True,
        configuration=configuration,
        stylesheets=[TABLE_CSS],
        **kwargs,
    )


class DatePicker(pn.widgets.DatePicker):
    """Panel's date picker showing the day as the language writes it (Bokeh's picker has the
    option, Panel does not pass it on): ``date_format`` is a flatpickr format."""

    date_format = param.String(default="Y-m-d")

    @classmethod
    def for_language(cls, language: str, **kwargs: Any) -> DatePicker:
        # DATE_FORMATS in flatpickr's letters (%d/%m/%Y -> d/m/Y)
        day = DATE_FORMATS.get(language, DATE_FORMATS["en"])[0].replace("%", "")
        return cls(date_format=day, **kwargs)


# flatpickr's Spanish words (its "es" locale), for the calendars of the Spanish screen.
FLATPICKR_ES = {
    "weekdays": {
        "shorthand": ["Dom", "Lun", "Mar", "Mié", "Jue", "Vie", "Sáb"],
        "longhand": ["Domingo", "Lunes", "Martes", "Miércoles", "Jueves", "Viernes", "Sábado"],
    },
    "months": {
        "shorthand": ["Ene", "Feb", "Mar", "Abr", "May", "Jun", "Jul", "Ago", "Sep", "Oct", "Nov", "Dic"],
        "longhand": ["Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto",
                     "Septiembre", "Octubre", "Noviembre", "Diciembre"],
    },
    "firstDayOfWeek": 1,
    "rangeSeparator": " a ",
    "time_24hr": True,
    "ordinal": "º",
}  # fmt: skip

# Bokeh's date picker offers no locale: once the page is ready, every picker that writes days
# the Spanish way (d/m/Y, DatePicker.for_language) gets flatpickr's Spanish words; pickers
# built later (a language switch rebuilds them) are found by the same periodic look.
SPANISH_CALENDARS_JS = """
const apply = () => {
  for (const view of Bokeh.index.all_views()) {
    const picker = view._picker
    if (picker == null || picker.__mw_locale) continue
    picker.__mw_locale = true
    if (view.model.date_format === "d/m/Y") {
      picker.set("locale", locale)
      picker.redraw()
    }
  }
}
apply()
setInterval(apply, 500)
"""


def spanish_calendars() -> CustomJS:
    """The page-ready callback that puts the Spanish screen's calendars in Spanish."""
    return CustomJS(args={"locale": FLATPICKR_ES}, code=SPANISH_CALENDARS_JS)


def date_format(language: str, hours: bool = False) -> DateFormatter:
    """A Tabulator formatter writing a datetime column as the language writes days or hours
    (:data:`meterwatch.i18n.DATE_FORMATS`); the column stays a datetime, so it sorts by time."""
    return DateFormatter(format=DATE_FORMATS.get(language, DATE_FORMATS["en"])[int(hours)])


def naive(values: Any) -> pd.Series:
    """Datetimes without a time zone (UTC kept as it is), as the tables' formatter reads them."""
    series = pd.to_datetime(pd.Series(values))
    return series.dt.tz_convert(None) if series.dt.tz is not None else series


#: The operators' clock: ElectroDunas works in Peru (UTC-5 all year).
OPERATOR_TIMEZONE = "America/Lima"


def lima_time(values: Any) -> pd.Series:
    """Instants (stored in UTC) as the operators' wall clock reads them, without a zone."""
    series = pd.to_datetime(pd.Series(values), utc=True)
    return series.dt.tz_convert(OPERATOR_TIMEZONE).dt.tz_localize(None)


def number_format(language: str, suffix: str = "", digits: int = 0) -> dict[str, Any]:
    """A Tabulator formatter writing a numeric column as :func:`texts.fmt_number` does (the
    column stays numeric, so its header sorts it as numbers, not as text)."""
    thousands, decimal = NUMBER_SEPARATORS.get(language, NUMBER_SEPARATORS["en"])
    return {
        "type": "money",
        "thousand": thousands,
        "decimal": decimal,
        "precision": digits,
        "symbol": UNIT_SPACE.get(language, "") + suffix if suffix else "",
        "symbolAfter": True,
    }
