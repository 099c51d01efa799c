"""The operators' Panel app: filters, consumption views, alerts inbox, data quality.

Everything it shows comes from a :class:`~meterwatch.dashboard.store.DashboardStore`; the
selection lives in a :class:`DashboardState` synchronised with the URL, so a link opens
the same view. Changing the language rebuilds the widgets from the same state.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import param

from meterwatch.dashboard import charts
from meterwatch.dashboard.store import (
    RECENT_DAYS,
    DashboardStore,
    Selection,
)
from meterwatch.dashboard.texts import TEXTS, fmt_number, fmt_percent, kind_label, tr
from meterwatch.queries import FEEDBACK_STATUSES, NO_FEEDBACK

log = logging.getLogger(__name__)

TABS = ("consumo", "alertas", "calidad")
PERIODS = ("", "7", "30", "90", "365")

# URL query names (Spanish, like the screen) for every state parameter.
URL_NAMES = {
    "lang": "idioma",
    "tab": "vista",
    "start": "desde",
    "end": "hasta",
    "hour_from": "hora_desde",
    "hour_to": "hora_hasta",
    "client": "cliente",
    "sector": "sector",
    "alert": "alerta",
    "inbox_sector": "a_sector",
    "inbox_kind": "a_tipo",
    "inbox_status": "a_estado",
    "inbox_period": "a_periodo",
}

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


class DashboardState(param.Parameterized):
    """What the operator is looking at; mirrored in the URL."""

    lang: str = param.Selector(default="es", objects=["es", "en"])  # type: ignore[assignment]
    tab: str = param.Selector(default="consumo", objects=list(TABS))  # type: ignore[assignment]
    start = param.String(default="")
    end = param.String(default="")
    hour_from = param.Integer(default=0, bounds=(0, 23))
    hour_to = param.Integer(default=23, bounds=(0, 23))
    client = param.String(default="")
    sector = param.String(default="")
    alert = param.String(default="")
    inbox_sector = param.String(default="")
    inbox_kind = param.String(default="")
    inbox_status = param.String(default="")
    inbox_period = param.String(default="")

    def selection(self) -> Selection:
        return Selection(
            start=_parse_date(self.start),
            end=_parse_date(self.end),
            hour_from=min(self.hour_from, self.hour_to),
            hour_to=max(self.hour_from, self.hour_to),
            client_id=self.client or None,
            sector=self.sector or None,
        )


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _html(text: str, css_class: str = "") -> str:
    import html

    return f'<div class="{css_class}">{html.escape(text)}</div>'


def _pane(obj: str = "", **kwargs: Any) -> pn.pane.HTML:
    """An HTML pane that sees the dashboard's CSS (panes live in their own shadow DOM)."""
    return pn.pane.HTML(obj, stylesheets=[CSS], **kwargs)


def _card(title: str, value: str, detail: str = "", bad: bool = False) -> str:
    import html

    cls = "mw-card bad" if bad else "mw-card"
    return (
        f'<div class="{cls}"><div class="t">{html.escape(title)}</div>'
        f'<div class="v">{html.escape(value)}</div><div class="d">{html.escape(detail)}</div></div>'
    )


class LiveChart:
    """A chart pane updated in place (new data for the same plot) instead of rebuilt.

    Sending data through a stream lets HoloViews refresh the existing Bokeh plot's sources,
    two to three times faster than building new models. A different kind of chart, or no
    data (a message), builds the plot again.
    """

    def __init__(self) -> None:
        self.pane = pn.pane.HoloViews(sizing_mode="stretch_width", linked_axes=False)
        self._pipe: hv.streams.Pipe | None = None
        self._kind = ""

    def show(self, kind: str, data: Any, build: Callable[[Any], hv.Element]) -> None:
        if self._pipe is not None and kind == self._kind:
            self._pipe.send(data)
            return
        pipe = hv.streams.Pipe(data=data)
        self.pane.object = hv.DynamicMap(
            lambda data: build(data).opts(framewise=True), streams=[pipe]
        )
        self._pipe, self._kind = pipe, kind

    def message(self, element: hv.Element) -> None:
        self.pane.object = element
        self._pipe, self._kind = None, ""


class Dashboard:
    """One browser session's dashboard."""

    def __init__(self, store: DashboardStore, state: DashboardState | None = None) -> None:
        self.store = store
        self.state = state or DashboardState()
        self.frames: dict[str, pd.DataFrame] = {}
        self._stale: set[str] = set(TABS)
        self._syncing = False
        self.root = pn.Column(sizing_mode="stretch_width")
        self._build()
        self.state.param.watch(self._on_lang, ["lang"])
        self.state.param.watch(
            self._on_filters, ["start", "end", "hour_from", "hour_to", "client", "sector"]
        )
        self.state.param.watch(
            self._on_inbox, ["inbox_sector", "inbox_kind", "inbox_status", "inbox_period"]
        )
        self.state.param.watch(self._on_alert, ["alert"])
        self.state.param.watch(self._on_tab, ["tab"])

    # building ---------------------------------------------------------------------------
    def t(self, key: str, **params: Any) -> str:
        return tr(key, self.state.lang, **params)

    def _all(self) -> str:
        return self.t("all")

    def _build(self) -> None:
        """(Re)build every widget and pane in the current language, from the state."""
        lang = self.state.lang
        self._normalise_state()
        bounds = self.store.bounds()
        self.lang_switch = pn.widgets.RadioButtonGroup(
            label=self.t("language"),
            options={"ES": "es", "EN": "en"},
            value=lang,
            color="primary",
            variant="outline",
            width=110,
            css_classes=["mw-lang"],
        )
        header = pn.Row(
            _pane(
                f'<div class="mw-header"><h1>{self.t("title")}</h1><span>{self.t("subtitle")}</span></div>',
                sizing_mode="stretch_width",
            ),
            self.lang_switch,
            sizing_mode="stretch_width",
        )
        self.lang_switch.param.watch(lambda e: setattr(self.state, "lang", e.new), "value")
        if bounds is None:
            self.root[:] = [header, pn.pane.Markdown(self.t("empty_lake"))]
            return

        # filters ----------------------------------------------------------------------------
        sel = self.store.normalise(self.state.selection())
        days = self.store.bounds_for(sel.client_id) or bounds
        customers = self.store.customers()
        self.w_start = pn.widgets.DatePicker(
            css_classes=["mw-f-start"],
            label=self.t("filter.start"),
            value=sel.start,
            start=days.first,
            end=days.last,
            width=140,
        )
        self.w_end = pn.widgets.DatePicker(
            css_classes=["mw-f-end"],
            label=self.t("filter.end"),
            value=sel.end,
            start=days.first,
            end=days.last,
            width=140,
        )
        self.w_hours = pn.widgets.IntRangeSlider(
            css_classes=["mw-f-hours"],
            label=self.t("filter.hours"),
            start=0,
            end=23,
            step=1,
            value=(sel.hour_from, sel.hour_to),
            width=200,
        )
        self.w_sector = pn.widgets.Select(
            css_classes=["mw-f-sector"],
            label=self.t("filter.sector"),
            options={self._all(): "", **{s: s for s in self.store.sectors()}},
            value=self.state.sector,
            width=260,
        )
        self.w_client = pn.widgets.Select(
            css_classes=["mw-f-client"],
            label=self.t("filter.customer"),
            options=self._client_options(customers),
            value=self.state.client,
            width=170,
        )
        self._link(self.w_start, "start", lambda v: v.isoformat() if v else "")
        self._link(self.w_end, "end", lambda v: v.isoformat() if v else "")
        self._link(self.w_sector, "sector")
        self._link(self.w_client, "client")
        self.w_hours.param.watch(self._on_hours_widget, "value_throttled")
        filters = pn.FlexBox(
            self.w_start,
            self.w_end,
            self.w_hours,
            self.w_sector,
            self.w_client,
            align_items="end",
            sizing_mode="stretch_width",
        )

        # consumption tab -------------------------------------------------------------------
        self.p_alarm = _pane("", sizing_mode="stretch_width", visible=False)
        self.p_cards = _pane("", sizing_mode="stretch_width")
        self.p_bars = pn.pane.HoloViews(sizing_mode="stretch_width", linked_axes=False)
        self.c_volt, self.c_forecast = LiveChart(), LiveChart()
        self.c_heat, self.c_profile = LiveChart(), LiveChart()
        self.p_volt, self.p_forecast = self.c_volt.pane, self.c_forecast.pane
        self.p_heat, self.p_profile = self.c_heat.pane, self.c_profile.pane
        self.h_bars = _pane(sizing_mode="stretch_width")
        self.h_volt = _pane(sizing_mode="stretch_width")
        self.h_forecast = _pane(sizing_mode="stretch_width")
        self.h_heat = _pane(sizing_mode="stretch_width")
        consumption = pn.Column(
            self.p_alarm,
            self.p_cards,
            pn.Row(
                self._box(self.h_bars, self.p_bars, "energy_by_customer"),
                self._box(self.h_volt, self.p_volt, "series"),
                sizing_mode="stretch_width",
            ),
            self._box(self.h_forecast, self.p_forecast, "forecast", wide=True),
            pn.Row(
                self._box(self.h_heat, self.p_heat, "heatmap"),
                self._box(
                    _pane(_html(self.t("chart.profile"), "mw-h2"), sizing_mode="stretch_width"),
                    self.p_profile,
                    "hour_profile",
                ),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )

        # alerts tab ---------------------------------------------------------------------------
        self.alerts_body = pn.Column(sizing_mode="stretch_width")
        # data-quality tab -----------------------------------------------------------------------
        self.quality_body = pn.Column(sizing_mode="stretch_width")

        # A button bar and one body instead of pn.Tabs: only the view on screen is in the page.
        # (Responsive plots inside a FlexBox nested in columns render zero wide: rows here.)
        self.views = {
            "consumo": consumption,
            "alertas": self.alerts_body,
            "calidad": self.quality_body,
        }
        self.nav = pn.widgets.RadioButtonGroup(
            options={
                self.t("tab.consumption"): "consumo",
                self.t("tab.alerts"): "alertas",
                self.t("tab.quality"): "calidad",
            },
            value=self.state.tab,
            color="primary",
            variant="outline",
            css_classes=["mw-nav"],
            margin=(10, 10, 6, 10),
        )
        self.nav.param.watch(lambda e: setattr(self.state, "tab", e.new), "value")
        self.body = pn.Column(self.views[self.state.tab], sizing_mode="stretch_width")
        self.root[:] = [header, filters, self.nav, self.body]
        self._stale = set(TABS)
        self._refresh(self.state.tab)

    def _box(
        self,
        title: pn.viewable.Viewable,
        chart: pn.viewable.Viewable,
        frame: str,
        wide: bool = False,
    ) -> pn.Column:
        download = self._download(frame)
        return pn.Column(
            pn.Row(title, download, sizing_mode="stretch_width"),
            chart,
            sizing_mode="stretch_width",
        )

    def _download(self, frame: str) -> pn.widgets.FileDownload:
        def csv() -> io.StringIO:
            data = self.frames.get(frame, pd.DataFrame())
            return io.StringIO(data.to_csv(index=False))

        return pn.widgets.FileDownload(
            callback=csv,
            filename=f"meterwatch_{frame}.csv",
            label=self.t("download"),
            color="light",
            width=140,
            align="end",
            css_classes=[f"mw-dl-{frame}"],
        )

    def _client_options(self, customers: pd.DataFrame) -> dict[str, str]:
        if self.state.sector:
            customers = customers[customers["sector"] == self.state.sector]
        options = {self._all(): ""}
        options.update({c: c for c in customers["client_id"]})
        return options

    def _link(self, widget: Any, name: str, to_state: Callable[[Any], Any] = lambda v: v) -> None:
        def push(event: param.parameterized.Event) -> None:
            if not self._syncing:
                setattr(self.state, name, to_state(event.new))

        widget.param.watch(push, "value")

    def _on_hours_widget(self, event: param.parameterized.Event) -> None:
        h0, h1 = event.new
        self.state.param.update(hour_from=int(h0), hour_to=int(h1))

    def _normalise_state(self) -> None:
        """Drop URL values that do not exist (a customer, a sector) instead of failing."""
        customers = self.store.customers()
        if self.state.client and self.state.client not in set(customers["client_id"]):
            self.state.client = ""
        if self.state.sector and self.state.sector not in set(self.store.sectors()):
            self.state.sector = ""

    # reacting -------------------------------------------------------------------------------
    def _on_lang(self, _event: param.parameterized.Event) -> None:
        self._build()

    def _on_tab(self, event: param.parameterized.Event) -> None:
        if self.nav.value != event.new:
            self.nav.value = event.new
        self.body[:] = [self.views[event.new]]
        if event.new in self._stale:
            self._refresh(event.new)

    def _on_filters(self, *_events: param.parameterized.Event) -> None:
        if hasattr(self, "w_client"):
            self._syncing = True
            try:
                # A thousand options are worth sending only when the sector changed.
                options = self._client_options(self.store.customers())
                if options != self.w_client.options:
                    self.w_client.options = options
                if self.state.client not in options.values():
                    self.state.client = ""
                sel = self.store.normalise(self.state.selection())
                days = self.store.bounds_for(sel.client_id)
                if days is not None:  # the pickers offer only days with data
                    for picker in (self.w_start, self.w_end):
                        if (picker.start, picker.end) != (days.first, days.last):
                            picker.param.update(start=days.first, end=days.last)
                for widget, value in (
                    (self.w_client, self.state.client),
                    (self.w_sector, self.state.sector),
                    (self.w_start, sel.start),
                    (self.w_end, sel.end),
                    (self.w_hours, (sel.hour_from, sel.hour_to)),
                ):
                    if widget.value != value:
                        widget.value = value
            finally:
                self._syncing = False
        self._stale = set(TABS)
        self._refresh(self.state.tab)

    def _on_inbox(self, *_events: param.parameterized.Event) -> None:
        self._stale.add("alertas")
        if self.state.tab == "alertas":
            self._refresh("alertas")

    def _on_alert(self, _event: param.parameterized.Event) -> None:
        self._stale.add("alertas")
        if self.state.alert and self.state.tab != "alertas":
            self.state.tab = "alertas"
        else:
            self._refresh("alertas")

    def _refresh(self, tab: str) -> None:
        if not hasattr(self, "views"):
            return
        self._stale.discard(tab)
        # One message to the browser for all the panes a refresh changes.
        started = time.perf_counter()
        with pn.io.hold():
            self._refresh_now(tab)
        log.debug("refresh %s in %.3f s", tab, time.perf_counter() - started)

    def _refresh_now(self, tab: str) -> None:
        {
            "consumo": self._refresh_consumption,
            "alertas": self._refresh_alerts,
            "calidad": self._refresh_quality,
        }[tab]()

    # consumption -----------------------------------------------------------------------------
    def _refresh_consumption(self) -> None:
        lang = self.state.lang
        sel = self.store.normalise(self.state.selection())
        store = self.store
        # With a customer chosen, the bars show it among its peers (same period, hours, sector).
        by_customer = store.energy_by_customer(replace(sel, client_id=None))
        series, _grain = store.series(sel)
        profile = store.hour_profile(sel)
        peak = store.peak_window(sel)
        heat = store.heatmap(sel)
        self.frames.update(
            energy_by_customer=by_customer, series=series, hour_profile=profile, heatmap=heat
        )
        total = store.total_kwh(sel)
        cards = [
            _card(self.t("kpi.total"), f"{fmt_number(total, lang)} kWh", self._period_text(sel))
        ]
        alarm = ""
        if sel.client_id is None:
            hint = self.t("kpi.no_customer")
            cards.append(_card(self.t("kpi.mape"), "–", hint))
            cards.append(_card(self.t("kpi.anomalous", n=RECENT_DAYS), "–", hint))
        else:
            model = store.model(sel.client_id)
            mape = None if model is None else model.get("mape")
            cards.append(
                _card(
                    self.t("kpi.mape"),
                    # models.mape is a percentage (meterwatch.detect.model)
                    "–" if mape is None or pd.isna(mape) else f"{fmt_number(mape, lang, 1)} %",
                    self.t("kpi.no_model") if model is None else str(model.get("kind", "")),
                )
            )
            recent = store.recent_anomalies(sel.client_id)
            if recent.hours:
                cards.append(
                    _card(
                        self.t("kpi.anomalous", n=RECENT_DAYS),
                        fmt_number(recent.anomalous_hours, lang),
                        self.t(
                            "kpi.of_hours",
                            n=fmt_number(recent.hours, lang),
                            rate=fmt_percent(recent.rate, lang),
                        ),
                        bad=recent.alarm,
                    )
                )
            else:
                cards.append(
                    _card(self.t("kpi.anomalous", n=RECENT_DAYS), "–", self.t("kpi.no_scores"))
                )
            if recent.alarm:
                alarm = _html(
                    self.t(
                        "alarm",
                        client=sel.client_id,
                        rate=fmt_percent(recent.rate, lang),
                        n=RECENT_DAYS,
                        hours=recent.anomalous_hours,
                        total=recent.hours,
                    ),
                    "mw-alarm",
                )
        if peak is None:
            cards.append(_card(self.t("kpi.peak"), "–", ""))
        else:
            cards.append(
                _card(
                    self.t("kpi.peak"),
                    peak.label(),
                    self.t(
                        "kpi.peak_detail",
                        share=fmt_percent(peak.share, lang),
                        kwh=fmt_number(peak.kwh_per_day, lang, 1),
                    ),
                )
            )
        self.p_cards.object = (
            '<div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:10px">'
            + "".join(cards)
            + "</div>"
        )
        self.p_alarm.object = alarm
        self.p_alarm.visible = bool(alarm)
        self.p_alarm.css_classes = ["mw-alarm-pane"] if alarm else []

        n = min(25, len(by_customer))
        notes = []
        if len(by_customer) > n:
            notes.append(self.t("chart.energy_top", n=n, total=len(by_customer)))
        if sel.client_id is not None:
            notes.append(self.t("chart.energy_context", client=sel.client_id))
        sub = " · ".join(notes)
        self.h_bars.object = _html(self.t("chart.energy_by_customer"), "mw-h2") + (
            _html(sub, "mw-hint") if sub else ""
        )
        self.p_bars.object = charts.energy_by_customer(by_customer, lang, highlight=sel.client_id)
        if sel.client_id is None:
            self.h_volt.object = _html(self.t("chart.energy_time"), "mw-h2") + _html(
                self.t("chart.voltage_hint"), "mw-hint"
            )
            self._live(self.c_volt, "energy", series, lambda f: charts.energy_over_time(f, lang))
            self.h_forecast.object = _html(self.t("chart.forecast"), "mw-h2") + _html(
                self.t("chart.forecast_hint"), "mw-hint"
            )
            self.frames["forecast"] = pd.DataFrame()
            self.c_forecast.message(charts._empty(self.t("chart.forecast_hint")))
            self.p_forecast.visible = False
        else:
            self.h_volt.object = _html(self.t("chart.voltage"), "mw-h2")
            self._live(self.c_volt, "voltages", series, lambda f: charts.voltages(f, lang))
            scores, _ = store.customer_scores(sel)
            self.frames["forecast"] = scores
            self.h_forecast.object = _html(f"{self.t('chart.forecast')} · {sel.client_id}", "mw-h2")
            self._live(self.c_forecast, "forecast", scores, lambda f: charts.forecast(f, lang))
            self.p_forecast.visible = True
        who = sel.client_id or sel.sector or self._all()
        self.h_heat.object = _html(f"{self.t('chart.heatmap')} · {who}", "mw-h2")
        self._live(self.c_heat, "heatmap", heat, lambda f: charts.heatmap(f, lang))
        span = None if peak is None else (peak.start_hour, peak.end_hour)
        # The peak travels with the data: the chart's builder is kept between updates.
        self._live(
            self.c_profile, "profile", profile, lambda d: charts.hour_profile(d[0], lang, d[1]),
            payload=(profile, span),
        )  # fmt: skip

    def _live(
        self,
        chart: LiveChart,
        kind: str,
        frame: pd.DataFrame,
        build: Callable[[Any], hv.Element],
        payload: Any = None,
    ) -> None:
        data = frame if payload is None else payload
        if frame.empty:
            chart.message(build(data))  # the chart's own "no data" message
        else:
            chart.show(kind, data, build)

    def _period_text(self, sel: Selection) -> str:
        assert sel.start is not None and sel.end is not None
        hours = "" if sel.all_hours else f" · {sel.hour_from:02d}–{sel.hour_to:02d} h"
        return f"{sel.start:%d/%m/%Y} – {sel.end:%d/%m/%Y}{hours}"

    # alerts -------------------------------------------------------------------------------------
    def _refresh_alerts(self) -> None:
        if self.state.alert:
            self.alerts_body[:] = self._alert_detail(self.state.alert)
        else:
            self.alerts_body[:] = self._inbox()

    def _inbox(self) -> list[Any]:
        lang = self.state.lang
        store = self.store
        w_sector = pn.widgets.Select(
            label=self.t("filter.sector"),
            options={self._all(): "", **{s: s for s in store.sectors()}},
            value=self.state.inbox_sector,
            width=260,
        )
        w_kind = pn.widgets.Select(
            label=self.t("filter.kind"),
            options={self._all(): "", **{kind_label(k, lang): k for k in store.alert_kinds()}},
            value=self.state.inbox_kind if self.state.inbox_kind in store.alert_kinds() else "",
            width=180,
        )
        w_status = pn.widgets.Select(
            label=self.t("filter.status"),
            options={
                self._all(): "",
                **{self.t(f"inspection.{s}"): s for s in (NO_FEEDBACK, *FEEDBACK_STATUSES)},
            },
            value=self.state.inbox_status,
            width=180,
        )
        w_period = pn.widgets.Select(
            label=self.t("filter.period"),
            options={
                (self.t("period.days", n=p) if p else self.t("period.all")): p for p in PERIODS
            },
            value=self.state.inbox_period if self.state.inbox_period in PERIODS else "",
            width=160,
        )
        for widget, name in (
            (w_sector, "inbox_sector"),
            (w_kind, "inbox_kind"),
            (w_status, "inbox_status"),
            (w_period, "inbox_period"),
        ):
            widget.param.watch(lambda e, n=name: setattr(self.state, n, e.new), "value")
        frame = store.alerts(
            sector=self.state.inbox_sector or None,
            kind=self.state.inbox_kind or None,
            inspection=self.state.inbox_status or None,
            period_days=int(self.state.inbox_period) if self.state.inbox_period else None,
        )
        self.frames["alerts"] = frame
        shown = pd.DataFrame(
            {
                "alert_id": frame["alert_id"],
                "client_id": frame["client_id"],
                "sector": frame["sector"],
                "kind": [kind_label(k, lang) for k in frame["kind"]],
                "severity": [self.t(f"severity.{s}") for s in frame["severity"]],
                "window_start": pd.to_datetime(frame["window_start"]).dt.strftime("%Y-%m-%d"),
                "window_end": pd.to_datetime(frame["window_end"]).dt.strftime("%Y-%m-%d"),
                "lost_kwh_estimate": [fmt_number(v, lang) for v in frame["lost_kwh_estimate"]],
                "anomaly_rate": [fmt_percent(v, lang) for v in frame["anomaly_rate"]],
                "status": [
                    self.t(f"status.{v}") if f"status.{v}" in TEXTS else str(v)
                    for v in frame["status"]
                ],
                "inspection_status": [
                    self.t(f"inspection.{s}") for s in frame["inspection_status"]
                ],
            }
        )
        table = pn.widgets.Tabulator(
            shown,
            show_index=False,
            disabled=True,
            selectable=False,
            pagination="local",
            page_size=12,
            sizing_mode="stretch_width",
            titles={c: self.t(f"col.{c}") for c in shown.columns},
            text_align={"lost_kwh_estimate": "right", "anomaly_rate": "right"},
            layout="fit_data_stretch",
            widths={"sector": 220},
            css_classes=["mw-inbox"],
        )

        def open_alert(event: Any) -> None:
            if 0 <= event.row < len(frame):
                self.state.alert = str(frame["alert_id"].iloc[event.row])

        table.on_click(open_alert)
        total = float(frame["lost_kwh_estimate"].fillna(0).sum()) if not frame.empty else 0.0
        summary = self.t("inbox.count", n=fmt_number(len(frame), lang), kwh=fmt_number(total, lang))
        share = store.confirmed_share()
        self.frames["confirmed_share"] = share
        return [
            pn.Row(
                _pane(
                    _html(self.t("inbox.title"), "mw-h2") + _html(self.t("inbox.hint"), "mw-hint"),
                    sizing_mode="stretch_width",
                ),
                self._download("alerts"),
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(w_sector, w_kind, w_status, w_period, sizing_mode="stretch_width"),
            _pane(_html(summary, "mw-hint"), sizing_mode="stretch_width"),
            table if not frame.empty else _pane(_html(self.t("inbox.empty"), "mw-hint")),
            pn.Row(
                _pane(_html(self.t("chart.confirmed"), "mw-h2"), sizing_mode="stretch_width"),
                self._download("confirmed_share"),
                sizing_mode="stretch_width",
            ),
            pn.pane.HoloViews(charts.confirmed_share(share, lang), sizing_mode="stretch_width")
            if not share.empty
            else _pane(_html(self.t("chart.no_verdicts"), "mw-hint")),
        ]

    def _alert_detail(self, alert_id: str) -> list[Any]:
        lang = self.state.lang
        evidence = self.store.evidence(alert_id)
        close = pn.widgets.Button(label="← " + self.t("inbox.title"), color="light", width=180)
        close.on_click(lambda _e: setattr(self.state, "alert", ""))
        if evidence is None:
            return [close, _pane(_html(self.t("alert.not_found", id=alert_id), "mw-hint"))]
        alert = evidence.alert
        client = str(alert["client_id"])
        start, end = pd.Timestamp(alert["window_start"]), pd.Timestamp(alert["window_end"])
        title = self.t("alert.title", id=alert_id, client=client)
        facts = (
            f"{alert.get('sector') or ''} · {kind_label(alert['kind'], lang)} · {self.t('col.severity')}: "
            f"{self.t('severity.' + str(alert['severity']))} · "
            f"{self.t('col.inspection_status')}: {self.t('inspection.' + str(alert['inspection_status']))}"
        )
        window = self.t(
            "alert.window",
            start=f"{start:%Y-%m-%d %H:%M}",
            end=f"{end:%Y-%m-%d %H:%M}",
            hours=fmt_number(alert.get("n_hours"), lang),
        )

        def before(value: float | None, unit: str, digits: int = 0) -> str:
            return self.t("alert.before", value=f"{fmt_number(value, lang, digits)} {unit}".strip())

        cards = [
            _card(self.t("alert.reported"), f"{fmt_number(evidence.reported_kwh, lang)} kWh"),
            _card(self.t("alert.expected"), f"{fmt_number(evidence.expected_kwh, lang)} kWh"),
            _card(
                self.t("alert.missing"),
                f"{fmt_number(evidence.missing_kwh, lang)} kWh",
                f"{self.t('col.lost_kwh_estimate')}: {fmt_number(alert.get('lost_kwh_estimate'), lang)}",
                bad=evidence.missing_kwh > 0,
            ),
            _card(
                self.t("alert.ratio"),
                fmt_number(evidence.ratio_window, lang, 2),
                before(evidence.ratio_before, "", 2),
            ),
            _card(
                self.t("alert.voltage_fa"),
                f"{fmt_number(evidence.voltage_fa_window, lang)} V",
                before(evidence.voltage_fa_before, "V"),
            ),
            _card(
                self.t("alert.voltage_fc"),
                f"{fmt_number(evidence.voltage_fc_window, lang)} V",
                before(evidence.voltage_fc_before, "V"),
            ),
        ]
        scores, _ = self.store.customer_scores(evidence.view)
        series, _ = self.store.series(evidence.view)
        self.frames["alert_scores"] = scores
        self.frames["alert_series"] = series
        self.frames["alert_peers"] = evidence.peers
        open_customer = pn.widgets.Button(
            label=self.t("alert.open_customer"), color="primary", width=220
        )

        def show_customer(_event: Any) -> None:
            view = evidence.view
            self.state.param.update(
                client=client,
                sector="",
                hour_from=0,
                hour_to=23,
                start=view.start.isoformat() if view.start else "",
                end=view.end.isoformat() if view.end else "",
                tab="consumo",
            )

        open_customer.on_click(show_customer)
        return [
            pn.Row(close, open_customer, sizing_mode="stretch_width"),
            _pane(
                _html(title, "mw-h2")
                + _html(facts, "mw-hint")
                + _html(window, "mw-hint")
                + _html(str(alert.get("evidence") or ""), "mw-evidence"),
                sizing_mode="stretch_width",
            ),
            _pane(
                '<div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:10px">'
                + "".join(cards)
                + "</div>",
                sizing_mode="stretch_width",
            ),
            pn.Row(
                _pane(_html(self.t("chart.forecast"), "mw-h2"), sizing_mode="stretch_width"),
                self._download("alert_scores"),
                sizing_mode="stretch_width",
            ),
            pn.pane.HoloViews(
                charts.forecast(scores, lang, height=260), sizing_mode="stretch_width"
            ),
            pn.Row(
                pn.Column(
                    pn.Row(
                        _pane(_html(self.t("chart.voltage"), "mw-h2"), sizing_mode="stretch_width"),
                        self._download("alert_series"),
                        sizing_mode="stretch_width",
                    ),
                    pn.pane.HoloViews(charts.voltages(series, lang), sizing_mode="stretch_width"),
                    sizing_mode="stretch_width",
                ),
                pn.Column(
                    pn.Row(
                        _pane(_html(self.t("chart.peers"), "mw-h2"), sizing_mode="stretch_width"),
                        self._download("alert_peers"),
                        sizing_mode="stretch_width",
                    ),
                    pn.pane.HoloViews(
                        charts.peers(evidence.peers, lang, start), sizing_mode="stretch_width"
                    ),
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            self._feedback_form(alert_id),
        ]

    def _feedback_form(self, alert_id: str) -> pn.Column:
        status = pn.widgets.Select(
            label=self.t("feedback.status"),
            options={self.t(f"inspection.{s}"): s for s in FEEDBACK_STATUSES},
            width=220,
            css_classes=["mw-fb-status"],
        )
        note = pn.widgets.TextAreaInput(
            label=self.t("feedback.note"), height=80, width=380, css_classes=["mw-fb-note"]
        )
        author = pn.widgets.TextInput(
            label=self.t("feedback.author"), width=220, css_classes=["mw-fb-author"]
        )
        save = pn.widgets.Button(
            label=self.t("feedback.save"),
            color="primary",
            width=120,
            align="end",
            css_classes=["mw-fb-save"],
        )
        message = _pane("", sizing_mode="stretch_width", css_classes=["mw-fb-message"])
        history = pn.Column(sizing_mode="stretch_width")

        def show_history() -> None:
            frame = self.store.alert_feedback(alert_id)
            self.frames["feedback"] = frame
            if frame.empty:
                history[:] = [_pane(_html(self.t("feedback.none"), "mw-hint"))]
                return
            shown = pd.DataFrame(
                {
                    "created_at": pd.to_datetime(frame["created_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                    "status": [self.t(f"inspection.{s}") for s in frame["status"]],
                    "author": frame["author"],
                    "note": frame["note"],
                }
            )
            history[:] = [
                pn.widgets.Tabulator(
                    shown,
                    show_index=False,
                    disabled=True,
                    sizing_mode="stretch_width",
                    titles={
                        "created_at": self.t("col.created_at"),
                        "status": self.t("feedback.status"),
                        "author": self.t("col.author"),
                        "note": self.t("col.note"),
                    },
                    layout="fit_data_stretch",
                    css_classes=["mw-fb-history"],
                )
            ]

        def submit(_event: Any) -> None:
            name = (author.value or "").strip()
            if not name:
                message.object = _html(self.t("feedback.need_author"), "mw-hint")
                return
            self.store.record_feedback(alert_id, str(status.value), note.value or "", name)
            label = self.t(f"inspection.{status.value}")
            message.object = _html(
                self.t("feedback.saved", status=label, author=name), "mw-evidence"
            )
            note.value = ""
            show_history()

        save.on_click(submit)
        show_history()
        return pn.Column(
            _pane(_html(self.t("feedback.title"), "mw-h2")),
            pn.FlexBox(status, note, author, save, align_items="end", sizing_mode="stretch_width"),
            _pane(_html(self.t("feedback.learning"), "mw-hint")),
            message,
            _pane(_html(self.t("feedback.history"), "mw-h2")),
            history,
            sizing_mode="stretch_width",
            styles={"border-top": "1px solid #e2e8f0", "margin-top": "8px", "padding-top": "6px"},
        )

    # data quality ---------------------------------------------------------------------------------
    def _refresh_quality(self) -> None:
        lang = self.state.lang
        store = self.store
        frame = store.quality(self.state.sector or None)
        self.frames["quality"] = frame
        columns = [
            "client_id",
            "sector",
            "completeness",
            "gaps",
            "gap_hours",
            "zero_runs",
            "zero_hours",
            "negative_runs",
            "negative_hours",
            "voltage_findings",
            "duplicate_of",
            "quarantined",
            "last_ts",
        ]
        shown = frame[columns].copy()
        shown["completeness"] = [fmt_percent(v, lang, 1) for v in shown["completeness"]]
        shown["last_ts"] = pd.to_datetime(shown["last_ts"]).dt.strftime("%Y-%m-%d %H:%M")
        for col in (
            "gaps",
            "gap_hours",
            "zero_runs",
            "zero_hours",
            "negative_runs",
            "negative_hours",
            "voltage_findings",
            "quarantined",
        ):
            shown[col] = [fmt_number(v, lang) for v in shown[col]]
        table = pn.widgets.Tabulator(
            shown,
            show_index=False,
            disabled=True,
            pagination="local",
            page_size=15,
            sizing_mode="stretch_width",
            titles={c: self.t(f"col.{c}") for c in columns},
            layout="fit_data_stretch",
            widths={"sector": 200},
            css_classes=["mw-quality"],
        )
        quarantine = store.quarantine()
        self.frames["quarantine"] = quarantine
        last = pd.to_datetime(frame["last_ts"]).max() if not frame.empty else None
        summary = self.t(
            "quality.summary",
            customers=fmt_number(len(frame), lang),
            dups=fmt_number(int((frame["duplicate_of"] != "").sum()), lang),
            quarantined=fmt_number(int(pd.to_numeric(frame["quarantined"]).sum()), lang),
            last="–" if last is None or pd.isna(last) else f"{last:%Y-%m-%d %H:%M}",
        )
        client = self.state.client or None
        findings = store.findings(client, lang)
        self.frames["findings"] = findings
        findings_shown = pd.DataFrame(
            {
                "client_id": findings.get("client_id", pd.Series(dtype=str)),
                "code": findings.get("code", pd.Series(dtype=str)),
                "period_start": pd.to_datetime(
                    findings.get("period_start", pd.Series(dtype="datetime64[s]"))
                ).dt.strftime("%Y-%m-%d %H:%M"),
                "n_hours": findings.get("n_hours", pd.Series(dtype=float)),
                "text": findings.get("text", pd.Series(dtype=str)),
            }
        )
        parts: list[Any] = [
            pn.Row(
                _pane(
                    _html(self.t("quality.title"), "mw-h2")
                    + _html(summary, "mw-hint")
                    + _html(self.t("quality.hint"), "mw-hint"),
                    sizing_mode="stretch_width",
                ),
                self._download("quality"),
                sizing_mode="stretch_width",
            ),
            table,
            pn.Row(
                _pane(
                    _html(
                        self.t("quality.findings", client=client)
                        if client
                        else self.t("quality.findings_all"),
                        "mw-h2",
                    ),
                    sizing_mode="stretch_width",
                ),
                self._download("findings"),
                sizing_mode="stretch_width",
            ),
            pn.widgets.Tabulator(
                findings_shown,
                show_index=False,
                disabled=True,
                pagination="local",
                page_size=10,
                sizing_mode="stretch_width",
                layout="fit_data_stretch",
                titles={c: self.t(f"col.{c}") for c in findings_shown.columns},
            ),
            pn.Row(
                _pane(_html(self.t("quality.quarantine"), "mw-h2"), sizing_mode="stretch_width"),
                self._download("quarantine"),
                sizing_mode="stretch_width",
            ),
        ]
        if quarantine.empty:
            parts.append(_pane(_html(self.t("quality.no_quarantine"), "mw-hint")))
        else:
            parts.append(
                pn.widgets.Tabulator(
                    quarantine.assign(
                        source_file=[Path(str(f)).name for f in quarantine["source_file"]]
                    ),
                    show_index=False,
                    disabled=True,
                    sizing_mode="stretch_width",
                    layout="fit_data_stretch",
                    titles={c: self.t(f"col.{c}") for c in quarantine.columns},
                )
            )
        self.quality_body[:] = parts

    # serving --------------------------------------------------------------------------------------
    def view(self) -> pn.Column:
        return self.root


def create_app(store: DashboardStore) -> pn.viewable.Viewable:
    """A new session: state from the URL, the dashboard built on it, the URL kept in sync."""
    state = DashboardState()
    location = pn.state.location
    if location is not None:
        location.sync(state, URL_NAMES)
    dashboard = Dashboard(store, state)
    return dashboard.view()
