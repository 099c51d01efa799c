"""Bokeh's defaults resolved once per class: the same documents, to the byte, as without it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from meterwatch.dashboard.store import DashboardStore
from meterwatch.ingest import ingest_paths
from meterwatch.storage import open_lake

pn = pytest.importorskip("panel")


def _session_json(store: DashboardStore, **state: Any) -> str:
    """A session's document as the websocket would send it, its model ids renumbered."""
    from bokeh.document import Document

    from meterwatch.dashboard.app import Dashboard, DashboardState

    doc = Document()
    pn.state.curdoc = doc
    try:
        dashboard = Dashboard(store, DashboardState(**state))
        dashboard.view().server_doc(doc)
        text = json.dumps(doc.to_json(), sort_keys=True, default=_plain)
    finally:
        pn.state.curdoc = None
    ids: dict[str, str] = {}
    # Bokeh's model ids and Panel's object names come from process-wide counters, some
    # Panel ids are random
    return re.sub(
        r"\bp\d{4,}\b|\b[A-Z][A-Za-z]*\d+\b|\b[0-9a-f]{32}\b",
        lambda m: ids.setdefault(m.group(0), f"#{len(ids)}"),
        text,
    )


def _plain(value: Any) -> Any:
    content = getattr(value, "content", None)  # bokeh's Serialized wrapper
    if content is not None:
        return content
    if hasattr(value, "to_base64"):  # a Buffer: its bytes, not its address
        return value.to_base64()
    return repr(value)


def test_a_session_serialises_the_same_with_the_cached_defaults(
    tmp_path: Path, small_fleet: Path
) -> None:
    from meterwatch.dashboard import bokeh_defaults

    lake = open_lake(str(tmp_path / "lake"))
    ingest_paths(lake, [small_fleet])
    store = DashboardStore(lake)
    states = [{}, {"client": "Cliente 2", "tab": "alertas"}, {"lang": "en", "tab": "calidad"}]
    was_installed = bokeh_defaults._installed
    bokeh_defaults.uninstall()
    try:
        plain = [_session_json(store, **s) for s in states]
        assert bokeh_defaults.install()
        # twice: the first session fills the cache, the second reads it
        cached = [[_session_json(store, **s) for s in states] for _ in range(2)]
    finally:
        bokeh_defaults.uninstall()
        if was_installed:
            bokeh_defaults.install()
    for n, text in enumerate(plain):
        assert len(text) > 10_000
        assert cached[0][n] == text
        assert cached[1][n] == text


def test_a_mutable_default_is_not_shared_between_models() -> None:
    """A dash pattern's default list: each model gets its own, as Bokeh gives it."""
    from bokeh.models import LinearAxis

    from meterwatch.dashboard import bokeh_defaults

    bokeh_defaults.install()
    a, b = LinearAxis(), LinearAxis()
    assert a.axis_line_dash == b.axis_line_dash
    assert a.axis_line_dash is not b.axis_line_dash
    assert a.axis_label is None and a.major_label_orientation == "horizontal"


def test_a_sessions_date_charts_share_one_ticker_and_formatter() -> None:
    """Three date charts of a session: one ticker (13 models) and one formatter per
    language in its document, not one each; outside a session, each chart its own."""
    from bokeh.document import Document
    from bokeh.models import DatetimeAxis

    from meterwatch.dashboard.live import styled_figure

    doc, other = Document(), Document()
    try:
        pn.state.curdoc = doc
        figs = [styled_figure("es", height=200) for _ in range(3)]
        english = styled_figure("en", height=200)
        pn.state.curdoc = other
        elsewhere = styled_figure("es", height=200)
    finally:
        pn.state.curdoc = None
    alone = [styled_figure("es", height=200) for _ in range(2)]
    axes = [f.xaxis[0] for f in (*figs, english, elsewhere, *alone)]
    assert all(isinstance(a, DatetimeAxis) for a in axes)
    assert len({id(a.ticker) for a in axes[:4]}) == 1
    assert len({id(a.formatter) for a in axes[:3]}) == 1
    assert axes[3].formatter is not axes[0].formatter  # the language's own labels
    assert axes[4].ticker is not axes[0].ticker  # another session's document
    assert axes[5].ticker is not axes[6].ticker
    assert len({id(a.major_label_policy) for a in (*figs[0].xaxis, *figs[0].yaxis)}) == 1


def test_a_closed_sessions_shared_models_are_released() -> None:
    """The per-document registry holds its documents weakly: once Bokeh destroys a closed
    session's document (its models let go of it), nothing of that session stays."""
    import gc

    from bokeh.document import Document

    from meterwatch.dashboard import live

    before = len(live._SHARED)
    doc = Document()
    try:
        pn.state.curdoc = doc
        doc.add_root(live.styled_figure("es", height=200))
    finally:
        pn.state.curdoc = None
    assert len(live._SHARED) == before + 1

    def session(event: object) -> None:  # what the server registers for a session
        pass

    doc.on_change(session)
    doc.destroy(session)  # as the server does when the session closes
    del doc
    gc.collect()
    assert len(live._SHARED) == before
