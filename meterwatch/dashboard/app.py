"""The operators' Panel app: filters, consumption views, alerts inbox, data quality.

Everything it shows comes from a :class:`~meterwatch.dashboard.store.DashboardStore`; the
selection lives in a :class:`DashboardState` synchronised with the URL, so a link opens
the same view. Changing the language rebuilds the widgets from the same state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
import param

from meterwatch.dashboard import bokeh_defaults
from meterwatch.dashboard.login import request_user
from meterwatch.dashboard.quiet import quiet_closed_sockets
from meterwatch.dashboard.store import (
    DashboardStore,
    Selection,
)
from meterwatch.dashboard.texts import tr
from meterwatch.dashboard.views.alerts import AlertsView
from meterwatch.dashboard.views.base import ViewBase
from meterwatch.dashboard.views.consumption import ConsumptionView
from meterwatch.dashboard.views.quality import QualityView
from meterwatch.dashboard.widgets import (
    DatePicker,
    pane,
    parse_date,
    spanish_calendars,
)

log = logging.getLogger(__name__)

TABS = ("consumo", "alertas", "calidad")

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
    "inbox_kind": "a_tipo",
    "inbox_status": "a_estado",
    "inbox_priority": "a_prioridad",
}


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
    inbox_kind = param.String(default="")
    inbox_status = param.String(default="")
    inbox_priority = param.String(default="")

    def selection(self) -> Selection:
        return Selection(
            start=parse_date(self.start),
            end=parse_date(self.end),
            hour_from=min(self.hour_from, self.hour_to),
            hour_to=max(self.hour_from, self.hour_to),
            client_id=self.client or None,
            sector=self.sector or None,
        )


class Dashboard:
    """One browser session's dashboard: header, filters and navigation over the views."""

    def __init__(
        self, store: DashboardStore, state: DashboardState | None = None, user: str | None = None
    ) -> None:
        self.store = store
        self.state = state or DashboardState()
        self.user = user
        self.frames: dict[str, pd.DataFrame] = {}
        self._stale: set[str] = set(TABS)
        self._syncing = False
        self.root = pn.Column(sizing_mode="stretch_width")
        # built by _build, except on an empty lake (a message instead of the filters and views)
        self.w_client: pn.widgets.Select | None = None
        self.views: dict[str, ViewBase] = {}
        self._build()
        self.state.param.watch(self._on_lang, ["lang"])
        self.state.param.watch(
            self._on_filters, ["start", "end", "hour_from", "hour_to", "client", "sector"]
        )
        self.state.param.watch(self._on_inbox, ["inbox_kind", "inbox_status", "inbox_priority"])
        self.state.param.watch(self._on_alert, ["alert"])
        self.state.param.watch(self._on_tab, ["tab"])

    # building ---------------------------------------------------------------------------
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
            pane(
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
        self.w_start = DatePicker.for_language(
            self.state.lang,
            css_classes=["mw-f-start"],
            label=self.t("filter.start"),
            value=sel.start,
            start=days.first,
            end=days.last,
            width=140,
        )
        self.w_end = DatePicker.for_language(
            self.state.lang,
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
            options=self._client_options(),
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

        # the views, each with its own panes; one shows at a time
        args = (self.store, self.state, self.user, self.frames)
        self.consumption = ConsumptionView(*args)
        self.alerts = AlertsView(*args)
        self.quality = QualityView(*args)

        # A button bar and one body instead of pn.Tabs: only the view on screen is in the page.
        # (Responsive plots inside a FlexBox nested in columns render zero wide: rows here.)
        self.views = {
            "consumo": self.consumption,
            "alertas": self.alerts,
            "calidad": self.quality,
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
        self.body = pn.Column(self.views[self.state.tab].layout, sizing_mode="stretch_width")
        self.root[:] = [header, filters, self.nav, self.body]
        self._stale = set(TABS)
        self._refresh(self.state.tab)

    def t(self, key: str, **params: Any) -> str:
        return tr(key, self.state.lang, **params)

    def _all(self) -> str:
        return self.t("all")

    def _client_options(self) -> dict[str, str]:
        customers = self.store.customers(self.state.sector or None)
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
        self.body[:] = [self.views[event.new].layout]
        if event.new in self._stale:
            self._refresh(event.new)

    def _on_filters(self, *_events: param.parameterized.Event) -> None:
        if self.w_client is not None:
            self._syncing = True
            try:
                # A thousand options are worth sending only when the sector changed.
                options = self._client_options()
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
        if self.body.objects and self.body.objects[0] is self.views[self.state.tab].layout:
            self._refresh(self.state.tab)
        # else the tab changes in the same update ("Ver cliente en Consumo" from an alert):
        # _on_tab refreshes it once it is shown. A chart updated while its view was detached
        # kept its old picture in the browser (the alert's customer over the fleet's profile).

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
        if tab not in self.views:
            return
        self._stale.discard(tab)
        # One message to the browser for all the panes a refresh changes.
        started = time.perf_counter()
        with pn.io.hold():
            self._refresh_now(tab)
        log.debug("refresh %s in %.3f s", tab, time.perf_counter() - started)

    def _refresh_now(self, tab: str) -> None:
        self.views[tab].refresh()

    # serving --------------------------------------------------------------------------------------
    def view(self) -> pn.Column:
        return self.root


def create_app(store: DashboardStore) -> pn.viewable.Viewable:
    """A new session: state from the URL, the dashboard built on it, the URL kept in sync.

    The logged-in operator (if the dashboard has accounts) signs the inspection feedback.
    """
    quiet_closed_sockets()
    bokeh_defaults.install()
    state = DashboardState()
    location = pn.state.location
    if location is not None:
        location.sync(state, URL_NAMES)
    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    user = request_user(getattr(context, "request", None))
    dashboard = Dashboard(store, state, user=user)
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.js_on_event("document_ready", spanish_calendars())
    return dashboard.view()
