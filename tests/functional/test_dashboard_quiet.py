"""A browser closing mid-update leaves no traceback in the server log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest


def test_a_closed_websocket_is_not_logged_as_an_error(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    pytest.importorskip("panel")
    from tornado.websocket import WebSocketClosedError

    from meterwatch.dashboard import quiet
    from meterwatch.dashboard.app import create_app
    from meterwatch.dashboard.store import DashboardStore
    from meterwatch.storage import open_lake

    for name in quiet.LOGGERS:
        logging.getLogger(name).removeFilter(quiet._FILTER)
    store = DashboardStore(open_lake(str(tmp_path / "lake")))
    create_app(store)  # every session installs it (once)
    create_app(store)
    logger = logging.getLogger("asyncio")
    assert logger.filters.count(quiet._FILTER) == 1
    with caplog.at_level(logging.ERROR):
        try:
            try:
                raise WebSocketClosedError()
            except WebSocketClosedError as exc:
                raise RuntimeError("send failed") from exc
        except RuntimeError:
            logger.exception("Task exception was never retrieved")
        logging.getLogger("tornado.application").error(
            "Exception in callback", exc_info=(WebSocketClosedError, WebSocketClosedError(), None)
        )
        logger.error("a real problem")
    assert [r.getMessage() for r in caplog.records] == ["a real problem"]
