"""The dashboard's charts: frames from the store in, HoloViews objects out (the alert
page's); palette, axis formats and hovers shared with the consumption view's live Bokeh
charts (:mod:`meterwatch.dashboard.live`).

One palette for every chart, so the same thing has the same colour everywhere.
"""

from __future__ import annotations

import json
from typing import Any

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers DataFrame.hvplot)
import pandas as pd
from bokeh.models import CustomJSHover, CustomJSTickFormatter, DatetimeTickFormatter
from bokeh.models.formatters import CONTEXTUAL_DATETIME_FORMATTER

from meterwatch.dashboard.texts import tr
from meterwatch.i18n import DATE_FORMATS, NUMBER_SEPARATORS

REPORTED = "#1d4ed8"  # blue: energy the meter reported
EXPECTED = "#475569"  # slate: what the model expected
BAND = "#cbd5e1"  # light slate: the band
ANOMALY = "#dc2626"  # red: anomalous hours, alarms
PHASE_A = "#7c3aed"  # violet
PHASE_C = "#0d9488"  # teal
PEERS = "#94a3b8"
HEATMAP = "Blues"

# Bokeh writes axis dates with English month names ("Dec 01") and numbers with a thousands
# comma ("1,100", which reads as 1.1 in Spanish): the axes follow the language like the cards.
_DAY_MONTH = {"%b %d, %Y": "%d/%m/%Y", "%b %d": "%d/%m", "%b %Y": "%m/%Y"}
_SCALES = ("microseconds", "milliseconds", "seconds", "minsec", "minutes", "hourmin", "hours",
           "days", "months", "years")  # fmt: skip


def dates(lang: str) -> DatetimeTickFormatter:
    """Bokeh's contextual date axis; in Spanish with numeric day/month (``22/11``, year below)."""
    formatter = CONTEXTUAL_DATETIME_FORMATTER()
    level: DatetimeTickFormatter | str | None = formatter
    while isinstance(level, DatetimeTickFormatter) and lang == "es":
        for scale in _SCALES:
            value = getattr(level, scale)
            setattr(level, scale, _DAY_MONTH.get(value, value))
        level = level.context
    return formatter


def _number_js(lang: str, variable: str, digits: str = "2") -> str:
    thousands, decimal = NUMBER_SEPARATORS.get(lang, NUMBER_SEPARATORS["en"])
    return (
        f"const text = Number({variable}).toLocaleString('en-US', "
        f"{{maximumFractionDigits: {digits}}});"
        f"return text.replace(/,/g, '_').replace('.', {json.dumps(decimal)})"
        f".replace(/_/g, {json.dumps(thousands)});"
    )


# An axis's ticks get as many decimals as their spacing needs (0.005 apart: three), at least
# none and at most six: with two always, ticks 0.005 apart read 0,01 0,01 0,02 0,02.
_TICK_DIGITS = (
    "const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 0;"
    "const digits = step > 0 ? Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)))"
    " : 2;"
)


def numbers(lang: str) -> CustomJSTickFormatter:
    """Axis numbers grouped as the cards and tables write them (Spanish ``1 100``, ``0,5``),
    with the decimals the ticks' spacing needs."""
    return CustomJSTickFormatter(code=_TICK_DIGITS + _number_js(lang, "tick", "digits"))


def hover(lang: str, *fields: tuple[str, str, str]) -> dict[str, Any]:
    """Options for a hover that names its values for people: ``(text key or label, column,
    kind)`` with kind ``day``, ``hour`` (a date and time), ``number`` or ``text``. Bokeh's own
    hover showed ``index``, ``data (x, y): (1.671e+12, 690.9)`` and screen coordinates."""
    tips: list[tuple[str, str]] = []
    formatters: dict[str, Any] = {}
    day, hour = DATE_FORMATS.get(lang, DATE_FORMATS["en"])
    for key, column, kind in fields:
        ref = f"@{{{column}}}"
        label = tr(key, lang)
        if kind in ("day", "hour"):
            tips.append((label, ref + "{" + (day if kind == "day" else hour) + "}"))
            formatters[ref] = "datetime"
        elif kind == "number":
            tips.append((label, ref + "{custom}"))
            formatters[ref] = CustomJSHover(code=_number_js(lang, "value"))
        else:
            tips.append((label, ref))
    return {
        "tools": ["hover"],
        "default_tools": [],
        "hover_tooltips": tips,
        "hover_formatters": formatters,
    }


def _when(times: pd.Series) -> str:
    """``hour`` when the series has hours of the day, else ``day`` (a daily or coarser grain)."""
    return "hour" if (pd.to_datetime(times).dt.hour != 0).any() else "day"


def _empty(text: str) -> hv.Text:
    return hv.Text(0.5, 0.5, text).opts(
        xaxis=None, yaxis=None, toolbar=None, show_frame=False, text_color="#64748b"
    )


def styled(chart: Any, lang: str, *, height: int, ylabel: str, legend_cols: int) -> Any:
    """The one style of the dashboard's time charts: full width, no toolbar, legend on top,
    dates and numbers in the operator's language (the consumption view's Bokeh charts take
    the same from :func:`meterwatch.dashboard.live.styled_figure`)."""
    return chart.opts(
        responsive=True,
        height=height,
        xlabel="",
        ylabel=ylabel,
        legend_position="top",
        legend_cols=legend_cols,
        toolbar=None,
        xformatter=dates(lang),
        yformatter=numbers(lang),
    )


def voltages(frame: pd.DataFrame, lang: str) -> hv.Element:
    if frame.empty:
        return _empty(tr("chart.no_data", lang))
    # One tooltip with both phases, from the first line (hovering the time, not a line).
    tips = hover(lang, ("axis.time", "period", _when(frame["period"])),
                 ("alert.voltage_fa", "voltage_fa", "number"),
                 ("alert.voltage_fc", "voltage_fc", "number"))  # fmt: skip
    lines = [
        frame.hvplot.line(
            x="period",
            y=column,
            color=color,
            label=tr(key, lang),
            hover_cols=["voltage_fa", "voltage_fc"],
            hover=column == "voltage_fa",
            responsive=True,
        ).opts(**(tips if column == "voltage_fa" else {"default_tools": []}))
        for column, key, color in (
            ("voltage_fa", "alert.voltage_fa", PHASE_A),
            ("voltage_fc", "alert.voltage_fc", PHASE_C),
        )
    ]
    return styled(lines[0] * lines[1], lang, height=280, ylabel="V", legend_cols=2)


def forecast(frame: pd.DataFrame, lang: str, height: int = 300) -> hv.Element:
    """Reported energy against the forecast and its band, anomalous points in red."""
    if frame.empty:
        return _empty(tr("chart.no_scores", lang))
    band = frame.hvplot.area(
        x="ts",
        responsive=True,
        y="lower_kwh",
        y2="upper_kwh",
        color=BAND,
        alpha=0.7,
        line_width=0,
        label=tr("series.band", lang),
        hover=False,
    )
    expected = frame.hvplot.line(
        x="ts",
        responsive=True,
        y="expected_kwh",
        color=EXPECTED,
        line_dash="dashed",
        label=tr("series.expected", lang),
        hover=False,
    )
    reported = frame.hvplot.line(
        x="ts",
        responsive=True,
        y="active_kwh",
        color=REPORTED,
        line_width=1.5,
        label=tr("series.reported", lang),
        hover_cols=["expected_kwh", "lower_kwh", "upper_kwh"],
    ).opts(
        hover_mode="vline",
        **hover(lang, ("axis.time", "ts", _when(frame["ts"])),
                ("series.reported", "active_kwh", "number"),
                ("series.expected", "expected_kwh", "number"),
                ("series.band_low", "lower_kwh", "number"),
                ("series.band_high", "upper_kwh", "number")),
    )  # fmt: skip
    flag = "anomalous_day" if "anomalous_day" in frame else "is_anomaly"
    flagged = frame[frame[flag] > 0]
    points = flagged.hvplot.scatter(
        x="ts",
        responsive=True,
        y="active_kwh",
        color=ANOMALY,
        size=30,
        label=tr("series.anomaly", lang),
        hover=False,
    )
    return styled(band * expected * reported * points, lang, height=height, ylabel="kWh",
                  legend_cols=4)  # fmt: skip


def peers(frame: pd.DataFrame, lang: str, window_start: pd.Timestamp) -> hv.Element:
    if frame.empty or frame["customer"].isna().all():
        return _empty(tr("chart.no_data", lang))
    parts: list[hv.Element] = []
    if frame["peers"].max() > 0:
        parts.append(
            frame.hvplot.area(
                x="day",
                responsive=True,
                y="peer_low",
                y2="peer_high",
                color=PEERS,
                alpha=0.35,
                line_width=0,
                label=tr("series.peers_band", lang),
                hover=False,
            )
        )
        parts.append(
            frame.hvplot.line(
                x="day",
                responsive=True,
                y="peer_median",
                color=EXPECTED,
                line_dash="dashed",
                label=tr("series.peers", lang),
                hover=False,
            )
        )
    parts.append(
        frame.hvplot.line(
            x="day",
            responsive=True,
            y="customer",
            color=REPORTED,
            line_width=2,
            label=tr("series.customer", lang),
            hover_cols=["peer_median"],
        ).opts(
            hover_mode="vline",
            **hover(lang, ("axis.day", "day", "day"), ("series.customer", "customer", "number"),
                    ("series.peers", "peer_median", "number")),
        )
    )  # fmt: skip
    marker = hv.VLine(window_start).opts(color=ANOMALY, line_dash="dotted", line_width=2)
    overlay = parts[0]
    for part in parts[1:]:
        overlay = overlay * part
    return styled(overlay * marker, lang, height=260, ylabel=tr("axis.index", lang), legend_cols=4)


def confirmed_share(frame: pd.DataFrame, lang: str) -> hv.Element:
    if frame.empty:
        return _empty(tr("chart.no_data", lang))
    data = frame.assign(
        pct=100 * frame["share"].fillna(0.0),
        month=pd.to_datetime(frame["month"]).dt.strftime("%Y-%m"),
    )
    return data.hvplot.bar(
        x="month",
        y="pct",
        hover_cols=["inspected", "confirmed"],
        color=REPORTED,
        responsive=True,
        height=200,
        xlabel="",
        ylabel="%",
        ylim=(0, 100),
    ).opts(
        toolbar=None,
        **hover(lang, ("axis.month", "month", "text"), ("hover.confirmed_pct", "pct", "number"),
                ("hover.inspected", "inspected", "number"),
                ("hover.confirmed", "confirmed", "number")),
    )  # fmt: skip
