"""The data-quality view: quality per customer, the findings, and the rejected rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import panel as pn

from meterwatch.dashboard.texts import fmt_number
from meterwatch.dashboard.views.base import ViewBase
from meterwatch.dashboard.widgets import data_table, date_format, html, naive, number_format, pane
from meterwatch.i18n import fmt_time, t


class QualityView(ViewBase):
    """Quality per customer, the findings of the selection, and the rejected rows."""

    # data quality ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        lang = self.state.lang
        store = self.store
        frame = store.quality(self.state.sector or None)
        self.frames["quality"] = frame
        counts = (
            "gaps",
            "gap_hours",
            "zero_runs",
            "zero_hours",
            "negative_runs",
            "negative_hours",
            "voltage_findings",
            "quarantined",
        )
        columns = ["client_id", "sector", "completeness", *counts, "duplicate_of", "last_ts"]
        shown = frame[columns].copy()
        # numbers stay numbers (the headers sort them), written in the operator's language
        shown["completeness"] = 100 * pd.to_numeric(shown["completeness"])
        shown["last_ts"] = naive(shown["last_ts"]).to_numpy()
        formatters: dict[str, Any] = {c: number_format(lang) for c in counts}
        formatters["last_ts"] = date_format(lang, hours=True)
        formatters["completeness"] = number_format(lang, suffix="%", digits=1)
        for col in counts:
            shown[col] = pd.to_numeric(shown[col])
        table = data_table(
            shown,
            lang,
            pagination="local",
            page_size=15,
            sizing_mode="stretch_width",
            titles={c: self.t(f"col.{c}") for c in columns},
            formatters=formatters,
            text_align={c: "right" for c in ("completeness", *counts)},
            # 13 columns: shared out across the screen, never wider than it
            layout="fit_columns",
            widths={"client_id": "8%", "sector": "14%", "completeness": "8%", "last_ts": "11%"},
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
            last="–" if last is None or pd.isna(last) else fmt_time(pd.Timestamp(last), lang),
        )
        client = self.state.client or None
        findings = store.findings(client, lang)
        self.frames["findings"] = findings
        findings_shown = pd.DataFrame(
            {
                "client_id": findings.get("client_id", pd.Series(dtype=str)),
                "code": findings.get("code", pd.Series(dtype=str)),
                "period_start": naive(
                    findings.get("period_start", pd.Series(dtype="datetime64[s]"))
                ).to_numpy(),
                "n_hours": findings.get("n_hours", pd.Series(dtype=float)),
                "text": findings.get("text", pd.Series(dtype=str)),
            }
        )
        parts: list[Any] = [
            pn.Row(
                pane(
                    html(self.t("quality.title"), "mw-h2")
                    + html(summary, "mw-hint")
                    + html(self.t("quality.hint"), "mw-hint"),
                    sizing_mode="stretch_width",
                ),
                self._download("quality"),
                sizing_mode="stretch_width",
            ),
            table,
            pn.Row(
                pane(
                    html(
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
            data_table(
                findings_shown,
                lang,
                pagination="local",
                page_size=10,
                sizing_mode="stretch_width",
                layout="fit_columns",
                titles={c: self.t(f"col.{c}") for c in findings_shown.columns},
                formatters={
                    "period_start": date_format(lang, hours=True),
                    "text": {"type": "textarea"},  # a long sentence wraps, not cut at the edge
                },
                widths={"text": "55%"},
            ),
            pn.Row(
                pane(html(self.t("quality.quarantine"), "mw-h2"), sizing_mode="stretch_width"),
                self._download("quarantine"),
                sizing_mode="stretch_width",
            ),
        ]
        if quarantine.empty:
            parts.append(pane(html(self.t("quality.no_quarantine"), "mw-hint")))
        else:
            parts.append(
                data_table(
                    quarantine.assign(
                        source_file=[Path(str(f)).name for f in quarantine["source_file"]],
                        reason=[t(str(code), lang) for code in quarantine["reason_code"]],
                    )[["source_file", "reason", "reason_code", "rows_rejected"]],
                    lang,
                    sizing_mode="stretch_width",
                    layout="fit_data_stretch",
                    titles={
                        c: self.t(f"col.{c}")
                        for c in ("source_file", "reason", "reason_code", "rows_rejected")
                    },
                )
            )
        self.layout[:] = parts
