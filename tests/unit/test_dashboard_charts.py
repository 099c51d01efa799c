"""Every chart's hover names its values for people, in the operator's language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

hv = pytest.importorskip("holoviews")


def _hovers(element: object) -> list[object]:
    from bokeh.models import HoverTool

    hv.extension("bokeh")
    figure = hv.render(element)
    return [tool for tool in figure.tools if isinstance(tool, HoverTool)]


def _frames() -> dict[str, pd.DataFrame]:
    days = pd.date_range("2023-01-01", periods=10, freq="D")
    hours = pd.date_range("2023-01-01", periods=48, freq="h")
    values = np.linspace(900.0, 1200.0, 10)
    return {
        "bars": pd.DataFrame({"client_id": ["Cliente 1", "Cliente 2"], "active_kwh": [1500.0, 900.0],
                              "sector": ["Agua", "Cacao"]}),
        "energy": pd.DataFrame({"period": days, "active_kwh": values}),
        "voltages": pd.DataFrame({"period": days, "voltage_fa": values, "voltage_fc": values + 5}),
        "forecast": pd.DataFrame({"ts": hours, "active_kwh": 10.0, "expected_kwh": 11.0,
                                  "lower_kwh": 8.0, "upper_kwh": 14.0, "is_anomaly": 0}),
        "heatmap": pd.DataFrame({"day": np.repeat(days[:2], 24), "hour": list(range(24)) * 2,
                                 "active_kwh": 1.0}),
        "profile": pd.DataFrame({"hour": range(24), "kwh_per_day": np.arange(24.0)}),
        "peers": pd.DataFrame({"day": days, "customer": 100.0, "peer_median": 98.0,
                               "peer_low": 90.0, "peer_high": 110.0, "peers": 3}),
        "share": pd.DataFrame({"month": ["2023-01-01"], "share": [0.5], "inspected": [4],
                               "confirmed": [2]}),
    }  # fmt: skip


@pytest.mark.parametrize("lang", ["es", "en"])
def test_hovers_show_labelled_values_not_bokeh_defaults(lang: str) -> None:
    from meterwatch.dashboard import charts, live

    f = _frames()
    elements = {
        "voltages": charts.voltages(f["voltages"], lang),
        "forecast": charts.forecast(f["forecast"], lang),
        "peers": charts.peers(f["peers"], lang, pd.Timestamp("2023-01-05")),
        "share": charts.confirmed_share(f["share"], lang),
    }
    figures = {name: _hovers(element) for name, element in elements.items()}
    for name, kind, data in (
        ("bars", live.EnergyByCustomer, (f["bars"], None)),
        ("energy", live.EnergyOverTime, f["energy"]),
        ("live voltages", live.Voltages, f["voltages"]),
        ("live forecast", live.Forecast, f["forecast"]),
        ("heatmap", live.Heatmap, f["heatmap"]),
        ("profile", live.HourProfile, (f["profile"], (4, 8))),
    ):
        chart = kind(lang, data)
        chart.update(data)
        figures[name] = [t for t in chart.figure.tools if t.__class__.__name__ == "HoverTool"]
    for name, tools in figures.items():
        assert len(tools) == 1, f"{name}: one hover, not one per layer"
        labels = [label for label, _ in tools[0].tooltips]
        assert "index" not in labels and "data (x, y)" not in labels, name
        assert len(labels) >= 2, name
    kwh = figures["energy"][0]
    assert kwh.tooltips[0][0] == ("Fecha" if lang == "es" else "Date")
    assert ("@{period}" in kwh.formatters) and ("%d/%m/%Y" in kwh.tooltips[0][1]) == (lang == "es")


def test_a_live_chart_takes_new_data_without_a_new_figure() -> None:
    """A customer change replaces the data of the charts on screen (milliseconds), not
    the charts (HoloViews took about 0.1 s per chart)."""
    from meterwatch.dashboard import live

    frames = _frames()
    holder = live.LiveFigure()
    holder.show(live.Forecast, "es", frames["forecast"])
    figure = holder.pane.object
    later = frames["forecast"].assign(active_kwh=3.0, is_anomaly=1)
    holder.show(live.Forecast, "es", later)
    assert holder.pane.object is figure
    chart = holder.chart
    assert isinstance(chart, live.Forecast)
    assert list(chart.source.data["active_kwh"]) == [3.0] * 48
    assert len(chart.flagged.data["ts"]) == 48  # every point flagged, drawn in red
    holder.show(live.Forecast, "en", later)  # another language: built again
    assert holder.pane.object is not figure
    holder.message("Sin datos")
    assert "Sin datos" in holder.pane.object.text


@pytest.mark.parametrize("name", ["voltages", "forecast", "peers", "live"])
def test_legends_sit_outside_the_data(name: str) -> None:
    from bokeh.models import Legend

    from meterwatch.dashboard import charts, live

    frames = _frames()
    if name == "live":
        figure = live.Forecast("es").figure
    else:
        element = {
            "voltages": lambda: charts.voltages(frames["voltages"], "es"),
            "forecast": lambda: charts.forecast(frames["forecast"], "es"),
            "peers": lambda: charts.peers(frames["peers"], "es", pd.Timestamp("2023-01-05")),
        }[name]()
        hv.extension("bokeh")
        figure = hv.render(element)
    inside = [r for r in figure.center if isinstance(r, Legend)]
    outside = [r for r in (*figure.above, *figure.below, *figure.left, *figure.right)
               if isinstance(r, Legend)]  # fmt: skip
    assert not inside and outside
