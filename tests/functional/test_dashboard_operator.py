"""What an operator sees in the dashboard (built without a browser): the inbox follows the
filter bar, shows why and what an alert is worth, and says plainly when there is nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from meterwatch.dashboard.store import DashboardStore
from meterwatch.tables import now_utc, spec
from meterwatch.tariffs import Tariffs
from tests.dashboard_lake import build_lake

pn = pytest.importorskip("panel")

ALERT_PARAMS = (
    '{"loss_pct": 40, "start": "2021-02-01T00:00", "end": "2021-02-03T23:00",'
    ' "n_hours": 72, "lost_kwh": 120.0}'
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_lake(tmp_path_factory.mktemp("operator"), n_customers=6, days=40)


def _customers(lake: Any) -> pd.DataFrame:
    return lake.query("SELECT client_id, sector, last_ts FROM customers ORDER BY client_id")


def write_alerts(lake: Any, rows: list[dict[str, Any]]) -> None:
    """Replace the lake's alerts by ``rows`` (the columns not given filled in)."""
    frame = pd.DataFrame(
        [
            {
                "alert_id": f"T{i + 1:03d}", "kind": "under_registration", "anomaly_rate": 0.5,
                "lost_kwh_estimate": 100.0, "severity": "high", "status": "open",
                "evidence": "texto guardado", "created_at": now_utc(), "updated_at": now_utc(),
                "rank": i + 1, "n_hours": 72, "confidence": 0.8, "params": ALERT_PARAMS,
                **row,
            }
            for i, row in enumerate(rows)
        ]
    )  # fmt: skip
    table = spec("alerts").schema
    data = table.empty_table().to_pandas() if frame.empty else frame.reindex(columns=table.names)
    with lake.transaction() as tx:
        tx.overwrite("alerts", data)


def _dashboard(store: DashboardStore) -> Any:
    from meterwatch.dashboard.app import Dashboard

    dashboard = Dashboard(store)
    dashboard.state.tab = "alertas"
    return dashboard


def _inbox_text(dashboard: Any) -> str:
    return " ".join(str(getattr(o, "object", "")) for o in dashboard.alerts.layout.objects)


@pytest.fixture
def two_alerts(lake: Any) -> tuple[str, str]:
    customers = _customers(lake)
    first, second = customers.iloc[0], customers.iloc[1]
    last = pd.Timestamp(first["last_ts"]).floor("D")
    write_alerts(
        lake,
        [
            {"client_id": first["client_id"], "sector": first["sector"],
             "window_start": last - pd.Timedelta(days=3), "window_end": last,
             "lost_kwh_estimate": 200.0},
            {"client_id": second["client_id"], "sector": second["sector"],
             "window_start": last - pd.Timedelta(days=30),
             "window_end": last - pd.Timedelta(days=28), "lost_kwh_estimate": 50.0},
        ],
    )  # fmt: skip
    return str(first["client_id"]), str(second["client_id"])


def test_the_inbox_follows_the_filter_bar(lake: Any, two_alerts: tuple[str, str]) -> None:
    first, second = two_alerts
    dashboard = _dashboard(DashboardStore(lake))
    assert set(dashboard.frames["alerts"]["client_id"]) == {first, second}
    dashboard.state.client = second
    assert list(dashboard.frames["alerts"]["client_id"]) == [second]
    assert "1 alerta ·" in _inbox_text(dashboard)
    dashboard.state.client = ""
    last = pd.Timestamp(_customers(lake).iloc[0]["last_ts"]).date()
    dashboard.state.start = (last - dt.timedelta(days=10)).isoformat()
    assert list(dashboard.frames["alerts"]["client_id"]) == [first]
    sector = _customers(lake).set_index("client_id").loc[second, "sector"]
    dashboard.state.param.update(start="", sector=sector)
    assert first not in set(dashboard.frames["alerts"]["client_id"]) or (
        _customers(lake).set_index("client_id").loc[first, "sector"] == sector
    )
    assert second in set(dashboard.frames["alerts"]["client_id"])


def test_the_inbox_shows_evidence_confidence_and_soles(
    lake: Any, two_alerts: tuple[str, str], tmp_path: Path
) -> None:
    first, second = two_alerts
    prices = tmp_path / "tariffs.csv"
    prices.write_text(f"sector,client_id,pen_per_kwh\n,{second},0.80\n")
    tariffs = Tariffs.read_csv(prices, default=0.5)
    dashboard = _dashboard(DashboardStore(lake, tariffs=tariffs))
    frame = dashboard.frames["alerts"].set_index("client_id")
    assert frame.loc[first, "loss_pen"] == pytest.approx(100.0)  # 200 kWh x 0.50 (default)
    assert frame.loc[second, "loss_pen"] == pytest.approx(40.0)  # 50 kWh x 0.80 (its own)
    table = next(o for o in dashboard.alerts.layout.objects if isinstance(o, pn.widgets.Tabulator))
    shown = table.value
    assert {"evidence", "confidence", "loss_pen"} <= set(shown.columns)
    assert shown["confidence"].tolist() == [80, 80]
    # the sentence is written again from the alert's figures, in the screen's language
    assert shown["evidence"].iloc[0].startswith("Registra 40")
    assert table.titles["loss_pen"] == "Pérdida estimada (S/)"
    assert "S/ 140" in _inbox_text(dashboard)
    dashboard.state.lang = "en"
    dashboard.state.tab = "alertas"
    table = next(o for o in dashboard.alerts.layout.objects if isinstance(o, pn.widgets.Tabulator))
    assert table.value["evidence"].iloc[0].startswith("Reports 40")


def test_the_inbox_keeps_raised_or_watched_alerts(lake: Any, two_alerts: tuple[str, str]) -> None:
    first, second = two_alerts
    customers = _customers(lake)
    last = pd.Timestamp(customers.iloc[0]["last_ts"]).floor("D")
    watched = ALERT_PARAMS[:-1] + ', "watch": "weekly_routine"}'
    write_alerts(
        lake,
        [
            {"client_id": first, "sector": customers.iloc[0]["sector"],
             "window_start": last - pd.Timedelta(days=3), "window_end": last},
            {"client_id": second, "sector": customers.iloc[1]["sector"], "params": watched,
             "severity": "low", "window_start": last - pd.Timedelta(days=5),
             "window_end": last - pd.Timedelta(days=4)},
        ],
    )  # fmt: skip
    store = DashboardStore(lake)
    assert store.alerts(priority="raised")["client_id"].tolist() == [first]
    assert store.alerts(priority="watched")["client_id"].tolist() == [second]
    with pytest.raises(ValueError, match="priority"):
        store.alerts(priority="hidden")
    dashboard = _dashboard(store)
    assert set(dashboard.frames["alerts"]["client_id"]) == {first, second}  # all by default
    assert "2 alertas" in _inbox_text(dashboard)
    assert "1 elevadas, 1 en observación" in _inbox_text(dashboard)
    dashboard.state.inbox_priority = "watched"
    assert dashboard.frames["alerts"]["client_id"].tolist() == [second]
    table = next(o for o in dashboard.alerts.layout.objects if isinstance(o, pn.widgets.Tabulator))
    assert "rutina semanal" in table.value["evidence"].iloc[0]
    choice = next(o for o in dashboard.alerts.layout.objects[1].objects if o.name == "Prioridad")
    assert choice.value == "watched" and "En observación" in choice.options


def test_an_inbox_with_no_alerts_at_all_says_so(lake: Any) -> None:
    write_alerts(lake, [])
    text = _inbox_text(_dashboard(DashboardStore(lake)))
    assert "No hay alertas:" in text and "con estos filtros" not in text


def test_an_inbox_emptied_by_the_filters_says_how_many_are_hidden(
    lake: Any, two_alerts: tuple[str, str]
) -> None:
    dashboard = _dashboard(DashboardStore(lake))
    third = str(_customers(lake).iloc[2]["client_id"])
    dashboard.state.client = third
    assert "No hay alertas con estos filtros (2 en total" in _inbox_text(dashboard)


def test_the_tariff_file_prices_sectors_and_customers(tmp_path: Path) -> None:
    from meterwatch.settings import Settings

    prices = tmp_path / "t.csv"
    prices.write_text('sector,client_id,pen_per_kwh\nMinería,,0.4\n,Cliente 7,"0,7"\n')
    tariffs = Tariffs.from_settings(Settings.load({"METERWATCH_TARIFFS": str(prices)}))
    assert tariffs.price("Cliente 7", "Minería") == 0.7
    assert tariffs.price("Cliente 1", "Minería") == 0.4
    assert tariffs.price("Cliente 1", "Agro") == Settings().tariff_pen_per_kwh
    env = {"METERWATCH_TARIFF_PEN_PER_KWH": "0.55"}
    assert Tariffs.from_settings(Settings.load(env)).price("Cliente 1") == 0.55


def _find(root: Any, kind: type, css: str) -> Any:
    for obj in root.select(kind):
        if css in (obj.css_classes or []):
            return obj
    raise LookupError(css)


def test_a_saved_inspection_shows_at_once_in_lima_time(
    lake: Any, two_alerts: tuple[str, str]
) -> None:
    dashboard = _dashboard(DashboardStore(lake))
    dashboard.state.alert = "T001"
    text = _inbox_text(dashboard)
    assert "Inspección: sin revisar" in text
    _find(dashboard.alerts.layout, pn.widgets.TextInput, "mw-fb-author").value = "Rosa"
    _find(dashboard.alerts.layout, pn.widgets.Select, "mw-fb-status").value = "confirmed_loss"
    before = pd.Timestamp.now(tz="UTC")
    _find(dashboard.alerts.layout, pn.widgets.Button, "mw-fb-save").clicks += 1
    text = _inbox_text(dashboard)
    assert "Inspección: pérdida confirmada" in text and "sin revisar" not in text
    history = _find(dashboard.alerts.layout, pn.widgets.Tabulator, "mw-fb-history")
    assert history.titles["created_at"] == "Fecha (hora de Lima)"
    shown = pd.Timestamp(history.value["created_at"].iloc[0])
    lima = before.tz_convert("America/Lima").tz_localize(None)
    assert abs(shown - lima) < pd.Timedelta(minutes=2)


def test_the_accuracy_card_shows_the_daily_error_not_the_hourly_mape(lake: Any) -> None:
    from meterwatch.dashboard.app import Dashboard

    models = lake.read("models")
    client = str(models["client_id"].iloc[0])
    models["mape"] = 240.6  # the hourly MAPE that read as a broken model
    models["params"] = (
        '{"held_out": {"wape": 18.3, "period_mape_8": 20.0, "period_mape_12": 15.0,'
        ' "period_mape_24": 7.44, "period_mape_48": 5.0}}'
    )
    with lake.transaction() as tx:
        tx.overwrite("models", models)
    dashboard = Dashboard(DashboardStore(lake, period_hours=24))
    dashboard.state.client = client
    cards = str(dashboard.consumption.p_cards.object)
    assert "Error del pronóstico por 24 h (MAPE)" in cards
    assert "7,4\u202f%" in cards and "WAPE horario 18,3\u202f%" in cards
    assert "240" not in cards
    dashboard = Dashboard(DashboardStore(lake, period_hours=48))
    dashboard.state.client = client
    assert "Error del pronóstico por 48 h (MAPE)" in str(dashboard.consumption.p_cards.object)
    assert "5,0\u202f%" in str(dashboard.consumption.p_cards.object)


@pytest.mark.parametrize("client", ["Cliente 1", ""])
def test_the_last_partial_day_is_not_drawn_as_a_fall_to_zero(tmp_path: Path, client: str) -> None:
    from meterwatch.dashboard.app import Dashboard
    from meterwatch.ingest import ingest_paths
    from meterwatch.storage import open_lake
    from tests.scenarios import hourly_frame, write_electrodunas

    folder = tmp_path / "fleet"
    for n in (1, 2):  # 60 whole days and the 00:00 reading of the 61st, as the real files end
        write_electrodunas(folder, n, hourly_frame(60 * 24 + 1, start="2023-02-01", seed=n))
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [folder])
    dashboard = Dashboard(DashboardStore(lake))
    dashboard.state.client = client
    series = dashboard.frames["series"]
    assert len(series) == 60 and series["active_kwh"].min() > 100  # daily points, none near 0
    assert pd.Timestamp(series["period"].max()) == pd.Timestamp("2023-04-01")
    note = str(dashboard.consumption.h_volt.object)
    assert "Días incompletos, sin dibujar" in note and "02/04/2023" in note
    # a day with no hour inside the hour filter is not a day at 0 either
    dashboard.state.param.update(hour_from=6, hour_to=23)
    assert dashboard.frames["series"]["active_kwh"].min() > 50


def test_the_operator_export_speaks_spanish(
    lake: Any, two_alerts: tuple[str, str], tmp_path: Path
) -> None:
    from meterwatch.cli import main

    out = tmp_path / "alertas.csv"
    assert main(["export", "alerts", "--operator", "--out", str(out), "--lake", lake.uri]) == 0
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert list(frame.columns) == [
        "Puesto", "Prioridad", "Alerta", "Cliente", "Sector", "Tipo", "Severidad", "Evento", "Desde",
        "Hasta", "Horas", "Pérdida estimada (kWh)", "Pérdida estimada (S/)", "Confianza (%)",
        "Evidencia",
    ]  # fmt: skip
    assert set(frame["Tipo"]) == {"Subregistro"} and set(frame["Severidad"]) == {"alta"}
    assert set(frame["Prioridad"]) == {"elevada"}
    assert frame["Evidencia"].str.startswith("Registra 40").all()
    assert frame["Pérdida estimada (S/)"].tolist() == [120, 30]  # 0.60 PEN/kWh by default
    assert "/" in frame["Desde"].iloc[0]  # 28/01/2021 00:00
    english = tmp_path / "alerts.csv"
    assert (
        main(["export", "alerts", "--language", "en", "--out", str(english), "--lake", lake.uri])
        == 0
    )
    assert pd.read_csv(english, encoding="utf-8-sig")["Kind"].iloc[0] == "Under-registration"
    assert (
        main(["export", "readings", "--operator", "--out", str(english), "--lake", lake.uri]) == 2
    )


def test_the_findings_list_starts_with_what_matters(tmp_path: Path) -> None:
    from meterwatch.ingest import ingest_paths
    from meterwatch.storage import open_lake
    from tests.scenarios import hourly_frame, write_electrodunas

    frame = hourly_frame(40 * 24, start="2023-01-01", seed=3)
    frame.loc[500:547, "active"] = 0.0  # two days at exactly 0
    frame = frame.drop(index=list(range(30, 480, 25)))  # 18 one-hour gaps before it
    path = write_electrodunas(tmp_path / "fleet", 1, frame)
    with path.open("a") as handle:
        handle.write("2023-02-11 03:00:00,abc,1,1,1\n")  # a rejected row
    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [tmp_path / "fleet"])
    codes = DashboardStore(lake).findings(None)["code"].tolist()
    assert codes[:2] == ["ingest.rows_rejected", "readings.zero_run"], codes
    assert set(codes[2:]) == {"readings.gap"}


def test_the_inbox_says_how_many_alerts_other_days_hold_and_shows_them(
    lake: Any, two_alerts: tuple[str, str]
) -> None:
    """After a first score of a long history the days shown (the last 90) hold a few of the
    alerts: the inbox says how many more there are and shows them all at one click."""
    first, second = two_alerts
    dashboard = _dashboard(DashboardStore(lake))
    last = pd.Timestamp(_customers(lake).iloc[0]["last_ts"]).date()
    dashboard.state.start = (last - dt.timedelta(days=10)).isoformat()
    assert list(dashboard.frames["alerts"]["client_id"]) == [first]
    assert "1 más en otras fechas" in _inbox_text(dashboard)
    button = next(
        o for o in dashboard.alerts.layout.objects if isinstance(o, pn.widgets.Button)
        and o.label == "Ver todas las fechas"
    )  # fmt: skip
    button.clicks += 1
    assert set(dashboard.frames["alerts"]["client_id"]) == {first, second}
    assert "otras fechas" not in _inbox_text(dashboard)
    assert dashboard.state.start <= (last - dt.timedelta(days=30)).isoformat()
