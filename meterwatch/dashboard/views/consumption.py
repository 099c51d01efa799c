"""The consumption view: KPI cards, energy per customer, voltages, forecast, load map."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import panel as pn

from meterwatch.dashboard import live
from meterwatch.dashboard.live import LiveFigure
from meterwatch.dashboard.store import (
    RECENT_DAYS,
)
from meterwatch.dashboard.texts import TEXTS, fmt_number, fmt_percent
from meterwatch.dashboard.views.base import ViewBase
from meterwatch.dashboard.widgets import card, html, pane
from meterwatch.i18n import fmt_day


class ConsumptionView(ViewBase):
    """The consumption view: KPI cards, energy per customer, voltages, forecast, load map.

    Its charts are built once per session (:class:`~meterwatch.dashboard.live.LiveFigure`)
    and a refresh replaces their data."""

    def _build(self) -> None:
        self.p_alarm = pane("", sizing_mode="stretch_width", visible=False)
        self.p_cards = pane("", sizing_mode="stretch_width")
        self.c_bars, self.c_volt, self.c_forecast = LiveFigure(), LiveFigure(), LiveFigure()
        self.c_heat, self.c_profile = LiveFigure(), LiveFigure()
        self.h_bars = pane(sizing_mode="stretch_width")
        self.h_volt = pane(sizing_mode="stretch_width")
        self.h_forecast = pane(sizing_mode="stretch_width")
        self.h_heat = pane(sizing_mode="stretch_width")
        profile_title = pane(html(self.t("chart.profile"), "mw-h2"), sizing_mode="stretch_width")
        self.layout[:] = [
            self.p_alarm,
            self.p_cards,
            pn.Row(
                self._box(self.h_bars, self.c_bars.pane, "energy_by_customer"),
                self._box(self.h_volt, self.c_volt.pane, "series"),
                sizing_mode="stretch_width",
            ),
            self._box(self.h_forecast, self.c_forecast.pane, "forecast", wide=True),
            pn.Row(
                self._box(self.h_heat, self.c_heat.pane, "heatmap"),
                self._box(profile_title, self.c_profile.pane, "hour_profile"),
                sizing_mode="stretch_width",
            ),
        ]

    def refresh(self) -> None:
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
            card(self.t("kpi.total"), f"{fmt_number(total, lang)} kWh", self._period_text(sel))
        ]
        alarm = ""
        if sel.client_id is None:
            hint = self.t("kpi.no_customer")
            cards.append(card(self.t("kpi.mape", h=store.period_hours), "–", hint))
            cards.append(card(self.t("kpi.anomalous", n=RECENT_DAYS), "–", hint))
        else:
            model = store.model(sel.client_id)
            cards.append(self._accuracy_card(model, store.period_hours))
            recent = store.recent_anomalies(sel.client_id)
            if recent.hours:
                cards.append(
                    card(
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
                    card(self.t("kpi.anomalous", n=RECENT_DAYS), "–", self.t("kpi.no_scores"))
                )
            if recent.alarm:
                alarm = html(
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
            cards.append(card(self.t("kpi.peak"), "–", ""))
        else:
            cards.append(
                card(
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
        # customers of the selection without a reading in the period are not bars: say so,
        # or a fleet whose files end at different dates looks smaller than it is
        customers = store.customers(sel.sector)
        if 0 < len(by_customer) < len(customers):
            notes.append(self.t("chart.energy_readings", n=len(by_customer), total=len(customers)))
        if sel.client_id is not None:
            notes.append(self.t("chart.energy_context", client=sel.client_id))
        sub = " · ".join(notes)
        self.h_bars.object = html(self.t("chart.energy_by_customer"), "mw-h2") + (
            html(sub, "mw-hint") if sub else ""
        )
        self._draw(self.c_bars, live.EnergyByCustomer, by_customer, (by_customer, sel.client_id))
        if sel.client_id is None:
            self.h_volt.object = (
                html(self.t("chart.energy_time"), "mw-h2")
                + html(self.t("chart.voltage_hint"), "mw-hint")
                + self._partial_note(series)
            )
            self._draw(self.c_volt, live.EnergyOverTime, series)
            self.h_forecast.object = html(self.t("chart.forecast"), "mw-h2") + html(
                self.t("chart.forecast_hint"), "mw-hint"
            )
            self.frames["forecast"] = pd.DataFrame()
            self.c_forecast.message(self.t("chart.forecast_hint"))
            self.c_forecast.pane.visible = False
        else:
            self.h_volt.object = html(self.t("chart.voltage"), "mw-h2") + self._partial_note(series)
            self._draw(self.c_volt, live.Voltages, series)
            scores, _ = store.customer_scores(sel)
            self.frames["forecast"] = scores
            self.h_forecast.object = html(
                f"{self.t('chart.forecast')} · {sel.client_id}", "mw-h2"
            ) + self._partial_note(scores)
            if scores.empty:
                self.c_forecast.message(self.t("chart.no_scores"))
            else:
                self.c_forecast.show(live.Forecast, lang, scores)
            self.c_forecast.pane.visible = True
        who = sel.client_id or sel.sector or self._all()
        self.h_heat.object = html(f"{self.t('chart.heatmap')} · {who}", "mw-h2")
        self._draw(self.c_heat, live.Heatmap, heat)
        span = None if peak is None else (peak.start_hour, peak.end_hour)
        self._draw(self.c_profile, live.HourProfile, profile, (profile, span))

    def _partial_note(self, frame: pd.DataFrame) -> str:
        """Which incomplete days a daily chart leaves out (drawn, they read as a fall to 0)."""
        days = frame.attrs.get("partial_days") or []
        if not days:
            return ""
        shown = ", ".join(fmt_day(d, self.state.lang) for d in days[:3])
        more = f" (+{len(days) - 3})" if len(days) > 3 else ""
        return html(self.t("chart.partial_days", days=shown + more), "mw-hint mw-partial")

    def _accuracy_card(self, model: dict[str, Any] | None, hours: int) -> str:
        """The forecast's held-out error as operators judge it: the MAPE of the energy per
        period of ``hours`` (the hourly MAPE reads 9–570 % on real customers, whose idle hours
        near 0 kWh blow it up), with the hourly WAPE beside it."""
        lang = self.state.lang
        title = self.t("kpi.mape", h=hours)
        if model is None:
            return card(title, "–", self.t("kpi.no_model"))
        period, wape = model.get("period_mape"), model.get("wape")
        value = "–" if period is None else fmt_percent(period / 100, lang, 1)
        detail = [self._model_label(model)]
        if wape is not None:
            detail.insert(0, self.t("kpi.wape", wape=fmt_percent(wape / 100, lang, 1)))
        elif period is None and model.get("kind") == "xgboost":
            detail.insert(0, self.t("kpi.retrain"))
        return card(title, value, " · ".join(detail))

    def _model_label(self, model: Any) -> str:
        """The model's kind in the operator's words (the code name when there is none)."""
        kind = str(model.get("kind", ""))
        key = f"kpi.model.{kind}"
        return self.t(key) if key in TEXTS else kind
