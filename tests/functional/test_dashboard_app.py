"""The Panel app built without a browser: every view renders on lakes a user can have."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterwatch.dashboard.store import DashboardStore
from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake

pn = pytest.importorskip("panel")


def _views(store: DashboardStore) -> object:
    from meterwatch.dashboard.app import Dashboard

    dashboard = Dashboard(store)
    for tab in ("alertas", "calidad", "consumo"):
        dashboard.state.tab = tab
    return dashboard


def test_an_empty_lake_says_so(tmp_path: Path) -> None:
    from meterwatch.dashboard.app import Dashboard

    dashboard = Dashboard(DashboardStore(open_lake(str(tmp_path / "lake"))))
    assert "vacío" in str(dashboard.root[1].object)


def test_a_lake_before_detection_shows_readings_and_an_empty_inbox(
    tmp_path: Path, small_fleet: Path
) -> None:
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    store = DashboardStore(lake)
    dashboard = _views(store)
    dashboard.state.client = "Cliente 2"  # type: ignore[attr-defined]
    assert dashboard.frames["forecast"].empty  # type: ignore[attr-defined]
    assert len(dashboard.frames["energy_by_customer"]) == 3  # type: ignore[attr-defined]
    dashboard.state.tab = "alertas"  # type: ignore[attr-defined]
    assert dashboard.frames["alerts"].empty  # type: ignore[attr-defined]


def test_switching_language_keeps_the_selection(tmp_path: Path, small_fleet: Path) -> None:
    from meterwatch.dashboard.app import Dashboard

    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    dashboard = Dashboard(DashboardStore(lake))
    dashboard.state.param.update(client="Cliente 3", hour_from=8, hour_to=17)
    dashboard.state.lang = "en"
    assert dashboard.w_client.value == "Cliente 3"
    assert dashboard.w_client.label == "Customer"
    assert dashboard.w_hours.value == (8, 17)
    assert "Total active energy" in str(dashboard.consumption.p_cards.object)


def test_a_tab_is_refreshed_once_it_is_shown(tmp_path: Path, small_fleet: Path) -> None:
    """ "Ver cliente en Consumo" changes the customer and the tab in one update: the
    consumption charts are drawn when their view is on the page. Drawn while detached, the
    browser kept the old picture (the fleet's load map under the customer's title)."""
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    dashboard = _views(DashboardStore(lake))
    dashboard.state.tab = "alertas"  # type: ignore[attr-defined]
    shown_when_drawn: list[bool] = []
    draw = dashboard.consumption.refresh  # type: ignore[attr-defined]

    def spy() -> None:
        body = dashboard.body.objects  # type: ignore[attr-defined]
        views = dashboard.views  # type: ignore[attr-defined]
        shown_when_drawn.append(bool(body) and body[0] is views["consumo"].layout)
        draw()

    dashboard.consumption.refresh = spy  # type: ignore[attr-defined]
    dashboard.state.param.update(client="Cliente 2", tab="consumo")  # type: ignore[attr-defined]
    assert shown_when_drawn == [True]
    assert not dashboard.frames["hour_profile"].empty  # type: ignore[attr-defined]


def test_the_bars_say_how_many_customers_had_readings_in_the_period(
    tmp_path: Path, small_fleet: Path
) -> None:
    """A customer whose file ends before the period shown is no bar: the chart says how many
    of the selection's customers it shows, rather than look like a smaller fleet."""
    from meterwatch.dashboard.app import Dashboard, DashboardState
    from tests.scenarios import hourly_frame, write_electrodunas

    write_electrodunas(small_fleet, 4, hourly_frame(24 * 10, start="2021-06-01", seed=4))
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    state = DashboardState(start="2022-01-05", end="2022-01-20")
    dashboard = Dashboard(DashboardStore(lake), state)
    assert len(dashboard.frames["energy_by_customer"]) == 3
    assert "3 de 4 clientes con lecturas en el periodo" in str(dashboard.consumption.h_bars.object)
    state.sector = "Agua"  # its two customers both read in the period: nothing to say
    assert "con lecturas" not in str(dashboard.consumption.h_bars.object)
    state.lang = "en"
    state.sector = ""
    assert "3 of 4 customers with readings in the period" in str(
        dashboard.consumption.h_bars.object
    )


def test_models_a_session_adds_later_are_styled_from_this_server(
    tmp_path: Path, small_fleet: Path
) -> None:
    """A document built where the page was not rendered (another server process) has no
    template variables from Panel: a table made when the operator opens a view (the data
    quality's here, the inbox's alike) must still take its stylesheets from this server, not
    from the CDN an offline server cannot reach (the inbox drew as a list of words with two
    server processes)."""
    from bokeh.document import Document
    from bokeh.models import ImportedStyleSheet
    from panel.io.resources import CDN_DIST

    from meterwatch.dashboard.app import Dashboard
    from meterwatch.dashboard.server import session_document

    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    doc = Document()
    pn.state.curdoc = doc
    try:
        dashboard = Dashboard(DashboardStore(lake))
        session_document(dashboard.view())
        dashboard.state.tab = "calidad"  # its tables are made now
        urls = [str(m.url) for m in doc.models if isinstance(m, ImportedStyleSheet)]
    finally:
        pn.state.curdoc = None
    assert any("tabulator" in u for u in urls)  # the view's table is in the document
    assert not [u for u in urls if u.startswith(CDN_DIST)]
