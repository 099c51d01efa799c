"""The consumption view's charts as Bokeh figures whose data are replaced in place.

Changing customer or filter changes the data, not the chart: each chart here is built once
per session and language, and an update only sets its ``ColumnDataSource`` columns (a few
milliseconds) where HoloViews rebuilt or re-derived every layer (about 0.1 s per chart,
most of a customer change). Palette, axis formats and hovers are those of
:mod:`meterwatch.dashboard.charts`, so both kinds of chart look and read alike.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from html import escape
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import panel as pn
from bokeh.core.properties import field
from bokeh.models import (
    AllLabels,
    BasicTicker,
    ColumnDataSource,
    DatetimeAxis,
    DatetimeTicker,
    FactorRange,
    Grid,
    HBar,
    HoverTool,
    Line,
    LinearColorMapper,
    Range1d,
    Rect,
    Scatter,
    VArea,
    VBar,
)
from bokeh.models.annotations import ColorBar, Legend, LegendItem
from bokeh.models.widgets import Div
from bokeh.palettes import Blues256
from bokeh.plotting import figure

from meterwatch.dashboard import charts
from meterwatch.dashboard.texts import tr

DAY_MS = 86_400_000


def styled_figure(
    lang: str,
    *,
    height: int,
    ylabel: str = "",
    xlabel: str = "",
    dates: bool = True,
    numbers: bool = True,
    **kwargs: Any,
) -> Any:
    """A figure in the dashboard's style: full width, no toolbar, no title, axes in the
    language, no vertical grid lines.

    A date axis is built here rather than by the figure, with the date ticker and formatter
    of the session's document (:func:`shared`): Bokeh's own would be 13 tickers and 3
    formatters more for every date chart of every session, each built and sent to the
    browser, for the same ticks. Every axis labels all its ticks with the document's one
    ``AllLabels`` policy.
    """
    fig = figure(
        height=height,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
        title=None,
        x_axis_type=None if dates else "auto",
        **kwargs,
    )
    labels = shared("all_labels", "", AllLabels)
    if dates:
        fig.add_layout(
            DatetimeAxis(
                ticker=shared("date_ticker", "", DatetimeTicker),
                formatter=shared("date_formatter", lang, lambda: charts.dates(lang)),
                major_label_policy=labels,
            ),
            "below",
        )
    for axis in (*fig.xaxis, *fig.yaxis):
        axis.major_label_policy = labels
    fig.xaxis.axis_label = xlabel or None
    fig.yaxis.axis_label = ylabel or None
    if numbers:
        fig.yaxis.formatter = charts.numbers(lang)
    drop_grid(fig, 0)
    return fig


# Models a session's charts can share, per document (a model belongs to one document only)
_SHARED: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


def shared(name: str, lang: str, make: Callable[[], Any]) -> Any:
    """The current session document's one ``name`` model (per language), made on first use;
    a new one each time outside a session (no document: tests, exports)."""
    doc = pn.state.curdoc
    if doc is None:
        return make()
    parts = _SHARED.setdefault(doc, {})
    found = parts.get((name, lang))
    if found is None:
        found = parts[(name, lang)] = make()
    return found


def drop_grid(fig: Any, dimension: int) -> None:
    """Remove a figure's grid lines along one dimension (0: the vertical ones): the model
    itself, not only its colour (every model is built and sent again for each session)."""
    fig.center = [r for r in fig.center if not (isinstance(r, Grid) and r.dimension == dimension)]


def draw(fig: Any, source: ColumnDataSource, glyph: Any) -> Any:
    """Add ``glyph`` drawn from ``source``: its renderer alone. The figure's glyph methods
    also build a non-selection and a muted copy of each glyph, models a chart without
    selection or legend muting never uses."""
    return fig.add_glyph(source, glyph)


def add_hover(
    fig: Any, lang: str, renderers: list[Any], *fields: tuple[str, str, str], vline: bool = False
) -> HoverTool:
    """One hover naming its values for people (:func:`charts.hover`)."""
    opts = charts.hover(lang, *fields)
    tool = HoverTool(
        renderers=renderers,
        tooltips=opts["hover_tooltips"],
        formatters=opts["hover_formatters"],
        mode="vline" if vline else "mouse",
    )
    fig.add_tools(tool)
    return tool


def legend_above(fig: Any, items: list[tuple[str, list[Any]]]) -> None:
    """A legend above the plot, never over the data."""
    legend = Legend(
        items=[LegendItem(label=label, renderers=r) for label, r in items],
        orientation="horizontal",
        location="top_left",
        border_line_alpha=0,
    )
    fig.add_layout(legend, "above")


def _columns(frame: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    return {n: frame[n].to_numpy() for n in names}


class LiveChart:
    """A chart built once; :meth:`update` replaces its data."""

    figure: Any

    def __init__(self, lang: str, data: Any = None) -> None:
        self.lang = lang

    def fits(self, data: Any) -> bool:
        """Whether ``data`` can be drawn by :meth:`update` (else the figure is built anew)."""
        return True

    def update(self, data: Any) -> None:
        raise NotImplementedError


class EnergyOverTime(LiveChart):
    """Energy of the selection over time (an area with its outline)."""

    def __init__(self, lang: str, data: Any = None) -> None:
        super().__init__(lang)
        self.source = ColumnDataSource({"period": [], "active_kwh": []})
        fig = styled_figure(lang, height=280, ylabel="kWh")
        draw(fig, self.source, VArea(x="period", y1=0, y2="active_kwh", fill_color=charts.REPORTED,
                                     fill_alpha=0.6))  # fmt: skip
        line = draw(fig, self.source, Line(x="period", y="active_kwh", line_color=charts.REPORTED))
        self.hover = add_hover(fig, lang, [line], ("axis.time", "period", "day"),
                               ("axis.kwh", "active_kwh", "number"), vline=True)  # fmt: skip
        self.figure = fig

    def update(self, data: pd.DataFrame) -> None:
        self.hover.tooltips = charts.hover(
            self.lang, ("axis.time", "period", charts._when(data["period"])),
            ("axis.kwh", "active_kwh", "number"),
        )["hover_tooltips"]  # fmt: skip
        self.source.data = _columns(data, ["period", "active_kwh"])


class Voltages(LiveChart):
    """Both phase voltages of a customer over time."""

    def __init__(self, lang: str, data: Any = None) -> None:
        super().__init__(lang)
        self.source = ColumnDataSource({"period": [], "voltage_fa": [], "voltage_fc": []})
        fig = styled_figure(lang, height=280, ylabel="V")
        fa = draw(fig, self.source, Line(x="period", y="voltage_fa", line_color=charts.PHASE_A))
        fc = draw(fig, self.source, Line(x="period", y="voltage_fc", line_color=charts.PHASE_C))
        legend_above(
            fig, [(tr("alert.voltage_fa", lang), [fa]), (tr("alert.voltage_fc", lang), [fc])]
        )
        self.hover = add_hover(fig, lang, [fa], *self._fields("day"), vline=True)
        self.figure = fig

    def _fields(self, when: str) -> tuple[tuple[str, str, str], ...]:
        return (("axis.time", "period", when), ("alert.voltage_fa", "voltage_fa", "number"),
                ("alert.voltage_fc", "voltage_fc", "number"))  # fmt: skip

    def update(self, data: pd.DataFrame) -> None:
        fields = self._fields(charts._when(data["period"]))
        self.hover.tooltips = charts.hover(self.lang, *fields)["hover_tooltips"]
        self.source.data = _columns(data, ["period", "voltage_fa", "voltage_fc"])


class Forecast(LiveChart):
    """Reported energy against the forecast and its band, anomalous points in red."""

    COLUMNS: ClassVar[list[str]] = ["ts", "active_kwh", "expected_kwh", "lower_kwh", "upper_kwh"]

    def __init__(self, lang: str, data: Any = None) -> None:
        super().__init__(lang)
        self.source = ColumnDataSource({c: [] for c in self.COLUMNS})
        self.flagged = ColumnDataSource({"ts": [], "active_kwh": []})
        fig = styled_figure(lang, height=300, ylabel="kWh")
        band = draw(fig, self.source, VArea(x="ts", y1="lower_kwh", y2="upper_kwh",
                                            fill_color=charts.BAND, fill_alpha=0.7))  # fmt: skip
        expected = draw(fig, self.source, Line(x="ts", y="expected_kwh", line_color=charts.EXPECTED,
                                               line_dash="dashed"))  # fmt: skip
        reported = draw(fig, self.source, Line(x="ts", y="active_kwh", line_color=charts.REPORTED,
                                               line_width=1.5))  # fmt: skip
        points = draw(fig, self.flagged, Scatter(x="ts", y="active_kwh", fill_color=charts.ANOMALY,
                                                 line_color=charts.ANOMALY, size=6))  # fmt: skip
        legend_above(fig, [(tr("series.band", lang), [band]),
                           (tr("series.expected", lang), [expected]),
                           (tr("series.reported", lang), [reported]),
                           (tr("series.anomaly", lang), [points])])  # fmt: skip
        self.hover = add_hover(fig, lang, [reported], *self._fields("hour"), vline=True)
        self.figure = fig

    def _fields(self, when: str) -> tuple[tuple[str, str, str], ...]:
        return (("axis.time", "ts", when), ("series.reported", "active_kwh", "number"),
                ("series.expected", "expected_kwh", "number"),
                ("series.band_low", "lower_kwh", "number"),
                ("series.band_high", "upper_kwh", "number"))  # fmt: skip

    def update(self, data: pd.DataFrame) -> None:
        self.hover.tooltips = charts.hover(self.lang, *self._fields(charts._when(data["ts"])))[
            "hover_tooltips"
        ]
        flag = "anomalous_day" if "anomalous_day" in data else "is_anomaly"
        flagged = data[pd.to_numeric(data[flag]) > 0]
        self.source.data = _columns(data, self.COLUMNS)
        self.flagged.data = _columns(flagged, ["ts", "active_kwh"])


class Heatmap(LiveChart):
    """Energy by day (x) and hour of day (y, midnight on top)."""

    def __init__(self, lang: str, data: Any = None) -> None:
        super().__init__(lang)
        self.source = ColumnDataSource({"day": [], "mid": [], "hour": [], "kWh": []})
        self.colors = LinearColorMapper(palette=list(reversed(Blues256)), low=0, high=1)
        fig = styled_figure(lang, height=300, ylabel=tr("axis.hour", lang), numbers=False,
                            y_range=Range1d(start=23.5, end=-0.5))  # fmt: skip
        cells = draw(fig, self.source, Rect(x="mid", y="hour", width=DAY_MS, height=1,
                                            fill_color=field("kWh", self.colors),
                                            line_width=0))  # fmt: skip
        fig.yaxis.ticker = list(range(0, 24, 3))
        drop_grid(fig, 1)
        fig.add_layout(
            ColorBar(color_mapper=self.colors, ticker=BasicTicker(),
                     formatter=charts.numbers(lang), width=10),
            "right",
        )  # fmt: skip
        add_hover(fig, lang, [cells], ("axis.day", "day", "day"), ("axis.hour", "hour", "text"),
                  ("axis.kwh", "kWh", "number"))  # fmt: skip
        self.figure = fig

    def update(self, data: pd.DataFrame) -> None:
        day = pd.to_datetime(data["day"])
        kwh = pd.to_numeric(data["active_kwh"]).to_numpy(dtype=float)
        finite = kwh[np.isfinite(kwh)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.colors.update(low=low, high=high if high > low else low + 1)
        self.source.data = {
            "day": day.to_numpy(),
            "mid": (day + pd.Timedelta(hours=12)).to_numpy(),
            "hour": pd.to_numeric(data["hour"]).to_numpy(),
            "kWh": kwh,
        }


class HourProfile(LiveChart):
    """Energy per day by hour of day, the peak window in red; data = (frame, peak)."""

    HOURS: ClassVar[list[str]] = [f"{h:02d}" for h in range(24)]

    def __init__(self, lang: str, data: Any = None) -> None:
        super().__init__(lang)
        self.source = ColumnDataSource({"hour": [], "kwh_per_day": [], "color": []})
        fig = styled_figure(lang, height=300, dates=False, x_range=FactorRange(factors=self.HOURS),
                            xlabel=tr("axis.hour", lang), ylabel=tr("axis.kwh_day", lang))  # fmt: skip
        bars = draw(fig, self.source, VBar(x="hour", top="kwh_per_day", width=0.8,
                                           fill_color=field("color"),
                                           line_color=field("color")))  # fmt: skip
        add_hover(fig, lang, [bars], ("axis.hour", "hour", "text"),
                  ("axis.kwh_day", "kwh_per_day", "number"))  # fmt: skip
        self.figure = fig

    def update(self, data: tuple[pd.DataFrame, tuple[int, int] | None]) -> None:
        frame, peak = data
        hours = [int(h) for h in frame["hour"]]
        in_peak = [peak is not None and ((h - peak[0]) % 24) < (peak[1] - peak[0]) for h in hours]
        self.source.data = {
            "hour": [f"{h:02d}" for h in hours],
            "kwh_per_day": pd.to_numeric(frame["kwh_per_day"]).to_numpy(dtype=float),
            "color": [charts.ANOMALY if p else charts.REPORTED for p in in_peak],
        }


class EnergyByCustomer(LiveChart):
    """Horizontal bars, the largest customer on top; data = (frame, highlighted customer)."""

    TOP = 25

    def __init__(self, lang: str, data: tuple[pd.DataFrame, str | None]) -> None:
        super().__init__(lang, data)
        rows = len(self._shown(*data))
        self.source = ColumnDataSource(
            {"client_id": [], "active_kwh": [], "sector": [], "color": []}
        )
        self.rows = rows
        fig = styled_figure(lang, height=max(220, 22 * rows + 60), dates=False, numbers=False,
                            y_range=FactorRange())  # fmt: skip
        fig.xaxis.formatter = charts.numbers(lang)
        fig.xaxis.axis_label = "kWh"
        bars = draw(fig, self.source, HBar(y="client_id", right="active_kwh", height=0.8,
                                           fill_color=field("color"),
                                           line_color=field("color")))  # fmt: skip
        add_hover(fig, lang, [bars], ("axis.customer", "client_id", "text"),
                  ("col.sector", "sector", "text"), ("axis.kwh", "active_kwh", "number"))  # fmt: skip
        self.figure = fig

    def _shown(self, frame: pd.DataFrame, highlight: str | None) -> pd.DataFrame:
        shown = frame.head(self.TOP)
        if highlight is not None and highlight not in set(shown["client_id"]):
            shown = pd.concat([shown.head(self.TOP - 1), frame[frame["client_id"] == highlight]])
        return shown.iloc[::-1]

    def fits(self, data: tuple[pd.DataFrame, str | None]) -> bool:
        return len(self._shown(*data)) == self.rows  # else a new height: a new figure

    def update(self, data: tuple[pd.DataFrame, str | None]) -> None:
        frame, highlight = data
        shown = self._shown(frame, highlight)
        clients = [str(c) for c in shown["client_id"]]
        self.figure.y_range.factors = clients
        self.source.data = {
            "client_id": clients,
            "active_kwh": shown["active_kwh"].astype(float).to_numpy(),
            "sector": [str(v) for v in shown["sector"]],
            "color": [charts.ANOMALY if c == highlight else charts.REPORTED for c in clients],
        }


class LiveFigure:
    """A pane showing one :class:`LiveChart` (kept while the kind and language stay) or a
    message when there is nothing to draw."""

    def __init__(self) -> None:
        self.pane = pn.pane.Bokeh(sizing_mode="stretch_width")
        self.chart: LiveChart | None = None

    def show(self, kind: type[LiveChart], lang: str, data: Any) -> None:
        chart = self.chart
        if type(chart) is not kind or chart.lang != lang or not chart.fits(data):
            chart = kind(lang, data)
            chart.update(data)
            self.chart = chart
            self.pane.object = chart.figure
            return
        chart.update(data)

    def message(self, text: str) -> None:
        self.chart = None
        self.pane.object = Div(
            text=f'<div style="color:#64748b;padding:40px 0;text-align:center">{escape(text)}</div>',
            sizing_mode="stretch_width",
        )
