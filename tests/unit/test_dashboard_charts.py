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
    from meterwatch.dashboard import charts

    f = _frames()
    elements = {
        "bars": charts.energy_by_customer(f["bars"], lang),
        "energy": charts.energy_over_time(f["energy"], lang),
        "voltages": charts.voltages(f["voltages"], lang),
        "forecast": charts.forecast(f["forecast"], lang),
        "heatmap": charts.heatmap(f["heatmap"], lang),
        "profile": charts.hour_profile(f["profile"], lang, (4, 8)),
        "peers": charts.peers(f["peers"], lang, pd.Timestamp("2023-01-05")),
        "share": charts.confirmed_share(f["share"], lang),
    }
    for name, element in elements.items():
        tools = _hovers(element)
        assert len(tools) == 1, f"{name}: one hover, not one per layer"
        labels = [label for label, _ in tools[0].tooltips]
        assert "index" not in labels and "data (x, y)" not in labels, name
        assert len(labels) >= 2, name
    kwh = _hovers(elements["energy"])[0]
    assert kwh.tooltips[0][0] == ("Fecha" if lang == "es" else "Date")
    assert ("@{period}" in kwh.formatters) and ("%d/%m/%Y" in kwh.tooltips[0][1]) == (lang == "es")


@pytest.mark.parametrize("name", ["voltages", "forecast", "peers"])
def test_legends_sit_outside_the_data(name: str) -> None:
    from bokeh.models import Legend

    from meterwatch.dashboard import charts

    frames = _frames()
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
