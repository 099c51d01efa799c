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

pn.extension("tabulator")


@pn.cache
def _store() -> DashboardStore:
    return DashboardStore(open_lake(Settings.load().lake))


create_app(_store()).servable(title="meterwatch")
