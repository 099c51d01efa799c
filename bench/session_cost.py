"""A dashboard session's cost in process: the page's document built and serialised, no server.

Usage::

    cd /tmp && python /path/to/bench/session_cost.py --lake LAKE [--sessions 10] [--repeats 5]
        [--plain] [--checks] [--code DIR]

Each session is what ``meterwatch serve`` does for a new page, without the network: a new
Bokeh document, :func:`meterwatch.dashboard.app.create_app` on a warm store (the dashboard's
default view), the view put into the document, and the document serialised as the websocket
sends it. Prints the model count and the CPU time per session (best and every repeat of
``--sessions`` sessions). ``--plain`` leaves Bokeh's own property defaults in place (no
:mod:`meterwatch.dashboard.bokeh_defaults`), to compare both in the same minutes; ``--checks``
turns Bokeh's developer checks on (``meterwatch serve`` runs with them off:
:func:`meterwatch.dashboard.server.developer_checks`); ``--code DIR`` runs another checkout's
code (put first on the path). CPU time, not wall time: this machine's
other work moves wall time more than the change being measured.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plain", action="store_true", help="Bokeh's own defaults machinery")
    parser.add_argument("--code", help="a checkout whose code to measure")
    parser.add_argument(
        "--checks", action="store_true", help="Bokeh's developer checks on (serve: off)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve() if args.code else Path(__file__).parents[1]))

    import panel as pn
    from bokeh.document import Document

    from meterwatch.dashboard import app
    from meterwatch.dashboard.store import DashboardStore
    from meterwatch.settings import Settings
    from meterwatch.storage import open_lake

    if args.plain:
        try:
            from meterwatch.dashboard import bokeh_defaults
        except ImportError:  # a checkout from before the cache
            pass
        else:
            bokeh_defaults.install = lambda: False  # create_app installs it otherwise
    try:
        from meterwatch.dashboard.server import developer_checks
    except ImportError:  # a checkout from before it: what its serve did
        from bokeh.settings import settings as bokeh_settings

        bokeh_settings.perform_document_validation.set_value(args.checks)
    else:
        developer_checks(args.checks)
    store = DashboardStore(open_lake(args.lake, Settings()))

    def session() -> int:
        doc = Document()
        pn.state.curdoc = doc
        try:
            app.create_app(store).server_doc(doc)
            doc.to_json()
            return len(list(doc.models))
        finally:
            pn.state.curdoc = None

    models = session()  # the store warms, the caches fill
    per_session = []
    for _ in range(args.repeats):
        started = time.process_time()
        for _ in range(args.sessions):
            session()
        per_session.append((time.process_time() - started) / args.sessions * 1000)
    shown = ", ".join(f"{ms:.0f}" for ms in per_session)
    print(f"{models} models a session; CPU per session best {min(per_session):.0f} ms ({shown})")


if __name__ == "__main__":
    main()
