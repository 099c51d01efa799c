"""The alerts view: the ranked inbox, one alert's evidence and the inspection form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from meterwatch.dashboard import charts
from meterwatch.dashboard.store import PRIORITIES, AlertEvidence
from meterwatch.dashboard.texts import TEXTS, fmt_number, kind_label
from meterwatch.dashboard.views.base import ViewBase
from meterwatch.dashboard.widgets import (
    card,
    data_table,
    date_format,
    html,
    lima_time,
    naive,
    number_format,
    pane,
)
from meterwatch.i18n import alert_evidence, fmt_time
from meterwatch.queries import FEEDBACK_STATUSES, NO_FEEDBACK
from meterwatch.tables import watched


class AlertsView(ViewBase):
    """The alerts view: the ranked inbox, one alert's evidence and the inspection form."""

    # alerts -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.state.alert:
            self.layout[:] = self._alert_detail(self.state.alert)
        else:
            self.layout[:] = self._inbox()

    def _inbox(self) -> list[Any]:
        lang = self.state.lang
        store = self.store
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
        w_priority = pn.widgets.Select(
            label=self.t("filter.priority"),
            options={self._all(): "", **{self.t(f"priority.{p}"): p for p in PRIORITIES}},
            value=self.state.inbox_priority if self.state.inbox_priority in PRIORITIES else "",
            width=180,
        )
        for widget, name in (
            (w_kind, "inbox_kind"),
            (w_status, "inbox_status"),
            (w_priority, "inbox_priority"),
        ):
            widget.param.watch(lambda e, n=name: setattr(self.state, n, e.new), "value")
        # the filter bar above (customer, sector, days) narrows the inbox as it does the
        # other views; kind and inspection status are the inbox's own
        sel = store.normalise(self.state.selection())
        frame, outside = store.inbox(
            client_id=sel.client_id,
            sector=sel.sector,
            kind=self.state.inbox_kind or None,
            inspection=self.state.inbox_status or None,
            start=sel.start,
            end=sel.end,
            priority=self.state.inbox_priority if self.state.inbox_priority in PRIORITIES else None,
        )
        self.frames["alerts"] = frame.drop(columns=["params"], errors="ignore")
        shown = pd.DataFrame(
            {
                "rank": pd.to_numeric(frame["rank"]).astype("Int64"),
                "client_id": frame["client_id"],
                "sector": frame["sector"],
                "kind": [kind_label(k, lang) for k in frame["kind"]],
                "severity": [self.t(f"severity.{s}") for s in frame["severity"]],
                "window_start": naive(frame["window_start"]).to_numpy(),
                "window_end": naive(frame["window_end"]).to_numpy(),
                # numbers stay numbers (the headers sort them), written in the language
                "lost_kwh_estimate": pd.to_numeric(frame["lost_kwh_estimate"]).round(0),
                "loss_pen": pd.to_numeric(frame["loss_pen"]).round(0),
                "confidence": (100 * pd.to_numeric(frame["confidence"])).round(0),
                "status": [
                    self.t(f"status.{v}") if f"status.{v}" in TEXTS else str(v)
                    for v in frame["status"]
                ],
                "inspection_status": [
                    self.t(f"inspection.{s}") for s in frame["inspection_status"]
                ],
                "evidence": [
                    alert_evidence(k, p, e, lang)
                    for k, p, e in zip(
                        frame["kind"], frame["params"], frame["evidence"], strict=True
                    )
                ],
            }
        )
        table = data_table(
            shown,
            lang,
            selectable=False,
            pagination="local",
            page_size=12,
            sizing_mode="stretch_width",
            titles={c: self.t(f"col.{c}") for c in shown.columns},
            text_align={
                c: "right" for c in ("rank", "lost_kwh_estimate", "loss_pen", "confidence")
            },
            formatters={
                "window_start": date_format(lang),
                "window_end": date_format(lang),
                "lost_kwh_estimate": number_format(lang),
                "loss_pen": number_format(lang),
                "confidence": number_format(lang, suffix="%"),
                # long sector names and kinds wrap instead of being cut mid-word
                "sector": {"type": "textarea"},
                "kind": {"type": "textarea"},
                "status": {"type": "textarea"},
                "inspection_status": {"type": "textarea"},  # "pérdida confirmada"
                "evidence": {"type": "textarea"},
            },
            # 14 columns shared out across the screen (never wider); the text columns wrap
            layout="fit_columns",
            widths={
                "rank": "3%",
                "client_id": "7%",
                "sector": "11%",
                "kind": "8%",
                # one-word titles (Severidad, Confianza, Confidence, Inspección) need their width beside
                # the sort arrow: at 6 % of a 1,400 px screen the arrow covered their end
                "severity": "7%",
                "window_start": "6%",
                "window_end": "6%",
                "lost_kwh_estimate": "7%",
                "loss_pen": "7%",
                "confidence": "8%",
                "status": "6%",
                "inspection_status": "8%",
                "evidence": "16%",
            },
            css_classes=["mw-inbox"],
        )

        def open_alert(event: Any) -> None:
            if 0 <= event.row < len(frame):
                self.state.alert = str(frame["alert_id"].iloc[event.row])

        table.on_click(open_alert)
        total = float(frame["lost_kwh_estimate"].fillna(0).sum()) if not frame.empty else 0.0
        pen = float(frame["loss_pen"].fillna(0).sum()) if not frame.empty else 0.0
        summary = self.t(
            "inbox.count_one" if len(frame) == 1 else "inbox.count",
            n=fmt_number(len(frame), lang),
            kwh=fmt_number(total, lang),
            pen=fmt_number(pen, lang),
        )
        on_watch = int(watched(frame["params"]).sum())
        if 0 < on_watch < len(frame):  # both kinds listed: say how many of each
            summary += " · " + self.t(
                "inbox.split",
                raised=fmt_number(len(frame) - on_watch, lang),
                watched=fmt_number(on_watch, lang),
            )
        scope = self._period_text(sel) + "".join(
            f" · {v}" for v in (sel.sector, sel.client_id) if v
        )
        # alerts of other days (a first score covers the whole history; the days shown are
        # the last 90): said, with a button that shows them all
        every_day: list[Any] = []
        if len(outside):
            summary += " · " + self.t("inbox.outside", n=fmt_number(len(outside), lang))
            both = pd.concat([frame, outside], ignore_index=True)
            first = naive(both["window_start"]).min().date()
            last = max(naive(both["window_end"]).max().date(), sel.end or first)
            show_all = pn.widgets.Button(
                label=self.t("inbox.all_days"),
                color="default",
                width=200,
                css_classes=["mw-all-days"],
            )

            def every(_event: Any) -> None:
                self.state.param.update(start=first.isoformat(), end=last.isoformat())

            show_all.on_click(every)
            every_day = [show_all]
        if frame.empty:
            standing = store.alert_count()
            empty = (
                self.t("inbox.empty", n=fmt_number(standing, lang))
                if standing
                else self.t("inbox.none")
            )
        share = store.confirmed_share()
        self.frames["confirmed_share"] = share
        return [
            pn.Row(
                pane(
                    html(self.t("inbox.title"), "mw-h2") + html(self.t("inbox.hint"), "mw-hint"),
                    sizing_mode="stretch_width",
                ),
                self._download("alerts"),
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(w_kind, w_status, w_priority, sizing_mode="stretch_width"),
            pane(
                html(f"{scope} · {summary}", "mw-hint mw-inbox-count"),
                sizing_mode="stretch_width",
            ),
            *every_day,
            table
            if not frame.empty
            else pane(html(empty, "mw-hint mw-inbox-empty"), sizing_mode="stretch_width"),
            pn.Row(
                pane(html(self.t("chart.confirmed"), "mw-h2"), sizing_mode="stretch_width"),
                self._download("confirmed_share"),
                sizing_mode="stretch_width",
            ),
            pn.pane.HoloViews(charts.confirmed_share(share, lang), sizing_mode="stretch_width")
            if not share.empty
            else pane(html(self.t("chart.no_verdicts"), "mw-hint")),
        ]

    def _alert_detail(self, alert_id: str) -> list[Any]:
        lang = self.state.lang
        evidence = self.store.evidence(alert_id)
        close = pn.widgets.Button(label="← " + self.t("inbox.title"), color="light", width=180)
        close.on_click(lambda _e: setattr(self.state, "alert", ""))
        if evidence is None:
            return [close, pane(html(self.t("alert.not_found", id=alert_id), "mw-hint"))]
        alert = evidence.alert
        client = str(alert["client_id"])
        start, end = pd.Timestamp(alert["window_start"]), pd.Timestamp(alert["window_end"])
        title = self.t("alert.title", id=alert_id, client=client)

        def facts(inspection: str) -> str:
            return html(
                f"{alert.get('sector') or ''} · {kind_label(alert['kind'], lang)} · {self.t('col.severity')}: "
                f"{self.t('severity.' + str(alert['severity']))} · "
                f"{self.t('col.inspection_status')}: {self.t('inspection.' + inspection)}",
                "mw-hint mw-alert-facts",
            )

        facts_pane = pane(facts(str(alert["inspection_status"])), sizing_mode="stretch_width")
        window = self.t(
            "alert.window",
            start=fmt_time(start, lang),
            end=fmt_time(end, lang),
            hours=fmt_number(alert.get("n_hours"), lang),
        )

        def before(value: float | None, unit: str, digits: int = 0) -> str:
            return self.t("alert.before", value=f"{fmt_number(value, lang, digits)} {unit}".strip())

        cards = [
            card(self.t("alert.reported"), f"{fmt_number(evidence.reported_kwh, lang)} kWh"),
            card(self.t("alert.expected"), f"{fmt_number(evidence.expected_kwh, lang)} kWh"),
            card(
                self.t("alert.missing"),
                f"{fmt_number(evidence.missing_kwh, lang)} kWh",
                self.t(
                    "alert.missing_flagged",
                    kwh=fmt_number(alert.get("lost_kwh_estimate"), lang),
                    hours=fmt_number(alert.get("n_hours"), lang),
                ),
                bad=evidence.missing_kwh > 0,
            ),
            card(
                self.t("alert.ratio"),
                fmt_number(evidence.ratio_window, lang, 2),
                before(evidence.ratio_before, "", 2),
            ),
            card(
                self.t("alert.voltage_fa"),
                f"{fmt_number(evidence.voltage_fa_window, lang)} V",
                before(evidence.voltage_fa_before, "V"),
            ),
            card(
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
            pane(html(title, "mw-h2"), sizing_mode="stretch_width"),
            facts_pane,
            pane(
                html(window, "mw-hint")
                + html(
                    alert_evidence(
                        alert.get("kind"), alert.get("params"), alert.get("evidence"), lang
                    ),
                    "mw-evidence",
                ),
                sizing_mode="stretch_width",
            ),
            pane(
                '<div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:10px">'
                + "".join(cards)
                + "</div>",
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pane(html(self.t("chart.forecast"), "mw-h2"), sizing_mode="stretch_width"),
                self._download("alert_scores"),
                sizing_mode="stretch_width",
            ),
            pn.pane.HoloViews(
                charts.forecast(scores, lang, height=260), sizing_mode="stretch_width"
            ),
            pn.Row(
                pn.Column(
                    pn.Row(
                        pane(html(self.t("chart.voltage"), "mw-h2"), sizing_mode="stretch_width"),
                        self._download("alert_series"),
                        sizing_mode="stretch_width",
                    ),
                    pn.pane.HoloViews(charts.voltages(series, lang), sizing_mode="stretch_width"),
                    sizing_mode="stretch_width",
                ),
                pn.Column(
                    pn.Row(
                        pane(
                            html(self.t("chart.peers"), "mw-h2") + self._peers_note(evidence),
                            sizing_mode="stretch_width",
                        ),
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
            # a saved verdict shows at once in the facts line (not only after a reload)
            self._feedback_form(
                alert_id, lambda status: setattr(facts_pane, "object", facts(status))
            ),
        ]

    def _peers_note(self, evidence: AlertEvidence) -> str:
        """How many of the sector's customers the comparison shows (all, or a fixed sample)."""
        peers = evidence.peers
        if peers.empty or int(peers["peers"].max()) == 0:
            return ""
        shown, total = int(peers["peers"].max()), int(peers["sector_peers"].max())
        if shown < total:
            return html(self.t("chart.peers_sample", n=shown, total=total), "mw-hint")
        return html(self.t("chart.peers_all", n=shown), "mw-hint")

    def _feedback_form(self, alert_id: str, on_saved: Callable[[str], None]) -> pn.Column:
        status = pn.widgets.Select(
            label=self.t("feedback.status"),
            options={self.t(f"inspection.{s}"): s for s in FEEDBACK_STATUSES},
            width=220,
            css_classes=["mw-fb-status"],
        )
        note = pn.widgets.TextAreaInput(
            label=self.t("feedback.note"), height=80, width=380, css_classes=["mw-fb-note"]
        )
        # With accounts the verdict is signed by the login, not by a name anyone could type.
        author: Any = (
            pane(
                html(self.t("feedback.signed_in", user=self.user), "mw-hint"),
                width=220,
                css_classes=["mw-fb-user"],
            )
            if self.user
            else pn.widgets.TextInput(
                label=self.t("feedback.author"), width=220, css_classes=["mw-fb-author"]
            )
        )
        save = pn.widgets.Button(
            label=self.t("feedback.save"),
            color="primary",
            width=120,
            align="end",
            css_classes=["mw-fb-save"],
        )
        message = pane("", sizing_mode="stretch_width", css_classes=["mw-fb-message"])
        history = pn.Column(sizing_mode="stretch_width")

        def show_history() -> None:
            frame = self.store.alert_feedback(alert_id)
            self.frames["feedback"] = frame
            if frame.empty:
                history[:] = [pane(html(self.t("feedback.none"), "mw-hint"))]
                return
            shown = pd.DataFrame(
                {
                    "created_at": lima_time(frame["created_at"]).to_numpy(),
                    "status": [self.t(f"inspection.{s}") for s in frame["status"]],
                    "author": frame["author"],
                    "note": frame["note"],
                }
            )
            history[:] = [
                data_table(
                    shown,
                    self.state.lang,
                    sizing_mode="stretch_width",
                    titles={
                        "created_at": self.t("col.created_at"),
                        "status": self.t("feedback.status"),
                        "author": self.t("col.author"),
                        "note": self.t("col.note"),
                    },
                    formatters={"created_at": date_format(self.state.lang, hours=True)},
                    layout="fit_data_stretch",
                    css_classes=["mw-fb-history"],
                )
            ]

        def submit(_event: Any) -> None:
            name = self.user or (author.value or "").strip()
            if not name:
                message.object = html(self.t("feedback.need_author"), "mw-hint")
                return
            self.store.record_feedback(alert_id, str(status.value), note.value or "", name)
            label = self.t(f"inspection.{status.value}")
            message.object = html(
                self.t("feedback.saved", status=label, author=name), "mw-evidence"
            )
            note.value = ""
            show_history()
            on_saved(str(status.value))

        save.on_click(submit)
        show_history()
        return pn.Column(
            pane(html(self.t("feedback.title"), "mw-h2")),
            pn.FlexBox(status, note, author, save, align_items="end", sizing_mode="stretch_width"),
            pane(html(self.t("feedback.learning"), "mw-hint")),
            message,
            pane(html(self.t("feedback.history"), "mw-h2")),
            history,
            sizing_mode="stretch_width",
            styles={"border-top": "1px solid #e2e8f0", "margin-top": "8px", "padding-top": "6px"},
        )
