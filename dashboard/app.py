"""Entry for ``panel serve dashboard/app.py`` (development): the same app ``meterwatch serve`` runs.

The lake comes from ``METERWATCH_LAKE`` (default ``./lake``). Authentication is the job of
``meterwatch serve``; use that command for anything but a local development server.
"""

from __future__ import annotations

import panel as pn

from meterwatch.dashboard.app import create_app
from meterwatch.dashboard.store import DashboardStore
from meterwatch.settings import Settings
from meterwatch.storage import open_lake
from meterwatch.tariffs import Tariffs

pn.extension("tabulator")


@pn.cache
def _store() -> DashboardStore:
    settings = Settings.load()  # this entry point's composition root
    return DashboardStore(
        open_lake(settings.lake, settings),
        tariffs=Tariffs.from_settings(settings),
        period_hours=settings.period_hours,
    )


create_app(_store()).servable(title="meterwatch")
