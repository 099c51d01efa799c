"""What every view of the dashboard shares: the store, the state, the frames and helpers.

The views (consumption, alerts, data quality) are Panel ``Viewer`` classes on :class:`ViewBase`,
each with its own panes; the :class:`~meterwatch.dashboard.app.Dashboard` builds the header,
the filters and the navigation, and shows one view at a time.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from meterwatch.dashboard.live import LiveChart, LiveFigure
from meterwatch.dashboard.store import (
    DashboardStore,
    Selection,
)
from meterwatch.dashboard.texts import tr
from meterwatch.i18n import fmt_day
from meterwatch.spreadsheet import escape_formulas

if TYPE_CHECKING:
    from meterwatch.dashboard.app import DashboardState


class ViewBase(pn.viewable.Viewer):
    """One view of a session: it builds its own panes, ``refresh()`` redraws them from the
    store for the state's selection, and it shows as :attr:`layout` wherever it is placed."""

    def __init__(
        self,
        store: DashboardStore,
        state: DashboardState,
        user: str | None,
        frames: dict[str, pd.DataFrame],
    ) -> None:
        super().__init__()
        self.store = store
        self.state = state
        self.user = user  # the logged-in operator; None when served without accounts
        self.frames = frames  # the session's frames behind every chart's CSV download
        self.layout = pn.Column(sizing_mode="stretch_width")
        self._build()

    def _build(self) -> None:
        """Put the view's panes in :attr:`layout` (once; ``refresh`` fills them)."""

    def refresh(self) -> None:
        """Redraw the view for the state's selection and language."""
        raise NotImplementedError

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout

    def t(self, key: str, **params: Any) -> str:
        return tr(key, self.state.lang, **params)

    def _all(self) -> str:
        return self.t("all")

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
            return io.StringIO(escape_formulas(data).to_csv(index=False))

        return pn.widgets.FileDownload(
            callback=csv,
            filename=f"meterwatch_{frame}.csv",
            label=self.t("download"),
            color="light",
            width=140,
            align="end",
            css_classes=[f"mw-dl-{frame}"],
        )

    def _draw(
        self, chart: LiveFigure, kind: type[LiveChart], frame: pd.DataFrame, data: Any = None
    ) -> None:
        """``frame`` (or ``data`` built from it) in ``chart``; a message when it is empty."""
        if frame.empty:
            chart.message(tr("chart.no_data", self.state.lang))
        else:
            chart.show(kind, self.state.lang, frame if data is None else data)

    def _period_text(self, sel: Selection) -> str:
        assert sel.start is not None and sel.end is not None
        hours = "" if sel.all_hours else f" · {sel.hour_from:02d}–{sel.hour_to:02d} h"
        lang = self.state.lang
        return f"{fmt_day(sel.start, lang)} – {fmt_day(sel.end, lang)}{hours}"
